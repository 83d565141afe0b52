"""`/readyz` while a service is still starting: checks are added as components come up."""

from __future__ import annotations

import asyncio

from mailroom.shared.runtime import ReadinessCheck, check_all


async def test_a_check_added_while_a_probe_awaits_another_counts_from_the_next_probe() -> None:
    checks: dict[str, ReadinessCheck] = {}

    async def store_ping() -> bool:
        # the consumer starts while the probe waits for the store's answer
        await asyncio.sleep(0)
        checks["consumer"] = lambda: False
        return True

    checks["store"] = store_ping

    assert await check_all(checks) == {"store": True}
    assert await check_all(checks) == {"store": True, "consumer": False}


async def test_a_failing_check_makes_its_component_not_ready() -> None:
    def broken() -> bool:
        raise ConnectionError("broker gone")

    assert await check_all({"broker": broken, "store": lambda: True}) == {
        "broker": False,
        "store": True,
    }
