"""The bus against a real RabbitMQ: delivery, crash redelivery, retries, dead letters."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aio_pika
import pytest

from mailroom.shared.bus import (
    HEADER_ATTEMPT,
    HEADER_ERROR,
    Bus,
    current_delivery,
    dead_letter_queue_name,
)
from mailroom.shared.contracts import MailboxDeleted, MailboxUpdated
from mailroom.shared.errors import PermanentError, RetryableError
from mailroom.shared.metrics import BusMetrics, new_registry
from mailroom.shared.store import Store
from tests.integration.support.polling import eventually

pytestmark = pytest.mark.integration

WORKER = Path(__file__).parent / "support" / "bus_worker.py"


@pytest.fixture
async def bus(rabbitmq_url: str, bus_namespace: str) -> AsyncIterator[Bus]:
    bus = Bus(
        rabbitmq_url, namespace=bus_namespace, service="test", metrics=BusMetrics(new_registry())
    )
    await bus.connect()
    yield bus
    await bus.close()


def updated(n: int) -> MailboxUpdated:
    return MailboxUpdated(tenant_id="t1", mailbox_id=f"m{n}", changed=["name"])


async def read_dead_letters(bus: Bus, group: str, expected: int) -> list[Any]:
    channel = await bus.connection.channel()
    queue = await channel.declare_queue(
        dead_letter_queue_name(bus.namespace, group),
        durable=True,
        arguments={"x-queue-type": "quorum"},
    )
    found: list[Any] = []

    async def collect() -> bool:
        message = await queue.get(fail=False)
        if message is not None:
            await message.ack()
            found.append(message)
        return len(found) >= expected

    await eventually(collect)
    await channel.close()
    return found


async def test_published_events_reach_the_consumer_group_with_their_content(bus: Bus) -> None:
    received: list[MailboxUpdated] = []

    async def handle(event: MailboxUpdated) -> None:
        received.append(event)

    consumer = bus.consumer(
        "group", {MailboxUpdated: handle}, prefetch=8, max_attempts=3, retry_delays_s=(0.2,)
    )
    await consumer.start()
    sent = [updated(n) for n in range(5)]
    await bus.publish_many(sent)

    async def all_received() -> bool:
        return len(received) == 5

    await eventually(all_received)
    assert sorted(e.event_id for e in received) == sorted(e.event_id for e in sent)
    assert {e.mailbox_id for e in received} == {f"m{n}" for n in range(5)}
    await consumer.stop(drain_s=5)


async def test_a_group_only_receives_the_events_it_handles(bus: Bus) -> None:
    received: list[str] = []

    async def handle(event: MailboxDeleted) -> None:
        received.append(event.mailbox_id)

    consumer = bus.consumer(
        "deletes", {MailboxDeleted: handle}, prefetch=8, max_attempts=3, retry_delays_s=(0.2,)
    )
    await consumer.start()
    await bus.publish(updated(1))
    await bus.publish(MailboxDeleted(tenant_id="t1", mailbox_id="gone"))

    async def got_delete() -> bool:
        return received == ["gone"]

    await eventually(got_delete)
    await consumer.stop(drain_s=5)
    assert received == ["gone"]


async def test_a_transient_failure_is_retried_after_a_delay_and_then_succeeds(
    bus: Bus, caplog: pytest.LogCaptureFixture
) -> None:
    attempts: list[int] = []

    async def flaky(event: MailboxUpdated) -> None:
        delivery = current_delivery.get()
        assert delivery is not None
        attempts.append(delivery.attempt)
        if delivery.attempt == 1:
            raise RetryableError("server said 451, try later")

    consumer = bus.consumer(
        "flaky", {MailboxUpdated: flaky}, prefetch=8, max_attempts=3, retry_delays_s=(0.3,)
    )
    await consumer.start()
    await bus.publish(updated(1))

    async def second_attempt_done() -> bool:
        return attempts == [1, 2]

    await eventually(second_attempt_done)
    await consumer.stop(drain_s=5)
    [retried] = [record for record in caplog.records if record.getMessage() == "retrying later"]
    assert retried.__dict__["error"] == "server said 451, try later"  # says why, not only that


async def test_a_message_that_keeps_failing_ends_in_the_dead_letter_queue_with_its_error(
    bus: Bus,
) -> None:
    async def always_fails(event: MailboxUpdated) -> None:
        raise RetryableError("mail server unreachable")

    consumer = bus.consumer(
        "poison",
        {MailboxUpdated: always_fails},
        prefetch=8,
        max_attempts=3,
        retry_delays_s=(0.1, 0.2),
    )
    await consumer.start()
    event = updated(7)
    await bus.publish(event)
    [dead] = await read_dead_letters(bus, "poison", 1)
    await consumer.stop(drain_s=5)
    assert dead.headers[HEADER_ATTEMPT] == 3
    assert "gave up after 3 attempts: mail server unreachable" in dead.headers[HEADER_ERROR]
    assert MailboxUpdated.model_validate_json(dead.body).event_id == event.event_id


async def test_permanent_errors_and_invalid_bodies_are_dead_lettered_at_once(bus: Bus) -> None:
    calls: list[str] = []

    async def refuse(event: MailboxUpdated) -> None:
        calls.append(event.mailbox_id)
        raise PermanentError("mailbox does not exist")

    consumer = bus.consumer(
        "refuse", {MailboxUpdated: refuse}, prefetch=8, max_attempts=5, retry_delays_s=(0.1,)
    )
    await consumer.start()
    await bus.publish(updated(1))
    # A producer in another language sending a body that breaks the contract.
    channel = await bus.connection.channel()
    exchange = await channel.get_exchange(bus.namespace)
    await exchange.publish(
        aio_pika.Message(b'{"schema": {"name": "mailbox.updated", "version": 1}, "tenant_id": ""}'),
        routing_key="mailbox.updated",
    )
    dead = await read_dead_letters(bus, "refuse", 2)
    await consumer.stop(drain_s=5)
    await channel.close()
    errors = sorted(str(m.headers[HEADER_ERROR]) for m in dead)
    assert calls == ["m1"]
    assert any("mailbox does not exist" in e for e in errors)
    assert any("tenant_id" in e and "mailbox_id" in e for e in errors)


async def test_the_body_decides_when_a_producer_labels_a_message_with_another_schema(
    bus: Bus,
) -> None:
    updates: list[str] = []
    deletions: list[str] = []

    async def on_updated(event: MailboxUpdated) -> None:
        updates.append(event.mailbox_id)

    async def on_deleted(event: MailboxDeleted) -> None:
        deletions.append(event.mailbox_id)

    consumer = bus.consumer(
        "labels",
        {MailboxUpdated: on_updated, MailboxDeleted: on_deleted},
        prefetch=8,
        max_attempts=2,
        retry_delays_s=(0.1,),
    )
    await consumer.start()
    deleted = MailboxDeleted(tenant_id="t1", mailbox_id="gone")
    channel = await bus.connection.channel()
    exchange = await channel.get_exchange(bus.namespace)
    # The AMQP `type` says mailbox.updated, the body is a mailbox.deleted event.
    await exchange.publish(
        aio_pika.Message(deleted.to_json(), type="mailbox.updated"), routing_key="mailbox.deleted"
    )
    await bus.publish(updated(7))  # labelled correctly, as Mailroom's publishers do

    async def both_handled() -> bool:
        return deletions == ["gone"] and updates == ["m7"]

    await eventually(both_handled)
    await consumer.stop(drain_s=5)
    await channel.close()


def start_worker(name: str, env: dict[str, str], *, stall: bool) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, str(WORKER)],
        env={**os.environ, **env, "WORKER_NAME": name, "WORKER_STALL": "1" if stall else "0"},
    )


async def test_a_consumer_killed_mid_message_leaves_it_to_the_next_one_which_handles_it_once(
    rabbitmq_url: str, mongo_url: str, mongo_db_name: str, bus: Bus
) -> None:
    env = {
        "MAILROOM_AMQP_URL": rabbitmq_url,
        "MAILROOM_MONGO_URL": mongo_url,
        "MAILROOM_MONGO_DB": mongo_db_name,
        "MAILROOM_BUS_NAMESPACE": bus.namespace,
    }
    store = Store(mongo_url, mongo_db_name, app_name="test")
    handled = store.collection("handled")

    def seen(**query: Any) -> Callable[[], Awaitable[bool]]:
        async def check() -> bool:
            return await handled.count_documents(query) > 0

        return check

    first = start_worker("first", env, stall=True)
    second: subprocess.Popen[bytes] | None = None
    try:
        await eventually(seen(worker="first", phase="ready"), timeout=30)
        event = updated(42)
        await bus.publish(event)
        await eventually(seen(worker="first", phase="started", event_id=event.event_id))
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)

        second = start_worker("second", env, stall=False)
        await eventually(seen(_id=f"done:{event.event_id}"), timeout=30)
        done = [d async for d in handled.find({"_id": {"$regex": "^done:"}})]
        assert [d["worker"] for d in done] == ["second"]
        retry = await handled.find_one({"worker": "second", "phase": "started"})
        assert retry is not None and retry["redelivered"] is True
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=15)
        await store.close()
