"""How every service process runs: uvloop, signals, a health server, connections.

A service's `main.py` only wires: load settings, configure logs, then
`run_service(name, serve)` where `serve(stop)` builds the service's parts and
returns when `stop` is set (SIGTERM or SIGINT). `/healthz`, `/readyz` and
`/metrics` are served on the service's own port from the start, so Kubernetes
sees a live but not-ready pod while the broker or store is still unreachable.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass

import uvicorn
from prometheus_client import CollectorRegistry
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mailroom.shared.bus import Bus, HandlerMap
from mailroom.shared.collections import INDEXES, RETIRED_INDEXES
from mailroom.shared.metrics import (
    CONTENT_TYPE_LATEST,
    BusMetrics,
    ReadinessMetrics,
    new_registry,
    render,
)
from mailroom.shared.settings import CommonSettings
from mailroom.shared.store import Store

log = logging.getLogger(__name__)

ReadinessCheck = Callable[[], bool | Awaitable[bool]]
Serve = Callable[[asyncio.Event], Awaitable[None]]


def run_service(name: str, serve: Serve) -> int:
    """Run `serve(stop)` on uvloop until it returns; SIGTERM/SIGINT set `stop`."""

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, _request_stop, stop, sig)
        await serve(stop)

    try:
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            runner.run(main())
    except KeyboardInterrupt:  # a second Ctrl-C while draining
        return 130
    log.info("stopped", extra={"service": name})
    return 0


def _request_stop(stop: asyncio.Event, sig: signal.Signals) -> None:
    if stop.is_set():
        # Second signal: the operator insists. Leave unfinished work to redelivery.
        raise KeyboardInterrupt
    log.info("stopping", extra={"signal": sig.name})
    stop.set()


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    if sys.platform == "win32":
        return None
    import uvloop

    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


async def check_all(checks: Mapping[str, ReadinessCheck]) -> dict[str, bool]:
    results: dict[str, bool] = {}
    # A service adds checks as it starts (the consumer's, once it consumes) while a
    # probe may be awaiting the store's ping: a check added meanwhile counts from
    # the next probe on.
    for name, check in list(checks.items()):
        try:
            outcome = check()
            results[name] = bool(await outcome) if inspect.isawaitable(outcome) else bool(outcome)
        except Exception:
            log.warning("readiness check failed", exc_info=True, extra={"component": name})
            results[name] = False
    return results


def health_routes(registry: CollectorRegistry, checks: Mapping[str, ReadinessCheck]) -> list[Route]:
    """`/healthz`, `/readyz` and `/metrics`, for the health server and the API app alike."""
    readiness = ReadinessMetrics(registry)

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "alive"})

    async def readyz(_: Request) -> Response:
        results = await check_all(checks)
        for component, ok in results.items():
            readiness.ready.labels(component).set(1 if ok else 0)
        ready = all(results.values())
        return JSONResponse(
            {"status": "ready" if ready else "not ready", "checks": results},
            status_code=200 if ready else 503,
        )

    async def metrics(_: Request) -> Response:
        return Response(render(registry), media_type=CONTENT_TYPE_LATEST)

    return [
        Route("/healthz", healthz, include_in_schema=False),
        Route("/readyz", readyz, include_in_schema=False),
        Route("/metrics", metrics, include_in_schema=False),
    ]


class EmbeddedServer(uvicorn.Server):
    """uvicorn inside a service that owns its signals (uvicorn would take them)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.asynccontextmanager
async def http_server(app: Starlette, host: str, port: int) -> AsyncIterator[EmbeddedServer]:
    """Serve `app` until the block exits; fails fast if the port is taken."""
    config = uvicorn.Config(
        app, host=host, port=port, log_config=None, access_log=False, lifespan="off"
    )
    server = EmbeddedServer(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            # uvicorn exits (SystemExit) when it cannot bind; say which port.
            with contextlib.suppress(BaseException):
                task.result()
            raise RuntimeError(f"cannot serve HTTP on {host}:{port} (port in use?)")
        await asyncio.sleep(0.01)
    log.info("http listening", extra={"host": host, "port": port})
    try:
        yield server
    finally:
        server.should_exit = True
        await task


@dataclass
class Platform:
    """The connections and metrics registry every service gets from `platform()`.

    `/readyz` stays 503 until the service calls `mark_started()` (run_consumer does,
    once its queue is declared and consuming): a replica that is connected but not
    yet consuming must not look ready, or a rollout would route work to nobody.
    """

    bus: Bus
    store: Store
    registry: CollectorRegistry
    checks: dict[str, ReadinessCheck]
    started: bool = False

    def mark_started(self) -> None:
        self.started = True


@contextlib.asynccontextmanager
async def platform(
    service: str,
    settings: CommonSettings,
    port: int,
    stop: asyncio.Event,
    *,
    registry: CollectorRegistry | None = None,
    app: Starlette | None = None,
) -> AsyncIterator[Platform | None]:
    """Start the HTTP server, then connect to the store and the broker.

    The health routes are added to `app` when given (the API serves them beside
    its own routes), else to a bare app. Retries the connections with backoff
    until they answer (the pod is live but not ready meanwhile); yields None if
    `stop` is set before that.
    """
    registry = registry or new_registry()
    store = Store(settings.mongo_url.get_secret_value(), settings.mongo_db, app_name=service)
    bus = Bus(
        settings.amqp_url.get_secret_value(),
        namespace=settings.bus_namespace,
        service=service,
        metrics=BusMetrics(registry),
    )
    checks: dict[str, ReadinessCheck] = {"broker": bus.is_ready, "store": store.ping}
    async with contextlib.AsyncExitStack() as stack:
        if app is None:
            app = Starlette()
        app.router.routes.extend(health_routes(registry, checks))
        await stack.enter_async_context(http_server(app, settings.http_host, port))
        stack.push_async_callback(store.close)
        stack.push_async_callback(bus.close)
        connected = await _connect_with_backoff(service, store, bus, stop)
        if not connected:
            yield None
            return
        running = Platform(bus, store, registry, checks)
        checks["started"] = lambda: running.started
        yield running


async def _connect_with_backoff(service: str, store: Store, bus: Bus, stop: asyncio.Event) -> bool:
    delay = 0.5
    while not stop.is_set():
        try:
            await store.connect()
            await store.ensure_indexes(INDEXES, RETIRED_INDEXES)
            await bus.connect()
        except Exception as exc:
            log.warning(
                "dependencies not reachable yet; retrying",
                extra={
                    "service": service,
                    "error": f"{type(exc).__name__}: {exc}",
                    "retry_s": delay,
                },
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=delay)
            delay = min(delay * 2, 15.0)
            continue
        log.info("connected to broker and store", extra={"service": service})
        return True
    return False


async def run_consumer(
    platform: Platform,
    group: str,
    handlers: HandlerMap,
    settings: CommonSettings,
    stop: asyncio.Event,
) -> None:
    """Consume the group's queue until `stop`, then drain in-flight messages."""
    consumer = platform.bus.consumer(
        group,
        handlers,
        prefetch=settings.prefetch,
        max_attempts=settings.max_attempts,
        retry_delays_s=settings.retry_delays,
    )
    await consumer.start()
    platform.checks["consumer"] = consumer.is_ready
    platform.mark_started()
    await stop.wait()
    await consumer.stop(settings.drain_seconds)
