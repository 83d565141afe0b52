"""Requests generated from the OpenAPI document, valid and invalid, never get a 500.

Schemathesis generates the requests; they are sent in-process to the ASGI app on
the test's event loop (where its MongoDB and RabbitMQ clients live), while
Hypothesis drives the examples from a worker thread.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.core.result import Err

from tests.integration.api.conftest import Api
from tests.integration.api.test_mailboxes import create

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

EXAMPLES_PER_OPERATION = 25
# Operations that open network connections get fewer examples (each may wait for a timeout).
NETWORK_OPERATIONS = {"/v1/connection-tests", "/v1/connection-tests/discover"}


@pytest.fixture
def allow_private_targets() -> bool:
    return False  # generated hosts must not reach anything on this machine


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"connection_test_timeout_s": 2, "discover_budget_s": 1, "round_trip_timeout_s": 2}


def _httpx_kwargs(case: Any, headers: dict[str, str], mailbox_id: str) -> dict[str, Any]:
    if "mailbox_id" in (case.path_parameters or {}) and case.method.upper() != "DELETE":
        # Random ids only ever reach the 404; the real one exercises the handlers.
        case.path_parameters = {**case.path_parameters, "mailbox_id": mailbox_id}
    kwargs: dict[str, Any] = case.as_transport_kwargs(base_url="http://api.test")
    kwargs["headers"] = {**kwargs.get("headers", {}), **headers}
    if "data" in kwargs:
        data = kwargs.pop("data")
        kwargs["content"] = data.encode() if isinstance(data, str) else data
    kwargs.pop("cookies", None)
    return kwargs


async def test_generated_requests_never_get_a_500(api: Api) -> None:
    mailbox = await create(api, api.alice)
    schema = schemathesis.openapi.from_dict(api.app.openapi())
    loop = asyncio.get_running_loop()
    server_errors: list[str] = []

    def send(kwargs: dict[str, Any]) -> httpx.Response:
        future = asyncio.run_coroutine_threadsafe(api.client.request(**kwargs), loop)
        return future.result(timeout=60)

    def fuzz_operation(operation: Any) -> None:
        examples = EXAMPLES_PER_OPERATION
        if operation.path in NETWORK_OPERATIONS or operation.path.endswith("/test"):
            examples = 8

        cases = st.one_of(
            operation.as_strategy(GenerationMode.POSITIVE),
            operation.as_strategy(GenerationMode.NEGATIVE),
        )

        @settings(
            max_examples=examples,
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=cases, use_real_user=st.booleans())
        def check(case: Any, use_real_user: bool) -> None:
            headers = api.alice if use_real_user else api.as_user(api.key_a, "fuzz-user")
            response = send(_httpx_kwargs(case, headers, mailbox["id"]))
            if response.status_code >= 500:
                server_errors.append(f"{case.method} {case.path}: {response.text[:300]}")
            assert response.status_code < 500
            assert "error" in response.json() if response.status_code >= 400 else True

        check()

    def run_all() -> None:
        for result in schema.get_all_operations():
            if isinstance(result, Err):
                raise AssertionError(f"the OpenAPI document is invalid: {result.err()}")
            fuzz_operation(result.ok())

    await asyncio.to_thread(run_all)
    assert server_errors == []
