"""Drafts that may not validate, each save counted in a revision, on SQLite and PostgreSQL:
what the editor saves is kept as it is, every reader copes with it, and a save on top of a
revision the saver never read is refused with what changed."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, text

from journeys.definitions.catalog import TriggerCatalog
from journeys.kit.problems import ProblemsError
from journeys.store import journeys
from journeys.store.analytics import step_order
from journeys.store.db import alembic_config, create_db_engine, transaction
from tests.conftest import fresh_postgres_database
from tests.journeys.builders import draft, half_written_draft

VALID = draft("welcome")
BROKEN = half_written_draft("welcome")


def test_a_draft_that_does_not_validate_is_kept_as_it_is(engine: Engine) -> None:
    with transaction(engine) as session:
        assert journeys.write_draft(session, BROKEN, None) == (True, 1)
    with transaction(engine) as session:
        found = journeys.get_journey(session, "welcome")
        assert found.document == BROKEN
        assert found.draft is None
        assert {p.path for p in found.draft_problems} >= {"steps[0]", "steps[2].wait"}
        assert (found.draft_revision, found.name, found.status) == (1, "welcome", "draft")
        assert journeys.draft_document(session, "welcome") == (BROKEN, 1)
        assert journeys.document_at(session, "welcome", "draft") == (BROKEN, 0)
        assert [j.id for j in journeys.list_journeys(session)] == ["welcome"]
        # Readers that need a journey: told why there is none; those that list: they cope.
        with pytest.raises(journeys.DraftInvalid) as invalid:
            journeys.definition_at(session, "welcome", "draft")
        assert invalid.value.problems == found.draft_problems
        assert journeys.draft_starts(session) == {"contact.created": ["welcome"]}
        assert step_order(session, "welcome", None) == []


def test_publishing_a_draft_with_problems_lists_every_one(engine: Engine) -> None:
    unknown_trigger = copy.deepcopy(BROKEN)
    unknown_trigger["start"]["trigger"] = "order.placed"
    with transaction(engine) as session:
        journeys.write_draft(session, unknown_trigger, None)
    with transaction(engine) as session, pytest.raises(ProblemsError) as refused:
        journeys.publish(session, "welcome", "alice", TriggerCatalog())
    paths = {p.path for p in refused.value.problems}
    assert paths >= {"steps[0]", "steps[2].wait", "start.trigger", "steps[1].wait_for.trigger"}
    with transaction(engine) as session:
        assert journeys.get_journey(session, "welcome").versions == []


def test_a_draft_without_a_readable_start_starts_on_nothing(engine: Engine) -> None:
    nameless = {"id": "blank", "start": "contact.created", "steps": []}
    with transaction(engine) as session:
        journeys.write_draft(session, {"id": "empty"}, None)
        journeys.write_draft(session, nameless, None)
        journeys.write_draft(session, VALID, None)
    with transaction(engine) as session:
        assert journeys.draft_starts(session) == {"contact.created": ["welcome"]}
        assert [j.name for j in journeys.list_journeys(session)] == ["blank", "empty", "Welcome"]


def test_each_change_counts_a_revision_and_a_stale_one_is_refused(engine: Engine) -> None:
    changed = copy.deepcopy(VALID)
    changed["steps"][0]["email"]["subject"] = "Hello there"
    changed["name"] = "Welcome again"
    with transaction(engine) as session:
        assert journeys.write_draft(session, VALID, 0) == (True, 1)
        assert journeys.write_draft(session, VALID, 1) == (False, 1)  # nothing changed
        assert journeys.write_draft(session, changed, 1) == (False, 2)
    # A second tab, still at revision 1, saves its own change.
    theirs = copy.deepcopy(VALID)
    theirs["steps"].append({"id": "bye", "exit": {}})
    with transaction(engine) as session, pytest.raises(journeys.DraftConflict) as conflict:
        journeys.write_draft(session, theirs, 1)
    refused = conflict.value
    assert (refused.journey_id, refused.expected, refused.current) == ("welcome", 1, 2)
    # What the other save changed since revision 1, not what this one would add.
    assert refused.changes == ["name changed", "step hello changed"]
    assert (refused.diff.from_, refused.diff.to) == ("draft-1", "draft-2")
    assert (
        "-    subject: Hi {{ contact.first_name }}\n+    subject: Hello there\n"
        in refused.diff.diff
    )
    with transaction(engine) as session:
        assert journeys.draft_document(session, "welcome") == (changed, 2)
        # Saving what is stored already is no conflict (a retry, or two tabs that agree).
        assert journeys.write_draft(session, changed, 1) == (False, 2)
        # 0 says "a new journey": this one exists.
        with pytest.raises(journeys.DraftConflict):
            journeys.write_draft(session, theirs, 0)
        # A revision that never was: how the stored draft differs from the one sent.
        with pytest.raises(journeys.DraftConflict) as conflict:
            journeys.write_draft(session, theirs, 7)
        assert conflict.value.changes == ["name changed", "step bye removed", "step hello changed"]
        # Without a revision the save replaces whatever is there.
        assert journeys.write_draft(session, BROKEN, None) == (False, 3)


def test_only_the_latest_drafts_are_kept(engine: Engine) -> None:
    for number in range(journeys.KEPT_DRAFTS + 2):
        with transaction(engine) as session:
            journeys.write_draft(session, {**VALID, "name": f"take {number}"}, None)
    theirs = {**VALID, "name": "mine"}
    with transaction(engine) as session:
        with pytest.raises(journeys.DraftConflict) as conflict:
            journeys.write_draft(session, theirs, 2)  # no longer kept: compared with theirs
        assert conflict.value.diff.from_ == "yours"
        with pytest.raises(journeys.DraftConflict) as conflict:
            journeys.write_draft(session, theirs, 3)
        assert conflict.value.diff.from_ == "draft-3"


def test_saving_a_valid_draft_counts_revisions_too(engine: Engine) -> None:
    with transaction(engine) as session:
        journeys.write_draft(session, BROKEN, None)
    definition = journeys.JourneyDefinition.model_validate(VALID)
    with transaction(engine) as session:
        assert journeys.save_draft(session, definition) is False
        found = journeys.get_journey(session, "welcome")
        assert (found.draft, found.draft_problems, found.draft_revision) == (definition, [], 2)
        assert journeys.publish(session, "welcome", "alice", TriggerCatalog()) == (1, True)


@pytest.fixture(params=["sqlite", "postgresql"])
def unmigrated_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'journeys.db'}"
    else:
        yield from fresh_postgres_database(request.getfixturevalue("postgres_server"))


def test_the_migration_gives_existing_drafts_revision_one(unmigrated_url: str) -> None:
    config = alembic_config(unmigrated_url)
    command.upgrade(config, "0012")
    engine = create_db_engine(unmigrated_url)
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO journeys (id, name, status, draft, created_at, updated_at) "
                    "VALUES ('old', 'Old', 'draft', :draft, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                ),
                {"draft": '{"id": "old"}'},
            )
        command.upgrade(config, "head")
        with transaction(engine) as session:
            assert journeys.draft_document(session, "old") == ({"id": "old"}, 1)
            assert journeys.write_draft(session, {"id": "old", "name": "x"}, 1) == (False, 2)
        command.downgrade(config, "0012")
        command.upgrade(config, "head")
    finally:
        engine.dispose()
