"""The connection test: run each stage of an SMTP, IMAP or POP3 login and say what broke.

Stages, in order: dns → tcp → tls → greeting → auth → capabilities (→ inbox for
IMAP). Each reports ok or failed, its time, the server's own words, and on
failure a stable code (see `failures.FailureCode`), a sentence for the user and
a hint for an IT admin. A test passes only when the login completed and, for
IMAP, INBOX could be selected: a test that passes with a wrong password is worse
than none. Passwords and tokens never appear in any result.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager, suppress
from email.message import EmailMessage
from typing import Any, Literal, NamedTuple, TypeVar

import aiosmtplib
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from mailroom.shared.mailconn import failures
from mailroom.shared.mailconn.failures import Failure, FailureCode
from mailroom.shared.mailconn.imap import (
    ImapClient,
    ImapError,
    StartTlsRefused,
    close_imap,
    imap_capabilities,
    imap_login,
    imap_select,
    imap_xoauth2,
    open_imap,
)
from mailroom.shared.mailconn.pop3 import Pop3Client, Pop3Error, open_pop3
from mailroom.shared.mailconn.smtp import close_smtp, login_once, open_smtp, smtp_client
from mailroom.shared.mailconn.ssrf import TargetNotAllowed, check_addresses
from mailroom.shared.mailconn.tls import client_ssl_context

Client = TypeVar("Client")

Protocol = Literal["smtp", "imap", "pop3"]
Security = Literal["ssl", "starttls", "none"]
Stage = Literal["dns", "tcp", "tls", "greeting", "auth", "capabilities", "inbox", "round_trip"]

# How long a server may stay silent before we check whether it expects TLS instead.
_GREETING_WAIT_S = 5.0
# Budget for the quick second connection that finds the security setting that works.
_PROBE_S = 3.0
_REDACTED = "********"
_MIN_SCRUBBED_LEN = 4


class ConnectionSettings(BaseModel):
    """How to reach and log in to one mail server (SMTP for sending, IMAP/POP3 for reading)."""

    model_config = ConfigDict(extra="forbid")

    protocol: Protocol
    host: str = Field(min_length=1, max_length=253)
    port: int = Field(ge=1, le=65535)
    security: Security
    username: str = Field(default="", max_length=320)
    password: SecretStr | None = None
    authenticate: bool = Field(
        default=True, description="SMTP only: log in before sending (IMAP/POP3 always log in)."
    )
    ca_pem: str | None = Field(
        default=None, description="PEM CA certificate(s) to trust besides the system CAs."
    )
    verify_tls: bool = Field(
        default=True, description="Verify the server certificate; turning this off is unsafe."
    )
    oauth_access_token: SecretStr | None = Field(
        default=None, description="Log in with XOAUTH2 instead of the password when set."
    )
    email: str | None = Field(
        default=None,
        max_length=320,
        description="The mailbox's own address (SMTP: checked as sender and recipient).",
    )

    def secrets(self) -> list[str]:
        """The secret strings that must never appear in a result."""
        values = [s.get_secret_value() for s in (self.password, self.oauth_access_token) if s]
        # A secret of a few characters would be "found" inside ordinary words; servers
        # never echo those anyway, and masking them would garble every message.
        return [v for v in values if len(v) >= _MIN_SCRUBBED_LEN]


class StageResult(BaseModel):
    """One step of a connection test."""

    stage: Stage
    ok: bool
    elapsed_ms: int
    server_says: str | None = Field(default=None, description="The server's own words.")
    code: FailureCode | None = Field(default=None, description="Stable failure code.")
    message: str | None = Field(default=None, description="What happened, for the user.")
    hint: str | None = Field(default=None, description="What to change, for an IT admin.")


class DiagnosisReport(BaseModel):
    """The outcome of a connection test: ok only when every stage passed."""

    ok: bool
    code: FailureCode | None
    stages: list[StageResult]


class _Opened(NamedTuple):
    """A TCP connection handed to a protocol's stages, with what every protocol needs first."""

    sock: socket.socket
    context: ssl.SSLContext | None  # for TLS, when the settings ask for it
    address: tuple[Any, ...]  # the peer, for the probes that find a working security setting
    started: float  # when the TLS or greeting stage began


class _Stop(Exception):
    """A stage failed; the test ends here."""


class _Run:
    """One diagnosis in progress: the clock, the recorded stages and the secrets to hide."""

    def __init__(
        self,
        settings: ConnectionSettings,
        timeout_s: float,
        on_stage: Callable[[StageResult], None] | None,
    ) -> None:
        self.settings = settings
        self.deadline = time.monotonic() + timeout_s
        self.stages: list[StageResult] = []
        self.on_stage = on_stage
        self.secrets = settings.secrets()
        self.provider = failures.detect_provider(settings.host, settings.username)

    def remaining(self, cap: float | None = None) -> float:
        left = max(0.05, self.deadline - time.monotonic())
        return min(left, cap) if cap is not None else left

    def scrub(self, text: str | None) -> str | None:
        if text is None:
            return None
        for secret in self.secrets:
            text = text.replace(secret, _REDACTED)
        return text[:1000]

    def record(self, result: StageResult) -> None:
        self.stages.append(result)
        if self.on_stage is not None:
            self.on_stage(result)

    def passed(
        self,
        stage: Stage,
        started: float,
        message: str,
        server_says: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.record(
            StageResult(
                stage=stage,
                ok=True,
                elapsed_ms=_ms_since(started),
                server_says=self.scrub(server_says),
                message=self.scrub(message),
                hint=self.scrub(hint),
            )
        )

    def fail(
        self, stage: Stage, started: float, failure: Failure, server_says: str | None = None
    ) -> _Stop:
        self.record(
            StageResult(
                stage=stage,
                ok=False,
                elapsed_ms=_ms_since(started),
                server_says=self.scrub(server_says),
                code=failure.code,
                message=self.scrub(failure.message),
                hint=self.scrub(failure.hint),
            )
        )
        return _Stop()

    def timed_out(self, stage: Stage, started: float, what: str) -> _Stop:
        return self.fail(
            stage,
            started,
            Failure(
                "timeout",
                f"The mail server took too long to answer ({what}).",
                "The server or the network is slow or overloaded; try again. If it keeps "
                "happening, check firewalls between Mailroom and the server.",
            ),
        )

    def report(self) -> DiagnosisReport:
        failed = next((s for s in self.stages if not s.ok), None)
        return DiagnosisReport(
            ok=failed is None, code=failed.code if failed else None, stages=self.stages
        )


async def diagnose(
    settings: ConnectionSettings,
    *,
    timeout_s: float = 15,
    allow_private: bool = False,
    on_stage: Callable[[StageResult], None] | None = None,
) -> DiagnosisReport:
    """Run the connection test for one server; `on_stage` sees each stage as it completes.

    `allow_private` lets the test reach loopback and private addresses (the SSRF
    guard); the operator's CLI and the tests turn it on, tenants' requests do not.
    """
    run = _Run(settings, timeout_s, on_stage)
    try:
        addresses = await _resolve(run, allow_private)
        sock = await _connect_tcp(run, addresses)
        with _closing_on_error(sock):
            context = _context(run)
        opened = _Opened(sock, context, _peer(sock), time.monotonic())
        if settings.protocol == "imap":
            await _diagnose_imap(run, opened)
        elif settings.protocol == "pop3":
            await _diagnose_pop3(run, opened)
        else:
            await _diagnose_smtp(run, opened)
    except _Stop:
        pass
    return run.report()


# --- dns and tcp ----------------------------------------------------------------------


async def _resolve(run: _Run, allow_private: bool) -> list[tuple[Any, ...]]:
    host, port = run.settings.host, run.settings.port
    started = time.monotonic()
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), run.remaining(10.0)
        )
    except TimeoutError:
        raise run.timed_out("dns", started, "looking up the server name") from None
    except (socket.gaierror, UnicodeError) as exc:
        raise run.fail(
            "dns",
            started,
            Failure(
                "dns_not_found",
                f"The server name {host} does not exist.",
                "Check the spelling of the host name (e.g. smtp.example.com, "
                "imap.example.com); the provider's help pages list the exact names.",
            ),
            server_says=str(exc),
        ) from None
    addresses = [str(info[4][0]) for info in infos]
    try:
        check_addresses(host, addresses, allow_private)
    except TargetNotAllowed as exc:
        raise run.fail(
            "dns",
            started,
            Failure(
                "invalid_server_or_port",
                f"Mailroom may not connect to {host}: it is not a public mail server.",
                f"{exc} (an operator can allow private mail servers in Mailroom's settings).",
            ),
        ) from None
    run.passed("dns", started, f"{host} resolves to {', '.join(dict.fromkeys(addresses))}.")
    return infos


async def _connect_tcp(run: _Run, infos: list[tuple[Any, ...]]) -> socket.socket:
    host, port = run.settings.host, run.settings.port
    started = time.monotonic()
    loop = asyncio.get_running_loop()
    last_error: str = "no address"
    silent = False
    for family, type_, proto, _, sockaddr in infos[:3]:
        sock = socket.socket(family, type_, proto)
        sock.setblocking(False)
        try:
            await asyncio.wait_for(loop.sock_connect(sock, sockaddr), run.remaining(8.0))
        except TimeoutError:
            sock.close()
            silent = True
            last_error = f"no answer from {sockaddr[0]}:{port}"
            continue
        except OSError as exc:
            sock.close()
            last_error = f"{sockaddr[0]}:{port}: {exc.strerror or exc}"
            continue
        run.passed("tcp", started, f"Connected to {sockaddr[0]} port {port}.")
        return sock
    raise run.fail(
        "tcp",
        started,
        Failure(
            "invalid_server_or_port",
            f"Nothing answers on port {port} at {host}"
            + (" (the connection attempt got no answer)." if silent else "."),
            "Check the port number with the mail provider or IT admin: usually 587 (starttls) "
            "or 465 (ssl) for SMTP, 993 (ssl) or 143 (starttls) for IMAP, 995 (ssl) or 110 "
            "(starttls) for POP3. A firewall may also block Mailroom's outgoing connections.",
        ),
        server_says=last_error,
    )


# --- tls ------------------------------------------------------------------------------


def _context(run: _Run) -> ssl.SSLContext | None:
    if run.settings.security == "none":
        return None
    started = time.monotonic()
    try:
        return client_ssl_context(run.settings.ca_pem, run.settings.verify_tls)
    except (ssl.SSLError, ValueError) as exc:
        raise run.fail(
            "tls",
            started,
            Failure(
                "certificate_invalid",
                "The CA certificate saved with this mailbox cannot be read.",
                "Paste the CA certificate in PEM form (-----BEGIN CERTIFICATE-----).",
            ),
            server_says=str(exc),
        ) from None


def _root_cause(exc: BaseException) -> BaseException:
    seen: set[int] = set()
    current: BaseException = exc
    while id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ssl.SSLError | ConnectionError | TimeoutError) and not isinstance(
            current, aiosmtplib.SMTPException
        ):
            return current
        nxt = current.__cause__ or current.__context__
        if nxt is None:
            break
        current = nxt
    return current


def _certificate_failure(exc: ssl.SSLCertVerificationError) -> Failure:
    detail = exc.verify_message or exc.reason or str(exc)
    return Failure(
        "certificate_invalid",
        "The mail server's security certificate is not trusted, so Mailroom did not send "
        "the password.",
        f"Certificate check failed: {detail}. Use the host name the certificate was issued "
        "for, renew an expired certificate, or, for a server with a private CA, add that CA "
        "certificate to the mailbox's TLS settings.",
    )


async def _probe_implicit_tls(run: _Run, address: tuple[Any, ...]) -> bool:
    """Does this port complete a TLS handshake right away (implicit TLS)?"""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        _, writer = await asyncio.wait_for(
            asyncio.open_connection(
                address[0], address[1], ssl=context, server_hostname=run.settings.host
            ),
            run.remaining(_PROBE_S),
        )
    except (OSError, TimeoutError):
        return False
    writer.close()
    return True


async def _probe_plain_greeting(run: _Run, address: tuple[Any, ...]) -> str | None:
    """The plain-text greeting this port sends, if it sends one (STARTTLS or no TLS)."""
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(address[0], address[1]), run.remaining(_PROBE_S)
        )
    except (OSError, TimeoutError):
        return None
    try:
        line = await asyncio.wait_for(reader.readline(), run.remaining(_PROBE_S))
    except (OSError, TimeoutError, ValueError):
        return None
    finally:
        writer.close()
    text = line.decode(errors="replace").strip()
    return text if text.startswith(("220", "* OK", "+OK")) else None


_PLAIN_PORT = {"smtp": 587, "imap": 143, "pop3": 110}
_TLS_PORT = {"smtp": 465, "imap": 993, "pop3": 995}


async def _connection_failure(
    run: _Run, exc: BaseException, phase: str, address: tuple[Any, ...]
) -> tuple[Stage, Failure, str | None]:
    """Explain why TLS or the greeting failed, probing the other TLS mode when it helps."""
    settings = run.settings
    cause = _root_cause(exc)
    said = str(cause) or type(cause).__name__
    if isinstance(cause, ssl.SSLCertVerificationError):
        return "tls", _certificate_failure(cause), said
    if isinstance(cause, ssl.SSLError) or (
        settings.security == "ssl" and phase == "tls" and isinstance(cause, ConnectionError)
    ):
        greeting = await _probe_plain_greeting(run, address)
        if greeting is not None:
            return (
                "tls",
                Failure(
                    "tls_mismatch",
                    "The encryption setting does not match this port: it expects STARTTLS, "
                    "not SSL.",
                    f"Set security to starttls for port {settings.port} (or keep ssl and use "
                    f"port {_TLS_PORT[settings.protocol]}). The port answered in plain text: "
                    f"{greeting[:120]}",
                ),
                said,
            )
        return (
            "tls",
            Failure(
                "tls_mismatch",
                "The secure connection to the mail server could not be set up.",
                f"The TLS handshake failed ({said}). Check the security setting (ssl for "
                f"port {_TLS_PORT[settings.protocol]}, starttls for port "
                f"{_PLAIN_PORT[settings.protocol]}) and that the server's TLS is configured.",
            ),
            said,
        )
    if isinstance(cause, TimeoutError) and phase == "greeting" and settings.security != "ssl":
        if await _probe_implicit_tls(run, address):
            return (
                "tls",
                Failure(
                    "tls_mismatch",
                    "The encryption setting does not match this port: it expects SSL "
                    "(implicit TLS).",
                    f"Set security to ssl for port {settings.port} (or keep "
                    f"{settings.security} and use port {_PLAIN_PORT[settings.protocol]}).",
                ),
                "no greeting in plain text; the port completed a TLS handshake",
            )
        return (
            "greeting",
            Failure(
                "invalid_server_or_port",
                "The mail server accepted the connection but never answered.",
                "This port may belong to another service, or a firewall or proxy holds the "
                "connection. Check the host and port with the IT admin.",
            ),
            "no greeting",
        )
    if isinstance(cause, TimeoutError):
        return "tls" if phase == "tls" else "greeting", _timeout_failure(phase), None
    if isinstance(exc, StartTlsRefused | aiosmtplib.SMTPException) and "tls" in str(exc).lower():
        return (
            "tls",
            Failure(
                "tls_mismatch",
                "The mail server does not offer STARTTLS on this port.",
                f"Set security to ssl and use port {_TLS_PORT[settings.protocol]}, or ask the "
                "admin to enable STARTTLS.",
            ),
            said,
        )
    if isinstance(exc, ImapError):
        return (
            "greeting",
            Failure(
                "problem_with_imap_server",
                "The incoming mail server refused the connection.",
                f"The server answered: {exc.reply[:160]}. Ask its admin to check its logs.",
            ),
            exc.reply,
        )
    return (
        "greeting",
        Failure(
            "invalid_server_or_port",
            "The server on this port did not answer like a mail server.",
            "Check the host and port: this may be another service, or the connection was "
            f"closed early ({said}).",
        ),
        said,
    )


def _timeout_failure(what: str) -> Failure:
    return Failure(
        "timeout",
        f"The mail server took too long to answer ({what}).",
        "The server or the network is slow or overloaded; try again. If it keeps happening, "
        "check firewalls between Mailroom and the server.",
    )


def _tls_description(ssl_object: Any, security: Security) -> tuple[str, str | None]:
    if security == "none" or ssl_object is None:
        return "Not encrypted: the password and mail cross the network in clear.", None
    mode = "implicit TLS" if security == "ssl" else "STARTTLS"
    cipher = ssl_object.cipher()
    return (
        f"Encrypted with {ssl_object.version()} ({mode}).",
        cipher[0] if cipher else None,
    )


def _tls_passed(run: _Run, started: float, ssl_object: Any, until: float | None = None) -> None:
    """Record the tls stage, timed from the TCP connect to the end of the handshake."""
    message, cipher = _tls_description(ssl_object, run.settings.security)
    hint = None
    if run.settings.security == "none":
        hint = "Use ssl or starttls if the server supports it."
    elif not run.settings.verify_tls:
        hint = "Certificate verification is turned off for this mailbox."
    run.record(
        StageResult(
            stage="tls",
            ok=True,
            elapsed_ms=_ms_since(started, until),
            server_says=cipher,
            message=message,
            hint=hint,
        )
    )


async def _fail_connection(
    run: _Run, exc: BaseException, phase: str, address: tuple[Any, ...], started: float
) -> _Stop:
    """Record why TLS or the greeting failed (a plain connection's tls stage passes first)."""
    stage, failure, said = await _connection_failure(run, exc, phase, address)
    if stage == "greeting" and run.settings.security == "none":
        _tls_passed(run, started, None)
    return run.fail(stage, started, failure, said)


@contextmanager
def _closing_on_error(sock: socket.socket) -> Iterator[None]:
    try:
        yield
    except BaseException:
        sock.close()
        raise


def _peer(sock: socket.socket) -> tuple[Any, ...]:
    try:
        peer: tuple[Any, ...] = sock.getpeername()
    except OSError:
        return (None, 0)
    return peer


# --- imap -----------------------------------------------------------------------------


async def _diagnose_imap(run: _Run, opened: _Opened) -> None:
    settings = run.settings
    sock, context, address, started = opened
    client = ImapClient(
        settings.host,
        settings.port,
        settings.security,
        context,
        run.remaining(_GREETING_WAIT_S),
        sock=sock,
    )
    try:
        await client.wait_hello_from_server()
    except (OSError, TimeoutError, ImapError, ssl.SSLError, asyncio.IncompleteReadError) as exc:
        await close_imap(client)
        raise await _fail_connection(run, exc, client.phase, address, started) from None
    client.timeout = run.remaining()
    try:
        await _imap_after_greeting(run, client, started)
    except OSError as exc:
        raise _dropped(run, exc) from None
    finally:
        await close_imap(client)


async def _imap_after_greeting(run: _Run, client: ImapClient, started: float) -> None:
    settings = run.settings
    tls_done = client.tls_done_at or time.monotonic()
    _tls_passed(run, started, client.protocol.transport.get_extra_info("ssl_object"), tls_done)

    started = tls_done
    # aioimaplib read CAPABILITY right after the greeting (and after STARTTLS).
    capabilities = {str(c).upper() for c in client.protocol.capabilities}
    run.passed(
        "greeting",
        started,
        f"The IMAP server is ready ({len(capabilities)} capabilities before login).",
        server_says=client.greeting,
    )

    started = time.monotonic()
    try:
        if settings.oauth_access_token is not None:
            said = await imap_xoauth2(
                client, settings.username, settings.oauth_access_token.get_secret_value()
            )
        else:
            password = settings.password.get_secret_value() if settings.password else ""
            said = await imap_login(client, settings.username, password)
    except ImapError as exc:
        failure = failures.classify_imap_login_reply(exc.reply, run.provider)
        raise run.fail("auth", started, failure, exc.reply) from None
    except TimeoutError:
        raise run.timed_out("auth", started, "login") from None
    run.passed("auth", started, f"Logged in as {settings.username}.", server_says=said)

    started = time.monotonic()
    try:
        # Servers may announce the post-login list in LOGIN's OK (RFC 3501 7.1); it is
        # exact, unlike aioimaplib's merged set, and saves a round trip.
        capabilities = _capabilities_in(said) or await imap_capabilities(client)
    except TimeoutError:
        raise run.timed_out("capabilities", started, "CAPABILITY") from None
    said = " ".join(sorted(capabilities))
    if "UIDPLUS" not in capabilities:
        raise run.fail("capabilities", started, failures.uidplus_missing(), said)
    if "IDLE" in capabilities:
        note = "UIDPLUS and IDLE are supported: replies are seen within seconds."
    else:
        note = "UIDPLUS is supported; without IDLE, Mailroom checks for new mail periodically."
    run.passed("capabilities", started, note, server_says=said)

    started = time.monotonic()
    try:
        said = await imap_select(client, "INBOX")
    except ImapError as exc:
        raise run.fail(
            "inbox",
            started,
            Failure(
                "problem_with_imap_server",
                "Logged in, but the INBOX folder could not be opened.",
                f"The server answered: {exc.reply[:160]}. Ask the mail server's admin to "
                "check the mailbox (quota, permissions, a broken index).",
            ),
            exc.reply,
        ) from None
    except TimeoutError:
        raise run.timed_out("inbox", started, "SELECT INBOX") from None
    run.passed("inbox", started, "INBOX opened.", server_says=said)


def _capabilities_in(text: str) -> set[str]:
    """The capabilities in a `[CAPABILITY ...]` response code, if the text has one."""
    start = text.upper().find("[CAPABILITY ")
    end = text.find("]", start)
    if start < 0 or end < 0:
        return set()
    return {c.upper() for c in text[start + len("[CAPABILITY ") : end].split()}


# --- pop3 -----------------------------------------------------------------------------


async def _diagnose_pop3(run: _Run, opened: _Opened) -> None:
    settings = run.settings
    sock, context, address, started = opened
    phase = "tls" if settings.security == "ssl" else "greeting"
    client: Pop3Client | None = None
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(
                sock=sock,
                ssl=context if settings.security == "ssl" else None,
                server_hostname=settings.host if settings.security == "ssl" else None,
            ),
            run.remaining(_GREETING_WAIT_S),
        )
        client = Pop3Client(reader, writer, run.remaining(_GREETING_WAIT_S))
        phase = "greeting"
        await client.read_greeting()
        if settings.security == "starttls" and context is not None:
            phase = "tls"
            await client.stls(context, settings.host)
        client.tls_done_at = time.monotonic()
    except (OSError, TimeoutError, Pop3Error, ssl.SSLError, ValueError) as exc:
        if client is not None:
            client.close()
        else:
            sock.close()
        cause: BaseException = exc
        if isinstance(exc, Pop3Error) and exc.command == "STLS":
            cause = StartTlsRefused("STLS", exc.reply)
        raise await _fail_connection(run, cause, phase, address, started) from None
    client.timeout = run.remaining()
    try:
        tls_done = client.tls_done_at or time.monotonic()
        _tls_passed(run, started, client.ssl_object(), tls_done)
        await _pop3_after_tls(run, client, tls_done)
        await client.quit()
    except (OSError, TimeoutError):
        client.close()
        raise
    except _Stop:
        client.close()
        raise


async def _pop3_after_tls(run: _Run, client: Pop3Client, started: float) -> None:
    settings = run.settings
    try:
        capabilities = await client.capa()
    except TimeoutError:
        raise run.timed_out("greeting", started, "CAPA") from None
    run.passed(
        "greeting",
        started,
        "The POP3 server is ready"
        + (f" ({', '.join(sorted(capabilities))})." if capabilities else "."),
        server_says=client.greeting,
    )

    started = time.monotonic()
    password = settings.password.get_secret_value() if settings.password else ""
    try:
        said = await client.login(settings.username, password)
    except Pop3Error as exc:
        failure = failures.classify_pop3_login_reply(exc.reply, run.provider)
        raise run.fail("auth", started, failure, exc.reply) from None
    except TimeoutError:
        raise run.timed_out("auth", started, "login") from None
    run.passed("auth", started, f"Logged in as {settings.username}.", server_says=said)

    started = time.monotonic()
    try:
        count, size = await client.stat()
        if count:
            await client.command("UIDL 1")
        elif capabilities and "UIDL" not in capabilities:
            raise Pop3Error("UIDL", "UIDL not in CAPA")
    except Pop3Error as exc:
        if exc.command != "UIDL":
            raise run.fail(
                "capabilities",
                started,
                Failure(
                    "problem_with_imap_server",
                    "Logged in, but the mailbox could not be read.",
                    f"The server answered: {exc.reply[:160]}.",
                ),
                exc.reply,
            ) from None
        raise run.fail(
            "capabilities",
            started,
            Failure(
                "imap_server_not_supported",
                "This incoming mail server lacks a feature Mailroom needs (UIDL).",
                "Mailroom tells processed messages apart by their POP3 unique id (UIDL, "
                "RFC 1939); ask the admin to enable it or use IMAP instead.",
            ),
            exc.reply,
        ) from None
    except TimeoutError:
        raise run.timed_out("capabilities", started, "STAT") from None
    run.passed(
        "capabilities",
        started,
        f"The mailbox holds {count} messages ({size} bytes); UIDL is supported.",
    )


# --- smtp -----------------------------------------------------------------------------


async def _diagnose_smtp(run: _Run, opened: _Opened) -> None:
    settings = run.settings
    sock, context, address, started = opened
    client = smtp_client(
        settings.host,
        settings.port,
        settings.security,
        context,
        run.remaining(_GREETING_WAIT_S),
        sock=sock,
    )
    phase = "tls" if settings.security == "ssl" else "greeting"
    try:
        greeting = await client.connect()
        if settings.security == "starttls":
            await client.ehlo()
            phase = "tls"
            await client.starttls(tls_context=context)
    except aiosmtplib.SMTPConnectResponseError as exc:
        client.close()
        _tls_passed(run, started, None)
        raise run.fail(
            "greeting",
            started,
            Failure(
                "invalid_server_or_port",
                "The mail server refused the connection.",
                "The server turned Mailroom away before any command; it may block this "
                "network, or the port is not for sending mail.",
            ),
            f"{exc.code} {exc.message}",
        ) from None
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        client.close()
        if isinstance(exc, aiosmtplib.SMTPTimeoutError) and phase == "greeting":
            exc = TimeoutError(str(exc))
        raise await _fail_connection(run, exc, phase, address, started) from None
    try:
        client.timeout = run.remaining()
        _tls_passed(run, started, client.get_transport_info("ssl_object"))
        await _smtp_after_tls(run, client, f"{greeting.code} {greeting.message}")
    except aiosmtplib.SMTPTimeoutError:
        stage = _next_stage(run)
        raise run.timed_out(stage, time.monotonic(), "waiting for the SMTP reply") from None
    except aiosmtplib.SMTPServerDisconnected as exc:
        raise _dropped(run, exc) from None
    finally:
        await close_smtp(client)


def _dropped(run: _Run, exc: BaseException) -> _Stop:
    """The server hung up in the middle of a stage that had started well."""
    return run.fail(
        _next_stage(run),
        time.monotonic(),
        Failure(
            "invalid_server_or_port",
            "The mail server closed the connection unexpectedly.",
            f"The connection was dropped ({exc}); the server may limit connections.",
        ),
    )


def _next_stage(run: _Run) -> Stage:
    order: list[Stage] = ["dns", "tcp", "tls", "greeting", "auth", "capabilities", "inbox"]
    done = {s.stage for s in run.stages}
    return next((s for s in order if s not in done), "capabilities")


async def _smtp_after_tls(run: _Run, client: aiosmtplib.SMTP, banner: str) -> None:
    settings = run.settings
    started = time.monotonic()
    await client.ehlo()
    extensions = sorted(client.esmtp_extensions)
    run.passed(
        "greeting",
        started,
        "The SMTP server is ready"
        + (f" ({', '.join(e.upper() for e in extensions)})." if extensions else "."),
        server_says=banner,
    )

    started = time.monotonic()
    if settings.authenticate:
        try:
            if settings.oauth_access_token is not None:
                said = await client.auth_xoauth2(
                    settings.username, settings.oauth_access_token.get_secret_value()
                )
            else:
                password = settings.password.get_secret_value() if settings.password else ""
                said = await login_once(client, settings.username, password)
        except aiosmtplib.SMTPResponseException as exc:
            failure = failures.classify_smtp_auth_reply(exc.code, exc.message, run.provider)
            raise run.fail("auth", started, failure, f"{exc.code} {exc.message}") from None
        except (aiosmtplib.SMTPTimeoutError, aiosmtplib.SMTPServerDisconnected):
            raise
        except aiosmtplib.SMTPException as exc:
            raise run.fail("auth", started, _no_auth_offered(run), exc.message) from None
        run.passed(
            "auth", started, f"Logged in as {settings.username}.", f"{said.code} {said.message}"
        )
    else:
        run.passed("auth", started, "Login is turned off for this mailbox; none was tried.")

    started = time.monotonic()
    address = settings.email or (settings.username if "@" in settings.username else None)
    if address is None:
        run.passed(
            "capabilities",
            started,
            "Sending permission was not checked: no mailbox address was given.",
        )
        return
    try:
        await client.mail(address)
        accepted = await client.rcpt(address)
    except (aiosmtplib.SMTPSenderRefused, aiosmtplib.SMTPRecipientRefused) as exc:
        failure = failures.classify_smtp_recipient_reply(exc.code, exc.message)
        raise run.fail("capabilities", started, failure, f"{exc.code} {exc.message}") from None
    finally:
        with suppress(aiosmtplib.SMTPException):
            await client.rset()
    run.passed(
        "capabilities",
        started,
        f"The server accepts mail from and to {address}.",
        server_says=f"{accepted.code} {accepted.message}",
    )


def _no_auth_offered(run: _Run) -> Failure:
    settings = run.settings
    if settings.security == "none":
        return Failure(
            "tls_mismatch",
            "The mail server offers login only over an encrypted connection.",
            "Set security to starttls (port 587) or ssl (port 465).",
        )
    return Failure(
        "invalid_server_or_port",
        "This port does not accept logins for sending mail.",
        f"Port {settings.port} looks like a port for incoming mail between servers; use the "
        "submission port 587 with starttls or 465 with ssl, or turn login off if this server "
        "relays for Mailroom's addresses without it.",
    )


def _ms_since(started: float, until: float | None = None) -> int:
    end = until if until is not None else time.monotonic()
    return max(0, round((end - started) * 1000))


# --- round trip -----------------------------------------------------------------------

_TEST_HEADER = "X-Mailroom-Test"


async def round_trip(
    smtp_settings: ConnectionSettings,
    imap_settings: ConnectionSettings,
    from_addr: str,
    timeout_s: float = 60,
    *,
    allow_private: bool = False,
) -> StageResult:
    """Send a test message to the mailbox's own address and wait for it to arrive.

    The message carries a unique token in an `X-Mailroom-Test` header; the incoming
    side (IMAP: SEARCH HEADER; POP3: TOP of new messages) looks for it until
    `timeout_s` runs out, then deletes the test message again. Every connection
    goes to an address that passed the SSRF guard (`allow_private` as in
    `diagnose`), resolved once so the name cannot point elsewhere in between.
    """
    secrets = smtp_settings.secrets() + imap_settings.secrets()
    run = _Run(smtp_settings, timeout_s, None)
    run.secrets = secrets
    started = time.monotonic()
    token = uuid.uuid4().hex
    message = EmailMessage()
    message["From"] = from_addr
    message["To"] = from_addr
    message["Subject"] = f"Mailroom connection test {token[:8]}"
    message[_TEST_HEADER] = token
    message.set_content(
        "Mailroom sent this message to check that mail sent from this mailbox arrives in it.\n"
        "It is deleted automatically; if you see it, you can delete it.\n"
    )
    try:
        await _send_test_message(smtp_settings, message, run.remaining(), allow_private)
    except TargetNotAllowed as exc:
        return _last(run, started, _target_not_allowed(smtp_settings.host, exc))
    except aiosmtplib.SMTPRecipientsRefused as exc:
        code, text = next(iter(exc.recipients)).code, next(iter(exc.recipients)).message
        return _last(run, started, failures.classify_smtp_recipient_reply(code, text))
    except aiosmtplib.SMTPResponseException as exc:
        failure = failures.classify_smtp_recipient_reply(exc.code, exc.message)
        return _last(run, started, failure, f"{exc.code} {exc.message}")
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        failure = Failure(
            "timeout",
            "The test message could not be sent.",
            f"Sending failed ({exc}); run the SMTP connection test for details.",
        )
        return _last(run, started, failure)
    try:
        found = await _wait_for_token(imap_settings, token, run, allow_private)
    except TargetNotAllowed as exc:
        return _last(run, started, _target_not_allowed(imap_settings.host, exc))
    except (ImapError, Pop3Error, OSError, TimeoutError) as exc:
        failure = Failure(
            "problem_with_imap_server",
            "The test message was sent, but the incoming mail server could not be searched.",
            f"Reading the mailbox failed ({exc}); run the incoming connection test for details.",
        )
        return _last(run, started, failure)
    if not found:
        failure = Failure(
            "timeout",
            f"The test message was sent but did not arrive within {timeout_s:g} seconds.",
            f"Check that {from_addr} is this mailbox's own address, that the SMTP and "
            "incoming settings belong to the same mailbox, and that no filter moves the "
            "message out of INBOX (look in spam).",
        )
        return _last(run, started, failure)
    return StageResult(
        stage="round_trip",
        ok=True,
        elapsed_ms=_ms_since(started),
        message=f"A test message sent to {from_addr} arrived in the mailbox.",
    )


def _last(
    run: _Run, started: float, failure: Failure, server_says: str | None = None
) -> StageResult:
    run.fail("round_trip", started, failure, server_says)
    return run.stages[-1]


def _ssl_for(settings: ConnectionSettings) -> ssl.SSLContext | None:
    if settings.security == "none":
        return None
    return client_ssl_context(settings.ca_pem, settings.verify_tls)


async def _open_guarded(
    open_client: Callable[..., Awaitable[Client]],
    settings: ConnectionSettings,
    allow_private: bool,
    budget_s: float,
    **options: Any,
) -> Client:
    """`open_imap`, `open_pop3` or `open_smtp` to the settings' server, over a
    connection the SSRF guard accepted, within `budget_s` in all."""
    deadline = time.monotonic() + budget_s
    sock = await _guarded_socket(settings, allow_private, budget_s)
    with _closing_on_error(sock):
        return await open_client(
            settings.host,
            settings.port,
            settings.security,
            _ssl_for(settings),
            max(0.05, deadline - time.monotonic()),
            sock=sock,
            **options,
        )


async def _guarded_socket(
    settings: ConnectionSettings, allow_private: bool, budget_s: float
) -> socket.socket:
    """A TCP connection to the settings' host, on an address the SSRF guard accepted.

    Raises TargetNotAllowed, OSError (unresolvable, refused) or TimeoutError.
    """
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(budget_s):
        infos = await loop.getaddrinfo(settings.host, settings.port, type=socket.SOCK_STREAM)
        check_addresses(settings.host, [str(info[4][0]) for info in infos], allow_private)
        last_error: OSError = OSError(f"{settings.host} has no address")
        for family, type_, proto, _, sockaddr in infos[:3]:
            sock = socket.socket(family, type_, proto)
            sock.setblocking(False)
            try:
                await loop.sock_connect(sock, sockaddr)
            except OSError as exc:
                sock.close()
                last_error = exc
                continue
            except BaseException:
                sock.close()
                raise
            return sock
    raise last_error


def _target_not_allowed(host: str, exc: TargetNotAllowed) -> Failure:
    return Failure(
        "invalid_server_or_port",
        f"Mailroom may not connect to {host}: it is not a public mail server.",
        f"{exc} (an operator can allow private mail servers in Mailroom's settings).",
    )


async def _send_test_message(
    settings: ConnectionSettings, message: EmailMessage, budget_s: float, allow_private: bool
) -> None:
    password = settings.password.get_secret_value() if settings.password else None
    token = settings.oauth_access_token.get_secret_value() if settings.oauth_access_token else None
    client = await _open_guarded(
        open_smtp,
        settings,
        allow_private,
        budget_s,
        username=settings.username if settings.authenticate else None,
        password=password if settings.authenticate else None,
        oauth_token=token if settings.authenticate else None,
    )
    try:
        await client.send_message(message)
    finally:
        await close_smtp(client)


async def _wait_for_token(
    settings: ConnectionSettings, token: str, run: _Run, allow_private: bool
) -> bool:
    if settings.protocol == "pop3":
        return await _wait_for_token_pop3(settings, token, run, allow_private)
    client = await _open_guarded(open_imap, settings, allow_private, run.remaining())
    try:
        if settings.oauth_access_token is not None:
            await imap_xoauth2(
                client, settings.username, settings.oauth_access_token.get_secret_value()
            )
        else:
            password = settings.password.get_secret_value() if settings.password else ""
            await imap_login(client, settings.username, password)
        await imap_select(client, "INBOX")
        while True:
            response = await client.uid_search("HEADER", _TEST_HEADER, token, charset=None)
            uids = b" ".join(
                line for line in response.lines if isinstance(line, bytes) and line[:1].isdigit()
            ).split()
            if uids:
                uid_set = b",".join(uids).decode()
                await client.uid("store", uid_set, "+FLAGS", r"(\Deleted)")
                if "UIDPLUS" in await imap_capabilities(client):
                    await client.uid("expunge", uid_set)
                return True
            if run.remaining() <= 0.1:
                return False
            # Delivery takes a moment; NOOP lets the server announce new mail.
            await asyncio.sleep(min(0.25, run.remaining()))
            await client.noop()
    finally:
        await close_imap(client)


async def _wait_for_token_pop3(
    settings: ConnectionSettings, token: str, run: _Run, allow_private: bool
) -> bool:
    needle = f"{_TEST_HEADER}: {token}".lower().encode()
    seen: set[str] = set()
    password = settings.password.get_secret_value() if settings.password else ""
    while True:
        # A POP3 session sees the maildrop as it was at login, so each look is a new session.
        client = await _open_guarded(open_pop3, settings, allow_private, run.remaining())
        try:
            await client.login(settings.username, password)
            for number, uid in (await client.uidl()).items():
                if uid in seen:
                    continue
                seen.add(uid)
                if needle in (await client.top(number, 0)).lower():
                    await client.dele(number)
                    await client.quit()
                    return True
            await client.quit()
        finally:
            client.close()
        if run.remaining() <= 0.1:
            return False
        await asyncio.sleep(min(0.25, run.remaining()))
