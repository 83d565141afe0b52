"""Replies from a real SMTP peer (aiosmtpd over TCP) that Postfix would not give on cue."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from mailroom.sender.settings import SenderSettings
from mailroom.shared.collections import MAILBOXES
from mailroom.shared.contracts import Address, SendEmail
from mailroom.shared.mailboxes import MailboxSecrets
from mailroom.shared.sends import load_send
from mailroom.shared.store import Store
from tests.integration.sender.conftest import MailboxFactory, free_port
from tests.integration.sender.test_delivery import RESULTS, publisher
from tests.integration.support.events import EventTap
from tests.integration.support.polling import eventually

pytestmark = pytest.mark.integration

UNKNOWN_USER = "nobody@peer.test"


class ScriptedPeer:
    """Refuses UNKNOWN_USER with 550 5.1.1; answers the first DATA with 451, then 250."""

    def __init__(self) -> None:
        self.data_calls = 0
        self.accepted: list[bytes] = []

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address == UNKNOWN_USER:
            return "550 5.1.1 <nobody@peer.test>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.data_calls += 1
        if self.data_calls == 1:
            return "451 4.3.0 Temporary local problem, try again"
        self.accepted.append(envelope.content)
        return "250 2.0.0 Ok: queued as 42"


@pytest.fixture
def peer() -> Iterator[tuple[ScriptedPeer, int]]:
    handler = ScriptedPeer()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


async def plain_mailbox(mailboxes: MailboxFactory, port: int) -> str:
    return await mailboxes.create(
        smtp={"host": "127.0.0.1", "port": port, "security": "none", "authenticate": False}
    )


def request(mailbox_id: str, to: str) -> SendEmail:
    return SendEmail(
        idempotency_key=uuid.uuid4().hex,
        tenant_id="t1",
        mailbox_id=mailbox_id,
        to=[Address(email=to)],
        subject="hello",
        text="hello",
    )


async def test_451_then_250_is_retried_and_succeeds(
    running_sender: SenderSettings,
    mailboxes: MailboxFactory,
    peer: tuple[ScriptedPeer, int],
) -> None:
    handler, port = peer
    send = request(await plain_mailbox(mailboxes, port), "someone@peer.test")
    async with EventTap(
        running_sender.amqp_url.get_secret_value(), running_sender.bus_namespace, RESULTS
    ) as tap:
        bus = await publisher(running_sender)
        await bus.publish(send)
        sent = await tap.wait_for("email.sent", timeout=30)
        await bus.close()
    deferred = tap.named("email.deferred")
    assert len(deferred) == 1
    assert deferred[0]["smtp_code"] == 451
    assert deferred[0]["enhanced_status"] == "4.3.0"
    assert sent[0]["smtp_reply"].startswith("250 2.0.0")
    assert handler.data_calls == 2
    assert len(handler.accepted) == 1
    assert tap.named("email.failed") == []


async def test_550_5_1_1_fails_at_once_with_a_bounce_event(
    running_sender: SenderSettings,
    mailboxes: MailboxFactory,
    peer: tuple[ScriptedPeer, int],
) -> None:
    handler, port = peer
    send = request(await plain_mailbox(mailboxes, port), UNKNOWN_USER)
    async with EventTap(
        running_sender.amqp_url.get_secret_value(), running_sender.bus_namespace, RESULTS
    ) as tap:
        bus = await publisher(running_sender)
        await bus.publish(send)
        failed = (await tap.wait_for("email.failed", timeout=30))[0]
        bounce = (await tap.wait_for("email.bounce.received", timeout=30))[0]
        await bus.close()
    assert failed["reason"] == "rejected"
    assert failed["smtp_code"] == 550
    assert failed["enhanced_status"] == "5.1.1"
    assert bounce["source"] == "smtp"
    assert bounce["recipient"] == UNKNOWN_USER
    assert bounce["enhanced_status"] == "5.1.1"
    assert bounce["message_id"] == send.message_id
    assert tap.named("email.deferred") == []
    assert handler.data_calls == 0


class CountingAuthenticator:
    """Refuses every login until told otherwise, and counts the attempts."""

    def __init__(self) -> None:
        self.attempts = 0
        self.accept = False

    def __call__(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        self.attempts += 1
        return AuthResult(success=self.accept, handled=False)


@pytest.fixture
def guarded_peer() -> Iterator[tuple[ScriptedPeer, CountingAuthenticator, int]]:
    handler, authenticator = ScriptedPeer(), CountingAuthenticator()
    handler.data_calls = 1  # every DATA is accepted
    port = free_port()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=port,
        authenticator=authenticator,
        auth_require_tls=False,
        auth_required=True,
    )
    controller.start()
    try:
        yield handler, authenticator, port
    finally:
        controller.stop()


# A plain-text peer on loopback is enough to count logins; aiosmtpd warns about it.
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
async def test_a_burst_to_a_mailbox_with_a_revoked_password_costs_one_failed_login(
    running_sender: SenderSettings,
    mailboxes: MailboxFactory,
    secrets: MailboxSecrets,
    store: Store,
    guarded_peer: tuple[ScriptedPeer, CountingAuthenticator, int],
) -> None:
    """Providers lock an account after a run of failed logins: a campaign hitting a
    revoked password must not turn into one failed login per message."""
    handler, authenticator, port = guarded_peer
    mailbox_id = f"mb_{uuid.uuid4().hex[:10]}"

    def smtp_settings() -> dict[str, Any]:
        return {
            "host": "127.0.0.1",
            "port": port,
            "security": "none",
            "authenticate": True,
            "username": "demo@mailroom.test",
            "password_enc": secrets.encrypt("t1", mailbox_id, "smtp_password", "revoked"),
        }

    await mailboxes.create(mailbox_id=mailbox_id, smtp=smtp_settings())
    burst = [request(mailbox_id, f"lead{i}@peer.test") for i in range(8)]
    async with EventTap(
        running_sender.amqp_url.get_secret_value(), running_sender.bus_namespace, RESULTS
    ) as tap:
        bus = await publisher(running_sender)
        await bus.publish_many(burst)

        async def all_held() -> bool:
            records = [await load_send(store, send.message_id) for send in burst]
            return all(r is not None and r["status"] == "held" for r in records)

        await eventually(all_held, what="the burst to be held")
        mailbox = await store.collection(MAILBOXES).find_one({"_id": mailbox_id})
        assert mailbox is not None and mailbox["state"] == "auth_failed"
        assert authenticator.attempts == 1
        assert tap.named("email.failed") == [] and tap.named("email.sent") == []

        # The user fixes the password: the held messages go out.
        authenticator.accept = True
        await store.collection(MAILBOXES).update_one(
            {"_id": mailbox_id},
            {"$set": {"smtp": smtp_settings(), "updated_at": datetime.now(UTC)}},
        )
        await tap.wait_for("email.sent", count=len(burst), timeout=60)
        await bus.close()
    assert len(handler.accepted) == len(burst)
