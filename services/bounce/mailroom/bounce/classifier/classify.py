"""The classifier's entry points: a whole message, or one SMTP reply from the sender's dialogue."""

from __future__ import annotations

import functools
import re

from mailroom.bounce.classifier import autoreply, dsn, vendors
from mailroom.bounce.classifier.mime import (
    Headers,
    ReadMessage,
    addresses,
    header_text,
    read_message,
)
from mailroom.bounce.classifier.model import BouncedRecipient, Classification
from mailroom.bounce.classifier.patterns import AnyWording, LazyPattern, lowered
from mailroom.bounce.classifier.reasons import (
    STATUS_RE,
    decide_reason,
    find_reply_code,
    find_status,
    kind_for,
    normalise_text,
    status_of,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Final

# Subject, sender, body and command patterns are written in lower case and
# searched in lower-cased text.
_BOUNCE_SUBJECT: Final = AnyWording(
    "undeliver",
    r"delivery (?:status notification|fail|failure|problem|report|notification)",
    "failure notice",
    "returned mail",
    "returned to sender",
    r"mail delivery (?:failed|failure|system)",
    r"could not (?:be )?deliver",
    r"non[- ]?(?:remis|recapitabile|delivery)",
    "unzustellbar",
    "nicht zustellbar",
    "delivery has failed",
    "message not delivered",
    "rejected",
    "warning: could not send",
    "mail failure",
    "échec de la remise",
    "error sending",
    "returned message",
    "nondeliverable",
    "delayed mail",
    "delivery delayed",
    "mail system error",
    # the non-delivery subjects of localised notices (Exchange translates its "Undeliverable")
    "zustellung fehlgeschlagen",
    "nicht zugestellt",
    "non distribuable",
    "no se puede entregar",
    "no se pudo entregar",
    "não é possível entregar",
    "não entregue",
    "nao entregue",
    "mancato recapito",
    "onbestelbaar",
    "niet bezorgd",
    "niedostarcz",
    "nedoruč",
    "teslim edilemedi",
    "не доставлен",
    "недоставлен",
    "ошибка доставки",
)
_DAEMON_SENDER: Final = AnyWording(
    "mailer-daemon",
    "postmaster",
    "mail delivery",
    "mail-daemon",
    "mailerdaemon",
    r"\bmdaemon\b",
    "delivery subsystem",
    "system administrator",
    "microsoftexchange",
    "bounce",
)
_FAILURE_BODY: Final = AnyWording(
    "could not be delivered",
    "couldn't be delivered",
    "wasn't able to deliver",
    "unable to deliver",
    r"delivery (?:has )?failed",
    r"following (?:address|recipient)",
    "did not reach",
    r"permanent (?:error|failure)",
    "undeliverable",
    "not be delivered",
    "delivery to the following",
    "error delivering",
    # the same sentence in localised notices, as plain strings: "pu être remis" whatever
    # the apostrophe of "n'a pas pu être remis"
    "nicht zugestellt werden",
    "zustellung an folgende empfänger",
    "pu être remis",
    "pu être distribué",
    "pu être délivré",
    "la remise a échoué",
    "no se pudo entregar",
    "no pudo ser entregado",
    "no ha podido ser entregado",
    "error al entregar",
    "pôde ser entregue",
    "não foi possível entregar",
    "falha na entrega",
    "possibile recapitare",
    "recapito non riuscito",
    "niet worden bezorgd",
    "niet worden afgeleverd",
    "bezorging is mislukt",
    "zostać dostarczona",
    "nie została dostarczona",
    "nie można dostarczyć",
    "možné doručit",
    "nelze doručit",
    "teslim edilemedi",
    "быть доставлено",
    "не удалось доставить",
    "配信できませんでした",
    "送信できませんでした",
    "配信に失敗しました",
    "届きませんでした",
    "届けることが出来ませんでした",
    "无法投递",
    "无法送达",
    "投递失败",
    "被退回",
    "전송하지 못했",
    "전송되지 못했",
    "배달하지 못했",
    "전달되지 못했",
)
_MESSAGE_ID: Final = LazyPattern(r"<[^<>\s]+>")
_COMMAND: Final = LazyPattern(
    r"(?:in reply to (?:end of )?|after (?:end of )?|did not like our (?:final )?|"
    r"smtp command:?\s+)"
    r"(data|rcpt to|rcpt|mail from)\b|for (text|data) command"
)
# The receiving server refused the connection itself, before any mail command.
_CONNECTION_STAGE: Final = AnyWording(
    "after initial connection",
    "refused to talk to me",
    r"in reply to (?:the )?(?:initial )?greeting",
    r"(?:in reply to|after) (?:helo|ehlo)\b",
)
# Words every match of the two patterns above contains (in lower case), so that
# most diagnostics, which name no command, skip both searches.
_COMMAND_WORDS: Final = ("reply to", "after ", "did not like", "command")
_CONNECTION_WORDS: Final = ("reply to", "after ", "to talk")
# Words in most English auto-reply subjects: only a bounce-like subject holding one
# is searched for the auto-reply wordings.
_AUTO_REPLY_WORDS: Final = ("auto", "office", "vacation")
_TRANSCRIPT: Final = LazyPattern(
    r"^\s*(?:>>>|sent <<<)\s*(data|rcpt|mail)|^\s*(?:<<<|received >>>)\s*[45]\d\d", re.M
)
_QUOTED_TO: Final = LazyPattern(r"^To:[ \t]*(.+)$", re.M | re.I)
_SES_SUBJECT: Final = AnyWording("aws notification", "amazon ses")  # in lower case
_CJK_FAILURE: Final = AnyWording(
    "エラー",
    "不達",
    "送信できませんでした",
    "配信できませんでした",
    "届きませんでした",
    "退信",
    "退回",
    # Exchange's translated "Undeliverable" and the webmail services' own subjects
    "配信不能",
    "无法投递",
    "無法傳遞",
    "投递失败",
    "无法送达",
    "배달 못 함",
    "전송 실패",
    "발송 실패",
)


def classify_message(raw: bytes) -> Classification:
    """Classify one raw message from a bounce mailbox. Never raises.

    Returns a bounce with one `BouncedRecipient` per failed recipient, or the kind
    of non-bounce it is (`delivered`, `vacation`, `feedback`, `reply`), or
    `unknown` with `problem` saying why the message could not be read.
    """
    try:
        return _classify(raw)
    except RecursionError:
        return Classification(False, "unknown", problem="MIME structure nested too deeply")
    except Exception as exc:  # never let one bad message stop the consumer
        return Classification(False, "unknown", problem=f"unreadable message: {type(exc).__name__}")


def classify_smtp_reply(
    code: int,
    enhanced_status: str | None,
    text: str,
    recipient: str,
    command: str | None = None,
) -> BouncedRecipient:
    """Classify an SMTP rejection from the sender's own dialogue (`550 5.1.1 ...`).

    `command` is the SMTP command that was rejected (`RCPT`, `DATA`), when known.
    """
    status = dsn.normalise_status(enhanced_status) or find_status(text)
    if status is None and 400 <= code < 600:
        status = f"{code // 100}.0.0"
    reason = decide_reason(status, code, normalise_text(f"{code} {text}"), command)
    return BouncedRecipient(
        recipient=recipient.strip().strip("<>").lower(),
        kind=kind_for(reason, status, code),
        reason=reason,
        status=status,
        diagnostic=" ".join(text.split()) or None,
        smtp_code=code,
        action="failed" if code >= 500 else "delayed",
    )


def _complainants(read: ReadMessage) -> list[BouncedRecipient]:
    """Who complained, per RFC 5965: `Original-Rcpt-To`, else the returned message's `To`."""
    fields = read.feedback_fields or []
    found = addresses([value for name, value in fields if name.lower() == "original-rcpt-to"])
    if not found and read.original is not None:
        found = addresses(read.original.get_all("To"))
    feedback_type = next(
        (value.strip().lower() for name, value in fields if name.lower() == "feedback-type"),
        "abuse",
    )
    return [
        BouncedRecipient(recipient=address, kind="unknown", reason="feedback", action=feedback_type)
        for address in dict.fromkeys(found)
    ]


def _classify(raw: bytes) -> Classification:
    read = read_message(raw)
    msg = read.headers
    subject = header_text(msg, "Subject")
    original_id = _original_message_id(read)

    if autoreply.is_feedback_report(msg, read.feedback_fields is not None):
        return Classification(False, "feedback", _complainants(read), original_id, read.problem)

    texts = read.texts or read.html_texts
    body = "\n".join(texts)
    records = [r for block in [read.dsn_blocks] for r in dsn.records_from_blocks(block)]
    if not records:
        records = dsn.records_from_text(body)
    if records:
        failed = [r for r in records if r.action not in ("delivered", "relayed", "expanded")]
        if not failed:
            return Classification(False, "delivered", [], original_id, read.problem)
        notice = vendors.error_section(texts[0]) if texts else ""
        if len(failed) == 1:
            recipients = [_from_dsn(failed[0], notice, True)]
        else:
            pieces = _notice_pieces(notice, failed)
            recipients = [
                _from_dsn(r, pieces.get(r.recipient.lower(), ""), r.recipient.lower() in pieces)
                for r in failed
            ]
        return Classification(True, "bounce", recipients, original_id, read.problem)

    if body.lstrip().startswith("{") and _SES_SUBJECT.found_in(
        lowered(subject + str(msg.get("From", "")))
    ):
        notified = vendors.ses_notification(body)
        if notified is not None:
            bounced, notified_id = notified
            original_id = original_id or notified_id
            found = [
                classify_smtp_reply(code or 550, status, diag, address)
                for address, status, code, diag in bounced
            ]
            if not found:
                return Classification(False, "delivered", [], original_id, read.problem)
            return Classification(True, "bounce", found, original_id, read.problem)

    transcript = vendors.session_transcript_failure(body)
    if transcript is not None:
        addresses, code, reply, command = transcript
        found = [classify_smtp_reply(code, None, reply, address, command) for address in addresses]
        return Classification(True, "bounce", found, original_id, read.problem)

    list_headers = any(name in msg for name in _LIST_MANAGER_HEADERS)
    if vendors.is_list_refusal(list_headers, header_text(msg, "From"), subject, body):
        refused = _list_refusal(msg, subject, body)
        if refused:
            return Classification(True, "bounce", refused, original_id, read.problem)

    if _looks_like_bounce(msg, subject, body):
        recipients = _from_text(read, msg, body)
        if recipients:
            return Classification(True, "bounce", recipients, original_id, read.problem)
        return Classification(
            True, "bounce", [], original_id, read.problem or "no failed recipient found"
        )

    if autoreply.is_auto_reply(msg, subject):
        return Classification(False, "vacation", [], original_id, read.problem)
    if msg.get("In-Reply-To") or msg.get("References") or subject.lower().startswith("re:"):
        return Classification(False, "reply", [], original_id, read.problem)
    return Classification(False, "unknown", [], original_id, read.problem)


_LIST_MANAGER_HEADERS: Final = ("X-MLServer", "X-ML-Name", "X-Mailman-Version", "Mailing-List")


def _list_refusal(msg: Headers, subject: str, body: str) -> list[BouncedRecipient]:
    """The list's own address is the recipient that refused the post."""
    own = set(addresses([msg.get(name) or "" for name in ("To", "From", "Cc")]))
    failures = vendors.find_failures(vendors.error_section(body), own)
    if failures:
        refused = failures[0].recipient
    else:
        # Mailman's notice names the list only in the list headers it adds, and
        # Mailman 3's only in the owner address it sends from
        posting = addresses([msg.get(name) or "" for name in ("List-Post", "X-BeenThere")])
        if posting:
            refused = posting[0]
        else:
            admin = [msg.get(name) or "" for name in ("From", "Sender", "Return-Path")]
            derived = vendors.list_address_from_admin(admin)
            if derived is None:
                return []
            refused = derived
    text = normalise_text(f"{subject} {body[:2000]}")
    reason = decide_reason(None, None, text)
    if reason in ("onhold", "userunknown", "filtered", "policyviolation", "securityerror"):
        reason = "rejected"
    return [
        BouncedRecipient(
            recipient=refused,
            kind=kind_for(reason, None),
            reason=reason,
            diagnostic=" ".join(subject.split()) or None,
            action="failed",
        )
    ]


def smtp_command(text: str) -> str | None:
    """The SMTP command a rejection answered (`RCPT`, `DATA`, `MAIL`), when the text says.

    `CONN` stands for a refusal of the connection itself (greeting, HELO/EHLO).
    """
    command = None
    text = text.lower()
    if ">>>" in text or "<<<" in text:
        for match in _TRANSCRIPT.finditer(text):
            if match.group(1):
                command = match.group(1)
            elif command is not None:
                break
    if command is None:
        found = _COMMAND.search(text) if _mentions(text, _COMMAND_WORDS) else None
        command = (found.group(1) or found.group(2)) if found else None
        if command is None:
            connection = _mentions(text, _CONNECTION_WORDS) and _CONNECTION_STAGE.found_in(text)
            return "CONN" if connection else None
    word = command.split()[0].upper()
    return "DATA" if word == "TEXT" else word


def _mentions(lowered: str, words: tuple[str, ...]) -> bool:
    return any(word in lowered for word in words)


def _looks_like_bounce(msg: Headers, subject: str, body: str) -> bool:
    if "X-Failed-Recipients" in msg:
        return True
    sender = header_text(msg, "From").lower()
    subject_lower = subject.lower()
    bounce_subject = _BOUNCE_SUBJECT.found_in(subject_lower)
    if _DAEMON_SENDER.found_in(sender):
        if bounce_subject:
            return True
        # lowered only here and in the last check, which a daemon's notice never reaches
        body_lower = body.lower()
        if (
            _FAILURE_BODY.found_in(body_lower)
            or (("<<<" in body or ">>>" in body) and _TRANSCRIPT.search(body_lower))
            or _CJK_FAILURE.found_in(subject)
        ):
            return True
    if _CJK_FAILURE.found_in(subject) and _CJK_FAILURE.found_in(body[:5000]):
        return True
    if not bounce_subject:
        return False
    if (
        "List-Unsubscribe" in msg
        or subject_lower[:3] == "re:"
        or (
            _mentions(subject_lower, _AUTO_REPLY_WORDS)
            and autoreply.has_auto_reply_subject(subject_lower)
        )
    ):
        # a newsletter, a person's reply or an out-of-office answer that mentions a
        # failed delivery (a parcel, an earlier bounce, the subject it answers) is not
        # one: a bounce from anyone but the mail system itself needs more than words
        return False
    return_path = str(msg.get("Return-Path", "")).strip()
    if return_path in ("<>", ""):
        return True
    return _FAILURE_BODY.found_in(body.lower()[:20000])


def _original_message_id(read: ReadMessage) -> str | None:
    if read.original is not None:
        value = read.original.get("Message-ID") or read.original.get("Message-Id")
        if value:
            match = _MESSAGE_ID.search(str(value))
            return match.group(0) if match else str(value).strip() or None
    # text bounces quote the original inline: its Message-ID is the last one in the body
    for text in read.texts:
        section = vendors.error_section(text)
        tail = text[len(section) :]
        if "message-id:" not in tail.lower():
            continue
        for line in tail.splitlines():
            if line[:11].lower() == "message-id:":
                match = _MESSAGE_ID.search(line)
                if match:
                    return match.group(0)
    return None


_RELAY_SUMMARY: Final = LazyPattern(
    r"\s*[245]\.\d{1,3}\.\d{1,3}\s+-\s+[A-Za-z ]{0,60}?(?=[245]\d\d[ -]|$)"
)


def _without_relay_summary(diagnostic: str) -> str:
    """The remote server's reply without a relay's own `5.1.0 - Unknown address error` summary."""
    match = _RELAY_SUMMARY.match(diagnostic)
    if match and match.end() < len(diagnostic):
        return diagnostic[match.end() :]
    return diagnostic


def _diagnostic_status(diagnostic: str) -> str | None:
    """The status the remote server gave, skipping a relay's own `5.1.0 - Description` prefix."""
    match = re.match(r"\s*[245]\.\d{1,3}\.\d{1,3}\s+-\s+", diagnostic)
    if match:
        return find_status(diagnostic[match.end() :]) or find_status(diagnostic)
    return find_status(diagnostic)


_CONTINUATION: Final = LazyPattern(r"(?<=\s)[245]\d\d[ -](?:[245]\.\d{1,3}\.\d{1,3}\s+)?")


def _join_reply_lines(text: str) -> str:
    """`550-5.7.1 first part 550-5.7.1 second part` → one sentence, for pattern matching."""
    return text[:12] + _CONTINUATION.sub("", text[12:])


def _notice_pieces(notice: str, failed: list[dsn.DsnRecord]) -> dict[str, str]:
    """The notice's lines about each recipient whose block has no Diagnostic-Code.

    Exim, for one, writes no Diagnostic-Code for a failure that was not a remote
    server's reply (a retry timeout, a routing failure): the reason is only in
    the human-readable notice, next to the address.
    """
    missing = {record.recipient.lower() for record in failed if not record.diagnostic}
    if not notice or not missing:
        return {}
    lowered_notice = notice.lower()
    # every recipient is looked for, so that each piece ends where the next begins
    found = vendors.find_failures(notice, set(), [record.recipient.lower() for record in failed])
    return {
        failure.recipient: failure.diagnostic
        for failure in found
        if failure.recipient in missing and failure.recipient in lowered_notice
    }


def _from_dsn(record: dsn.DsnRecord, notice: str, own_notice: bool) -> BouncedRecipient:
    """One recipient block; `own_notice` says `notice` speaks of this recipient alone."""
    diagnostic = record.diagnostic or ""
    status = record.status
    text_status = _diagnostic_status(diagnostic)
    # the remote server's own code is more precise than the reporting MTA's summary
    if text_status and (status is None or text_status[0] == status[0]):
        status = text_status
    smtp_code = find_reply_code(diagnostic)
    text = normalise_text(_join_reply_lines(_without_relay_summary(diagnostic)))
    if not diagnostic and own_notice:
        # no Diagnostic-Code: the human-readable part is the only explanation
        text = normalise_text(notice)
        notice_status = find_status(notice)
        if notice_status and (status is None or notice_status[0] == status[0]):
            status = notice_status
        smtp_code = find_reply_code(notice)
    if status is None and smtp_code is not None:
        status = f"{smtp_code // 100}.0.0"
    if status is None and record.action == "delayed":
        status = "4.0.0"
    elif status is None and record.action == "failed":
        # RFC 3464 requires Status; "failed" means a permanent failure (RFC 3463 class 5)
        status = "5.0.0"
    command = smtp_command(diagnostic) or (smtp_command(notice) if own_notice else None)
    reason = decide_reason(status, smtp_code, text, command)
    if (
        reason in ("userunknown", "filtered")
        and (record.remote_mta or "").lower().endswith("docomo.ne.jp")
        and not (status or "").startswith("5.1.")
    ):
        # NTT docomo answers "550 Unknown user" also when the recipient's
        # reception settings refuse the sender; only 5.1.x means the address is gone
        reason = "rejected"
    if reason == "onhold" and own_notice and notice and diagnostic:
        reason = decide_reason(status, smtp_code, normalise_text(notice), command)
    return BouncedRecipient(
        recipient=record.recipient.lower(),
        kind=kind_for(reason, status, smtp_code),
        reason=reason,
        status=status,
        diagnostic=" ".join(diagnostic.split()) or None,
        remote_mta=record.remote_mta,
        action=record.action,
        smtp_code=smtp_code,
    )


def _sender_addresses(msg: Headers, original: Headers | None) -> set[str]:
    values = [str(msg.get(name, "")) for name in ("To", "Cc", "Reply-To")]
    if original is not None:
        values += [str(original.get(name, "")) for name in ("From", "Sender", "Return-Path")]
    return set(addresses(values))


def _from_text(read: ReadMessage, msg: Headers, body: str) -> list[BouncedRecipient]:
    section = vendors.error_section(body)
    named = addresses(msg.get_all("X-Failed-Recipients"))
    senders = _sender_addresses(msg, read.original)
    failures = vendors.find_failures(section, senders, named)
    if not failures:
        # the failed address may equal the bounce's own addressee (a message to oneself)
        senders -= set(addresses([msg.get("To") or ""]))
        failures = vendors.find_failures(section, senders, named)
    if not failures:
        # the notice names nobody: the failed recipient is the original's addressee
        to_header = str(read.original.get("To", "")) if read.original is not None else ""
        if not to_header:
            quoted = _QUOTED_TO.search(body[len(section) :])
            to_header = quoted.group(1) if quoted else ""
        to = addresses([to_header])
        failures = [vendors.TextFailure(a.lower(), section) for a in to[:1]]
    whole = normalise_text(section)
    permanent = vendors.looks_permanent(section)
    # A recipient whose own lines give no code takes the notice's, but only from
    # the text before the recipients: a code further down is another recipient's.
    shared = _SharedNotice(section if len(failures) == 1 else _before_recipients(section, failures))
    google_groups = "googlemail.com" in str(
        msg.get("From", "")
    ).lower() and vendors.is_google_groups(section)
    results = []
    for failure in failures:
        block = failure.diagnostic
        status = _failure_status(block) or shared.status
        smtp_code = find_reply_code(block) or shared.smtp_code
        if status is None:
            if smtp_code is not None:
                status = f"{smtp_code // 100}.0.0"
            elif permanent is not None:
                status = "5.0.0" if permanent else "4.0.0"
        text = normalise_text(block)
        command = smtp_command(block) or shared.command
        reason = decide_reason(status, smtp_code, text, command)
        if reason in ("onhold", "expired") and len(failures) == 1:
            fallback = decide_reason(status, smtp_code, whole, command)
            reason = fallback if fallback != "onhold" else reason
        if google_groups:
            reason = "rejected"
        results.append(
            BouncedRecipient(
                recipient=failure.recipient,
                kind=kind_for(reason, status, smtp_code),
                reason=reason,
                status=status,
                diagnostic=" ".join(block.split())[:1000] or None,
                action="failed" if (status or "5").startswith("5") else "delayed",
                smtp_code=smtp_code,
            )
        )
    return results


class _SharedNotice:
    """What the notice text shared by the failed recipients says, read once when a
    recipient's own lines do not say it."""

    def __init__(self, text: str) -> None:
        self.text = text

    @functools.cached_property
    def status(self) -> str | None:
        return _failure_status(self.text)

    @functools.cached_property
    def smtp_code(self) -> int | None:
        return find_reply_code(self.text)

    @functools.cached_property
    def command(self) -> str | None:
        return smtp_command(self.text)


def _before_recipients(section: str, failures: list[vendors.TextFailure]) -> str:
    """The notice up to the line that first names one of the failed recipients."""
    lower = lowered(section)
    found = [at for failure in failures if (at := lower.find(failure.recipient)) >= 0]
    if not found:
        return section
    return section[: section.rfind("\n", 0, min(found)) + 1]


def _failure_status(text: str) -> str | None:
    """The first 4.x.x or 5.x.x code in `text`.

    A session transcript (MDaemon, InterScan) quotes the 2.x.x replies to the
    commands that succeeded before the one that failed.
    """
    status = find_status(text)
    if status is None or status[0] != "2":
        return status
    for match in STATUS_RE.finditer(text):
        if match.group(1) != "2":
            return status_of(match)
    return None
