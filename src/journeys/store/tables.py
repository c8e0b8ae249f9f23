"""The tables. Every change goes through an Alembic migration (`migrations/versions`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, Index, Table, UniqueConstraint
from sqlmodel import Field, SQLModel

from journeys.store.types import JsonType, UtcDateTime, utcnow


def _json(**kwargs: Any) -> Any:
    return Field(sa_column=Column(JsonType, nullable=False), **kwargs)


def _timestamp(**kwargs: Any) -> Any:
    return Field(sa_column=Column(UtcDateTime(), nullable=False, **kwargs), default_factory=utcnow)


class TriggerRow(SQLModel, table=True):
    """A custom or record_change trigger definition (built-in triggers live in code)."""

    __tablename__ = "trigger_definitions"

    name: str = Field(primary_key=True, max_length=100)
    status: str = Field(max_length=20)
    definition: dict[str, Any] = _json()
    created_at: datetime = _timestamp()
    updated_at: datetime = _timestamp()


class JourneyRow(SQLModel, table=True):
    """A journey: its editable draft and which published version new entries use."""

    __tablename__ = "journeys"

    id: str = Field(primary_key=True, max_length=80)
    name: str = Field(max_length=200)
    status: str = Field(max_length=20)  # draft | published | stopped
    draft: dict[str, Any] = _json()  # may not validate: the editor saves work in progress
    draft_revision: int = 1  # counted up by every save that changes the draft
    live_version: int | None = None
    created_at: datetime = _timestamp()
    updated_at: datetime = _timestamp()


class JourneyDraftRow(SQLModel, table=True):
    """A draft as one save left it: the latest revisions of each journey's draft are kept."""

    __tablename__ = "journey_drafts"

    journey_id: str = Field(primary_key=True, foreign_key="journeys.id", max_length=80)
    revision: int = Field(primary_key=True)
    document: dict[str, Any] = _json()
    saved_at: datetime = _timestamp()


class JourneyVersionRow(SQLModel, table=True):
    """A published version: immutable once written."""

    __tablename__ = "journey_versions"

    journey_id: str = Field(primary_key=True, foreign_key="journeys.id", max_length=80)
    version: int = Field(primary_key=True)
    definition: dict[str, Any] = _json()
    published_at: datetime = _timestamp()
    published_by: str = Field(max_length=200)


class ContactRow(SQLModel, table=True):
    __tablename__ = "contacts"

    id: str = Field(primary_key=True, max_length=200)
    email: str | None = Field(default=None, max_length=320, index=True)
    phone: str | None = Field(default=None, max_length=40, index=True)
    first_name: str | None = Field(default=None, max_length=200)
    last_name: str | None = Field(default=None, max_length=200)
    timezone: str | None = Field(default=None, max_length=64)
    attributes: dict[str, Any] = _json(default_factory=dict)
    # Consent per channel: None means the contact never said either way.
    consent_email: bool | None = None
    consent_sms: bool | None = None
    consent_push: bool | None = None
    # Who set it (contacts.model.ContactWriter, then a detail): a withdrawal by the contact
    # (`contact:stop`) is only undone by the consent call.
    consent_email_source: str | None = Field(default=None, max_length=200)
    consent_sms_source: str | None = Field(default=None, max_length=200)
    consent_push_source: str | None = Field(default=None, max_length=200)
    created_at: datetime = _timestamp()
    updated_at: datetime = _timestamp()


class DeliveryRow(SQLModel, table=True):
    """One message of one run's step: written before the provider is called, settled after."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("workflow_id", "instance_id", "step", "iteration"),
        Index("ix_deliveries_contact_created", "contact_id", "created_at"),
        Index("ix_deliveries_provider_message_id", "provider_message_id"),
        Index("ix_deliveries_recipient", "recipient", "channel", "created_at"),
    )

    message_id: str = Field(primary_key=True, max_length=36)
    workflow_id: str = Field(max_length=400)
    instance_id: str = Field(max_length=64)
    step: str = Field(max_length=80)
    iteration: int
    journey_id: str = Field(max_length=80)
    journey_version: int
    contact_id: str = Field(max_length=200)
    channel: str = Field(max_length=10)
    recipient: str | None = Field(default=None, max_length=320)
    status: str = Field(max_length=20)  # pending | postponed | sent | blocked | failed
    reason: str | None = Field(default=None, max_length=500)
    purpose: str = Field(default="commercial", max_length=20)  # or transactional
    postponed_until: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))
    sent_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))
    # While pending: an attempt is handing the message to the provider until then, and no
    # other attempt may (see `claim_sending`).
    sending_until: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))
    # What the channel told us afterwards (provider receipts, opens, clicks, replies).
    delivered_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))
    opened_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))
    clicked_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))
    bounced_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))
    bounce_type: str | None = Field(default=None, max_length=10)
    complained_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))
    replied_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))
    unsubscribed_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))
    # Failed after it was handed over (a carrier's "undelivered"), with the provider's code.
    failed_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))
    error_code: str | None = Field(default=None, max_length=40)
    summary: str | None = Field(default=None, max_length=300)  # subject or first words
    test: bool = False  # a test send: outside any journey run, never counted
    provider_message_id: str | None = Field(default=None, max_length=300)
    created_at: datetime = _timestamp()
    updated_at: datetime = _timestamp()


class EntryRow(SQLModel, table=True):
    """The entry ledger: every admission and refusal, kept beyond Temporal's retention."""

    __tablename__ = "journey_entries"
    __table_args__ = (
        Index("ix_entries_lookup", "journey_id", "contact_id", "binding_id", "admitted", "at"),
        Index("ix_entries_contact", "contact_id", "at"),
        Index("ix_entries_event", "journey_id", "event_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    instance_id: str = Field(max_length=64, unique=True)
    journey_id: str = Field(max_length=80)
    version: int
    contact_id: str = Field(max_length=200)
    binding_id: str = Field(default="", max_length=200)  # "" when the journey is per contact
    event_id: str = Field(max_length=200)
    admitted: bool
    reason: str | None = Field(default=None, max_length=50)
    at: datetime = _timestamp()
    # The admitted run's workflow id (several runs of one contact have one each), and its
    # first run id once it began (for links to Temporal's UI).
    workflow_id: str | None = Field(default=None, max_length=400)
    run_id: str | None = Field(default=None, max_length=64)
    # The start trigger's attributes, kept only when the goal compares with them after the
    # run ended (`goal.when` with `{from: trigger.*}`).
    trigger_attributes: dict[str, Any] | None = Field(
        default=None, sa_column=Column(JsonType, nullable=True)
    )
    # How the run ended (admitted entries only), and whether and when it reached its goal.
    ended_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))
    outcome: str | None = Field(default=None, max_length=20)
    outcome_reason: str | None = Field(default=None, max_length=200)
    goal_reached_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))


class ApiKeyRow(SQLModel, table=True):
    __tablename__ = "api_keys"

    id: str = Field(primary_key=True, max_length=32)
    name: str = Field(max_length=200)
    scopes: list[str] = _json()
    secret_hash: str = Field(max_length=64)
    # A signed key authenticates only requests signed with its signing secret: it is never
    # sent over the wire itself.
    signed: bool = False
    rate_limit: float | None = None  # requests per second; None: the deployment's default
    # A publishable key is shipped in web pages: it fires only the custom triggers it names,
    # from pages on the origins it names.
    kind: str = Field(default="secret", max_length=20)
    triggers: list[str] = _json(default_factory=list)
    origins: list[str] = _json(default_factory=list)
    created_at: datetime = _timestamp()
    revoked_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))


class RevisionRow(SQLModel, table=True):
    """Bumped on every catalog change, so each API process knows when to reload its index."""

    __tablename__ = "catalog_revision"

    id: int = Field(default=1, primary_key=True)
    revision: int = 0
    updated_at: datetime = _timestamp()


class AcceptedEventRow(SQLModel, table=True):
    """Event ids accepted recently: a producer's retry within the window acts on nothing."""

    __tablename__ = "accepted_events"
    __table_args__ = (Index("ix_accepted_events_claimed_at", "claimed_at"),)

    event_id: str = Field(primary_key=True, max_length=200)
    trigger: str = Field(max_length=100)
    claimed_at: datetime = _timestamp()
    done: bool = False  # False while the gateway is still routing it


class SuppressionRow(SQLModel, table=True):
    """Addresses never to send to again on a channel: hard bounces, complaints, STOP,
    numbers that cannot take SMS."""

    __tablename__ = "suppressions"

    channel: str = Field(primary_key=True, max_length=10)
    address: str = Field(primary_key=True, max_length=320)  # its keyed hash (suppressions.py)
    reason: str = Field(max_length=20)  # hard_bounce | complaint | stop | undeliverable
    message_id: str | None = Field(default=None, max_length=36)
    created_at: datetime = _timestamp()


class StoreKeyRow(SQLModel, table=True):
    """Random keys the store makes for itself (hex), by name: what they protect lives here
    too, and must outlive any rotation of the deployment's secrets."""

    __tablename__ = "store_keys"

    name: str = Field(primary_key=True, max_length=40)
    value: str = Field(max_length=128)


class MessagingSettingsRow(SQLModel, table=True):
    """Frequency caps and quiet times, for every journey (one row)."""

    __tablename__ = "messaging_settings"

    id: int = Field(default=1, primary_key=True)
    settings: dict[str, Any] = _json()
    updated_at: datetime = _timestamp()


class ShortLinkRow(SQLModel, table=True):
    """A link in an SMS, shortened: /t/c/<code> redirects and raises sms.link_clicked."""

    __tablename__ = "short_links"

    code: str = Field(primary_key=True, max_length=12)
    url: str = Field(max_length=2000)
    workflow_id: str = Field(max_length=400)
    instance_id: str = Field(max_length=64)
    step: str = Field(max_length=80)
    message_id: str = Field(max_length=36)
    contact_id: str = Field(max_length=200)
    channel: str = Field(max_length=10)
    created_at: datetime = _timestamp()


class RunEventRow(SQLModel, table=True):
    """What each run did, step by step, for analytics: copied from the run's history, each
    entry once (keyed by its place in that history)."""

    __tablename__ = "run_events"
    __table_args__ = (Index("ix_run_events_journey", "journey_id", "version", "step", "what"),)

    instance_id: str = Field(primary_key=True, max_length=64)
    seq: int = Field(primary_key=True)
    journey_id: str = Field(max_length=80)
    version: int
    contact_id: str = Field(max_length=200)
    step: str | None = Field(default=None, max_length=80)
    what: str = Field(max_length=30)
    detail: str | None = Field(default=None, max_length=300)
    at: datetime = _timestamp()


class RecordRow(SQLModel, table=True):
    """The last state Journeys was told of a CRM record, so that a change can be compared
    with it when it comes without `before`. The previous state is kept beside it, so that a
    producer's retry of the last change fires what the change fired."""

    __tablename__ = "records"
    __table_args__ = (Index("ix_records_contact", "contact_id"),)

    entity: str = Field(primary_key=True, max_length=80)
    id: str = Field(primary_key=True, max_length=200)
    state: dict[str, Any] = _json()
    previous: dict[str, Any] | None = Field(default=None, sa_column=Column(JsonType, nullable=True))
    last_event_id: str | None = Field(default=None, max_length=200)
    created: bool = False  # its creation was told (a profile import is not one)
    contact_id: str | None = Field(default=None, max_length=200)  # erased with the contact
    updated_at: datetime = _timestamp()


def table(row: type[SQLModel]) -> Table:
    """The Core table of a row class, for statements that skip the ORM's bookkeeping."""
    return row.__table__  # type: ignore[attr-defined, no-any-return]  # set by SQLModel
