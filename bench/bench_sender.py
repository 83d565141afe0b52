"""Sender benchmark: send events through RabbitMQ, the sender and SMTP to a sink on loopback.

What runs where (2 cores are shared by all of it):

- RabbitMQ from MAILROOM_AMQP_URL (default: local), the store `ensure_mongo` gives
  (MAILROOM_MONGO_URL, else a MongoDB container, else SecantusDB);
- Postfix's `smtp-sink` (plain SMTP, a C sink that is never the limit) and, for the
  TLS comparison, an aiosmtpd sink with STARTTLS and a throwaway trustme certificate,
  both in their own processes;
- the sender's real `serve()` in its own process (uvloop, as `mailroom sender` runs).

Phases:

1. **throughput**: N send events (about 5 KB of text + HTML each, personalised per
   recipient) are queued, then the sender starts and drains them into `smtp-sink`
   with its real store writes; the rate is taken from the `sent_at` the sender
   records after each 250 reply.
2. **latency**: events published at a steady rate (70 % of the measured
   throughput); publish -> the sink's 250 (`sent_at`), p50 and p99.
3. **raw**: aiosmtplib sending the same messages, pre-rendered, over as many
   persistent connections as the sender's pool has, to the same `smtp-sink`.
4. **TLS**: the naive sender (stdlib `email` + `smtplib`, one connection with
   STARTTLS per message) and the sender, each against the same STARTTLS sink.
5. **CPU breakdown**: a smaller run of a sender under cProfile, its CPU grouped by
   module (render, store, broker, SMTP, event loop), scaled to the unprofiled
   run's CPU per message; the broker's and the store's own processes are measured
   beside it.

    python bench/bench_sender.py --count 20000

Last line: `BENCH sender msgs_per_s=N ratio_raw=R ratio_naive_tls=Q p50_ms=A p99_ms=B
rss_mb=M store=NAME`.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import cProfile
import os
import pstats
import shutil
import signal
import smtplib
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aio_pika
import aiosmtplib
import uvloop

from mailroom.localinfra.mongo import ensure_mongo
from mailroom.localinfra.ports import free_port
from mailroom.sender.render import Party, message_id_header_for, render_message
from mailroom.sender.settings import SenderSettings
from mailroom.shared.bus import (
    Bus,
    dead_letter_queue_name,
    queue_name,
    retry_queue_name,
    retry_steps_ms,
)
from mailroom.shared.collections import INDEXES, MAILBOXES, SEND_OUTCOMES, SENDS
from mailroom.shared.contracts import Address, SendEmail
from mailroom.shared.metrics import BusMetrics, new_registry
from mailroom.shared.settings import DEFAULT_AMQP_URL, load_settings
from mailroom.shared.store import Store

TENANT = "bench"
SENDER_ADDRESS = "news@mailroom.test"
SENDER_NAME = "Mailroom Bench"
HOST = "127.0.0.1"
CLOCK_TICK = os.sysconf("SC_CLK_TCK")

# ---------------------------------------------------------------------------- content

_PARAGRAPHS = [
    "Thank you for being with us this quarter. Here is what changed in your account, "
    "what is coming next and a few things we think you will find useful.",
    "Your team sent {n} proposals last month and closed more of them than the month "
    "before. The new pipeline view groups deals by stage and owner, so a glance shows "
    "where the next conversation should happen.",
    "We moved the reporting dashboard to a faster backend: pages that took seconds now "
    "open at once, and exports of large date ranges no longer time out.",
    "Next month brings shared templates, a calendar that knows about time zones and a "
    "cleaner way to hand an account over to a colleague when someone goes on leave.",
    "If anything here is unclear, reply to this message: it reaches a person, not a "
    "queue, and we usually answer within a working day.",
]


def text_body(name: str, n: int) -> str:
    paragraphs = [p.format(n=n % 97 + 3) for p in _PARAGRAPHS]
    return (
        f"Hello {name},\n\n"
        + "\n\n".join(paragraphs * 3)
        + f"\n\nBest regards,\n{SENDER_NAME}\n\nYou receive this as customer #{n}.\n"
    )


def html_body(name: str, n: int) -> str:
    paragraphs = "".join(
        f'<p style="margin:0 0 12px 0;font-family:Arial,sans-serif">{p.format(n=n % 97 + 3)}</p>'
        for p in _PARAGRAPHS * 2
    )
    return (
        "<!doctype html><html><body>"
        f'<h1 style="font-family:Arial,sans-serif">Hello {name}</h1>{paragraphs}'
        f'<p><a href="https://app.example.test/account/{n}">Open your account</a></p>'
        f"<p>Best regards,<br>{SENDER_NAME}</p>"
        f'<p style="color:#888">You receive this as customer #{n}.</p></body></html>'
    )


def recipient(n: int) -> Address:
    return Address(email=f"contact{n}@customer.example", name=f"Contact Number {n}")


def send_events(run: str, mailbox_id: str, count: int) -> list[SendEmail]:
    events = []
    for n in range(count):
        to = recipient(n)
        name = to.name or to.email
        events.append(
            SendEmail(
                idempotency_key=f"{run}-{n}",
                tenant_id=TENANT,
                mailbox_id=mailbox_id,
                to=[to],
                subject=f"Your quarter with us, {name}",
                text=text_body(name, n),
                html=html_body(name, n),
                list_unsubscribe=f"<https://app.example.test/unsubscribe/{n}>",
                list_unsubscribe_one_click=True,
                metadata={"campaign": run, "n": n},
            )
        )
    return events


def prerendered(event: SendEmail) -> bytes:
    """The bytes the sender builds for `event` (what the raw baseline sends)."""
    return render_message(
        sender=Party(SENDER_ADDRESS, SENDER_NAME),
        to=[Party(a.email, a.name) for a in event.to],
        subject=event.subject,
        text=event.text,
        html=event.html,
        message_id_header=message_id_header_for(event.message_id, "mailroom.test"),
        list_unsubscribe=event.list_unsubscribe,
        list_unsubscribe_one_click=event.list_unsubscribe_one_click,
    ).raw


def naive_message(event: SendEmail) -> EmailMessage:
    """What a hand-written sender builds: the standard library's `email` objects."""
    message = EmailMessage()
    message["From"] = f"{SENDER_NAME} <{SENDER_ADDRESS}>"
    message["To"] = f"{event.to[0].name} <{event.to[0].email}>"
    message["Subject"] = event.subject
    message["Message-ID"] = f"<{uuid.uuid4().hex}@mailroom.test>"
    message.set_content(event.text or "")
    message.add_alternative(event.html or "", subtype="html")
    return message


# ---------------------------------------------------------------------------- processes


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICK


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def pids_matching(fragment: str) -> list[int]:
    """Processes whose command line contains `fragment` (the broker, the store)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if fragment in cmdline and int(entry.name) != os.getpid():
            found.append(int(entry.name))
    return found


def cpu_of(pids: Sequence[int]) -> float:
    total = 0.0
    for pid in pids:
        with contextlib.suppress(OSError):
            total += process_cpu_s(pid)
    return total


def wait_for_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((HOST, port), timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise SystemExit(f"bench: nothing listens on {HOST}:{port}") from None
            time.sleep(0.05)


def smtp_sink_executable() -> str:
    for candidate in ("/usr/sbin/smtp-sink", "/usr/lib/postfix/sbin/smtp-sink"):
        if Path(candidate).exists():
            return candidate
    found = shutil.which("smtp-sink")
    if found is None:
        raise SystemExit("bench: smtp-sink not found (Debian package postfix)")
    return found


def start_smtp_sink(port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [smtp_sink_executable(), "-u", "nobody", "-m", "1000", f"{HOST}:{port}", "1024"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for_port(port)
    return process


def start_tls_sink(port: int, cert: Path, key: Path) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, __file__, "--serve-tls-sink", str(port), str(cert), str(key)],
        stdout=subprocess.DEVNULL,
    )
    wait_for_port(port)
    return process


def serve_tls_sink(port: int, cert: str, key: str) -> None:
    """A STARTTLS SMTP server that accepts every message and keeps none."""
    from aiosmtpd.smtp import SMTP, Envelope, Session

    class Discard:
        async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
            return "250 2.0.0 Ok: queued"

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)

    async def serve() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: SMTP(
                Discard(), hostname="tls-sink", tls_context=context, require_starttls=True
            ),
            HOST,
            port,
            backlog=1024,
        )
        stop = asyncio.Event()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        await stop.wait()
        server.close()

    # aiosmtpd's STARTTLS needs the standard event loop, not uvloop.
    asyncio.run(serve())


def start_sender(env: dict[str, str], profile: Path | None, log: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, __file__, "--run-sender"]
    if profile is not None:
        command += ["--profile", str(profile)]
    return subprocess.Popen(
        command, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=log.open("ab")
    )


def run_sender(profile: str | None) -> None:
    """The sender as `mailroom sender` runs it, optionally under cProfile."""
    from functools import partial

    from mailroom.sender.main import SERVICE, serve
    from mailroom.shared.logs import configure_logging
    from mailroom.shared.runtime import run_service

    settings = load_settings(SenderSettings)
    configure_logging(SERVICE, settings.log_level, settings.log_format)
    # CPU time, not wall time: on a machine shared with the broker and the store, a
    # socket write that wakes another process would otherwise be charged for the
    # time the sender then spent waiting for a core.
    profiler = cProfile.Profile(time.thread_time) if profile else None
    if profiler is not None:
        profiler.enable()
    try:
        run_service(SERVICE, partial(serve, settings))
    finally:
        if profiler is not None and profile:
            profiler.disable()
            profiler.dump_stats(profile)


def stop_process(process: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# ---------------------------------------------------------------------------- CPU groups

_GROUPS: list[tuple[str, tuple[str, ...]]] = [
    ("render", ("mailroom/sender/render.py", "base64", "binascii", "hashlib", "email/utils")),
    (
        "store",
        ("pymongo", "bson", "mailroom/sender/ledger.py", "mailroom/sender/limits.py"),
    ),
    (
        "broker",
        ("aio_pika", "aiormq", "pamqp", "mailroom/shared/bus.py", "mailroom/shared/contracts"),
    ),
    ("events", ("pydantic", "json")),
    ("smtp", ("aiosmtplib", "mailroom/sender/pool.py", "ssl.py", "mailconn")),
]


def cpu_groups(profile: Path) -> dict[str, float]:
    """Share of the profiled process's CPU per group of modules (own time of functions)."""
    stats = pstats.Stats(str(profile))
    raw: dict[tuple[str, int, str], tuple[Any, ...]] = stats.stats  # type: ignore[attr-defined]
    totals: dict[str, float] = {}
    for (filename, _line, function), (_cc, _nc, own_s, _cum, _callers) in raw.items():
        group = "sender logic"
        for name, fragments in _GROUPS:
            if any(fragment in filename for fragment in fragments):
                group = name
                break
        else:
            if filename == "~":
                # Built-ins: C code called from Python; uvloop's own work runs inside
                # run_forever / run_until_complete.
                if "uvloop" in function or "run_" in function or "select" in function:
                    group = "event loop + sockets"
                elif "ssl" in function.lower() or "SSLObject" in function:
                    group = "smtp"
                else:
                    group = "builtins (other)"
            elif "asyncio" in filename or "uvloop" in filename:
                group = "event loop + sockets"
            elif "mailroom/sender" not in filename and "mailroom/shared" not in filename:
                group = "other libraries"
        totals[group] = totals.get(group, 0.0) + own_s
    whole = sum(totals.values()) or 1.0
    return {group: value / whole for group, value in sorted(totals.items(), key=lambda kv: -kv[1])}


# ---------------------------------------------------------------------------- phases


class Bench:
    def __init__(self, args: argparse.Namespace, workdir: Path, mongo_url: str) -> None:
        self.args = args
        self.workdir = workdir
        self.mongo_url = mongo_url
        self.amqp_url = os.environ.get("MAILROOM_AMQP_URL", DEFAULT_AMQP_URL)
        self.suffix = uuid.uuid4().hex[:8]
        key = base64.b64encode(os.urandom(32)).decode()
        self.env = {
            "MAILROOM_AMQP_URL": self.amqp_url,
            "MAILROOM_MONGO_URL": mongo_url,
            "MAILROOM_MONGO_DB": f"bench_sender_{self.suffix}",
            "MAILROOM_BUS_NAMESPACE": f"bench-sender-{self.suffix}",
            "MAILROOM_ENCRYPTION_KEYS": f"k1:{key}",
            "MAILROOM_HTTP_HOST": HOST,
            "MAILROOM_SENDER_HTTP_PORT": str(free_port()),
            "MAILROOM_LOG_LEVEL": "WARNING",
            "MAILROOM_LOG_FORMAT": "text",
        }
        self.settings = load_settings(
            SenderSettings,
            amqp_url=self.amqp_url,
            mongo_url=mongo_url,
            mongo_db=self.env["MAILROOM_MONGO_DB"],
            bus_namespace=self.env["MAILROOM_BUS_NAMESPACE"],
            encryption_keys=self.env["MAILROOM_ENCRYPTION_KEYS"],
        )
        self.store = Store(mongo_url, self.settings.mongo_db, app_name="bench")
        self.bus = Bus(
            self.amqp_url,
            namespace=self.settings.bus_namespace,
            service="bench",
            metrics=BusMetrics(new_registry()),
        )
        self.log = workdir / "sender.log"
        self.sent_queue = f"{self.settings.bus_namespace}.bench.sent"
        self.failed_queue = f"{self.settings.bus_namespace}.bench.failed"

    async def setup(self) -> None:
        await self.store.connect()
        await self.store.ensure_indexes(INDEXES)
        await self.bus.connect()
        # The sender's queue, declared as the sender declares it, so events wait there.
        consumer = self.bus.consumer(
            "sender",
            {SendEmail: _never_called},
            prefetch=1,
            max_attempts=self.settings.max_attempts,
            retry_delays_s=self.settings.retry_delays,
        )
        await consumer.declare()
        # Result queues of the bench itself: their depth says how far the sender got.
        # A plain connection: a robust channel answers a passive declare from its cache.
        self.probe = await aio_pika.connect(self.amqp_url)
        self.channel = await self.probe.channel()
        exchange = await self.channel.get_exchange(self.settings.bus_namespace)
        for queue, key in ((self.sent_queue, "email.sent"), (self.failed_queue, "email.failed")):
            declared = await self.channel.declare_queue(queue, auto_delete=False, durable=False)
            await declared.bind(exchange, routing_key=key)

    async def add_mailbox(
        self, mailbox_id: str, port: int, security: str, ca_pem: str | None
    ) -> None:
        now = datetime.now(UTC)
        await self.store.collection(MAILBOXES).insert_one(
            {
                "_id": mailbox_id,
                "tenant_id": TENANT,
                "owner": "bench",
                "name": "Bench",
                "email": SENDER_ADDRESS,
                "display_name": SENDER_NAME,
                "auth_method": "password",
                "smtp": {"host": HOST, "port": port, "security": security, "authenticate": False},
                "tls": {"verify": True, "ca_pem": ca_pem},
                "state": "connected",
                "created_at": now,
                "updated_at": now,
            }
        )

    async def publish(self, events: Sequence[SendEmail], chunk: int = 500) -> None:
        for start in range(0, len(events), chunk):
            await self.bus.publish_many(events[start : start + chunk])

    async def publish_paced(self, events: Sequence[SendEmail], rate: float) -> dict[str, float]:
        """Publish at `rate` per second; the wall-clock time each publish started."""
        published: dict[str, float] = {}
        tick = 0.01
        per_tick = max(1, round(rate * tick))
        started = time.monotonic()
        pending: set[asyncio.Task[None]] = set()
        for i in range(0, len(events), per_tick):
            due = started + (i / per_tick) * tick
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            for event in events[i : i + per_tick]:
                published[event.message_id] = time.time()
                task = asyncio.create_task(self.bus.publish(event))
                pending.add(task)
                task.add_done_callback(pending.discard)
        await asyncio.gather(*pending)
        return published

    async def wait_sent(self, campaign: str, wanted: int, timeout: float) -> dict[str, float]:
        """Wait for `wanted` `email.sent` events; the `sent_at` of the campaign's sends."""
        await self.wait_sent_events(wanted, timeout)
        return await self.sent_times(campaign, wanted)

    async def wait_sent_events(self, wanted: int, timeout: float) -> None:
        """Wait for `wanted` `email.sent` events.

        Progress is read from the depth of the bench's own result queues (cheap for the
        broker) rather than by counting in the store, which would compete with the
        sender for the store's CPU.
        """
        deadline = time.monotonic() + timeout
        while True:
            sent = await self.depth(self.sent_queue)
            if sent >= wanted:
                break
            if await self.depth(self.failed_queue):
                doc = await self.store.collection(SEND_OUTCOMES).find_one({"status": "failed"})
                doc = doc or await self.store.collection(SENDS).find_one({"status": "failed"})
                raise SystemExit(f"bench: a send failed: {doc}")
            if time.monotonic() > deadline:
                statuses = await self.store.collection(SENDS).distinct("status")
                raise SystemExit(
                    f"bench: only {sent} of {wanted} sent within {timeout:.0f} s "
                    f"(statuses on record: {statuses}); "
                    f"sender log: {self.log.read_text()[-2000:]}"
                )
            await asyncio.sleep(0.25)
        purge = await self.channel.declare_queue(self.sent_queue, passive=True)
        await purge.purge()

    async def sent_times(self, campaign: str, wanted: int) -> dict[str, float]:
        """The `sent_at` of each of the campaign's sends, read from the store."""
        # The campaign's sends, then their outcomes (recorded apart: mailroom.shared.sends).
        # Matched here rather than with a long `$in`, which some stores answer slowly.
        ids = {
            doc["_id"]
            async for doc in self.store.collection(SENDS).find(
                {"metadata.campaign": campaign}, {"_id": 1}
            )
        }
        outcomes = self.store.collection(SEND_OUTCOMES).find({"status": "sent"}, {"sent_at": 1})
        sent_at = {
            doc["_id"]: doc["sent_at"].timestamp() async for doc in outcomes if doc["_id"] in ids
        }
        if len(sent_at) != wanted:
            raise SystemExit(f"bench: {len(sent_at)} of {wanted} sends recorded as sent")
        return sent_at

    async def depth(self, queue: str) -> int:
        declared = await self.channel.declare_queue(queue, passive=True)
        count = declared.declaration_result.message_count
        return int(count or 0)

    async def wait_ready(self, process: subprocess.Popen[bytes]) -> None:
        import httpx

        port = self.env["MAILROOM_SENDER_HTTP_PORT"]
        deadline = time.monotonic() + 60
        async with httpx.AsyncClient() as client:
            while True:
                if process.poll() is not None:
                    raise SystemExit(f"bench: sender exited: {self.log.read_text()[-2000:]}")
                with contextlib.suppress(httpx.HTTPError):
                    response = await client.get(f"http://{HOST}:{port}/readyz", timeout=2)
                    if response.status_code == 200:
                        return
                if time.monotonic() > deadline:
                    raise SystemExit("bench: the sender did not get ready")
                await asyncio.sleep(0.1)

    async def close(self) -> None:
        # The bench's own queues and everything the sender declared: nothing stays on the broker.
        namespace, group = self.settings.bus_namespace, "sender"
        queues = [
            self.sent_queue,
            self.failed_queue,
            queue_name(namespace, group),
            dead_letter_queue_name(namespace, group),
            *(
                retry_queue_name(namespace, group, step)
                for step in retry_steps_ms(self.settings.retry_delays)
            ),
        ]
        for queue in queues:
            with contextlib.suppress(Exception):
                await self.channel.queue_delete(queue)
        with contextlib.suppress(Exception):
            await self.channel.exchange_delete(namespace)
        await self.probe.close()
        await self.bus.close()
        with contextlib.suppress(Exception):
            await self.store.client.drop_database(self.settings.mongo_db)
        await self.store.close()


async def _never_called(event: SendEmail) -> None:
    raise AssertionError("the bench only declares the sender's queue")


def rate_of(sent_at: Sequence[float]) -> float:
    """Messages per second over the span from the first 250 to the last."""
    first, last = min(sent_at), max(sent_at)
    return (len(sent_at) - 1) / max(last - first, 1e-6)


async def raw_baseline(
    messages: Sequence[bytes], recipients: Sequence[str], port: int, pool: int
) -> float:
    """aiosmtplib over `pool` persistent connections, pre-rendered bytes: messages/s."""
    clients = [
        aiosmtplib.SMTP(hostname=HOST, port=port, use_tls=False, start_tls=False)
        for _ in range(pool)
    ]
    for client in clients:
        await client.connect()
        await client.ehlo()
    position = 0

    async def worker(client: aiosmtplib.SMTP) -> None:
        nonlocal position
        while position < len(messages):
            i = position
            position += 1
            await client.sendmail(SENDER_ADDRESS, [recipients[i]], messages[i])

    started = time.perf_counter()
    await asyncio.gather(*(worker(c) for c in clients))
    elapsed = time.perf_counter() - started
    for client in clients:
        with contextlib.suppress(aiosmtplib.SMTPException):
            await client.quit()
    return len(messages) / elapsed


def naive_tls_baseline(events: Sequence[SendEmail], port: int, cafile: Path) -> float:
    """stdlib `email` + `smtplib`, a new connection with STARTTLS per message: messages/s."""
    started = time.perf_counter()
    for event in events:
        message = naive_message(event)
        context = ssl.create_default_context(cafile=str(cafile))
        with smtplib.SMTP(HOST, port) as smtp:
            smtp.starttls(context=context)
            smtp.send_message(message)
    return len(events) / (time.perf_counter() - started)


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


async def run(
    args: argparse.Namespace, workdir: Path, mongo_url: str, store_name: str, store_pid: int | None
) -> str:
    import trustme

    bench = Bench(args, workdir, mongo_url)
    await bench.setup()
    sink_port, tls_port = free_port(), free_port()
    ca = trustme.CA()
    cert = ca.issue_cert(HOST, "localhost")
    cert_path, key_path, ca_path = workdir / "sink.pem", workdir / "sink.key", workdir / "ca.pem"
    cert.private_key_pem.write_to_path(str(key_path))
    cert_path.write_bytes(b"".join(blob.bytes() for blob in cert.cert_chain_pems))
    ca.cert_pem.write_to_path(str(ca_path))
    sinks = [start_smtp_sink(sink_port), start_tls_sink(tls_port, cert_path, key_path)]
    broker_pids = pids_matching("beam.smp")
    store_pids = [store_pid] if store_pid is not None else []
    sender: subprocess.Popen[bytes] | None = None
    try:
        await bench.add_mailbox("mb-sink", sink_port, "none", None)
        await bench.add_mailbox("mb-tls", tls_port, "starttls", ca.cert_pem.bytes().decode())
        print(f"store: {store_name} at {mongo_url}; broker: {bench.amqp_url.split('@')[-1]}")

        # 1. throughput: a full queue drained by a fresh sender.
        events = send_events(f"t{bench.suffix}", "mb-sink", args.count)
        print(
            f"queueing {len(events)} send events ({len(events[0].to_json()) / 1024:.1f} KiB each)"
        )
        await bench.publish(events)
        others_before = cpu_of(broker_pids), cpu_of(store_pids)
        sender = start_sender(bench.env, None, bench.log)
        await bench.wait_ready(sender)
        sender_cpu_before = process_cpu_s(sender.pid)
        await bench.wait_sent_events(len(events), args.count / 50 + 120)
        # CPU before the bench's own reads of the results, which are not the sender's cost.
        sender_cpu = process_cpu_s(sender.pid) - sender_cpu_before
        broker_cpu = cpu_of(broker_pids) - others_before[0]
        store_cpu = cpu_of(store_pids) - others_before[1]
        sent_at = await bench.sent_times(f"t{bench.suffix}", len(events))
        msgs_per_s = rate_of(list(sent_at.values()))
        print(
            f"sender: {len(sent_at)} messages, {msgs_per_s:.0f} msg/s (first 250 to last); "
            f"CPU per message: sender {sender_cpu / len(sent_at) * 1e6:.0f} us, "
            f"broker {broker_cpu / len(sent_at) * 1e6:.0f} us, "
            f"store {store_cpu / len(sent_at) * 1e6:.0f} us"
        )

        # 2. latency at a steady 70 % of that rate.
        rate = msgs_per_s * 0.7
        paced = send_events(f"l{bench.suffix}", "mb-sink", min(args.count, max(500, int(rate * 3))))
        published = await bench.publish_paced(paced, rate)
        paced_sent = await bench.wait_sent(f"l{bench.suffix}", len(paced), 120)
        latencies_ms = [(paced_sent[m] - published[m]) * 1000 for m in published]
        p50, p99 = statistics.median(latencies_ms), percentile(latencies_ms, 0.99)
        print(
            f"latency at {rate:.0f} msg/s ({len(paced)} messages), publish -> 250: "
            f"p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {max(latencies_ms):.1f} ms"
        )

        # 3. raw: the same messages, pre-rendered, same sink, same number of connections.
        raw_messages = [prerendered(e) for e in events]
        raw_rate = await raw_baseline(
            raw_messages, [e.to[0].email for e in events], sink_port, bench.settings.pool_size
        )
        print(
            f"raw: aiosmtplib, {bench.settings.pool_size} persistent connections, pre-rendered: "
            f"{raw_rate:.0f} msg/s; sender/raw = {msgs_per_s / raw_rate:.2f}"
        )

        # 4. TLS: the naive sender and the sender against the same STARTTLS sink.
        naive_events = send_events(f"n{bench.suffix}", "mb-tls", args.naive_count)
        naive_rate = await asyncio.to_thread(naive_tls_baseline, naive_events, tls_port, ca_path)
        tls_events = send_events(f"s{bench.suffix}", "mb-tls", min(args.count, args.tls_count))
        await bench.publish(tls_events)
        tls_sent = await bench.wait_sent(f"s{bench.suffix}", len(tls_events), 180)
        tls_rate = rate_of(list(tls_sent.values()))
        print(
            f"STARTTLS sink (aiosmtpd): naive smtplib, a connection per message: "
            f"{naive_rate:.1f} msg/s; sender: {tls_rate:.0f} msg/s; "
            f"ratio {tls_rate / naive_rate:.1f}"
        )
        rss_mb = peak_rss_mb(sender.pid)
        stop_process(sender)
        sender = None

        # 5. where the sender's CPU goes: a smaller run under cProfile.
        profile = workdir / "sender.prof"
        prof_events = send_events(
            f"p{bench.suffix}", "mb-sink", min(args.count, args.profile_count)
        )
        await bench.publish(prof_events)
        sender = start_sender(bench.env, profile, bench.log)
        await bench.wait_sent(f"p{bench.suffix}", len(prof_events), 300)
        stop_process(sender)
        sender = None
        per_message_us = sender_cpu / len(sent_at) * 1e6
        shares = cpu_groups(profile)
        if args.keep_profile:
            shutil.copyfile(profile, args.keep_profile)
            print(f"profile of the sender kept in {args.keep_profile} (pstats format)")
        breakdown = ", ".join(
            f"{group} {share * per_message_us:.0f} us" for group, share in shares.items()
        )
        print(f"sender CPU per message ({per_message_us:.0f} us in all): {breakdown}")
        print(
            f"outside the sender, per message: broker {broker_cpu / len(sent_at) * 1e6:.0f} us, "
            f"store server {store_cpu / len(sent_at) * 1e6:.0f} us"
            + ("" if store_pids else " (not measured: not a local process)")
        )
        print(f"sender peak RSS: {rss_mb:.0f} MB")
    finally:
        if sender is not None:
            stop_process(sender)
        for sink in sinks:
            stop_process(sink, 10)
        await bench.close()
    return (
        f"BENCH sender msgs_per_s={msgs_per_s:.0f} ratio_raw={msgs_per_s / raw_rate:.2f} "
        f"ratio_naive_tls={tls_rate / naive_rate:.1f} p50_ms={p50:.1f} p99_ms={p99:.1f} "
        f"rss_mb={rss_mb:.0f} store={store_name}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--count", type=int, default=20_000, help="send events (throughput)")
    parser.add_argument("--naive-count", type=int, default=300, help="messages, naive TLS")
    parser.add_argument("--tls-count", type=int, default=3000, help="messages, sender over TLS")
    parser.add_argument("--profile-count", type=int, default=2000, help="messages, profiled")
    parser.add_argument("--run-sender", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--keep-profile", metavar="PATH", help="keep the profiled sender's cProfile data here"
    )
    parser.add_argument("--profile", help=argparse.SUPPRESS)
    parser.add_argument("--serve-tls-sink", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run_sender:
        run_sender(args.profile)
        return
    if args.serve_tls_sink:
        port, cert, key = args.serve_tls_sink
        serve_tls_sink(int(port), cert, key)
        return
    workdir = Path(tempfile.mkdtemp(prefix="bench-sender-"))
    mongo = ensure_mongo(os.environ.get("MAILROOM_MONGO_URL"), workdir)
    try:
        line = uvloop.run(run(args, workdir, mongo.url, mongo.kind, mongo.pid))
    finally:
        mongo.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    print(line)


if __name__ == "__main__":
    main()
