"""How a failure decides the fate of a message.

Handlers raise these; the bus turns them into a delayed retry or a dead-letter.
Expected outcomes (a bounce, a duplicate, a suppressed recipient) are events,
never exceptions. Only the API maps errors to HTTP status codes.
"""

from __future__ import annotations


class MailroomError(Exception):
    """Base of every error Mailroom raises on purpose."""


class RetryableError(MailroomError):
    """Try again later: the broker, the store or a mail server is having trouble.

    `delay_s`, when set, overrides the bus's backoff ladder (e.g. a rate limit
    that knows when its window opens). `counts_as_attempt=False` marks a wait
    that is not a failure (a budget is spent, the mailbox is on hold), so the
    message is never dead-lettered for waiting. `not_later=True` means the retry
    must come by `delay_s` at the latest (a sending window opens then): the bus
    waits the longest delay step that fits, and the handler, woken early, waits
    again for what is left.
    """

    def __init__(
        self,
        message: str,
        *,
        delay_s: float | None = None,
        counts_as_attempt: bool = True,
        not_later: bool = False,
    ) -> None:
        super().__init__(message)
        self.delay_s = delay_s
        self.counts_as_attempt = counts_as_attempt
        self.not_later = not_later


class PermanentError(MailroomError):
    """Retrying cannot help: the message goes to the dead-letter queue with this reason."""


class InvalidMessage(PermanentError):
    """The message does not match its contract (bad JSON, unknown schema, failed validation)."""
