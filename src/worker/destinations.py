"""Where `webhook` steps may call: the public internet, and the networks an operator allows.

A journey's author chooses the URL, and the worker makes the call from inside the
deployment: left open, a step could reach the cloud's metadata service, the database or an
admin port, and read the answer back through `response.*`. So the address is checked where
the connection is made, after DNS resolution, and the connection goes to the address that
was checked (a name that resolves to a public address once and a private one next is not
asked twice). Redirects are not followed.

Hand-written on httpcore's public network-backend interface: the well-kept SSRF filters
wrap `requests` (advocate) or Node's clients, none httpx.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import httpcore
import httpx

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

LOOPBACK: tuple[IpNetwork, ...] = (
    ipaddress.ip_network("127.0.0.0/8"),
    ipaddress.ip_network("::1/128"),
)


class ForbiddenDestination(Exception):
    """The URL's host is, or resolves to, an address webhook steps may not call."""


def public_only(address: IpAddress, allowed: Iterable[IpNetwork] = ()) -> str | None:
    """Why `address` may not be called, or None if it may: it is public (global and not
    multicast), or inside a network the operator allowed."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if any(address in network for network in allowed):
        return None
    for kind, flag in [
        ("loopback", address.is_loopback),
        ("link-local (the cloud metadata service lives there)", address.is_link_local),
        ("private", address.is_private),
        ("multicast", address.is_multicast),
    ]:
        if flag:
            return f"a {kind} address"
    return None if address.is_global else "not a public address"


class _PublicOnlyBackend(httpcore.NetworkBackend):
    def __init__(self, allowed: Sequence[IpNetwork]) -> None:
        self._allowed = tuple(allowed)
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        address = self._checked(host, port)
        # TLS still names `host` (httpcore takes the server name from the URL, not from
        # here), so certificates are checked against the name the author wrote.
        return self._inner.connect_tcp(address, port, timeout, local_address, socket_options)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        raise ForbiddenDestination(f"{path}: webhook steps call TCP addresses only")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)

    def _checked(self, host: str, port: int) -> str:
        """The address to connect to: every address `host` resolves to must be allowed."""
        try:
            found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as error:  # an unknown name, or DNS away: retried like a refused call
            raise httpcore.ConnectError(f"{host}: {error}") from error
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in found]
        for address in addresses:
            why = public_only(address, self._allowed)
            if why is not None:
                shown = host if host == str(address) else f"{host} ({address})"
                raise ForbiddenDestination(
                    f"{shown} is {why}; webhook steps call public addresses only "
                    "(JOURNEYS_WEBHOOK_ALLOWED_NETWORKS lets one in)"
                )
        return str(addresses[0])


def public_client(
    allowed: Sequence[IpNetwork],
    timeout: float,
    event_hooks: Mapping[str, list[Callable[..., Any]]] | None = None,
) -> httpx.Client:
    """An HTTP client that connects only where `public_only` allows, and follows no
    redirect (each would be a new destination). It ignores HTTP(S)_PROXY variables, as a
    proxy would make the connection somewhere unchecked."""
    transport = httpx.HTTPTransport()
    transport._pool = httpcore.ConnectionPool(
        ssl_context=httpx.create_ssl_context(),
        network_backend=_PublicOnlyBackend(allowed),
    )
    return httpx.Client(
        transport=transport, timeout=timeout, follow_redirects=False, event_hooks=event_hooks
    )
