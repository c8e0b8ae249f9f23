"""The delivery ledger: one row per message, written before the provider call, settled after."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import bindparam, case, func, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session, col, select

from journeys.observability.logs import redact
from journeys.store.erasure import PSEUDONYM_PREFIX, erased_as
from journeys.store.tables import DeliveryRow, table
from journeys.store.types import utcnow

_NAMESPACE = uuid.UUID("6f1c1f4e-9a52-4d0e-8a53-5d1e2b7c0a11")


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # written; the provider may or may not have it yet
    POSTPONED = "postponed"  # held by a quiet time; sent (or expired) when it ends
    SENT = "sent"  # the provider accepted it
    BLOCKED = "blocked"  # not sent on purpose: consent, address, caps, ...
    FAILED = "failed"  # the provider refused it for good, or retries ran out

    @property
    def settled(self) -> bool:
        return self not in _UNSETTLED


_UNSETTLED = (DeliveryStatus.PENDING, DeliveryStatus.POSTPONED)


def message_id_for(workflow_id: str, instance_id: str, step: str, iteration: int) -> str:
    """The message id is a function of (run, step, iteration): a retry finds the same row."""
    return str(uuid.uuid5(_NAMESPACE, f"{workflow_id}\n{instance_id}\n{step}\n{iteration}"))


_DELIVERIES = table(DeliveryRow)
_COLUMNS = [column.name for column in _DELIVERIES.columns]
# Every send opens its row, and settles it: built once (see journeys.store). A conflict on
# the message id is an earlier attempt of the same message.
_OPEN = {
    dialect: insert(_DELIVERIES)
    .on_conflict_do_nothing(index_elements=[_DELIVERIES.c.message_id])
    .returning(_DELIVERIES.c.message_id)
    for dialect, insert in (("postgresql", postgresql.insert), ("sqlite", sqlite.insert))
}
_SETTLE = (
    update(_DELIVERIES)
    .where(_DELIVERIES.c.message_id == bindparam("message"))
    .values(
        status=bindparam("verdict"),
        reason=bindparam("why"),
        provider_message_id=bindparam("provider_id"),
        # The rendered subject or text names the contact: not kept for a contact erased
        # while the provider had the message (the erasure scrubbed it already, if before).
        summary=case(
            (_DELIVERIES.c.contact_id.startswith(PSEUDONYM_PREFIX), None),
            else_=bindparam("text"),
        ),
        sent_at=bindparam("sent"),
        sending_until=None,
        updated_at=bindparam("now"),
    )
    .returning(_DELIVERIES.c.summary)
)


def open_delivery(session: Session, row: DeliveryRow) -> DeliveryRow:
    """The delivery row for this message: `row` written as pending, or the one an earlier
    attempt wrote.

    Written in SQL rather than through the ORM: every send opens its row, and a look-up, a
    savepoint and the ORM's flush cost the send more CPU than the rest of its ledger. The
    erasure is checked first, as the row must not be written under an erased contact id.
    """
    erased = erased_as(session, row.instance_id, row.contact_id)
    if erased is not None:  # a run still ending when its contact was erased
        row.contact_id = row.workflow_id = erased
        row.recipient = None
    row.status = DeliveryStatus.PENDING
    values = {name: getattr(row, name) for name in _COLUMNS}
    written = session.execute(_OPEN[session.get_bind().dialect.name], values).first()
    if written is None:
        existing = session.get(DeliveryRow, row.message_id)  # an earlier attempt's
        assert existing is not None
        return existing
    # The row as written, without reading it back. Should the transaction roll back, the
    # object is left detached and expired: the send gives up on it then.
    make_transient_to_detached(row)
    session.add(row)
    return row


# Every send claims its row: built once (see journeys.store).
_CLAIM = (
    update(_DELIVERIES)
    .where(_DELIVERIES.c.message_id == bindparam("message"))
    .where(_DELIVERIES.c.status.in_(_UNSETTLED))
    .where(
        or_(_DELIVERIES.c.sending_until.is_(None), _DELIVERIES.c.sending_until <= bindparam("now"))
    )
    .values(sending_until=bindparam("until"), recipient=bindparam("to"), sent_at=bindparam("at"))
)


def claim_sending(
    session: Session, row: DeliveryRow, until: datetime, *, recipient: str, sent_at: datetime
) -> datetime | None:
    """Take the pending message for one attempt to hand to the provider, until `until`, and
    reserve it for `recipient` at `sent_at`: from then on other sends count it against caps.

    A send is retried when its attempt fails or seems lost, and a local attempt whose worker
    lost Temporal for a while is run again elsewhere while it may still be sending: only the
    attempt holding the claim sends. One conditional UPDATE, so two attempts cannot both
    take it. None: taken; otherwise when the other attempt's claim ends.
    """
    now = utcnow()
    taken = session.execute(
        _CLAIM,
        {"message": row.message_id, "now": now, "until": until, "to": recipient, "at": sent_at},
    )
    if taken.rowcount == 1:  # type: ignore[attr-defined]  # a CursorResult for an UPDATE
        claim = {"sending_until": until, "recipient": recipient, "sent_at": sent_at}
        for name, value in claim.items():  # the row as written, without reading it back
            set_committed_value(row, name, value)
        return None
    session.refresh(row)
    return row.sending_until or now


def release_sending(session: Session, message_id: str, claimed_until: datetime) -> None:
    """An attempt that failed before the provider took the message lets the next one try
    at once, instead of after its claim ends. Only its own claim: one that outlived it and
    was taken by another attempt since stays."""
    session.exec(
        update(DeliveryRow)
        .where(col(DeliveryRow.message_id) == message_id)
        .where(col(DeliveryRow.status).in_(_UNSETTLED))
        .where(col(DeliveryRow.sending_until) == claimed_until)
        .values(sending_until=None)
    )


def settle(
    session: Session,
    row: DeliveryRow,
    status: DeliveryStatus,
    *,
    reason: str | None = None,
    provider_message_id: str | None = None,
) -> None:
    """Record the message's verdict, with the row's summary and send time, and end its
    attempt's claim. One UPDATE (built once): the row may come from another session."""
    # A provider's refusal may quote the address (SMTP's 550 does): the row has it.
    why = redact(reason) if reason else reason
    now = utcnow()
    written = session.execute(
        _SETTLE,
        {
            "message": row.message_id,
            "verdict": status,
            "why": why,
            "provider_id": provider_message_id,
            "text": row.summary,
            "sent": row.sent_at,
            "now": now,
        },
    ).first()
    if written is None:  # as the ORM's flush would say: the row is gone
        raise StaleDataError(f"delivery {row.message_id} is not in the store")
    settled = {
        "status": status,
        "reason": why,
        "provider_message_id": provider_message_id,
        "summary": written.summary,
        "sent_at": row.sent_at,
        "sending_until": None,
        "updated_at": now,
    }
    for name, value in settled.items():  # the row as written, without reading it back
        set_committed_value(row, name, value)


def deliveries_of_contact(session: Session, contact_id: str, limit: int = 200) -> list[DeliveryRow]:
    return list(
        session.exec(
            select(DeliveryRow)
            .where(DeliveryRow.contact_id == contact_id)
            .order_by(col(DeliveryRow.created_at).desc())
            .limit(limit)
        ).all()
    )


def count_sent(
    session: Session, contact_id: str, channel: str, since: datetime, excluding: str
) -> int:
    """Commercial messages (not tests) sent to the contact on the channel since a moment,
    counting those being sent right now (pending, with their send time reserved), except
    the message `excluding`: a retried send must not be held by its own reservation."""
    return int(
        session.exec(
            select(func.count())
            .select_from(DeliveryRow)
            .where(
                DeliveryRow.contact_id == contact_id,
                DeliveryRow.channel == channel,
                col(DeliveryRow.status).in_([DeliveryStatus.SENT, DeliveryStatus.PENDING]),
                DeliveryRow.purpose == "commercial",
                col(DeliveryRow.test).is_(False),
                col(DeliveryRow.sent_at) >= since,
                DeliveryRow.message_id != excluding,
            )
        ).one()
    )


def find_delivery(session: Session, message_id: str) -> DeliveryRow | None:
    """A delivery by our message id, or by the id its provider gave it."""
    return (
        session.get(DeliveryRow, message_id)
        or session.exec(
            select(DeliveryRow).where(DeliveryRow.provider_message_id == message_id)
        ).first()
    )


def last_sms_to(session: Session, phone: str) -> DeliveryRow | None:
    """The newest SMS sent to a number: the one a reply from it answers."""
    return session.exec(
        select(DeliveryRow)
        .where(
            DeliveryRow.recipient == phone,
            DeliveryRow.channel == "sms",
            DeliveryRow.status == DeliveryStatus.SENT,
        )
        .order_by(col(DeliveryRow.sent_at).desc())
        .limit(1)
    ).first()


_ENGAGEMENTS = {
    "delivered": "delivered_at",
    "opened": "opened_at",
    "link_clicked": "clicked_at",
    "clicked": "clicked_at",
    "bounced": "bounced_at",
    "complained": "complained_at",
    "replied": "replied_at",
    "unsubscribed": "unsubscribed_at",
    "failed": "failed_at",
}


def record_engagement(
    session: Session,
    message_id: str,
    what: str,
    at: datetime,
    *,
    bounce_type: str | None = None,
    error_code: str | None = None,
) -> None:
    """The first time a message was delivered, opened, clicked, ... (later ones change nothing)."""
    row = session.get(DeliveryRow, message_id)
    column = _ENGAGEMENTS.get(what)
    if row is None or column is None or getattr(row, column) is not None:
        return
    setattr(row, column, at)
    if bounce_type is not None:
        row.bounce_type = bounce_type
    if error_code is not None:
        row.error_code = error_code[:40]
    session.add(row)
