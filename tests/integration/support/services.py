"""Run a service's `serve(settings, stop)` inside the test's event loop."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx

from mailroom.localinfra import free_port

__all__ = ["free_port", "running_service"]


@contextlib.asynccontextmanager
async def running_service(
    serve: Callable[[Any, asyncio.Event], Awaitable[None]], settings: Any, timeout: float = 30.0
) -> AsyncIterator[str]:
    """Start the service, wait until its /readyz says ready, yield its base URL, stop it."""
    stop = asyncio.Event()
    task = asyncio.create_task(serve(settings, stop))
    url = f"http://127.0.0.1:{settings.http_port}"
    deadline = asyncio.get_running_loop().time() + timeout
    async with httpx.AsyncClient() as client:
        while True:
            if task.done():
                task.result()
                raise AssertionError("service stopped during start-up")
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(f"{url}/readyz")).status_code == 200:
                    break
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"service at {url} not ready after {timeout}s")
            await asyncio.sleep(0.05)
    try:
        yield url
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=60)
