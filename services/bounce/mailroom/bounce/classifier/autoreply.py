"""Messages in a bounce mailbox that are not bounces: RFC 3834 auto-replies and RFC 5965 reports."""

from __future__ import annotations

from mailroom.bounce.classifier.mime import Headers
from mailroom.bounce.classifier.patterns import LazyPattern

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Final

# Searched in the lower-cased subject.
_VACATION_SUBJECT: Final = LazyPattern(
    r"auto(?:matic|matische)?[ -]?(?:reply|response|antwort|respuesta|r[ée]ponse)|"
    r"out of (?:the )?office|"
    r"\bvacation\b|\bon leave\b|\babsen(?:ce|t)\b|abwesen|autoreply|\booo\b|congés|ausencia"
)
_AUTO_HEADERS: Final = ("x-autoreply", "x-autorespond", "x-autoresponder", "x-mail-autoreply")


def is_feedback_report(msg: Headers, has_feedback_part: bool) -> bool:
    """An ARF (RFC 5965) abuse/complaint report."""
    if has_feedback_part:
        return True
    report_type = msg.param("report-type")
    return isinstance(report_type, str) and report_type.lower() == "feedback-report"


def is_auto_reply(msg: Headers, subject: str) -> bool:
    """An RFC 3834 automatic response (vacation, out-of-office), not a delivery failure."""
    auto_submitted = str(msg.get("Auto-Submitted", "")).strip().lower()
    if auto_submitted.startswith("auto-replied"):
        return True
    if any(name in msg for name in _AUTO_HEADERS):
        return True
    precedence = str(msg.get("Precedence", "")).strip().lower()
    if precedence == "auto_reply":
        return True
    return bool(_VACATION_SUBJECT.search(subject.lower()))
