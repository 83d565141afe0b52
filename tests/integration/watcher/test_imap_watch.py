"""The watcher against the real Dovecot and Postfix: replies, auto-replies, bounces, resume."""

from __future__ import annotations

import asyncio
import base64
import uuid
from typing import Any

import aiosmtplib
import httpx
import pytest

from mailroom.shared.collections import MAILBOXES
from mailroom.shared.mailboxes import MailboxSecrets
from mailroom.shared.store import Store
from tests.integration.support.polling import eventually
from tests.integration.watcher.support import (
    RunningWatcher,
    SilentRelay,
    Sink,
    add_mailbox,
    add_send,
    cursor,
    new_address,
    reply_to,
    watcher_settings,
    watching,
)

pytestmark = pytest.mark.integration


async def _new_mailbox(
    store: Store, secrets: MailboxSecrets, mail_sandbox: Any, **kw: Any
) -> tuple[str, str]:
    address = new_address()
    mail_sandbox.add_user(address, "pw-" + address)
    mailbox_id = await add_mailbox(store, secrets, mail_sandbox, address, "pw-" + address, **kw)
    return address, mailbox_id


async def _fetched(store: Store, mailbox_id: str, count: int) -> None:
    async def done() -> bool:
        return int((await cursor(store, mailbox_id)).get("fetched", 0)) >= count

    await eventually(done, what=f"{count} messages fetched")


async def test_a_reply_to_a_sent_message_is_reported_once_and_other_mail_is_left_alone(
    store: Store, secrets: MailboxSecrets, mail_sandbox: Any, sink: Sink, watcher: RunningWatcher
) -> None:
    address, mailbox_id = await _new_mailbox(store, secrets, mail_sandbox)
    original = f"<{uuid.uuid4().hex}@mailroom.test>"
    message_id = await add_send(store, mailbox_id, original)
    watcher.start()
    await watching(store, mailbox_id)

    mail_sandbox.deliver(address, reply_to(original, body="Tuesday works for me."))
    mail_sandbox.deliver(address, reply_to("<not-ours@elsewhere.example>"))
    await _fetched(store, mailbox_id, 2)

    replies = sink.replies(mailbox_id)
    await eventually(lambda: _true(len(sink.replies(mailbox_id)) >= 1))
    replies = sink.replies(mailbox_id)
    assert len(replies) == 1
    assert replies[0].message_id == message_id
    assert replies[0].auto_reply is False
    assert replies[0].from_email == "pat@customer.example"
    assert replies[0].folder == "INBOX"
    assert "Tuesday works" in replies[0].snippet
    counters = await cursor(store, mailbox_id)
    assert (counters["matched"], counters["skipped"]) == (1, 1)


async def test_an_out_of_office_answer_is_flagged_as_automatic(
    store: Store, secrets: MailboxSecrets, mail_sandbox: Any, sink: Sink, watcher: RunningWatcher
) -> None:
    address, mailbox_id = await _new_mailbox(store, secrets, mail_sandbox)
    original = f"<{uuid.uuid4().hex}@mailroom.test>"
    await add_send(store, mailbox_id, original)
    watcher.start()
    await watching(store, mailbox_id)

    mail_sandbox.deliver(
        address,
        reply_to(
            original, subject="Out of Office: back Monday", extra="Auto-Submitted: auto-replied\r\n"
        ),
    )
    await eventually(lambda: _true(len(sink.replies(mailbox_id)) == 1))
    assert sink.replies(mailbox_id)[0].auto_reply is True
    assert sink.bounces(mailbox_id) == []


async def test_a_postfix_bounce_for_an_unknown_user_reaches_the_bounce_service(
    store: Store, secrets: MailboxSecrets, mail_sandbox: Any, sink: Sink, watcher: RunningWatcher
) -> None:
    address, mailbox_id = await _new_mailbox(store, secrets, mail_sandbox)
    watcher.start()
    await watching(store, mailbox_id)

    message = (
        f"From: {address}\r\nTo: nobody-{uuid.uuid4().hex[:6]}@mailroom.test\r\n"
        f"Subject: hello\r\nMessage-ID: <{uuid.uuid4().hex}@mailroom.test>\r\n\r\nHi\r\n"
    )
    await aiosmtplib.send(
        message,
        sender=address,
        recipients=[f"nobody-{uuid.uuid4().hex[:6]}@mailroom.test"],
        hostname=mail_sandbox.host,
        port=mail_sandbox.smtp_port,
        start_tls=False,
    )
    await eventually(lambda: _true(len(sink.bounces(mailbox_id)) == 1), timeout=30)
    bounce = sink.bounces(mailbox_id)[0]
    assert bounce.source == "mailbox"
    assert bounce.raw_b64 is not None
    assert b"5.1.1" in base64.b64decode(bounce.raw_b64)
    assert bounce.location is not None and bounce.location.uid is not None
    assert sink.replies(mailbox_id) == []


async def test_mail_that_arrives_while_the_watcher_is_down_is_reported_once_after_restart(
    store: Store, secrets: MailboxSecrets, mail_sandbox: Any, sink: Sink, watcher: RunningWatcher
) -> None:
    address, mailbox_id = await _new_mailbox(store, secrets, mail_sandbox)
    originals = [f"<{uuid.uuid4().hex}@mailroom.test>" for _ in range(5)]
    sent = {await add_send(store, mailbox_id, original) for original in originals}
    watcher.start()
    await watching(store, mailbox_id)
    await watcher.stop()

    for original in originals:
        mail_sandbox.deliver(address, reply_to(original))
    watcher.start()
    await _fetched(store, mailbox_id, 5)
    await eventually(lambda: _true(len(sink.replies(mailbox_id)) >= 5))
    # One more delivered after the catch-up proves the watch is live and nothing repeats.
    late = f"<{uuid.uuid4().hex}@mailroom.test>"
    sent.add(await add_send(store, mailbox_id, late))
    mail_sandbox.deliver(address, reply_to(late))
    await eventually(lambda: _true(len(sink.replies(mailbox_id)) >= 6))
    await _fetched(store, mailbox_id, 6)
    assert sorted(r.message_id for r in sink.replies(mailbox_id)) == sorted(sent)


async def test_a_uidvalidity_reset_never_reports_old_mail_as_new(
    store: Store, secrets: MailboxSecrets, mail_sandbox: Any, sink: Sink, watcher: RunningWatcher
) -> None:
    address, mailbox_id = await _new_mailbox(store, secrets, mail_sandbox)
    first = f"<{uuid.uuid4().hex}@mailroom.test>"
    await add_send(store, mailbox_id, first)
    watcher.start()
    await watching(store, mailbox_id)
    mail_sandbox.deliver(address, reply_to(first))
    await eventually(lambda: _true(len(sink.replies(mailbox_id)) == 1))
    old_validity = (await cursor(store, mailbox_id))["uidvalidity"]
    await watcher.stop()

    mail_sandbox.reset_uidvalidity(address)
    watcher.start()

    async def rescanned() -> bool:
        return (await cursor(store, mailbox_id)).get("uidvalidity") not in (None, old_validity)

    await eventually(rescanned)
    second = f"<{uuid.uuid4().hex}@mailroom.test>"
    await add_send(store, mailbox_id, second)
    mail_sandbox.deliver(address, reply_to(second))
    await eventually(lambda: _true(len(sink.replies(mailbox_id)) >= 2))
    await _fetched(store, mailbox_id, 3)
    replies = sink.replies(mailbox_id)
    assert len(replies) == 2
    assert len({r.event_id for r in replies}) == 2


async def test_a_wrong_password_means_auth_failed(
    store: Store, secrets: MailboxSecrets, mail_sandbox: Any, sink: Sink, watcher: RunningWatcher
) -> None:
    address = new_address()
    mail_sandbox.add_user(address, "right-password")
    mailbox_id = await add_mailbox(store, secrets, mail_sandbox, address, "wrong-password")
    watcher.start()

    async def auth_failed() -> bool:
        doc = await store.collection(MAILBOXES).find_one({"_id": mailbox_id})
        return doc is not None and doc["state"] == "auth_failed"

    await eventually(auth_failed)
    doc = await store.collection(MAILBOXES).find_one({"_id": mailbox_id})
    assert doc is not None and doc["last_error_code"] == "authentication_failed"
    await eventually(lambda: _true("auth_failed" in sink.states(mailbox_id)))


async def test_a_stopped_server_degrades_the_mailbox_until_it_returns(
    store: Store, secrets: MailboxSecrets, mail_sandbox: Any, sink: Sink, watcher: RunningWatcher
) -> None:
    _, mailbox_id = await _new_mailbox(store, secrets, mail_sandbox)
    watcher.start()
    await watching(store, mailbox_id)

    # The watch is in IDLE; the server going down closes its connection, and every
    # reconnection is refused until the server is back.
    mail_sandbox.stop_dovecot()
    try:
        await eventually(lambda: _state_is(store, mailbox_id, "degraded"), timeout=30)
        await eventually(lambda: _gauge_shows(watcher, "degraded"), timeout=10)
    finally:
        mail_sandbox.start_dovecot()
    await eventually(lambda: _state_is(store, mailbox_id, "connected"), timeout=30)
    await eventually(lambda: _gauge_shows(watcher, "connected"), timeout=10)
    assert sink.states(mailbox_id)[-2:] == ["degraded", "connected"] or await _states_settle(
        sink, mailbox_id
    )


async def test_a_server_that_goes_silent_without_closing_is_noticed(
    store: Store,
    secrets: MailboxSecrets,
    mail_sandbox: Any,
    sink: Sink,
    rabbitmq_url: str,
    mongo_url: str,
    mongo_db_name: str,
    bus_namespace: str,
) -> None:
    relay = SilentRelay(mail_sandbox.host, mail_sandbox.imaps_port)
    port = await relay.start()
    _, mailbox_id = await _new_mailbox(store, secrets, mail_sandbox, port=port)
    running = RunningWatcher(
        watcher_settings(
            rabbitmq_url,
            mongo_url,
            mongo_db_name,
            bus_namespace,
            liveness_check_seconds=1.0,
            connect_timeout_seconds=2.0,
        )
    )
    running.start()
    try:
        await watching(store, mailbox_id)
        relay.go_silent()
        await eventually(lambda: _state_is(store, mailbox_id, "degraded"), timeout=30)
        doc = await store.collection(MAILBOXES).find_one({"_id": mailbox_id})
        assert doc is not None and doc["last_error_code"] == "timeout"
        relay.speak_again()
        await eventually(lambda: _state_is(store, mailbox_id, "connected"), timeout=30)
    finally:
        await running.stop()
        await relay.close()


async def _gauge_shows(watcher: RunningWatcher, state: str) -> bool:
    """This replica's one mailbox is counted under `state` and no other."""
    url = f"http://127.0.0.1:{watcher.settings.http_port}/metrics"
    async with httpx.AsyncClient() as client:
        text = (await client.get(url)).text
    counts = {
        line.split('"')[1]: float(line.split()[-1])
        for line in text.splitlines()
        if line.startswith("mailroom_watcher_mailboxes{state=")
    }
    return counts.get(state) == 1.0 and sum(counts.values()) == 1.0


async def _state_is(store: Store, mailbox_id: str, wanted: str) -> bool:
    doc = await store.collection(MAILBOXES).find_one({"_id": mailbox_id})
    return doc is not None and doc["state"] == wanted


async def _states_settle(sink: Sink, mailbox_id: str) -> bool:
    await eventually(lambda: _true(sink.states(mailbox_id)[-1:] == ["connected"]))
    return "degraded" in sink.states(mailbox_id)


async def _true(value: bool) -> bool:
    await asyncio.sleep(0)
    return value
