"""`mailroom tenant create NAME` and `mailroom tenant list`: tenants and their API keys.

`create` prints the new tenant's API key once; only its hash is stored, so a
lost key is replaced, never recovered. Reads MAILROOM_MONGO_URL and
MAILROOM_MONGO_DB like the services.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re

from mailroom.api.tenants import TenantExists, create_tenant, list_tenants
from mailroom.shared.collections import INDEXES, RETIRED_INDEXES
from mailroom.shared.settings import CommonSettings, load_settings
from mailroom.shared.store import Store

_NAME = re.compile(r"[^\x00-\x1f\x7f]{1,200}")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("tenant", help="create and list tenants (API keys)")
    actions = parser.add_subparsers(dest="tenant_command", metavar="ACTION", required=True)
    create = actions.add_parser(
        "create", help="create a tenant and print its API key (shown only this once)"
    )
    create.add_argument("name", help="the tenant's unique name")
    create.add_argument("--json", action="store_true", help="print one JSON object")
    create.set_defaults(handler=run_create)
    listing = actions.add_parser("list", help="list tenants (never their keys)")
    listing.add_argument("--json", action="store_true", help="print one JSON object per line")
    listing.set_defaults(handler=run_list)


def _store() -> Store:
    settings = load_settings(CommonSettings)
    return Store(settings.mongo_url.get_secret_value(), settings.mongo_db, app_name="cli")


def run_create(args: argparse.Namespace) -> int:
    name = args.name.strip()
    if not _NAME.fullmatch(name):
        print("mailroom tenant create: NAME must be 1-200 printable characters")
        return 2

    async def create() -> int:
        store = _store()
        try:
            await store.connect()
            await store.ensure_indexes(INDEXES, RETIRED_INDEXES)
            try:
                tenant, key = await create_tenant(store, name)
            except TenantExists:
                print(f"mailroom tenant create: a tenant named {name!r} already exists")
                return 1
        finally:
            await store.close()
        if args.json:
            print(json.dumps({"tenant_id": tenant.id, "name": tenant.name, "api_key": key}))
        else:
            print(f"tenant {tenant.id} ({tenant.name}) created")
            print(f"API key (shown only now; store it safely): {key}")
        return 0

    return asyncio.run(create())


def run_list(args: argparse.Namespace) -> int:
    async def listing() -> int:
        store = _store()
        try:
            await store.connect()
            tenants = await list_tenants(store)
        finally:
            await store.close()
        for tenant in tenants:
            if args.json:
                print(
                    json.dumps(
                        {
                            "tenant_id": tenant.id,
                            "name": tenant.name,
                            "created_at": tenant.created_at.isoformat(),
                        }
                    )
                )
            else:
                print(f"{tenant.id}\t{tenant.name}\t{tenant.created_at:%Y-%m-%d %H:%M}")
        return 0

    return asyncio.run(listing())
