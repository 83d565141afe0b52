"""The connection test and discovery against the sandbox's real Dovecot and Postfix."""

from __future__ import annotations

import asyncio
import gc
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from mailroom.localinfra import MailSandbox
from mailroom.localinfra.oauth_server import LocalOAuthServer
from mailroom.localinfra.ports import free_port
from mailroom.shared.mailconn.diagnose import (
    ConnectionSettings,
    DiagnosisReport,
    diagnose,
    round_trip,
)
from mailroom.shared.mailconn.discover import discover
from mailroom.shared.mailconn.imap import close_imap, imap_login, imap_select, open_imap
from mailroom.shared.mailconn.tls import client_ssl_context

pytestmark = pytest.mark.integration

DEMO = "demo@mailroom.test"
REPO = Path(__file__).resolve().parents[2]


def settings(
    sandbox: Any,
    protocol: str,
    port: int,
    security: str,
    *,
    password: str | None = None,
    ca: bool = True,
) -> ConnectionSettings:
    return ConnectionSettings.model_validate(
        {
            "protocol": protocol,
            "host": sandbox.host,
            "port": port,
            "security": security,
            "username": DEMO,
            "password": SecretStr(password if password is not None else sandbox.users[DEMO]),
            "ca_pem": sandbox.ca_pem if ca else None,
            "email": DEMO,
        }
    )


async def run(config: ConnectionSettings) -> DiagnosisReport:
    return await diagnose(config, timeout_s=20, allow_private=True)


def assert_passed(report: DiagnosisReport, stages: list[str]) -> None:
    assert report.ok, report.model_dump_json(indent=2)
    assert report.code is None
    assert [s.stage for s in report.stages] == stages
    assert all(s.ok and s.code is None for s in report.stages)


IMAP_STAGES = ["dns", "tcp", "tls", "greeting", "auth", "capabilities", "inbox"]
OTHER_STAGES = ["dns", "tcp", "tls", "greeting", "auth", "capabilities"]


@pytest.mark.parametrize(
    ("protocol", "port_name", "security"),
    [
        ("smtp", "submission_port", "starttls"),
        ("smtp", "smtps_port", "ssl"),
        ("imap", "imaps_port", "ssl"),
        ("imap", "imap_port", "starttls"),
        ("pop3", "pop3s_port", "ssl"),
        ("pop3", "pop3_port", "starttls"),
    ],
)
async def test_good_settings_pass_every_stage(
    mail_sandbox: Any, protocol: str, port_name: str, security: str
) -> None:
    port = getattr(mail_sandbox, port_name)
    report = await run(settings(mail_sandbox, protocol, port, security))
    assert_passed(report, IMAP_STAGES if protocol == "imap" else OTHER_STAGES)
    auth = next(s for s in report.stages if s.stage == "auth")
    assert auth.message is not None and DEMO in auth.message


@pytest.mark.parametrize(
    ("smtp_port_name", "smtp_security", "incoming", "in_port_name", "in_security"),
    [
        ("submission_port", "starttls", "imap", "imaps_port", "ssl"),
        ("smtps_port", "ssl", "imap", "imap_port", "starttls"),
        ("submission_port", "starttls", "pop3", "pop3s_port", "ssl"),
        ("smtps_port", "ssl", "pop3", "pop3_port", "starttls"),
    ],
)
async def test_round_trip_delivers_to_the_mailbox(
    mail_sandbox: Any,
    smtp_port_name: str,
    smtp_security: str,
    incoming: str,
    in_port_name: str,
    in_security: str,
) -> None:
    smtp = settings(mail_sandbox, "smtp", getattr(mail_sandbox, smtp_port_name), smtp_security)
    reading = settings(mail_sandbox, incoming, getattr(mail_sandbox, in_port_name), in_security)
    result = await round_trip(smtp, reading, DEMO, timeout_s=30, allow_private=True)
    assert result.ok, result.model_dump_json(indent=2)
    assert result.stage == "round_trip"


async def test_round_trip_refuses_loopback_unless_allowed(mail_sandbox: Any) -> None:
    smtp = settings(mail_sandbox, "smtp", mail_sandbox.submission_port, "starttls")
    reading = settings(mail_sandbox, "imap", mail_sandbox.imaps_port, "ssl")
    result = await round_trip(smtp, reading, DEMO, timeout_s=10)
    assert not result.ok
    assert result.code == "invalid_server_or_port"
    assert result.hint is not None and "loopback" in result.hint


# Enough repetitions to catch a race in the STARTTLS upgrade (one run in about 40
# failed before the upgrade kept a single protocol on the connection), yet quick.
STARTTLS_REPEATS = 30


async def test_imap_starttls_passes_every_time(mail_sandbox: Any) -> None:
    config = settings(mail_sandbox, "imap", mail_sandbox.imap_port, "starttls")
    limit = asyncio.Semaphore(10)

    async def once() -> DiagnosisReport:
        async with limit:
            return await run(config)

    reports = await asyncio.gather(*(once() for _ in range(STARTTLS_REPEATS)))
    failed = [r.model_dump_json() for r in reports if not r.ok]
    assert failed == []


async def test_imap_starttls_connection_survives_garbage_collection(mail_sandbox: Any) -> None:
    # The connection once depended on a stream writer that nothing referenced; when
    # the collector reached it, it closed the connection under the client.
    context = client_ssl_context(mail_sandbox.ca_pem)
    client = await open_imap(mail_sandbox.host, mail_sandbox.imap_port, "starttls", context, 10)
    try:
        gc.collect()
        await imap_login(client, DEMO, mail_sandbox.users[DEMO])
        gc.collect()
        await imap_select(client, "INBOX")
        assert client.get_state() == "SELECTED"
    finally:
        await close_imap(client)


async def test_closed_port_is_invalid_server_or_port(mail_sandbox: Any) -> None:
    with socket.socket() as probe:
        probe.bind((mail_sandbox.host, 0))
        closed_port = probe.getsockname()[1]
    report = await run(settings(mail_sandbox, "imap", closed_port, "ssl"))
    assert not report.ok
    assert report.code == "invalid_server_or_port"
    assert report.stages[-1].stage == "tcp"


@pytest.mark.parametrize(
    ("protocol", "port_name", "security"),
    [
        ("imap", "imaps_port", "ssl"),
        ("smtp", "submission_port", "starttls"),
        ("pop3", "pop3s_port", "ssl"),
    ],
)
async def test_wrong_password_is_authentication_failed_and_never_echoed(
    mail_sandbox: Any, protocol: str, port_name: str, security: str
) -> None:
    wrong = "Wrong-Password-7f3a9c"
    config = settings(
        mail_sandbox, protocol, getattr(mail_sandbox, port_name), security, password=wrong
    )
    report = await run(config)
    assert not report.ok
    assert report.code == "authentication_failed"
    failed = report.stages[-1]
    assert failed.stage == "auth"
    assert failed.message and failed.hint
    assert wrong not in report.model_dump_json()
    assert mail_sandbox.users[DEMO] not in report.model_dump_json()


@pytest.mark.parametrize(
    ("protocol", "port_name"),
    [("imap", "imap_port"), ("smtp", "submission_port"), ("pop3", "pop3_port")],
)
async def test_ssl_on_a_starttls_port_is_tls_mismatch_naming_starttls(
    mail_sandbox: Any, protocol: str, port_name: str
) -> None:
    report = await run(settings(mail_sandbox, protocol, getattr(mail_sandbox, port_name), "ssl"))
    assert report.code == "tls_mismatch"
    failed = report.stages[-1]
    assert failed.stage == "tls"
    assert failed.hint is not None and "starttls" in failed.hint


async def test_starttls_on_an_implicit_tls_port_is_tls_mismatch_naming_ssl(
    mail_sandbox: Any,
) -> None:
    report = await run(settings(mail_sandbox, "imap", mail_sandbox.imaps_port, "starttls"))
    assert report.code == "tls_mismatch"
    assert report.stages[-1].hint is not None
    assert "security to ssl" in report.stages[-1].hint


async def test_server_without_uidplus_is_not_supported(mail_sandbox: Any) -> None:
    report = await run(settings(mail_sandbox, "imap", mail_sandbox.nouidplus_imap_port, "starttls"))
    assert report.code == "imap_server_not_supported"
    failed = report.stages[-1]
    assert failed.stage == "capabilities"
    assert failed.hint is not None and "UIDPLUS" in failed.hint
    # Login itself worked: the failure is about the server, not the credentials.
    assert next(s for s in report.stages if s.stage == "auth").ok


async def test_untrusted_certificate_is_certificate_invalid(mail_sandbox: Any) -> None:
    report = await run(settings(mail_sandbox, "imap", mail_sandbox.imaps_port, "ssl", ca=False))
    assert report.code == "certificate_invalid"
    assert report.stages[-1].stage == "tls"
    # No login was attempted over the untrusted connection.
    assert all(s.stage != "auth" for s in report.stages)


async def test_discover_finds_the_sandbox_combinations(mail_sandbox: Any) -> None:
    sandbox = mail_sandbox
    found = await discover(
        DEMO,
        host=sandbox.host,
        allow_private=True,
        budget_s=10,
        ports={
            "smtp": [sandbox.submission_port, sandbox.smtps_port],
            "imap": [sandbox.imap_port, sandbox.imaps_port],
            "pop3": [sandbox.pop3_port, sandbox.pop3s_port],
        },
    )
    combos = [(s.protocol, s.port, s.security) for s in found]
    assert combos == [
        ("smtp", sandbox.smtps_port, "ssl"),
        ("smtp", sandbox.submission_port, "starttls"),
        ("imap", sandbox.imaps_port, "ssl"),
        ("imap", sandbox.imap_port, "starttls"),
        ("pop3", sandbox.pop3s_port, "ssl"),
        ("pop3", sandbox.pop3_port, "starttls"),
    ]


async def test_discover_refuses_loopback_unless_allowed(mail_sandbox: Any) -> None:
    found = await discover(
        DEMO, host=mail_sandbox.host, budget_s=3, ports={"imap": [mail_sandbox.imaps_port]}
    )
    assert found == []


def _mailroom_check(sandbox: Any, password: str) -> subprocess.CompletedProcess[str]:
    executable = Path(sys.executable).with_name("mailroom")
    command = [str(executable)] if executable.exists() else [str(REPO / ".venv/bin/mailroom")]
    return subprocess.run(
        [
            *command,
            "check",
            "imap",
            "--host",
            sandbox.host,
            "--port",
            str(sandbox.imaps_port),
            "--security",
            "ssl",
            "--user",
            DEMO,
            "--ca-file",
            str(sandbox.ca_pem_path),
            "--json",
        ],
        env={**os.environ, "MAILROOM_PASSWORD": password},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_cli_check_json_passes_on_good_settings(mail_sandbox: Any) -> None:
    done = _mailroom_check(mail_sandbox, mail_sandbox.users[DEMO])
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["ok"] is True
    assert report["code"] is None
    assert [s["stage"] for s in report["stages"]] == IMAP_STAGES


def test_cli_check_json_fails_with_authentication_failed(mail_sandbox: Any) -> None:
    wrong = "Not-The-Password-41"
    done = _mailroom_check(mail_sandbox, wrong)
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    assert report["ok"] is False
    assert report["code"] == "authentication_failed"
    assert wrong not in done.stdout + done.stderr


# --- OAuth access tokens (XOAUTH2) ------------------------------------------------------


@pytest.fixture(scope="module")
def oauth_server() -> Iterator[LocalOAuthServer]:
    with LocalOAuthServer(free_port()) as server:
        yield server


@pytest.fixture(scope="module")
def oauth_sandbox(oauth_server: LocalOAuthServer) -> Iterator[MailSandbox]:
    """A sandbox of its own: Dovecot must know the introspection endpoint when it starts."""
    # Under /tmp: Dovecot's and Postfix's unprivileged processes must reach its files.
    workdir = Path(tempfile.mkdtemp(prefix="mailroom-diag-oauth-"))
    try:
        with MailSandbox(
            workdir, oauth_introspection_url=oauth_server.introspection_url
        ) as sandbox:
            yield sandbox
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def oauth_settings(
    sandbox: Any, protocol: str, port: int, security: str, token: str
) -> ConnectionSettings:
    return ConnectionSettings.model_validate(
        {
            "protocol": protocol,
            "host": sandbox.host,
            "port": port,
            "security": security,
            "username": DEMO,
            "oauth_access_token": SecretStr(token),
            "ca_pem": sandbox.ca_pem,
            "email": DEMO,
        }
    )


OAUTH_CASES = [
    ("imap", "imaps_port", "ssl"),
    ("imap", "imap_port", "starttls"),
    ("smtp", "submission_port", "starttls"),
    ("smtp", "smtps_port", "ssl"),
]


@pytest.mark.parametrize(("protocol", "port_name", "security"), OAUTH_CASES)
async def test_oauth_access_token_passes_every_stage(
    oauth_sandbox: MailSandbox,
    oauth_server: LocalOAuthServer,
    protocol: str,
    port_name: str,
    security: str,
) -> None:
    token = oauth_server.issue(DEMO).access_token
    port = getattr(oauth_sandbox, port_name)
    report = await run(oauth_settings(oauth_sandbox, protocol, port, security, token))
    assert_passed(report, IMAP_STAGES if protocol == "imap" else OTHER_STAGES)
    assert token not in report.model_dump_json()


# Dovecot delays each login from an address after a failed one, more with each failure
# (its auth penalty), and Postfix gives up on a slow answer with a temporary 454: so
# one rejected token per protocol, after the accepted ones.
@pytest.mark.parametrize(
    ("protocol", "port_name", "security"),
    [("imap", "imap_port", "starttls"), ("smtp", "submission_port", "starttls")],
)
async def test_rejected_oauth_token_is_authentication_failed_not_a_hang(
    oauth_sandbox: MailSandbox, protocol: str, port_name: str, security: str
) -> None:
    rejected = "never-issued-token-5d41402a"
    port = getattr(oauth_sandbox, port_name)
    # A hang on the server's error challenge would end in the `timeout` code instead.
    report = await run(oauth_settings(oauth_sandbox, protocol, port, security, rejected))
    assert report.code == "authentication_failed", report.model_dump_json(indent=2)
    assert report.stages[-1].stage == "auth"
    assert rejected not in report.model_dump_json()
