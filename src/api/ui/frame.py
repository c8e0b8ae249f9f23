"""What every dashboard router shares: where the dashboard lives, who is signed in, the
security headers, how a page is rendered, and the refusal of forms from other sites.

The dashboard's routers (`api.ui.routes`, `api.ui.editor.routes`) build on this module,
never on each other.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from http import HTTPStatus
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

from fastapi import Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.routing import APIRoute

from api.deps import ServicesDep, SessionDep, services_of
from api.ui.session import COOKIE, Sessions
from api.ui.templating import templates
from journeys.store.api_keys import Principal
from journeys.store.journeys import JourneyNotFound, VersionNotFound

HOME = "/ui"

# Pages carry no script and load nothing from elsewhere; nothing may frame them.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


class LoginRequired(Exception):
    """No valid session: the page redirects to the sign-in form."""


class DashboardRoute(APIRoute):
    """Dashboard pages: a sign-in redirect instead of a 401, an HTML page instead of a JSON
    404, and the security headers on every answer."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def handle_page(request: Request) -> Response:
            try:
                response = await handle(request)
            except LoginRequired:
                response = to_login(request)
            except JourneyNotFound as error:
                response = not_found(request, f"There is no journey {error.args[0]!r}.")
            except VersionNotFound as error:
                response = not_found(request, str(error))
            except HTTPException as error:
                if error.status_code != HTTPStatus.NOT_FOUND:
                    raise
                response = not_found(request, str(error.detail))
            response.headers.update(SECURITY_HEADERS)
            response.headers.setdefault("Cache-Control", "no-store")
            return response

        return handle_page


def get_sessions(services: ServicesDep) -> Sessions:
    bootstrap = services.settings.api_key
    return Sessions(
        services.settings.signing_secret.get_secret_value(),
        bootstrap.get_secret_value() if bootstrap else None,
    )


SessionsDep = Annotated[Sessions, Depends(get_sessions)]


def signed_in(request: Request, sessions: SessionsDep, session: SessionDep) -> Principal:
    cookie = request.cookies.get(COOKIE)
    viewer = sessions.viewer(session, cookie) if cookie else None
    if viewer is None:
        raise LoginRequired
    request.state.viewer = viewer  # for the error pages, rendered outside the handler
    return viewer


Viewer = Annotated[Principal, Depends(signed_in)]


def render(
    request: Request,
    template: str,
    viewer: Principal | None,
    status: int = HTTPStatus.OK,
    **context: Any,
) -> Response:
    """A dashboard template, told who is signed in and where the Temporal Web UI is."""
    settings = services_of(request).settings
    context |= {"viewer": viewer, "temporal_ui": settings.temporal_ui_url}
    return templates.TemplateResponse(request, template, context, status_code=status)


def not_found(request: Request, message: str) -> Response:
    # Signed in (the handler had started) or not: the same page, with or without the menu.
    viewer = getattr(request.state, "viewer", None)
    return render(request, "not_found.html", viewer, HTTPStatus.NOT_FOUND, message=message)


def to_login(request: Request) -> Response:
    if request.headers.get("hx-request") == "true":
        # A change posted by the editor: 401, which leaves the page (and its work) as it is.
        return Response("Sign in again.", HTTPStatus.UNAUTHORIZED)
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    response = RedirectResponse(
        f"{request.url_for('ui_login').path}?{urlencode({'next': here})}", HTTPStatus.SEE_OTHER
    )
    if COOKIE in request.cookies:  # expired, revoked or forged: drop it
        response.delete_cookie(COOKIE, path=HOME, httponly=True, samesite="strict")
    return response


def refuse_cross_site(request: Request) -> None:
    """Forms are only accepted from the dashboard's own pages; this stops another site
    signing a browser in or out. Browsers say where a request comes from in Sec-Fetch-Site,
    and older ones (or privacy settings) only in Origin, which must then be this site."""
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        if site not in ("same-origin", "none"):
            raise HTTPException(HTTPStatus.FORBIDDEN, "cross-site form submissions are refused")
        return
    origin = request.headers.get("origin")
    if origin is not None and origin not in _origins(request):
        raise HTTPException(HTTPStatus.FORBIDDEN, "cross-site form submissions are refused")


def _origins(request: Request) -> set[str]:
    """This site's origins: as the public URL says (behind a proxy), and as requested."""
    public = urlsplit(services_of(request).settings.public_url)
    return {f"{public.scheme}://{public.netloc}", f"{request.url.scheme}://{request.url.netloc}"}
