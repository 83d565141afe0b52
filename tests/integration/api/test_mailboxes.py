"""Mailboxes over the API: tenant scoping, owner visibility, write-only secrets, events."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from mailroom.shared.collections import MAILBOXES
from tests.integration.api.conftest import Api
from tests.integration.support.events import EventTap

pytestmark = pytest.mark.integration

SMTP_PASSWORD = "smtp-Pa55word-never-shown"
IMAP_PASSWORD = "imap-Pa55word-never-shown"


def mailbox_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Sales",
        "email": "ana@example.com",
        "display_name": "Ana Silva",
        "reply_to": "replies@example.com",
        "reply_to_name": "Sales team",
        "from_override": {"address_field": "owner_email", "name_field": "owner_name"},
        "smtp": {
            "host": "smtp.example.com",
            "port": 587,
            "security": "starttls",
            "username": "ana@example.com",
            "password": SMTP_PASSWORD,
        },
        "incoming": {
            "protocol": "imap",
            "host": "imap.example.com",
            "port": 993,
            "security": "ssl",
            "password": IMAP_PASSWORD,
            "batch_size": 25,
            "delete_processed_bounces": True,
        },
        "limits": {"per_minute": 10, "per_day": 500},
    }
    body.update(overrides)
    return body


async def create(api: Api, headers: dict[str, str], **overrides: Any) -> dict[str, Any]:
    response = await api.client.post(
        "/v1/mailboxes", json=mailbox_body(**overrides), headers=headers
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def test_created_mailbox_shows_settings_but_no_password(api: Api, rabbitmq_url: str) -> None:
    async with EventTap(rabbitmq_url, api.settings.bus_namespace, ["mailbox.*"]) as tap:
        mailbox = await create(api, api.alice)
        events = await tap.wait_for("mailbox.connected")

    assert events[0]["mailbox_id"] == mailbox["id"]
    assert events[0]["tenant_id"] == api.tenant_a
    assert mailbox["owner"] == "alice"
    assert mailbox["state"] == "pending"
    assert mailbox["smtp"]["has_password"] is True
    assert mailbox["incoming"]["has_password"] is True
    assert mailbox["incoming"]["username"] == "ana@example.com"  # defaults to the address
    assert mailbox["incoming"]["batch_size"] == 25
    assert mailbox["from_override"]["name_field"] == "owner_name"
    assert "password" not in mailbox["smtp"]
    assert mailbox["warnings"] == []

    fetched = await api.client.get(f"/v1/mailboxes/{mailbox['id']}", headers=api.alice)
    assert fetched.status_code == 200
    assert fetched.json() == mailbox
    stored = await api.store.collection(MAILBOXES).find_one({"_id": mailbox["id"]})
    assert stored is not None
    assert stored["smtp"]["password_enc"].startswith("v1:")
    for text in (json.dumps(mailbox), fetched.text, json.dumps(stored, default=str)):
        assert SMTP_PASSWORD not in text
        assert IMAP_PASSWORD not in text


async def test_another_tenant_cannot_see_or_change_a_mailbox(api: Api) -> None:
    mailbox = await create(api, api.alice, shared=True)
    path = f"/v1/mailboxes/{mailbox['id']}"

    assert (await api.client.get(path, headers=api.mallory)).status_code == 404
    patch = await api.client.patch(path, json={"name": "mine"}, headers=api.mallory)
    assert patch.status_code == 404
    assert patch.json()["error"]["code"] == "not_found"
    assert (await api.client.delete(path, headers=api.mallory)).status_code == 404
    assert (await api.client.post(f"{path}/test", headers=api.mallory)).status_code == 404
    listing = await api.client.get("/v1/mailboxes", headers=api.mallory)
    assert listing.json()["items"] == []
    # Untouched for its owner.
    assert (await api.client.get(path, headers=api.alice)).json()["name"] == "Sales"


async def test_unshared_mailbox_is_invisible_to_other_users_of_the_tenant(api: Api) -> None:
    private = await create(api, api.alice, name="Private")
    shared = await create(api, api.alice, name="Team", shared=True)

    listing = await api.client.get("/v1/mailboxes", headers=api.bob)
    assert [m["id"] for m in listing.json()["items"]] == [shared["id"]]
    assert (
        await api.client.get(f"/v1/mailboxes/{private['id']}", headers=api.bob)
    ).status_code == 404
    # A shared mailbox may be used by bob, but only alice may change it.
    denied = await api.client.patch(
        f"/v1/mailboxes/{shared['id']}", json={"name": "Bob's"}, headers=api.bob
    )
    assert denied.status_code == 403
    assert denied.json()["error"]["code"] == "forbidden"
    alice_sees = await api.client.get("/v1/mailboxes", headers=api.alice)
    assert {m["id"] for m in alice_sees.json()["items"]} == {private["id"], shared["id"]}


async def test_patch_changes_fields_keeps_password_and_publishes_names(
    api: Api, rabbitmq_url: str
) -> None:
    mailbox = await create(api, api.alice)
    path = f"/v1/mailboxes/{mailbox['id']}"
    before = await api.store.collection(MAILBOXES).find_one({"_id": mailbox["id"]})
    assert before is not None

    async with EventTap(rabbitmq_url, api.settings.bus_namespace, ["mailbox.updated"]) as tap:
        response = await api.client.patch(
            path,
            json={"name": "Renamed", "smtp": {"port": 465, "security": "ssl"}},
            headers=api.alice,
        )
        assert response.status_code == 200, response.text
        events = await tap.wait_for("mailbox.updated")
    assert sorted(events[0]["changed"]) == ["name", "smtp.port", "smtp.security"]
    updated = response.json()
    assert updated["smtp"]["port"] == 465
    assert updated["smtp"]["host"] == "smtp.example.com"
    assert updated["smtp"]["has_password"] is True
    after = await api.store.collection(MAILBOXES).find_one({"_id": mailbox["id"]})
    assert after is not None
    assert after["smtp"]["password_enc"] == before["smtp"]["password_enc"]

    removed = await api.client.patch(
        path, json={"smtp": {"password": None}, "incoming": None}, headers=api.alice
    )
    assert removed.status_code == 200
    assert removed.json()["smtp"]["has_password"] is False
    assert removed.json()["incoming"] is None


async def test_bad_input_is_a_422_naming_the_field(api: Api) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        (mailbox_body(smtp={"host": "smtp.example.com", "port": "587"}), "smtp.port"),
        (mailbox_body(smtp={"host": "smtp.example.com", "port": 70000}), "smtp.port"),
        (mailbox_body(smtp={"host": "bad host!", "port": 587}), "smtp.host"),
        (mailbox_body(email="not-an-address"), "email"),
        (mailbox_body(tls={"verify": True, "ca_pem": "garbage"}), "tls.ca_pem"),
        (
            mailbox_body(incoming={"protocol": "nntp", "host": "x.example", "port": 1}),
            "incoming.protocol",
        ),
        (mailbox_body(display_name="Ana\r\nBcc: everyone@example.com"), "display_name"),
        (mailbox_body(unknown_field=1), "unknown_field"),
    ]
    for body, field in cases:
        response = await api.client.post("/v1/mailboxes", json=body, headers=api.alice)
        assert response.status_code == 422, (field, response.text)
        error = response.json()["error"]
        assert error["code"] == "invalid_request"
        assert error["field"] == field, response.text

    mailbox = await create(api, api.alice)
    response = await api.client.patch(
        f"/v1/mailboxes/{mailbox['id']}", json={"smtp": {"port": 0}}, headers=api.alice
    )
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "smtp.port"
    not_json = await api.client.post(
        "/v1/mailboxes",
        content=b"{not json",
        headers={**api.alice, "content-type": "application/json"},
    )
    assert not_json.status_code == 422
    assert "error" in not_json.json()


async def test_requests_without_valid_credentials_get_401_json(api: Api) -> None:
    no_key = await api.client.get("/v1/mailboxes", headers={"X-Mailroom-User": "alice"})
    wrong_key = await api.client.get("/v1/mailboxes", headers=api.as_user("mr_wrong", "alice"))
    no_user = await api.client.get(
        "/v1/mailboxes", headers={"Authorization": f"Bearer {api.key_a}"}
    )
    for response in (no_key, wrong_key, no_user):
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthorized"


async def test_tls_verification_off_is_shown_as_a_warning(api: Api) -> None:
    mailbox = await create(api, api.alice, tls={"verify": False})
    assert mailbox["tls"]["verify"] is False
    assert any("verification is off" in w for w in mailbox["warnings"])


async def test_delete_removes_the_mailbox_and_publishes(api: Api, rabbitmq_url: str) -> None:
    mailbox = await create(api, api.alice)
    path = f"/v1/mailboxes/{mailbox['id']}"
    async with EventTap(rabbitmq_url, api.settings.bus_namespace, ["mailbox.deleted"]) as tap:
        assert (await api.client.delete(path, headers=api.alice)).status_code == 204
        events = await tap.wait_for("mailbox.deleted")
    assert events[0]["mailbox_id"] == mailbox["id"]
    assert (await api.client.get(path, headers=api.alice)).status_code == 404


async def test_no_log_line_contains_a_password(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    mailbox = await create(api, api.alice)
    await api.client.patch(
        f"/v1/mailboxes/{mailbox['id']}",
        json={"smtp": {"password": SMTP_PASSWORD + "2"}},
        headers=api.alice,
    )
    await api.client.post("/v1/mailboxes", json=mailbox_body(smtp={"port": 1}), headers=api.alice)
    assert caplog.records, "the API logs its requests"
    for record in caplog.records:
        line = json.dumps(record.__dict__, default=str) + record.getMessage()
        assert SMTP_PASSWORD not in line
        assert IMAP_PASSWORD not in line
