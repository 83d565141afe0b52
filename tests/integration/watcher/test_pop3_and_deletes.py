"""POP3 bounce mailboxes and the deletion of recognised bounces."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from mailroom.shared.bus import Bus
from mailroom.shared.contracts import BounceProcessed
from mailroom.shared.mailboxes import MailboxSecrets
from mailroom.shared.mailconn.pop3 import open_pop3
from mailroom.shared.mailconn.tls import client_ssl_context
from mailroom.shared.store import Store
from tests.integration.support.polling import eventually
from tests.integration.watcher.support import (
    RunningWatcher,
    Sink,
    add_mailbox,
    cursor,
    imap_set_seen,
    imap_uids_and_flags,
    new_address,
    watching,
)

pytestmark = pytest.mark.integration


def _dsn(address: str) -> bytes:
    return (
        f"From: MAILER-DAEMON@mailroom.test (Mail Delivery System)\r\nTo: {address}\r\n"
        f"Subject: Undelivered Mail Returned to Sender\r\n"
        f"Message-ID: <{uuid.uuid4().hex}@mailroom.test>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: text/plain\r\n\r\nNot delivered.\r\n"
        "--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; x\r\n\r\n"
        "Final-Recipient: rfc822; gone@customer.example\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "--b--\r\n"
    ).encode()


def _letter(address: str) -> bytes:
    return (
        f"From: Pat <pat@customer.example>\r\nTo: {address}\r\nSubject: a question\r\n"
        f"Message-ID: <{uuid.uuid4().hex}@customer.example>\r\n\r\nHello there\r\n"
    ).encode()


async def _pop3_uidls(mail_sandbox: Any, address: str, password: str) -> set[str]:
    client = await open_pop3(
        mail_sandbox.host,
        mail_sandbox.pop3s_port,
        "ssl",
        client_ssl_context(mail_sandbox.ca_pem),
        10.0,
    )
    await client.login(address, password)
    uidls = set((await client.uidl()).values())
    await client.quit()
    return uidls


async def test_a_pop3_mailbox_that_deletes_processed_bounces_loses_exactly_those(
    store: Store,
    secrets: MailboxSecrets,
    mail_sandbox: Any,
    sink: Sink,
    bus: Bus,
    watcher: RunningWatcher,
) -> None:
    address = new_address()
    password = "pw-" + address
    mail_sandbox.add_user(address, password)
    mailbox_id = await add_mailbox(
        store,
        secrets,
        mail_sandbox,
        address,
        password,
        protocol="pop3",
        delete_processed_bounces=True,
    )
    for _ in range(2):
        mail_sandbox.deliver(address, _dsn(address))
    mail_sandbox.deliver(address, _letter(address))
    before = await _pop3_uidls(mail_sandbox, address, password)
    assert len(before) == 3
    watcher.start()

    async def three_read() -> bool:
        return int((await cursor(store, mailbox_id, "POP3")).get("fetched", 0)) >= 3

    await eventually(three_read)
    bounces = sink.bounces(mailbox_id)
    await eventually(lambda: _true(len(sink.bounces(mailbox_id)) == 2))
    bounces = sink.bounces(mailbox_id)
    # The bounce service's verdicts: the first is a bounce, the second is not.
    for bounce, verdict in zip(bounces, (True, False), strict=True):
        assert bounce.location is not None and bounce.location.pop3_uidl in before
        await bus.publish(
            BounceProcessed(
                tenant_id=bounce.tenant_id,
                mailbox_id=mailbox_id,
                location=bounce.location,
                is_bounce=verdict,
                category="bounce" if verdict else "unknown",
            )
        )
    deleted = bounces[0].location.pop3_uidl if bounces[0].location else None

    async def only_the_bounce_gone() -> bool:
        return await _pop3_uidls(mail_sandbox, address, password) == before - {deleted}

    await eventually(only_the_bounce_gone)
    # Nothing was reported twice across the polls that followed.
    assert len(sink.bounces(mailbox_id)) == 2


async def test_imap_deletes_exactly_the_recognised_bounces_and_only_when_asked(
    store: Store,
    secrets: MailboxSecrets,
    mail_sandbox: Any,
    sink: Sink,
    bus: Bus,
    watcher: RunningWatcher,
) -> None:
    mailboxes: dict[str, tuple[str, str]] = {}
    for asks in (True, False):
        address = new_address()
        password = "pw-" + address
        mail_sandbox.add_user(address, password)
        mailbox_id = await add_mailbox(
            store, secrets, mail_sandbox, address, password, delete_processed_bounces=asks
        )
        mailboxes[mailbox_id] = (address, password)
    deleting, keeping = list(mailboxes)
    watcher.start()
    for mailbox_id, (address, _) in mailboxes.items():
        await watching(store, mailbox_id)
        mail_sandbox.deliver(address, _dsn(address))
        mail_sandbox.deliver(address, _dsn(address))
        mail_sandbox.deliver(address, _letter(address))
    await eventually(lambda: _true(all(len(sink.bounces(m)) == 2 for m in mailboxes)))
    # The user has read the letter in the mailbox that deletes bounces.
    before = await imap_uids_and_flags(mail_sandbox, *mailboxes[deleting])
    bounce_uids = {b.location.uid for b in sink.bounces(deleting) if b.location}
    (letter_uid,) = set(before) - bounce_uids
    await imap_set_seen(mail_sandbox, *mailboxes[deleting], letter_uid)
    assert all("\\Seen" not in flags for uid, flags in before.items() if uid != letter_uid)

    # Verdicts: the mailbox that keeps its mail gets a "bounce" too; it must stay.
    for mailbox_id in (keeping, deleting):
        for bounce, verdict in zip(sink.bounces(mailbox_id), (True, False), strict=True):
            assert bounce.location is not None and bounce.location.protocol == "imap"
            await bus.publish(
                BounceProcessed(
                    tenant_id=bounce.tenant_id,
                    mailbox_id=mailbox_id,
                    location=bounce.location,
                    is_bounce=verdict,
                    category="bounce" if verdict else "unknown",
                )
            )
    recognised = sink.bounces(deleting)[0].location
    assert recognised is not None and recognised.uid is not None

    async def only_the_bounce_gone() -> bool:
        now = await imap_uids_and_flags(mail_sandbox, *mailboxes[deleting])
        return set(now) == set(before) - {recognised.uid}

    await eventually(only_the_bounce_gone)
    after = await imap_uids_and_flags(mail_sandbox, *mailboxes[deleting])
    # \Seen is as the user left it: set on the letter, unset on the bounce left behind.
    assert "\\Seen" in after[letter_uid]
    assert all("\\Seen" not in after[uid] for uid in after if uid != letter_uid)
    assert len(await imap_uids_and_flags(mail_sandbox, *mailboxes[keeping])) == 3


async def _true(value: bool) -> bool:
    return value
