"""Time the connection test against a plain connect-and-login to the same servers.

Runs `diagnose()` for IMAP (implicit TLS) and SMTP (submission, STARTTLS) N times
each, and the same connect + login with bare aioimaplib / aiosmtplib in the same
run, then prints one line:

    BENCH connection-test imap_ms=.. baseline_imap_ms=.. ratio=.. smtp_ms=.. ...

The connection test does more than log in (capabilities, SELECT INBOX, a
sender/recipient check), so the ratio shows what that thoroughness costs.
Starts its own mail sandbox (mailroom.localinfra.MailSandbox) in a temporary
directory.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aioimaplib
import aiosmtplib
from pydantic import SecretStr

from mailroom.shared.mailconn.diagnose import ConnectionSettings, diagnose
from mailroom.shared.mailconn.tls import client_ssl_context

USER = "demo@mailroom.test"


async def _median_ms(n: int, action: Callable[[], Awaitable[None]]) -> float:
    await action()  # warm-up: first logins start server-side auth workers
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        await action()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


async def bench(sandbox: Any, n: int) -> str:
    password = sandbox.users[USER]
    context = client_ssl_context(sandbox.ca_pem)

    def config(protocol: str, port: int, security: str) -> ConnectionSettings:
        return ConnectionSettings.model_validate(
            {
                "protocol": protocol,
                "host": sandbox.host,
                "port": port,
                "security": security,
                "username": USER,
                "password": SecretStr(password),
                "ca_pem": sandbox.ca_pem,
                "email": USER,
            }
        )

    imap_config = config("imap", sandbox.imaps_port, "ssl")
    smtp_config = config("smtp", sandbox.submission_port, "starttls")

    async def diagnose_imap() -> None:
        report = await diagnose(imap_config, allow_private=True)
        assert report.ok, report.code

    async def diagnose_smtp() -> None:
        report = await diagnose(smtp_config, allow_private=True)
        assert report.ok, report.code

    async def baseline_imap() -> None:
        client = aioimaplib.IMAP4_SSL(
            host=sandbox.host, port=sandbox.imaps_port, ssl_context=context
        )
        await client.wait_hello_from_server()
        response = await client.login(USER, password)
        assert response.result == "OK"
        await client.logout()

    async def baseline_smtp() -> None:
        client = aiosmtplib.SMTP(
            hostname=sandbox.host,
            port=sandbox.submission_port,
            start_tls=True,
            tls_context=context,
        )
        await client.connect()
        await client.login(USER, password)
        await client.quit()

    # Interleave so both sides see the same server and machine load.
    imap_ms = await _median_ms(n, diagnose_imap)
    baseline_imap_ms = await _median_ms(n, baseline_imap)
    smtp_ms = await _median_ms(n, diagnose_smtp)
    baseline_smtp_ms = await _median_ms(n, baseline_smtp)
    return (
        f"BENCH connection-test imap_ms={imap_ms:.1f} baseline_imap_ms={baseline_imap_ms:.1f} "
        f"ratio={imap_ms / baseline_imap_ms:.2f} smtp_ms={smtp_ms:.1f} "
        f"baseline_smtp_ms={baseline_smtp_ms:.1f} ratio={smtp_ms / baseline_smtp_ms:.2f}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("-n", type=int, default=30, help="iterations per measurement")
    args = parser.parse_args()
    try:
        from mailroom.localinfra import MailSandbox  # type: ignore[attr-defined]
    except ImportError:
        print("BENCH connection-test skipped: mailroom.localinfra.MailSandbox is not available")
        return 0
    with (
        tempfile.TemporaryDirectory(prefix="mailroom-bench-") as workdir,
        MailSandbox(Path(workdir)) as sandbox,
    ):
        print(asyncio.run(bench(sandbox, args.n)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
