"""Turn one arriving message into at most one event, exactly once.

Shared by the IMAP and POP3 watches: classify the message, look up the send it
answers, publish `email.reply.received` or `email.bounce.received`, and remember
it in `watch_seen` so neither a rescan nor a crash reports it twice. The event
id is derived from the mailbox and the message, so a consumer can also spot the
one duplicate a crash between publishing and remembering could cause.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from mailroom.shared.bus import Bus
from mailroom.shared.collections import SENDS
from mailroom.shared.contracts import BounceReceived, MailLocation, Message, ReplyReceived
from mailroom.shared.sends import sends_named_by
from mailroom.shared.store import Store
from mailroom.watcher.classify import Incoming, read_incoming
from mailroom.watcher.cursors import Counts, already_reported, remember_reported
from mailroom.watcher.metrics import WatcherMetrics

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class MailboxRef:
    """The two ids a watch keeps per mailbox (the full record is reloaded when needed)."""

    tenant_id: str
    mailbox_id: str


async def report_message(
    store: Store,
    bus: Bus,
    metrics: WatcherMetrics,
    mailbox: MailboxRef,
    location: MailLocation,
    raw: bytes,
    counts: Counts,
    *,
    truncated: bool = False,
    arrived_at: datetime | None = None,
    dedupe_scope: str = "imap",
) -> str:
    """Publish the message's event if it has one; returns its kind for the caller's records."""
    counts.fetched += 1
    try:
        incoming = read_incoming(raw)
    except Exception:
        log.warning("unparsable message", exc_info=True, extra={"mailbox_id": mailbox.mailbox_id})
        counts.failed += 1
        metrics.messages.labels("failed").inc()
        return "failed"
    event: Message
    if incoming.kind == "bounce":
        event = bounce_event(mailbox, location, raw, incoming, truncated)
    else:
        original = await find_original_send(store, mailbox, incoming.referenced_ids)
        if original is None:
            counts.skipped += 1
            metrics.messages.labels("other").inc()
            return "other"
        event = ReplyReceived(
            event_id=_event_id(mailbox, incoming),
            tenant_id=mailbox.tenant_id,
            mailbox_id=mailbox.mailbox_id,
            message_id=original,
            reply_message_id_header=incoming.message_id,
            from_email=incoming.from_email,
            from_name=incoming.from_name,
            subject=incoming.subject,
            snippet=incoming.snippet,
            folder=location.folder or "INBOX",
            auto_reply=incoming.kind == "auto_reply",
        )
    kind = "reply" if incoming.kind == "answer" else incoming.kind
    if await already_reported(store, mailbox.mailbox_id, dedupe_scope, incoming.message_key):
        counts.skipped += 1
        metrics.messages.labels("duplicate").inc()
        return "duplicate"
    await bus.publish(event)
    await remember_reported(store, mailbox.mailbox_id, dedupe_scope, incoming.message_key)
    counts.matched += 1
    metrics.messages.labels(kind).inc()
    if arrived_at is not None:
        delay = (datetime.now(UTC) - arrived_at).total_seconds()
        metrics.detection_seconds.labels(kind).observe(max(delay, 0.0))
    log.info(
        "message reported",
        extra={"mailbox_id": mailbox.mailbox_id, "kind": kind, "event_id": event.event_id},
    )
    return kind


def bounce_event(
    mailbox: MailboxRef,
    location: MailLocation,
    raw: bytes,
    incoming: Incoming,
    truncated: bool,
) -> BounceReceived:
    # A cut-off copy still carries the DSN's headers and status part; the reference
    # tells the bounce service where the whole message lives.
    raw_ref = _location_ref(mailbox, location) if truncated else None
    return BounceReceived(
        event_id=_event_id(mailbox, incoming),
        tenant_id=mailbox.tenant_id,
        mailbox_id=mailbox.mailbox_id,
        source="mailbox",
        raw_b64=base64.b64encode(raw).decode(),
        raw_ref=raw_ref,
        location=location,
    )


async def find_original_send(
    store: Store, mailbox: MailboxRef, referenced_ids: tuple[str, ...]
) -> str | None:
    """Mailroom's id of the message these Message-IDs name, sent from this very mailbox."""
    if not referenced_ids:
        return None
    doc: dict[str, Any] | None = await store.collection(SENDS).find_one(
        {
            **sends_named_by(referenced_ids),
            "tenant_id": mailbox.tenant_id,
            "mailbox_id": mailbox.mailbox_id,
        },
        {"_id": 1, "message_id": 1},
    )
    if doc is None:
        return None
    return str(doc.get("message_id") or doc["_id"])


def _event_id(mailbox: MailboxRef, incoming: Incoming) -> str:
    seed = f"{mailbox.tenant_id}\x00{mailbox.mailbox_id}\x00{incoming.message_key}"
    return "w" + hashlib.sha256(seed.encode()).hexdigest()[:31]


def _location_ref(mailbox: MailboxRef, location: MailLocation) -> str:
    if location.protocol == "pop3":
        return f"pop3://{mailbox.mailbox_id}/{location.pop3_uidl}"
    return (
        f"imap://{mailbox.mailbox_id}/{location.folder};"
        f"UIDVALIDITY={location.uidvalidity}/;UID={location.uid}"
    )
