"""`mailroom bounce classify`: the JSON line shape evaluation tools depend on."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from mailroom.cli import bounce, services

from . import samples


def _parser() -> argparse.ArgumentParser:
    """The `mailroom` parser with the modules this command shares a name with."""
    parser = argparse.ArgumentParser(prog="mailroom")
    subparsers = parser.add_subparsers(dest="command", required=True)
    services.register(subparsers)  # `mailroom bounce` alone runs the service
    bounce.register(subparsers)
    return parser


def _run(
    paths: list[str], capsys: pytest.CaptureFixture[str]
) -> tuple[int, list[dict[str, object]], str]:
    args = _parser().parse_args(["bounce", "classify", *paths])
    status: int = args.handler(args)
    captured = capsys.readouterr()
    return status, [json.loads(line) for line in captured.out.splitlines()], captured.err


def test_bounce_alone_still_runs_the_service() -> None:
    args = _parser().parse_args(["bounce"])

    assert args.handler is not bounce._classify_command


def test_one_line_per_recipient_and_non_bounces(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dsn = tmp_path / "dsn.eml"
    dsn.write_bytes(samples.POSTFIX_DSN)
    reply = tmp_path / "reply.eml"
    reply.write_bytes(samples.NORMAL_REPLY)

    status, lines, _ = _run([str(dsn), str(reply)], capsys)

    assert status == 0
    assert lines == [
        {
            "file": str(dsn),
            "recipient": "ghost@receiver.test",
            "kind": "hard",
            "reason": "userunknown",
            "status": "5.1.1",
        },
        {
            "file": str(dsn),
            "recipient": "full@receiver.test",
            "kind": "soft",
            "reason": "mailboxfull",
            "status": "5.2.2",
        },
        {"file": str(reply), "bounce": False},
    ]
    assert list(lines[0]) == ["file", "recipient", "kind", "reason", "status"]


def test_unreadable_file_is_reported_and_the_rest_still_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "exim.eml"
    good.write_bytes(samples.EXIM_TEXT)
    missing = tmp_path / "missing.eml"

    status, lines, err = _run([str(missing), str(good)], capsys)

    assert status == 1
    assert str(missing) in err
    assert [line["recipient"] for line in lines] == ["nobody@receiver.test"]
