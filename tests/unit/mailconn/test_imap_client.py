"""The IMAP client's own handling of server replies, against a scripted local server.

Each server here plays one exchange that Dovecot, Gmail or Microsoft 365 produce
only under conditions hard to arrange (a rejected OAuth token, a dropped
connection, bytes injected after STARTTLS); the sandbox's real Dovecot covers the
ordinary paths in the integration tests.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import pytest
from pydantic import SecretStr

from mailroom.shared.mailconn.diagnose import ConnectionSettings, diagnose
from mailroom.shared.mailconn.imap import (
    ImapError,
    close_imap,
    imap_login,
    imap_xoauth2,
    open_imap,
)
from mailroom.shared.mailconn.tls import client_ssl_context

GREETING = b"* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN AUTH=XOAUTH2 STARTTLS] ready\r\n"
CAPABILITIES = b"* CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN AUTH=XOAUTH2 STARTTLS\r\n"
# What Dovecot and Gmail send for a rejected token, before the tagged NO.
XOAUTH2_ERROR = base64.b64encode(b'{"status":"401","schemes":"Bearer","scope":"mail"}')
# Long enough that a client waiting for it would fail with a timeout, not a reply.
CLIENT_TIMEOUT_S = 5.0

Script = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@asynccontextmanager
async def scripted_server(script: Script) -> AsyncIterator[int]:
    """A server on a free loopback port that runs `script` for each connection."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await script(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


async def read_command(reader: asyncio.StreamReader) -> tuple[str, str]:
    """The next command line as (tag, rest), e.g. ("A1", "LOGIN user pass")."""
    line = (await reader.readline()).decode().rstrip("\r\n")
    tag, _, rest = line.partition(" ")
    return tag, rest


async def answer_capability(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Greet, then answer the CAPABILITY the client sends right after the greeting."""
    writer.write(GREETING)
    tag, command = await read_command(reader)
    assert command.upper() == "CAPABILITY"
    writer.write(CAPABILITIES + f"{tag} OK done\r\n".encode())


async def test_rejected_xoauth2_token_gets_the_servers_no_at_once() -> None:
    seen_after_challenge: list[bytes] = []

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await answer_capability(reader, writer)
        tag, command = await read_command(reader)
        assert command.startswith("AUTHENTICATE XOAUTH2 ")
        writer.write(b"+ " + XOAUTH2_ERROR + b"\r\n")
        # RFC 7628: the client answers the error challenge with an empty response.
        seen_after_challenge.append(await reader.readline())
        writer.write(f"{tag} NO [AUTHENTICATIONFAILED] Authentication failed.\r\n".encode())
        await reader.read()

    async with scripted_server(script) as port:
        client = await open_imap("127.0.0.1", port, "none", None, CLIENT_TIMEOUT_S)
        try:
            with pytest.raises(ImapError) as failed:
                await imap_xoauth2(client, "demo@example.com", "revoked-token")
        finally:
            await close_imap(client)
    assert seen_after_challenge == [b"\r\n"]
    assert "AUTHENTICATIONFAILED" in failed.value.reply
    assert "revoked-token" not in str(failed.value)


async def test_dropped_connection_fails_the_pending_command_instead_of_hanging() -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await answer_capability(reader, writer)
        await read_command(reader)  # LOGIN, never answered

    async with scripted_server(script) as port:
        client = await open_imap("127.0.0.1", port, "none", None, CLIENT_TIMEOUT_S)
        try:
            with pytest.raises(ConnectionResetError):
                await imap_login(client, "demo@example.com", "a-password")
        finally:
            await close_imap(client)


async def test_diagnose_reports_a_dropped_connection_at_the_stage_it_happened() -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await answer_capability(reader, writer)
        await read_command(reader)

    async with scripted_server(script) as port:
        config = ConnectionSettings(
            protocol="imap",
            host="127.0.0.1",
            port=port,
            security="none",
            username="demo@example.com",
            password=SecretStr("a-password"),
        )
        report = await diagnose(config, timeout_s=CLIENT_TIMEOUT_S, allow_private=True)
    assert report.code == "invalid_server_or_port"
    assert report.stages[-1].stage == "auth"


async def test_data_injected_after_starttls_ok_is_refused() -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(GREETING)
        tag, command = await read_command(reader)
        assert command.upper() == "STARTTLS"
        # A man in the middle appends a response that the client would otherwise
        # read as if it had come over TLS.
        writer.write(f"{tag} OK Begin TLS\r\n* OK [CAPABILITY IMAP4rev1] injected\r\n".encode())
        await reader.read()

    async with scripted_server(script) as port:
        with pytest.raises(ImapError) as refused:
            await open_imap(
                "127.0.0.1", port, "starttls", client_ssl_context(None), CLIENT_TIMEOUT_S
            )
    assert "after STARTTLS" in refused.value.reply


async def test_starttls_refused_by_the_server_is_reported() -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(GREETING)
        tag, _ = await read_command(reader)
        writer.write(f"{tag} BAD STARTTLS not available\r\n".encode())
        await reader.read()

    async with scripted_server(script) as port:
        config = ConnectionSettings(
            protocol="imap",
            host="127.0.0.1",
            port=port,
            security="starttls",
            username="demo@example.com",
            password=SecretStr("a-password"),
        )
        report = await diagnose(config, timeout_s=CLIENT_TIMEOUT_S, allow_private=True)
    assert report.code == "tls_mismatch"
    assert report.stages[-1].stage == "tls"
    assert report.stages[-1].hint is not None and "ssl" in report.stages[-1].hint
