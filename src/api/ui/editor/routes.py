"""The journey editor's pages: /ui/journeys/new and /ui/journeys/{id}/edit, and the changes
their htmx posts make (/ui/editor/...). Admin sessions only.

Each post carries the whole document the page holds; the server applies the change with
`journeys.authoring.editing`, checks the result as PUT /v1/journeys/{id} does and answers
the form again, each problem beside its field, with the graph redrawn.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from http import HTTPStatus
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import Response
from sqlmodel import Session

from api.deps import ServicesDep, SessionDep
from api.services import Services
from api.ui.editor.actions import Posted, from_yaml, operate, read_posted, with_fields
from api.ui.editor.simulation import SimulationForm, run_simulation
from api.ui.editor.view import EditorView, editor_view
from api.ui.frame import HOME, DashboardRoute, Viewer, refuse_cross_site, render
from journeys.authoring.diff import diff
from journeys.authoring.editing import EditError
from journeys.definitions.documents import READ_ERRORS, journey_problems, parse_text, to_document
from journeys.kit.problems import Problem, ProblemsError
from journeys.store.api_keys import Principal, Scope
from journeys.store.journeys import DraftConflict, VersionNotFound, document_at

# The editor runs its own scripts (htmx, CodeMirror and editor.js, all served from here)
# and shows the graph as a data: image; nothing else is relaxed.
EDITOR_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SCRIPT = files("api.ui").joinpath("static", "editor.js")
EMPTY_JOURNEY: dict[str, Any] = {
    "kind": "Journey",
    "id": "",
    "name": "",
    "start": {"trigger": ""},
    "steps": [],
}


class EditorRoute(DashboardRoute):
    """A dashboard page that may run the editor's scripts."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def handle_editor(request: Request) -> Response:
            response = await handle(request)
            response.headers["Content-Security-Policy"] = EDITOR_POLICY
            return response

        return handle_editor


router = APIRouter(prefix=HOME, tags=["dashboard"], route_class=EditorRoute)


def admin(viewer: Viewer) -> Principal:
    if Scope.ADMIN not in viewer.scopes:
        raise HTTPException(HTTPStatus.FORBIDDEN, "Only admin sessions may edit journeys.")
    return viewer


Editor = Annotated[Principal, Depends(admin)]


@router.get("/journeys/new", name="ui_editor_new", include_in_schema=False)
def new_journey(
    request: Request,
    services: ServicesDep,
    viewer: Editor,
    start: Annotated[str | None, Query(max_length=100)] = None,
) -> Response:
    """Pick a sample journey (or an empty one) to start from; then the editor, unsaved."""
    samples = sample_journeys(services.settings.workflows)
    if start is None:
        return render(request, "editor/new.html", viewer, samples=samples)
    document = samples.get(start, EMPTY_JOURNEY) if start else EMPTY_JOURNEY
    view = editor_view(document, 0, True, services.catalog.fresh().catalog)
    return _editor(request, viewer, view, whole_page=True)


@router.get("/journeys/{journey_id}/edit", name="ui_editor", include_in_schema=False)
def edit_journey(
    request: Request, journey_id: str, services: ServicesDep, viewer: Editor
) -> Response:
    document, revision = services.journeys.draft_document(journey_id)
    view = editor_view(document, revision, False, services.catalog.fresh().catalog)
    return _editor(request, viewer, view, whole_page=True)


@router.post("/editor/change", name="ui_editor_change", include_in_schema=False)
async def change(request: Request, services: ServicesDep, viewer: Editor) -> Response:
    """A field changed or a button was pressed: the form again, checked."""
    posted, document, problems = await _read(request, services)
    op = posted.fields.get("op", "")
    if op:
        try:
            document = operate(document, op, posted.fields)
        except EditError as error:
            problems.append(Problem(path="", message=str(error)))
    return _answer(request, services, viewer, posted, document, problems)


@router.post("/editor/yaml", name="ui_editor_yaml", include_in_schema=False)
async def apply_yaml(request: Request, services: ServicesDep, viewer: Editor) -> Response:
    """The YAML tab's text replaces the document (one truth); text that is not a journey
    document leaves it as it was and stays on the YAML tab, saying why."""
    posted, document, problems = await _read(request, services)
    text = posted.fields.get("yaml", "")
    typed, yaml_problems = from_yaml(text)
    if typed is None:  # the text stays on the YAML tab, to be mended
        posted.tab = "yaml"
        view = _view(services, posted, document, problems + yaml_problems)
        view.yaml = text
        return _editor(request, viewer, view)
    return _answer(request, services, viewer, posted, typed, [])


@router.post("/editor/save", name="ui_editor_save", include_in_schema=False)
async def save(request: Request, services: ServicesDep, viewer: Editor) -> Response:
    posted, document, problems = await _read(request, services)
    view, saved = await asyncio.to_thread(_save, services, posted, document, problems)
    response = _editor(request, viewer, view)
    if saved:
        response.headers["HX-Replace-Url"] = _edit_path(request, view.journey_id)
    return response


@router.post("/editor/publish", name="ui_editor_publish", include_in_schema=False)
async def publish(request: Request, services: ServicesDep, viewer: Editor) -> Response:
    """Save the draft, then publish it as the API does: one with problems is saved, not
    published."""
    posted, document, problems = await _read(request, services)
    view, saved = await asyncio.to_thread(_save, services, posted, document, problems)
    if saved and not view.problem_count:
        try:
            version, _ = await asyncio.to_thread(
                services.journeys.publish, view.journey_id, viewer.name
            )
        except ProblemsError as error:
            view.problems += error.problems
            view.notice = "The draft is saved, but it cannot be published:"
        else:
            view.notice = f"Published as version {version}."
    elif saved:
        view.notice = "The draft is saved; fix its problems to publish it."
    response = _editor(request, viewer, view)
    if saved:
        response.headers["HX-Replace-Url"] = _edit_path(request, view.journey_id)
    return response


@router.post("/editor/diff", name="ui_editor_diff", include_in_schema=False)
async def compare(
    request: Request, services: ServicesDep, session: SessionDep, viewer: Editor
) -> Response:
    """How the journey on the page differs from its published version."""
    posted, document, problems = await _read(request, services)
    view = _view(services, posted, document, problems)
    view.diff = _published_diff(session, services, document)
    return _editor(request, viewer, view)


@router.post("/editor/simulate", name="ui_editor_simulate", include_in_schema=False)
async def simulate_page(request: Request, services: ServicesDep, viewer: Editor) -> Response:
    posted, document, problems = await _read(request, services)
    view = _view(services, posted, document, problems)
    result = run_simulation(document, view.simulation, services.catalog.fresh().catalog)
    return _editor(request, viewer, view, result=result)


@router.get("/static/editor.js", name="ui_editor_script", include_in_schema=False)
def editor_script() -> Response:
    return Response(
        SCRIPT.read_text(),
        media_type="text/javascript",
        headers={"Cache-Control": "public, max-age=3600"},
    )


# -- helpers ----------------------------------------------------------------------------


def sample_journeys(folder: Path) -> dict[str, dict[str, Any]]:
    """The journeys of the sample definitions (workflows/), by id, as their files say."""
    samples: dict[str, dict[str, Any]] = {}
    for file in sorted(folder.glob("*.y*ml")):
        try:
            documents = parse_text(file.read_text(encoding="utf-8"))
        except READ_ERRORS:
            continue  # `journeys apply` reports those; here they are simply not offered
        for document in documents:
            if isinstance(document, dict) and document.get("kind") == "Journey":
                samples[str(document.get("id"))] = document
    return samples


async def _read(
    request: Request, services: Services
) -> tuple[Posted, dict[str, Any], list[Problem]]:
    refuse_cross_site(request)
    posted = read_posted(await request.form())
    document, problems = with_fields(posted, services.catalog.fresh().catalog)
    return posted, document, problems


def _view(
    services: Services, posted: Posted, document: dict[str, Any], problems: list[Problem]
) -> EditorView:
    triggers = services.catalog.fresh().catalog
    simulation = SimulationForm.from_posted(posted.fields)
    view = editor_view(document, posted.revision, posted.new, triggers, problems, simulation)
    view.tab = posted.tab
    return view


def _answer(
    request: Request,
    services: Services,
    viewer: Principal,
    posted: Posted,
    document: dict[str, Any],
    problems: list[Problem],
) -> Response:
    return _editor(request, viewer, _view(services, posted, document, problems))


def _save(
    services: Services, posted: Posted, document: dict[str, Any], problems: list[Problem]
) -> tuple[EditorView, bool]:
    """Save the draft with the revision the page read (0: a new journey); refused when it
    was saved meanwhile, with what changed."""
    view = _view(services, posted, document, problems)
    try:
        saved = services.journeys.save_draft_document(document, expected_revision=posted.revision)
    except ProblemsError as error:
        view.problems += error.problems
        return view, False
    except DraftConflict as conflict:
        view.conflict = conflict.changes or [str(conflict)]
        view.notice = (
            f"Not saved: a journey {conflict.journey_id!r} exists already; "
            "open it to edit it, or give this one another id."
            if conflict.expected == 0
            else f"Not saved: this journey's draft was saved elsewhere "
            f"(revision {conflict.current}) since this page read revision {conflict.expected}."
        )
        return view, False
    triggers = services.catalog.fresh().catalog
    simulation = SimulationForm.from_posted(posted.fields)
    view = editor_view(document, saved.revision, False, triggers, problems, simulation)
    view.tab = posted.tab
    view.notice = f"Draft saved (revision {saved.revision})."
    return view, True


def _published_diff(session: Session, services: Services, document: dict[str, Any]) -> str:
    journey_id = str(document.get("id", ""))
    try:
        published, number = document_at(session, journey_id, "live")
    except VersionNotFound:
        return "This journey has no published version yet."
    definition, _ = journey_problems(document, services.catalog.fresh().catalog)
    current = to_document(definition) if definition is not None else document
    found = diff(published, current, f"v{number}", "this page")
    return found.diff or "No change from the published version."


def _edit_path(request: Request, journey_id: str) -> str:
    return request.url_for("ui_editor", journey_id=journey_id).path


def _editor(
    request: Request,
    viewer: Principal,
    view: EditorView,
    whole_page: bool = False,
    **context: Any,
) -> Response:
    context.setdefault("result", None)
    template = "editor/page.html" if whole_page else "editor/form.html"
    return render(request, template, viewer, HTTPStatus.OK, editor=view, **context)
