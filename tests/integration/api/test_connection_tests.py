"""Connection tests over the API against the sandbox's real Dovecot and Postfix."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from mailroom.localinfra import MailSandbox
from mailroom.shared.collections import CONNECTION_TESTS, MAILBOXES
from tests.integration.api.conftest import Api
from tests.integration.support.events import EventTap

pytestmark = pytest.mark.integration

DEMO = "demo@mailroom.test"
DEMO_PASSWORD = "demo-password"
WRONG_PASSWORD = "not-the-demo-password-5521"


def sandbox_mailbox(sandbox: MailSandbox, password: str = DEMO_PASSWORD) -> dict[str, Any]:
    return {
        "name": "Demo",
        "email": DEMO,
        "smtp": {
            "host": sandbox.host,
            "port": sandbox.submission_port,
            "security": "starttls",
            "username": DEMO,
            "password": password,
        },
        "incoming": {
            "protocol": "imap",
            "host": sandbox.host,
            "port": sandbox.imaps_port,
            "security": "ssl",
            "username": DEMO,
            "password": password,
        },
        "tls": {"verify": True, "ca_pem": sandbox.ca_pem},
    }


async def create_mailbox(api: Api, body: dict[str, Any]) -> str:
    response = await api.client.post("/v1/mailboxes", json=body, headers=api.alice)
    assert response.status_code == 201, response.text
    mailbox_id: str = response.json()["id"]
    return mailbox_id


async def test_good_settings_pass_every_stage_and_connect_the_mailbox(
    api: Api, mail_sandbox: MailSandbox
) -> None:
    mailbox_id = await create_mailbox(api, sandbox_mailbox(mail_sandbox))

    response = await api.client.post(
        f"/v1/mailboxes/{mailbox_id}/test", json={"round_trip": True}, headers=api.alice
    )

    assert response.status_code == 200, response.text
    result = response.json()
    assert result["ok"] is True, json.dumps(result, indent=1)
    assert result["code"] is None
    assert [s["stage"] for s in result["smtp"]["stages"]] == [
        "dns",
        "tcp",
        "tls",
        "greeting",
        "auth",
        "capabilities",
    ]
    assert result["incoming"]["stages"][-1]["stage"] == "inbox"
    assert all(s["ok"] for s in result["smtp"]["stages"] + result["incoming"]["stages"])
    assert result["round_trip"]["ok"] is True
    assert result["mailbox_state"] == "connected"
    mailbox = (await api.client.get(f"/v1/mailboxes/{mailbox_id}", headers=api.alice)).json()
    assert mailbox["state"] == "connected"
    assert mailbox["last_success_at"] is not None
    history = await api.client.get(f"/v1/mailboxes/{mailbox_id}/tests", headers=api.alice)
    assert [t["id"] for t in history.json()["items"]] == [result["id"]]


async def test_wrong_password_says_authentication_failed_and_moves_the_state(
    api: Api, mail_sandbox: MailSandbox, rabbitmq_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    mailbox_id = await create_mailbox(api, sandbox_mailbox(mail_sandbox, WRONG_PASSWORD))

    async with EventTap(rabbitmq_url, api.settings.bus_namespace, ["mailbox.state_changed"]) as tap:
        response = await api.client.post(f"/v1/mailboxes/{mailbox_id}/test", headers=api.alice)
        events = await tap.wait_for("mailbox.state_changed")

    assert response.status_code == 200, response.text
    result = response.json()
    assert result["ok"] is False
    assert result["code"] == "authentication_failed"
    failed = [s for s in result["smtp"]["stages"] if not s["ok"]]
    assert failed[0]["stage"] == "auth"
    assert failed[0]["message"] and failed[0]["hint"]
    assert result["mailbox_state"] == "auth_failed"
    assert events[0]["new_state"] == "auth_failed"
    assert events[0]["error_code"] == "authentication_failed"
    mailbox = (await api.client.get(f"/v1/mailboxes/{mailbox_id}", headers=api.alice)).json()
    assert mailbox["state"] == "auth_failed"
    assert mailbox["last_error_code"] == "authentication_failed"

    # The password appears nowhere: not in the response, the stored documents or the logs.
    stored_test = await api.store.collection(CONNECTION_TESTS).find_one({"_id": result["id"]})
    stored_mailbox = await api.store.collection(MAILBOXES).find_one({"_id": mailbox_id})
    assert WRONG_PASSWORD not in response.text
    assert WRONG_PASSWORD not in json.dumps(stored_test, default=str)
    assert WRONG_PASSWORD not in json.dumps(stored_mailbox, default=str)
    for record in caplog.records:
        assert WRONG_PASSWORD not in json.dumps(record.__dict__, default=str)

    # Fixing the password and testing again clears the error.
    fixed = await api.client.patch(
        f"/v1/mailboxes/{mailbox_id}",
        json={"smtp": {"password": DEMO_PASSWORD}, "incoming": {"password": DEMO_PASSWORD}},
        headers=api.alice,
    )
    assert fixed.status_code == 200
    again = await api.client.post(f"/v1/mailboxes/{mailbox_id}/test", headers=api.alice)
    assert again.json()["ok"] is True, again.text
    mailbox = (await api.client.get(f"/v1/mailboxes/{mailbox_id}", headers=api.alice)).json()
    assert mailbox["state"] == "connected"
    assert mailbox["last_error_code"] is None


async def test_unsaved_settings_can_be_tested(api: Api, mail_sandbox: MailSandbox) -> None:
    body = sandbox_mailbox(mail_sandbox)
    config = {"email": DEMO, "smtp": body["smtp"], "incoming": body["incoming"], "tls": body["tls"]}
    good = await api.client.post("/v1/connection-tests", json=config, headers=api.alice)
    assert good.status_code == 200, good.text
    assert good.json()["ok"] is True, good.text
    assert good.json()["mailbox_id"] is None

    config["incoming"] = {**body["incoming"], "password": WRONG_PASSWORD}
    bad = await api.client.post("/v1/connection-tests", json=config, headers=api.alice)
    assert bad.json()["ok"] is False
    assert bad.json()["code"] == "authentication_failed"
    assert bad.json()["smtp"]["ok"] is True
    assert WRONG_PASSWORD not in bad.text

    stored = await api.client.get(f"/v1/connection-tests/{bad.json()['id']}", headers=api.alice)
    assert stored.status_code == 200
    assert stored.json()["code"] == "authentication_failed"
    assert (
        await api.client.get(f"/v1/connection-tests/{bad.json()['id']}", headers=api.mallory)
    ).status_code == 404


async def test_server_without_uidplus_needs_attention(api: Api, mail_sandbox: MailSandbox) -> None:
    body = sandbox_mailbox(mail_sandbox)
    body["incoming"] = {
        **body["incoming"],
        "port": mail_sandbox.nouidplus_imap_port,
        "security": "starttls",
    }
    mailbox_id = await create_mailbox(api, body)
    response = await api.client.post(f"/v1/mailboxes/{mailbox_id}/test", headers=api.alice)
    result = response.json()
    assert result["code"] == "imap_server_not_supported", response.text
    assert result["mailbox_state"] == "needs_attention"


async def test_discovery_finds_the_sandbox_combinations(
    api: Api, mail_sandbox: MailSandbox
) -> None:
    body = {
        "email": DEMO,
        "host": mail_sandbox.host,
        "ports": {
            "smtp": [mail_sandbox.submission_port, mail_sandbox.smtps_port],
            "imap": [mail_sandbox.imap_port, mail_sandbox.imaps_port],
        },
    }
    response = await api.client.post("/v1/connection-tests/discover", json=body, headers=api.alice)
    assert response.status_code == 200, response.text
    found = {(s["protocol"], s["port"], s["security"]) for s in response.json()["settings"]}
    assert ("smtp", mail_sandbox.smtps_port, "ssl") in found
    assert ("smtp", mail_sandbox.submission_port, "starttls") in found
    assert ("imap", mail_sandbox.imaps_port, "ssl") in found
    assert ("imap", mail_sandbox.imap_port, "starttls") in found
