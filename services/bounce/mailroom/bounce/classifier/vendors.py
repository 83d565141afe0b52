"""Bounces that are not RFC 3464 reports: the plain-text formats of real servers.

Postfix (old), Exim, Sendmail (v5), qmail, Courier, OpenSMTPD, DragonFly, Lotus
Notes/Domino, Exchange 2003, Gmail, Yahoo, Mail.ru, Google Groups and similar all
write a human-readable notice: an introduction, the failed address(es), the
remote server's reply, then a copy of the original message. The recognisers below
follow that shape instead of matching one server's exact sentence, so a new
wording from the same kind of server still parses.
"""

from __future__ import annotations

import bisect
import functools
import re

from mailroom.bounce.classifier.patterns import AnyWording, LazyPattern, lowered

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Final

ADDRESS_RE: Final = LazyPattern(
    r"(?:\"[^\"\r\n]{1,64}\"|[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64})@"
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}\b"
)

# Where the copy of the original message starts in a text bounce (searched in lower case).
# Searched in "\n" + text: every alternative starts after a newline, and a pattern
# that starts with one plain character is tried only where that character occurs
# (a third less work than `^` with re.M, which is tried at every position).
_ORIGINAL_MARKER: Final = LazyPattern(
    r"\n(?:"
    # a delimiter line that names the original ("----- Original message -----")
    r"[ \t]*[-=*_#\[(|<]{2,}[^\n]*?\b(?:original|returned|copy|headers?|below this line|unsent)\b"
    # or a sentence that introduces it
    r"|[ \t]*(?:original message|message headers follow|included is a copy|your message reads|"
    r"the (?:original|returned) message (?:follows|is attached|headers)|"
    r"below (?:this line )?is a copy|this is a copy of|(?:original )?message (?:header|"
    r"content)s? follows?|"
    r"content-type: (?:message/rfc822|text/rfc822-headers))"
    # or the original's own header block
    r"|(?:received|return-path|dkim-signature|x-received|arc-seal|x-google-smtp-source)[ \t]*:"
    r")"
)
# A delimiter line in any language ("----- 元のメッセージ -----") marks the copy when
# two of the original's header fields follow it; found with plain string searches
# for the two delimiters notices draw (each search reads the whole text).
_DELIMITERS: Final = ("---", "===")
_QUOTED_FIELDS: Final = (
    "message-id:",
    "from:",
    "to:",
    "cc:",
    "subject:",
    "date:",
    "reply-to:",
    "sender:",
)
_NEXT_QUOTED_FIELDS: Final = (*_QUOTED_FIELDS, "mime-version:", "content-type:", "x-")
_ENVELOPE_SENDER: Final = LazyPattern(
    r"(?:mail from|envelope-from|sender)\s*[:=]?\s*<?([^\s<>]+@[^\s<>]+)"
)
# Compared with or searched in lower-cased text (addresses are lower-cased when found).
_DAEMON_LOCAL_PARTS: Final = frozenset(
    {"mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon"}
)
_PERMANENT: Final = AnyWording("permanent", "fatal", "given up", "giving up", "hard")
_TEMPORARY: Final = AnyWording(
    "temporar", "delay", r"will (?:be )?retr", "still trying", "deferred"
)
_GOOGLE_GROUPS: Final = AnyWording(r"groups\.google\.com", "google groups")  # in lower case


class TextFailure:
    """One failed recipient read from a plain-text bounce."""

    __slots__ = ("diagnostic", "recipient")

    def __init__(self, recipient: str, diagnostic: str) -> None:
        self.recipient = recipient
        self.diagnostic = diagnostic


@functools.lru_cache(maxsize=8)
def error_section(text: str) -> str:
    """The notice part of a text bounce: everything before the copy of the original."""
    lower = lowered(text)
    match = _ORIGINAL_MARKER.search("\n" + lower)
    end = match.start() if match else len(text)  # the line's start: one "\n" was put before
    return text[: _delimiter_above_fields(lower, end)]


def _delimiter_above_fields(lower: str, end: int) -> int:
    """Where a delimiter line above quoted header fields starts before `end`, else `end`."""
    for delimiter in _DELIMITERS:
        at = lower.find(delimiter, 0, end)
        while at >= 0:
            line_start = lower.rfind("\n", 0, at) + 1
            line_end = lower.find("\n", at)
            if line_end < 0:
                break
            if not lower[line_start:at].strip(" \t") and _fields_follow(lower, line_end + 1):
                end = line_start
                break
            at = lower.find(delimiter, line_end, end)
    return end


def _fields_follow(lower: str, at: int) -> bool:
    """Whether two header field lines (after at most one blank line) start at `at`."""
    if lower.startswith("\n", at):
        at += 1
    if not lower.startswith(_QUOTED_FIELDS, at):
        return False
    following = lower.find("\n", at) + 1
    return following > 0 and lower.startswith(_NEXT_QUOTED_FIELDS, following)


def looks_permanent(text: str) -> bool | None:
    """True/False when the notice itself says permanent/temporary, None when it does not say."""
    text = text.lower()
    if _PERMANENT.found_in(text):
        return True
    if _TEMPORARY.found_in(text):
        return False
    return None


def is_google_groups(text: str) -> bool:
    """Google Groups refuses posts to a missing or closed group with a localised notice."""
    return _GOOGLE_GROUPS.found_in(lowered(text))


def find_failures(
    section: str, excluded: set[str], named: list[str] | None = None
) -> list[TextFailure]:
    """Failed recipients in a notice, each with the lines that explain its failure.

    `excluded` holds the sender's own addresses (lower-case), which appear in the notice
    as the bounce's addressee or in a quoted `MAIL FROM`. `named` are recipients the
    server listed in a header (X-Failed-Recipients), which are trusted first.

    A notice may name each recipient more than once: Exchange lists them with the
    explanation for people, then again with the remote server's reply for
    administrators. Each mention starts a piece of text that runs to the next
    mention of any recipient, and a recipient's explanation is all of its pieces.
    """
    lines = section.splitlines()
    senders = set(excluded)
    for match in _ENVELOPE_SENDER.finditer(section.lower()):
        senders.add(match.group(1).strip("<>.,;:").lower())
    # the lines where each candidate address occurs, first occurrence first
    mentions: dict[str, list[int]] = {}
    for number, line in enumerate(lines):
        if "@" not in line or _names_a_message(line):
            continue
        for match in ADDRESS_RE.finditer(line):
            address = match.group(0).strip(".").lower()
            if address in senders:
                continue
            start = match.start()
            if line[max(0, start - 7) : start].lower().endswith("mailto:"):
                continue
            if _is_message_id(line, start):
                continue
            seen = mentions.setdefault(address, [])
            if not seen or seen[-1] != number:
                seen.append(number)
    candidates = list(mentions)
    if named:
        wanted = [address.lower() for address in named]
        candidates = [address for address in wanted if address]
        for address in candidates:
            if address not in mentions:
                number = _line_of(lines, address)
                mentions[address] = [number] if number >= 0 else []
    else:
        first_line = {address: seen[0] for address, seen in mentions.items()}
        people = [a for a in candidates if a.split("@")[0].strip('"') not in _DAEMON_LOCAL_PARTS]
        candidates = people or candidates
        # a notice names each failed recipient once near its reason; addresses that
        # only appear inside a long reply text (URLs, help addresses) come after them
        candidates = _drop_help_addresses(candidates, lines, first_line)
    starts = sorted({number for address in candidates for number in mentions[address]})
    failures: list[TextFailure] = []
    for address in candidates:
        if not mentions[address]:
            failures.append(TextFailure(address, section))
            continue
        pieces = [_piece(lines, starts, begin) for begin in mentions[address]]
        if all(_only_addresses(piece) for piece in pieces):
            # a list of addresses followed by one explanation for all of them
            # (James, Gmail): each address shares the explanation after the list
            pieces.append(_explanation_after(lines, starts, mentions[address][-1]))
        failures.append(TextFailure(address, "\n".join(pieces)))
    return failures


def _piece(lines: list[str], starts: list[int], begin: int) -> str:
    """The lines from a mention at `begin` to the next mention of any recipient."""
    following = bisect.bisect_right(starts, begin)
    end = starts[following] if following < len(starts) else len(lines)
    return "\n".join(lines[begin:end])


def _only_addresses(piece: str) -> bool:
    """Whether a piece holds nothing but addresses and punctuation.

    Words are split on white space: one with an "@" is taken for an address,
    so that no pattern has to run over every piece of every notice.
    """
    if len(piece) > 1000:
        return False  # a piece runs to the next address: a long one says more
    for word in piece.split():
        if "@" not in word and any(char.isalnum() for char in word):
            return False
    return True


def _explanation_after(lines: list[str], starts: list[int], begin: int) -> str:
    """The first piece after `begin` that says more than addresses, or nothing."""
    for start in starts[bisect.bisect_right(starts, begin) :]:
        piece = _piece(lines, starts, start)
        if not _only_addresses(piece):
            return piece
    return ""


def _is_message_id(line: str, start: int) -> bool:
    """Whether the address at `start` is the identifier of a `Message-ID` the line quotes.

    Session transcripts (MDaemon) and summaries quote the returned message's
    Message-ID in the middle of a line, where `_names_a_message` does not look.
    """
    before = line[max(0, start - 16) : start].rstrip(" \t<:=").lower()
    return before.endswith("message-id")


# Header lines of the returned message that a notice may quote before its copy:
# the identifiers in them look like addresses but name messages, not recipients.
_MESSAGE_FIELDS: Final = ("message-id:", "in-reply-to:", "references:", "x-original-message-id:")


def _names_a_message(line: str) -> bool:
    return line.lstrip()[:22].lower().startswith(_MESSAGE_FIELDS)


def _line_of(lines: list[str], address: str) -> int:
    for number, line in enumerate(lines):
        if address in line.lower():
            return number
    return -1


_HELP_CONTEXT: Final = AnyWording(
    "contact", "please", "help", "support", "administrator", "information"
)


def _drop_help_addresses(
    candidates: list[str], lines: list[str], first_line: dict[str, int]
) -> list[str]:
    """Addresses offered for help ("contact postmaster@...") are not failed recipients."""
    kept = [a for a in candidates if not _HELP_CONTEXT.found_in(lines[first_line[a]].lower())]
    return kept or candidates


def ses_notification(
    body: str,
) -> tuple[list[tuple[str, str | None, int | None, str]], str | None] | None:
    """Amazon SES bounce notifications delivered as JSON (directly or wrapped by SNS).

    Returns (address, status, reply code, diagnostic) per bounced recipient (an empty
    list for delivery/complaint notifications) and the Message-ID of the original
    as SES copied it from its headers; None when the body is not a notification.
    """
    import json  # only SES notifications need it: most batches never import it

    try:
        document = json.loads(body.strip(), strict=False)
        if isinstance(document, dict) and isinstance(document.get("Message"), str):
            document = json.loads(document["Message"], strict=False)
    except ValueError:
        return None
    if not isinstance(document, dict):
        return None
    kind = str(document.get("notificationType") or document.get("eventType") or "")
    message_id = _ses_message_id(document.get("mail"))
    bounce = document.get("bounce")
    if kind.lower() != "bounce" or not isinstance(bounce, dict):
        return ([], message_id) if kind else None
    found: list[tuple[str, str | None, int | None, str]] = []
    for entry in bounce.get("bouncedRecipients") or []:
        if not isinstance(entry, dict) or "@" not in str(entry.get("emailAddress", "")):
            continue
        diagnostic = str(entry.get("diagnosticCode") or "")
        diagnostic = re.sub(r"^\s*smtp\s*;\s*", "", diagnostic, flags=re.I)
        code_match = re.match(r"\s*([245]\d\d)\b", diagnostic)
        status = entry.get("status")
        found.append(
            (
                str(entry["emailAddress"]).strip("<> ").lower(),
                str(status) if status else None,
                int(code_match.group(1)) if code_match else None,
                diagnostic or str(bounce.get("bounceSubType") or ""),
            )
        )
    return found, message_id


def _ses_message_id(mail: object) -> str | None:
    """The original's Message-ID from the notification's `mail` object.

    SES's own `messageId` is not the header; the header is in `commonHeaders` or,
    when the headers were included, in the `headers` list.
    """
    if not isinstance(mail, dict):
        return None
    common = mail.get("commonHeaders")
    if isinstance(common, dict) and isinstance(common.get("messageId"), str):
        return common["messageId"].strip() or None
    for header in mail.get("headers") or []:
        if (
            isinstance(header, dict)
            and str(header.get("name", "")).lower() == "message-id"
            and isinstance(header.get("value"), str)
        ):
            return header["value"].strip() or None
    return None


# Both searched in lower-cased text.
_LIST_REFUSAL: Final = AnyWording(
    # "not a member", fml's "not member", Mailman 3's "not from a list member"
    r"\bnot (?:from )?(?:a )?(?:list )?member",
    r"\bnon-?members?\b",
    r"members? only",
    r"only (?:list )?members",
    "not allowed to post",
    r"posting (?:is )?(?:restricted|not allowed|denied)",
)
_LIST_ADMIN_SENDER: Final = AnyWording(r"-(?:admin|owner|request|bounces?|ctl)@", "mailman")


_LIST_ADMIN_ADDRESS: Final = LazyPattern(
    r"([^\s<>@\"']+)-(?:admin|owner|request|bounces?|ctl)(?:\+[^\s<>@]*)?@([^\s<>\"']+)", re.I
)


def list_address_from_admin(values: list[str]) -> str | None:
    """The list's own address behind its administrative one (`team-owner@host` → `team@host`).

    A list manager sends its refusals from the list's owner or bounce address;
    Mailman 3 names the list nowhere else that holds an address.
    """
    for value in values:
        match = _LIST_ADMIN_ADDRESS.search(value)
        if match:
            return f"{match.group(1)}@{match.group(2)}".lower().rstrip(".>")
    return None


def is_list_refusal(list_headers: bool, sender: str, subject: str, body: str) -> bool:
    """A mailing-list manager (fml, Mailman, ezmlm) refusing a post from a non-member.

    `list_headers` says the message carries a list manager's own headers; the
    refusal itself is in the subject or the first lines of the body.
    """
    if not (list_headers or _LIST_ADMIN_SENDER.found_in(lowered(sender))):
        return False
    return _LIST_REFUSAL.found_in(lowered(subject)) or _LIST_REFUSAL.found_in(lowered(body[:2000]))


_TRANSCRIPT_LINE: Final = LazyPattern(r"^ ?(In|Out):\s+(.*)$")
_RCPT_TO: Final = LazyPattern(r"^RCPT\s+TO:\s*<?([^\s<>]+@[^\s<>]+)>?", re.I)
_REPLY: Final = LazyPattern(r"^([245]\d\d)[ -](.*)$")


def session_transcript_failure(body: str) -> tuple[list[str], int, str, str | None] | None:
    """A Postfix "Transcript of session follows" report of a rejected SMTP session.

    Returns (recipients, reply code, reply text, command) for the first 4xx/5xx
    reply, or None when the body is not such a transcript or nothing failed. The
    recipients are those of the rejected RCPT, or every accepted one when the
    rejection came later (DATA, end of data).
    """
    if "transcript of session follows" not in body[:500].lower():
        return None
    command: str | None = None
    pending_rcpt: str | None = None
    accepted: list[str] = []
    entries: list[list[str]] = []
    for line in body.splitlines():
        match = _TRANSCRIPT_LINE.match(line)
        if match:
            entries.append([match.group(1), match.group(2).strip()])
        elif entries and line[:1] in (" ", "\t") and line.strip():
            entries[-1][1] += " " + line.strip()
    for direction, text in entries:
        if direction == "In":
            command = text.split(" ", 1)[0].upper() if text else None
            rcpt = _RCPT_TO.match(text)
            pending_rcpt = rcpt.group(1).lower() if rcpt else None
            continue
        reply = _REPLY.match(text)
        if reply is None:
            continue
        code = int(reply.group(1))
        if code < 400:
            if pending_rcpt is not None and code < 300:
                accepted.append(pending_rcpt)
            pending_rcpt = None
            continue
        if command == "RCPT" and pending_rcpt is not None:
            return [pending_rcpt], code, reply.group(2), command
        if accepted:
            return accepted, code, reply.group(2), command
        return None
    return None
