"""RFC 3464 delivery status notifications: one record per recipient block."""

from __future__ import annotations

import re

from mailroom.bounce.classifier.mime import _header_blocks
from mailroom.bounce.classifier.patterns import LazyPattern, lowered
from mailroom.bounce.classifier.reasons import find_status

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Final

_FIELD_START: Final = LazyPattern(
    r"^(?:reporting-mta|final-recipient|original-recipient)[ \t]*:", re.M
)
_TYPED_VALUE: Final = LazyPattern(r"^\s*[A-Za-z0-9-]+\s*;\s*")


class DsnRecord:
    """The fields of one per-recipient block, values without their type prefix."""

    __slots__ = ("action", "diagnostic", "recipient", "remote_mta", "status")

    def __init__(
        self,
        recipient: str,
        action: str | None = None,
        status: str | None = None,
        diagnostic: str | None = None,
        remote_mta: str | None = None,
    ) -> None:
        self.recipient = recipient
        self.action = action
        self.status = status
        self.diagnostic = diagnostic
        self.remote_mta = remote_mta


def strip_type(value: str) -> str:
    """`rfc822; a@b` → `a@b`, `smtp; 550 ...` → `550 ...`."""
    return _TYPED_VALUE.sub("", value, count=1).strip()


def clean_address(value: str) -> str:
    """An address from a DSN field, without type prefix, angle brackets or comments."""
    address = strip_type(value).strip()
    if "<" in address and ">" in address:
        address = address[address.index("<") + 1 : address.index(">")]
    address = address.split()[0] if address.split() else ""
    return address.strip("<>;,").strip()


def normalise_status(value: str | None) -> str | None:
    """`5.1.1 (user unknown)` → `5.1.1`; leading zeros dropped; None when not a status."""
    # the first code standing alone, not the inside of an IP address: Apache James,
    # for one, writes the whole reply text into Status
    return find_status(value) if value else None


def records_from_blocks(blocks: list[list[tuple[str, str]]]) -> list[DsnRecord]:
    """Per-recipient records from header blocks; blocks without a recipient are skipped."""
    records: list[DsnRecord] = []
    for block in blocks:
        current: dict[str, str] | None = None
        groups: list[dict[str, str]] = []
        # Some reporters (MessageLabs, Amazon SES) write Action, Status or
        # Diagnostic-Code before Final-Recipient: fields met before the block's
        # first recipient belong to that recipient.
        leading: list[tuple[str, str]] = []
        for name, value in block:
            starts_recipient = name in ("final-recipient", "original-recipient")
            if starts_recipient and (current is None or name in current):
                current = {}
                if not groups:
                    current.update(leading)
                groups.append(current)
            if current is None:
                leading.append((name, value))
                continue
            current.setdefault(name, value)
        for group in groups:
            raw_recipient = group.get("final-recipient") or group.get("original-recipient") or ""
            recipient = clean_address(raw_recipient)
            if "@" not in recipient:
                alternative = clean_address(group.get("original-recipient", ""))
                recipient = alternative if "@" in alternative else recipient
            if not recipient:
                continue
            diagnostic = group.get("diagnostic-code")
            if not ("action" in group or "status" in group or diagnostic):
                # a recipient the block says nothing about, such as the Final-Recipient
                # of a read receipt (RFC 8098), is no delivery report
                continue
            status = normalise_status(group.get("status"))
            # only the action keyword counts: "delivered (to mailbox)" carries a comment
            words = (group.get("action") or "").lower().split()
            action = words[0].strip(";,") if words else None
            if action is None and status is not None and status[0] == "2":
                # Action is required, but a 2.x.x status can only mean the recipient succeeded
                action = "delivered"
            records.append(
                DsnRecord(
                    recipient=recipient,
                    action=action,
                    status=status,
                    diagnostic=strip_type(diagnostic) if diagnostic else None,
                    remote_mta=strip_type(group["remote-mta"]) if "remote-mta" in group else None,
                )
            )
    return records


def records_from_text(text: str) -> list[DsnRecord]:
    """DSN fields found in plain text: broken MIME, or a report pasted into the body."""
    match = _FIELD_START.search(lowered(text))
    if match is None:
        return []
    return records_from_blocks(_header_blocks(text[match.start() :]))
