"""The classifier on hand-written messages in each server's shape, and on garbage."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailroom.bounce.classifier import classify_message, classify_smtp_reply, kind_for, vendors

from . import samples


def test_postfix_dsn_reports_every_recipient_block() -> None:
    result = classify_message(samples.POSTFIX_DSN)

    assert result.is_bounce and result.category == "bounce"
    assert result.original_message_id == "<send-42@sender.test>"
    ghost, full = result.recipients
    assert (ghost.recipient, ghost.kind, ghost.reason, ghost.status) == (
        "ghost@receiver.test",
        "hard",
        "userunknown",
        "5.1.1",
    )
    assert ghost.remote_mta == "mx.receiver.test" and ghost.action == "failed"
    assert ghost.smtp_code == 550
    assert (full.kind, full.reason, full.status) == ("soft", "mailboxfull", "5.2.2")


@pytest.mark.parametrize(
    ("raw", "recipient", "kind", "reason", "status", "message_id"),
    [
        (
            samples.EXIM_TEXT,
            "nobody@receiver.test",
            "hard",
            "userunknown",
            "5.1.1",
            "<exim-original-1@sender.test>",
        ),
        (
            samples.QMAIL_TEXT,
            "someone@no-such-domain.test",
            "hard",
            "hostunknown",
            "5.1.2",
            "<qmail-orig-7@sender.test>",
        ),
        (samples.EXCHANGE_NDR, "bob@corp.test", "hard", "userunknown", None, None),
        (
            samples.GMAIL_TEXT,
            "carol@receiver.test",
            "soft",
            "blocked",
            "5.7.1",
            "<gmail-orig@sender.test>",
        ),
        (samples.MAILBOX_FULL_SOFT, "dave@receiver.test", "soft", "mailboxfull", "4.2.2", None),
    ],
    ids=["exim", "qmail", "exchange", "gmail", "mailbox-full"],
)
def test_text_and_vendor_formats(
    raw: bytes,
    recipient: str,
    kind: str,
    reason: str,
    status: str | None,
    message_id: str | None,
) -> None:
    result = classify_message(raw)

    assert result.is_bounce
    [found] = result.recipients
    assert (found.recipient, found.kind, found.reason) == (recipient, kind, reason)
    if status is not None:
        assert found.status == status
    assert result.original_message_id == message_id


@pytest.mark.parametrize(
    ("raw", "category"),
    [
        (samples.OUT_OF_OFFICE, "vacation"),
        (samples.ARF_REPORT, "feedback"),
        (samples.NORMAL_REPLY, "reply"),
    ],
)
def test_non_bounces_are_recognised(raw: bytes, category: str) -> None:
    result = classify_message(raw)

    assert not result.is_bounce
    assert result.category == category
    if category == "feedback":
        # A complaint names who complained, so the service can suppress them.
        assert [(r.recipient, r.reason) for r in result.recipients] == [
            ("frank@isp.test", "feedback")
        ]
    else:
        assert result.recipients == []


def test_feedback_report_links_the_original_send() -> None:
    assert classify_message(samples.ARF_REPORT).original_message_id == "<campaign-9@sender.test>"


def test_garbled_mime_still_yields_a_result() -> None:
    result = classify_message(samples.GARBLED_MIME)

    assert result.category in ("bounce", "unknown")


def test_huge_message_is_capped_and_says_so() -> None:
    raw = samples.EXIM_TEXT + b"x" * (3 * 1024 * 1024)

    result = classify_message(raw)

    assert result.problem is not None and "larger" in result.problem
    assert result.recipients[0].recipient == "nobody@receiver.test"


def test_empty_input_is_unknown() -> None:
    result = classify_message(b"")

    assert not result.is_bounce and result.category == "unknown"


@pytest.mark.parametrize(
    ("code", "enhanced", "text", "kind", "reason", "status"),
    [
        (
            550,
            "5.1.1",
            "<x@y.test>: Recipient address rejected: User unknown",
            "hard",
            "userunknown",
            "5.1.1",
        ),
        (452, None, "4.2.2 Mailbox full", "soft", "mailboxfull", "4.2.2"),
        (
            554,
            None,
            "Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org",
            "soft",
            "blocked",
            "5.0.0",
        ),
        (
            421,
            "4.7.0",
            "Try again later, closing connection. (rate limited)",
            "soft",
            "speeding",
            "4.7.0",
        ),
        (
            550,
            "5.7.26",
            "Unauthenticated email is not accepted due to DMARC policy",
            "soft",
            "authfailure",
            "5.7.26",
        ),
        (550, "5.1.6", "Recipient has moved", "hard", "hasmoved", "5.1.6"),
    ],
)
def test_smtp_replies_use_the_same_reasons(
    code: int, enhanced: str | None, text: str, kind: str, reason: str, status: str
) -> None:
    found = classify_smtp_reply(code, enhanced, text, "<Someone@Receiver.test>")

    assert found.recipient == "someone@receiver.test"
    assert (found.kind, found.reason, found.status, found.smtp_code) == (kind, reason, status, code)


def test_notaccept_is_hard_only_when_permanent() -> None:
    assert kind_for("notaccept", "5.1.10") == "hard"
    assert kind_for("notaccept", "4.0.0") == "soft"
    assert kind_for("blocked", "5.7.1") == "soft"


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=4000))
def test_random_bytes_never_raise(raw: bytes) -> None:
    result = classify_message(raw)

    assert result.category in ("bounce", "delivered", "vacation", "feedback", "reply", "unknown")


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(
        [samples.POSTFIX_DSN, samples.EXIM_TEXT, samples.ARF_REPORT, samples.MAILBOX_FULL_SOFT]
    ),
    st.integers(min_value=0, max_value=4000),
    st.binary(max_size=200),
)
def test_truncated_and_mangled_mime_never_raises(sample: bytes, cut: int, junk: bytes) -> None:
    mangled = sample[:cut] + junk + sample[cut + len(junk) :]

    result = classify_message(sample[:cut])
    assert result.category in ("bounce", "delivered", "vacation", "feedback", "reply", "unknown")
    classify_message(mangled)


POSTFIX_SESSION_TRANSCRIPT = b"""From: MAILER-DAEMON@mx.sender.test (Mail Delivery System)
To: postmaster@mx.sender.test (Postmaster)
Subject: Postfix SMTP server: errors from localhost[127.0.0.1]

Transcript of session follows.

 Out: 220 mx.sender.test ESMTP
 In:  EHLO relay.sender.test
 Out: 250 mx.sender.test
 In:  MAIL FROM:<app@sender.test>
 Out: 250 2.1.0 Ok
 In:  RCPT TO:<someone@receiver.test>
 Out: 250 2.1.5 Ok
 In:  DATA
 Out: 354 End data with <CR><LF>.<CR><LF>
 Out: 451 4.3.0 Error: queue file write error
 In:  QUIT
 Out: 221 2.0.0 Bye
"""

LIST_REFUSAL = b"""From: team-admin@lists.receiver.test
To: app@sender.test
Subject: You app@sender.test are not member (team ML)
X-MLServer: fml [fml 4.0.3 release]
References: <send-7@sender.test>

You are not a member of this mailing list <team@lists.receiver.test>.
"""

EIGHT_BIT_NOTICE = (
    "From: no-reply@notice.receiver.test\n"
    "To: app@sender.test\n"
    "Subject: メールエラー通知\n"
    "Content-Type: text/plain; charset=ISO-2022-JP\n\n"
    "送信先のメールボックスが一杯のため、送信できませんでした。\n\n"
    "     Could not be delivered to: <full@receiver.test>\n"
    "     As their mailbox is full.\n"
).encode()


def test_postfix_session_transcript_names_the_accepted_recipient() -> None:
    result = classify_message(POSTFIX_SESSION_TRANSCRIPT)

    [failed] = result.recipients
    assert (failed.recipient, failed.kind, failed.reason, failed.status) == (
        "someone@receiver.test",
        "soft",
        "systemerror",
        "4.3.0",
    )


def test_mailing_list_refusal_is_a_soft_rejection_by_the_list() -> None:
    result = classify_message(LIST_REFUSAL)

    assert result.is_bounce
    [failed] = result.recipients
    assert (failed.recipient, failed.kind, failed.reason) == (
        "team@lists.receiver.test",
        "soft",
        "rejected",
    )


def test_raw_8bit_subject_and_mislabelled_charset_are_read() -> None:
    [failed] = classify_message(EIGHT_BIT_NOTICE).recipients

    assert (failed.recipient, failed.reason) == ("full@receiver.test", "mailboxfull")


@pytest.mark.parametrize(
    ("code", "text", "command", "reason"),
    [
        (554, "5.7.1 Missing reverse DNS for 192.0.2.1", "CONN", "blocked"),
        (550, "5.7.1 Access denied", "MAIL", "rejected"),
        (550, "5.7.606 Access denied, banned sending IP [192.0.2.1]", None, "blocked"),
        (550, "5.2.0 Mail rejete. Mail rejected. ofr_506 [506]", None, "spamdetected"),
        (550, "User unknown", None, "filtered"),
        (550, "5.1.1 User unknown", None, "userunknown"),
        (550, "User unknown", "RCPT", "userunknown"),
    ],
)
def test_reply_conventions(code: int, text: str, command: str | None, reason: str) -> None:
    assert classify_smtp_reply(code, None, text, "a@receiver.test", command).reason == reason


@pytest.mark.parametrize("daemon", ["mailer-daemon", "postmaster", "MAILER-DAEMON", '"postmaster"'])
def test_a_text_notice_names_the_person_not_the_reporting_mailbox(daemon: str) -> None:
    section = f"From {daemon}@mx.receiver.test:\nghost@receiver.test: 550 5.1.1 user unknown\n"

    failures = vendors.find_failures(section, set())

    assert [failure.recipient for failure in failures] == ["ghost@receiver.test"]


def test_only_the_whole_local_part_makes_a_reporting_mailbox() -> None:
    section = "mailer-daemon@mx.test: 550 5.1.1 unknown\npostmaster-desk@receiver.test: fine\n"

    failures = vendors.find_failures(section, set())

    assert [failure.recipient for failure in failures] == ["postmaster-desk@receiver.test"]


def test_a_reporting_mailbox_is_kept_when_the_notice_names_nobody_else() -> None:
    section = "mailer-daemon@mx.receiver.test: 550 5.1.1 unknown\n"

    failures = vendors.find_failures(section, set())

    assert [failure.recipient for failure in failures] == ["mailer-daemon@mx.receiver.test"]
