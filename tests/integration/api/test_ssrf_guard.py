"""With the default settings the API refuses to reach addresses inside its own network."""

from __future__ import annotations

import pytest

from tests.integration.api.conftest import Api
from tests.integration.api.test_mailboxes import mailbox_body

pytestmark = pytest.mark.integration


@pytest.fixture
def allow_private_targets() -> bool:
    return False


async def test_a_private_address_is_refused_when_saving(api: Api) -> None:
    body = mailbox_body(smtp={"host": "169.254.169.254", "port": 587})
    response = await api.client.post("/v1/mailboxes", json=body, headers=api.alice)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "target_not_allowed"
    assert error["field"] == "smtp.host"


async def test_a_connection_test_does_not_reach_loopback(api: Api) -> None:
    body = {
        "email": "demo@mailroom.test",
        "smtp": {"host": "localhost", "port": 587, "username": "demo", "password": "x"},
    }
    response = await api.client.post("/v1/connection-tests", json=body, headers=api.alice)
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["ok"] is False
    assert result["code"] == "invalid_server_or_port"
    assert result["smtp"]["stages"][-1]["stage"] == "dns"


async def test_discovery_does_not_probe_loopback(api: Api) -> None:
    body = {"email": "demo@mailroom.test", "host": "127.0.0.1", "ports": {"smtp": [25]}}
    response = await api.client.post("/v1/connection-tests/discover", json=body, headers=api.alice)
    assert response.status_code == 200, response.text
    assert response.json()["settings"] == []
