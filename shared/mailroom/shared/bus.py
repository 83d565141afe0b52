"""The message bus: one durable topic exchange, one quorum queue per consumer group.

Topology for namespace `mailroom` (the exchange name; tests use a unique one):

- exchange `mailroom` (topic, durable): every event is published here with its
  schema name as routing key (`email.send.requested`, `email.sent`, ...).
- `mailroom.<group>`: the consumer group's durable quorum queue, bound to the
  routing keys its handlers accept. Replicas of a service share it, so each
  message goes to one of them. `x-delivery-limit` dead-letters a message that
  keeps killing its consumer (a crash loop never acks or nacks it).
- `mailroom.<group>.retry.<ms>`: one quorum queue per delay step of the retry
  ladder. A message waiting there expires after its TTL and is dead-lettered
  (at-least-once) straight back to `mailroom.<group>`, so a retry reaches only
  the group that failed, never the other subscribers of the event. One queue
  per step because a TTL queue only expires its head: mixed delays in one queue
  would hold short ones behind long ones.
- `mailroom.<group>.dlq`: messages that failed for good, with the error, the
  attempt count and the group in their headers. Nothing is dropped silently.

Delivery guarantees: publishes wait for the broker's confirm; a consumed message
is acked only after its handler returned (its own writes and publishes done) or
after its retry/dead-letter copy was confirmed. Handlers must therefore be
idempotent: a crash between the work and the ack redelivers the message.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import aio_pika
from aio_pika.abc import (
    AbstractChannel,
    AbstractExchange,
    AbstractIncomingMessage,
    AbstractQueue,
    AbstractRobustConnection,
)

from mailroom.shared.contracts import Message, parse_message
from mailroom.shared.errors import InvalidMessage, PermanentError, RetryableError
from mailroom.shared.logs import event_context
from mailroom.shared.metrics import BusMetrics

log = logging.getLogger(__name__)

MessageT = TypeVar("MessageT", bound=Message)
Handler = Callable[[Any], Awaitable[None]]
HandlerMap = Mapping[type[Message], Handler]

HEADER_ATTEMPT = "x-mailroom-attempt"
HEADER_ERROR = "x-mailroom-error"
HEADER_GROUP = "x-mailroom-group"
HEADER_FAILED_AT = "x-mailroom-failed-at"

# Crash redeliveries (no ack, no nack) before the broker dead-letters a message.
CRASH_DELIVERY_LIMIT = 5
# Keep error headers small: a stack of 10 KB per dead letter helps nobody.
_MAX_ERROR_CHARS = 2000
# A log line names the error; the retried message carries more of it in its headers.
_LOGGED_ERROR_CHARS = 300


@dataclass(frozen=True)
class Delivery:
    """What a handler may want to know about the message it is handling."""

    group: str
    attempt: int
    max_attempts: int
    redelivered: bool

    @property
    def is_last_attempt(self) -> bool:
        return self.attempt >= self.max_attempts


current_delivery: contextvars.ContextVar[Delivery | None] = contextvars.ContextVar(
    "current_delivery", default=None
)


def queue_name(namespace: str, group: str) -> str:
    return f"{namespace}.{group}"


def dead_letter_queue_name(namespace: str, group: str) -> str:
    return f"{namespace}.{group}.dlq"


def retry_queue_name(namespace: str, group: str, delay_ms: int) -> str:
    return f"{namespace}.{group}.retry.{delay_ms}"


def retry_steps_ms(delays_s: Sequence[float]) -> list[int]:
    """Every distinct step of the ladder in milliseconds: one retry queue each."""
    return sorted({max(1, int(d * 1000)) for d in delays_s})


def retry_step_ms(
    delays_s: Sequence[float], attempt: int, wanted_s: float | None, *, not_later: bool = False
) -> int:
    """The delay step for a retry after `attempt` failed attempts.

    Without a wish, the ladder's step for this attempt (the last step repeats).
    With one (e.g. a held mailbox's next look), the shortest step that waits at
    least that long, or the longest step if none does. With `not_later` (a window
    opening then), the longest step that does not wait longer, or the shortest
    step if every step does: several short waits rather than one that overshoots.
    """
    steps = [max(1, int(d * 1000)) for d in delays_s]
    if wanted_s is None:
        return steps[min(max(attempt, 1) - 1, len(steps) - 1)]
    wanted_ms = int(wanted_s * 1000)
    if not_later:
        within = [s for s in steps if s <= wanted_ms]
        return max(within) if within else min(steps)
    fitting = [s for s in sorted(steps) if s >= wanted_ms]
    return fitting[0] if fitting else max(steps)


class Bus:
    """A connection to RabbitMQ for publishing events and running consumer groups."""

    def __init__(
        self,
        amqp_url: str,
        *,
        namespace: str,
        service: str,
        metrics: BusMetrics,
        publish_timeout_s: float = 10.0,
    ) -> None:
        self._amqp_url = amqp_url
        self.namespace = namespace
        self.service = service
        self.metrics = metrics
        self._publish_timeout_s = publish_timeout_s
        self._connection: AbstractRobustConnection | None = None
        self._publish_channel: AbstractChannel | None = None
        self._exchange: AbstractExchange | None = None
        self._consumers: list[Consumer] = []
        self._published_by_schema: dict[str, Any] = {}  # metric series, looked up once each

    async def connect(self, *, timeout_s: float = 30.0) -> None:
        self._connection = await aio_pika.connect_robust(
            self._amqp_url,
            timeout=timeout_s,
            client_properties={"connection_name": f"mailroom-{self.service}"},
        )
        self._publish_channel = await self._connection.channel(publisher_confirms=True)
        self._exchange = await self._publish_channel.declare_exchange(
            self.namespace, aio_pika.ExchangeType.TOPIC, durable=True
        )

    @property
    def connection(self) -> AbstractRobustConnection:
        if self._connection is None:
            raise RuntimeError("Bus.connect() was not called")
        return self._connection

    def is_ready(self) -> bool:
        return (
            self._connection is not None
            and not self._connection.is_closed
            and self._publish_channel is not None
            and not self._publish_channel.is_closed
        )

    async def publish(self, message: Message) -> None:
        """Publish one event and wait until the broker has it (publisher confirm)."""
        if self._exchange is None:
            raise RuntimeError("Bus.connect() was not called")
        await self._exchange.publish(
            _to_amqp(message), routing_key=message.ROUTING_KEY, timeout=self._publish_timeout_s
        )
        counter = self._published_by_schema.get(message.SCHEMA_NAME)
        if counter is None:
            counter = self.metrics.published.labels(message.SCHEMA_NAME)
            self._published_by_schema[message.SCHEMA_NAME] = counter
        counter.inc()

    async def publish_many(self, messages: Sequence[Message]) -> None:
        """Publish several events with their confirms in flight together."""
        await asyncio.gather(*(self.publish(m) for m in messages))

    async def _publish_to_queue(
        self, queue: str, body: bytes, source: AbstractIncomingMessage, headers: dict[str, Any]
    ) -> None:
        """Copy a consumed message into one of the group's own queues, confirmed."""
        if self._publish_channel is None:
            raise RuntimeError("Bus.connect() was not called")
        copy = aio_pika.Message(
            body,
            content_type=source.content_type or "application/json",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            message_id=source.message_id,
            correlation_id=source.correlation_id,
            type=source.type,
            headers={**(source.headers or {}), **headers},
        )
        await self._publish_channel.default_exchange.publish(
            copy, routing_key=queue, mandatory=True, timeout=self._publish_timeout_s
        )

    def consumer(
        self,
        group: str,
        handlers: HandlerMap,
        *,
        prefetch: int,
        max_attempts: int,
        retry_delays_s: Sequence[float],
    ) -> Consumer:
        consumer = Consumer(
            self,
            group,
            handlers,
            prefetch=prefetch,
            max_attempts=max_attempts,
            retry_delays_s=retry_delays_s,
        )
        self._consumers.append(consumer)
        return consumer

    async def close(self) -> None:
        if self._connection is not None and not self._connection.is_closed:
            await self._connection.close()


class Consumer:
    """One consumer group's queue, handled by typed handlers, with retries and a DLQ."""

    def __init__(
        self,
        bus: Bus,
        group: str,
        handlers: HandlerMap,
        *,
        prefetch: int,
        max_attempts: int,
        retry_delays_s: Sequence[float],
    ) -> None:
        if not handlers:
            raise ValueError(f"consumer group {group!r} has no handlers")
        self.bus = bus
        self.group = group
        self._handlers: dict[str, tuple[type[Message], Handler]] = {
            t.SCHEMA_NAME: (t, h) for t, h in handlers.items()
        }
        self._prefetch = prefetch
        self._max_attempts = max_attempts
        self._retry_delays_s = tuple(retry_delays_s)
        self._channel: AbstractChannel | None = None
        self._queue: AbstractQueue | None = None
        self._consumer_tag: str | None = None
        self._in_flight: set[asyncio.Task[None]] = set()
        self._stopping = False
        self._meters_by_schema: dict[str, _GroupMeters] = {}

    @property
    def queue_name(self) -> str:
        return queue_name(self.bus.namespace, self.group)

    @property
    def dead_letter_queue_name(self) -> str:
        return dead_letter_queue_name(self.bus.namespace, self.group)

    async def declare(self) -> None:
        """Declare the group's queues and bindings (idempotent, same arguments each time)."""
        ns = self.bus.namespace
        self._channel = await self.bus.connection.channel(publisher_confirms=False)
        await self._channel.set_qos(prefetch_count=self._prefetch)
        exchange = await self._channel.declare_exchange(
            ns, aio_pika.ExchangeType.TOPIC, durable=True
        )
        await self._channel.declare_queue(
            self.dead_letter_queue_name, durable=True, arguments={"x-queue-type": "quorum"}
        )
        self._queue = await self._channel.declare_queue(
            self.queue_name,
            durable=True,
            arguments={
                "x-queue-type": "quorum",
                "x-delivery-limit": CRASH_DELIVERY_LIMIT,
                "x-dead-letter-exchange": "",
                "x-dead-letter-routing-key": self.dead_letter_queue_name,
            },
        )
        for schema_name in self._handlers:
            await self._queue.bind(exchange, routing_key=schema_name)
        for step_ms in retry_steps_ms(self._retry_delays_s):
            await self._channel.declare_queue(
                retry_queue_name(ns, self.group, step_ms),
                durable=True,
                arguments={
                    "x-queue-type": "quorum",
                    "x-message-ttl": step_ms,
                    "x-dead-letter-exchange": "",
                    "x-dead-letter-routing-key": self.queue_name,
                    # Expired messages must reach the work queue even if a node fails
                    # mid-way; at-least-once dead-lettering requires reject-publish.
                    "x-dead-letter-strategy": "at-least-once",
                    "x-overflow": "reject-publish",
                },
            )

    async def start(self) -> None:
        if self._queue is None:
            await self.declare()
        assert self._queue is not None
        self._consumer_tag = await self._queue.consume(self._on_message, no_ack=False)
        log.info(
            "consuming",
            extra={"group": self.group, "queue": self.queue_name, "schemas": list(self._handlers)},
        )

    def is_ready(self) -> bool:
        return self._channel is not None and not self._channel.is_closed and not self._stopping

    async def stop(self, drain_s: float) -> None:
        """Stop taking messages, let in-flight ones finish for up to `drain_s` seconds.

        What has not finished by then stays unacked and is redelivered to another
        replica when the channel closes.
        """
        self._stopping = True
        if self._queue is not None and self._consumer_tag is not None:
            try:
                await self._queue.cancel(self._consumer_tag)
            except Exception:  # the channel may already be gone; redelivery covers it
                log.warning("could not cancel consumer", exc_info=True, extra={"group": self.group})
        if self._in_flight:
            log.info("draining", extra={"group": self.group, "in_flight": len(self._in_flight)})
            _, pending = await asyncio.wait(set(self._in_flight), timeout=drain_s)
            for task in pending:
                task.cancel()
            if pending:
                log.warning(
                    "drain timed out; unfinished messages will be redelivered",
                    extra={"group": self.group, "unfinished": len(pending)},
                )
                await asyncio.gather(*pending, return_exceptions=True)
        if self._channel is not None and not self._channel.is_closed:
            await self._channel.close()

    async def _on_message(self, incoming: AbstractIncomingMessage) -> None:
        # Handle concurrently up to the prefetch bound; the broker stops
        # delivering when `prefetch` messages are unacked.
        task = asyncio.create_task(self._handle(incoming))
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)

    async def _handle(self, incoming: AbstractIncomingMessage) -> None:
        headers = incoming.headers or {}
        attempt = _int_header(headers.get(HEADER_ATTEMPT), default=1)
        parsed = await self._parse(incoming, attempt)
        if parsed is None:
            return  # dead-lettered: no handler can take it
        schema_name, event, handler = parsed

        delivery = Delivery(self.group, attempt, self._max_attempts, bool(incoming.redelivered))
        token = current_delivery.set(delivery)
        meters = self._meters(schema_name)
        meters.in_flight.inc()
        started = time.perf_counter()
        try:
            with event_context(event.event_id, event.trace_id):
                outcome = await self._run_handler(handler, event, incoming, schema_name, attempt)
        finally:
            meters.in_flight.dec()
            meters.handler_seconds.observe(time.perf_counter() - started)
            current_delivery.reset(token)
        meters.outcome(outcome).inc()

    async def _parse(
        self, incoming: AbstractIncomingMessage, attempt: int
    ) -> tuple[str, Message, Handler] | None:
        """The message's schema, validated event and handler; None once dead-lettered.

        Mailroom's publishers (and well-behaved producers) name the schema in the AMQP
        `type` property, which saves reading the body twice; without it, or when the
        body contradicts it, the body's `schema.name` decides.
        """
        body_schema: str | None = None
        schema_name = incoming.type
        if schema_name is None or schema_name not in self._handlers:
            schema_name = body_schema = _schema_name(incoming.body) or incoming.type or "unknown"
        while True:
            entry = self._handlers.get(schema_name)
            if entry is None:
                error = f"no handler for schema {schema_name!r}"
                await self._refuse(incoming, schema_name, attempt, error)
                return None
            message_type, handler = entry
            try:
                return schema_name, parse_message(incoming.body, message_type), handler
            except InvalidMessage as exc:
                if body_schema is None:
                    body_schema = _schema_name(incoming.body)
                    if body_schema is not None and body_schema != schema_name:
                        schema_name = body_schema
                        continue
                await self._refuse(incoming, schema_name, attempt, str(exc))
                return None

    async def _refuse(
        self, incoming: AbstractIncomingMessage, schema_name: str, attempt: int, error: str
    ) -> None:
        """Dead-letter a message no handler can take (unknown schema, invalid body)."""
        await self._dead_letter(incoming, schema_name, attempt, error)
        self.bus.metrics.messages.labels(self.group, schema_name, "invalid").inc()

    def _meters(self, schema_name: str) -> _GroupMeters:
        meters = self._meters_by_schema.get(schema_name)
        if meters is None:
            meters = _GroupMeters(self.bus.metrics, self.group, schema_name)
            self._meters_by_schema[schema_name] = meters
        return meters

    async def _run_handler(
        self,
        handler: Handler,
        event: Message,
        incoming: AbstractIncomingMessage,
        schema_name: str,
        attempt: int,
    ) -> str:
        try:
            await handler(event)
        except RetryableError as exc:
            next_attempt = attempt + 1 if exc.counts_as_attempt else attempt
            if exc.counts_as_attempt and attempt >= self._max_attempts:
                await self._dead_letter(
                    incoming, schema_name, attempt, f"gave up after {attempt} attempts: {exc}"
                )
                return "dead_letter"
            await self._retry(
                incoming, next_attempt, attempt, exc.delay_s, str(exc), not_later=exc.not_later
            )
            return "retry"
        except PermanentError as exc:
            await self._dead_letter(incoming, schema_name, attempt, str(exc))
            return "dead_letter"
        except Exception as exc:
            # A bug or an unexpected library error: retry like a transient failure,
            # so a fix deployed meanwhile can still handle the message.
            log.exception("handler failed", extra={"group": self.group, "attempt": attempt})
            if attempt >= self._max_attempts:
                await self._dead_letter(
                    incoming, schema_name, attempt, f"{type(exc).__name__}: {exc}"
                )
                return "dead_letter"
            await self._retry(incoming, attempt + 1, attempt, None, f"{type(exc).__name__}: {exc}")
            return "retry"
        await incoming.ack()
        return "ok"

    async def _retry(
        self,
        incoming: AbstractIncomingMessage,
        next_attempt: int,
        failed_attempts: int,
        delay_s: float | None,
        error: str,
        *,
        not_later: bool = False,
    ) -> None:
        step_ms = retry_step_ms(self._retry_delays_s, failed_attempts, delay_s, not_later=not_later)
        await self.bus._publish_to_queue(
            retry_queue_name(self.bus.namespace, self.group, step_ms),
            incoming.body,
            incoming,
            {HEADER_ATTEMPT: next_attempt, HEADER_ERROR: error[:_MAX_ERROR_CHARS]},
        )
        await incoming.ack()
        log.warning(
            "retrying later",
            extra={
                "group": self.group,
                "attempt": failed_attempts,
                "delay_ms": step_ms,
                "error": error[:_LOGGED_ERROR_CHARS],
            },
        )

    async def _dead_letter(
        self, incoming: AbstractIncomingMessage, schema_name: str, attempt: int, error: str
    ) -> None:
        await self.bus._publish_to_queue(
            self.dead_letter_queue_name,
            incoming.body,
            incoming,
            {
                HEADER_ATTEMPT: attempt,
                HEADER_ERROR: error[:_MAX_ERROR_CHARS],
                HEADER_GROUP: self.group,
                HEADER_FAILED_AT: int(time.time()),
            },
        )
        await incoming.ack()
        self.bus.metrics.dead_lettered.labels(self.group, schema_name).inc()
        log.error(
            "dead-lettered",
            extra={"group": self.group, "schema": schema_name, "attempt": attempt, "error": error},
        )


class _GroupMeters:
    """A consumer group's metric series for one schema, looked up once rather than per
    message (`labels()` costs a lock and a dictionary lookup each time)."""

    def __init__(self, metrics: BusMetrics, group: str, schema_name: str) -> None:
        self.in_flight = metrics.in_flight.labels(group)
        self.handler_seconds = metrics.handler_seconds.labels(group, schema_name)
        self._messages = metrics.messages
        self._labels = (group, schema_name)
        self._by_outcome: dict[str, Any] = {}

    def outcome(self, outcome: str) -> Any:
        counter = self._by_outcome.get(outcome)
        if counter is None:
            counter = self._by_outcome[outcome] = self._messages.labels(*self._labels, outcome)
        return counter


def _to_amqp(message: Message) -> aio_pika.Message:
    return aio_pika.Message(
        message.to_json(),
        content_type="application/json",
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        message_id=message.event_id,
        correlation_id=message.trace_id,
        type=message.SCHEMA_NAME,
        headers={"x-mailroom-schema-version": message.SCHEMA_VERSION},
    )


def _schema_name(body: bytes) -> str | None:
    try:
        data = json.loads(body)
        name = data["schema"]["name"]
    except (ValueError, KeyError, TypeError):
        return None
    return name if isinstance(name, str) else None


def _int_header(value: object, *, default: int) -> int:
    if isinstance(value, int) and value >= 1:
        return value
    return default
