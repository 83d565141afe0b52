"""Mailboxes over the API: tenant scoping, owner visibility, write-only secrets, events."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime, timedelta
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


# --------------------------------------------------------------------------- pause and resume


def at(value: str) -> datetime:
    """A response's timestamp (ISO 8601 text) as a comparable datetime."""
    return datetime.fromisoformat(value)


async def set_fields(api: Api, mailbox_id: str, **fields: Any) -> None:
    """Put the stored mailbox in a state a connection test or a service would have left."""
    await api.store.collection(MAILBOXES).update_one({"_id": mailbox_id}, {"$set": fields})


async def test_disable_pauses_once_and_enable_restores_the_state(
    api: Api, rabbitmq_url: str
) -> None:
    mailbox = await create(api, api.alice)
    path = f"/v1/mailboxes/{mailbox['id']}"
    await set_fields(api, mailbox["id"], state="connected")

    async with EventTap(rabbitmq_url, api.settings.bus_namespace, ["mailbox.*"]) as tap:
        first = await api.client.post(
            f"{path}/disable", json={"reason": "Moving to a new provider"}, headers=api.alice
        )
        assert first.status_code == 200, first.text
        again = await api.client.post(f"{path}/disable", headers=api.alice)
        assert again.status_code == 200, again.text
        enabled = await api.client.post(f"{path}/enable", headers=api.alice)
        assert enabled.status_code == 200, enabled.text
        # The enable's event comes after anything the second disable could have published.
        events = await tap.wait_for("mailbox.state_changed", count=2)

    paused = first.json()
    assert paused["state"] == "disabled"
    assert paused["disabled"]["by"] == "alice"
    assert paused["disabled"]["reason"] == "Moving to a new provider"
    assert paused["disabled"]["previous_state"] == "connected"
    assert paused["updated_at"] == paused["disabled"]["at"]
    assert at(paused["updated_at"]) > at(mailbox["updated_at"])
    assert again.json() == paused  # idempotent: nothing changed
    assert [(e["old_state"], e["new_state"]) for e in events] == [
        ("connected", "disabled"),
        ("disabled", "connected"),
    ]
    assert all(e["mailbox_id"] == mailbox["id"] for e in events)
    assert tap.named("mailbox.updated") == []

    resumed = enabled.json()
    assert resumed["state"] == "connected"
    assert resumed["disabled"] is None
    assert at(resumed["updated_at"]) > at(paused["updated_at"])
    fetched = await api.client.get(path, headers=api.alice)
    assert fetched.json() == resumed
    stored = await api.store.collection(MAILBOXES).find_one({"_id": mailbox["id"]})
    assert stored is not None
    assert "disabled" not in stored


async def test_get_and_list_show_who_paused_the_mailbox(api: Api) -> None:
    mailbox = await create(api, api.alice, shared=True)
    response = await api.client.post(f"/v1/mailboxes/{mailbox['id']}/disable", headers=api.alice)
    assert response.status_code == 200, response.text

    fetched = (await api.client.get(f"/v1/mailboxes/{mailbox['id']}", headers=api.bob)).json()
    assert fetched["state"] == "disabled"
    assert fetched["disabled"]["by"] == "alice"
    assert fetched["disabled"]["reason"] is None
    assert fetched["disabled"]["previous_state"] == "pending"
    listing = (await api.client.get("/v1/mailboxes", headers=api.bob)).json()
    assert listing["items"] == [fetched]


async def test_enabling_an_auth_failed_mailbox_keeps_its_messages_held(api: Api) -> None:
    mailbox = await create(api, api.alice)
    path = f"/v1/mailboxes/{mailbox['id']}"
    failed_at = datetime.now(UTC).replace(microsecond=0)
    await set_fields(
        api,
        mailbox["id"],
        state="auth_failed",
        last_error_code="auth_failed",
        last_error="smtp: 535 authentication failed",
        last_error_at=failed_at,
        updated_at=failed_at - timedelta(minutes=1),
    )
    assert (await api.client.post(f"{path}/disable", headers=api.alice)).status_code == 200

    resumed = (await api.client.post(f"{path}/enable", headers=api.alice)).json()

    assert resumed["state"] == "auth_failed"
    assert resumed["last_error_code"] == "auth_failed"
    # The sender holds an auth_failed mailbox's messages until it is changed after the
    # failure (updated_at > last_error_at); a pause and resume is no such change.
    assert at(resumed["updated_at"]) <= at(resumed["last_error_at"])


async def test_a_change_made_while_paused_lets_an_auth_failed_mailbox_send_again(
    api: Api,
) -> None:
    mailbox = await create(api, api.alice)
    path = f"/v1/mailboxes/{mailbox['id']}"
    failed_at = datetime.now(UTC).replace(microsecond=0)
    await set_fields(
        api, mailbox["id"], state="auth_failed", last_error_at=failed_at, updated_at=failed_at
    )
    assert (await api.client.post(f"{path}/disable", headers=api.alice)).status_code == 200
    patched = await api.client.patch(
        path, json={"smtp": {"password": "a-new-password"}}, headers=api.alice
    )
    assert patched.status_code == 200, patched.text

    resumed = (await api.client.post(f"{path}/enable", headers=api.alice)).json()

    assert resumed["state"] == "auth_failed"  # until a test or a send proves otherwise
    assert at(resumed["updated_at"]) > at(resumed["last_error_at"])  # not held: it was changed


async def test_a_test_passed_while_paused_makes_the_enabled_mailbox_connected(api: Api) -> None:
    mailbox = await create(api, api.alice)
    path = f"/v1/mailboxes/{mailbox['id']}"
    await set_fields(api, mailbox["id"], state="degraded", last_error_code="timeout")
    assert (await api.client.post(f"{path}/disable", headers=api.alice)).status_code == 200
    # What `record_success` records for a disabled mailbox: the success, not the state.
    await set_fields(api, mailbox["id"], last_success_at=datetime.now(UTC) + timedelta(seconds=1))

    resumed = (await api.client.post(f"{path}/enable", headers=api.alice)).json()

    assert resumed["state"] == "connected"
    assert resumed["last_error_code"] is None


async def test_a_mailbox_disabled_without_a_note_is_enabled_as_pending(api: Api) -> None:
    mailbox = await create(api, api.alice)
    await set_fields(api, mailbox["id"], state="disabled")

    response = await api.client.post(f"/v1/mailboxes/{mailbox['id']}/enable", headers=api.alice)

    assert response.status_code == 200, response.text
    assert response.json()["state"] == "pending"


async def test_enabling_a_mailbox_that_is_not_disabled_is_a_409(
    api: Api, rabbitmq_url: str
) -> None:
    mailbox = await create(api, api.alice)
    async with EventTap(rabbitmq_url, api.settings.bus_namespace, ["mailbox.*"]) as tap:
        response = await api.client.post(f"/v1/mailboxes/{mailbox['id']}/enable", headers=api.alice)
        await asyncio.sleep(0.5)

    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "mailbox_not_disabled"
    assert "pending" in error["message"]
    assert tap.named("mailbox.state_changed") == []


async def test_only_the_owner_may_pause_or_resume_and_others_see_a_404(api: Api) -> None:
    shared = await create(api, api.alice, name="Team", shared=True)
    private = await create(api, api.alice, name="Private")

    for action in ("disable", "enable"):
        path = f"/v1/mailboxes/{shared['id']}/{action}"
        assert (await api.client.post(path, headers=api.mallory)).status_code == 404
        # bob may use the shared mailbox, but pausing it is a change, which is the owner's.
        denied = await api.client.post(path, headers=api.bob)
        assert denied.status_code == 403
        assert denied.json()["error"]["code"] == "forbidden"
        hidden = await api.client.post(f"/v1/mailboxes/{private['id']}/{action}", headers=api.bob)
        assert hidden.status_code == 404
        assert hidden.json()["error"]["code"] == "not_found"
    missing = await api.client.post("/v1/mailboxes/mbx_nope/disable", headers=api.alice)
    assert missing.status_code == 404

    for mailbox in (shared, private):
        fetched = await api.client.get(f"/v1/mailboxes/{mailbox['id']}", headers=api.alice)
        assert fetched.json()["state"] == "pending"


async def test_disable_refuses_a_bad_reason(api: Api) -> None:
    mailbox = await create(api, api.alice)
    path = f"/v1/mailboxes/{mailbox['id']}/disable"
    for body, field in (
        ({"reason": "x" * 501}, "reason"),
        ({"reason": "line\r\nbreak"}, "reason"),
        ({"why": "typo"}, "why"),
    ):
        response = await api.client.post(path, json=body, headers=api.alice)
        assert response.status_code == 422, response.text
        assert response.json()["error"]["field"] == field
    fetched = await api.client.get(f"/v1/mailboxes/{mailbox['id']}", headers=api.alice)
    assert fetched.json()["state"] == "pending"
