"""The classifier on the variations the standards allow, rather than on one server's habits.

RFC 3464 (with RFC 3463 status codes and RFC 6533 internationalised reports),
RFC 3834 automatic responses, RFC 5965 / RFC 6591 feedback reports, RFC 8098
read receipts, and the ordinary mail that also lands in a bounce mailbox.
Each bounce case lists every failed recipient as (address, kind, reason,
status), in the report's order. All addresses and ids are fictitious.
"""

from __future__ import annotations

import pytest

from mailroom.bounce.classifier import classify_message

Expected = list[tuple[str, str, str, str | None]]


def _report(status_part: str, *, human: str | None = None, original: str | None = None) -> bytes:
    """A multipart/report delivery-status message from MAILER-DAEMON, built from its parts."""
    parts = []
    if human is not None:
        parts.append(f"Content-Type: text/plain; charset=us-ascii\n\n{human}\n")
    parts.append(f"Content-Type: message/delivery-status\n\n{status_part}\n")
    if original is not None:
        parts.append(f"Content-Type: message/rfc822\n\n{original}\n")
    body = "".join(f"--RPT\n{part}\n" for part in parts)
    return (
        "Return-Path: <>\n"
        "From: Mail Delivery Subsystem <MAILER-DAEMON@mta.example.test>\n"
        "To: app@example.test\n"
        "Subject: Delivery Status Notification\n"
        "Auto-Submitted: auto-replied\n"
        "MIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="RPT"\n'
        "\n"
        f"{body}--RPT--\n"
    ).encode()


ORIGINAL = """From: app@example.test
To: someone@receiver.test
Subject: your invoice
Message-ID: <std-original-1@example.test>

Hello.
"""

MIXED_ACTIONS = _report(
    """Reporting-MTA: dns; mta.example.test
Arrival-Date: Mon, 3 Mar 2025 10:00:00 +0000

Final-Recipient: rfc822; ok@receiver.test
Action: delivered
Status: 2.0.0
Remote-MTA: dns; mx.receiver.test

Final-Recipient: rfc822; gone@receiver.test
Action: failed
Status: 5.1.1
Remote-MTA: dns; mx.receiver.test
Diagnostic-Code: smtp; 550 5.1.1 <gone@receiver.test>: Recipient address rejected: User unknown

Final-Recipient: rfc822; list@receiver.test
Action: expanded
Status: 2.0.0

Final-Recipient: rfc822; far@elsewhere.test
Action: relayed
Status: 2.0.0
Remote-MTA: dns; legacy.elsewhere.test

Final-Recipient: rfc822; full@receiver.test
Action: failed
Status: 5.2.2
Remote-MTA: dns; mx.receiver.test
Diagnostic-Code: smtp; 552 5.2.2 Mailbox full
""",
    human="Delivery to some recipients failed.",
    original=ORIGINAL,
)

ALL_RELAYED = _report(
    """Reporting-MTA: dns; mta.example.test

Final-Recipient: rfc822; one@receiver.test
Action: relayed
Status: 2.0.0
Remote-MTA: dns; gateway.receiver.test

Final-Recipient: rfc822; two@receiver.test
Action: delivered
Status: 2.0.0
""",
    human="Your message was relayed to a system that does not return delivery reports.",
)

DELAYED_ONLY = _report(
    """Reporting-MTA: dns; mta.example.test
Arrival-Date: Mon, 3 Mar 2025 10:00:00 +0000

Final-Recipient: rfc822; slow@receiver.test
Action: delayed
Status: 4.4.1
Remote-MTA: dns; mx.receiver.test
Diagnostic-Code: smtp; 421 4.4.1 Connection timed out
Last-Attempt-Date: Mon, 3 Mar 2025 14:00:00 +0000
Will-Retry-Until: Thu, 6 Mar 2025 10:00:00 +0000
""",
    human="This is a warning only: delivery has been delayed; we will keep trying.",
)

DELAYED_NO_DIAGNOSTIC = _report(
    """Reporting-MTA: dns; mta.example.test

Final-Recipient: rfc822; later@receiver.test
Action: delayed
Status: 4.0.0
Will-Retry-Until: Thu, 6 Mar 2025 10:00:00 +0000
""",
)

ORIGINAL_VS_FINAL = _report(
    """Reporting-MTA: dns; mta.example.test

Original-Recipient: rfc822; sales@example-alias.test
Final-Recipient: rfc822; maria.lopez@receiver.test
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 No such user
""",
    original=ORIGINAL,
)

X_ACTUAL_RECIPIENT = _report(
    """Reporting-MTA: dns; mta.example.test

Final-Recipient: rfc822; team@receiver.test
Original-Recipient: rfc822; team@receiver.test
X-Actual-Recipient: rfc822; oliver@internal.receiver.test
Action: failed
Status: 5.2.2
Diagnostic-Code: x-unix; mailbox quota exceeded
""",
)

X400_FINAL_RECIPIENT = _report(
    """Reporting-MTA: x400; /ADMD=TEST/C=XX/PRMD=GATE/
Final-Recipient: x400; /G=Paul/S=Smith/O=Gate/ADMD=TEST/C=XX/
Original-Recipient: rfc822; paul.smith@gate.receiver.test
Action: failed
Status: 5.1.1
Diagnostic-Code: x400; unrecognised originator/recipient name
""",
)

UTF8_ADDRESS_TYPE = (
    "Return-Path: <>\n"
    "From: MAILER-DAEMON@mta.example.test\n"
    "To: app@example.test\n"
    "Subject: Undelivered Mail Returned to Sender\n"
    "MIME-Version: 1.0\n"
    'Content-Type: multipart/report; report-type=global-delivery-status; boundary="G"\n'
    "\n"
    "--G\n"
    "Content-Type: text/plain; charset=utf-8\n"
    "\n"
    "Your message could not be delivered.\n"
    "--G\n"
    "Content-Type: message/global-delivery-status; charset=utf-8\n"
    "\n"
    "Reporting-MTA: dns; mta.example.test\n"
    "\n"
    "Original-Recipient: utf-8; jürgen@receiver.test\n"
    "Final-Recipient: utf-8; jürgen@receiver.test\n"
    "Action: failed\n"
    "Status: 5.1.1\n"
    "Diagnostic-Code: smtp; 550 5.1.1 mailbox unavailable\n"
    "\n"
    "Final-Recipient: utf-8; 用户@receiver.test\n"
    "Action: failed\n"
    "Status: 5.2.2\n"
    "Diagnostic-Code: smtp; 552 5.2.2 mailbox full\n"
    "--G\n"
    "Content-Type: message/global-headers\n"
    "\n"
    "From: app@example.test\n"
    "Message-ID: <std-global-1@example.test>\n"
    "--G--\n"
).encode()

UNKNOWN_ADDRESS_TYPE = _report(
    """Reporting-MTA: dns; mta.example.test

Final-Recipient: unknown; odd@receiver.test
Action: failed
Status: 5.1.1
""",
    human="odd@receiver.test: user unknown",
)

STATUS_WITH_COMMENT = _report(
    """Reporting-MTA: dns; mta.example.test

Final-Recipient: rfc822; nobody@receiver.test
Action: failed
Status: 5.1.1 (user unknown)
""",
)

FOLDED_DIAGNOSTIC = _report(
    """Reporting-MTA: dns; mta.example.test

Final-Recipient: rfc822; ben@receiver.test
Action: failed
Status: 5.7.1
Remote-MTA: dns; mx.receiver.test
Diagnostic-Code: smtp; 550-5.7.1 The message was rejected because
 550-5.7.1 it contains content that our filters consider to be spam.
\t550 5.7.1 Please see the postmaster page for details.
""",
)

X_POSTFIX_DIAGNOSTIC = _report(
    """Reporting-MTA: dns; mta.example.test
X-Postfix-Queue-ID: 4ABCD1234
X-Postfix-Sender: rfc822; app@example.test

Final-Recipient: rfc822; nohost@no-such-domain.test
Original-Recipient: rfc822;nohost@no-such-domain.test
Action: failed
Status: 5.4.4
Diagnostic-Code: X-Postfix; Host or domain name not found. Name service error
    for name=no-such-domain.test type=AAAA: Host not found
""",
)

MISSING_STATUS = _report(
    """Reporting-MTA: dns; mta.example.test

Final-Recipient: rfc822; ghost@receiver.test
Action: failed
Remote-MTA: dns; mx.receiver.test
Diagnostic-Code: smtp; 550 Requested action not taken: mailbox unavailable, no such user
""",
)

MISSING_STATUS_AND_DIAGNOSTIC = _report(
    """Reporting-MTA: dns; mta.example.test

Final-Recipient: rfc822; silent@receiver.test
Action: failed
""",
)

PER_MESSAGE_FIELDS_ONLY = (
    b"From: MAILER-DAEMON@mta.example.test\n"
    b"To: app@example.test\n"
    b"Subject: Returned mail: see transcript for details\n"
    b'Content-Type: multipart/report; report-type=delivery-status; boundary="P"\n'
    b"\n"
    b"--P\n"
    b"Content-Type: text/plain\n"
    b"\n"
    b"   ----- The following addresses had permanent fatal errors -----\n"
    b"<lost@receiver.test>\n"
    b"    (reason: 550 5.1.1 User unknown)\n"
    b"--P\n"
    b"Content-Type: message/delivery-status\n"
    b"\n"
    b"Reporting-MTA: dns; mta.example.test\n"
    b"Received-From-MTA: dns; app.example.test\n"
    b"Arrival-Date: Mon, 3 Mar 2025 10:00:00 +0000\n"
    b"--P--\n"
)

RFC822_HEADERS_ONLY = (
    b"From: MAILER-DAEMON@mta.example.test\n"
    b"To: app@example.test\n"
    b"Subject: Undelivered Mail Returned to Sender\n"
    b'Content-Type: multipart/report; report-type=delivery-status; boundary="H"\n'
    b"\n"
    b"--H\n"
    b"Content-Type: message/delivery-status\n"
    b"\n"
    b"Reporting-MTA: dns; mta.example.test\n"
    b"\n"
    b"Final-Recipient: rfc822; huge@receiver.test\n"
    b"Action: failed\n"
    b"Status: 5.3.4\n"
    b"Diagnostic-Code: smtp; 552 5.3.4 Message size exceeds fixed limit\n"
    b"--H\n"
    b"Content-Type: text/rfc822-headers\n"
    b"\n"
    b"From: app@example.test\n"
    b"To: huge@receiver.test\n"
    b"Message-ID: <std-headers-1@example.test>\n"
    b"--H--\n"
)

CRLF_REPORT = _report(
    """Reporting-MTA: dns; mta.example.test

Final-Recipient: rfc822; crlf@receiver.test
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 unknown user
""",
    human="Delivery failed.",
    original=ORIGINAL,
).replace(b"\n", b"\r\n")

FORWARDED_BOUNCE = (
    b"From: Helpdesk <helpdesk@example.test>\n"
    b"To: app@example.test\n"
    b"Subject: Fwd: Undelivered Mail Returned to Sender\n"
    b'Content-Type: multipart/mixed; boundary="OUTER"\n'
    b"\n"
    b"--OUTER\n"
    b"Content-Type: text/plain\n"
    b"\n"
    b"See the bounce below.\n"
    b"--OUTER\n"
    b"Content-Type: multipart/report; report-type=delivery-status; boundary=INNER\n"
    b"\n"
    b"--INNER\n"
    b"Content-Type: text/plain\n"
    b"\n"
    b"Your message could not be delivered.\n"
    b"--INNER\n"
    b"Content-Type: message/delivery-status\n"
    b"\n"
    b"Reporting-MTA: dns; mta.example.test\n"
    b"\n"
    b"Final-Recipient: rfc822; nested@receiver.test\n"
    b"Action: failed\n"
    b"Status: 5.1.1\n"
    b"Diagnostic-Code: smtp; 550 5.1.1 user unknown\n"
    b"--INNER--\n"
    b"--OUTER--\n"
)

ACTION_WITH_COMMENT = _report(
    """Reporting-MTA: dns; mta.example.test

Final-Recipient: rfc822; kept@receiver.test
Action: Delivered (to mailbox)
Status: 2.0.0

Final-Recipient: rfc822; passed@receiver.test
Action: RELAYED (to non-DSN-aware mailer)
Status: 2.0.0
""",
)

NO_ACTION_SUCCESS_STATUS = _report(
    """Reporting-MTA: dns; mta.example.test

Final-Recipient: rfc822; fine@receiver.test
Status: 2.1.5
Diagnostic-Code: smtp; 250 2.1.5 Recipient OK

Final-Recipient: rfc822; dead@receiver.test
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 user unknown
""",
)

SMTP_TYPE_FAILED_TEMPORARY_STATUS = _report(
    """Reporting-MTA: dns; mta.example.test
Arrival-Date: Mon, 3 Mar 2025 10:00:00 +0000

Final-Recipient: rfc822; tired@receiver.test
Action: failed
Status: 4.4.7
Remote-MTA: dns; mx.receiver.test
Last-Attempt-Date: Thu, 6 Mar 2025 10:00:00 +0000
Diagnostic-Code: smtp; 451 4.4.7 message expired in queue, delivery time exceeded
""",
)

DELAYED_MAILBOX_FULL = _report(
    """Reporting-MTA: dns; mta.example.test

Final-Recipient: rfc822; packed@receiver.test
Action: delayed
Status: 4.2.2
Diagnostic-Code: smtp; 452 4.2.2 Mailbox full, try again later
Will-Retry-Until: Thu, 6 Mar 2025 10:00:00 +0000
""",
)

AUTO_GENERATED_BOUNCE = b"""From: Mail Delivery System <MAILER-DAEMON@mta.example.test>
To: app@example.test
Subject: Mail delivery failed: returning message to sender
Auto-Submitted: auto-generated
Precedence: bulk
X-Auto-Response-Suppress: All

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  vanished@receiver.test
    host mx.receiver.test [192.0.2.25]
    SMTP error from remote mail server after RCPT TO:<vanished@receiver.test>:
    550 5.1.1 User unknown
"""

BOUNCE_CASES = [
    pytest.param(
        MIXED_ACTIONS,
        [
            ("gone@receiver.test", "hard", "userunknown", "5.1.1"),
            ("full@receiver.test", "soft", "mailboxfull", "5.2.2"),
        ],
        id="mixed-actions-only-failures",
    ),
    # A delay is not a failure yet, but the sender should know: Sisimai calls a
    # message that stays in the queue because the remote end is unreachable "expired".
    pytest.param(
        DELAYED_ONLY, [("slow@receiver.test", "soft", "expired", "4.4.1")], id="delayed-only"
    ),
    pytest.param(
        DELAYED_MAILBOX_FULL,
        [("packed@receiver.test", "soft", "mailboxfull", "4.2.2")],
        id="delayed-with-specific-reason",
    ),
    pytest.param(
        DELAYED_NO_DIAGNOSTIC,
        [("later@receiver.test", "soft", "expired", "4.0.0")],
        id="delayed-without-diagnostic",
    ),
    pytest.param(
        ORIGINAL_VS_FINAL,
        [("maria.lopez@receiver.test", "hard", "userunknown", "5.1.1")],
        id="final-recipient-differs-from-original",
    ),
    pytest.param(
        X_ACTUAL_RECIPIENT,
        [("team@receiver.test", "soft", "mailboxfull", "5.2.2")],
        id="x-actual-recipient-and-x-unix",
    ),
    pytest.param(
        X400_FINAL_RECIPIENT,
        [("paul.smith@gate.receiver.test", "hard", "userunknown", "5.1.1")],
        id="x400-final-recipient",
    ),
    pytest.param(
        UTF8_ADDRESS_TYPE,
        [
            ("jürgen@receiver.test", "hard", "userunknown", "5.1.1"),
            ("用户@receiver.test", "soft", "mailboxfull", "5.2.2"),
        ],
        id="rfc6533-utf8-addresses",
    ),
    pytest.param(
        UNKNOWN_ADDRESS_TYPE,
        [("odd@receiver.test", "hard", "userunknown", "5.1.1")],
        id="unknown-address-type",
    ),
    pytest.param(
        STATUS_WITH_COMMENT,
        [("nobody@receiver.test", "hard", "userunknown", "5.1.1")],
        id="status-with-comment",
    ),
    pytest.param(
        FOLDED_DIAGNOSTIC,
        [("ben@receiver.test", "soft", "spamdetected", "5.7.1")],
        id="folded-multiline-diagnostic",
    ),
    pytest.param(
        X_POSTFIX_DIAGNOSTIC,
        [("nohost@no-such-domain.test", "hard", "hostunknown", "5.4.4")],
        id="x-postfix-diagnostic-type",
    ),
    pytest.param(
        MISSING_STATUS,
        [("ghost@receiver.test", "hard", "userunknown", "5.0.0")],
        id="missing-status",
    ),
    pytest.param(
        MISSING_STATUS_AND_DIAGNOSTIC,
        [("silent@receiver.test", "soft", "onhold", "5.0.0")],
        id="missing-status-and-diagnostic",
    ),
    pytest.param(
        PER_MESSAGE_FIELDS_ONLY,
        [("lost@receiver.test", "hard", "userunknown", "5.1.1")],
        id="per-message-fields-only",
    ),
    pytest.param(
        RFC822_HEADERS_ONLY,
        [("huge@receiver.test", "soft", "mesgtoobig", "5.3.4")],
        id="text-rfc822-headers-no-human-part",
    ),
    pytest.param(CRLF_REPORT, [("crlf@receiver.test", "hard", "userunknown", "5.1.1")], id="crlf"),
    pytest.param(
        FORWARDED_BOUNCE,
        [("nested@receiver.test", "hard", "userunknown", "5.1.1")],
        id="report-nested-in-forward",
    ),
    pytest.param(
        NO_ACTION_SUCCESS_STATUS,
        [("dead@receiver.test", "hard", "userunknown", "5.1.1")],
        id="missing-action-read-from-status",
    ),
    pytest.param(
        SMTP_TYPE_FAILED_TEMPORARY_STATUS,
        [("tired@receiver.test", "soft", "expired", "4.4.7")],
        id="failed-after-retries-with-4xx-status",
    ),
    pytest.param(
        AUTO_GENERATED_BOUNCE,
        [("vanished@receiver.test", "hard", "userunknown", "5.1.1")],
        id="auto-generated-bounce-stays-a-bounce",
    ),
]


@pytest.mark.parametrize(("raw", "expected"), BOUNCE_CASES)
def test_standard_delivery_reports(raw: bytes, expected: Expected) -> None:
    result = classify_message(raw)

    assert result.is_bounce and result.category == "bounce"
    found = [(r.recipient, r.kind, r.reason, r.status) for r in result.recipients]
    assert found == expected


def test_original_headers_link_the_send_whichever_part_returns_them() -> None:
    assert classify_message(MIXED_ACTIONS).original_message_id == "<std-original-1@example.test>"
    assert classify_message(CRLF_REPORT).original_message_id == "<std-original-1@example.test>"
    assert classify_message(RFC822_HEADERS_ONLY).original_message_id == (
        "<std-headers-1@example.test>"
    )
    assert classify_message(UTF8_ADDRESS_TYPE).original_message_id == (
        "<std-global-1@example.test>"
    )


def test_remote_mta_is_kept_without_its_type() -> None:
    gone, _full = classify_message(MIXED_ACTIONS).recipients

    assert gone.remote_mta == "mx.receiver.test" and gone.action == "failed"


DELIVERY_SUCCESS = _report(
    """Reporting-MTA: dns; mta.example.test

Final-Recipient: rfc822; happy@receiver.test
Action: delivered
Status: 2.0.0
Diagnostic-Code: smtp; 250 2.0.0 OK queued as 12345
""",
    human="Your message was successfully delivered to the destination(s) listed below.",
)

# --- RFC 3834 automatic responses ---------------------------------------------

AUTO_REPLIED_HEADER = b"""From: Nora <nora@receiver.test>
To: app@example.test
Subject: Re: your invoice
Auto-Submitted: auto-replied (vacation)
In-Reply-To: <std-original-1@example.test>

Thank you for your message. I will answer it when I am back on 14 March.
"""

AUTO_GENERATED_NOTICE = b"""From: Support <support@receiver.test>
To: app@example.test
Subject: We have received your request [#48213]
Auto-Submitted: auto-generated

Your request has been received and a member of our team will reply shortly.
"""

X_AUTOREPLY = b"""From: omar@receiver.test
To: app@example.test
Subject: Thanks for your mail
X-Autoreply: yes

I am travelling with limited access to e-mail.
"""

X_AUTORESPOND = b"""From: pia@receiver.test
To: app@example.test
Subject: Message received
X-Autorespond: Message received

Your message has been received.
"""

PRECEDENCE_AUTO_REPLY = b"""From: quinn@receiver.test
To: app@example.test
Subject: Away
Precedence: auto_reply

I am away until next week.
"""

PRECEDENCE_JUNK_AWAY = b"""From: rosa@receiver.test
To: app@example.test
Subject: I am away from my desk
Precedence: junk

I will read your message when I return.
"""

EXCHANGE_AUTOMATIC_REPLY = b"""From: Sam Lee <sam.lee@receiver.test>
To: app@example.test
Subject: Automatic reply: your invoice
X-Auto-Response-Suppress: All
X-MS-Exchange-Inbox-Rules-Loop: sam.lee@receiver.test
Thread-Topic: your invoice
In-Reply-To: <std-original-1@example.test>
Content-Type: text/plain; charset="us-ascii"

I am out of the office with no access to e-mail and will return on Monday.
"""

GMAIL_VACATION = b"""From: Tara <tara@receiver.test>
To: app@example.test
Subject: Re: your invoice
Auto-Submitted: auto-replied
Precedence: bulk
X-Autoreply: yes
In-Reply-To: <std-original-1@example.test>
References: <std-original-1@example.test>
Content-Type: multipart/alternative; boundary="V"

--V
Content-Type: text/plain; charset="UTF-8"

I'm on vacation until 20 March without access to my mail.
--V
Content-Type: text/html; charset="UTF-8"

<div dir="ltr">I'm on vacation until 20 March without access to my mail.</div>
--V--
"""

OOO_SUBJECT_ONLY = b"""From: Uma <uma@receiver.test>
To: app@example.test
Subject: Out of Office: your invoice

I am currently out of the office and will return on 2 April.
"""

OOO_UNDELIVERABLE_WORDING = b"""From: Victor <victor@receiver.test>
To: app@example.test
Subject: Auto Response: your invoice
Auto-Submitted: auto-replied

I am on leave. Mail sent to this address is not read; urgent requests that
could not be delivered in person should go to the front desk.
"""

# --- RFC 5965 / RFC 6591 feedback reports -------------------------------------


def _arf(feedback_type: str, fields: str, returned: str, returned_type: str) -> bytes:
    return (
        "From: Feedback Loop <fbl@isp.receiver.test>\n"
        "To: abuse@example.test\n"
        "Subject: Email Feedback Report\n"
        "MIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=feedback-report; boundary="FB"\n'
        "\n"
        "--FB\n"
        "Content-Type: text/plain\n"
        "\n"
        "This is an email feedback report.\n"
        "--FB\n"
        "Content-Type: message/feedback-report\n"
        "\n"
        f"Feedback-Type: {feedback_type}\n"
        "User-Agent: ReceiverFBL/2.1\n"
        "Version: 1\n"
        f"{fields}"
        "--FB\n"
        f"Content-Type: {returned_type}\n"
        "\n"
        f"{returned}"
        "--FB--\n"
    ).encode()


RETURNED = (
    "From: app@example.test\nTo: wendy@isp.receiver.test\nMessage-ID: <std-fbl@example.test>\n"
)

FEEDBACK_CASES = [
    pytest.param(
        _arf("abuse", "Original-Rcpt-To: <xavier@isp.receiver.test>\n", RETURNED, "message/rfc822"),
        "abuse",
        ["xavier@isp.receiver.test"],
        id="abuse-original-rcpt-to",
    ),
    pytest.param(
        _arf("fraud", "Source-IP: 192.0.2.9\n", RETURNED, "message/rfc822"),
        "fraud",
        ["wendy@isp.receiver.test"],
        id="fraud-to-of-original",
    ),
    pytest.param(
        _arf(
            "virus",
            "Arrival-Date: Mon, 3 Mar 2025 10:00:00 +0000\n",
            RETURNED,
            "text/rfc822-headers",
        ),
        "virus",
        ["wendy@isp.receiver.test"],
        id="virus-headers-only",
    ),
    pytest.param(
        _arf(
            "other", "Original-Rcpt-To: yara@isp.receiver.test\n", RETURNED, "text/rfc822-headers"
        ),
        "other",
        ["yara@isp.receiver.test"],
        id="other",
    ),
    pytest.param(
        _arf("not-spam", "Original-Mail-From: <app@example.test>\n", RETURNED, "message/rfc822"),
        "not-spam",
        ["wendy@isp.receiver.test"],
        id="not-spam",
    ),
    pytest.param(
        _arf(
            "auth-failure",
            "Auth-Failure: dkim\nAuthentication-Results: isp.receiver.test; dkim=fail\n"
            "DKIM-Domain: example.test\nOriginal-Rcpt-To: zoe@isp.receiver.test\n",
            RETURNED,
            "text/rfc822-headers",
        ),
        "auth-failure",
        ["zoe@isp.receiver.test"],
        id="rfc6591-auth-failure",
    ),
]


@pytest.mark.parametrize(("raw", "feedback_type", "complainants"), FEEDBACK_CASES)
def test_feedback_reports_name_the_complainant(
    raw: bytes, feedback_type: str, complainants: list[str]
) -> None:
    result = classify_message(raw)

    assert not result.is_bounce and result.category == "feedback"
    assert [r.recipient for r in result.recipients] == complainants
    assert {r.action for r in result.recipients} == {feedback_type}
    assert result.original_message_id == "<std-fbl@example.test>"


# --- mail that is neither a bounce nor an automatic response --------------------

QUOTING_REPLY = b"""From: Alan <alan@receiver.test>
To: app@example.test
Subject: Re: your invoice
In-Reply-To: <std-original-1@example.test>

Hi, I got a notice that my earlier mail was undeliverable and could not be
delivered to your billing address. Is it still valid?

> Delivery to the following recipients failed permanently.
"""

NEWSLETTER = b"""From: Example News <no-reply@news.receiver.test>
To: app@example.test
Subject: This week's product updates
Precedence: bulk
List-Unsubscribe: <mailto:unsubscribe@news.receiver.test>
List-Id: <weekly.news.receiver.test>

Read about what is new this week.
"""

READ_RECEIPT = b"""From: Beth <beth@receiver.test>
To: app@example.test
Subject: Read: your invoice
MIME-Version: 1.0
Content-Type: multipart/report; report-type=disposition-notification; boundary="MDN"

--MDN
Content-Type: text/plain

Your message was displayed on the recipient's computer. There is no guarantee
that it was read or understood.
--MDN
Content-Type: message/disposition-notification

Reporting-UA: mua.receiver.test; ExampleMail 3.0
Original-Recipient: rfc822; beth@receiver.test
Final-Recipient: rfc822; beth@receiver.test
Original-Message-ID: <std-original-1@example.test>
Disposition: manual-action/MDN-sent-manually; displayed
--MDN
Content-Type: text/rfc822-headers

From: app@example.test
Message-ID: <std-original-1@example.test>
--MDN--
"""

CHALLENGE_RESPONSE = b"""From: Spam Guard <verify@guard.receiver.test>
To: app@example.test
Subject: Please confirm your message to carl@receiver.test
Auto-Submitted: auto-generated

Your message to carl@receiver.test is on hold. Please verify you are human by
clicking the link below, and it will be delivered.
"""

QUOTED_REPORT_REPLY = b"""From: Dana <dana@receiver.test>
To: app@example.test
Subject: Re: Undelivered Mail Returned to Sender
In-Reply-To: <bounce-77@mta.example.test>

Why did I get this? My address works fine.

> Final-Recipient: rfc822; dana@receiver.test
> Action: failed
> Status: 5.1.1
> Diagnostic-Code: smtp; 550 5.1.1 user unknown
"""

PARCEL_NOTICE = b"""From: Example Shop <no-reply@shop.receiver.test>
Return-Path: <shop-mailer@shop.receiver.test>
To: app@example.test
Subject: Your parcel could not be delivered
List-Unsubscribe: <mailto:unsubscribe@shop.receiver.test>
Precedence: bulk

We were unable to deliver your parcel today because nobody was at home.
Your parcel could not be delivered; please arrange a new delivery date.
"""

AUTO_REPLY_TO_FAILURE_SUBJECT = b"""From: Ivan <ivan@receiver.test>
To: app@example.test
Subject: Automatic reply: Your application was rejected
Auto-Submitted: auto-replied

I am out of the office until Monday. Messages that could not be delivered to
me in person will be answered when I return.
"""

PLAIN_TEXT_READ_RECEIPT = b"""From: Jane <jane@receiver.test>
To: app@example.test
Subject: Read: your invoice
Content-Type: text/plain

Your message has been read.

Reporting-UA: mua.receiver.test
Final-Recipient: rfc822; jane@receiver.test
Original-Message-ID: <std-original-1@example.test>
Disposition: manual-action/MDN-sent-manually; displayed
"""

NON_BOUNCE_CASES = [
    pytest.param(DELIVERY_SUCCESS, "delivered", id="delivery-success-dsn"),
    pytest.param(ALL_RELAYED, "delivered", id="all-relayed-or-delivered"),
    pytest.param(AUTO_REPLIED_HEADER, "vacation", id="auto-submitted-auto-replied"),
    pytest.param(AUTO_GENERATED_NOTICE, "vacation", id="auto-submitted-auto-generated"),
    pytest.param(X_AUTOREPLY, "vacation", id="x-autoreply"),
    pytest.param(X_AUTORESPOND, "vacation", id="x-autorespond"),
    pytest.param(PRECEDENCE_AUTO_REPLY, "vacation", id="precedence-auto-reply"),
    pytest.param(PRECEDENCE_JUNK_AWAY, "vacation", id="precedence-junk-away-subject"),
    pytest.param(EXCHANGE_AUTOMATIC_REPLY, "vacation", id="exchange-automatic-reply"),
    pytest.param(GMAIL_VACATION, "vacation", id="gmail-vacation"),
    pytest.param(OOO_SUBJECT_ONLY, "vacation", id="out-of-office-subject-only"),
    pytest.param(OOO_UNDELIVERABLE_WORDING, "vacation", id="auto-reply-with-failure-words"),
    pytest.param(QUOTING_REPLY, "reply", id="reply-quoting-a-bounce"),
    pytest.param(NEWSLETTER, "unknown", id="newsletter-from-no-reply"),
    pytest.param(READ_RECEIPT, "unknown", id="mdn-read-receipt"),
    pytest.param(CHALLENGE_RESPONSE, "vacation", id="challenge-response"),
    pytest.param(AUTO_REPLY_TO_FAILURE_SUBJECT, "vacation", id="auto-reply-to-failure-subject"),
    pytest.param(PLAIN_TEXT_READ_RECEIPT, "unknown", id="mdn-fields-in-plain-text"),
    pytest.param(ACTION_WITH_COMMENT, "delivered", id="action-with-comment"),
    pytest.param(QUOTED_REPORT_REPLY, "reply", id="reply-quoting-report-fields"),
    pytest.param(PARCEL_NOTICE, "unknown", id="shop-notice-with-failure-words"),
]


@pytest.mark.parametrize(("raw", "category"), NON_BOUNCE_CASES)
def test_non_bounces_in_a_bounce_mailbox(raw: bytes, category: str) -> None:
    result = classify_message(raw)

    assert not result.is_bounce
    assert result.category == category
    assert result.recipients == []
