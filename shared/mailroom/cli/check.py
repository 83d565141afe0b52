"""`mailroom check smtp|imap|pop3`: the connection test, from an operator's terminal.

The same diagnostics as the API's connection test, printed stage by stage as
they complete (or, with `--json`, one JSON object at the end). Exit status 0 only
when every stage passed. Run on the operator's own machine, it may reach private
and loopback addresses. This interface is stable: scripts and checks rely on it.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import os
from pathlib import Path

from pydantic import SecretStr

from mailroom.shared.mailconn.diagnose import (
    ConnectionSettings,
    DiagnosisReport,
    StageResult,
    diagnose,
)

PASSWORD_ENV = "MAILROOM_PASSWORD"  # noqa: S105 - the variable's name, not a password


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "check",
        help="test a connection to an SMTP, IMAP or POP3 server, stage by stage",
        description=(
            "Run Mailroom's connection test against a mail server. The password comes "
            f"from ${PASSWORD_ENV}, else a prompt. Exit status 0 only when every stage passed."
        ),
    )
    parser.add_argument("protocol", choices=("smtp", "imap", "pop3"))
    parser.add_argument("--host", required=True, help="server host name or address")
    parser.add_argument("--port", required=True, type=int, help="server port")
    parser.add_argument(
        "--security", required=True, choices=("ssl", "starttls", "none"), help="TLS mode"
    )
    parser.add_argument("--user", required=True, help="login user name (often the address)")
    parser.add_argument(
        "--ca-file", type=Path, help="PEM file with a CA certificate to trust for this server"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object only")
    parser.add_argument(
        "--timeout", type=float, default=15.0, help="seconds for the whole test (default 15)"
    )
    parser.add_argument(
        "--no-verify", action="store_true", help="do not verify the server certificate (unsafe)"
    )
    parser.set_defaults(handler=run_check)


def run_check(args: argparse.Namespace) -> int:
    """Build the settings from the arguments, run the test, print it, return the exit status."""
    password = os.environ.get(PASSWORD_ENV)
    if password is None:
        password = getpass.getpass(f"Password for {args.user}: ")
    ca_pem = args.ca_file.read_text() if args.ca_file else None
    settings = ConnectionSettings(
        protocol=args.protocol,
        host=args.host,
        port=args.port,
        security=args.security,
        username=args.user,
        password=SecretStr(password),
        ca_pem=ca_pem,
        verify_tls=not args.no_verify,
    )
    on_stage = None if args.json else print_stage
    report = asyncio.run(
        diagnose(settings, timeout_s=args.timeout, allow_private=True, on_stage=on_stage)
    )
    if args.json:
        print(json.dumps(report_as_json(report)))
    else:
        print("PASSED: every stage passed." if report.ok else f"FAILED: {report.code}")
    return 0 if report.ok else 1


def report_as_json(report: DiagnosisReport) -> dict[str, object]:
    """`{"ok": bool, "code": CODE|null, "stages": [...]}` — the stable JSON shape."""
    return {
        "ok": report.ok,
        "code": report.code,
        "stages": [stage.model_dump() for stage in report.stages],
    }


def print_stage(stage: StageResult) -> None:
    """One human line per stage, and a second one with the hint when a stage failed."""
    mark = "✓" if stage.ok else "✗"
    line = f"{mark} {stage.stage:<12} {stage.elapsed_ms:>5} ms  "
    if stage.ok:
        line += stage.message or ""
        if stage.server_says:
            line += f"  [{_one_line(stage.server_says, 80)}]"
    else:
        line += f"{stage.code}: {stage.message}"
        if stage.server_says:
            line += f"\n      server says: {_one_line(stage.server_says, 200)}"
    if stage.hint:
        line += f"\n      hint: {stage.hint}"
    print(line, flush=True)


def _one_line(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
