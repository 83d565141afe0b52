"""Helpers and fixtures of the watcher integration tests: store, bus, event sink, mailboxes.

The servers (RabbitMQ, MongoDB, Dovecot + Postfix) come from `tests/conftest.py`.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from mailroom.localinfra.ports import free_port
from mailroom.shared.bus import Bus
from mailroom.shared.collections import INDEXES, MAILBOXES, SENDS, WATCH_CURSORS
from mailroom.shared.contracts import BounceReceived, MailboxStateChanged, Message, ReplyReceived
from mailroom.shared.crypto import EnvelopeCipher
from mailroom.shared.mailboxes import MailboxSecrets
from mailroom.shared.mailconn.imap import close_imap, imap_login, imap_select, open_imap
from mailroom.shared.mailconn.tls import client_ssl_context
from mailroom.shared.metrics import BusMetrics, new_registry
from mailroom.shared.settings import load_settings
from mailroom.shared.store import Store
from mailroom.watcher.main import serve
from mailroom.watcher.settings import WatcherSettings
from tests.integration.support.polling import eventually

TENANT = "t-watch"
KEY = os.urandom(32)
ENCRYPTION_KEYS = "k1:" + base64.urlsafe_b64encode(KEY).decode().rstrip("=")


@pytest.fixture
def secrets() -> MailboxSecrets:
    return MailboxSecrets(EnvelopeCipher({"k1": KEY}, "k1"))


@pytest.fixture
async def store(mongo_url: str, mongo_db_name: str) -> AsyncIterator[Store]:
    store = Store(mongo_url, mongo_db_name, app_name="watcher-test")
    await store.connect()
    await store.ensure_indexes(INDEXES)
    yield store
    await store.close()


@pytest.fixture
async def bus(rabbitmq_url: str, bus_namespace: str) -> AsyncIterator[Bus]:
    bus = Bus(
        rabbitmq_url, namespace=bus_namespace, service="test", metrics=BusMetrics(new_registry())
    )
    await bus.connect()
    yield bus
    await bus.close()


class Sink:
    """Everything the watcher publishes that the tests look at."""

    def __init__(self) -> None:
        self.events: list[Message] = []

    async def take(self, event: Message) -> None:
        self.events.append(event)

    def replies(self, mailbox_id: str) -> list[ReplyReceived]:
        return [
            e for e in self.events if isinstance(e, ReplyReceived) and e.mailbox_id == mailbox_id
        ]

    def bounces(self, mailbox_id: str) -> list[BounceReceived]:
        return [
            e for e in self.events if isinstance(e, BounceReceived) and e.mailbox_id == mailbox_id
        ]

    def states(self, mailbox_id: str) -> list[str]:
        return [
            e.new_state
            for e in self.events
            if isinstance(e, MailboxStateChanged) and e.mailbox_id == mailbox_id
        ]


@pytest.fixture
async def sink(bus: Bus) -> AsyncIterator[Sink]:
    sink = Sink()
    consumer = bus.consumer(
        "test-sink",
        {ReplyReceived: sink.take, BounceReceived: sink.take, MailboxStateChanged: sink.take},
        prefetch=200,
        max_attempts=1,
        retry_delays_s=(1.0,),
    )
    await consumer.start()
    yield sink
    await consumer.stop(drain_s=2)


def watcher_settings(
    rabbitmq_url: str, mongo_url: str, mongo_db_name: str, bus_namespace: str, **overrides: Any
) -> WatcherSettings:
    values: dict[str, Any] = {
        "amqp_url": rabbitmq_url,
        "mongo_url": mongo_url,
        "mongo_db": mongo_db_name,
        "bus_namespace": bus_namespace,
        "encryption_keys": ENCRYPTION_KEYS,
        "http_port": free_port(),
        "http_host": "127.0.0.1",
        "lease_seconds": 3.0,
        "heartbeat_seconds": 0.5,
        "junk_poll_seconds": 1.0,
        "poll_seconds": 0.5,
        "backoff_min_seconds": 0.2,
        "backoff_max_seconds": 1.0,
        "connect_timeout_seconds": 5.0,
        "log_format": "text",
    }
    values.update(overrides)
    return load_settings(WatcherSettings, **values)


class RunningWatcher:
    """A watcher service in this process; `restart()` is a clean stop and a new start."""

    def __init__(self, settings: WatcherSettings) -> None:
        self.settings = settings
        self._stop: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._stop = asyncio.Event()
        self._task = asyncio.create_task(serve(self.settings, self._stop))

    async def stop(self) -> None:
        if self._stop is not None and self._task is not None:
            self._stop.set()
            await asyncio.wait_for(self._task, 30)
            self._task = None


@pytest.fixture
async def watcher(
    rabbitmq_url: str, mongo_url: str, mongo_db_name: str, bus_namespace: str, sink: Sink
) -> AsyncIterator[RunningWatcher]:
    running = RunningWatcher(
        watcher_settings(rabbitmq_url, mongo_url, mongo_db_name, bus_namespace)
    )
    yield running
    with contextlib.suppress(Exception):
        await running.stop()


def new_address() -> str:
    return f"w{uuid.uuid4().hex[:12]}@mailroom.test"


async def add_mailbox(
    store: Store,
    secrets: MailboxSecrets,
    sandbox: Any,
    address: str,
    password: str,
    *,
    protocol: str = "imap",
    port: int | None = None,
    security: str = "ssl",
    delete_processed_bounces: bool = False,
    state: str = "connected",
) -> str:
    mailbox_id = "mb-" + uuid.uuid4().hex[:12]
    if port is None:
        port = sandbox.imaps_port if protocol == "imap" else sandbox.pop3s_port
    now = datetime.now(UTC)
    await store.collection(MAILBOXES).insert_one(
        {
            "_id": mailbox_id,
            "tenant_id": TENANT,
            "owner": "rep-1",
            "name": address,
            "email": address,
            "auth_method": "password",
            "incoming": {
                "protocol": protocol,
                "host": sandbox.host,
                "port": port,
                "security": security,
                "username": address,
                "password_enc": secrets.encrypt(TENANT, mailbox_id, "incoming_password", password),
                "batch_size": 50,
                "delete_processed_bounces": delete_processed_bounces,
            },
            "tls": {"verify": True, "ca_pem": sandbox.ca_pem},
            "state": state,
            "created_at": now,
            "updated_at": now,
        }
    )
    return mailbox_id


async def add_send(store: Store, mailbox_id: str, smtp_message_id: str) -> str:
    """A send on record whose Message-ID is `smtp_message_id`: its id is the header's
    local part, as for every send (mailroom.shared.sends.message_id_header)."""
    message_id = smtp_message_id.strip("<>").rpartition("@")[0]
    await store.collection(SENDS).insert_one(
        {
            "_id": message_id,
            "message_id": message_id,
            "tenant_id": TENANT,
            "mailbox_id": mailbox_id,
            "idempotency_key": message_id,
            "smtp_message_id": smtp_message_id,
            "status": "sent",
        }
    )
    return message_id


async def watching(store: Store, mailbox_id: str, folder: str = "INBOX") -> None:
    """Wait until the mailbox's folder has a cursor (its first scan is done)."""

    async def has_cursor() -> bool:
        doc = await store.collection(WATCH_CURSORS).find_one(
            {"mailbox_id": mailbox_id, "folder": folder}
        )
        return doc is not None

    await eventually(has_cursor, what=f"watching {mailbox_id}/{folder}")


async def cursor(store: Store, mailbox_id: str, folder: str = "INBOX") -> dict[str, Any]:
    doc = await store.collection(WATCH_CURSORS).find_one(
        {"mailbox_id": mailbox_id, "folder": folder}
    )
    return doc or {}


def reply_to(
    original: str,
    *,
    sender: str = "pat@customer.example",
    subject: str = "Re: hello",
    extra: str = "",
    body: str = "Yes, let's talk.",
) -> bytes:
    answer_id = f"<{uuid.uuid4().hex}@customer.example>"
    return (
        f"From: Pat Buyer <{sender}>\r\nTo: someone@mailroom.test\r\nSubject: {subject}\r\n"
        f"Message-ID: {answer_id}\r\nIn-Reply-To: {original}\r\nReferences: {original}\r\n"
        f"Date: Tue, 04 Mar 2025 10:00:00 +0000\r\n{extra}"
        f"Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    ).encode()


class SilentRelay:
    """A TCP relay in front of a real server that can go silent without closing.

    While silent it still reads (so the kernel acknowledges every byte) but passes
    nothing on in either direction, like a server that hangs with its sockets open.
    """

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.target_port = port
        self.port = 0
        self._speaking = asyncio.Event()
        self._speaking.set()
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._relay, self.host, 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    def go_silent(self) -> None:
        self._speaking.clear()

    def speak_again(self) -> None:
        self._speaking.set()

    async def close(self) -> None:
        self._speaking.set()
        if self._server is not None:
            self._server.close()
        for writer in self._writers:
            writer.close()

    async def _relay(
        self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter
    ) -> None:
        try:
            server_reader, server_writer = await asyncio.open_connection(
                self.host, self.target_port
            )
        except OSError:
            client_writer.close()
            return
        self._writers += [client_writer, server_writer]
        await asyncio.gather(
            self._pump(client_reader, server_writer),
            self._pump(server_reader, client_writer),
            return_exceptions=True,
        )

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                await self._speaking.wait()
                writer.write(data)
                await writer.drain()
        finally:
            writer.close()


async def imap_uids_and_flags(
    sandbox: Any, address: str, password: str, folder: str = "INBOX"
) -> dict[int, str]:
    """UID -> FLAGS of every message in a folder, read on a connection of the test's own."""
    client = await open_imap(
        sandbox.host, sandbox.imaps_port, "ssl", client_ssl_context(sandbox.ca_pem), 10.0
    )
    try:
        await imap_login(client, address, password)
        await imap_select(client, folder)
        response = await client.uid("fetch", "1:*", "(FLAGS)")
        found: dict[int, str] = {}
        for line in response.lines:
            if not isinstance(line, bytes):
                continue
            uid = re.search(rb"UID (\d+)", line)
            flags = re.search(rb"FLAGS \(([^)]*)\)", line)
            if uid and flags:
                found[int(uid.group(1))] = flags.group(1).decode()
        return found
    finally:
        await close_imap(client)


async def imap_set_seen(sandbox: Any, address: str, password: str, uid: int) -> None:
    client = await open_imap(
        sandbox.host, sandbox.imaps_port, "ssl", client_ssl_context(sandbox.ca_pem), 10.0
    )
    try:
        await imap_login(client, address, password)
        await imap_select(client)
        response = await client.uid("store", str(uid), "+FLAGS", r"(\Seen)")
        assert response.result == "OK", response
    finally:
        await close_imap(client)
