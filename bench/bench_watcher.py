"""Watcher benchmark: N mailboxes IDLE over TLS in one process; memory, idle CPU, latency.

Starts its own mail sandbox (Dovecot + Postfix, its limits raised for N sessions),
uses RabbitMQ and MongoDB from MAILROOM_AMQP_URL / MAILROOM_MONGO_URL (defaults:
local), creates N users and mailboxes (disabled), starts the watcher in this
process under uvloop and takes the memory baseline once it runs with nothing to
watch. Then it enables the mailboxes, waits until all of them IDLE over TLS and
reads the resident memory again: (RSS with N idle mailboxes - baseline) / N.
Idle CPU is the whole process's CPU time over a quiet window (heartbeats and
IDLE keep-alives included). Last, it delivers replies at a steady rate and
measures LMTP accepted → `email.reply.received` received from the bus.

    python bench/bench_watcher.py --mailboxes 1000

Last line: `BENCH watcher mailboxes=N kib_per_mailbox=K idle_cpu_pct=C p50_ms=A p99_ms=B`.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import gc
import os
import resource
import statistics
import tempfile
import time
import tracemalloc
import uuid
from pathlib import Path

import uvloop

from mailroom.localinfra.mailsandbox import MailSandbox
from mailroom.localinfra.mongo import ensure_mongo
from mailroom.localinfra.ports import free_port
from mailroom.shared.bus import Bus
from mailroom.shared.collections import (
    INDEXES,
    MAILBOXES,
    SENDS,
    WATCH_CURSORS,
    WATCH_REPLICAS,
)
from mailroom.shared.contracts import ReplyReceived
from mailroom.shared.crypto import EnvelopeCipher
from mailroom.shared.mailboxes import MailboxSecrets
from mailroom.shared.metrics import BusMetrics, new_registry
from mailroom.shared.settings import DEFAULT_AMQP_URL, load_settings
from mailroom.shared.store import Store
from mailroom.watcher.main import serve
from mailroom.watcher.settings import WatcherSettings

TENANT = "bench"
SETTLE_S = 5.0
IDLE_WINDOW_S = 30.0


def rss_kib() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def deliver(sandbox: MailSandbox, rcpt: str, raw: bytes) -> float:
    """Deliver over LMTP; the time the server accepted it (taken in the delivering thread)."""
    sandbox.deliver(rcpt, raw)
    return time.monotonic()


def raise_open_file_limit(wanted: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY:
        wanted = min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


async def wait_until(check, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise SystemExit(f"bench: {what} not reached within {timeout:.0f} s")
        await asyncio.sleep(0.2)


def print_memory_growth(before: tracemalloc.Snapshot, after: tracemalloc.Snapshot, n: int) -> None:
    """Where Python-level memory went between the baseline and all mailboxes idle."""
    stats = after.compare_to(before, "lineno")
    print(f"Python allocations grown, per mailbox (tracemalloc, {n} mailboxes):")
    for stat in stats[:25]:
        frame = stat.traceback[0]
        print(
            f"  {stat.size_diff / n / 1024:7.2f} KiB {stat.count_diff / n:6.1f} blocks  "
            f"{frame.filename}:{frame.lineno}"
        )
    total = sum(stat.size_diff for stat in stats)
    print(f"  total {total / n / 1024:.2f} KiB per mailbox")


async def run(
    sandbox: MailSandbox,
    mongo_url: str,
    mailboxes: int,
    replies: int,
    rate: float,
    trace_memory: bool = False,
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
    sandbox.add_users({f"bench{n}-{suffix}@mailroom.test": "pw" for n in range(mailboxes)})
    for n in range(mailboxes):
        address = f"bench{n}-{suffix}@mailroom.test"
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
                # Enabled only after the memory baseline is taken.
                "state": "disabled",
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
    del docs, sends

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

    stop = asyncio.Event()
    service = asyncio.create_task(serve(settings, stop))

    async def watcher_running() -> bool:
        return await store.collection(WATCH_REPLICAS).count_documents({}) > 0

    await wait_until(watcher_running, 60, "the watcher's first heartbeat")
    await asyncio.sleep(SETTLE_S)
    gc.collect()
    baseline_kib = rss_kib()
    snapshot_before = tracemalloc.take_snapshot() if trace_memory else None
    await store.collection(MAILBOXES).update_many(
        {"tenant_id": TENANT}, {"$set": {"state": "connected"}}
    )
    started = time.monotonic()

    async def all_watching() -> bool:
        count = await store.collection(WATCH_CURSORS).count_documents({"folder": "INBOX"})
        return count >= mailboxes

    await wait_until(all_watching, 60 + mailboxes * 0.2, "every mailbox watched")
    connect_s = time.monotonic() - started
    await asyncio.sleep(SETTLE_S)  # let connections settle into IDLE before measuring
    gc.collect()
    idle_kib = rss_kib()
    kib_per_mailbox = (idle_kib - baseline_kib) / mailboxes
    if snapshot_before is not None:
        print_memory_growth(snapshot_before, tracemalloc.take_snapshot(), mailboxes)

    cpu_before, wall_before = cpu_seconds(), time.monotonic()
    await asyncio.sleep(IDLE_WINDOW_S)
    idle_cpu_pct = 100 * (cpu_seconds() - cpu_before) / (time.monotonic() - wall_before)
    print(
        f"memory: RSS {baseline_kib} KiB running with 0 mailboxes, {idle_kib} KiB with "
        f"{mailboxes} mailboxes idle over TLS (all connected in {connect_s:.1f} s): "
        f"({idle_kib} - {baseline_kib}) / {mailboxes} = {kib_per_mailbox:.1f} KiB per mailbox"
    )
    print(f"idle CPU: {idle_cpu_pct:.2f}% of one core over {IDLE_WINDOW_S:.0f} s, whole process")

    delivered: dict[str, float] = {}
    targets = list(addresses)[: min(replies, mailboxes)]
    for mailbox_id in targets:
        raw = (
            f"From: pat@customer.example\r\nTo: {addresses[mailbox_id]}\r\nSubject: Re: hi\r\n"
            f"Message-ID: <{uuid.uuid4().hex}@customer.example>\r\n"
            f"In-Reply-To: {originals[mailbox_id]}\r\n\r\nYes.\r\n"
        ).encode()
        delivered[mailbox_id] = await asyncio.to_thread(
            deliver, sandbox, addresses[mailbox_id], raw
        )
        await asyncio.sleep(1 / rate)

    async def all_received() -> bool:
        return all(m in received for m in targets)

    await wait_until(all_received, 60, "every reply reported")
    latencies = sorted((received[m] - delivered[m]) * 1000 for m in targets)
    p50 = statistics.median(latencies)
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    print(
        f"latency: {len(latencies)} replies at {rate:.0f}/s, LMTP accepted -> "
        f"email.reply.received on the bus: p50 {p50:.0f} ms, p99 {p99:.0f} ms, "
        f"max {latencies[-1]:.0f} ms"
    )

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
    parser.add_argument(
        "--trace-memory",
        action="store_true",
        help="also show where Python memory grows (tracemalloc; inflates the RSS figures)",
    )
    args = parser.parse_args()
    if args.trace_memory:
        tracemalloc.start(1)
    raise_open_file_limit(2 * args.mailboxes + 1024)
    workdir = Path(tempfile.mkdtemp(prefix="bench-watcher-"))
    mongo = ensure_mongo(os.environ.get("MAILROOM_MONGO_URL"), workdir)
    try:
        with MailSandbox(workdir, max_connections=args.mailboxes + 50) as sandbox:
            line = uvloop.run(
                run(
                    sandbox,
                    mongo.url,
                    args.mailboxes,
                    args.replies,
                    args.rate,
                    args.trace_memory,
                )
            )
    finally:
        mongo.stop()
    print(line)


if __name__ == "__main__":
    main()
