"""Diagnosis stages that need no mail server: DNS, the SSRF guard, a closed port, secrets."""

from __future__ import annotations

import socket

from pydantic import SecretStr

from mailroom.shared.mailconn.diagnose import ConnectionSettings, StageResult, diagnose
from mailroom.shared.mailconn.tls import client_ssl_context


def _settings(host: str, port: int, password: str = "not-a-real-pass") -> ConnectionSettings:  # noqa: S107
    return ConnectionSettings(
        protocol="imap",
        host=host,
        port=port,
        security="ssl",
        username="demo@example.com",
        password=SecretStr(password),
    )


async def test_unknown_host_is_dns_not_found() -> None:
    report = await diagnose(_settings("no-such-host.invalid", 993), allow_private=True)
    assert not report.ok
    assert report.code == "dns_not_found"
    assert [s.stage for s in report.stages] == ["dns"]


async def test_loopback_is_refused_unless_allowed() -> None:
    report = await diagnose(_settings("127.0.0.1", 993))
    assert report.code == "invalid_server_or_port"
    assert report.stages[0].stage == "dns"
    assert report.stages[0].hint is not None and "loopback" in report.stages[0].hint


async def test_closed_port_is_invalid_server_or_port_and_hides_the_password() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free_port = probe.getsockname()[1]
    seen: list[StageResult] = []
    report = await diagnose(
        _settings("127.0.0.1", free_port, password="hunter2-Zq"),
        allow_private=True,
        on_stage=seen.append,
    )
    assert report.code == "invalid_server_or_port"
    assert [s.stage for s in report.stages] == ["dns", "tcp"]
    assert seen == report.stages
    assert "hunter2-Zq" not in report.model_dump_json()


def test_ssl_context_verifies_by_default_and_only_skips_when_asked() -> None:
    import ssl

    assert client_ssl_context(None).verify_mode == ssl.CERT_REQUIRED
    assert client_ssl_context(None).check_hostname
    relaxed = client_ssl_context(None, verify=False)
    assert relaxed.verify_mode == ssl.CERT_NONE
    assert not relaxed.check_hostname
