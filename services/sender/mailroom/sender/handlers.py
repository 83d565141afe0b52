"""How a send request becomes an SMTP delivery and one result event.

`handle_send_email` runs once per delivery of an `email.send.requested` message.
In order:

1. Look at what the `sends` collection already knows (a redelivery or a
   duplicate): a finished send only gets its result event published again (same
   event id; it may not have gone out before a crash); a send another replica is
   working on waits.
2. Render the message (refused as `invalid` if it cannot be well-formed).
3. Leave out suppressed recipients (`suppressed` if none remain).
4. Hold messages of a mailbox whose credentials were rejected (or that is
   disabled), until the mailbox is changed, looking again at least every
   `hold_seconds`; wait for the next window when a sending budget is spent.
5. Take a pooled SMTP connection, mark the send `sending` (compare-and-set, so
   only one delivery can), run the transaction.
6. Record the outcome (`send_outcomes`), then publish it (`email.sent`, `email.failed`,
   `email.deferred`, plus `email.bounce.received` for each recipient refused
   with 5xx). Only then does the bus ack the message. That the event went out is
   not written down (it would cost a third store write per send): a later
   delivery of the same request republishes it, which consumers tolerate since
   its event id is the same.

A send found still `sending` after its lease ran out was being handed to the
server when its replica died; it may have been accepted, so it is reported
failed with "outcome unknown" rather than sent a second time.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, NoReturn, cast, get_args

from mailroom.sender.ledger import SendLedger, lease_is_live
from mailroom.sender.limits import give_back_budget, take_budget
from mailroom.sender.mailbox_cache import MailboxCache
from mailroom.sender.metrics import SenderMetrics
from mailroom.sender.pool import MailboxPools, SmtpFailure, TransactionResult, enhanced_status
from mailroom.sender.render import (
    InvalidContent,
    Party,
    RenderedMessage,
    message_id_header_for,
    render_message,
)
from mailroom.sender.sent_copy import append_sent_copy
from mailroom.sender.settings import SenderSettings
from mailroom.sender.suppressions import SuppressionList
from mailroom.shared.bus import Bus, Handler, current_delivery, retry_step_ms
from mailroom.shared.contracts import (
    Address,
    BounceReceived,
    EmailDeferred,
    EmailFailed,
    EmailSent,
    FailureReason,
    Message,
    SendEmail,
)
from mailroom.shared.errors import RetryableError
from mailroom.shared.mailboxes import (
    MailboxRecord,
    MailboxSecrets,
    record_failure,
    record_success,
)
from mailroom.shared.sends import SendRecord
from mailroom.shared.store import Store

log = logging.getLogger(__name__)

OUTCOME_UNKNOWN = (
    "outcome unknown: the sender stopped while handing the message to the server, "
    "which may have accepted it; not sent again so it cannot arrive twice"
)


@dataclass
class SenderDeps:
    """Everything the handlers use, built once by `main.py` (or by a test)."""

    settings: SenderSettings
    store: Store
    bus: Bus
    ledger: SendLedger
    mailboxes: MailboxCache
    pools: MailboxPools
    secrets: MailboxSecrets
    metrics: SenderMetrics
    suppressions: SuppressionList


def _now() -> datetime:
    return datetime.now(UTC)


async def handle_send_email(deps: SenderDeps, event: SendEmail) -> None:
    """Deliver one send request (see the module docstring for the steps)."""
    now = _now()
    existing: SendRecord | None = None
    looked_up = not _first_sight(event)
    if looked_up:
        existing = await deps.ledger.find(event.message_id)
        if existing is not None and not await _continue_existing(deps, event, existing, now):
            return

    async def settled_before() -> bool:
        """Before any outcome other than a delivery: make sure the send is not on
        record already (a first sight skipped the look-up); True when nothing is left
        to do."""
        nonlocal existing, looked_up
        if looked_up:
            return False
        looked_up = True
        existing = await deps.ledger.find(event.message_id)
        return existing is not None and not await _continue_existing(deps, event, existing, now)

    mailbox = await deps.mailboxes.get(event.mailbox_id)
    if mailbox is None or mailbox.tenant_id != event.tenant_id or mailbox.smtp is None:
        if not await settled_before():
            detail = "mailbox not found for this tenant"
            if mailbox is not None and mailbox.tenant_id == event.tenant_id:
                detail = "mailbox has no SMTP settings"
            await _fail(deps, event, existing, "invalid", detail)
        return

    suppressed = await deps.suppressions.suppressed(
        event.tenant_id, (a.email for a in (*event.to, *event.cc, *event.bcc))
    )
    try:
        rendered = _render(event, mailbox, suppressed)
    except InvalidContent as exc:
        if not await settled_before():
            await _fail(deps, event, existing, "invalid", str(exc))
        return
    if not rendered.recipients:
        if not await settled_before():
            await _fail(
                deps,
                event,
                existing,
                "suppressed",
                "every recipient is on the suppression list",
                recipients=sorted(suppressed),
            )
        return

    if _on_hold(mailbox):
        if await settled_before():
            return
        await _hold(deps, event, existing, mailbox)
    spent = await take_budget(deps.store, mailbox, now)
    if spent is not None:
        if await settled_before():
            return
        wait_s = spent.wait_seconds(now)
        already_waiting = (
            existing is not None
            and existing.status == "deferred"
            and existing.next_attempt_at == spent.opens_at
        )
        if not already_waiting:
            # A send woken early that waits on for the same window keeps its one entry.
            await deps.ledger.record_waiting(
                event,
                existing is not None,
                now,
                "deferred",
                f"{spent.window} sending budget spent",
                spent.opens_at,
            )
            deps.metrics.sends.labels("deferred", "rate_limited").inc()
        deps.metrics.retries.labels("rate_limited").inc()
        raise RetryableError(
            f"{spent.window} budget spent",
            delay_s=max(wait_s, 0.001),
            counts_as_attempt=False,
            not_later=True,
        )

    await _deliver(deps, event, existing, mailbox, rendered, suppressed, now)


def _first_sight(event: SendEmail) -> bool:
    """A first delivery, not a retry or a broker redelivery: most likely not on record yet.

    Such a send skips the look-up and is claimed by inserting it; when the insert
    finds it on record after all (a duplicate publish), `_deliver` looks it up then.
    """
    delivery = current_delivery.get()
    return delivery is not None and delivery.attempt == 1 and not delivery.redelivered


async def _continue_existing(
    deps: SenderDeps, event: SendEmail, record: SendRecord, now: datetime
) -> bool:
    """Decide about a send already on record; True when it should be (re)tried now."""
    if lease_is_live(record, now):
        # Another delivery of the same request is at work; look again when its lease ends.
        assert record.lease_until is not None
        deps.metrics.retries.labels("busy").inc()
        raise RetryableError(
            "another delivery of this send is in progress",
            delay_s=max((record.lease_until - now).total_seconds(), 0.001),
            counts_as_attempt=False,
        )
    if record.status in ("sent", "failed"):
        # Recorded, but whether its result went out is unknown: publish it again.
        await _publish_outcome(deps, event, record, repeated=True)
        return False
    if record.status == "sending":
        # Its replica died between starting the transaction and recording the result.
        await _fail(deps, event, record, "retries_exhausted", OUTCOME_UNKNOWN)
        return False
    return True


async def _deliver(
    deps: SenderDeps,
    event: SendEmail,
    existing: SendRecord | None,
    mailbox: MailboxRecord,
    rendered: RenderedMessage,
    suppressed: set[str],
    budget_taken_at: datetime,
) -> None:
    pool = deps.pools.pool_for(mailbox)
    try:
        async with pool.slot() as conn:
            started_at = _now()
            claimed = await deps.ledger.start_sending(
                event, existing, started_at, rendered.message_id_header
            )
            if not claimed and existing is None:
                # Claimed by insert without a look-up, and it was on record after all.
                existing = await deps.ledger.find(event.message_id)
                if existing is None or not await _continue_existing(
                    deps, event, existing, started_at
                ):
                    await give_back_budget(deps.store, mailbox, budget_taken_at)
                    return
                claimed = await deps.ledger.start_sending(
                    event, existing, started_at, rendered.message_id_header
                )
            if not claimed:
                await give_back_budget(deps.store, mailbox, budget_taken_at)
                deps.metrics.retries.labels("busy").inc()
                raise RetryableError(
                    "another delivery of this send took it", delay_s=1.0, counts_as_attempt=False
                )
            started = time.perf_counter()
            result = await conn.transaction(
                rendered.envelope_from, list(rendered.recipients), rendered.raw
            )
            deps.metrics.smtp_seconds.labels("transaction").observe(time.perf_counter() - started)
    except SmtpFailure as failure:
        if failure.kind != "unknown":
            # The server did not take the message: the unit it took is not spent.
            await give_back_budget(deps.store, mailbox, budget_taken_at)
        await _smtp_failed(deps, event, existing, mailbox, failure)
        return

    if mailbox.state != "connected":
        await record_success(deps.store, deps.bus, mailbox)
        deps.mailboxes.forget(mailbox.id)
    await _smtp_answered(deps, event, mailbox, rendered, result, suppressed)


async def _smtp_answered(
    deps: SenderDeps,
    event: SendEmail,
    mailbox: MailboxRecord,
    rendered: RenderedMessage,
    result: TransactionResult,
    suppressed: set[str],
) -> None:
    now = _now()
    refusals = [
        {"recipient": r.recipient, "code": r.code, "message": r.message} for r in result.refused
    ]
    fields: dict[str, Any] = {
        "smtp_message_id": rendered.message_id_header,
        "accepted": result.accepted,
        "rejected": [r.recipient for r in result.refused],
        "refusals": refusals,
        "suppressed": sorted(suppressed),
    }
    if not result.accepted:
        first = result.refused[0] if result.refused else None
        fields |= {
            "failure_reason": "rejected",
            "failure_detail": f"every recipient refused: {first.message if first else ''}",
            "smtp_code": first.code if first else None,
            "enhanced_status": first.enhanced_status if first else None,
        }
        await deps.ledger.record_outcome(
            event, True, now, "failed", fields, fields["failure_detail"]
        )
    else:
        fields |= {"smtp_reply": result.reply, "smtp_code": result.code, "sent_at": now}
        await deps.ledger.record_outcome(event, True, now, "sent", fields)
        if mailbox.save_sent_copy:
            fields["sent_folder_uid"] = await _save_copy(deps, event, mailbox, rendered)
    record = SendRecord.model_validate(
        {
            "_id": event.message_id,
            "tenant_id": event.tenant_id,
            "idempotency_key": event.idempotency_key,
            "mailbox_id": event.mailbox_id,
            "status": "sent" if result.accepted else "failed",
            "metadata": event.metadata,
            "created_at": now,
            "updated_at": now,
            **fields,
        }
    )
    await _publish_outcome(deps, event, record)


async def _save_copy(
    deps: SenderDeps, event: SendEmail, mailbox: MailboxRecord, rendered: RenderedMessage
) -> int | None:
    try:
        uid = await append_sent_copy(
            mailbox, deps.secrets, rendered.raw, deps.settings.sent_copy_timeout_seconds
        )
    except Exception as exc:  # the message went out; a missing copy must not fail it
        log.warning(
            "could not save the copy to Sent",
            extra={"message_id": event.message_id, "error": f"{type(exc).__name__}: {exc}"},
        )
        return None
    await deps.store.collection("sends").update_one(
        {"_id": event.message_id}, {"$set": {"sent_folder_uid": uid}}
    )
    return uid


async def _smtp_failed(
    deps: SenderDeps,
    event: SendEmail,
    existing: SendRecord | None,
    mailbox: MailboxRecord,
    failure: SmtpFailure,
) -> None:
    """Decide a failed attempt's fate: fail now, hold the mailbox, or try later."""
    existing = existing or await deps.ledger.find(event.message_id)
    if failure.kind == "rejected":
        await _fail(
            deps,
            event,
            existing,
            "rejected",
            failure.detail,
            code=failure.code,
            enhanced=failure.enhanced_status,
            recipients=[a.email for a in (*event.to, *event.cc, *event.bcc)],
        )
        return
    if failure.kind == "unknown":
        await _fail(deps, event, existing, "retries_exhausted", f"{OUTCOME_UNKNOWN} ({failure})")
        return
    if failure.kind == "auth":
        await record_failure(
            deps.store,
            deps.bus,
            mailbox,
            code="smtp_auth_failed",
            message=failure.detail,
            credentials_rejected=True,
        )
        deps.mailboxes.forget(mailbox.id)
        fresh = await deps.mailboxes.get(mailbox.id)
        await _hold(deps, event, existing, fresh or mailbox, attempted=True)
    await record_failure(
        deps.store,
        deps.bus,
        mailbox,
        code="smtp_tls" if failure.kind == "tls" else "smtp_transient",
        message=failure.detail,
        needs_attention=failure.kind == "tls",
    )
    deps.mailboxes.forget(mailbox.id)
    await _defer(deps, event, existing, failure)


async def _defer(
    deps: SenderDeps, event: SendEmail, existing: SendRecord | None, failure: SmtpFailure
) -> None:
    delivery = current_delivery.get()
    attempt = delivery.attempt if delivery else 1
    if delivery is None or delivery.is_last_attempt:
        await _fail(
            deps,
            event,
            existing,
            "retries_exhausted",
            f"gave up after {attempt} attempts: {failure.detail}",
            code=failure.code,
            enhanced=failure.enhanced_status,
        )
        return
    now = _now()
    delay_s = retry_step_ms(deps.settings.retry_delays, attempt, None) / 1000
    next_at = now + timedelta(seconds=delay_s)
    await deps.ledger.record_waiting(
        event,
        existing is not None,
        now,
        "deferred",
        failure.detail,
        next_at,
        attempt=attempt,
        smtp_code=failure.code,
        enhanced_status=failure.enhanced_status,
    )
    await deps.bus.publish(
        EmailDeferred(
            event_id=f"{event.message_id}.deferred.{attempt}",
            tenant_id=event.tenant_id,
            mailbox_id=event.mailbox_id,
            message_id=event.message_id,
            idempotency_key=event.idempotency_key,
            metadata=event.metadata,
            attempt=attempt,
            next_attempt_at=next_at,
            detail=failure.detail,
            smtp_code=failure.code,
            enhanced_status=failure.enhanced_status,
        )
    )
    deps.metrics.sends.labels("deferred", "transient").inc()
    deps.metrics.retries.labels("transient").inc()
    raise RetryableError(failure.detail)


async def _hold(
    deps: SenderDeps,
    event: SendEmail,
    existing: SendRecord | None,
    mailbox: MailboxRecord,
    *,
    attempted: bool = False,
) -> NoReturn:
    """Park the message until the mailbox is fixed: not lost, not retried in a hot loop.

    The next look comes no later than `hold_seconds` after this one: the bus waits
    the longest delay step that is not longer (`not_later`), so a mailbox fixed
    meanwhile gets its messages going within that time, not after the next longer
    step. Each look that finds the mailbox as it was moves only the send's
    `next_attempt_at`; the one `held` entry of its timeline already says why it waits.
    `attempted`: the mailbox was just tried for this send and refused its login, so
    the send gets a new entry even if it was held for the same state before.
    """
    now = _now()
    hold_s = deps.settings.hold_seconds
    delivery = current_delivery.get()
    # The step the bus picks for this wait (the consumer runs on the same ladder, and
    # the same rule), so `next_attempt_at` is when the message really comes back.
    step_ms = retry_step_ms(
        deps.settings.retry_delays, delivery.attempt if delivery else 1, hold_s, not_later=True
    )
    next_at = now + timedelta(milliseconds=step_ms)
    detail = f"mailbox is {mailbox.state}; waiting until it is fixed"
    if (
        not attempted
        and existing is not None
        and existing.status == "held"
        and existing.timeline
        and existing.timeline[-1].detail == detail
    ):
        await deps.ledger.move_next_attempt(existing, next_at)
    else:
        await deps.ledger.record_waiting(event, existing is not None, now, "held", detail, next_at)
        deps.metrics.sends.labels("held", mailbox.state).inc()
    deps.metrics.retries.labels("mailbox_held").inc()
    raise RetryableError(
        f"mailbox {mailbox.state}", delay_s=hold_s, counts_as_attempt=False, not_later=True
    )


def _on_hold(mailbox: MailboxRecord) -> bool:
    """Hold while the credentials are known bad and nobody changed the mailbox since."""
    if mailbox.state == "disabled":
        return True
    if mailbox.state != "auth_failed":
        return False
    changed_since = (
        mailbox.updated_at is not None
        and mailbox.last_error_at is not None
        and mailbox.updated_at > mailbox.last_error_at
    )
    return not changed_since


async def _fail(
    deps: SenderDeps,
    event: SendEmail,
    existing: SendRecord | None,
    reason: FailureReason,
    detail: str,
    *,
    code: int | None = None,
    enhanced: str | None = None,
    recipients: Sequence[str] = (),
) -> None:
    now = _now()
    fields: dict[str, Any] = {
        "failure_reason": reason,
        "failure_detail": detail[:1000],
        "smtp_code": code,
        "enhanced_status": enhanced,
        "failed_recipients": list(recipients),
    }
    await deps.ledger.record_outcome(
        event, existing is not None, now, "failed", fields, detail[:300]
    )
    record = (existing or await deps.ledger.find(event.message_id)) or None
    base: dict[str, Any] = {
        "_id": event.message_id,
        "tenant_id": event.tenant_id,
        "idempotency_key": event.idempotency_key,
        "mailbox_id": event.mailbox_id,
        "metadata": event.metadata,
        "created_at": now,
        "updated_at": now,
    }
    if record is not None:
        base = record.model_dump(by_alias=True)
    merged = SendRecord.model_validate({**base, **fields, "status": "failed"})
    await _publish_outcome(deps, event, merged, failed_recipients=list(recipients))


async def _publish_outcome(
    deps: SenderDeps,
    event: SendEmail,
    record: SendRecord,
    *,
    failed_recipients: list[str] | None = None,
    repeated: bool = False,
) -> None:
    """Publish the result of a recorded outcome (`repeated`: again, for a duplicate).

    Event ids are derived from the message id, so a result published again after
    a crash or for a duplicate request is recognisably the same event.
    """
    events: list[Message] = []
    for i, refusal in enumerate(record.refusals):
        code = refusal.get("code")
        message = str(refusal.get("message", ""))
        events.append(
            BounceReceived(
                event_id=f"{record.id}.bounce.{i}",
                tenant_id=record.tenant_id,
                mailbox_id=record.mailbox_id,
                source="smtp",
                recipient=str(refusal.get("recipient")),
                smtp_code=code if isinstance(code, int) else None,
                enhanced_status=enhanced_status(message),
                diagnostic=message[:1000],
                message_id=record.id,
            )
        )
    common: dict[str, Any] = {
        "tenant_id": record.tenant_id,
        "mailbox_id": record.mailbox_id,
        "message_id": record.id,
        "idempotency_key": record.idempotency_key,
        "metadata": event.metadata,
    }
    if record.status == "sent":
        events.append(
            EmailSent(
                event_id=f"{record.id}.sent",
                message_id_header=record.smtp_message_id or "",
                smtp_reply=record.smtp_reply or "",
                accepted=record.accepted,
                rejected=record.rejected,
                sent_at=record.sent_at or _now(),
                sent_folder_uid=record.sent_folder_uid,
                **common,
            )
        )
        if not repeated:
            deps.metrics.sends.labels("sent", "").inc()
    else:
        reason = cast(
            FailureReason,
            record.failure_reason
            if record.failure_reason in get_args(FailureReason)
            else "retries_exhausted",
        )
        events.append(
            EmailFailed(
                event_id=f"{record.id}.failed",
                reason=reason,
                detail=record.failure_detail or "",
                smtp_code=record.smtp_code,
                enhanced_status=record.enhanced_status,
                recipients=failed_recipients or record.failed_recipients or record.rejected,
                **common,
            )
        )
        if not repeated:
            deps.metrics.sends.labels("failed", reason).inc()
    if repeated:
        deps.metrics.sends.labels("duplicate", "").inc()
    await deps.bus.publish_many(events)


def _party(address: Address) -> Party:
    return Party(address.email, address.name.strip() if address.name else None)


def _render(event: SendEmail, mailbox: MailboxRecord, suppressed: set[str]) -> RenderedMessage:
    sender = Party(mailbox.email, mailbox.display_name)
    author: Party | None = None
    override = mailbox.from_override
    if override.address_field or override.name_field:
        address = event.contact.get(override.address_field or "") or mailbox.email
        name = event.contact.get(override.name_field or "") or mailbox.display_name
        author = Party(address.strip(), name.strip() if name else None)
    reply_to = Party(mailbox.reply_to, mailbox.reply_to_name) if mailbox.reply_to else None
    rendered = render_message(
        sender=sender,
        author=author,
        to=[_party(a) for a in event.to],
        cc=[_party(a) for a in event.cc],
        bcc=[_party(a) for a in event.bcc if a.email not in suppressed],
        reply_to=reply_to,
        subject=event.subject,
        text=event.text,
        html=event.html,
        message_id_header=message_id_header_for(event.message_id, mailbox.domain),
        headers=event.headers,
        list_unsubscribe=event.list_unsubscribe,
        list_unsubscribe_one_click=event.list_unsubscribe_one_click,
    )
    if not suppressed:
        return rendered
    # Suppressed addresses stay in the headers (the message reads the same for the
    # others) but leave the envelope: they are not sent to.
    kept = tuple(r for r in rendered.recipients if r not in suppressed)
    return RenderedMessage(rendered.raw, rendered.message_id_header, rendered.envelope_from, kept)


def handler_map(deps: SenderDeps) -> dict[type[Message], Handler]:
    """The sender's one consumer: `email.send.requested`."""
    return {SendEmail: partial(handle_send_email, deps)}
