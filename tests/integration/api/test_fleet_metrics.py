"""`mailroom_mailboxes{state}`: the API counts stored mailboxes by state on a real MongoDB."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from mailroom.api.fleet import (
    MAILBOX_STATES,
    FleetMetrics,
    export_mailbox_states,
    refresh_mailbox_states,
)
from mailroom.api.main import serve
from mailroom.api.settings import ApiSettings
from mailroom.localinfra.ports import free_port
from mailroom.shared.collections import MAILBOXES
from mailroom.shared.crypto import generate_key
from mailroom.shared.metrics import new_registry
from mailroom.shared.settings import load_settings
from mailroom.shared.store import Store

pytestmark = pytest.mark.integration

STORED_STATES = {"connected": 3, "auth_failed": 2, "degraded": 1, "pending": 1}


@pytest.fixture
async def store(mongo_url: str, mongo_db_name: str) -> AsyncIterator[Store]:
    store = Store(mongo_url, mongo_db_name, app_name="api-test")
    await store.connect()
    yield store
    await store.close()


async def insert_mailboxes(store: Store, counts: dict[str, int]) -> None:
    documents = [
        {"_id": f"mb-{state}-{n}", "tenant_id": f"tenant-{n % 2}", "state": state}
        for state, count in counts.items()
        for n in range(count)
    ]
    await store.collection(MAILBOXES).insert_many(documents)


def gauge(registry: CollectorRegistry, state: str) -> float | None:
    return registry.get_sample_value("mailroom_mailboxes", {"state": state})


async def test_one_refresh_sets_every_state(store: Store) -> None:
    await insert_mailboxes(store, STORED_STATES)
    registry = new_registry()

    counts = await refresh_mailbox_states(store, FleetMetrics(registry))

    for state in MAILBOX_STATES:
        expected = STORED_STATES.get(state, 0)
        assert counts[state] == expected
        assert gauge(registry, state) == expected


async def test_an_empty_collection_exports_zeros(store: Store) -> None:
    registry = new_registry()

    await refresh_mailbox_states(store, FleetMetrics(registry))

    assert {state: gauge(registry, state) for state in MAILBOX_STATES} == dict.fromkeys(
        MAILBOX_STATES, 0.0
    )


async def test_a_state_change_shows_at_the_next_refresh(store: Store) -> None:
    await insert_mailboxes(store, {"auth_failed": 2})
    registry = new_registry()
    metrics = FleetMetrics(registry)
    await refresh_mailbox_states(store, metrics)

    await store.collection(MAILBOXES).update_one(
        {"_id": "mb-auth_failed-0"}, {"$set": {"state": "connected"}}
    )
    await refresh_mailbox_states(store, metrics)

    assert gauge(registry, "auth_failed") == 1
    assert gauge(registry, "connected") == 1


async def test_the_export_loop_refreshes_then_stops(store: Store) -> None:
    await insert_mailboxes(store, {"needs_attention": 1})
    registry = new_registry()
    stop = asyncio.Event()
    loop = asyncio.create_task(export_mailbox_states(store, FleetMetrics(registry), stop))

    async with asyncio.timeout(10):
        while gauge(registry, "needs_attention") != 1:
            await asyncio.sleep(0.05)
        stop.set()
        await loop


def scraped_mailboxes(exposition: str) -> dict[str, float]:
    return {
        sample.labels["state"]: sample.value
        for family in text_string_to_metric_families(exposition)
        if family.name == "mailroom_mailboxes"
        for sample in family.samples
    }


async def test_the_running_api_serves_the_gauge_on_metrics(
    store: Store, rabbitmq_url: str, mongo_url: str, mongo_db_name: str, bus_namespace: str
) -> None:
    await insert_mailboxes(store, STORED_STATES)
    port = free_port()
    settings = load_settings(
        ApiSettings,
        amqp_url=rabbitmq_url,
        mongo_url=mongo_url,
        mongo_db=mongo_db_name,
        bus_namespace=bus_namespace,
        encryption_keys=f"k1:{generate_key()}",
        http_host="127.0.0.1",
        http_port=port,
    )
    stop = asyncio.Event()
    service = asyncio.create_task(serve(settings, stop))
    scraped: dict[str, float] = {}
    try:
        async with asyncio.timeout(30), httpx.AsyncClient() as client:
            while scraped.get("auth_failed") != STORED_STATES["auth_failed"]:
                if service.done():
                    service.result()  # raises what stopped it
                try:
                    response = await client.get(f"http://127.0.0.1:{port}/metrics")
                    scraped = scraped_mailboxes(response.text)
                except httpx.TransportError:
                    pass  # not listening yet
                await asyncio.sleep(0.1)
    finally:
        stop.set()
        await service

    assert scraped == {state: float(STORED_STATES.get(state, 0)) for state in MAILBOX_STATES}
