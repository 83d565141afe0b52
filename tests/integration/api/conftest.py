"""The API in-process (httpx over ASGI) on a real MongoDB and RabbitMQ, with two tenants."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from mailroom.api.app import create_app
from mailroom.api.settings import ApiSettings
from mailroom.api.tenants import create_tenant
from mailroom.shared.bus import Bus
from mailroom.shared.collections import INDEXES
from mailroom.shared.crypto import generate_key
from mailroom.shared.metrics import BusMetrics, new_registry
from mailroom.shared.runtime import Platform
from mailroom.shared.settings import load_settings
from mailroom.shared.store import Store


@dataclass
class Api:
    """The running app and what it is connected to."""

    app: FastAPI
    client: httpx.AsyncClient
    store: Store
    bus: Bus
    settings: ApiSettings
    tenant_a: str
    key_a: str
    tenant_b: str
    key_b: str

    def as_user(self, key: str, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}", "X-Mailroom-User": user}

    @property
    def alice(self) -> dict[str, str]:
        """User alice of tenant A."""
        return self.as_user(self.key_a, "alice")

    @property
    def bob(self) -> dict[str, str]:
        """User bob of tenant A."""
        return self.as_user(self.key_a, "bob")

    @property
    def mallory(self) -> dict[str, str]:
        """A user of tenant B."""
        return self.as_user(self.key_b, "mallory")


@pytest.fixture
def encryption_keys() -> str:
    return f"k1:{generate_key()}"


@pytest.fixture
def allow_private_targets() -> bool:
    """The sandbox's servers are on loopback; a test may turn the SSRF guard back on."""
    return True


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """Extra ApiSettings values; a test module may override this fixture."""
    return {}


@pytest.fixture
async def api(
    rabbitmq_url: str,
    mongo_url: str,
    mongo_db_name: str,
    bus_namespace: str,
    encryption_keys: str,
    allow_private_targets: bool,
    settings_overrides: dict[str, Any],
) -> AsyncIterator[Api]:
    settings = load_settings(
        ApiSettings,
        amqp_url=rabbitmq_url,
        mongo_url=mongo_url,
        mongo_db=mongo_db_name,
        bus_namespace=bus_namespace,
        encryption_keys=encryption_keys,
        allow_private_targets=allow_private_targets,
        **{
            "connection_test_timeout_s": 15,
            "round_trip_timeout_s": 30,
            "discover_budget_s": 6,
            **settings_overrides,
        },
    )
    registry = new_registry()
    app = create_app(settings, registry)
    store = Store(mongo_url, mongo_db_name, app_name="api-test")
    await store.connect()
    await store.ensure_indexes(INDEXES)
    bus = Bus(rabbitmq_url, namespace=bus_namespace, service="api", metrics=BusMetrics(registry))
    await bus.connect()
    app.state.platform = Platform(bus, store, registry, {})
    tenant_a, key_a = await create_tenant(store, "Tenant A")
    tenant_b, key_b = await create_tenant(store, "Tenant B")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as client:
        yield Api(app, client, store, bus, settings, tenant_a.id, key_a, tenant_b.id, key_b)
    await bus.close()
    await store.close()
