"""`mailroom bounce classify FILE...`: classify saved messages, one JSON line per bounced recipient.

For each file: one line `{"file", "recipient", "kind", "reason", "status"}` per
failed recipient, or `{"file", "bounce": false}` when the message is not a bounce.
The output shape is fixed: evaluation tools read it.
"""

from __future__ import annotations

import gc
import os
import sys

from mailroom.bounce.classifier import Classification, classify_message

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence
    from typing import Any, Final, TextIO

_DETAILS_OPTION = "--json-details"

# What a JSON string must escape (RFC 8259, section 7), written as `json.dumps` writes it.
_JSON_ESCAPES: Final = {
    **{code: f"\\u{code:04x}" for code in range(0x20)},
    ord('"'): '\\"',
    ord("\\"): "\\\\",
    ord("\b"): "\\b",
    ord("\f"): "\\f",
    ord("\n"): "\\n",
    ord("\r"): "\\r",
    ord("\t"): "\\t",
}
_JSON_LITERALS: Final = {None: "null", True: "true", False: "false"}


def result_lines(path: str, result: Classification, details: bool = False) -> list[dict[str, Any]]:
    """The JSON objects printed for one classified file, in output order."""
    if not result.is_bounce:
        line: dict[str, Any] = {"file": path, "bounce": False}
        if details:
            line.update(category=result.category, problem=result.problem)
        return [line]
    if not result.recipients:
        line = {"file": path, "recipient": None, "kind": "unknown", "reason": "undefined"}
        line["status"] = None
        if details:
            line.update(problem=result.problem, original_message_id=result.original_message_id)
        return [line]
    lines = []
    for recipient in result.recipients:
        line = {
            "file": path,
            "recipient": recipient.recipient,
            "kind": recipient.kind,
            "reason": recipient.reason,
            "status": recipient.status,
        }
        if details:
            extra = recipient.as_dict()
            for key in ("recipient", "kind", "reason", "status"):
                extra.pop(key)
            line.update(extra, original_message_id=result.original_message_id)
        lines.append(line)
    return lines


def classify_files(paths: Sequence[str], out: TextIO, err: TextIO, details: bool = False) -> int:
    """Classify each file, printing as it goes; 1 if any file could not be read."""
    status = 0
    for path in paths:
        try:
            with open(path, "rb") as handle:
                raw = handle.read()
        except OSError as exc:
            print(f"{path}: cannot read: {exc.strerror or exc}", file=err)
            status = 1
            continue
        lines = result_lines(path, classify_message(raw), details)
        out.write("".join(json_line(line) + "\n" for line in lines))
    return status


def json_line(fields: dict[str, Any]) -> str:
    """`json.dumps(fields, ensure_ascii=False)`.

    The plain output holds only strings, booleans and nulls, which are written
    here: importing `json` (and the patterns it compiles) costs a short batch
    more than writing all its lines. Anything else goes through `json`.
    """
    pieces = []
    for name, value in fields.items():
        if isinstance(value, str):
            text = _json_string(value)
        elif value is None or isinstance(value, bool):
            text = _JSON_LITERALS[value]
        else:
            import json

            return json.dumps(fields, ensure_ascii=False)
        pieces.append(f"{_json_string(name)}: {text}")
    return "{" + ", ".join(pieces) + "}"


def _json_string(text: str) -> str:
    if '"' in text or "\\" in text or not text.isprintable():
        # isprintable() is False for every control character (and for some
        # others, which translate leaves as they are)
        text = text.translate(_JSON_ESCAPES)
    return f'"{text}"'


def classify_without_parser(arguments: Sequence[str], whole_process: bool = False) -> int | None:
    """`bounce classify` straight from its arguments, for `mailroom.cli.main`'s quick path.

    Takes the plain form (files, with `--json-details` before or after them) and
    returns the exit status; returns None for anything else (help, other or
    abbreviated options, `--`, no file), which the full parser then handles with
    its usual messages. With `whole_process` (the command was run as a program),
    the process ends as soon as the batch is classified and its output flushed.
    """
    files = list(arguments)
    details = False
    while files and files[0] == _DETAILS_OPTION:
        files.pop(0)
        details = True
    while files and files[-1] == _DETAILS_OPTION:
        files.pop()
        details = True
    if not files or any(name.startswith("-") for name in files):
        return None
    if not whole_process:
        return classify_files(files, sys.stdout, sys.stderr, details)
    # Scripts run this once per batch of files, so start-up and shutdown weigh as
    # much as classifying: a run this short leaves no cycles for the collector to
    # free, and interpreter teardown (freeing every module and object one by one)
    # costs about 5% of a batch with nothing left to clean up.
    gc.disable()
    try:
        status = classify_files(files, sys.stdout, sys.stderr, details)
        sys.stdout.flush()
    except BrokenPipeError:
        status = 1  # the reader went away (`... | head`): stop quietly, as pipelines expect
    except OSError as exc:  # a full disk: the output is incomplete
        print(f"cannot write the results: {exc.strerror or exc}", file=sys.stderr)
        status = 1
    os._exit(status)  # stderr needs no flush: it is line-buffered


def _classify_command(args: argparse.Namespace) -> int:
    return classify_files(args.files, sys.stdout, sys.stderr, args.json_details)


def _bounce_help(parser: argparse.ArgumentParser) -> Any:
    def show(args: argparse.Namespace) -> int:
        parser.print_help()
        return 2

    return show


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    import argparse

    # `mailroom bounce` may already exist (it runs the bounce service); the tools
    # become its sub-commands and `mailroom bounce` alone keeps its meaning.
    parser = subparsers.choices.get("bounce")
    if parser is None:
        parser = subparsers.add_parser("bounce", help="bounce tools")
        parser.set_defaults(handler=_bounce_help(parser))
    tools = parser.add_subparsers(dest="bounce_command", metavar="TOOL")
    classify = tools.add_parser(
        "classify",
        help="classify saved messages (.eml) as bounces: one JSON line per failed recipient",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    classify.add_argument("files", nargs="+", metavar="FILE", help="raw message files")
    classify.add_argument(
        _DETAILS_OPTION,
        action="store_true",
        help="add diagnostic, remote MTA, action, SMTP code and original Message-ID",
    )
    classify.set_defaults(handler=_classify_command)
