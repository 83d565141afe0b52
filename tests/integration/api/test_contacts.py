"""Contacts and suppressions: read what bounces recorded, lift a suppression."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mailroom.shared.collections import BOUNCES, CONTACTS, SUPPRESSIONS
from tests.integration.api.conftest import Api
from tests.integration.support.events import EventTap

pytestmark = pytest.mark.integration


async def seed(api: Api, tenant_id: str, email: str) -> None:
    now = datetime.now(UTC)
    await api.store.collection(CONTACTS).insert_one(
        {"tenant_id": tenant_id, "email": email, "state": "hard_bounced", "history": []}
    )
    await api.store.collection(SUPPRESSIONS).insert_one(
        {"tenant_id": tenant_id, "email": email, "reason": "hard_bounce", "created_at": now}
    )
    await api.store.collection(BOUNCES).insert_one(
        {
            "tenant_id": tenant_id,
            "email": email,
            "kind": "hard",
            "reason": "mailbox_unknown",
            "occurred_at": now,
            "source_event_id": f"{tenant_id}-{email}",
        }
    )


async def test_contact_shows_state_suppression_and_bounces(api: Api) -> None:
    await seed(api, api.tenant_a, "gone@example.org")
    response = await api.client.get("/v1/contacts/Gone@Example.org", headers=api.alice)
    assert response.status_code == 200, response.text
    contact = response.json()
    assert contact["state"] == "hard_bounced"
    assert contact["suppressed"] is True
    assert contact["suppression"]["reason"] == "hard_bounce"
    assert contact["bounces"][0]["reason"] == "mailbox_unknown"
    other = await api.client.get("/v1/contacts/gone@example.org", headers=api.mallory)
    assert other.status_code == 404


async def test_suppressions_are_listed_a_page_at_a_time(api: Api) -> None:
    for n in range(3):
        await seed(api, api.tenant_a, f"s{n}@example.org")
    await seed(api, api.tenant_b, "b@example.org")
    first = (await api.client.get("/v1/suppressions?limit=2", headers=api.alice)).json()
    assert [s["email"] for s in first["items"]] == ["s0@example.org", "s1@example.org"]
    second = (
        await api.client.get(
            f"/v1/suppressions?limit=2&after={first['next_after']}", headers=api.alice
        )
    ).json()
    assert [s["email"] for s in second["items"]] == ["s2@example.org"]
    assert second["next_after"] is None


async def test_lifting_a_suppression_is_recorded_in_the_history_and_announced(
    api: Api, rabbitmq_url: str
) -> None:
    await seed(api, api.tenant_a, "back@example.org")
    assert (
        await api.client.delete("/v1/suppressions/back@example.org", headers=api.mallory)
    ).status_code == 404
    async with EventTap(rabbitmq_url, api.settings.bus_namespace, ["contact.*"]) as tap:
        response = await api.client.delete("/v1/suppressions/Back@Example.org", headers=api.alice)
        [lifted] = await tap.wait_for("contact.unsuppressed")
    assert response.status_code == 204
    assert lifted["tenant_id"] == api.tenant_a
    assert lifted["email"] == "back@example.org"
    assert lifted["lifted_by"] == "alice"
    assert lifted["suppression_reason"] == "hard_bounce"
    assert len(tap.named("contact.unsuppressed")) == 1
    contact = (await api.client.get("/v1/contacts/back@example.org", headers=api.alice)).json()
    assert contact["suppressed"] is False
    assert contact["state"] == "ok"
    entry = contact["history"][-1]
    assert entry["action"] == "unsuppressed"
    assert entry["by"] == "alice"
    assert entry["suppression_reason"] == "hard_bounce"
    again = await api.client.delete("/v1/suppressions/back@example.org", headers=api.alice)
    assert again.status_code == 404
