"""Waiting for something that happens in another process: poll until it is there."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

DEFAULT_TIMEOUT_S = 30.0


async def eventually(
    check: Callable[[], Any], timeout: float = DEFAULT_TIMEOUT_S, what: str = ""
) -> Any:
    """Call `check` (plain or async) until it returns something truthy, and return that.

    Fails with `what` (or the check's name) once `timeout` seconds have passed.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if loop.time() > deadline:
            described = what or getattr(check, "__name__", repr(check))
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {described}")
        await asyncio.sleep(0.05)
