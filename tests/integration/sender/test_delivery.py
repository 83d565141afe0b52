"""The sender against real RabbitMQ, MongoDB, Postfix and Dovecot."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest

from mailroom.localinfra import MailSandbox
from mailroom.sender.settings import SenderSettings
from mailroom.shared.bus import Bus
from mailroom.shared.collections import MAILBOXES, SENDS, SUPPRESSIONS
from mailroom.shared.contracts import Address, SendEmail
from mailroom.shared.metrics import BusMetrics, new_registry
from mailroom.shared.sends import load_send
from mailroom.shared.store import Store
from tests.integration.sender.conftest import MailboxFactory, fetch_by_uid, inbox, inbox_holding
from tests.integration.support.events import EventTap
from tests.integration.support.polling import eventually

pytestmark = pytest.mark.integration

RESULTS = ["email.sent", "email.failed", "email.deferred", "email.bounce.received"]
RCPT_PASSWORD = "rcpt-password"


async def publisher(settings: SenderSettings) -> Bus:
    bus = Bus(
        settings.amqp_url.get_secret_value(),
        namespace=settings.bus_namespace,
        service="test-producer",
        metrics=BusMetrics(new_registry()),
    )
    await bus.connect()
    return bus


async def publish_and_wait(
    settings: SenderSettings, request: SendEmail, result: str
) -> tuple[dict[str, Any], EventTap]:
    """Publish one send request; its first `result` event, and the tap with all it saw."""
    async with EventTap(
        settings.amqp_url.get_secret_value(), settings.bus_namespace, RESULTS
    ) as tap:
        bus = await publisher(settings)
        await bus.publish(request)
        event = (await tap.wait_for(result, timeout=30))[0]
        await bus.close()
    return event, tap


def send_request(mailbox_id: str, to: str, **extra: Any) -> SendEmail:
    fields: dict[str, Any] = {
        "idempotency_key": uuid.uuid4().hex,
        "tenant_id": "t1",
        "mailbox_id": mailbox_id,
        "to": [Address(email=to, name="Ålice Recipient")],
        "subject": "Grüße aus Mailroom",
        "text": "Hello Alice,\nthis is the text part.\n",
        "html": "<p>Hello Alice, this is the <b>HTML</b> part.</p>",
        "metadata": {"campaign": "c-42"},
    }
    fields.update(extra)
    return SendEmail(**fields)


async def test_message_arrives_with_headers_and_both_bodies(
    running_sender: SenderSettings,
    mailboxes: MailboxFactory,
    mail_sandbox: MailSandbox,
    recipient: str,
    store: Store,
) -> None:
    mailbox_id = await mailboxes.create()
    request = send_request(mailbox_id, recipient, list_unsubscribe="<https://u.example/1>")
    sent, _tap = await publish_and_wait(running_sender, request, "email.sent")

    assert sent["message_id"] == request.message_id
    assert sent["metadata"] == {"campaign": "c-42"}
    assert sent["smtp_reply"].startswith("250")
    message_id_header = f"<{request.message_id}@mailroom.test>"
    assert sent["message_id_header"] == message_id_header

    messages = await eventually(
        lambda: inbox(mail_sandbox, recipient, RCPT_PASSWORD), what="the message in the inbox"
    )
    assert len(messages) == 1
    message = messages[0]
    author = message["From"].addresses[0]
    assert (author.display_name, author.addr_spec) == ("Démo Sender", "demo@mailroom.test")
    reply_to = message["Reply-To"].addresses[0]
    assert (reply_to.display_name, reply_to.addr_spec) == ("Replies Desk", "replies@mailroom.test")
    assert message["To"].addresses[0].display_name == "Ålice Recipient"
    assert message["Subject"] == "Grüße aus Mailroom"
    assert message["Message-ID"] == message_id_header
    assert message["List-Unsubscribe"] == "<https://u.example/1>"
    plain = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert plain is not None and html is not None
    assert plain.get_content().replace("\r\n", "\n") == request.text
    assert html.get_content().replace("\r\n", "\n") == request.html

    record = await load_send(store, request.message_id)
    assert record is not None
    assert record["status"] == "sent"
    assert record["lease_owner"] is None  # finished: nobody works on it any more
    assert [step["status"] for step in record["timeline"]] == ["accepted", "sending", "sent"]


async def test_a_copy_is_filed_in_the_sent_folder_when_the_mailbox_asks(
    running_sender: SenderSettings,
    mailboxes: MailboxFactory,
    mail_sandbox: MailSandbox,
    recipient: str,
    store: Store,
) -> None:
    mailbox_id = await mailboxes.create(save_sent_copy=True)
    request = send_request(mailbox_id, recipient)
    sent, _tap = await publish_and_wait(running_sender, request, "email.sent")

    # The server's APPENDUID (UIDPLUS) names the copy: it is this very message, read.
    uid = sent["sent_folder_uid"]
    assert isinstance(uid, int)
    copy, flags = await asyncio.to_thread(
        fetch_by_uid, mail_sandbox, "demo@mailroom.test", "demo-password", "Sent", uid
    )
    assert copy["Message-ID"] == f"<{request.message_id}@mailroom.test>"
    assert copy["To"] == f"Ålice Recipient <{recipient}>"
    assert b"\\Seen" in flags
    record = await load_send(store, request.message_id)
    assert record is not None and record["sent_folder_uid"] == uid


async def test_no_copy_is_filed_unless_the_mailbox_asks(
    running_sender: SenderSettings, mailboxes: MailboxFactory, recipient: str
) -> None:
    mailbox_id = await mailboxes.create()
    sent, _tap = await publish_and_wait(
        running_sender, send_request(mailbox_id, recipient), "email.sent"
    )

    assert sent["sent_folder_uid"] is None


async def test_from_override_uses_the_contact_fields(
    running_sender: SenderSettings,
    mailboxes: MailboxFactory,
    mail_sandbox: MailSandbox,
    recipient: str,
) -> None:
    mailbox_id = await mailboxes.create(
        from_override={"address_field": "owner_email", "name_field": "owner_name"}
    )
    request = send_request(
        mailbox_id,
        recipient,
        contact={"owner_email": "rep@mailroom.test", "owner_name": "Rép Owner"},
    )
    bus = await publisher(running_sender)
    await bus.publish(request)
    await bus.close()
    messages = await eventually(lambda: inbox(mail_sandbox, recipient, RCPT_PASSWORD))
    author = messages[0]["From"].addresses[0]
    assert (author.display_name, author.addr_spec) == ("Rép Owner", "rep@mailroom.test")
    assert messages[0]["Sender"].addresses[0].addr_spec == "demo@mailroom.test"


async def test_the_same_request_published_twice_arrives_once(
    running_sender: SenderSettings,
    mailboxes: MailboxFactory,
    mail_sandbox: MailSandbox,
    recipient: str,
) -> None:
    mailbox_id = await mailboxes.create()
    request = send_request(mailbox_id, recipient)
    again = SendEmail.model_validate(request.model_dump() | {"event_id": uuid.uuid4().hex})
    async with EventTap(
        running_sender.amqp_url.get_secret_value(), running_sender.bus_namespace, RESULTS
    ) as tap:
        bus = await publisher(running_sender)
        await bus.publish_many([request, again, request])
        await tap.wait_for("email.sent", timeout=30)
        # A later duplicate, after the first was sent, is recognised too.
        await bus.publish(again)
        await eventually(
            lambda: inbox(mail_sandbox, recipient, RCPT_PASSWORD), what="the first copy"
        )
        await bus.close()
        # Let every delivery (the first and three duplicates) run through before counting.
        await eventually(lambda: _handled(running_sender, 4), what="the duplicates to be handled")
    messages = await inbox(mail_sandbox, recipient, RCPT_PASSWORD)
    assert len(messages) == 1
    # A duplicate after the outcome publishes the same result again: one event id.
    assert len({e["event_id"] for e in tap.named("email.sent")}) == 1
    assert tap.named("email.failed") == []


async def _handled(settings: SenderSettings, count: int) -> bool:
    """The sender's bus consumer acked `count` messages (its own /metrics says so)."""
    async with httpx.AsyncClient() as client:
        response = await client.get(f"http://127.0.0.1:{settings.http_port}/metrics")
    total = 0.0
    for line in response.text.splitlines():
        if line.startswith("mailroom_bus_messages_total{") and 'outcome="ok"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total >= count


async def test_suppressed_recipient_is_not_sent_to(
    running_sender: SenderSettings,
    mailboxes: MailboxFactory,
    mail_sandbox: MailSandbox,
    recipient: str,
    store: Store,
) -> None:
    mailbox_id = await mailboxes.create()
    await store.collection(SUPPRESSIONS).insert_one({"tenant_id": "t1", "email": recipient})
    request = send_request(mailbox_id, recipient)
    failed, tap = await publish_and_wait(running_sender, request, "email.failed")
    assert failed["reason"] == "suppressed"
    assert failed["recipients"] == [recipient]
    assert tap.named("email.sent") == []
    assert await inbox(mail_sandbox, recipient, RCPT_PASSWORD) == []


async def test_wrong_password_holds_until_the_mailbox_is_fixed(
    running_sender: SenderSettings,
    mailboxes: MailboxFactory,
    mail_sandbox: MailSandbox,
    recipient: str,
    store: Store,
) -> None:
    mailbox_id = await mailboxes.create(password="not-the-password")
    requests = [send_request(mailbox_id, recipient) for _ in range(3)]
    async with EventTap(
        running_sender.amqp_url.get_secret_value(),
        running_sender.bus_namespace,
        [*RESULTS, "mailbox.state_changed"],
    ) as tap:
        bus = await publisher(running_sender)
        await bus.publish_many(requests)
        changed = (await tap.wait_for("mailbox.state_changed", timeout=30))[0]
        assert changed["new_state"] == "auth_failed"

        async def all_held() -> bool:
            held = await store.collection(SENDS).count_documents({"status": "held"})
            return held == len(requests)

        await eventually(all_held, what="every message to be held")
        assert tap.named("email.failed") == []

        await mailboxes.enter_the_right_password(mailbox_id)
        sent = await tap.wait_for("email.sent", count=len(requests), timeout=30)
        await bus.close()
    assert {e["message_id"] for e in sent} == {r.message_id for r in requests}
    mailbox = await store.collection(MAILBOXES).find_one({"_id": mailbox_id})
    assert mailbox is not None and mailbox["state"] == "connected"
    messages = await eventually(
        lambda: inbox_holding(mail_sandbox, recipient, RCPT_PASSWORD, len(requests))
    )
    assert len(messages) == len(requests)
