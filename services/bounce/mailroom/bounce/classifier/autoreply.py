"""Messages in a bounce mailbox that are not bounces: RFC 3834 auto-replies and RFC 5965 reports."""

from __future__ import annotations

from mailroom.bounce.classifier.mime import Headers
from mailroom.bounce.classifier.patterns import AnyWording

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Final

# The subjects of automatic replies and out-of-office notices, searched in the
# lower-cased subject; in the other languages also with the adjective after the
# noun ("réponse automatique").
_AUTO_REPLY_SUBJECT: Final = AnyWording(
    r"auto(?:matic|matische)?[ -]?(?:reply|response|antwort|respuesta|r[ée]ponse)",
    r"out of (?:the )?office",
    r"\bvacation\b",
    r"\bon leave\b",
    r"\babsen(?:ce|t)\b",
    "abwesen",
    "autoreply",
    r"\booo\b",
    "congés",
    "ausencia",
    "réponse automatique",
    "reponse automatique",
    "respuesta automática",
    "respuesta automatica",
    "resposta automática",
    "resposta automatica",
    "risposta automatica",
    "automatisch antwoord",
    "automatyczna odpowied",
    "automatická odpověď",
    "otomatik yan",
    "otomatik cevap",
    "автоответ",
    "автоматический ответ",
    "fuera de la oficina",
    "fora do escritório",
    "ausência",
    "fuori sede",
    "fuori ufficio",
    "afwezig",
    "poza biurem",
    "nieobecno",
    "mimo kancelář",
    "в отпуске",
    "вне офиса",
    "自動返信",
    "自動応答",
    "不在",
    "休暇",
    "自动回复",
    "自動回覆",
    "自動回復",
    "休假",
    "자동 응답",
    "자동응답",
    "부재",
)
_LIST_HEADERS: Final = ("List-Id", "List-Unsubscribe", "List-Post", "List-Help")
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
    # RFC 3834: any value but "no" (auto-replied, auto-generated, auto-notified)
    # marks a message written by a program; bounces were recognised before this
    if auto_submitted and not auto_submitted.startswith("no"):
        return True
    if any(name in msg for name in _AUTO_HEADERS):
        return True
    precedence = str(msg.get("Precedence", "")).strip().lower()
    if precedence == "auto_reply":
        return True
    if precedence in ("bulk", "junk") and not any(name in msg for name in _LIST_HEADERS):
        # vacation(1) and the webmail responders mark their answers bulk or junk;
        # mailing lists and newsletters do too, but they also name their list
        return True
    return has_auto_reply_subject(subject.lower())


def has_auto_reply_subject(lowered: str) -> bool:
    """The lower-cased subject reads as an automatic reply or an out-of-office notice."""
    return _AUTO_REPLY_SUBJECT.found_in(lowered)
