"""What the classifier reports: one record per bounced recipient, one verdict per message.

Plain slotted classes rather than dataclasses: the classifier also runs as a
short-lived command, where importing `dataclasses` (and `inspect` with it)
would cost more than classifying a batch of messages.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Literal

    Kind = Literal["hard", "soft", "unknown"]
    Category = Literal["bounce", "delivered", "vacation", "feedback", "reply", "unknown"]
else:
    Kind = str
    Category = str


class BouncedRecipient:
    """One recipient a bounce (or an SMTP rejection) reports as not delivered.

    `kind` is `hard` when the address itself is permanently gone (the reasons
    `userunknown`, `hostunknown`, `hasmoved` and a permanent `notaccept`), `soft`
    for every other failure, `unknown` when nothing could be read. `status` is the
    RFC 3463 enhanced status code (`5.1.1`), `smtp_code` the SMTP reply code (550).
    """

    __slots__ = (
        "action",
        "diagnostic",
        "kind",
        "reason",
        "recipient",
        "remote_mta",
        "smtp_code",
        "status",
    )

    def __init__(
        self,
        recipient: str,
        kind: Kind,
        reason: str,
        status: str | None = None,
        diagnostic: str | None = None,
        remote_mta: str | None = None,
        action: str | None = None,
        smtp_code: int | None = None,
    ) -> None:
        self.recipient = recipient
        self.kind: Kind = kind
        self.reason = reason
        self.status = status
        self.diagnostic = diagnostic
        self.remote_mta = remote_mta
        self.action = action
        self.smtp_code = smtp_code

    def as_dict(self) -> dict[str, str | int | None]:
        """Every field by name, for JSON output."""
        return {name: getattr(self, name) for name in self.__slots__}

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BouncedRecipient):
            return NotImplemented
        return self.as_dict() == other.as_dict()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={value!r}" for name, value in self.as_dict().items())
        return f"BouncedRecipient({fields})"


class Classification:
    """The verdict on one message found in a bounce mailbox.

    `category` says what the message is; `bounce` carries the failed `recipients`,
    `feedback` (a spam complaint) the complaining ones (reason `feedback`).
    `original_message_id` is the Message-ID of the returned original message,
    which links the bounce to the send that caused it. `problem` says why a
    message could not be read fully (malformed, truncated, too large).
    """

    __slots__ = ("category", "is_bounce", "original_message_id", "problem", "recipients")

    def __init__(
        self,
        is_bounce: bool,
        category: Category,
        recipients: list[BouncedRecipient] | None = None,
        original_message_id: str | None = None,
        problem: str | None = None,
    ) -> None:
        self.is_bounce = is_bounce
        self.category: Category = category
        self.recipients: list[BouncedRecipient] = recipients if recipients is not None else []
        self.original_message_id = original_message_id
        self.problem = problem

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Classification):
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in self.__slots__)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"Classification({fields})"
