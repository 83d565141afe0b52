"""Watch the bus from a test: a private queue bound to some routing keys."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractQueue, AbstractRobustConnection


class EventTap:
    """Collects every message published with the given routing keys."""

    def __init__(self, amqp_url: str, namespace: str, routing_keys: list[str]) -> None:
        self._amqp_url = amqp_url
        self._namespace = namespace
        self._routing_keys = routing_keys
        self._connection: AbstractRobustConnection | None = None
        self._channel: AbstractChannel | None = None
        self._queue: AbstractQueue | None = None
        self.events: list[dict[str, Any]] = []

    async def __aenter__(self) -> EventTap:
        self._connection = await aio_pika.connect_robust(self._amqp_url)
        self._channel = await self._connection.channel()
        exchange = await self._channel.declare_exchange(
            self._namespace, aio_pika.ExchangeType.TOPIC, durable=True
        )
        self._queue = await self._channel.declare_queue(
            f"{self._namespace}.tap.{uuid.uuid4().hex[:8]}", exclusive=True, auto_delete=True
        )
        for key in self._routing_keys:
            await self._queue.bind(exchange, routing_key=key)
        await self._queue.consume(self._collect, no_ack=True)
        return self

    async def _collect(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        self.events.append(json.loads(message.body))

    def named(self, schema_name: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["schema"]["name"] == schema_name]

    async def wait_for(
        self, schema_name: str, count: int = 1, timeout: float = 20.0
    ) -> list[dict[str, Any]]:
        deadline = asyncio.get_running_loop().time() + timeout
        while len(self.named(schema_name)) < count:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(
                    f"expected {count} {schema_name} event(s), got {len(self.named(schema_name))}"
                )
            await asyncio.sleep(0.05)
        return self.named(schema_name)

    async def __aexit__(self, *exc: object) -> None:
        if self._connection is not None:
            await self._connection.close()
