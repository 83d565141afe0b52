"""`mailroom keys generate`: a new key-encryption key for MAILROOM_ENCRYPTION_KEYS."""

from __future__ import annotations

import argparse
import re
from datetime import UTC, datetime

from mailroom.shared.crypto import generate_key


def _generate(args: argparse.Namespace) -> int:
    kid = args.kid or datetime.now(UTC).strftime("k%Y%m%d")
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,32}", kid):
        print("mailroom keys generate: --kid must be 1-32 letters, digits, '-' or '_'")
        return 2
    print(f"{kid}:{generate_key()}")
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("keys", help="manage encryption keys")
    actions = parser.add_subparsers(dest="keys_command", metavar="ACTION", required=True)
    generate = actions.add_parser(
        "generate", help="print a new 'kid:base64key' entry (append it, then make it active)"
    )
    generate.add_argument("--kid", help="key id (default: k<YYYYMMDD>)")
    generate.set_defaults(handler=_generate)
