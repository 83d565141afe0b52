"""The bounce service on real RabbitMQ and MongoDB, fed a real Postfix DSN."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import imaplib
import smtplib
import ssl
import time
import uuid
from collections.abc import AsyncIterator
from email.message import EmailMessage
from typing import Any

import pytest

from mailroom.bounce.main import serve
from mailroom.bounce.settings import BounceSettings
from mailroom.localinfra import MailSandbox
from mailroom.shared.bus import Bus
from mailroom.shared.collections import BOUNCES, CONTACTS, SENDS, SUPPRESSIONS
from mailroom.shared.contracts import BounceReceived, MailLocation
from mailroom.shared.metrics import BusMetrics, new_registry
from mailroom.shared.sends import message_id_header
from mailroom.shared.settings import load_settings
from mailroom.shared.store import Store
from tests.integration.support.events import EventTap
from tests.integration.support.services import free_port, running_service

pytestmark = pytest.mark.integration

ALICE = "alice@mailroom.test"


def dsn_for_unknown_user(sandbox: MailSandbox, message_id_header: str) -> bytes:
    """Send to a user that does not exist; return the DSN Postfix puts in Alice's inbox."""
    context = ssl.create_default_context(cafile=str(sandbox.ca_pem_path))
    marker = uuid.uuid4().hex
    message = EmailMessage()
    message["From"] = ALICE
    message["To"] = f"nobody-{marker}@{sandbox.domain}"
    message["Subject"] = f"hello {marker}"
    message["Message-ID"] = message_id_header
    message.set_content("Are you there?")
    with smtplib.SMTP(sandbox.host, sandbox.submission_port, timeout=10) as smtp:
        smtp.starttls(context=context)
        smtp.login(ALICE, sandbox.users[ALICE])
        smtp.send_message(message)
    with imaplib.IMAP4_SSL(sandbox.host, sandbox.imaps_port, ssl_context=context) as imap:
        imap.login(ALICE, sandbox.users[ALICE])
        for _ in range(200):
            imap.select("INBOX", readonly=True)
            _, found = imap.search(None, "BODY", marker)
            if found[0]:
                uid = found[0].split()[-1]
                _, data = imap.fetch(uid, "(BODY.PEEK[])")
                raw = data[0]
                assert isinstance(raw, tuple)
                return bytes(raw[1])
            imap.noop()
            time.sleep(0.1)
    raise AssertionError("no DSN arrived in Alice's inbox")


@pytest.fixture
def settings(
    rabbitmq_url: str, mongo_url: str, mongo_db_name: str, bus_namespace: str
) -> BounceSettings:
    return load_settings(
        BounceSettings,
        amqp_url=rabbitmq_url,
        mongo_url=mongo_url,
        mongo_db=mongo_db_name,
        bus_namespace=bus_namespace,
        http_port=free_port(),
        soft_bounce_threshold=3,
        retry_delays=(0.2,),
    )


@pytest.fixture
async def store(settings: BounceSettings) -> AsyncIterator[Store]:
    store = Store(settings.mongo_url.get_secret_value(), settings.mongo_db, app_name="test")
    yield store
    await store.close()


@pytest.fixture
async def bus(settings: BounceSettings) -> AsyncIterator[Bus]:
    bus = Bus(
        settings.amqp_url.get_secret_value(),
        namespace=settings.bus_namespace,
        service="test",
        metrics=BusMetrics(new_registry()),
    )
    await bus.connect()
    yield bus
    await bus.close()


def smtp_rejection(
    tenant: str, recipient: str, code: int, status: str, text: str
) -> BounceReceived:
    return BounceReceived(
        tenant_id=tenant,
        mailbox_id="mb1",
        source="smtp",
        recipient=recipient,
        smtp_code=code,
        enhanced_status=status,
        diagnostic=text,
    )


async def wait_count(store: Store, collection: str, query: dict[str, Any], count: int) -> None:
    for _ in range(400):
        if await store.collection(collection).count_documents(query) >= count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"expected {count} {collection} documents matching {query}")


@contextlib.asynccontextmanager
async def bounce_service(
    settings: BounceSettings, routing_keys: list[str]
) -> AsyncIterator[EventTap]:
    """The bounce service running, and a tap on the events it publishes."""
    async with (
        running_service(serve, settings),
        EventTap(settings.amqp_url.get_secret_value(), settings.bus_namespace, routing_keys) as tap,
    ):
        yield tap


async def test_a_real_postfix_dsn_marks_the_contact_hard_bounced_and_suppresses_it(
    mail_sandbox: MailSandbox, settings: BounceSettings, store: Store, bus: Bus
) -> None:
    sent_id = f"msg_{uuid.uuid4().hex}"
    header = message_id_header(sent_id, "mailroom.test")
    raw = await asyncio.to_thread(dsn_for_unknown_user, mail_sandbox, header)
    await store.collection(SENDS).insert_one(
        {"_id": sent_id, "tenant_id": "t1", "mailbox_id": "mb1", "smtp_message_id": header}
    )
    location = MailLocation(protocol="imap", folder="INBOX", uidvalidity=1, uid=7)
    async with bounce_service(settings, ["contact.bounced", "email.bounce.processed"]) as tap:
        await bus.publish(
            BounceReceived(
                tenant_id="t1",
                mailbox_id="mb1",
                source="mailbox",
                raw_b64=base64.b64encode(raw).decode(),
                location=location,
            )
        )
        [bounced] = await tap.wait_for("contact.bounced")
        [processed] = await tap.wait_for("email.bounce.processed")
    assert bounced["email"].startswith("nobody-") and bounced["email"].endswith("@mailroom.test")
    assert (bounced["kind"], bounced["reason"], bounced["status"]) == (
        "hard",
        "userunknown",
        "5.1.1",
    )
    assert bounced["suppressed"] is True and bounced["contact_state"] == "hard_bounced"
    assert bounced["message_id"] == sent_id
    assert processed["is_bounce"] is True and processed["location"]["uid"] == 7
    contact = await store.collection(CONTACTS).find_one(
        {"tenant_id": "t1", "email": bounced["email"]}
    )
    assert contact is not None and contact["state"] == "hard_bounced"
    assert [h["reason"] for h in contact["history"]] == ["userunknown"]
    assert (
        await store.collection(SUPPRESSIONS).count_documents(
            {"tenant_id": "t1", "email": bounced["email"]}
        )
        == 1
    )
    # Another tenant mailing the same address is not affected.
    assert await store.collection(SUPPRESSIONS).count_documents({"tenant_id": "t2"}) == 0


async def test_soft_bounces_count_and_suppress_only_past_the_threshold(
    settings: BounceSettings, store: Store, bus: Bus
) -> None:
    full = "bob@example.org"
    async with bounce_service(settings, ["contact.bounced"]) as tap:
        for n in range(1, 4):
            await bus.publish(smtp_rejection("t1", full, 452, "4.2.2", "Mailbox full, try later"))
            events = await tap.wait_for("contact.bounced", n)
            assert events[-1]["kind"] == "soft" and events[-1]["reason"] == "mailboxfull"
            assert events[-1]["suppressed"] is (n == 3), f"after {n} soft bounces"
    contact = await store.collection(CONTACTS).find_one({"tenant_id": "t1", "email": full})
    assert contact is not None and contact["state"] == "soft_bouncing"
    assert len(contact["history"]) == 3


async def test_an_out_of_office_reply_is_not_a_bounce(
    settings: BounceSettings, store: Store, bus: Bus
) -> None:
    ooo = (
        b"From: Carol <carol@example.org>\r\nTo: alice@mailroom.test\r\n"
        b"Subject: Out of office: hello\r\nAuto-Submitted: auto-replied\r\n"
        b"Message-ID: <ooo-1@example.org>\r\nContent-Type: text/plain\r\n\r\n"
        b"I am away until Monday with limited access to email.\r\n"
    )
    async with bounce_service(settings, ["contact.bounced", "email.bounce.processed"]) as tap:
        await bus.publish(
            BounceReceived(
                tenant_id="t1",
                mailbox_id="mb1",
                source="mailbox",
                raw_b64=base64.b64encode(ooo).decode(),
            )
        )
        [processed] = await tap.wait_for("email.bounce.processed")
    assert processed["is_bounce"] is False and processed["category"] == "vacation"
    assert tap.named("contact.bounced") == []
    assert await store.collection(CONTACTS).count_documents({}) == 0


async def test_a_hard_bounce_in_one_tenant_leaves_the_other_tenant_free_to_send(
    settings: BounceSettings, store: Store, bus: Bus
) -> None:
    gone = "gone@example.org"
    async with running_service(serve, settings):
        await bus.publish(smtp_rejection("t1", gone, 550, "5.1.1", "User unknown"))
        await wait_count(store, SUPPRESSIONS, {"tenant_id": "t1", "email": gone}, 1)
    assert await store.collection(SUPPRESSIONS).count_documents({"email": gone}) == 1
    assert await store.collection(CONTACTS).count_documents({"tenant_id": "t2"}) == 0


async def test_a_redelivered_bounce_event_is_recorded_once(
    settings: BounceSettings, store: Store, bus: Bus
) -> None:
    event = smtp_rejection("t1", "dup@example.org", 452, "4.2.2", "Mailbox full")
    async with bounce_service(settings, ["contact.bounced"]) as tap:
        await bus.publish(event)
        await bus.publish(event)  # the same event id, as a redelivery would carry
        # Both deliveries are answered (consumers downstream are idempotent too).
        await tap.wait_for("contact.bounced", 2)
    assert await store.collection(BOUNCES).count_documents({"email": "dup@example.org"}) == 1
    contact = await store.collection(CONTACTS).find_one({"email": "dup@example.org"})
    assert contact is not None and len(contact["history"]) == 1


ARF_REPORT = (
    b"From: feedback@isp.example\r\nTo: fbl@mailroom.test\r\n"
    b"Subject: Complaint about message from 192.0.2.1\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/report; report-type=feedback-report; boundary="arf"\r\n\r\n'
    b"--arf\r\nContent-Type: text/plain\r\n\r\nThis is an email abuse report.\r\n"
    b"--arf\r\nContent-Type: message/feedback-report\r\n\r\n"
    b"Feedback-Type: abuse\r\nUser-Agent: SomeISP-FBL/1.0\r\nVersion: 1\r\n"
    b"Original-Rcpt-To: <erin@isp.example>\r\n\r\n"
    b"--arf\r\nContent-Type: message/rfc822\r\n\r\n"
    b"From: alice@mailroom.test\r\nTo: erin@isp.example\r\nSubject: Offer\r\n"
    b"Message-ID: <msg_offer@mailroom.test>\r\n\r\nBuy now.\r\n"
    b"--arf--\r\n"
)


async def test_a_spam_complaint_suppresses_the_address_and_is_not_counted_as_a_bounce(
    settings: BounceSettings, store: Store, bus: Bus
) -> None:
    await store.collection(SENDS).insert_one(
        {
            "_id": "msg_offer",
            "tenant_id": "t1",
            "mailbox_id": "mb1",
            "smtp_message_id": "<msg_offer@mailroom.test>",
        }
    )
    async with bounce_service(settings, ["contact.*", "email.bounce.processed"]) as tap:
        await bus.publish(
            BounceReceived(
                tenant_id="t1",
                mailbox_id="mb1",
                source="mailbox",
                raw_b64=base64.b64encode(ARF_REPORT).decode(),
            )
        )
        [complained] = await tap.wait_for("contact.complained")
        [processed] = await tap.wait_for("email.bounce.processed")
    assert complained["email"] == "erin@isp.example"
    assert complained["feedback_type"] == "abuse"
    assert complained["message_id"] == "msg_offer"
    assert complained["suppressed"] is True
    assert processed["is_bounce"] is False and processed["category"] == "feedback"
    assert tap.named("contact.bounced") == []
    contact = await store.collection(CONTACTS).find_one({"email": "erin@isp.example"})
    assert contact is not None and contact["state"] == "complained"
    assert contact["history"][0]["event"] == "complaint"
    assert (
        await store.collection(SUPPRESSIONS).count_documents(
            {"tenant_id": "t1", "email": "erin@isp.example"}
        )
        == 1
    )
