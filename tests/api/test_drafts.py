"""Drafts through the gateway: the editor's saves (kept even with problems, refused only when
stale) and what every reader of drafts makes of one that does not validate; PUT's ETag and
If-Match, and the 412 that says what the other save changed."""

from __future__ import annotations

import asyncio
import copy

import pytest

from journeys.cli.apply import ApiClient, apply
from journeys.kit.problems import ProblemsError
from journeys.lifecycle.journeys import JourneyLifecycle, SavedDraft
from journeys.store.journeys import DraftConflict
from tests.api.stack import ADMIN, WORKFLOWS, Stack
from tests.journeys.builders import draft, half_written_draft
from tests.ui.conftest import serving

WELCOME = draft("drafted")
HALF = half_written_draft("drafted")

ADMIN_KEY = ADMIN["Authorization"].removeprefix("Bearer ")


def lifecycle(stack: Stack) -> JourneyLifecycle:
    journeys: JourneyLifecycle = stack.app.state.services.journeys
    return journeys


async def test_the_editor_saves_a_draft_with_problems_and_every_reader_copes(
    stack: Stack,
) -> None:
    saved = lifecycle(stack).save_draft_document(HALF, expected_revision=0)
    assert (saved.journey_id, saved.revision, saved.created) == ("drafted", 1, True)
    problems = {p.path: p.message for p in saved.problems}
    # Its structure and, where they can be checked, its references: as PUT would say them.
    assert set(problems) >= {"steps[0]", "steps[2].wait", "steps[1].wait_for.trigger"}
    assert "email.opened" in problems["steps[1].wait_for.trigger"]
    assert lifecycle(stack).draft_document("drafted") == (HALF, 1)

    answer = await stack.api.get("/v1/journeys/drafted")
    assert answer.status_code == 200
    assert answer.headers["etag"] == '"draft-1"'
    body = answer.json()
    assert (body["definition"], body["draft_revision"], body["name"]) == (HALF, 1, "drafted")
    assert [p["path"] for p in body["draft_problems"]] == [p.path for p in saved.problems]
    listed = (await stack.api.get("/v1/journeys")).json()
    assert [j["id"] for j in listed] == ["drafted"]

    # Publishing refuses it, every problem listed; nothing is published.
    refused = await stack.api.post("/v1/journeys/drafted/publish")
    assert refused.status_code == 422
    assert [p["path"] for p in refused.json()["problems"]] == [p.path for p in saved.problems]
    # What needs a journey says why there is none; the rest answers as for any draft.
    for answer in (
        await stack.api.get("/v1/journeys/drafted/graph"),
        await stack.api.post("/v1/journeys/drafted/simulate", json={"contact": {}}),
    ):
        assert answer.status_code == 422
        assert "steps[0]" in {p["path"] for p in answer.json()["problems"]}
    assert (await stack.api.get("/v1/journeys/drafted/stats")).status_code == 200
    unpublished = await stack.api.get("/v1/journeys/drafted/diff")  # from live: there is none
    assert unpublished.status_code == 404
    # The event answer still names the draft that would have started.
    contact_id = await stack.contact()
    fired = await stack.fire("contact.created", contact_id=contact_id)
    assert fired.status_code == 202
    assert "drafted" in fired.json()["drafts"]


async def test_a_draft_with_problems_is_drawn_on_the_dashboard_as_not_yet_valid(
    stack: Stack,
) -> None:
    lifecycle(stack).save_draft_document(HALF, expected_revision=None)
    login = await stack.api.post(
        "/ui/login", data={"api_key": ADMIN_KEY}, headers={"Sec-Fetch-Site": "same-origin"}
    )
    assert login.status_code == 303
    listing = await stack.api.get("/ui")
    assert listing.status_code == 200 and "drafted" in listing.text
    page = await stack.api.get("/ui/journeys/drafted")
    assert page.status_code == 200
    assert "The draft does not validate yet" in page.text
    assert "/ui/journeys/drafted/graph.svg" not in page.text
    # Publishing from the dashboard is refused on the same page, each problem shown.
    refused = await stack.api.post(
        "/ui/journeys/drafted/publish", headers={"Sec-Fetch-Site": "same-origin"}
    )
    assert refused.status_code == 409
    assert "steps[2].wait:" in refused.text and "email.opened" in refused.text


async def test_a_valid_draft_is_stored_as_put_stores_it_and_can_be_published(
    stack: Stack,
) -> None:
    lifecycle(stack).save_draft_document(HALF, expected_revision=None)
    saved = lifecycle(stack).save_draft_document(WELCOME, expected_revision=1)
    assert saved == SavedDraft("drafted", 2, [], False)
    by_put = (await stack.api.put("/v1/journeys/drafted", json=WELCOME)).json()
    assert by_put["draft_revision"] == 2  # the same document: nothing changed
    assert by_put["draft_problems"] == []
    published = await stack.api.post("/v1/journeys/drafted/publish")
    assert published.status_code == 200, published.text
    changed = copy.deepcopy(WELCOME)
    changed["steps"][1] = {"id": "pause", "wait": "P2D"}
    lifecycle(stack).save_draft_document(changed, expected_revision=2)
    diff = (await stack.api.get("/v1/journeys/drafted/diff")).json()
    assert (diff["from"], diff["to"], diff["steps_changed"]) == ("live", "draft", ["pause"])


async def test_apply_publishes_its_file_over_a_draft_with_problems(stack: Stack) -> None:
    """A half-written draft of a journey whose file is applied: the file wins, as PUT does."""
    lifecycle(stack).save_draft_document(half_written_draft("welcome"), expected_revision=None)
    async with serving(stack.app) as url:
        with ApiClient(url, ADMIN_KEY) as client:
            report = await asyncio.to_thread(apply, [WORKFLOWS], client)
    assert report.ok, report.problems
    assert "+ journey welcome (publish)" in report.lines
    welcome = (await stack.api.get("/v1/journeys/welcome")).json()
    assert (welcome["live_version"], welcome["draft_problems"]) == (1, [])


def test_the_editor_refuses_only_what_cannot_be_a_draft(stack: Stack) -> None:
    journeys = lifecycle(stack)
    for document, path in (
        (["not", "a", "mapping"], ""),
        ({"name": "no id"}, "id"),
        ({"id": "Not An Id"}, "id"),
    ):
        with pytest.raises(ProblemsError) as refused:
            journeys.save_draft_document(document, expected_revision=None)
        assert [p.path for p in refused.value.problems] == [path]
    journeys.save_draft_document(WELCOME, expected_revision=None)
    mine = {**WELCOME, "name": "Mine"}
    journeys.save_draft_document(mine, expected_revision=1)
    with pytest.raises(DraftConflict) as conflict:
        journeys.save_draft_document({**WELCOME, "steps": []}, expected_revision=1)
    assert (conflict.value.expected, conflict.value.current) == (1, 2)
    assert conflict.value.changes == ["name changed"]


async def test_put_honours_if_match_and_refuses_a_stale_save_with_what_changed(
    stack: Stack,
) -> None:
    created = await stack.api.put("/v1/journeys/drafted", json=WELCOME)
    assert created.status_code == 201
    assert created.headers["etag"] == '"draft-1"'
    read = await stack.api.get("/v1/journeys/drafted")
    etag = read.headers["etag"]

    # The first tab saves on top of what it read.
    first = copy.deepcopy(WELCOME)
    first["steps"][0]["email"]["subject"] = "Welcome {{ contact.first_name }}"
    saved = await stack.api.put("/v1/journeys/drafted", json=first, headers={"If-Match": etag})
    assert saved.status_code == 200
    assert (saved.headers["etag"], saved.json()["draft_revision"]) == ('"draft-2"', 2)

    # The second tab read the same revision: its save is refused, with what changed.
    second = {**WELCOME, "name": "Drafted twice"}
    stale = await stack.api.put("/v1/journeys/drafted", json=second, headers={"If-Match": etag})
    assert stale.status_code == 412
    assert stale.headers["etag"] == '"draft-2"'
    body = stale.json()
    assert (body["journey_id"], body["expected_revision"], body["current_revision"]) == (
        "drafted",
        1,
        2,
    )
    assert body["changes"] == ["step hello changed"]
    assert body["diff"]["from"] == "draft-1" and body["diff"]["to"] == "draft-2"
    assert "+    subject: Welcome {{ contact.first_name }}\n" in body["diff"]["diff"]
    assert "revision 2, not 1" in body["detail"]
    assert (await stack.api.get("/v1/journeys/drafted")).json()["definition"]["name"] == "Drafted"

    # Read again, then save: accepted. Without If-Match, any save is.
    again = await stack.api.put(
        "/v1/journeys/drafted", json=second, headers={"If-Match": '"draft-2"'}
    )
    assert again.status_code == 200 and again.json()["draft_revision"] == 3
    assert (await stack.api.put("/v1/journeys/drafted", json=WELCOME)).status_code == 200

    # An If-Match that is no ETag of a draft says so; an invalid journey is still a 422.
    odd = await stack.api.put("/v1/journeys/drafted", json=WELCOME, headers={"If-Match": "3"})
    assert odd.status_code == 422
    assert odd.json()["problems"][0]["path"] == "If-Match"
    broken = await stack.api.put("/v1/journeys/drafted", json=HALF, headers={"If-Match": "*"})
    assert broken.status_code == 422
