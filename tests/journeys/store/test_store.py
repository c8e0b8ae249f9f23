"""The store on SQLite and PostgreSQL alike."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, inspect

from journeys.contacts.model import Consent, ContactChanges
from journeys.definitions.catalog import TriggerCatalog
from journeys.definitions.triggers import TriggerDefinition
from journeys.engine.commands import EntryDecided
from journeys.engine.entry import EntryRequest
from journeys.kit.problems import ProblemsError
from journeys.store import api_keys, contacts, deliveries, entries, journeys, triggers
from journeys.store.db import transaction
from journeys.store.erasure import PSEUDONYM_PREFIX, erase_contact
from journeys.store.revision import current_revision
from journeys.store.tables import DeliveryRow
from tests.journeys.builders import journey

WELCOME = journey("""
id: welcome
name: Welcome
start: {trigger: contact.created}
reentry: {after: P7D}
steps: [{id: hello, email: {subject: Hi, text: Hello}}]
""")


def test_migrations_create_every_table(engine: Engine) -> None:
    assert set(inspect(engine).get_table_names()) >= {
        "alembic_version",
        "trigger_definitions",
        "journeys",
        "journey_versions",
        "journey_drafts",
        "contacts",
        "deliveries",
        "journey_entries",
        "api_keys",
        "catalog_revision",
    }


def test_published_versions_are_numbered_immutable_and_not_repeated(engine: Engine) -> None:
    catalog = TriggerCatalog()
    with transaction(engine) as session:
        assert journeys.save_draft(session, WELCOME) is True
        assert journeys.publish(session, "welcome", "alice", catalog) == (1, True)
        assert journeys.publish(session, "welcome", "alice", catalog) == (1, False)
    changed = WELCOME.model_copy(update={"name": "Welcome v2"})
    with transaction(engine) as session:
        assert journeys.save_draft(session, changed) is False
        assert journeys.get_journey(session, "welcome").has_unpublished_changes
        assert journeys.publish(session, "welcome", "bob", catalog) == (2, True)
    with transaction(engine) as session:
        found = journeys.get_journey(session, "welcome")
        assert found.status is journeys.JourneyStatus.PUBLISHED
        assert [(v.version, v.published_by) for v in found.versions] == [(1, "alice"), (2, "bob")]
        assert journeys.get_version(session, "welcome", 1) == WELCOME
        assert [(j.definition.name, j.version) for j in journeys.live_journeys(session)] == [
            ("Welcome v2", 2)
        ]
        assert journeys.stop(session, "welcome") is True
        assert journeys.live_journeys(session) == []


def test_publishing_an_invalid_draft_names_every_problem(engine: Engine) -> None:
    bad = WELCOME.model_copy(
        update={"start": WELCOME.start.model_copy(update={"trigger": "order.placed"})}
    )
    with transaction(engine) as session:
        journeys.save_draft(session, bad)
    with transaction(engine) as session, pytest.raises(ProblemsError) as raised:
        journeys.publish(session, "welcome", "alice", TriggerCatalog())
    assert [str(p) for p in raised.value.problems] == [
        "start.trigger: unknown trigger 'order.placed'"
    ]


def test_trigger_changes_bump_the_catalog_revision(engine: Engine) -> None:
    order = TriggerDefinition(name="order.placed")
    with transaction(engine) as session:
        before = current_revision(session)
        assert triggers.put_trigger(session, order) is True
        assert triggers.put_trigger(session, order) is False
    with transaction(engine) as session:
        assert current_revision(session) == before + 1
        assert "order.placed" in triggers.load_catalog(session)


def test_contacts_merge_changes_and_keep_consent(engine: Engine) -> None:
    with transaction(engine) as session:
        changes = ContactChanges.model_validate(
            {
                "email": "ada@example.com",
                "attributes": {"plan": "pro", "age": 36},
                "consent": {"email": True},
            }
        )
        contact, created = contacts.upsert_contact(session, "c1", changes)
        assert created
    with transaction(engine) as session:
        changes = ContactChanges.model_validate(
            {"first_name": "Ada", "attributes": {"age": None}, "consent": {"sms": False}}
        )
        contact, created = contacts.upsert_contact(session, "c1", changes)
    assert not created
    assert contact.email == "ada@example.com"
    assert contact.attributes == {"plan": "pro"}
    assert contact.consent == Consent(email=True, sms=False, push=None)
    assert contact.as_scope()["first_name"] == "Ada"


def test_entry_ledger_applies_reentry_beyond_temporal_retention(engine: Engine) -> None:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)

    def ask(instance: str, at: datetime, refusal: str | None = None) -> EntryDecided:
        request = EntryRequest(
            journey_id="welcome",
            version=1,
            contact_id="c1",
            binding_id=None,
            instance_id=instance,
            event_id=f"e-{instance}",
            reentry=WELCOME.reentry,
            refusal=refusal,
            at=at,
        )
        with transaction(engine) as session:
            return entries.decide_entry(session, request)

    assert ask("r1", t0).admitted
    assert ask("r1", t0).admitted  # asked again by a retried activity: same answer
    assert ask("r2", t0 + timedelta(days=3)) == EntryDecided(
        admitted=False, reason="reentry_blocked"
    )
    assert ask("r3", t0 + timedelta(days=8)).admitted
    assert ask("r4", t0 + timedelta(days=30), "condition_false").reason == "condition_false"
    with transaction(engine) as session:
        ledger = entries.entries_of_contact(session, "c1")
    assert [(e.instance_id, e.admitted, e.reason) for e in ledger] == [
        ("r4", False, "condition_false"),
        ("r3", True, None),
        ("r2", False, "reentry_blocked"),
        ("r1", True, None),
    ]
    assert ledger[0].at == t0 + timedelta(days=30)


def _pending(message_id: str) -> DeliveryRow:
    return DeliveryRow(
        message_id=message_id,
        workflow_id="journey/welcome/c1",
        instance_id="run-1",
        step="hello",
        iteration=1,
        journey_id="welcome",
        journey_version=1,
        contact_id="c1",
        channel="email",
        status="pending",
    )


def test_a_delivery_row_is_found_again_by_its_key(engine: Engine) -> None:
    message_id = deliveries.message_id_for("journey/welcome/c1", "run-1", "hello", 1)
    assert message_id == deliveries.message_id_for("journey/welcome/c1", "run-1", "hello", 1)

    with transaction(engine) as session:
        first = deliveries.open_delivery(session, _pending(message_id))
        deliveries.settle(session, first, deliveries.DeliveryStatus.SENT, provider_message_id="p1")
    with transaction(engine) as session:
        again = deliveries.open_delivery(session, _pending(message_id))
        assert (again.status, again.provider_message_id) == ("sent", "p1")
        assert [d.message_id for d in deliveries.deliveries_of_contact(session, "c1")] == [
            message_id
        ]


def test_a_delivery_claimed_then_settled_after_its_session_is_stored_as_the_send_left_it(
    engine: Engine,
) -> None:
    """As the send does: the row opened and claimed in one transaction, and settled in
    another after the provider took the message, from the object the first one left."""
    sent_at = datetime(2026, 5, 1, 9, 30, tzinfo=UTC)
    with transaction(engine) as session:
        row = deliveries.open_delivery(session, _pending("m-1"))
        until = sent_at + timedelta(minutes=1)
        taken = deliveries.claim_sending(session, row, until, recipient="a@x.org", sent_at=sent_at)
        assert taken is None
    row.summary = "Hello"
    with transaction(engine) as session:
        deliveries.settle(session, row, deliveries.DeliveryStatus.FAILED, reason="refused: a@x.org")
    with transaction(engine) as session:
        stored = session.get(DeliveryRow, "m-1")
        assert stored is not None
        assert (stored.status, stored.summary, stored.sent_at, stored.recipient) == (
            "failed",
            "Hello",
            sent_at,
            "a@x.org",
        )
        assert stored.sending_until is None
        assert stored.reason is not None and "a@x.org" not in stored.reason  # redacted
    assert (row.status, row.sending_until) == ("failed", None)  # the object says the same


def test_a_message_settled_after_its_contact_was_erased_keeps_no_summary(
    engine: Engine,
) -> None:
    """The contact is erased while the provider has the message: what the send settles
    afterwards keeps its verdict, not the rendered text that names the contact."""
    sent_at = datetime(2026, 5, 1, 9, 30, tzinfo=UTC)
    with transaction(engine) as session:
        contacts.upsert_contact(
            session, "c1", ContactChanges.model_validate({"email": "zoe@x.org"})
        )
        row = deliveries.open_delivery(session, _pending("m-2"))
        until = sent_at + timedelta(minutes=1)
        deliveries.claim_sending(session, row, until, recipient="zoe@x.org", sent_at=sent_at)
    with transaction(engine) as session:
        erase_contact(session, "c1")
    row.summary = "Hello Zoe"
    with transaction(engine) as session:
        deliveries.settle(session, row, deliveries.DeliveryStatus.SENT)
    with transaction(engine) as session:
        stored = session.get(DeliveryRow, "m-2")
        assert stored is not None
        assert stored.contact_id.startswith(PSEUDONYM_PREFIX)
        assert (stored.status, stored.summary, stored.recipient) == ("sent", None, None)
    assert row.summary is None


def test_api_keys_verify_until_revoked(engine: Engine) -> None:
    with transaction(engine) as session:
        row, secret = api_keys.create_key(session, "shop", [api_keys.Scope.EVENTS_WRITE])
    with transaction(engine) as session:
        principal = api_keys.verify_key(session, secret)
        assert principal is not None
        assert principal.may(api_keys.Scope.EVENTS_WRITE)
        assert not principal.may(api_keys.Scope.ADMIN)
        assert api_keys.verify_key(session, secret[:-1] + "x") is None
        assert api_keys.revoke_key(session, row.id)
    with transaction(engine) as session:
        assert api_keys.verify_key(session, secret) is None
