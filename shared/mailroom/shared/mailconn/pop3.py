"""A small asyncio POP3 client (RFC 1939, CAPA and STLS from RFC 2449 / RFC 2595).

The standard library's poplib blocks, and no maintained asyncio POP3 library
exists, so this covers what Mailroom needs: the connection test and the
watcher's bounce collection (USER/PASS, STLS, CAPA, STAT, UIDL, TOP, RETR, DELE, QUIT).
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from typing import Any, Literal

Security = Literal["ssl", "starttls", "none"]

_MAX_LINE = 64 * 1024


class Pop3Error(Exception):
    """The server answered -ERR (or something that is not a POP3 reply)."""

    def __init__(self, command: str, reply: str) -> None:
        super().__init__(f"{command} failed: {reply}")
        self.command = command
        self.reply = reply


class Pop3Client:
    """One POP3 session over asyncio streams. Create it with `open_pop3`."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, timeout: float
    ) -> None:
        self._reader = reader
        self._writer = writer
        self.timeout = timeout
        self.greeting: str | None = None
        self.phase = "tcp"
        self.tls_done_at: float | None = None

    async def _readline(self) -> str:
        raw = await asyncio.wait_for(self._reader.readline(), self.timeout)
        if not raw:
            raise ConnectionResetError("the POP3 server closed the connection")
        return raw.decode("utf-8", errors="replace").rstrip("\r\n")

    async def read_greeting(self) -> str:
        """Read the server's `+OK` greeting line."""
        line = await self._readline()
        if not line.startswith("+OK"):
            raise Pop3Error("greeting", line)
        self.greeting = line
        return line

    async def command(self, line: str, *, name: str | None = None) -> str:
        """Send one command and return the text after `+OK`; raises Pop3Error on -ERR."""
        self._writer.write(line.encode() + b"\r\n")
        await self._writer.drain()
        reply = await self._readline()
        command_name = name or line.split(" ", 1)[0].upper()
        if not reply.startswith("+OK"):
            raise Pop3Error(command_name, reply)
        return reply[3:].strip()

    async def _read_multiline(self) -> list[bytes]:
        lines: list[bytes] = []
        while True:
            raw = await asyncio.wait_for(self._reader.readuntil(b"\n"), self.timeout)
            line = raw.rstrip(b"\r\n")
            if line == b".":
                return lines
            # Undo dot-stuffing (RFC 1939 section 3).
            lines.append(line[1:] if line.startswith(b"..") else line)

    async def multiline(self, line: str) -> list[bytes]:
        """Send a command whose success reply is followed by a dot-terminated block."""
        await self.command(line)
        return await self._read_multiline()

    async def capa(self) -> set[str]:
        """CAPA: the capability names (upper case); an empty set if CAPA is unsupported."""
        try:
            lines = await self.multiline("CAPA")
        except Pop3Error:
            return set()
        return {line.decode(errors="replace").split(" ", 1)[0].upper() for line in lines if line}

    async def stls(self, ssl_context: ssl.SSLContext, server_hostname: str) -> None:
        """STLS, then the TLS handshake on the same connection."""
        await self.command("STLS")
        await asyncio.wait_for(
            self._writer.start_tls(ssl_context, server_hostname=server_hostname), self.timeout
        )

    async def login(self, username: str, password: str) -> str:
        """USER then PASS; the password is never part of an error message."""
        await self.command(f"USER {username}")
        return await self.command(f"PASS {password}", name="PASS")

    async def stat(self) -> tuple[int, int]:
        """STAT: (message count, mailbox size in octets)."""
        count, size = (await self.command("STAT")).split()[:2]
        return int(count), int(size)

    async def uidl(self) -> dict[int, str]:
        """UIDL: message number → unique id, for every message in the maildrop."""
        result: dict[int, str] = {}
        for line in await self.multiline("UIDL"):
            number, _, uid = line.decode(errors="replace").partition(" ")
            result[int(number)] = uid.strip()
        return result

    async def top(self, number: int, body_lines: int = 0) -> bytes:
        """TOP: the message's header and its first `body_lines` body lines."""
        return b"\r\n".join(await self.multiline(f"TOP {number} {body_lines}")) + b"\r\n"

    async def retr(self, number: int) -> bytes:
        """RETR: the whole message as bytes with CRLF line ends."""
        return b"\r\n".join(await self.multiline(f"RETR {number}")) + b"\r\n"

    async def dele(self, number: int) -> None:
        """DELE: mark a message deleted (removed at QUIT)."""
        await self.command(f"DELE {number}")

    async def quit(self) -> None:
        """QUIT (commits deletions) and close the connection."""
        try:
            await self.command("QUIT")
        finally:
            self.close()

    def ssl_object(self) -> ssl.SSLObject | None:
        """The TLS session, when the connection is encrypted."""
        ssl_object: ssl.SSLObject | None = self._writer.get_extra_info("ssl_object")
        return ssl_object

    def close(self) -> None:
        """Drop the connection without QUIT (deletions are not committed)."""
        self._writer.close()


async def open_pop3(
    host: str,
    port: int,
    security: Security,
    ssl_context: ssl.SSLContext | None,
    timeout: float,  # noqa: ASYNC109 - kept by the client for each later command
    *,
    sock: socket.socket | None = None,
) -> Pop3Client:
    """Connect, read the greeting and set up TLS as asked (implicit, STLS or none).

    `sock` is an already connected TCP socket to use instead of host:port.
    Raises OSError, ssl.SSLError, TimeoutError, Pop3Error.
    """
    where: dict[str, Any] = {"sock": sock} if sock is not None else {"host": host, "port": port}
    if security == "ssl":
        if ssl_context is None:
            raise ValueError("implicit TLS needs an SSL context")
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(
                ssl=ssl_context, server_hostname=host, limit=_MAX_LINE, **where
            ),
            timeout,
        )
        tls_done_at: float | None = time.monotonic()
    else:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(limit=_MAX_LINE, **where), timeout
        )
        tls_done_at = None
    client = Pop3Client(reader, writer, timeout)
    client.tls_done_at = tls_done_at
    try:
        client.phase = "greeting"
        await client.read_greeting()
        if security == "starttls":
            if ssl_context is None:
                raise ValueError("STLS needs an SSL context")
            client.phase = "tls"
            await client.stls(ssl_context, host)
            client.tls_done_at = time.monotonic()
        client.phase = "ready"
    except BaseException:
        client.close()
        raise
    return client
