"""The `mailroom` command: run a service, the whole local platform, or an operator tool.

Each sub-command lives in its own module under `mailroom.cli` and exposes
`register(subparsers)`, which adds its parser and sets `handler` to a function
`(args: argparse.Namespace) -> int` returning the exit status.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence

# Modules under mailroom.cli that contribute sub-commands, in help order.
COMMAND_MODULES = ("services", "up", "tenant", "check", "bounce", "schemas", "keys")

# Which modules a first argument needs: only those are imported, so a quick tool
# such as `mailroom bounce classify` does not pay for every other command's imports.
MODULES_FOR_COMMAND = {
    "api": ("services",),
    "sender": ("services",),
    "watcher": ("services",),
    "oauth-refresh": ("services",),
    "bounce": ("services", "bounce"),
    "up": ("up",),
    "tenant": ("tenant",),
    "check": ("check",),
    "schemas": ("schemas",),
    "keys": ("keys",),
}


def build_parser(modules: Sequence[str] = COMMAND_MODULES) -> argparse.ArgumentParser:
    import argparse
    import importlib

    parser = argparse.ArgumentParser(
        prog="mailroom",
        description="Mailroom: connect mailboxes, send, watch replies, catch bounces.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in modules:
        try:
            module = importlib.import_module(f"mailroom.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"mailroom.cli.{name}":
                continue
            raise
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:2] == ["bounce", "classify"]:
        # Scripts run this once per batch of files: building the whole parser
        # would cost as much as classifying the batch.
        from mailroom.cli.bounce import classify_without_parser

        quick_status = classify_without_parser(arguments[2:], whole_process=argv is None)
        if quick_status is not None:
            return quick_status
    modules = (
        MODULES_FOR_COMMAND.get(arguments[0], COMMAND_MODULES) if arguments else COMMAND_MODULES
    )
    args = build_parser(modules).parse_args(arguments)
    status: int = args.handler(args)
    return status


if __name__ == "__main__":
    sys.exit(main())
