"""Mailroom's two loops on real servers, with the services running together.

Bounces: sender → Postfix → (unknown user) → a real DSN in the sender's own inbox
→ watcher → bounce service → suppression → the sender refuses the next send.
Replies: sender → Postfix → the recipient answers from their own mail program →
watcher → `email.reply.received` naming the message that was answered.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from mailroom.bounce.main import serve as serve_bounce
from mailroom.bounce.settings import BounceSettings
from mailroom.localinfra import MailSandbox
from mailroom.sender.main import serve as serve_sender
from mailroom.sender.settings import SenderSettings
from mailroom.shared.bus import Bus
from mailroom.shared.collections import MAILBOXES, SENDS, SUPPRESSIONS, WATCH_CURSORS
from mailroom.shared.contracts import Address, SendEmail
from mailroom.shared.crypto import EnvelopeCipher
from mailroom.shared.mailboxes import MailboxSecrets
from mailroom.shared.metrics import BusMetrics, new_registry
from mailroom.shared.settings import load_settings
from mailroom.shared.store import Store
from mailroom.watcher.main import serve as serve_watcher
from mailroom.watcher.settings import WatcherSettings
from tests.integration.support.events import EventTap
from tests.integration.support.polling import eventually
from tests.integration.support.services import free_port, running_service

pytestmark = pytest.mark.e2e

ALICE = "alice@mailroom.test"


@pytest.fixture
def common(
    rabbitmq_url: str, mongo_url: str, mongo_db_name: str, bus_namespace: str
) -> dict[str, object]:
    return {
        "amqp_url": rabbitmq_url,
        "mongo_url": mongo_url,
        "mongo_db": mongo_db_name,
        "bus_namespace": bus_namespace,
        "encryption_keys": f"k1:{base64.b64encode(os.urandom(32)).decode()}",
        "retry_delays": (0.5,),
    }


@pytest.fixture
async def store(common: dict[str, object]) -> AsyncIterator[Store]:
    store = Store(str(common["mongo_url"]), str(common["mongo_db"]), app_name="test")
    yield store
    await store.close()


async def add_alice_mailbox(store: Store, sandbox: MailSandbox, cipher: EnvelopeCipher) -> str:
    secrets = MailboxSecrets(cipher)
    mailbox_id = f"mbx_{uuid.uuid4().hex[:8]}"
    password = sandbox.users[ALICE]
    now = datetime.now(UTC)
    await store.collection(MAILBOXES).insert_one(
        {
            "_id": mailbox_id,
            "tenant_id": "t1",
            "owner": "u1",
            "name": "Alice",
            "email": ALICE,
            "display_name": "Alice",
            "state": "connected",
            "created_at": now,
            "updated_at": now,
            "smtp": {
                "host": sandbox.host,
                "port": sandbox.submission_port,
                "security": "starttls",
                "authenticate": True,
                "username": ALICE,
                "password_enc": secrets.encrypt("t1", mailbox_id, "smtp_password", password),
            },
            "incoming": {
                "protocol": "imap",
                "host": sandbox.host,
                "port": sandbox.imaps_port,
                "security": "ssl",
                "username": ALICE,
                "batch_size": 50,
                "delete_processed_bounces": False,
                "password_enc": secrets.encrypt("t1", mailbox_id, "incoming_password", password),
            },
            "tls": {"verify": True, "ca_pem": sandbox.ca_pem},
        }
    )
    return mailbox_id


def send(mailbox_id: str, to: str, key: str) -> SendEmail:
    return SendEmail(
        idempotency_key=key,
        tenant_id="t1",
        mailbox_id=mailbox_id,
        to=[Address(email=to)],
        subject="Checking in",
        text="Are you there?",
    )


async def sent_event(tap: EventTap, store: Store, request: SendEmail) -> dict[str, object]:
    """The `email.sent` of `request`; when it does not come, what the sender recorded of it."""
    try:
        [sent] = await tap.wait_for("email.sent", timeout=30)
    except AssertionError as exc:
        record = await store.collection(SENDS).find_one({"_id": request.message_id})
        raise AssertionError(f"{exc}; the send on record: {record}") from None
    return sent


@contextlib.asynccontextmanager
async def platform_watching_alice(
    sandbox: MailSandbox,
    common: dict[str, object],
    store: Store,
    routing_keys: list[str],
    *,
    with_bounce: bool,
) -> AsyncIterator[tuple[str, Bus, EventTap]]:
    """Sender, watcher (and bounce service) running, Alice's inbox watched; yields her id."""
    kid, _, key = str(common["encryption_keys"]).partition(":")
    cipher = EnvelopeCipher({kid: base64.b64decode(key)}, kid)
    mailbox_id = await add_alice_mailbox(store, sandbox, cipher)
    amqp_url, namespace = str(common["amqp_url"]), str(common["bus_namespace"])
    bus = Bus(amqp_url, namespace=namespace, service="test", metrics=BusMetrics(new_registry()))
    await bus.connect()
    async with contextlib.AsyncExitStack() as stack:
        stack.push_async_callback(bus.close)
        tap = await stack.enter_async_context(EventTap(amqp_url, namespace, routing_keys))
        if with_bounce:
            bounce = load_settings(BounceSettings, **common, http_port=free_port())
            await stack.enter_async_context(running_service(serve_bounce, bounce))
        watcher = load_settings(
            WatcherSettings, **common, http_port=free_port(), lease_seconds=6, heartbeat_seconds=1
        )
        await stack.enter_async_context(running_service(serve_watcher, watcher))
        sender = load_settings(SenderSettings, **common, http_port=free_port())
        await stack.enter_async_context(running_service(serve_sender, sender))

        async def watching() -> bool:
            cursors = store.collection(WATCH_CURSORS)
            found = await cursors.count_documents({"mailbox_id": mailbox_id, "folder": "INBOX"})
            return found > 0

        await eventually(watching, timeout=60)
        yield mailbox_id, bus, tap


async def test_a_dsn_for_a_dead_address_suppresses_it_and_the_next_send_is_refused(
    mail_sandbox: MailSandbox, common: dict[str, object], store: Store
) -> None:
    dead = f"left-the-company-{uuid.uuid4().hex[:6]}@{mail_sandbox.domain}"
    keys = ["email.sent", "email.failed", "contact.bounced", "email.bounce.received"]
    async with platform_watching_alice(mail_sandbox, common, store, keys, with_bounce=True) as (
        mailbox_id,
        bus,
        tap,
    ):
        first = send(mailbox_id, dead, "first")
        await bus.publish(first)
        sent = await sent_event(tap, store, first)
        assert sent["message_id"] == first.message_id

        [bounced] = await tap.wait_for("contact.bounced", timeout=60)
        assert bounced["email"] == dead
        assert (bounced["kind"], bounced["reason"]) == ("hard", "userunknown")
        assert bounced["suppressed"] is True
        assert bounced["message_id"] == first.message_id
        suppressions = store.collection(SUPPRESSIONS)
        assert await suppressions.count_documents({"tenant_id": "t1", "email": dead}) == 1

        await bus.publish(send(mailbox_id, dead, "second"))
        [failed] = await tap.wait_for("email.failed", timeout=30)
        assert failed["reason"] == "suppressed"
        assert len(tap.named("email.sent")) == 1


async def test_a_human_reply_to_a_sent_message_is_reported_once_with_its_origin(
    mail_sandbox: MailSandbox, common: dict[str, object], store: Store
) -> None:
    demo = f"demo@{mail_sandbox.domain}"
    keys = ["email.sent", "email.reply.received"]
    async with platform_watching_alice(mail_sandbox, common, store, keys, with_bounce=False) as (
        mailbox_id,
        bus,
        tap,
    ):
        original = send(mailbox_id, demo, "to-demo")
        await bus.publish(original)
        sent = await sent_event(tap, store, original)
        await asyncio.to_thread(reply_from_demo, mail_sandbox, sent["message_id_header"])

        [reply] = await tap.wait_for("email.reply.received", timeout=30)
        assert reply["message_id"] == original.message_id
        assert reply["from_email"] == demo
        assert reply["auto_reply"] is False
        assert "Sounds good" in reply["snippet"]
        assert reply["folder"] == "INBOX"
    assert len(tap.named("email.reply.received")) == 1


def reply_from_demo(sandbox: MailSandbox, in_reply_to: str) -> None:
    """Demo answers from an ordinary mail program: submission, STARTTLS, AUTH."""
    import smtplib
    import ssl
    from email.message import EmailMessage

    demo = f"demo@{sandbox.domain}"
    message = EmailMessage()
    message["From"] = demo
    message["To"] = ALICE
    message["Subject"] = "Re: Checking in"
    message["In-Reply-To"] = in_reply_to
    message["References"] = in_reply_to
    message.set_content("Sounds good, let's talk on Tuesday.")
    context = ssl.create_default_context(cafile=str(sandbox.ca_pem_path))
    with smtplib.SMTP(sandbox.host, sandbox.submission_port, timeout=10) as smtp:
        smtp.starttls(context=context)
        smtp.login(demo, sandbox.users[demo])
        smtp.send_message(message)
