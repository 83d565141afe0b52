"""SMTP connections over aiosmtplib with Mailroom's security settings."""

from __future__ import annotations

import socket
import ssl
from typing import Literal

import aiosmtplib

Security = Literal["ssl", "starttls", "none"]


def smtp_client(
    host: str,
    port: int,
    security: Security,
    ssl_context: ssl.SSLContext | None,
    timeout: float,
    *,
    sock: socket.socket | None = None,
) -> aiosmtplib.SMTP:
    """An unconnected client: implicit TLS for "ssl", STARTTLS required for "starttls".

    `sock` is an already connected TCP socket to use instead of host:port.
    """
    return aiosmtplib.SMTP(
        hostname=host,
        port=None if sock is not None else port,
        sock=sock,
        use_tls=security == "ssl",
        # Diagnostics call starttls() themselves to time it; False here means
        # "not during connect()", and open_smtp() upgrades right after.
        start_tls=False,
        tls_context=ssl_context,
        timeout=timeout,
    )


async def open_smtp(
    host: str,
    port: int,
    security: Security,
    ssl_context: ssl.SSLContext | None,
    timeout: float,  # noqa: ASYNC109 - kept by the client for each later command
    *,
    username: str | None = None,
    password: str | None = None,
    oauth_token: str | None = None,
    sock: socket.socket | None = None,
) -> aiosmtplib.SMTP:
    """Connect, upgrade with STARTTLS when asked, EHLO, and log in when credentials are given.

    Raises aiosmtplib's exceptions (SMTPConnectError with the OSError/SSLError as
    its cause, SMTPAuthenticationError, SMTPException when STARTTLS or AUTH is not
    offered, SMTPTimeoutError). `sock` is an already connected TCP socket to use
    instead of host:port (host is still the name checked against the certificate).
    """
    client = smtp_client(host, port, security, ssl_context, timeout, sock=sock)
    await client.connect()
    try:
        await client.ehlo()
        if security == "starttls":
            await client.starttls(tls_context=ssl_context)
            await client.ehlo()
        if oauth_token and username:
            await client.auth_xoauth2(username, oauth_token)
        elif username and password is not None:
            await login_once(client, username, password)
    except BaseException:
        client.close()
        raise
    return client


# Which advertised method to log in with, best first. PLAIN and LOGIN work wherever
# they are offered; CRAM-MD5 is sometimes offered by servers that cannot check it.
_LOGIN_PREFERENCE = ("plain", "login", "cram-md5")


async def login_once(
    client: aiosmtplib.SMTP, username: str, password: str
) -> aiosmtplib.SMTPResponse:
    """Log in with one advertised method, and do not try the others after a rejection.

    aiosmtplib's login() goes on through every advertised method when one is
    refused: a wrong password would then count as two or three failed logins at
    the provider, which locks accounts out after a run of them, and each costs the
    server's delay without telling us anything new.
    """
    offered = client.supported_auth_methods
    method = next((m for m in _LOGIN_PREFERENCE if m in offered), None)
    if method is None:
        return await client.login(username, password)  # raises: no method we know
    response: aiosmtplib.SMTPResponse = await getattr(client, "auth_" + method.replace("-", ""))(
        username, password
    )
    return response


async def close_smtp(client: aiosmtplib.SMTP) -> None:
    """QUIT politely if we can, and always drop the connection."""
    try:
        if client.is_connected:
            await client.quit(timeout=2.0)
    except (aiosmtplib.SMTPException, OSError, TimeoutError):
        pass
    finally:
        client.close()
