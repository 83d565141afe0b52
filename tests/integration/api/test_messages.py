"""`POST /v1/messages` publishes the send command; reads come from the sender's records."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mailroom.shared.collections import SEND_BUDGETS, SENDS
from mailroom.shared.contracts import message_id_for
from mailroom.shared.sends import BudgetWindow, budget_window_id, window_bounds
from tests.integration.api.conftest import Api
from tests.integration.api.test_mailboxes import create
from tests.integration.support.events import EventTap

pytestmark = pytest.mark.integration


def message(mailbox_id: str, key: str = "order-42") -> dict[str, object]:
    return {
        "idempotency_key": key,
        "mailbox_id": mailbox_id,
        "to": [{"email": "lead@example.org", "name": "Lead"}],
        "subject": "Hello",
        "text": "Hi there",
        "headers": {"X-Campaign": "spring"},
        "metadata": {"crm_id": 7},
    }


async def test_send_request_is_published_with_the_tenant_of_the_key(
    api: Api, rabbitmq_url: str
) -> None:
    mailbox = await create(api, api.alice)
    keys = ["email.send.requested"]
    async with EventTap(rabbitmq_url, api.settings.bus_namespace, keys) as tap:
        response = await api.client.post(
            "/v1/messages", json=message(mailbox["id"]), headers=api.alice
        )
        events = await tap.wait_for("email.send.requested")

    assert response.status_code == 202, response.text
    expected_id = message_id_for(api.tenant_a, "order-42")
    assert response.json() == {
        "message_id": expected_id,
        "idempotency_key": "order-42",
        "status": "accepted",
    }
    event = events[0]
    assert event["tenant_id"] == api.tenant_a
    assert event["mailbox_id"] == mailbox["id"]
    assert event["to"] == [{"email": "lead@example.org", "name": "Lead"}]
    assert event["headers"] == {"X-Campaign": "spring"}
    assert event["metadata"] == {"crm_id": 7}


async def test_a_mailbox_the_user_cannot_see_cannot_send(api: Api) -> None:
    private = await create(api, api.alice)
    for headers in (api.mallory, api.bob):
        response = await api.client.post(
            "/v1/messages", json=message(private["id"]), headers=headers
        )
        assert response.status_code == 404
        assert response.json()["error"]["field"] == "mailbox_id"


async def test_invalid_messages_are_refused(api: Api) -> None:
    mailbox = await create(api, api.alice)
    bad = [
        {**message(mailbox["id"]), "to": []},
        {**message(mailbox["id"]), "subject": "Hi\r\nBcc: all@example.org"},
        {**message(mailbox["id"]), "headers": {"From": "ceo@example.org"}},
        {**message(mailbox["id"]), "tenant_id": "someone-else"},
    ]
    for body in bad:
        response = await api.client.post("/v1/messages", json=body, headers=api.alice)
        assert response.status_code == 422, response.text


async def test_message_status_comes_from_the_sender_record(api: Api) -> None:
    mailbox = await create(api, api.alice)
    message_id = message_id_for(api.tenant_a, "k1")
    now = datetime.now(UTC)
    await api.store.collection(SENDS).insert_one(
        {
            "_id": message_id,
            "tenant_id": api.tenant_a,
            "idempotency_key": "k1",
            "mailbox_id": mailbox["id"],
            "status": "sent",
            "attempts": 1,
            "smtp_message_id": "<abc@example.com>",
            "lease_owner": "sender-1",
            "created_at": now,
            "updated_at": now,
            "timeline": [{"at": now, "status": "accepted"}, {"at": now, "status": "sent"}],
        }
    )
    response = await api.client.get(f"/v1/messages/{message_id}", headers=api.alice)
    assert response.status_code == 200, response.text
    status = response.json()
    assert status["message_id"] == message_id
    assert status["status"] == "sent"
    assert status["attempts"] == 1
    assert status["smtp_message_id"] == "<abc@example.com>"
    assert [t["status"] for t in status["timeline"]] == ["accepted", "sent"]
    assert "lease_owner" not in status
    other_tenant = await api.client.get(f"/v1/messages/{message_id}", headers=api.mallory)
    assert other_tenant.status_code == 404


async def test_limits_show_the_remaining_budget(api: Api) -> None:
    mailbox = await create(api, api.alice)
    now = datetime.now(UTC)
    budgets = []
    windows: tuple[tuple[BudgetWindow, int], ...] = (("minute", 3), ("day", 120))
    for window, count in windows:
        start, end = window_bounds(window, now)
        budgets.append(
            {
                "_id": budget_window_id(mailbox["id"], window, start),
                "count": count,
                "expires_at": end,
            }
        )
    await api.store.collection(SEND_BUDGETS).insert_many(budgets)
    response = await api.client.get(f"/v1/mailboxes/{mailbox['id']}/limits", headers=api.alice)
    assert response.status_code == 200, response.text
    limits = response.json()
    assert limits["per_minute"]["limit"] == 10
    assert limits["per_day"]["remaining"] == 380
    # The minute may have turned over since the budget was written.
    assert limits["per_minute"]["remaining"] in (7, 10)
