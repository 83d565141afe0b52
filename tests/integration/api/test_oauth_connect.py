"""Connecting a mailbox through OAuth, end to end.

The API's start and callback endpoints run against the local OAuth server (the
authorization endpoint, the authorization-code grant with PKCE, the ID token),
and the mailbox they create passes a connection test with XOAUTH2 against a mail
sandbox whose Dovecot and Postfix check access tokens at that server's
introspection endpoint. Consent given by another account than the mailbox's, or
an ID token that cannot be trusted, leaves nothing stored.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from mailroom.api.oauth import state_key
from mailroom.localinfra import MailSandbox, free_port
from mailroom.localinfra.oauth_server import LocalOAuthServer
from mailroom.shared.collections import MAILBOXES, OAUTH_STATES
from mailroom.shared.mailboxes import MailboxRecord
from tests.integration.api.conftest import Api
from tests.integration.support.events import EventTap

pytestmark = pytest.mark.integration

DEMO = "demo@mailroom.test"
OTHER_ACCOUNT = "Bob.Personal@mailroom.test"


@pytest.fixture(scope="module")
def oauth_server() -> Iterator[LocalOAuthServer]:
    with LocalOAuthServer(free_port()) as server:
        yield server


@pytest.fixture(scope="module")
def oauth_sandbox(oauth_server: LocalOAuthServer) -> Iterator[MailSandbox]:
    """A sandbox of its own: Dovecot must know the introspection endpoint when it starts."""
    # Under /tmp: Dovecot's and Postfix's unprivileged processes must reach its files.
    workdir = Path(tempfile.mkdtemp(prefix="mailroom-oauth-"))
    try:
        with MailSandbox(
            workdir, oauth_introspection_url=oauth_server.introspection_url
        ) as sandbox:
            yield sandbox
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(autouse=True)
def consenting(oauth_server: LocalOAuthServer) -> None:
    """Each test starts with the hinted user consenting and genuine ID tokens."""
    oauth_server.state.denying = False
    oauth_server.state.signed_in_as = None
    oauth_server.state.issuing_id_tokens = True
    oauth_server.state.id_token_overrides = {}


@pytest.fixture
def settings_overrides(
    oauth_server: LocalOAuthServer, oauth_sandbox: MailSandbox
) -> dict[str, Any]:
    return {
        "oauth_google_client_id": oauth_server.state.client_id,
        "oauth_google_client_secret": oauth_server.state.client_secret,
        "oauth_google_authorize_url": oauth_server.authorize_url,
        "oauth_google_token_url": oauth_server.token_url,
        "oauth_servers": {
            "google": {
                "smtp": {
                    "host": oauth_sandbox.host,
                    "port": oauth_sandbox.submission_port,
                    "security": "starttls",
                },
                "imap": {
                    "host": oauth_sandbox.host,
                    "port": oauth_sandbox.imaps_port,
                    "security": "ssl",
                },
                "ca_pem": oauth_sandbox.ca_pem,
            }
        },
    }


async def start(api: Api, body: dict[str, Any] | None = None) -> httpx.Response:
    response = await api.client.post(
        "/v1/oauth/google/start",
        json=body or {"name": "Demo Gmail", "email": DEMO, "display_name": "Demo"},
        headers=api.alice,
    )
    assert response.status_code == 200, response.text
    return response


async def consent(authorization_url: str) -> str:
    """What the user's browser does at the provider: the callback URL it is sent back to."""
    async with httpx.AsyncClient() as browser:
        answer = await browser.get(authorization_url, follow_redirects=False)
    assert answer.status_code == 302, answer.text
    location = answer.headers["location"]
    assert location.startswith("http://api.test/v1/oauth/callback?"), location
    return location


async def connect(api: Api, body: dict[str, Any] | None = None) -> httpx.Response:
    started = await start(api, body)
    callback = await consent(started.json()["authorization_url"])
    return await api.client.get(callback)


def every_token(server: LocalOAuthServer) -> list[str]:
    return [*server.state.access, *server.state.grants]


async def test_a_gmail_mailbox_connects_with_encrypted_tokens_and_passes_an_xoauth2_test(
    api: Api, oauth_server: LocalOAuthServer, rabbitmq_url: str
) -> None:
    async with EventTap(rabbitmq_url, api.settings.bus_namespace, ["mailbox.connected"]) as tap:
        started = await start(api)
        url = started.json()["authorization_url"]
        assert url.startswith(oauth_server.authorize_url + "?")
        query = parse_qs(urlsplit(url).query)
        assert query["code_challenge_method"] == ["S256"]
        assert query["scope"] == ["openid email https://mail.google.com/"]
        assert query["login_hint"] == [DEMO]
        callback = await api.client.get(await consent(url))
        [event] = await tap.wait_for("mailbox.connected")

    assert callback.status_code == 200, callback.text
    result = callback.json()
    mailbox_id = result["mailbox_id"]
    assert event["mailbox_id"] == mailbox_id and event["tenant_id"] == api.tenant_a
    assert result["reconnected"] is False
    mailbox = result["mailbox"]
    assert mailbox["auth_method"] == "oauth2"
    assert mailbox["owner"] == "alice"
    assert mailbox["oauth"]["provider"] == "google"
    assert mailbox["oauth"]["has_refresh_token"] is True
    assert mailbox["smtp"]["has_password"] is False
    assert mailbox["smtp"]["username"] == DEMO

    raw = await api.store.collection(MAILBOXES).find_one({"_id": mailbox_id})
    assert raw is not None
    record = MailboxRecord.model_validate(raw)
    assert record.oauth is not None
    assert record.oauth.expires_at > datetime.now(UTC) + timedelta(minutes=50)
    access = api.app.state.secrets.decrypt(record, "oauth_access_token")
    refresh = api.app.state.secrets.decrypt(record, "oauth_refresh_token")
    assert oauth_server.state.access[access].username == DEMO
    assert oauth_server.state.grants[refresh].username == DEMO
    # The spent state is gone: nothing is left to replay.
    assert await api.store.collection(OAUTH_STATES).count_documents({}) == 0

    tested = await api.client.post(f"/v1/mailboxes/{mailbox_id}/test", headers=api.alice)
    assert tested.status_code == 200, tested.text
    assert tested.json()["ok"] is True, json.dumps(tested.json(), indent=1)
    assert tested.json()["mailbox_state"] == "connected"
    shown = await api.client.get(f"/v1/mailboxes/{mailbox_id}", headers=api.alice)

    stored = json.dumps(raw, default=str)
    for token in every_token(oauth_server):
        for text in (stored, started.text, callback.text, tested.text, shown.text):
            assert token not in text


async def test_a_browser_gets_a_page(api: Api) -> None:
    started = await start(api)
    callback = await consent(started.json()["authorization_url"])
    page = await api.client.get(callback, headers={"Accept": "text/html,*/*"})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "Mailbox connected" in page.text


async def test_an_unknown_or_expired_state_is_a_400(api: Api) -> None:
    unknown = await api.client.get("/v1/oauth/callback", params={"code": "x", "state": "nope"})
    assert unknown.status_code == 400
    assert unknown.json()["error"]["code"] == "invalid_state"
    missing = await api.client.get("/v1/oauth/callback", params={"code": "x"})
    assert missing.status_code == 400
    assert missing.json()["error"]["code"] == "invalid_state"

    started = await start(api)
    callback = await consent(started.json()["authorization_url"])
    state = parse_qs(urlsplit(callback).query)["state"][0]
    await api.store.collection(OAUTH_STATES).update_one(
        {"_id": state_key(state)},
        {"$set": {"expires_at": datetime.now(UTC) - timedelta(seconds=1)}},
    )
    expired = await api.client.get(callback)
    assert expired.status_code == 400
    assert expired.json()["error"]["code"] == "invalid_state"
    assert await api.store.collection(MAILBOXES).count_documents({}) == 0


async def test_a_used_state_cannot_be_replayed(api: Api) -> None:
    started = await start(api)
    callback = await consent(started.json()["authorization_url"])
    first = await api.client.get(callback)
    assert first.status_code == 200, first.text
    replay = await api.client.get(callback)
    assert replay.status_code == 400
    assert replay.json()["error"]["code"] == "invalid_state"
    assert await api.store.collection(MAILBOXES).count_documents({}) == 1


async def test_a_code_without_its_pkce_verifier_is_refused(api: Api) -> None:
    started = await start(api)
    callback = await consent(started.json()["authorization_url"])
    state = parse_qs(urlsplit(callback).query)["state"][0]
    await api.store.collection(OAUTH_STATES).update_one(
        {"_id": state_key(state)}, {"$set": {"code_verifier": "x" * 64}}
    )
    refused = await api.client.get(callback)
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "oauth_exchange_failed"
    assert await api.store.collection(MAILBOXES).count_documents({}) == 0


async def test_a_refused_consent_is_a_400_and_creates_nothing(
    api: Api, oauth_server: LocalOAuthServer
) -> None:
    oauth_server.state.denying = True
    denied = await connect(api)
    assert denied.status_code == 400
    assert denied.json()["error"]["code"] == "oauth_denied"
    assert await api.store.collection(MAILBOXES).count_documents({}) == 0


async def test_connecting_again_reconnects_a_failed_mailbox_with_new_tokens(
    api: Api, oauth_server: LocalOAuthServer
) -> None:
    first = await connect(api)
    mailbox_id = first.json()["mailbox_id"]
    before = await api.store.collection(MAILBOXES).find_one({"_id": mailbox_id})
    assert before is not None
    await api.store.collection(MAILBOXES).update_one(
        {"_id": mailbox_id}, {"$set": {"state": "auth_failed"}}
    )

    again = await connect(api, {"name": "Demo Gmail", "email": DEMO, "mailbox_id": mailbox_id})

    assert again.status_code == 200, again.text
    assert again.json()["mailbox_id"] == mailbox_id
    assert again.json()["reconnected"] is True
    assert again.json()["mailbox"]["state"] == "connected"
    after = await api.store.collection(MAILBOXES).find_one({"_id": mailbox_id})
    assert after is not None
    assert after["oauth"]["access_token_enc"] != before["oauth"]["access_token_enc"]
    assert await api.store.collection(MAILBOXES).count_documents({}) == 1
    # Without naming the mailbox, the same address and provider also reconnect it.
    third = await connect(api)
    assert third.json()["mailbox_id"] == mailbox_id


async def test_consent_by_another_account_is_refused_and_stores_nothing(
    api: Api, oauth_server: LocalOAuthServer
) -> None:
    # The browser is signed into another Google account than the mailbox's.
    oauth_server.state.signed_in_as = OTHER_ACCOUNT

    refused = await connect(api)

    assert refused.status_code == 400, refused.text
    error = refused.json()["error"]
    assert error["code"] == "oauth_account_mismatch"
    assert error["message"] == (
        f"You signed in to Google as {OTHER_ACCOUNT.lower()}, but this mailbox is {DEMO}. "
        f"Sign in with {DEMO} and try again."
    )
    assert await api.store.collection(MAILBOXES).count_documents({}) == 0
    assert await api.store.collection(OAUTH_STATES).count_documents({}) == 0
    for token in every_token(oauth_server):
        assert token not in refused.text


async def test_the_mailbox_address_is_compared_without_case(
    api: Api, oauth_server: LocalOAuthServer
) -> None:
    oauth_server.state.signed_in_as = DEMO.upper()
    connected = await connect(api, {"name": "Demo Gmail", "email": "Demo@Mailroom.test"})
    assert connected.status_code == 200, connected.text
    assert connected.json()["mailbox"]["email"] == DEMO


async def test_reconnecting_checks_the_stored_mailbox_address(
    api: Api, oauth_server: LocalOAuthServer
) -> None:
    first = await connect(api)
    mailbox_id = first.json()["mailbox_id"]
    before = await api.store.collection(MAILBOXES).find_one({"_id": mailbox_id})
    assert before is not None

    # Naming the mailbox with another address at the start changes nothing: the tokens
    # would log in as the stored mailbox's address.
    oauth_server.state.signed_in_as = OTHER_ACCOUNT
    refused = await connect(
        api, {"name": "Demo Gmail", "email": OTHER_ACCOUNT, "mailbox_id": mailbox_id}
    )

    assert refused.status_code == 400, refused.text
    assert refused.json()["error"]["code"] == "oauth_account_mismatch"
    assert f"this mailbox is {DEMO}" in refused.json()["error"]["message"]
    after = await api.store.collection(MAILBOXES).find_one({"_id": mailbox_id})
    assert after == before


async def test_a_token_response_without_an_id_token_is_refused(
    api: Api, oauth_server: LocalOAuthServer
) -> None:
    oauth_server.state.issuing_id_tokens = False
    refused = await connect(api)
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"]["code"] == "oauth_identity_missing"
    assert "openid" in refused.json()["error"]["message"]
    assert await api.store.collection(MAILBOXES).count_documents({}) == 0


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"aud": "another-application"}, "issued to another application"),
        ({"exp": int(time.time()) - 3600}, "expired"),
        ({"iss": "https://accounts.example.net"}, "unexpected issuer"),
        ({"email_verified": False}, None),
    ],
    ids=["audience", "expired", "issuer", "unverified-email"],
)
async def test_an_id_token_that_cannot_be_trusted_is_refused(
    api: Api, oauth_server: LocalOAuthServer, overrides: dict[str, Any], problem: str | None
) -> None:
    oauth_server.state.id_token_overrides = overrides
    refused = await connect(api)
    assert refused.status_code == 400, refused.text
    error = refused.json()["error"]
    if problem is None:
        assert error["code"] == "oauth_identity_missing"
    else:
        assert error["code"] == "oauth_identity_invalid"
        assert problem in error["message"]
    assert await api.store.collection(MAILBOXES).count_documents({}) == 0


async def test_a_provider_without_a_configured_client_is_refused(api: Api) -> None:
    response = await api.client.post(
        "/v1/oauth/microsoft/start", json={"name": "M", "email": DEMO}, headers=api.alice
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "oauth_not_configured"


async def test_only_the_owner_may_reconnect_a_mailbox(api: Api) -> None:
    first = await connect(api)
    response = await api.client.post(
        "/v1/oauth/google/start",
        json={"name": "M", "email": DEMO, "mailbox_id": first.json()["mailbox_id"]},
        headers=api.bob,
    )
    assert response.status_code == 404  # not shared: bob cannot even see it
