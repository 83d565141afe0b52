"""Fixtures of the sender's integration tests: settings, a running sender, mailboxes, IMAP."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import imaplib
import os
import ssl
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import httpx
import pytest

from mailroom.localinfra import MailSandbox, free_port
from mailroom.sender.main import serve
from mailroom.sender.settings import SenderSettings
from mailroom.shared.collections import MAILBOXES
from mailroom.shared.crypto import EnvelopeCipher
from mailroom.shared.mailboxes import MailboxSecrets
from mailroom.shared.settings import load_settings
from mailroom.shared.store import Store
from tests.integration.support.polling import eventually

KEY = os.urandom(32)
KEYS_SETTING = "k1:" + base64.b64encode(KEY).decode()


@pytest.fixture
def secrets() -> MailboxSecrets:
    return MailboxSecrets(EnvelopeCipher({"k1": KEY}, "k1"))


@pytest.fixture
def sender_env(
    rabbitmq_url: str, mongo_url: str, mongo_db_name: str, bus_namespace: str
) -> dict[str, str]:
    """The sender's settings as MAILROOM_* variables (for subprocesses) ..."""
    return {
        "MAILROOM_AMQP_URL": rabbitmq_url,
        "MAILROOM_MONGO_URL": mongo_url,
        "MAILROOM_MONGO_DB": mongo_db_name,
        "MAILROOM_BUS_NAMESPACE": bus_namespace,
        "MAILROOM_ENCRYPTION_KEYS": KEYS_SETTING,
        "MAILROOM_RETRY_DELAYS": "[0.2, 0.5, 1.0]",
        "MAILROOM_MAX_ATTEMPTS": "4",
        "MAILROOM_SENDER_HOLD_SECONDS": "0.5",
        "MAILROOM_SENDER_LEASE_SECONDS": "3",
        "MAILROOM_SENDER_MAILBOX_CACHE_SECONDS": "0",
        "MAILROOM_SENDER_SMTP_TIMEOUT_SECONDS": "10",
        "MAILROOM_DRAIN_SECONDS": "5",
        "MAILROOM_LOG_FORMAT": "text",
        "MAILROOM_LOG_LEVEL": "WARNING",
    }


@pytest.fixture
def sender_settings(sender_env: dict[str, str]) -> SenderSettings:
    """... and as a settings object (for a sender running in the test's process)."""
    return load_settings(
        SenderSettings,
        amqp_url=sender_env["MAILROOM_AMQP_URL"],
        mongo_url=sender_env["MAILROOM_MONGO_URL"],
        mongo_db=sender_env["MAILROOM_MONGO_DB"],
        bus_namespace=sender_env["MAILROOM_BUS_NAMESPACE"],
        encryption_keys=KEYS_SETTING,
        retry_delays=(0.2, 0.5, 1.0),
        max_attempts=4,
        hold_seconds=0.5,
        lease_seconds=3,
        mailbox_cache_seconds=0,
        smtp_timeout_seconds=10,
        drain_seconds=5,
        http_port=free_port(),
        http_host="127.0.0.1",
    )


async def wait_ready(port: int, timeout: float = 60.0) -> None:
    async def ready() -> bool:
        try:
            async with httpx.AsyncClient() as client:
                response = await client.get(f"http://127.0.0.1:{port}/readyz", timeout=2)
        except httpx.HTTPError:
            return False
        return response.status_code == 200 and "consumer" in response.json()["checks"]

    await eventually(ready, timeout, "the sender to be ready")


async def retries_scheduled(port: int, reason: str) -> float:
    """How often the sender on `port` put a request back to wait for `reason`
    (`rate_limited`, `mailbox_held`), read from its /metrics."""
    async with httpx.AsyncClient() as client:
        response = await client.get(f"http://127.0.0.1:{port}/metrics")
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in response.text.splitlines()
        if line.startswith("mailroom_sender_retries_scheduled_total{")
        and f'reason="{reason}"' in line
    )


@pytest.fixture
async def running_sender(sender_settings: SenderSettings) -> AsyncIterator[SenderSettings]:
    """The sender service running in this process until the test ends."""
    stop = asyncio.Event()
    task = asyncio.create_task(serve(sender_settings, stop))
    try:
        await wait_ready(sender_settings.http_port)
        yield sender_settings
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


@pytest.fixture
async def store(mongo_url: str, mongo_db_name: str) -> AsyncIterator[Store]:
    store = Store(mongo_url, mongo_db_name, app_name="test")
    await store.connect()
    yield store
    await store.close()


@dataclass
class MailboxFactory:
    store: Store
    secrets: MailboxSecrets
    sandbox: MailSandbox

    async def create(self, **overrides: Any) -> str:
        """A mailbox of tenant t1 sending as demo@ through the sandbox's submission port."""
        mailbox_id = str(overrides.pop("mailbox_id", f"mb_{uuid.uuid4().hex[:10]}"))
        password = overrides.pop("password", "demo-password")
        now = datetime.now(UTC)
        doc: dict[str, Any] = {
            "_id": mailbox_id,
            "tenant_id": "t1",
            "owner": "u1",
            "name": "Demo",
            "email": "demo@mailroom.test",
            "display_name": "Démo Sender",
            "reply_to": "replies@mailroom.test",
            "reply_to_name": "Replies Desk",
            "auth_method": "password",
            "smtp": {
                "host": "127.0.0.1",
                "port": self.sandbox.submission_port,
                "security": "starttls",
                "authenticate": True,
                "username": "demo@mailroom.test",
                "password_enc": self.secrets.encrypt("t1", mailbox_id, "smtp_password", password),
            },
            "incoming": {
                "protocol": "imap",
                "host": "127.0.0.1",
                "port": self.sandbox.imaps_port,
                "security": "ssl",
                "username": "demo@mailroom.test",
                "password_enc": self.secrets.encrypt(
                    "t1", mailbox_id, "incoming_password", "demo-password"
                ),
            },
            "tls": {"verify": True, "ca_pem": self.sandbox.ca_pem},
            "state": "connected",
            "created_at": now,
            "updated_at": now,
        }
        doc.update(overrides)
        await self.store.collection(MAILBOXES).insert_one(doc)
        return mailbox_id

    async def enter_the_right_password(self, mailbox_id: str) -> None:
        """The user fixes the mailbox's SMTP password (what the API does on PATCH)."""
        password = self.sandbox.users["demo@mailroom.test"]
        await self.store.collection(MAILBOXES).update_one(
            {"_id": mailbox_id},
            {
                "$set": {
                    "smtp.password_enc": self.secrets.encrypt(
                        "t1", mailbox_id, "smtp_password", password
                    ),
                    "updated_at": datetime.now(UTC),
                }
            },
        )


@pytest.fixture
def mailboxes(store: Store, secrets: MailboxSecrets, mail_sandbox: MailSandbox) -> MailboxFactory:
    return MailboxFactory(store, secrets, mail_sandbox)


@pytest.fixture
def recipient(mail_sandbox: MailSandbox) -> str:
    """A fresh user of the sandbox, so the test counts only its own messages."""
    address = f"rcpt-{uuid.uuid4().hex[:8]}@{mail_sandbox.domain}"
    mail_sandbox.add_user(address, "rcpt-password")
    return address


def fetch_inbox(sandbox: MailSandbox, address: str, password: str) -> list[EmailMessage]:
    """Every message in the user's INBOX, parsed (blocking: run it in a thread)."""
    context = ssl.create_default_context(cafile=str(sandbox.ca_pem_path))
    with imaplib.IMAP4_SSL(sandbox.host, sandbox.imaps_port, ssl_context=context) as imap:
        imap.login(address, password)
        imap.select("INBOX", readonly=True)
        _, data = imap.uid("SEARCH", "ALL")
        uids = data[0].split() if data and data[0] else []
        messages: list[EmailMessage] = []
        for uid in uids:
            _, parts = imap.uid("FETCH", uid, "(BODY.PEEK[])")
            for part in parts:
                if isinstance(part, tuple):
                    parsed = message_from_bytes(part[1], policy=policy.default)
                    assert isinstance(parsed, EmailMessage)
                    messages.append(parsed)
        return messages


def fetch_by_uid(
    sandbox: MailSandbox, address: str, password: str, folder: str, uid: int
) -> tuple[EmailMessage, bytes]:
    """One message of a folder by UID, parsed, with its FLAGS (blocking: run it in a thread)."""
    context = ssl.create_default_context(cafile=str(sandbox.ca_pem_path))
    with imaplib.IMAP4_SSL(sandbox.host, sandbox.imaps_port, ssl_context=context) as imap:
        imap.login(address, password)
        imap.select(folder, readonly=True)
        _, parts = imap.uid("FETCH", str(uid), "(FLAGS BODY.PEEK[])")
        for part in parts:
            if isinstance(part, tuple):
                parsed = message_from_bytes(part[1], policy=policy.default)
                assert isinstance(parsed, EmailMessage)
                return parsed, part[0]
        raise AssertionError(f"no message with UID {uid} in {folder}: {parts!r}")


async def inbox(sandbox: MailSandbox, address: str, password: str) -> list[EmailMessage]:
    with contextlib.suppress(imaplib.IMAP4.error):
        return await asyncio.to_thread(fetch_inbox, sandbox, address, password)
    return []


async def inbox_holding(
    sandbox: MailSandbox, address: str, password: str, count: int
) -> list[EmailMessage] | None:
    """The INBOX once it holds at least `count` messages, else None (for `eventually`)."""
    messages = await inbox(sandbox, address, password)
    return messages if len(messages) >= count else None
