"""Persistent SMTP connections per mailbox, reused across messages.

Opening a connection costs a TCP handshake, often TLS (STARTTLS or implicit) and
AUTH; doing that per message is what makes naive senders slow. Each mailbox gets
a `MailboxPool`: at most `size` connections (its concurrency bound), kept open
between messages, all sharing one `SSLContext` (building a context and verifying
a chain per connection is most of TLS's cost). A connection that the server
closed while idle, or that answered 421, is replaced and the transaction retried
once, which is safe because nothing was handed over yet.

`SmtpFailure.kind` tells the sender what happened: `auth` (credentials rejected),
`tls` (certificate or TLS trouble: the mailbox's settings need attention),
`transient` (4xx, refused connection, timeout: try later), `rejected` (5xx: do
not try again) and `unknown` (the connection broke after the message was handed
over: the server may have accepted it, so it must not be sent again).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal

import aiosmtplib

from mailroom.sender.metrics import SenderMetrics
from mailroom.shared.mailboxes import MailboxRecord, MailboxSecrets
from mailroom.shared.mailconn.smtp import close_smtp, open_smtp
from mailroom.shared.mailconn.tls import client_ssl_context

log = logging.getLogger(__name__)

FailureKind = Literal["auth", "tls", "transient", "rejected", "unknown"]
_ENHANCED = re.compile(r"^\s*(?:\d{3}[ -])?([245]\.\d{1,3}\.\d{1,3})\b")


def enhanced_status(message: str) -> str | None:
    """The RFC 3463 status at the start of a reply text, e.g. `5.1.1`."""
    match = _ENHANCED.match(message or "")
    return match.group(1) if match else None


class SmtpFailure(Exception):
    """An SMTP attempt that did not deliver, classified for the sender's decision."""

    def __init__(self, kind: FailureKind, detail: str, code: int | None = None) -> None:
        super().__init__(detail)
        self.kind: FailureKind = kind
        self.detail = detail
        self.code = code
        self.enhanced_status = enhanced_status(detail)


@dataclass(frozen=True, slots=True)
class RecipientRefusal:
    recipient: str
    code: int
    message: str

    @property
    def enhanced_status(self) -> str | None:
        return enhanced_status(self.message)


@dataclass(slots=True)
class TransactionResult:
    """What the server said: accepted recipients, refused ones, and the DATA reply."""

    accepted: list[str] = field(default_factory=list)
    refused: list[RecipientRefusal] = field(default_factory=list)
    reply: str = ""
    code: int | None = None


Connect = Callable[[], Awaitable[aiosmtplib.SMTP]]

# How long a failed login of a pool with no open connection answers for the sends
# that come after it, instead of another attempt.
FAILED_LOGIN_ANSWERS_S = 5.0


class MailboxPool:
    """At most `size` concurrent SMTP connections to one mailbox's server.

    While no connection is open, logins go one at a time, and a failed one answers
    for every send that asks within the next few seconds: a burst of sends to a
    mailbox whose password or token was revoked makes one failed login, not one per
    message (providers lock accounts out after a run of failures), and a burst to a
    server that is down waits for one connection attempt, not one each. By then the
    mailbox is marked (`auth_failed`, `degraded`) and later sends are held or
    deferred before they reach the pool.
    """

    def __init__(self, mailbox_id: str, connect: Connect, size: int, metrics: SenderMetrics):
        self.mailbox_id = mailbox_id
        self._connect = connect
        self._slots = asyncio.Semaphore(size)
        self._idle: list[aiosmtplib.SMTP] = []
        self._metrics = metrics
        self._open = 0
        self.retired = False
        self._first_login = asyncio.Lock()
        self._failed_login: tuple[SmtpFailure, float] | None = None  # and when (monotonic)

    @property
    def open_connections(self) -> int:
        return self._open

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[PooledConnection]:
        """A connection for one transaction; opened (and logged in) if none is idle."""
        async with self._slots:
            if self._idle:
                client = self._idle.pop()
                reused = True
            else:
                client = await self._open_new()
                reused = False
            conn = PooledConnection(self, client, reused)
            try:
                yield conn
            finally:
                self._release(conn)

    async def _open_new(self) -> aiosmtplib.SMTP:
        if self._open == 0:
            async with self._first_login:
                if self._open == 0:
                    failed = self._failed_login
                    if failed is not None and time.monotonic() - failed[1] < FAILED_LOGIN_ANSWERS_S:
                        raise _again(failed[0])
                    return await self._log_in()
        return await self._log_in()

    async def _log_in(self) -> aiosmtplib.SMTP:
        try:
            client = await _classified_connect(self._connect)
        except SmtpFailure as failure:
            self._failed_login = (failure, time.monotonic())
            raise
        self._failed_login = None
        self._open += 1
        self._metrics.pool_connections.inc()
        return client

    def _release(self, conn: PooledConnection) -> None:
        if conn.broken or self.retired or not conn.client.is_connected:
            self._discard(conn.client)
        else:
            self._idle.append(conn.client)

    def _discard(self, client: aiosmtplib.SMTP) -> None:
        self._open -= 1
        self._metrics.pool_connections.dec()
        task = asyncio.get_running_loop().create_task(close_smtp(client))
        _background.add(task)
        task.add_done_callback(_background.discard)

    async def close(self) -> None:
        self.retired = True
        idle, self._idle = self._idle, []
        for client in idle:
            self._open -= 1
            self._metrics.pool_connections.dec()
            await close_smtp(client)


_background: set[asyncio.Task[None]] = set()


class PooledConnection:
    """A checked-out connection; `transaction` runs one message over it."""

    def __init__(self, pool: MailboxPool, client: aiosmtplib.SMTP, reused: bool) -> None:
        self.pool = pool
        self.client = client
        self.reused = reused
        self.broken = False

    async def transaction(
        self, envelope_from: str, recipients: list[str], raw: bytes
    ) -> TransactionResult:
        """MAIL, RCPT per recipient, DATA. Retries once on a fresh connection if a
        reused one turns out dead before anything was handed over."""
        try:
            return await self._transaction(envelope_from, recipients, raw)
        except _StaleConnection as stale:
            if not self.reused:
                raise SmtpFailure("transient", stale.detail, stale.code) from None
            log.info("pooled SMTP connection was closed by the server; reconnecting")
            self.pool._discard(self.client)
            self.client = await self.pool._open_new()
            self.reused = False
            try:
                return await self._transaction(envelope_from, recipients, raw)
            except _StaleConnection as again:
                raise SmtpFailure("transient", again.detail, again.code) from None

    async def _transaction(
        self, envelope_from: str, recipients: list[str], raw: bytes
    ) -> TransactionResult:
        client = self.client
        result = TransactionResult()
        try:
            await client.mail(envelope_from)
        except aiosmtplib.SMTPResponseException as exc:
            self._after_reply(exc.code)
            if exc.code == 421:
                raise _StaleConnection(exc.message, exc.code) from None
            raise _failure_for_reply(exc.code, exc.message) from None
        except (aiosmtplib.SMTPServerDisconnected, ConnectionError) as exc:
            self.broken = True
            raise _StaleConnection(str(exc) or "connection closed") from None
        except (aiosmtplib.SMTPTimeoutError, TimeoutError) as exc:
            self.broken = True
            raise SmtpFailure("transient", f"timeout: {exc}") from None

        transient: RecipientRefusal | None = None
        for rcpt in recipients:
            try:
                await client.rcpt(rcpt)
                result.accepted.append(rcpt)
            except aiosmtplib.SMTPResponseException as exc:
                self._after_reply(exc.code)
                refusal = RecipientRefusal(rcpt, exc.code, exc.message)
                if exc.code >= 500:
                    result.refused.append(refusal)
                else:
                    transient = transient or refusal
                if self.broken:
                    break
            except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
                self.broken = True
                raise SmtpFailure("transient", f"connection lost during RCPT: {exc}") from None

        if transient is not None or not result.accepted:
            await self._reset()
            if transient is not None:
                raise SmtpFailure(
                    "transient", f"{transient.recipient}: {transient.message}", transient.code
                )
            return result

        try:
            response = await client.data(raw)
        except aiosmtplib.SMTPResponseException as exc:
            self._after_reply(exc.code)
            raise _failure_for_reply(exc.code, exc.message) from None
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            # The message may have reached the server before the connection broke.
            self.broken = True
            raise SmtpFailure("unknown", f"connection lost during DATA: {exc}") from None
        result.code = response.code
        result.reply = f"{response.code} {response.message}"
        return result

    def _after_reply(self, code: int) -> None:
        if code == 421:
            self.broken = True

    async def _reset(self) -> None:
        if self.broken:
            return
        try:
            await self.client.rset()
        except (aiosmtplib.SMTPException, OSError, TimeoutError):
            self.broken = True


class _StaleConnection(Exception):
    def __init__(self, detail: str, code: int | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.code = code


def _again(failure: SmtpFailure) -> SmtpFailure:
    """The same verdict as a new exception (one exception object is raised only once)."""
    return SmtpFailure(failure.kind, failure.detail, failure.code)


def _failure_for_reply(code: int, message: str) -> SmtpFailure:
    text = f"{code} {message}"
    if code >= 500:
        return SmtpFailure("rejected", text, code)
    return SmtpFailure("transient", text, code)


async def _classified_connect(connect: Connect) -> aiosmtplib.SMTP:
    try:
        return await connect()
    except aiosmtplib.SMTPAuthenticationError as exc:
        if 400 <= exc.code < 500:
            raise SmtpFailure("transient", f"{exc.code} {exc.message}", exc.code) from None
        raise SmtpFailure("auth", f"{exc.code} {exc.message}", exc.code) from None
    except ssl.SSLCertVerificationError as exc:
        raise SmtpFailure("tls", f"certificate not trusted: {exc.verify_message}") from None
    except aiosmtplib.SMTPConnectError as exc:
        cause = exc.__cause__
        if isinstance(cause, ssl.SSLCertVerificationError):
            raise SmtpFailure("tls", f"certificate not trusted: {cause.verify_message}") from None
        if isinstance(cause, ssl.SSLError):
            raise SmtpFailure("tls", f"TLS failed: {cause}") from None
        raise SmtpFailure("transient", f"cannot connect: {exc}") from None
    except aiosmtplib.SMTPResponseException as exc:
        kind: FailureKind = "transient" if exc.code < 500 else "tls"
        raise SmtpFailure(kind, f"{exc.code} {exc.message}", exc.code) from None
    except ssl.SSLError as exc:
        raise SmtpFailure("tls", f"TLS failed: {exc}") from None
    except aiosmtplib.SMTPException as exc:
        # E.g. STARTTLS or AUTH not offered: the mailbox's settings do not fit the server.
        raise SmtpFailure("tls", str(exc)) from None
    except (OSError, TimeoutError) as exc:
        raise SmtpFailure("transient", f"cannot connect: {type(exc).__name__}: {exc}") from None


def _fingerprint(mailbox: MailboxRecord) -> tuple[object, ...]:
    """What a pool's connections depend on: when it changes, the pool is rebuilt."""
    smtp = mailbox.smtp
    oauth = mailbox.oauth
    return (
        smtp.model_dump() if smtp else None,
        mailbox.tls.model_dump(),
        mailbox.auth_method,
        oauth.access_token_enc if oauth else None,
    )


class MailboxPools:
    """Every mailbox's pool in this process; rebuilt when a mailbox's settings change."""

    def __init__(
        self,
        secrets: MailboxSecrets,
        metrics: SenderMetrics,
        *,
        size: int,
        timeout_s: float,
    ) -> None:
        self._secrets = secrets
        self._metrics = metrics
        self._size = size
        self._timeout_s = timeout_s
        self._pools: dict[str, tuple[tuple[object, ...], MailboxPool]] = {}

    def pool_for(self, mailbox: MailboxRecord) -> MailboxPool:
        fingerprint = _fingerprint(mailbox)
        known = self._pools.get(mailbox.id)
        if known is not None and known[0] == fingerprint:
            return known[1]
        if known is not None:
            old = known[1]
            task = asyncio.get_running_loop().create_task(old.close())
            _background.add(task)
            task.add_done_callback(_background.discard)
        context = client_ssl_context(mailbox.tls.ca_pem, mailbox.tls.verify)
        pool = MailboxPool(mailbox.id, self._connector(mailbox, context), self._size, self._metrics)
        self._pools[mailbox.id] = (fingerprint, pool)
        return pool

    def _connector(self, mailbox: MailboxRecord, context: ssl.SSLContext) -> Connect:
        smtp = mailbox.smtp
        if smtp is None:
            raise SmtpFailure("tls", "mailbox has no SMTP settings")
        metrics = self._metrics

        async def connect() -> aiosmtplib.SMTP:
            # Secrets are decrypted at the moment of use and never kept.
            password = token = None
            if mailbox.auth_method == "oauth2":
                token = self._secrets.decrypt(mailbox, "oauth_access_token")
            elif smtp.authenticate:
                password = self._secrets.decrypt(mailbox, "smtp_password")
            started = time.perf_counter()
            client = await open_smtp(
                smtp.host,
                smtp.port,
                smtp.security,
                context if smtp.security != "none" else None,
                self._timeout_s,
                username=(smtp.username or mailbox.email) if smtp.authenticate else None,
                password=password,
                oauth_token=token,
            )
            metrics.smtp_seconds.labels("connect").observe(time.perf_counter() - started)
            return client

        return connect

    async def close(self) -> None:
        pools = [pool for _, pool in self._pools.values()]
        self._pools.clear()
        for pool in pools:
            await pool.close()
