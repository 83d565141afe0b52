"""Classification of arriving mail: bounces, complaints, automatic answers, replies."""

from __future__ import annotations

from email.message import EmailMessage

from mailroom.watcher.classify import message_key, read_incoming


def _message(subject: str = "Re: our call", **headers: str) -> bytes:
    message = EmailMessage()
    message["From"] = headers.pop("From", "Pat Buyer <pat@customer.example>")
    message["To"] = "demo@mailroom.test"
    message["Subject"] = subject
    message["Message-ID"] = headers.pop("Message_ID", "<answer-1@customer.example>")
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content("Sounds good, let's talk Tuesday.\n\n> quoted history\n> more\n")
    return message.as_bytes()


def test_a_human_answer_names_the_messages_it_answers_newest_first() -> None:
    raw = _message(
        In_Reply_To="<sent-2@mailroom.test>", References="<sent-1@x> <sent-2@mailroom.test>"
    )
    incoming = read_incoming(raw)
    assert incoming.kind == "answer"
    assert incoming.referenced_ids == ("<sent-2@mailroom.test>", "<sent-1@x>")
    assert incoming.from_email == "pat@customer.example"
    assert incoming.from_name == "Pat Buyer"
    assert incoming.snippet == "Sounds good, let's talk Tuesday."
    assert incoming.message_key == "<answer-1@customer.example>"


def test_rfc_3834_and_vendor_headers_and_vacation_subjects_mark_automatic_answers() -> None:
    assert read_incoming(_message(Auto_Submitted="auto-replied")).kind == "auto_reply"
    assert read_incoming(_message(X_Autoreply="yes")).kind == "auto_reply"
    assert read_incoming(_message(X_Autorespond="1")).kind == "auto_reply"
    assert read_incoming(_message(Precedence="bulk")).kind == "auto_reply"
    assert read_incoming(_message("Out of Office: back on Monday")).kind == "auto_reply"
    assert read_incoming(_message("Automatic reply: Re: our call")).kind == "auto_reply"
    assert read_incoming(_message(Auto_Submitted="no")).kind == "answer"


def test_a_delivery_status_notification_is_a_bounce_even_with_auto_submitted() -> None:
    raw = (
        b"From: MAILER-DAEMON@mailroom.test (Mail Delivery System)\r\n"
        b"To: demo@mailroom.test\r\n"
        b"Subject: Undelivered Mail Returned to Sender\r\n"
        b"Auto-Submitted: auto-replied\r\n"
        b"Message-ID: <dsn-1@mailroom.test>\r\n"
        b"MIME-Version: 1.0\r\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="b1"\r\n'
        b"\r\n--b1\r\nContent-Type: text/plain\r\n\r\nI'm sorry.\r\n"
        b"--b1\r\nContent-Type: message/delivery-status\r\n\r\n"
        b"Reporting-MTA: dns; mail.mailroom.test\r\n\r\n"
        b"Final-Recipient: rfc822; nobody@mailroom.test\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        b"--b1--\r\n"
    )
    assert read_incoming(raw).kind == "bounce"


def test_an_arf_feedback_report_is_sent_to_the_bounce_service() -> None:
    raw = (
        b"From: abuse@isp.example\r\nSubject: complaint\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/report; report-type=feedback-report; boundary="f"\r\n\r\n'
        b"--f\r\nContent-Type: text/plain\r\n\r\nA complaint.\r\n"
        b"--f\r\nContent-Type: message/feedback-report\r\n\r\nFeedback-Type: abuse\r\n--f--\r\n"
    )
    assert read_incoming(raw).kind == "bounce"


def test_a_plain_text_notice_from_the_mailer_daemon_counts_but_a_postmaster_chat_does_not() -> None:
    notice = _message("Delivery Status Notification (Failure)", From="postmaster@corp.example")
    chat = _message("Lunch on Friday?", From="postmaster@corp.example")
    assert read_incoming(notice).kind == "bounce"
    assert read_incoming(chat).kind == "answer"


def test_a_message_without_message_id_gets_a_stable_key_from_its_header() -> None:
    raw = b"From: a@b.example\r\nSubject: hi\r\n\r\nbody one\r\n"
    same_header = b"From: a@b.example\r\nSubject: hi\r\n\r\nanother body\r\n"
    assert message_key(None, raw) == message_key(None, same_header)
    assert message_key(None, raw).startswith("sha256:")
    assert read_incoming(raw).message_id is None
