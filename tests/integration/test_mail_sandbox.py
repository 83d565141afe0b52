"""The mail sandbox behaves like the mail servers Mailroom meets: real SMTP, IMAP, POP3, DSNs."""

from __future__ import annotations

import asyncio
import email
import email.message
import email.policy
import imaplib
import poplib
import re
import smtplib
import ssl
import uuid
from typing import TypeVar

import aioimaplib
import aiosmtplib
import pytest

from mailroom.localinfra import MailSandbox
from tests.integration.support.polling import eventually

pytestmark = pytest.mark.integration

DELIVERY_TIMEOUT_S = 30.0
T = TypeVar("T")


def tls_context(sandbox: MailSandbox) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(sandbox.ca_pem_path))


def new_mailbox(sandbox: MailSandbox, name: str) -> tuple[str, str]:
    address = f"{name}-{uuid.uuid4().hex[:8]}@{sandbox.domain}"
    password = f"pw-{uuid.uuid4().hex[:8]}"
    sandbox.add_user(address, password)
    return address, password


def message(sender: str, rcpt: str, subject: str) -> email.message.EmailMessage:
    msg = email.message.EmailMessage()
    msg["From"] = sender
    msg["To"] = rcpt
    msg["Subject"] = subject
    msg["Message-ID"] = f"<{uuid.uuid4().hex}@mailroom.test>"
    msg.set_content(f"Body of {subject}\n")
    return msg


async def imaps_login(sandbox: MailSandbox, user: str, password: str) -> aioimaplib.IMAP4_SSL:
    client = aioimaplib.IMAP4_SSL(
        host=sandbox.host, port=sandbox.imaps_port, ssl_context=tls_context(sandbox)
    )
    await client.wait_hello_from_server()
    response = await client.login(user, password)
    assert response.result == "OK", response.lines
    return client


async def fetch_matching(
    sandbox: MailSandbox, user: str, password: str, *criteria: str
) -> list[email.message.EmailMessage] | None:
    """The INBOX messages matching an IMAP SEARCH, read over IMAPS; None while there are none."""
    client = await imaps_login(sandbox, user, password)
    try:
        await client.select("INBOX")
        found = await client.search(*criteria)
        assert found.result == "OK", found.lines
        numbers = found.lines[0].decode().split()
        if not numbers:
            return None
        messages = []
        for number in numbers:
            fetched = await client.fetch(number, "(RFC822)")
            raw = next(line for line in fetched.lines if isinstance(line, bytearray))
            parsed = email.message_from_bytes(bytes(raw), policy=email.policy.default)
            assert isinstance(parsed, email.message.EmailMessage)
            messages.append(parsed)
        return messages
    finally:
        await client.logout()


async def select_uidvalidity(sandbox: MailSandbox, user: str, password: str) -> int:
    client = await imaps_login(sandbox, user, password)
    try:
        selected = await client.select("INBOX")
        text = b"\n".join(bytes(line) for line in selected.lines).decode()
        found = re.search(r"\[UIDVALIDITY (\d+)\]", text)
        assert found, text
        return int(found.group(1))
    finally:
        await client.logout()


async def test_a_message_submitted_with_starttls_and_auth_arrives_in_the_imap_inbox(
    mail_sandbox: MailSandbox,
) -> None:
    alice, alice_password = new_mailbox(mail_sandbox, "alice")
    demo, demo_password = new_mailbox(mail_sandbox, "demo")
    subject = f"hello {uuid.uuid4().hex}"

    await aiosmtplib.send(
        message(alice, demo, subject),
        hostname=mail_sandbox.host,
        port=mail_sandbox.submission_port,
        start_tls=True,
        tls_context=tls_context(mail_sandbox),
        username=alice,
        password=alice_password,
    )

    async def arrived() -> list[email.message.EmailMessage] | None:
        return await fetch_matching(mail_sandbox, demo, demo_password, "SUBJECT", f'"{subject}"')

    [received] = await eventually(arrived, DELIVERY_TIMEOUT_S)
    assert received["From"] == alice
    assert f"Body of {subject}" in received.get_content()


async def test_implicit_tls_submission_delivers_and_unauthenticated_relay_is_refused(
    mail_sandbox: MailSandbox,
) -> None:
    alice, alice_password = new_mailbox(mail_sandbox, "alice")
    demo, demo_password = new_mailbox(mail_sandbox, "demo")
    subject = f"smtps {uuid.uuid4().hex}"

    await aiosmtplib.send(
        message(alice, demo, subject),
        hostname=mail_sandbox.host,
        port=mail_sandbox.smtps_port,
        use_tls=True,
        tls_context=tls_context(mail_sandbox),
        username=alice,
        password=alice_password,
    )
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused):
        await aiosmtplib.send(
            message(alice, "someone@example.com", "must not leave"),
            hostname=mail_sandbox.host,
            port=mail_sandbox.smtp_port,
            tls_context=tls_context(mail_sandbox),
        )

    async def arrived() -> list[email.message.EmailMessage] | None:
        return await fetch_matching(mail_sandbox, demo, demo_password, "SUBJECT", f'"{subject}"')

    await eventually(arrived, DELIVERY_TIMEOUT_S)


async def test_mail_to_an_unknown_user_comes_back_to_the_sender_as_a_real_dsn(
    mail_sandbox: MailSandbox,
) -> None:
    alice, alice_password = new_mailbox(mail_sandbox, "alice")
    nobody = f"nobody-{uuid.uuid4().hex[:8]}@{mail_sandbox.domain}"

    await aiosmtplib.send(
        message(alice, nobody, f"to nobody {uuid.uuid4().hex}"),
        hostname=mail_sandbox.host,
        port=mail_sandbox.submission_port,
        start_tls=True,
        tls_context=tls_context(mail_sandbox),
        username=alice,
        password=alice_password,
    )

    async def bounced() -> list[email.message.EmailMessage] | None:
        return await fetch_matching(mail_sandbox, alice, alice_password, "TO", alice)

    [dsn] = await eventually(bounced, DELIVERY_TIMEOUT_S)
    assert dsn.get_content_type() == "multipart/report"
    assert dsn.get_param("report-type") == "delivery-status"
    status_part = next(
        part for part in dsn.walk() if part.get_content_type() == "message/delivery-status"
    )
    status_text = status_part.as_string()
    assert "Status: 5.1.1" in status_text
    assert nobody in status_text


def test_lmtp_refuses_unknown_users_and_deliver_reaches_known_ones(
    mail_sandbox: MailSandbox,
) -> None:
    demo, _ = new_mailbox(mail_sandbox, "demo")
    mail_sandbox.deliver(demo, message("x@example.com", demo, "direct").as_bytes())

    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        mail_sandbox.deliver(f"nobody@{mail_sandbox.domain}", b"Subject: x\r\n\r\nx\r\n")
    [(code, _)] = refused.value.recipients.values()
    assert code == 550


def imap_capabilities_after_login(
    sandbox: MailSandbox, port: int, user: str, password: str, *, starttls: bool
) -> set[str]:
    with imaplib.IMAP4(sandbox.host, port, timeout=10) as client:
        if starttls:
            client.starttls(tls_context(sandbox))
        client.login(user, password)
        status, data = client.capability()
        assert status == "OK"
        raw = data[0]
        assert isinstance(raw, bytes)
        return set(raw.decode().upper().split())


async def test_the_no_uidplus_listener_lacks_uidplus_while_the_normal_one_has_it(
    mail_sandbox: MailSandbox,
) -> None:
    user, password = new_mailbox(mail_sandbox, "caps")

    normal = await asyncio.to_thread(
        imap_capabilities_after_login,
        mail_sandbox,
        mail_sandbox.imap_port,
        user,
        password,
        starttls=True,
    )
    limited = await asyncio.to_thread(
        imap_capabilities_after_login,
        mail_sandbox,
        mail_sandbox.nouidplus_imap_port,
        user,
        password,
        starttls=False,
    )

    assert {"UIDPLUS", "IDLE", "CONDSTORE"} <= normal
    assert "UIDPLUS" not in limited
    assert "IDLE" in limited


def pop3s_messages(sandbox: MailSandbox, user: str, password: str) -> list[bytes]:
    client = poplib.POP3_SSL(sandbox.host, sandbox.pop3s_port, context=tls_context(sandbox))
    try:
        client.user(user)
        client.pass_(password)
        _, listing, _ = client.list()
        return [b"\r\n".join(client.retr(index + 1)[1]) for index in range(len(listing))]
    finally:
        client.quit()


async def test_pop3s_lists_a_delivered_message(mail_sandbox: MailSandbox) -> None:
    user, password = new_mailbox(mail_sandbox, "pop")
    subject = f"pop {uuid.uuid4().hex}"
    mail_sandbox.deliver(user, message("x@example.com", user, subject).as_bytes())

    messages = await asyncio.to_thread(pop3s_messages, mail_sandbox, user, password)

    assert len(messages) == 1
    assert subject.encode() in messages[0]


async def test_special_use_folders_exist_for_a_new_user(mail_sandbox: MailSandbox) -> None:
    user, password = new_mailbox(mail_sandbox, "folders")
    client = await imaps_login(mail_sandbox, user, password)
    try:
        listing = await client.list('""', "*")
    finally:
        await client.logout()
    text = b"\n".join(bytes(line) for line in listing.lines).decode()

    assert re.search(r"\\Sent\b.*Sent", text), text
    assert re.search(r"\\Junk\b.*Junk", text), text
    assert "INBOX" in text


async def test_reset_uidvalidity_changes_the_inbox_uidvalidity(
    mail_sandbox: MailSandbox,
) -> None:
    user, password = new_mailbox(mail_sandbox, "uidv")
    mail_sandbox.deliver(user, message("x@example.com", user, "keep me").as_bytes())
    before = await select_uidvalidity(mail_sandbox, user, password)

    await asyncio.to_thread(mail_sandbox.reset_uidvalidity, user)

    after = await select_uidvalidity(mail_sandbox, user, password)
    assert after != before
    found = await fetch_matching(mail_sandbox, user, password, "SUBJECT", '"keep me"')
    assert found is not None and len(found) == 1
