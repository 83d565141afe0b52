"""Sending from a mailbox connected with OAuth (Gmail, Microsoft), end to end.

Such a mailbox has no password: the sender logs in to SMTP with AUTH XOAUTH2 and the
access token stored (encrypted) on the mailbox. This module's mail sandbox checks every
token at the local OAuth server's introspection endpoint, as Google's and Microsoft's
servers check theirs. Proven here, against real RabbitMQ, MongoDB, Postfix and Dovecot:

- with a valid access token the message arrives in the recipient's inbox and
  `email.sent` is published;
- when the provider no longer accepts the token, the mailbox becomes `auth_failed` and
  its messages are held, neither failed nor lost, until the user reconnects the mailbox;
  then they go out with the new token;
- when the stored token is renewed, sending goes on with the new one, even after the
  old one stops working.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from mailroom.localinfra import MailSandbox, free_port
from mailroom.localinfra.oauth_server import Grant, LocalOAuthServer
from mailroom.sender.settings import SenderSettings
from mailroom.shared.collections import MAILBOXES, SENDS
from mailroom.shared.mailboxes import MailboxSecrets
from mailroom.shared.sends import load_send
from mailroom.shared.store import Store
from tests.integration.sender.conftest import MailboxFactory, inbox, inbox_holding
from tests.integration.sender.test_delivery import (
    RCPT_PASSWORD,
    RESULTS,
    publish_and_wait,
    publisher,
    send_request,
)
from tests.integration.support.events import EventTap
from tests.integration.support.polling import eventually

pytestmark = pytest.mark.integration

SENDER_ADDRESS = "demo@mailroom.test"


@pytest.fixture(scope="module")
def oauth_server() -> Iterator[LocalOAuthServer]:
    with LocalOAuthServer(free_port()) as server:
        yield server


@pytest.fixture(scope="module")
def mail_sandbox(oauth_server: LocalOAuthServer) -> Iterator[MailSandbox]:
    """This module's sandbox, in place of the session's one: besides passwords, its Dovecot
    (and through Dovecot's SASL, Postfix's submission port) accepts OAuth access tokens,
    which it checks at the local OAuth server. It must know that server when it starts."""
    # Under /tmp: Dovecot's and Postfix's unprivileged processes must reach its files.
    workdir = Path(tempfile.mkdtemp(prefix="mailroom-oauth-sending-"))
    try:
        with MailSandbox(
            workdir, oauth_introspection_url=oauth_server.introspection_url
        ) as sandbox:
            yield sandbox
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def oauth_grant(
    secrets: MailboxSecrets, mailbox_id: str, access_token: str, refresh_token: str
) -> dict[str, Any]:
    """The mailbox's `oauth` object as the API stores it: tokens encrypted for this mailbox."""
    return {
        "provider": "google",
        "access_token_enc": secrets.encrypt("t1", mailbox_id, "oauth_access_token", access_token),
        "refresh_token_enc": secrets.encrypt(
            "t1", mailbox_id, "oauth_refresh_token", refresh_token
        ),
        "expires_at": datetime.now(UTC) + timedelta(hours=1),
        "scope": "https://mail.google.com/",
    }


async def create_oauth_mailbox(
    mailboxes: MailboxFactory,
    sandbox: MailSandbox,
    secrets: MailboxSecrets,
    grant: Grant,
) -> str:
    """A mailbox connected with OAuth: no password anywhere, only the grant's tokens."""
    mailbox_id = f"mb_{uuid.uuid4().hex[:10]}"
    await mailboxes.create(
        mailbox_id=mailbox_id,
        auth_method="oauth2",
        smtp={
            "host": sandbox.host,
            "port": sandbox.submission_port,
            "security": "starttls",
            "authenticate": True,
            "username": SENDER_ADDRESS,
            "password_enc": None,
        },
        incoming={
            "protocol": "imap",
            "host": sandbox.host,
            "port": sandbox.imaps_port,
            "security": "ssl",
            "username": SENDER_ADDRESS,
            "password_enc": None,
        },
        oauth=oauth_grant(secrets, mailbox_id, grant.access_token, grant.refresh_token),
    )
    return mailbox_id


def stop_accepting(server: LocalOAuthServer, access_token: str) -> None:
    """The provider revokes an access token: its introspection answers `active: false`.

    (`LocalOAuthServer.revoke` drops only a user's refresh tokens; their access tokens
    would keep working until they expire.)
    """
    del server.state.access[access_token]


async def test_a_message_from_an_oauth_mailbox_arrives_and_is_reported_sent(
    running_sender: SenderSettings,
    mailboxes: MailboxFactory,
    mail_sandbox: MailSandbox,
    oauth_server: LocalOAuthServer,
    secrets: MailboxSecrets,
    recipient: str,
    store: Store,
) -> None:
    grant = oauth_server.issue(SENDER_ADDRESS)
    mailbox_id = await create_oauth_mailbox(mailboxes, mail_sandbox, secrets, grant)
    request = send_request(mailbox_id, recipient)
    sent, tap = await publish_and_wait(running_sender, request, "email.sent")

    assert sent["message_id"] == request.message_id
    assert sent["accepted"] == [recipient]
    assert sent["smtp_reply"].startswith("250")
    assert tap.named("email.failed") == []
    messages = await eventually(
        lambda: inbox(mail_sandbox, recipient, RCPT_PASSWORD), what="the message in the inbox"
    )
    assert len(messages) == 1
    assert messages[0]["Message-ID"] == f"<{request.message_id}@mailroom.test>"
    assert messages[0]["From"].addresses[0].addr_spec == SENDER_ADDRESS
    mailbox = await store.collection(MAILBOXES).find_one({"_id": mailbox_id})
    assert mailbox is not None and mailbox["state"] == "connected"


async def test_a_rejected_token_holds_messages_until_the_mailbox_is_reconnected(
    running_sender: SenderSettings,
    mailboxes: MailboxFactory,
    mail_sandbox: MailSandbox,
    oauth_server: LocalOAuthServer,
    secrets: MailboxSecrets,
    recipient: str,
    store: Store,
) -> None:
    revoked = oauth_server.issue(SENDER_ADDRESS)
    stop_accepting(oauth_server, revoked.access_token)
    mailbox_id = await create_oauth_mailbox(mailboxes, mail_sandbox, secrets, revoked)
    first, *later = requests = [send_request(mailbox_id, recipient) for _ in range(3)]
    async with EventTap(
        running_sender.amqp_url.get_secret_value(),
        running_sender.bus_namespace,
        [*RESULTS, "mailbox.state_changed"],
    ) as tap:
        bus = await publisher(running_sender)
        await bus.publish(first)
        changed = (await tap.wait_for("mailbox.state_changed", timeout=30))[0]
        assert (changed["mailbox_id"], changed["new_state"]) == (mailbox_id, "auth_failed")
        assert changed["error_code"] == "smtp_auth_failed"
        # Later messages are held at once, without another login with the rejected token.
        # (One at a time also keeps Dovecot's delay after each failed login short.)
        await bus.publish_many(later)

        async def all_held() -> bool:
            held = await store.collection(SENDS).count_documents(
                {"mailbox_id": mailbox_id, "status": "held"}
            )
            return held == len(requests)

        await eventually(all_held, what="every message to be held")
        assert tap.named("email.failed") == []
        assert tap.named("email.sent") == []
        assert await inbox(mail_sandbox, recipient, RCPT_PASSWORD) == []

        # The user reconnects the mailbox: the API stores the new grant (see
        # mailroom.api.oauth.save_grant), which changes the mailbox.
        fresh = oauth_server.issue(SENDER_ADDRESS)
        await store.collection(MAILBOXES).update_one(
            {"_id": mailbox_id},
            {
                "$set": {
                    "oauth": oauth_grant(
                        secrets, mailbox_id, fresh.access_token, fresh.refresh_token
                    ),
                    "updated_at": datetime.now(UTC),
                }
            },
        )
        sent = await tap.wait_for("email.sent", count=len(requests), timeout=30)
        await bus.close()

    assert {e["message_id"] for e in sent} == {r.message_id for r in requests}
    assert tap.named("email.failed") == []
    mailbox = await store.collection(MAILBOXES).find_one({"_id": mailbox_id})
    assert mailbox is not None and mailbox["state"] == "connected"
    messages = await eventually(
        lambda: inbox_holding(mail_sandbox, recipient, RCPT_PASSWORD, len(requests)),
        what="every held message in the inbox",
    )
    assert sorted(m["Message-ID"] for m in messages) == sorted(
        f"<{r.message_id}@mailroom.test>" for r in requests
    )


async def test_sending_goes_on_with_a_renewed_token_after_the_old_one_is_revoked(
    running_sender: SenderSettings,
    mailboxes: MailboxFactory,
    mail_sandbox: MailSandbox,
    oauth_server: LocalOAuthServer,
    secrets: MailboxSecrets,
    recipient: str,
    store: Store,
) -> None:
    first_grant = oauth_server.issue(SENDER_ADDRESS)
    mailbox_id = await create_oauth_mailbox(mailboxes, mail_sandbox, secrets, first_grant)
    before, after = send_request(mailbox_id, recipient), send_request(mailbox_id, recipient)
    async with EventTap(
        running_sender.amqp_url.get_secret_value(), running_sender.bus_namespace, RESULTS
    ) as tap:
        bus = await publisher(running_sender)
        await bus.publish(before)
        await tap.wait_for("email.sent", timeout=30)

        # What the token refresher stores when it renews the token; then the old one
        # stops working at the provider.
        renewed = oauth_server.issue(SENDER_ADDRESS)
        await store.collection(MAILBOXES).update_one(
            {"_id": mailbox_id},
            {
                "$set": {
                    "oauth.access_token_enc": secrets.encrypt(
                        "t1", mailbox_id, "oauth_access_token", renewed.access_token
                    ),
                    "oauth.expires_at": datetime.now(UTC) + timedelta(hours=1),
                    "updated_at": datetime.now(UTC),
                }
            },
        )
        stop_accepting(oauth_server, first_grant.access_token)

        await bus.publish(after)
        sent = await tap.wait_for("email.sent", count=2, timeout=30)
        await bus.close()

    assert [e["message_id"] for e in sent] == [before.message_id, after.message_id]
    assert tap.named("email.failed") == []
    record = await load_send(store, after.message_id)
    assert record is not None and record["status"] == "sent"
    mailbox = await store.collection(MAILBOXES).find_one({"_id": mailbox_id})
    assert mailbox is not None and mailbox["state"] == "connected"
    messages = await eventually(
        lambda: inbox_holding(mail_sandbox, recipient, RCPT_PASSWORD, 2),
        what="both messages in the inbox",
    )
    assert len(messages) == 2
