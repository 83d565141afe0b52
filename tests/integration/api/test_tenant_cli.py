"""`mailroom tenant create` prints a key once and stores only its hash."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mailroom.api.tenants import hash_api_key, tenant_for_key
from mailroom.shared.collections import API_KEYS
from mailroom.shared.store import Store

pytestmark = pytest.mark.integration


def mailroom(args: list[str], mongo_url: str, db: str) -> subprocess.CompletedProcess[str]:
    cli = Path(sys.executable).with_name("mailroom")
    env = {**os.environ, "MAILROOM_MONGO_URL": mongo_url, "MAILROOM_MONGO_DB": db}
    return subprocess.run(
        [str(cli), *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


async def test_create_prints_the_key_once_and_stores_its_hash(
    mongo_url: str, mongo_db_name: str
) -> None:
    created = mailroom(["tenant", "create", "Acme", "--json"], mongo_url, mongo_db_name)
    assert created.returncode == 0, created.stderr
    output = json.loads(created.stdout)
    key = output["api_key"]
    assert key.startswith("mr_")

    store = Store(mongo_url, mongo_db_name, app_name="test")
    try:
        stored = await store.collection(API_KEYS).find({}).to_list(None)
        assert len(stored) == 1
        assert stored[0]["key_hash"] == hash_api_key(key)
        assert key not in json.dumps(stored, default=str)
        assert await tenant_for_key(store, key) == output["tenant_id"]
    finally:
        await store.close()

    again = mailroom(["tenant", "create", "Acme"], mongo_url, mongo_db_name)
    assert again.returncode == 1
    assert "already exists" in again.stdout
    listed = mailroom(["tenant", "list"], mongo_url, mongo_db_name)
    assert listed.returncode == 0
    assert "Acme" in listed.stdout
    assert key not in listed.stdout
