"""Handlers of the bounce service: plain functions over typed events.

`email.bounce.received` → classify (mailbox message or SMTP rejection) → for
each bounced recipient: record it with its evidence, decide by the tenant's
policy, update the contact and the suppression list, publish `contact.bounced`.
For a message found in a mailbox, the verdict goes back as
`email.bounce.processed` so the watcher can delete recognised bounces when the
mailbox asks for it.
"""

from __future__ import annotations

import base64
import binascii
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial

from mailroom.bounce.classifier import Classification, classify_message, classify_smtp_reply
from mailroom.bounce.classifier.model import BouncedRecipient
from mailroom.bounce.classifier.policy import BouncePolicy, Decision, decide
from mailroom.bounce.metrics import BounceMetrics
from mailroom.bounce.records import (
    apply_to_contact,
    claim_bounce_record,
    history_window,
    recent_history,
    send_for_message_id_header,
    tenant_policy,
)
from mailroom.shared.bus import Bus, HandlerMap
from mailroom.shared.contracts import (
    BounceProcessed,
    BounceReceived,
    ContactBounced,
    ContactComplained,
)
from mailroom.shared.errors import InvalidMessage
from mailroom.shared.store import Store

log = logging.getLogger(__name__)


@dataclass
class BounceDeps:
    store: Store
    bus: Bus
    default_policy: BouncePolicy
    metrics: BounceMetrics


def classify_event(event: BounceReceived) -> Classification:
    """The classifier's verdict on what the event carries (pure)."""
    if event.source == "smtp":
        if not event.recipient:
            raise InvalidMessage("an SMTP rejection must name its recipient")
        bounced = classify_smtp_reply(
            event.smtp_code or 550, event.enhanced_status, event.diagnostic or "", event.recipient
        )
        return Classification(True, "bounce", [bounced], event.message_id)
    if event.raw_b64 is None:
        # Large messages are passed by reference only once a blob store exists;
        # until then the watcher always sends the (capped) bytes.
        raise InvalidMessage("a mailbox bounce must carry raw_b64")
    try:
        raw = base64.b64decode(event.raw_b64, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidMessage(f"raw_b64 is not valid base64: {exc}") from None
    return classify_message(raw)


async def handle_bounce_received(event: BounceReceived, deps: BounceDeps) -> None:
    classification = classify_event(event)
    deps.metrics.messages.labels(event.source, classification.category).inc()
    if classification.is_bounce:
        policy = await tenant_policy(deps.store, event.tenant_id, deps.default_policy)
        message_id = event.message_id or await send_for_message_id_header(
            deps.store, event.tenant_id, classification.original_message_id
        )
        for bounced in classification.recipients:
            if bounced.recipient:
                await record_bounce(deps, event, bounced, policy, message_id)
    elif classification.category == "feedback":
        message_id = event.message_id or await send_for_message_id_header(
            deps.store, event.tenant_id, classification.original_message_id
        )
        for complainant in classification.recipients:
            await record_complaint(deps, event, complainant, message_id)
    if event.source == "mailbox":
        await deps.bus.publish(
            BounceProcessed(
                tenant_id=event.tenant_id,
                mailbox_id=event.mailbox_id,
                location=event.location,
                is_bounce=classification.is_bounce,
                category=classification.category,
            )
        )
    log.info(
        "classified",
        extra={
            "category": classification.category,
            "recipients": len(classification.recipients),
            "problem": classification.problem,
        },
    )


async def record_bounce(
    deps: BounceDeps,
    event: BounceReceived,
    bounced: BouncedRecipient,
    policy: BouncePolicy,
    message_id: str | None,
) -> None:
    now = datetime.now(UTC)
    since = now - max(history_window(policy), timedelta(days=1))
    history = await recent_history(
        deps.store, event.tenant_id, bounced.recipient, since, excluding_event=event.event_id
    )
    first_decision = decide(history, bounced, policy, now)
    record = await claim_bounce_record(
        deps.store,
        source_event_id=event.event_id,
        tenant_id=event.tenant_id,
        mailbox_id=event.mailbox_id,
        bounced=bounced,
        decision=first_decision,
        message_id=message_id,
        source=event.source,
    )
    # On a redelivery the first decision stands, whatever happened since.
    decision = Decision.model_validate(record["decision"])
    state = await apply_to_contact(deps.store, record, bounced, decision)
    deps.metrics.recipients.labels(bounced.kind, bounced.reason, decision.outcome).inc()
    await deps.bus.publish(
        ContactBounced(
            tenant_id=event.tenant_id,
            email=bounced.recipient,
            kind=bounced.kind,
            reason=bounced.reason,
            status=bounced.status,
            smtp_code=bounced.smtp_code,
            diagnostic=(bounced.diagnostic or "")[:1000] or None,
            message_id=message_id,
            mailbox_id=event.mailbox_id,
            suppressed=decision.suppress,
            contact_state=state,
        )
    )


async def record_complaint(
    deps: BounceDeps, event: BounceReceived, complainant: BouncedRecipient, message_id: str | None
) -> None:
    """A spam complaint suppresses the address at once, whatever the tenant's bounce policy."""
    decision = Decision(
        outcome="suppress",
        suppress=True,
        counted=1,
        explanation=f"spam complaint ({complainant.action or 'abuse'}): suppressed at once",
    )
    record = await claim_bounce_record(
        deps.store,
        source_event_id=event.event_id,
        tenant_id=event.tenant_id,
        mailbox_id=event.mailbox_id,
        bounced=complainant,
        decision=decision,
        message_id=message_id,
        source=event.source,
    )
    await apply_to_contact(deps.store, record, complainant, decision, complaint=True)
    deps.metrics.recipients.labels("complaint", "feedback", "suppress").inc()
    await deps.bus.publish(
        ContactComplained(
            tenant_id=event.tenant_id,
            email=complainant.recipient,
            feedback_type=complainant.action or "abuse",
            message_id=message_id,
            mailbox_id=event.mailbox_id,
            suppressed=True,
        )
    )


def handler_map(deps: BounceDeps) -> HandlerMap:
    return {BounceReceived: partial(handle_bounce_received, deps=deps)}
