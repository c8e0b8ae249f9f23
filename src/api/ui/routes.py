"""The dashboard at /ui: journeys, their figures, runs and graph, as server-rendered pages.

Pages read the store only (Temporal is linked to, never called), so the dashboard works
while Temporal is away. Sign-in is described in `api.ui.session`.
"""

from __future__ import annotations

import asyncio
from contextlib import suppress
from http import HTTPStatus
from typing import Annotated
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlmodel import Session

from api.auth import Unauthenticated, key_from_header
from api.deps import Admin, ServicesDep, SessionDep, services_of
from api.services import Services
from api.ui.frame import (
    HOME,
    DashboardRoute,
    SessionsDep,
    Viewer,
    refuse_cross_site,
    render,
)
from api.ui.pages import contact_page, journey_list, journey_page, trigger_page
from api.ui.session import COOKIE, LOGIN_LINK_SECONDS, SESSION_HOURS, Sessions
from api.ui.templating import STYLESHEET
from api.ui.vendor import vendored
from journeys.authoring.graph import svg
from journeys.kit.problems import ProblemsError
from journeys.lifecycle.journeys import NotInJourney
from journeys.store.api_keys import Principal, Scope
from journeys.store.contacts import find_contacts
from journeys.store.journeys import NotLive, definition_at
from journeys.temporal.errors import TemporalUnavailable

router = APIRouter(prefix=HOME, tags=["dashboard"], route_class=DashboardRoute)


# -- pages ----------------------------------------------------------------------------


@router.get("", name="ui_journeys", include_in_schema=False)
def journeys_page(request: Request, session: SessionDep, viewer: Viewer) -> Response:
    return render(request, "journeys.html", viewer, listings=journey_list(session))


@router.get("/journeys/{journey_id}", name="ui_journey", include_in_schema=False)
def one_journey(
    request: Request,
    journey_id: str,
    session: SessionDep,
    services: ServicesDep,
    viewer: Viewer,
    version: Annotated[int | None, Query()] = None,
    done: Annotated[str | None, Query()] = None,
) -> Response:
    page = journey_page(session, services, journey_id, version)
    return render(
        request, "journey.html", viewer, page=page, done=ACTIONS.get(done or ""), problems=[]
    )


@router.get("/contacts", name="ui_contacts", include_in_schema=False)
def find_contact(
    request: Request,
    session: SessionDep,
    viewer: Viewer,
    q: Annotated[str, Query(max_length=320)] = "",
) -> Response:
    """Search by id or email; one match opens its page."""
    found = find_contacts(session, q)
    if len(found) == 1:
        page = request.url_for("ui_contact", contact_id=found[0].id).path
        return RedirectResponse(page, HTTPStatus.SEE_OTHER)
    return render(request, "contacts.html", viewer, q=q.strip(), found=found)


@router.get("/contacts/{contact_id}", name="ui_contact", include_in_schema=False)
def one_contact(
    request: Request, contact_id: str, session: SessionDep, services: ServicesDep, viewer: Viewer
) -> Response:
    page = contact_page(session, services, contact_id)
    if page is None:
        raise HTTPException(HTTPStatus.NOT_FOUND, f"There is no contact {contact_id!r}.")
    return render(request, "contact.html", viewer, page=page)


@router.get("/triggers", name="ui_triggers", include_in_schema=False)
def triggers_page(request: Request, services: ServicesDep, viewer: Viewer) -> Response:
    catalog = services.catalog.fresh().catalog
    return render(request, "triggers.html", viewer, triggers=list(catalog.values()))


@router.get("/triggers/{name}", name="ui_trigger", include_in_schema=False)
def one_trigger(
    request: Request, name: str, session: SessionDep, services: ServicesDep, viewer: Viewer
) -> Response:
    """A trigger; for a custom one, the web snippet of each publishable key that names it."""
    return render(request, "trigger.html", viewer, page=trigger_page(session, services, name))


@router.get("/journeys/{journey_id}/graph.svg", name="ui_graph", include_in_schema=False)
def graph_picture(
    journey_id: str,
    session: SessionDep,
    _: Viewer,
    version: Annotated[int, Query(ge=0, description="A version number; 0: the draft.")],
) -> Response:
    definition, _number = definition_at(session, journey_id, version or "draft")
    return Response(svg(definition), media_type="image/svg+xml")


@router.post("/journeys/{journey_id}/runs/stop", name="ui_remove_run", include_in_schema=False)
async def remove_run(
    request: Request,
    journey_id: str,
    services: ServicesDep,
    _: Viewer,
    contact_id: Annotated[str, Form()],
    binding_id: Annotated[str, Form()] = "",
    back: Annotated[str, Form()] = "journey",
) -> Response:
    """Take one contact out of the journey, as POST .../instances/{contact_id}/stop does;
    then back to the page the button was on (the journey's, or the contact's)."""
    refuse_cross_site(request)
    with suppress(NotInJourney):  # ended meanwhile: the page shows it
        await services.journeys.remove(journey_id, contact_id, binding_id or None)
    if back == "contact":
        page = request.url_for("ui_contact", contact_id=contact_id).path
    else:
        page = request.url_for("ui_journey", journey_id=journey_id).path
    return RedirectResponse(f"{page}#runs", HTTPStatus.SEE_OTHER)


# What each button does, and what the page says once it is done (a fixed text per action:
# nothing from the query string is ever shown).
ACTIONS = {
    "publish": "The draft is published.",
    "pause": "The journey is paused: new entries are refused, running instances wait.",
    "resume": "The journey is resumed.",
    "stop": "The journey is stopped: its runs are ending.",
}


@router.post("/journeys/{journey_id}/{action}", name="ui_journey_action", include_in_schema=False)
async def act_on_journey(
    request: Request,
    journey_id: str,
    action: str,
    session: SessionDep,
    services: ServicesDep,
    viewer: Viewer,
) -> Response:
    """Publish the draft, pause, resume or stop, as the API's calls of the same names do.
    Done: back to the journey's page, which says so. Refused: that page, saying why."""
    refuse_cross_site(request)
    if action not in ACTIONS:
        raise HTTPException(HTTPStatus.NOT_FOUND, f"There is no action {action!r}.")
    lifecycle = services.journeys
    try:
        if action == "publish":
            await asyncio.to_thread(lifecycle.publish, journey_id, viewer.name)
        else:
            await {"pause": lifecycle.pause, "resume": lifecycle.resume, "stop": lifecycle.stop}[
                action
            ](journey_id)
    except ProblemsError as error:
        problems = [f"{p.path}: {p.message}" if p.path else p.message for p in error.problems]
        return _journey_refusal(request, session, services, viewer, journey_id, problems)
    except (NotLive, TemporalUnavailable) as error:
        return _journey_refusal(request, session, services, viewer, journey_id, [str(error)])
    page = request.url_for("ui_journey", journey_id=journey_id).path
    return RedirectResponse(f"{page}?{urlencode({'done': action})}", HTTPStatus.SEE_OTHER)


def _journey_refusal(
    request: Request,
    session: Session,
    services: Services,
    viewer: Principal,
    journey_id: str,
    problems: list[str],
) -> Response:
    page = journey_page(session, services, journey_id, None)
    return render(
        request,
        "journey.html",
        viewer,
        HTTPStatus.CONFLICT,
        page=page,
        done=None,
        problems=problems,
    )


@router.get("/static/dashboard.css", name="ui_stylesheet", include_in_schema=False)
def stylesheet() -> Response:
    return Response(
        STYLESHEET.read_text(),
        media_type="text/css",
        headers={"Cache-Control": "public, max-age=3600"},
    )


@router.get("/static/vendor/{name:path}", name="ui_vendor", include_in_schema=False)
def vendor_file(name: str) -> Response:
    """The editor's browser parts (static/vendor/vendor.json lists them)."""
    found = vendored(name)
    if found is None:
        raise HTTPException(HTTPStatus.NOT_FOUND, f"There is no vendored file {name!r}.")
    content, media_type = found
    return Response(
        content, media_type=media_type, headers={"Cache-Control": "public, max-age=3600"}
    )


# -- signing in and out -----------------------------------------------------------------


@router.get("/login", name="ui_login", include_in_schema=False)
def login_form(
    request: Request,
    sessions: SessionsDep,
    session: SessionDep,
    next: Annotated[str, Query()] = HOME,
) -> Response:
    cookie = request.cookies.get(COOKIE)
    if cookie and sessions.viewer(session, cookie) is not None:
        return RedirectResponse(_within_dashboard(next), HTTPStatus.SEE_OTHER)
    return _login_page(request, next)


@router.post("/login", name="ui_login_submit", include_in_schema=False)
async def log_in(
    request: Request,
    services: ServicesDep,
    sessions: SessionsDep,
    api_key: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = HOME,
) -> Response:
    refuse_cross_site(request)
    secret = api_key.strip()
    if not secret:
        return _login_page(request, next, "Enter an admin API key.", HTTPStatus.UNAUTHORIZED)
    try:
        principal = await services.auth.from_key(secret)
    except Unauthenticated:
        return _login_page(
            request, next, "This key is unknown or revoked.", HTTPStatus.UNAUTHORIZED
        )
    if Scope.ADMIN not in principal.scopes:
        return _login_page(
            request, next, "Only keys with the admin scope may sign in.", HTTPStatus.FORBIDDEN
        )
    response = RedirectResponse(_within_dashboard(next), HTTPStatus.SEE_OTHER)
    _set_session(response, request, sessions, sessions.cookie_for(principal, secret))
    return response


@router.post("/logout", name="ui_logout", include_in_schema=False)
def log_out(request: Request) -> Response:
    """Forget the cookie in this browser (a copy of it stays valid until it expires or its
    key is revoked: sessions are not stored on the server)."""
    refuse_cross_site(request)
    response = RedirectResponse(request.url_for("ui_login").path, HTTPStatus.SEE_OTHER)
    response.delete_cookie(COOKIE, path=HOME, httponly=True, samesite="strict")
    return response


class LoginLink(BaseModel):
    url: str = Field(description="Open it in a browser to sign in to the dashboard.")
    expires_in: int = Field(description="Seconds the link stays valid.")


@router.post("/login-links")
def create_login_link(request: Request, sessions: SessionsDep, viewer: Admin) -> LoginLink:
    """A short-lived link that signs a browser in to the dashboard as the calling admin key
    (what `journeys ui-link` prints)."""
    secret = key_from_header(request.headers.get("authorization", ""))
    assert secret is not None  # `Admin` has just authenticated this very header
    token = sessions.link_token_for(viewer, secret)
    base = services_of(request).settings.public_url.rstrip("/")
    path = request.url_for("ui_login_link").path
    return LoginLink(
        url=f"{base}{path}?{urlencode({'token': token})}", expires_in=LOGIN_LINK_SECONDS
    )


@router.get("/login/link", name="ui_login_link", include_in_schema=False)
def follow_login_link(
    request: Request,
    sessions: SessionsDep,
    session: SessionDep,
    token: Annotated[str, Query()] = "",
) -> Response:
    cookie = sessions.cookie_from_link(session, token)
    if cookie is None:
        message = "This sign-in link is invalid or has expired. Run `journeys ui-link` again."
        return _login_page(request, HOME, message, HTTPStatus.UNAUTHORIZED)
    response = RedirectResponse(HOME, HTTPStatus.SEE_OTHER)
    _set_session(response, request, sessions, cookie)
    return response


# -- helpers ----------------------------------------------------------------------------


def _login_page(
    request: Request, next_page: str, error: str | None = None, status: int = HTTPStatus.OK
) -> Response:
    return render(
        request,
        "login.html",
        None,
        status,
        next=_within_dashboard(next_page),
        error=error,
        session_hours=SESSION_HOURS,
    )


def _within_dashboard(target: str) -> str:
    """Where to go after signing in: a dashboard path, never another site."""
    parts = urlsplit(target)
    inside = parts.path == HOME or parts.path.startswith(HOME + "/")
    if parts.scheme or parts.netloc or "\\" in target or not inside:
        return HOME
    return target


def _set_session(response: Response, request: Request, sessions: Sessions, cookie: str) -> None:
    settings = services_of(request).settings
    response.set_cookie(
        COOKIE,
        cookie,
        max_age=int(sessions.max_age.total_seconds()),
        path=HOME,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https" or settings.public_url.startswith("https://"),
    )
