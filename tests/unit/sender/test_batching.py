"""The store-operation batcher: calls made together go out together, results per caller."""

from __future__ import annotations

import asyncio

import pytest

from mailroom.sender.batching import Batcher


async def test_concurrent_calls_share_one_batch_and_get_their_own_results() -> None:
    batches: list[list[int]] = []

    async def double(items: list[int]) -> list[int | BaseException]:
        batches.append(items)
        await asyncio.sleep(0)
        return [item * 2 for item in items]

    batcher: Batcher[int, int] = Batcher(double)
    results = await asyncio.gather(*(batcher.submit(n) for n in range(10)))
    assert results == [n * 2 for n in range(10)]
    assert batches == [list(range(10))]


async def test_calls_arriving_during_a_batch_form_the_next_one() -> None:
    batches: list[list[int]] = []
    release = asyncio.Event()

    async def run(items: list[int]) -> list[int | BaseException]:
        batches.append(items)
        if len(batches) == 1:
            await release.wait()
        return list(items)

    batcher: Batcher[int, int] = Batcher(run)
    first = asyncio.ensure_future(batcher.submit(1))
    while not batches:
        await asyncio.sleep(0)
    later = [asyncio.ensure_future(batcher.submit(n)) for n in (2, 3)]
    await asyncio.sleep(0)
    release.set()
    assert await first == 1
    assert await asyncio.gather(*later) == [2, 3]
    assert batches == [[1], [2, 3]]


async def test_an_item_error_goes_to_its_caller_only_and_a_batch_error_to_all() -> None:
    async def run(items: list[int]) -> list[int | BaseException]:
        if 99 in items:
            raise ConnectionError("store down")
        return [ValueError(f"bad {i}") if i < 0 else i for i in items]

    batcher: Batcher[int, int] = Batcher(run)
    ok, bad = await asyncio.gather(batcher.submit(1), batcher.submit(-1), return_exceptions=True)
    assert ok == 1
    assert isinstance(bad, ValueError)
    with pytest.raises(ConnectionError):
        await batcher.submit(99)
    assert await batcher.submit(5) == 5


async def test_batches_are_capped() -> None:
    sizes: list[int] = []

    async def run(items: list[int]) -> list[int | BaseException]:
        sizes.append(len(items))
        return list(items)

    batcher: Batcher[int, int] = Batcher(run, max_batch=4)
    await asyncio.gather(*(batcher.submit(n) for n in range(10)))
    assert sizes == [4, 4, 2]
