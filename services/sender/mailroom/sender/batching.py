"""Coalesce the store operations of concurrently handled messages into one round trip.

Up to `prefetch` send requests are handled at once, and each needs the same few
store operations (look up, claim, record the outcome). Sent one by one,
every operation pays the store's per-command cost; a batch pays it once. A
`Batcher` gathers the calls that arrive while the previous batch is in flight and
sends them together: under light load a call goes out at once (no added delay),
under heavy load batches grow by themselves. Each caller still awaits its own
result, so the order "recorded, then published, then acked" holds per message.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")

# A batch operation returns, per item, its result or the exception for that item.
BatchRun = Callable[[list[Item]], Awaitable[Sequence[Result | BaseException]]]


class Batcher(Generic[Item, Result]):
    """Runs `run(items)` for everything submitted while the previous batch was running."""

    def __init__(self, run: BatchRun[Item, Result], max_batch: int = 500) -> None:
        self._run = run
        self._max_batch = max_batch
        self._pending: list[tuple[Item, asyncio.Future[Result]]] = []
        self._drainer: asyncio.Task[None] | None = None

    async def submit(self, item: Item) -> Result:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Result] = loop.create_future()
        self._pending.append((item, future))
        if self._drainer is None:
            self._drainer = loop.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        try:
            # Calls made in the same turn of the event loop join this first batch.
            await asyncio.sleep(0)
            while self._pending:
                batch = self._pending[: self._max_batch]
                del self._pending[: self._max_batch]
                await self._run_batch(batch)
        finally:
            self._drainer = None
            # Cancelled (shutdown) with calls waiting: they must not wait forever.
            for _, future in self._pending:
                if not future.done():
                    future.set_exception(RuntimeError("store batch abandoned at shutdown"))
            self._pending.clear()

    async def _run_batch(self, batch: list[tuple[Item, asyncio.Future[Result]]]) -> None:
        outcomes: Sequence[Result | BaseException]
        try:
            outcomes = await self._run([item for item, _ in batch])
        except asyncio.CancelledError as exc:
            for _, future in batch:
                with contextlib.suppress(asyncio.InvalidStateError):
                    future.set_exception(RuntimeError("store batch cancelled"))
            raise exc
        except Exception as exc:
            outcomes = [exc] * len(batch)
        for (_, future), outcome in zip(batch, outcomes, strict=True):
            if future.done():  # its caller was cancelled
                continue
            if isinstance(outcome, BaseException):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)
