"""A consumer process for bus tests: records each event it handles in MongoDB.

Run as `python -m tests.integration.support.bus_worker` is not possible (tests is
not a package on sys.path in every setup), so tests start it by file path.
Environment: MAILROOM_AMQP_URL, MAILROOM_MONGO_URL, MAILROOM_MONGO_DB,
MAILROOM_BUS_NAMESPACE, WORKER_NAME, and WORKER_STALL=1 to hang after recording
that a message was started (the test then kills the process with SIGKILL).
"""

from __future__ import annotations

import asyncio
import os
import signal

from mailroom.shared.bus import Bus, current_delivery
from mailroom.shared.contracts import MailboxUpdated
from mailroom.shared.metrics import BusMetrics, new_registry
from mailroom.shared.store import Store


async def main() -> None:
    name = os.environ["WORKER_NAME"]
    stall = os.environ.get("WORKER_STALL") == "1"
    store = Store(os.environ["MAILROOM_MONGO_URL"], os.environ["MAILROOM_MONGO_DB"], app_name=name)
    await store.connect()
    bus = Bus(
        os.environ["MAILROOM_AMQP_URL"],
        namespace=os.environ["MAILROOM_BUS_NAMESPACE"],
        service=name,
        metrics=BusMetrics(new_registry()),
    )
    await bus.connect()
    handled = store.collection("handled")

    async def handle(event: MailboxUpdated) -> None:
        delivery = current_delivery.get()
        assert delivery is not None
        await handled.insert_one(
            {
                "event_id": event.event_id,
                "worker": name,
                "phase": "started",
                "redelivered": delivery.redelivered,
            }
        )
        if stall:
            await asyncio.Event().wait()
        # Idempotent completion: a second completion of the same event would fail here.
        await handled.insert_one({"_id": f"done:{event.event_id}", "worker": name})

    consumer = bus.consumer(
        "worker", {MailboxUpdated: handle}, prefetch=10, max_attempts=3, retry_delays_s=(0.2,)
    )
    await consumer.start()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await handled.insert_one({"worker": name, "phase": "ready"})
    await stop.wait()
    await consumer.stop(5)
    await bus.close()


if __name__ == "__main__":
    asyncio.run(main())
