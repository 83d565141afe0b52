"""What an arriving message is: a bounce or complaint, an automatic answer, or other mail.

Pure functions over the raw bytes. Whether an answer is a *reply* also needs the
store (did Mailroom send the message it answers?), so `read_incoming` only
collects the Message-IDs it names; `handlers`/`imap_watch` look them up.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr
from typing import Literal

Kind = Literal["bounce", "auto_reply", "answer"]

_MESSAGE_ID = re.compile(r"<[^<>\s]+>")

# Subjects of vacation and other automatic answers, in the languages we meet most.
_AUTO_REPLY_SUBJECTS = re.compile(
    r"^\s*(auto(matic)?[ -]?(reply|response|antwort|réponse)|out of (the )?office|"
    r"abwesenheit|absence|vacation|on vacation|away from (the )?office|"
    r"r[ée]ponse automatique|respuesta autom[áa]tica|risposta automatica|"
    r"automatisch antwoord|fuera de la oficina|niet aanwezig)",
    re.IGNORECASE,
)
_BOUNCE_SUBJECTS = re.compile(
    r"(undeliver|undelivered|delivery status notification|delivery (has )?failed|"
    r"returned mail|mail delivery (failed|failure|system)|failure notice|"
    r"non[- ]?delivery|delivery failure|could not be delivered|rejected:|"
    r"unzustellbar|nicht zustellbar|non remis|no entregado)",
    re.IGNORECASE,
)
_BOUNCE_SENDERS = ("mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon")
_SNIPPET_CHARS = 300


@dataclass(frozen=True, slots=True)
class Incoming:
    """The parts of an arriving message the watcher acts on."""

    kind: Kind
    message_key: str
    message_id: str | None
    referenced_ids: tuple[str, ...]
    from_email: str | None
    from_name: str | None
    subject: str
    snippet: str


def parse(raw: bytes) -> EmailMessage:
    message = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    return message


def read_incoming(raw: bytes) -> Incoming:
    """Classify one message and collect what its event needs."""
    message = parse(raw)
    kind: Kind = "answer"
    if is_bounce_or_complaint(message):
        kind = "bounce"
    elif is_auto_reply(message):
        kind = "auto_reply"
    message_id = _header(message, "Message-ID")
    ids = _MESSAGE_ID.findall(message_id)
    from_name, from_email = parseaddr(_header(message, "From"))
    return Incoming(
        kind=kind,
        message_key=message_key(ids[0] if ids else None, raw),
        message_id=ids[0] if ids else None,
        referenced_ids=referenced_message_ids(message),
        from_email=from_email or None,
        from_name=from_name or None,
        subject=_header(message, "Subject")[:998],
        snippet=text_snippet(message) if kind != "bounce" else "",
    )


def message_key(message_id: str | None, raw: bytes) -> str:
    """A stable identity for deduplication: the Message-ID, or a digest of the headers."""
    if message_id:
        return message_id
    head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    return "sha256:" + hashlib.sha256(head).hexdigest()


def referenced_message_ids(message: Message) -> tuple[str, ...]:
    """Message-IDs named by In-Reply-To then References, newest first, without repeats."""
    found: list[str] = []
    in_reply_to = _MESSAGE_ID.findall(_header(message, "In-Reply-To"))
    references = _MESSAGE_ID.findall(_header(message, "References"))
    for candidate in [*in_reply_to, *reversed(references)]:
        if candidate not in found:
            found.append(candidate)
    return tuple(found[:50])


def is_bounce_or_complaint(message: Message) -> bool:
    """A delivery status notification, an ARF feedback report, or a daemon's failure notice."""
    content_type = message.get_content_type()
    report_type = str(message.get_param("report-type", "", header="content-type") or "").lower()
    if content_type == "multipart/report" and report_type in (
        "delivery-status",
        "feedback-report",
        "disposition-notification",
    ):
        return report_type != "disposition-notification"
    if any(part.get_content_type() in _REPORT_PARTS for part in _parts(message)):
        return True
    # A daemon's plain-text notice: the sender alone proves little (postmasters write
    # mail too) and so does a null Return-Path, so ask for a failure subject as well.
    local_part = parseaddr(_header(message, "From"))[1].lower().split("@", 1)[0]
    null_return_path = _header(message, "Return-Path").strip() == "<>"
    from_daemon = local_part in _BOUNCE_SENDERS or null_return_path
    return from_daemon and bool(_BOUNCE_SUBJECTS.search(_header(message, "Subject")))


_REPORT_PARTS = {
    "message/delivery-status",
    "message/global-delivery-status",
    "message/feedback-report",
}


def is_auto_reply(message: Message) -> bool:
    """RFC 3834 and the common vendor headers and vacation subjects."""
    auto_submitted = _header(message, "Auto-Submitted").strip().lower()
    if auto_submitted and auto_submitted != "no":
        return True
    if _header(message, "X-Autoreply") or _header(message, "X-Autorespond"):
        return True
    if _header(message, "X-Auto-Response-Suppress").strip().lower() in ("all", "oof"):
        return True
    precedence = _header(message, "Precedence").strip().lower()
    if precedence in ("auto_reply", "bulk", "junk"):
        return True
    if _header(message, "X-MS-Exchange-Inbox-Rules-Loop") or _header(
        message, "X-MS-Exchange-Generated-Message-Source"
    ):
        return True
    return bool(_AUTO_REPLY_SUBJECTS.search(_header(message, "Subject")))


def text_snippet(message: EmailMessage) -> str:
    """The first words of the text body, quoted history and whitespace removed."""
    try:
        body = message.get_body(preferencelist=("plain", "html"))
        text = body.get_content() if body is not None else ""
    except (LookupError, KeyError, ValueError, AssertionError):
        return ""
    if not isinstance(text, str):
        return ""
    if body is not None and body.get_content_type() == "text/html":
        text = re.sub(r"<[^>]+>", " ", text)
    lines = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith(">"):
            continue
        if re.match(r"^On .{0,200} wrote:$", stripped):
            break
        lines.append(stripped)
    return re.sub(r"\s+", " ", " ".join(lines)).strip()[:_SNIPPET_CHARS]


def recipients(message: Message, name: str) -> list[str]:
    return [address for _, address in getaddresses(message.get_all(name, [])) if address]


def _parts(message: Message) -> list[Message]:
    if not message.is_multipart():
        return []
    parts: list[Message] = []
    for part in message.walk():
        if part is not message:
            parts.append(part)
        if len(parts) > 50:
            break
    return parts


def _header(message: Message, name: str) -> str:
    try:
        value = message.get(name)
    except (IndexError, ValueError, TypeError):
        # A malformed header the parser cannot fold into a structured value.
        return ""
    return str(value) if value is not None else ""
