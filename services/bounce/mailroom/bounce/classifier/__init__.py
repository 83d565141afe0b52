"""Bounce parsing and classification: a pure library, no I/O.

`classify_message(raw)` reads any message found in a bounce mailbox (RFC 3464
reports, the plain-text notices of real servers, auto-replies, ARF reports) and
returns a `Classification`; `classify_smtp_reply(...)` puts a rejection from the
sender's own SMTP dialogue through the same reason rules. What a tenant does about
each reason lives in `mailroom.bounce.classifier.policy`.
"""

from mailroom.bounce.classifier.classify import classify_message, classify_smtp_reply
from mailroom.bounce.classifier.model import BouncedRecipient, Category, Classification, Kind
from mailroom.bounce.classifier.reasons import ALL_REASONS, HARD_REASONS, kind_for

__all__ = [
    "ALL_REASONS",
    "HARD_REASONS",
    "BouncedRecipient",
    "Category",
    "Classification",
    "Kind",
    "classify_message",
    "classify_smtp_reply",
    "kind_for",
]
