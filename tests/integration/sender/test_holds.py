"""Messages held while their mailbox cannot send (`auth_failed`, `disabled`).

The sender here runs on a retry ladder whose steps straddle the hold: a hold of
0.8 s between steps of 0.5 s and 600 s. A held message must come back on the
0.5 s step (never later than the hold), not be rounded up to 600 s; each look at a
mailbox that is still as it was must leave the send's history alone; and once the
mailbox is fixed, the message goes out exactly once.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import aio_pika
import pytest

from mailroom.localinfra import MailSandbox
from mailroom.sender.settings import SenderSettings
from mailroom.shared.bus import queue_name, retry_queue_name
from mailroom.shared.collections import MAILBOXES
from mailroom.shared.sends import load_send
from mailroom.shared.store import Store
from tests.integration.sender.conftest import (
    MailboxFactory,
    inbox,
    inbox_holding,
    retries_scheduled,
)
from tests.integration.sender.test_delivery import RCPT_PASSWORD, RESULTS, publisher, send_request
from tests.integration.support.events import EventTap
from tests.integration.support.polling import eventually

pytestmark = pytest.mark.integration

LADDER = (0.2, 0.5, 600.0)
HOLD_SECONDS = 0.8
# The longest step not longer than the hold; rounding up would have given 600 s.
HOLD_STEP = timedelta(seconds=0.5)
LONG_STEP_MS = 600_000
# Looks at a still-held mailbox each message must have had before its history is checked.
LOOKS = 4


@pytest.fixture
def sender_settings(sender_settings: SenderSettings) -> SenderSettings:
    """The package's sender settings with a ladder that a held message could overshoot."""
    return sender_settings.model_copy(update={"retry_delays": LADDER, "hold_seconds": HOLD_SECONDS})


async def held_rechecks(settings: SenderSettings) -> float:
    """How often the sender parked a held message (its first hold and every look since)."""
    return await retries_scheduled(settings.http_port, "mailbox_held")


async def queued(settings: SenderSettings, queue: str) -> int:
    """Messages waiting in one of the sender group's queues right now."""
    connection = await aio_pika.connect(settings.amqp_url.get_secret_value())
    try:
        channel = await connection.channel()
        declared = await channel.declare_queue(queue, passive=True)
        count = declared.declaration_result.message_count
        return int(count or 0)
    finally:
        await connection.close()


async def long_step_queued(settings: SenderSettings) -> int:
    return await queued(settings, retry_queue_name(settings.bus_namespace, "sender", LONG_STEP_MS))


async def sender_queues_empty(settings: SenderSettings) -> bool:
    """Nothing left for the sender: no message in its queue or any retry step's queue."""
    names = [queue_name(settings.bus_namespace, "sender")] + [
        retry_queue_name(settings.bus_namespace, "sender", max(1, int(step * 1000)))
        for step in LADDER
    ]
    return all([await queued(settings, name) == 0 for name in names])


async def more_looks(settings: SenderSettings, count: int) -> None:
    """Return once the sender has parked held messages `count` more times."""
    target = await held_rechecks(settings) + count

    async def reached() -> bool:
        return await held_rechecks(settings) >= target

    await eventually(reached, what=f"{count} more looks at the held mailbox")


def held_entries(record: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for step in record["timeline"] if step["status"] == "held"]


async def record_of(store: Store, message_id: str) -> dict[str, Any]:
    record = await load_send(store, message_id)
    assert record is not None, f"send {message_id} is not on record"
    return record


def assert_waiting_for_the_next_look(record: dict[str, Any], read_at: datetime) -> None:
    """The send says when it comes back, and that is never later than the hold allows."""
    assert record["status"] == "held"
    entry = held_entries(record)[-1]
    # Every look refreshed it, so it is not the time the first hold computed ...
    assert record["next_attempt_at"] > entry["at"] + HOLD_STEP
    # ... and it is one step after the latest look, which came before `read_at`.
    assert record["next_attempt_at"] <= read_at + HOLD_STEP
    # Looks add nothing to the story: it last changed when the entry was written.
    assert record["updated_at"] == entry["at"]


async def test_a_held_message_is_looked_at_within_the_hold_and_keeps_one_entry(
    running_sender: SenderSettings,
    mailboxes: MailboxFactory,
    mail_sandbox: MailSandbox,
    recipient: str,
    store: Store,
) -> None:
    mailbox_id = await mailboxes.create(password="not-the-password")
    requests = [send_request(mailbox_id, recipient, subject=f"held {i}") for i in range(2)]
    message_ids = [r.message_id for r in requests]
    async with EventTap(
        running_sender.amqp_url.get_secret_value(),
        running_sender.bus_namespace,
        [*RESULTS, "mailbox.state_changed"],
    ) as tap:
        bus = await publisher(running_sender)
        try:
            await bus.publish_many(requests)
            changed = (await tap.wait_for("mailbox.state_changed", timeout=30))[0]
            assert (changed["mailbox_id"], changed["new_state"]) == (mailbox_id, "auth_failed")

            async def all_held() -> list[dict[str, Any]] | None:
                records = [await record_of(store, m) for m in message_ids]
                return records if all(r["status"] == "held" for r in records) else None

            held = await eventually(all_held, what="every message to be held")
            seen_at = datetime.now(UTC)
            for record in held:
                entry = held_entries(record)[-1]
                assert entry["detail"] == "mailbox is auth_failed; waiting until it is fixed"
                # The first look is scheduled on the step within the hold, not after it
                # (a look may already have moved it on when the records were read).
                assert entry["at"] + HOLD_STEP <= record["next_attempt_at"] <= seen_at + HOLD_STEP

            await more_looks(running_sender, LOOKS * len(requests))
            records = [await record_of(store, m) for m in message_ids]
            read_at = datetime.now(UTC)
            for record in records:
                assert len(held_entries(record)) == 1, record["timeline"]
                assert [s["status"] for s in record["timeline"]] == ["accepted", "held"]
                assert_waiting_for_the_next_look(record, read_at)
            # No look ever waited on the long step: a message sent there would still be in
            # its queue, which only lets it go after ten minutes.
            assert await long_step_queued(running_sender) == 0
            assert tap.named("email.sent") == []
            assert tap.named("email.failed") == []
            assert tap.named("email.deferred") == []

            await mailboxes.enter_the_right_password(mailbox_id)
            await tap.wait_for("email.sent", count=len(requests), timeout=30)
            await eventually(
                lambda: sender_queues_empty(running_sender), what="the sender's queues to drain"
            )
        finally:
            await bus.close()

    sent = tap.named("email.sent")
    assert sorted(e["message_id"] for e in sent) == sorted(message_ids)  # each once
    assert tap.named("email.failed") == []
    messages = await eventually(
        lambda: inbox_holding(mail_sandbox, recipient, RCPT_PASSWORD, len(requests)),
        what="the held messages in the inbox",
    )
    assert sorted(m["Message-ID"] for m in messages) == sorted(
        f"<{m}@mailroom.test>" for m in message_ids
    )
    for message_id in message_ids:
        record = await record_of(store, message_id)
        assert record["status"] == "sent"
        assert record["attempts"] == 1
        assert [s["status"] for s in record["timeline"]] == ["accepted", "held", "sending", "sent"]


async def test_a_hold_gets_a_new_entry_only_when_the_mailbox_state_changes(
    running_sender: SenderSettings,
    mailboxes: MailboxFactory,
    mail_sandbox: MailSandbox,
    recipient: str,
    store: Store,
) -> None:
    """Disabled, then (enabled again) still failing its login, then fixed: two entries,
    one per state the message waited for, however often it looked."""
    mailbox_id = await mailboxes.create(state="disabled")
    request = send_request(mailbox_id, recipient)
    async with EventTap(
        running_sender.amqp_url.get_secret_value(), running_sender.bus_namespace, RESULTS
    ) as tap:
        bus = await publisher(running_sender)
        try:
            await bus.publish(request)

            async def held_for(state: str) -> dict[str, Any] | None:
                record = await load_send(store, request.message_id)
                if record is None or record["status"] != "held":
                    return None
                last = held_entries(record)[-1]
                return record if last["detail"].startswith(f"mailbox is {state};") else None

            first = await eventually(lambda: held_for("disabled"), what="the message held")
            entry = held_entries(first)[-1]
            assert first["next_attempt_at"] == entry["at"] + HOLD_STEP
            await more_looks(running_sender, LOOKS)
            record = await record_of(store, request.message_id)
            assert len(held_entries(record)) == 1, record["timeline"]
            assert_waiting_for_the_next_look(record, datetime.now(UTC))

            # Enabled again in the state it was paused in: credentials known bad since
            # the last change, so the message stays held, now for that reason.
            now = datetime.now(UTC)
            await store.collection(MAILBOXES).update_one(
                {"_id": mailbox_id},
                {
                    "$set": {
                        "state": "auth_failed",
                        "last_error_code": "smtp_auth_failed",
                        "last_error_at": now,
                        "updated_at": now - timedelta(seconds=1),
                    }
                },
            )
            await eventually(lambda: held_for("auth_failed"), what="the message held again")
            await more_looks(running_sender, LOOKS)
            record = await record_of(store, request.message_id)
            assert [e["detail"] for e in held_entries(record)] == [
                "mailbox is disabled; waiting until it is fixed",
                "mailbox is auth_failed; waiting until it is fixed",
            ]
            assert_waiting_for_the_next_look(record, datetime.now(UTC))
            assert await long_step_queued(running_sender) == 0
            assert tap.named("email.sent") == []

            # Tested and connected again.
            await store.collection(MAILBOXES).update_one(
                {"_id": mailbox_id},
                {"$set": {"state": "connected", "updated_at": datetime.now(UTC)}},
            )
            await tap.wait_for("email.sent", timeout=30)
            await eventually(
                lambda: sender_queues_empty(running_sender), what="the sender's queues to drain"
            )
        finally:
            await bus.close()

    assert [e["message_id"] for e in tap.named("email.sent")] == [request.message_id]
    assert tap.named("email.failed") == []
    messages = await eventually(
        lambda: inbox(mail_sandbox, recipient, RCPT_PASSWORD), what="the message in the inbox"
    )
    assert len(messages) == 1
    record = await record_of(store, request.message_id)
    assert [s["status"] for s in record["timeline"]] == [
        "accepted",
        "held",
        "held",
        "sending",
        "sent",
    ]
