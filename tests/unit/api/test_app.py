"""The app's behaviour before it is connected, its error shape and its API keys."""

from __future__ import annotations

import httpx

from mailroom.api.app import create_app
from mailroom.api.errors import field_path
from mailroom.api.settings import ApiSettings
from mailroom.api.tenants import hash_api_key, new_api_key
from mailroom.shared.crypto import generate_key
from mailroom.shared.metrics import new_registry, render
from mailroom.shared.settings import load_settings


def settings() -> ApiSettings:
    return load_settings(ApiSettings, encryption_keys=f"k1:{generate_key()}")


async def test_endpoints_answer_503_json_until_connected() -> None:
    registry = new_registry()
    app = create_app(settings(), registry)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as client:
        response = await client.get("/v1/mailboxes", headers={"Authorization": "Bearer mr_x"})
        missing = await client.get("/v1/nothing-here")
        docs = await client.get("/docs")
        schema = await client.get("/openapi.json")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "not_ready"
    assert missing.status_code == 404
    assert missing.json() == {"error": {"code": "not_found", "message": "Not Found"}}
    assert docs.status_code == 200
    assert "/v1/mailboxes/{mailbox_id}/test" in schema.json()["paths"]
    metrics = render(registry).decode()
    assert 'mailroom_api_requests_total{method="GET",route="/v1/mailboxes",status="503"}' in metrics
    assert 'route="unmatched"' in metrics


def test_api_keys_are_random_and_stored_as_hashes() -> None:
    first, second = new_api_key(), new_api_key()
    assert first.startswith("mr_") and len(first) > 40
    assert first != second
    assert hash_api_key(first) != first
    assert len(hash_api_key(first)) == 64


def test_field_paths_drop_the_location_prefix() -> None:
    assert field_path(("body", "smtp", "port")) == "smtp.port"
    assert field_path(("body", "to", 0, "email")) == "to.0.email"
    assert field_path(("body",)) == "body"
