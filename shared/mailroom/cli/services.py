"""`mailroom api|sender|watcher|bounce|oauth-refresh`: run one service in the foreground."""

from __future__ import annotations

import argparse
import importlib

# Sub-command → the module whose `main()` runs that service.
SERVICES: dict[str, str] = {
    "api": "mailroom.api.main",
    "sender": "mailroom.sender.main",
    "watcher": "mailroom.watcher.main",
    "bounce": "mailroom.bounce.main",
    "oauth-refresh": "mailroom.oauth_refresh.main",
}

_HELP = {
    "api": "HTTP API: mailboxes, connection tests, OAuth connect, send requests",
    "sender": "deliver send requests over SMTP",
    "watcher": "watch mailboxes over IMAP/POP3 for replies and bounces",
    "bounce": "classify bounces, mark contacts, keep the suppression list",
    "oauth-refresh": "refresh OAuth tokens before they expire",
}


def _run(args: argparse.Namespace) -> int:
    module = importlib.import_module(SERVICES[args.command])
    status: int = module.main()
    return status


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    for name in SERVICES:
        parser = subparsers.add_parser(
            name, help=_HELP[name], description=f"Run the {name} service (settings: MAILROOM_*)."
        )
        parser.set_defaults(handler=_run)
