"""Tenants and their API keys.

A key is shown once, when it is made (`mailroom tenant create`); only its
SHA-256 is stored. The key holds 256 random bits, so a plain hash is enough to
make a leaked `api_keys` collection useless (no salt or slow hash needed, as
there is nothing to guess).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pymongo.errors import DuplicateKeyError

from mailroom.shared.collections import API_KEYS, TENANTS
from mailroom.shared.store import Store

KEY_PREFIX = "mr_"


class TenantExists(Exception):
    """A tenant with this name already exists."""


@dataclass(frozen=True)
class Tenant:
    id: str
    name: str
    created_at: datetime


def new_api_key() -> str:
    """A fresh key: `mr_` and 43 URL-safe characters (256 bits)."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(10)}"


async def create_tenant(store: Store, name: str) -> tuple[Tenant, str]:
    """Create a tenant and its first API key; returns the key in clear, the only time."""
    now = datetime.now(UTC)
    tenant = Tenant(id=_new_id("tnt"), name=name, created_at=now)
    try:
        await store.collection(TENANTS).insert_one(
            {"_id": tenant.id, "name": name, "created_at": now}
        )
    except DuplicateKeyError:
        raise TenantExists(name) from None
    key = await create_api_key(store, tenant.id)
    return tenant, key


async def create_api_key(store: Store, tenant_id: str) -> str:
    key = new_api_key()
    await store.collection(API_KEYS).insert_one(
        {
            "_id": _new_id("key"),
            "tenant_id": tenant_id,
            "key_hash": hash_api_key(key),
            # Enough to tell keys apart in a listing, far too little to guess the rest.
            "key_hint": key[: len(KEY_PREFIX) + 4],
            "created_at": datetime.now(UTC),
            "revoked_at": None,
        }
    )
    return key


async def list_tenants(store: Store) -> list[Tenant]:
    docs = await store.collection(TENANTS).find({}).sort("name", 1).to_list(None)
    return [Tenant(id=d["_id"], name=d["name"], created_at=d["created_at"]) for d in docs]


async def tenant_for_key(store: Store, key: str) -> str | None:
    """The tenant id an API key belongs to, or None for an unknown or revoked key."""
    if not key.startswith(KEY_PREFIX) or len(key) > 200:
        return None
    doc: dict[str, Any] | None = await store.collection(API_KEYS).find_one(
        {"key_hash": hash_api_key(key), "revoked_at": None}, {"tenant_id": 1}
    )
    return str(doc["tenant_id"]) if doc else None
