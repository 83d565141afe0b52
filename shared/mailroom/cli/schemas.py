"""`mailroom schemas export [DIR]`: write the bus contracts as JSON Schema files."""

from __future__ import annotations

import argparse
from pathlib import Path

from mailroom.shared.contracts import export_json_schemas


def _export(args: argparse.Namespace) -> int:
    directory = Path(args.directory)
    for path in export_json_schemas(directory):
        print(path)
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("schemas", help="export the bus contracts as JSON Schema")
    actions = parser.add_subparsers(dest="schemas_command", metavar="ACTION", required=True)
    export = actions.add_parser("export", help="write one <name>.v<version>.json per message")
    export.add_argument("directory", nargs="?", default="schemas", help="target folder")
    export.set_defaults(handler=_export)
