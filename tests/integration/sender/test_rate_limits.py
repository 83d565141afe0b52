"""A mailbox's per-minute sending budget, shared by two sender replicas.

The budget is exact however many replicas race for it, and a message that finds
it spent waits for a later window: it is neither sent early nor dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from mailroom.localinfra import MailSandbox, free_port
from mailroom.sender.settings import SenderSettings
from mailroom.shared.collections import SEND_BUDGETS
from mailroom.shared.sends import budget_window_id, load_send, window_bounds
from mailroom.shared.store import Store
from tests.integration.sender.conftest import (
    MailboxFactory,
    inbox_holding,
    retries_scheduled,
    wait_ready,
)
from tests.integration.sender.test_delivery import RESULTS, publisher, send_request
from tests.integration.support.events import EventTap
from tests.integration.support.polling import eventually

pytestmark = pytest.mark.integration

PER_MINUTE = 5
REQUESTS = 3 * PER_MINUTE
REPLICAS = 2
RCPT_PASSWORD = "rcpt-password"
# The first window's part of the test (publish, 5 sent, 10 deferred, checks) takes a
# few seconds; starting no later than this second of a minute leaves it 15 s at least.
LATEST_START_SECOND = 45


@contextlib.asynccontextmanager
async def sender_replicas(
    env: dict[str, str], count: int, log_dir: Path, name: str
) -> AsyncIterator[list[int]]:
    """`count` sender processes consuming the same queue; yields their HTTP ports."""
    mailroom = Path(sys.executable).with_name("mailroom")
    ports = [free_port() for _ in range(count)]
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for i, port in enumerate(ports):
            log = log_dir / f"sender-{name}-replica-{i}.log"
            processes.append(
                subprocess.Popen(
                    [str(mailroom), "sender"],
                    env={
                        **os.environ,
                        **env,
                        "MAILROOM_SENDER_HTTP_PORT": str(port),
                        "MAILROOM_HTTP_HOST": "127.0.0.1",
                    },
                    stdout=subprocess.DEVNULL,
                    stderr=log.open("ab"),
                )
            )
        for port in ports:
            await wait_ready(port)
        yield ports
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                await asyncio.to_thread(process.wait, 30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


async def messages_handled(port: int) -> float:
    """Send requests this replica's consumer has taken off the queue (any outcome)."""
    async with httpx.AsyncClient() as client:
        response = await client.get(f"http://127.0.0.1:{port}/metrics")
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in response.text.splitlines()
        if line.startswith("mailroom_bus_messages_total{") and "email.send.requested" in line
    )


async def wait_until_early_enough_in_a_minute() -> None:
    """Return at once if the current minute has room left, else when the next one begins."""
    now = datetime.now(UTC)
    if now.second > LATEST_START_SECOND:
        _, next_minute = window_bounds("minute", now)
        await asyncio.sleep((next_minute - now).total_seconds() + 0.2)


async def until(moment: datetime) -> None:
    await asyncio.sleep(max(0.0, (moment - datetime.now(UTC)).total_seconds()) + 0.2)


async def budget_used(store: Store, mailbox_id: str, window_start: datetime) -> int | None:
    doc = await store.collection(SEND_BUDGETS).find_one(
        {"_id": budget_window_id(mailbox_id, "minute", window_start)}
    )
    return None if doc is None else doc["count"]


async def sends_by_status(store: Store, message_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    by_status: dict[str, list[dict[str, Any]]] = {}
    for message_id in message_ids:
        record = await load_send(store, message_id)
        status = "missing" if record is None else record["status"]
        by_status.setdefault(status, []).append(record or {"_id": message_id})
    return by_status


async def rate_limited_rechecks(port: int) -> float:
    """How often this replica found the budget spent and put a request back to wait."""
    return await retries_scheduled(port, "rate_limited")


async def settled(store: Store, message_ids: list[str], window_start: datetime) -> bool:
    """Every request is finished (sent; failed would be a bug the caller reports), or
    deferred to the window starting at `window_start`."""
    by_status = await sends_by_status(store, message_ids)
    if set(by_status) - {"sent", "failed", "deferred"}:
        return False
    return all(
        record["next_attempt_at"] == window_start for record in by_status.get("deferred", [])
    )


def deferred_steps(record: dict[str, Any]) -> int:
    return [step["status"] for step in record["timeline"]].count("deferred")


async def test_two_replicas_send_exactly_the_minute_budget_and_defer_the_rest(
    sender_env: dict[str, str],
    sender_settings: SenderSettings,
    mailboxes: MailboxFactory,
    mail_sandbox: MailSandbox,
    recipient: str,
    store: Store,
    local_workdir: Path,
) -> None:
    """A user who asks for three minutes' worth of mail at once sees exactly one
    minute's budget go out per minute, even with two sender replicas racing for it;
    the rest is not failed but deferred to the next window, and goes out then.

    Window 1: of 15 requests, exactly 5 are sent (events, inbox, budget counter) and
    the other 10 are `deferred` until the window ends. They keep coming back from
    the bus's retry queue (never later than the window opens) and are refused again
    while the budget is spent, without adding to their history each time.
    Window 2: exactly 5 more go out, the last 5 are deferred to window 3.
    """
    mailbox_id = await mailboxes.create(limits={"per_minute": PER_MINUTE})
    requests = [
        send_request(mailbox_id, recipient, subject=f"budgeted {i}") for i in range(REQUESTS)
    ]
    message_ids = [r.message_id for r in requests]

    async with (
        sender_replicas(sender_env, REPLICAS, local_workdir, mailbox_id) as replica_ports,
        EventTap(
            sender_settings.amqp_url.get_secret_value(), sender_settings.bus_namespace, RESULTS
        ) as tap,
    ):
        bus = await publisher(sender_settings)
        try:
            await wait_until_early_enough_in_a_minute()
            first_window, second_window = window_bounds("minute", datetime.now(UTC))
            await bus.publish_many(requests)

            # --- Window 1: the budget goes out, the rest waits. --------------------
            await tap.wait_for("email.sent", count=PER_MINUTE, timeout=30)

            await eventually(
                lambda: settled(store, message_ids, second_window),
                timeout=20,
                what="every request to be sent or deferred to the second window",
            )

            async def every_replica_took_part() -> bool:
                return all([await messages_handled(port) > 0 for port in replica_ports])

            await eventually(every_replica_took_part, timeout=20, what="both replicas to work")

            async def rechecked_while_spent() -> bool:
                rechecks = sum([await rate_limited_rechecks(port) for port in replica_ports])
                return rechecks > REQUESTS - PER_MINUTE  # more than one look per request

            await eventually(rechecked_while_spent, timeout=20, what="deferred requests rechecked")

            first_window_sent = {e["message_id"] for e in tap.named("email.sent")}
            first_window_inbox = await eventually(
                lambda: inbox_holding(mail_sandbox, recipient, RCPT_PASSWORD, PER_MINUTE),
                what="the first window's messages in the inbox",
            )
            first_window_used = await budget_used(store, mailbox_id, first_window)
            by_status = await sends_by_status(store, message_ids)
            assert datetime.now(UTC) < second_window, "the first window ended during its checks"

            assert len(first_window_sent) == PER_MINUTE
            assert len(tap.named("email.sent")) == PER_MINUTE
            assert tap.named("email.failed") == []
            assert len(first_window_inbox) == PER_MINUTE
            assert first_window_used == PER_MINUTE
            assert {r["_id"] for r in by_status["sent"]} == first_window_sent
            assert len(by_status["deferred"]) == REQUESTS - PER_MINUTE
            assert set(by_status) == {"sent", "deferred"}
            for record in by_status["deferred"]:
                assert record["next_attempt_at"] == second_window
                assert record["timeline"][-1]["detail"] == "minute sending budget spent"
                assert deferred_steps(record) == 1  # rechecks in the same window add nothing

            # --- Window 2: the next budget goes out, the last third waits again. ---
            await until(second_window)
            await tap.wait_for("email.sent", count=2 * PER_MINUTE, timeout=30)
            third_window = second_window + timedelta(minutes=1)

            await eventually(
                lambda: settled(store, message_ids, third_window),
                timeout=20,
                what="every request to be sent or deferred to the third window",
            )
            sent_ids = {e["message_id"] for e in tap.named("email.sent")}
            second_window_used = await budget_used(store, mailbox_id, second_window)
            by_status = await sends_by_status(store, message_ids)
            assert datetime.now(UTC) < third_window, "the second window ended during its checks"
        finally:
            await bus.close()

    assert len(sent_ids) == 2 * PER_MINUTE
    assert len(tap.named("email.sent")) == 2 * PER_MINUTE  # each sent once
    assert tap.named("email.failed") == []
    assert second_window_used == PER_MINUTE
    assert await budget_used(store, mailbox_id, first_window) == PER_MINUTE
    assert {r["_id"] for r in by_status["sent"]} == sent_ids
    assert len(by_status["deferred"]) == REQUESTS - 2 * PER_MINUTE
    assert set(by_status) == {"sent", "deferred"}
    assert all(deferred_steps(record) == 2 for record in by_status["deferred"])  # one per window
    second_window_inbox = await eventually(
        lambda: inbox_holding(mail_sandbox, recipient, RCPT_PASSWORD, 2 * PER_MINUTE),
        what="both windows' messages in the inbox",
    )
    assert len(second_window_inbox) == 2 * PER_MINUTE
    subjects = {m["Subject"] for m in second_window_inbox}
    assert subjects == {r.subject for r in requests if r.message_id in sent_ids}
