"""Watcher benchmark: N mailboxes IDLE over TLS in one process; memory, idle CPU, latency.

Starts its own mail sandbox (Dovecot + Postfix), uses RabbitMQ and MongoDB from
MAILROOM_AMQP_URL / MAILROOM_MONGO_URL (defaults: local), creates N users and
mailboxes, runs the watcher in this process under uvloop, then delivers replies
at a steady rate and measures delivery (LMTP accepted) → `email.reply.received`.

    python bench/bench_watcher.py --mailboxes 1000

Last line: `BENCH watcher mailboxes=N kib_per_mailbox=K idle_cpu_pct=C p50_ms=A p99_ms=B`.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import resource
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import uvloop

from mailroom.localinfra.mailsandbox import MailSandbox
from mailroom.localinfra.mongo import ensure_mongo
from mailroom.localinfra.ports import free_port
from mailroom.shared.bus import Bus
from mailroom.shared.collections import INDEXES, MAILBOXES, SENDS, WATCH_CURSORS
from mailroom.shared.contracts import ReplyReceived
from mailroom.shared.crypto import EnvelopeCipher
from mailroom.shared.mailboxes import MailboxSecrets
from mailroom.shared.metrics import BusMetrics, new_registry
from mailroom.shared.settings import DEFAULT_AMQP_URL, load_settings
from mailroom.shared.store import Store
from mailroom.watcher.main import serve
from mailroom.watcher.settings import WatcherSettings

TENANT = "bench"


def rss_kib() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def wait_until(check, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise SystemExit(f"bench: {what} not reached within {timeout:.0f} s")
        await asyncio.sleep(0.2)


async def run(
    sandbox: MailSandbox, mongo_url: str, mailboxes: int, replies: int, rate: float
) -> str:
    amqp_url = os.environ.get("MAILROOM_AMQP_URL", DEFAULT_AMQP_URL)
    suffix = uuid.uuid4().hex[:8]
    key = os.urandom(32)
    settings = load_settings(
        WatcherSettings,
        amqp_url=amqp_url,
        mongo_url=mongo_url,
        mongo_db=f"bench_watcher_{suffix}",
        bus_namespace=f"bench-{suffix}",
        encryption_keys="k1:" + base64.b64encode(key).decode(),
        http_port=free_port(),
        http_host="127.0.0.1",
        log_level="WARNING",
        connect_concurrency=50,
    )
    secrets = MailboxSecrets(EnvelopeCipher({"k1": key}, "k1"))
    store = Store(mongo_url, settings.mongo_db, app_name="bench")
    await store.connect()
    await store.ensure_indexes(INDEXES)
    addresses: dict[str, str] = {}
    originals: dict[str, str] = {}
    docs, sends = [], []
    for n in range(mailboxes):
        address = f"bench{n}-{suffix}@mailroom.test"
        sandbox.add_user(address, "pw")
        mailbox_id = f"mb-{suffix}-{n}"
        addresses[mailbox_id] = address
        originals[mailbox_id] = f"<orig-{n}-{suffix}@mailroom.test>"
        docs.append(
            {
                "_id": mailbox_id,
                "tenant_id": TENANT,
                "owner": "bench",
                "name": address,
                "email": address,
                "incoming": {
                    "protocol": "imap",
                    "host": sandbox.host,
                    "port": sandbox.imaps_port,
                    "security": "ssl",
                    "username": address,
                    "password_enc": secrets.encrypt(TENANT, mailbox_id, "incoming_password", "pw"),
                },
                "tls": {"verify": True, "ca_pem": sandbox.ca_pem},
                "state": "connected",
            }
        )
        sends.append(
            {
                "_id": f"msg-{n}-{suffix}",
                "tenant_id": TENANT,
                "mailbox_id": mailbox_id,
                "idempotency_key": f"k{n}",
                "smtp_message_id": originals[mailbox_id],
            }
        )
    await store.collection(MAILBOXES).insert_many(docs)
    await store.collection(SENDS).insert_many(sends)

    bus = Bus(
        amqp_url,
        namespace=settings.bus_namespace,
        service="bench",
        metrics=BusMetrics(new_registry()),
    )
    await bus.connect()
    received: dict[str, float] = {}

    async def take(event: ReplyReceived) -> None:
        received.setdefault(event.mailbox_id, time.monotonic())

    consumer = bus.consumer(
        "bench-sink", {ReplyReceived: take}, prefetch=500, max_attempts=1, retry_delays_s=(1.0,)
    )
    await consumer.start()

    baseline_kib = rss_kib()
    stop = asyncio.Event()
    service = asyncio.create_task(serve(settings, stop))

    async def all_watching() -> bool:
        count = await store.collection(WATCH_CURSORS).count_documents({"folder": "INBOX"})
        return count >= mailboxes

    await wait_until(all_watching, 60 + mailboxes * 0.2, "every mailbox watched")
    await asyncio.sleep(5)  # let connections settle into IDLE before measuring
    kib_per_mailbox = (rss_kib() - baseline_kib) / mailboxes

    cpu_before, wall_before = cpu_seconds(), time.monotonic()
    await asyncio.sleep(10)
    idle_cpu_pct = 100 * (cpu_seconds() - cpu_before) / (time.monotonic() - wall_before)

    delivered: dict[str, float] = {}
    targets = list(addresses)[: min(replies, mailboxes)]
    for mailbox_id in targets:
        raw = (
            f"From: pat@customer.example\r\nTo: {addresses[mailbox_id]}\r\nSubject: Re: hi\r\n"
            f"Message-ID: <{uuid.uuid4().hex}@customer.example>\r\n"
            f"In-Reply-To: {originals[mailbox_id]}\r\n\r\nYes.\r\n"
        ).encode()
        await asyncio.to_thread(sandbox.deliver, addresses[mailbox_id], raw)
        delivered[mailbox_id] = time.monotonic()
        await asyncio.sleep(1 / rate)

    async def all_received() -> bool:
        return all(m in received for m in targets)

    await wait_until(all_received, 60, "every reply reported")
    latencies = sorted((received[m] - delivered[m]) * 1000 for m in targets)
    p50 = statistics.median(latencies)
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]

    stop.set()
    await service
    await consumer.stop(2)
    await bus.close()
    await store.client.drop_database(settings.mongo_db)
    await store.close()
    return (
        f"BENCH watcher mailboxes={mailboxes} kib_per_mailbox={kib_per_mailbox:.1f} "
        f"idle_cpu_pct={idle_cpu_pct:.2f} p50_ms={p50:.0f} p99_ms={p99:.0f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--mailboxes", type=int, default=1000)
    parser.add_argument("--replies", type=int, default=200, help="replies delivered")
    parser.add_argument("--rate", type=float, default=20.0, help="replies per second")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-watcher-"))
    mongo = ensure_mongo(os.environ.get("MAILROOM_MONGO_URL"), workdir)
    try:
        with MailSandbox(workdir) as sandbox:
            line = uvloop.run(run(sandbox, mongo.url, args.mailboxes, args.replies, args.rate))
    finally:
        mongo.stop()
    print(line)


if __name__ == "__main__":
    main()
