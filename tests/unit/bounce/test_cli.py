"""`mailroom bounce classify`: the JSON line shape evaluation tools depend on."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailroom.cli import bounce, services
from mailroom.cli.main import main

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


def _sample_files(tmp_path: Path) -> list[str]:
    paths = []
    for name in ("POSTFIX_DSN", "EXIM_TEXT", "OUT_OF_OFFICE", "GARBLED_MIME"):
        path = tmp_path / f"{name.lower()}.eml"
        path.write_bytes(getattr(samples, name))
        paths.append(str(path))
    return paths


@pytest.mark.parametrize(
    "options",
    [([], []), (["--json-details"], []), ([], ["--json-details"])],
    ids=["plain", "details-first", "details-last"],
)
def test_the_quick_path_prints_what_the_parser_path_prints(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    options: tuple[list[str], list[str]],
) -> None:
    before, after = options
    arguments = [*before, *_sample_files(tmp_path), *after]
    args = _parser().parse_args(["bounce", "classify", *arguments])
    parser_status = args.handler(args)
    parser_output = capsys.readouterr().out

    quick_status = bounce.classify_without_parser(arguments)

    assert quick_status == parser_status == 0
    assert capsys.readouterr().out == parser_output


@pytest.mark.parametrize(
    "arguments",
    [[], ["-h"], ["--help"], ["--json"], ["--", "a.eml"], ["a.eml", "--json-details", "b.eml"]],
)
def test_the_quick_path_leaves_everything_else_to_the_parser(arguments: list[str]) -> None:
    assert bounce.classify_without_parser(arguments) is None


def test_main_classifies_without_building_the_parser(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from mailroom.cli.main import main\n"
        "status = main(['bounce', 'classify', *sys.argv[1:]])\n"
        "print('argparse' in sys.modules, status, file=sys.stderr)\n"
    )
    paths = _sample_files(tmp_path)

    done = subprocess.run(
        [sys.executable, "-c", script, *paths], capture_output=True, text=True, check=True
    )

    assert done.stderr.split() == ["False", "0"]
    assert [json.loads(line)["file"] for line in done.stdout.splitlines()][-1] == paths[-1]


def test_main_still_reports_usage_errors_through_the_parser(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["bounce", "classify", "--no-such-option", "a.eml"])

    assert exit_info.value.code == 2
    assert "unrecognized arguments" in capsys.readouterr().err


@given(
    st.dictionaries(
        st.text(max_size=8),
        st.one_of(st.none(), st.booleans(), st.text()),
        max_size=6,
    )
)
def test_json_lines_are_what_json_writes(fields: dict[str, str | bool | None]) -> None:
    assert bounce.json_line(fields) == json.dumps(fields, ensure_ascii=False)


def test_other_values_still_go_through_json() -> None:
    fields = {"file": "a.eml", "smtp_code": 550, "score": 0.5}

    assert bounce.json_line(fields) == json.dumps(fields, ensure_ascii=False)


def test_run_as_a_program_it_writes_every_line_before_it_exits(tmp_path: Path) -> None:
    missing = str(tmp_path / "missing.eml")
    paths = _sample_files(tmp_path)

    done = subprocess.run(
        [sys.executable, "-m", "mailroom.cli", "bounce", "classify", missing, *paths],
        capture_output=True,
        text=True,
    )

    assert done.returncode == 1  # the missing file
    assert missing in done.stderr
    printed = [json.loads(line)["file"] for line in done.stdout.splitlines()]
    assert list(dict.fromkeys(printed)) == paths


def test_a_reader_that_goes_away_gets_no_traceback(tmp_path: Path) -> None:
    # far more output than a pipe holds, so the writer must meet the closed end
    paths = _sample_files(tmp_path) * 500
    command = [sys.executable, "-m", "mailroom.cli", "bounce", "classify", *paths]

    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as process:
        assert process.stdout is not None and process.stderr is not None
        process.stdout.readline()
        process.stdout.close()  # as `| head -1` does
        errors = process.stderr.read()

    assert process.returncode == 1
    assert errors == b""
