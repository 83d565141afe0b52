"""IMAP connections over aioimaplib, with its gaps closed in one place.

aioimaplib 2.0 has no STARTTLS helper, keeps the pre-login capability list
after LOGIN, and hangs on a rejected XOAUTH2 token (the server sends an error
challenge and waits for the client's empty answer, which never comes). This
module connects with implicit TLS, STARTTLS or plain text, answers that
challenge, and re-reads CAPABILITY whenever it matters.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from typing import Any, Literal

import aioimaplib

Security = Literal["ssl", "starttls", "none"]

# Tag for the one command sent before aioimaplib takes over the connection.
_STARTTLS_TAG = "MRTLS0"
# Longest plain-text line accepted before STARTTLS (a greeting is far shorter).
_MAX_PLAIN_LINE = 8192


class ImapError(Exception):
    """The IMAP server answered a command with NO/BAD (or not at all as expected)."""

    def __init__(self, command: str, reply: str) -> None:
        super().__init__(f"{command} failed: {reply}")
        self.command = command
        self.reply = reply


class StartTlsRefused(ImapError):
    """The server did not agree to STARTTLS."""


class _Protocol(aioimaplib.IMAP4ClientProtocol):  # type: ignore[misc]
    """aioimaplib's protocol plus a plain-text phase for STARTTLS, the greeting line,
    a SASL error answer, and pending commands that fail when the connection drops.
    """

    greeting: str | None = None

    def __init__(self, loop: asyncio.AbstractEventLoop, conn_lost_cb: Any = None) -> None:
        super().__init__(loop, conn_lost_cb)
        # While set, received lines go here instead of to aioimaplib: the greeting and
        # the STARTTLS reply are read by ImapClient before the TLS upgrade. None in the
        # queue means the connection closed.
        self.plain_lines: asyncio.Queue[bytes | None] | None = None
        self.plain_buffer = b""

    def data_received(self, d: bytes) -> None:
        if self.plain_lines is None:
            super().data_received(d)
            return
        self.plain_buffer += d
        while b"\r\n" in self.plain_buffer:
            line, _, self.plain_buffer = self.plain_buffer.partition(b"\r\n")
            self.plain_lines.put_nowait(line)
        if len(self.plain_buffer) > _MAX_PLAIN_LINE:
            # Not an IMAP server: stop reading rather than buffer without end.
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.plain_lines is not None:
            self.plain_lines.put_nowait(None)
        # aioimaplib leaves a command waiting forever when the connection drops; its
        # caller would only learn of it from a timeout, so fail it now.
        lost = ConnectionResetError("the IMAP server closed the connection")
        if exc is not None:
            lost.__cause__ = exc
        for command in [self.pending_sync_command, *self.pending_async_commands.values()]:
            if command is not None and not command._event.is_set():
                command._exception = lost
                command.close(b"connection lost", "KO")
        super().connection_lost(exc)

    async def welcome(self, command: bytes) -> None:
        if self.greeting is None:
            self.greeting = command.decode(errors="replace")
        await super().welcome(command)

    def _continuation(self, line: bytes) -> None:
        pending = self.pending_sync_command
        if pending is not None and pending.name == "AUTHENTICATE":
            # A challenge after the initial XOAUTH2 response carries the server's error;
            # RFC 7628 says to answer it with an empty line, and the server then says NO.
            self.transport.write(b"\r\n")
            return
        super()._continuation(line)


class ImapClient(aioimaplib.IMAP4):  # type: ignore[misc]
    """An aioimaplib client that can also start with STARTTLS or an already connected socket.

    `phase` says how far the connection got ("tcp", "tls", "greeting", "ready"), and
    `tls_done_at` when TLS was established (time.monotonic()), so callers can tell
    which step failed or hung.
    """

    def __init__(
        self,
        host: str,
        port: int,
        security: Security,
        ssl_context: ssl.SSLContext | None,
        timeout: float,
        sock: socket.socket | None = None,
    ) -> None:
        self.security: Security = security
        self.phase = "tcp"
        self.tls_done_at: float | None = None
        self._sock = sock
        self._ssl_context = ssl_context
        super().__init__(host=host, port=port, timeout=timeout, ssl_context=ssl_context)

    def create_client(
        self,
        host: str,
        port: int,
        loop: asyncio.AbstractEventLoop | None,
        conn_lost_cb: Any = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        local_loop = loop or asyncio.get_running_loop()
        self.protocol = _Protocol(local_loop, conn_lost_cb)
        self._client_task = local_loop.create_task(self._connect(local_loop, host, port))

    @property
    def greeting(self) -> str | None:
        """The server's first line, e.g. `OK [CAPABILITY ...] Dovecot ready.`."""
        greeting: str | None = self.protocol.greeting
        return greeting.removeprefix("* ") if greeting else None

    async def _connect(self, loop: asyncio.AbstractEventLoop, host: str, port: int) -> None:
        where: dict[str, Any] = (
            {"sock": self._sock} if self._sock is not None else {"host": host, "port": port}
        )
        if self.security == "starttls":
            await self._connect_starttls(loop, host, where)
            return
        context = self._ssl_context if self.security == "ssl" else None
        if context is not None:
            self.phase = "tls"
            await loop.create_connection(
                lambda: self.protocol, ssl=context, server_hostname=host, **where
            )
            self.tls_done_at = time.monotonic()
        else:
            await loop.create_connection(lambda: self.protocol, **where)
        self.phase = "greeting"

    async def _connect_starttls(
        self, loop: asyncio.AbstractEventLoop, host: str, where: dict[str, Any]
    ) -> None:
        """Greeting and STARTTLS in plain text, then TLS under aioimaplib's own protocol.

        The protocol owns the transport from the first byte, so there is no second
        reader that could keep (or, when collected, close) the connection.
        """
        if self._ssl_context is None:
            raise ValueError("STARTTLS needs an SSL context")
        protocol: _Protocol = self.protocol
        protocol.plain_lines = asyncio.Queue()
        transport, _ = await loop.create_connection(lambda: protocol, **where)
        self.phase = "greeting"
        greeting = await self._plain_line()
        if greeting is None or not greeting.upper().startswith("* OK"):
            raise ImapError("greeting", greeting or "connection closed without a greeting")
        protocol.greeting = greeting
        self.phase = "tls"
        transport.write(f"{_STARTTLS_TAG} STARTTLS\r\n".encode())
        while True:
            line = await self._plain_line()
            if line is None:
                raise StartTlsRefused("STARTTLS", "connection closed")
            if line.startswith(_STARTTLS_TAG + " "):
                break
        reply = line.removeprefix(_STARTTLS_TAG + " ")
        if not reply.upper().startswith("OK"):
            raise StartTlsRefused("STARTTLS", reply)
        if protocol.plain_buffer or not protocol.plain_lines.empty():
            # Plain text after the OK would be read as if it came over TLS (the
            # STARTTLS command injection of CVE-2011-0411 and its kin): refuse it.
            raise ImapError("STARTTLS", "the server sent unencrypted data after STARTTLS")
        protocol.plain_lines = None
        tls_transport = await loop.start_tls(
            transport, protocol, self._ssl_context, server_hostname=host
        )
        if tls_transport is None:
            raise ConnectionResetError("the connection closed during the TLS handshake")
        self.tls_done_at = time.monotonic()
        self.phase = "greeting"
        # No second greeting follows STARTTLS, so enter NONAUTH through welcome(), which
        # also re-reads CAPABILITY as RFC 3501 requires after the upgrade.
        protocol.connection_made(tls_transport)
        await protocol.welcome(b"OK")

    async def _plain_line(self) -> str | None:
        queue: asyncio.Queue[bytes | None] | None = self.protocol.plain_lines
        if queue is None:
            raise RuntimeError("the connection is no longer in plain text")
        line = await queue.get()
        return None if line is None else line.decode(errors="replace").strip()


async def open_imap(
    host: str,
    port: int,
    security: Security,
    ssl_context: ssl.SSLContext | None,
    timeout: float,  # noqa: ASYNC109 - kept by the client for each later command
    *,
    sock: socket.socket | None = None,
) -> ImapClient:
    """Connect, set up TLS as asked and wait for the greeting: a client in NONAUTH state.

    `sock` is an already connected TCP socket to use instead of connecting to
    host:port (host is still the name checked against the certificate).
    Raises OSError (refused, unreachable), ssl.SSLError, TimeoutError, ImapError.
    """
    client = ImapClient(host, port, security, ssl_context, timeout, sock)
    try:
        await client.wait_hello_from_server()
    except BaseException:
        _drop(client)
        raise
    client.phase = "ready"
    return client


async def imap_capabilities(client: ImapClient) -> set[str]:
    """Ask the server for CAPABILITY now (aioimaplib keeps a stale list after LOGIN)."""
    await asyncio.wait_for(client.protocol.capability(), client.timeout)
    return {str(cap).upper() for cap in client.protocol.capabilities}


async def imap_login(client: ImapClient, username: str, password: str) -> str:
    """LOGIN with a password; returns the server's OK text, raises ImapError on NO/BAD."""
    if "LOGINDISABLED" in {str(c).upper() for c in client.protocol.capabilities}:
        raise ImapError("LOGIN", "[PRIVACYREQUIRED] LOGINDISABLED: login needs TLS first")
    response = await client.login(username, password)
    return _checked("LOGIN", response)


async def imap_xoauth2(client: ImapClient, username: str, access_token: str) -> str:
    """AUTHENTICATE XOAUTH2; a rejected token gives ImapError at once instead of a hang."""
    response = await client.xoauth2(username, access_token)
    return _checked("AUTHENTICATE", response)


async def imap_select(client: ImapClient, mailbox: str = "INBOX") -> str:
    """SELECT a mailbox; returns the server's OK text, raises ImapError on NO/BAD."""
    response = await client.select(mailbox)
    return _checked("SELECT", response)


async def close_imap(client: ImapClient) -> None:
    """LOGOUT politely if we can, and always drop the connection."""
    try:
        if client.get_state() in ("NONAUTH", "AUTH", "SELECTED"):
            await asyncio.wait_for(client.logout(), min(client.timeout, 2.0))
    except (Exception, asyncio.CancelledError):  # noqa: S110 - best-effort goodbye
        pass
    _drop(client)


def _drop(client: ImapClient) -> None:
    transport = client.protocol.transport if client.protocol is not None else None
    if transport is not None:
        transport.close()
    if not client._client_task.done():
        client._client_task.cancel()


def _checked(command: str, response: Any) -> str:
    text = " ".join(
        line.decode(errors="replace") if isinstance(line, bytes) else str(line)
        for line in response.lines
    ).strip()
    if response.result != "OK":
        raise ImapError(command, text or str(response.result))
    return text
