"""The FastAPI application: routers, JSON errors, request metrics, OpenAPI at `/docs`."""

from __future__ import annotations

import logging
import time

from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mailroom.api import connection_tests, contacts, mailboxes, messages, oauth
from mailroom.api.errors import install_error_handlers
from mailroom.api.metrics import ApiMetrics
from mailroom.api.settings import ApiSettings
from mailroom.shared.crypto import EnvelopeCipher
from mailroom.shared.mailboxes import MailboxSecrets
from mailroom.shared.metrics import new_registry

log = logging.getLogger(__name__)


def create_app(settings: ApiSettings, registry: CollectorRegistry | None = None) -> FastAPI:
    """The API, not yet connected: every endpoint answers 503 until `app.state.platform` is set.

    Fails fast (CryptoConfigError) when no encryption key is configured, since no
    mailbox could be saved without one.
    """
    app = FastAPI(
        title="Mailroom API",
        version="1",
        description=(
            "Connect mailboxes, test connections, send email, read outcomes. Every request "
            "carries `Authorization: Bearer <API key>` (the tenant) and `X-Mailroom-User` "
            '(the user within it). Errors are JSON: `{"error": {"code", "message", '
            '"field"}}`.'
        ),
    )
    app.state.settings = settings
    app.state.platform = None
    app.state.secrets = MailboxSecrets(EnvelopeCipher.from_settings(settings))
    metrics = ApiMetrics(registry if registry is not None else new_registry())
    app.state.metrics = metrics
    install_error_handlers(app)
    for module in (mailboxes, connection_tests, messages, contacts, oauth):
        app.include_router(module.router)
    app.add_middleware(RequestMetrics, metrics=metrics)
    return app


# Routes that the runtime adds beside the API's own (not FastAPI routes).
_HEALTH_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


def route_label(scope: Scope) -> str:
    """The route template (`/v1/mailboxes/{mailbox_id}`), never the raw path with its ids."""
    template = getattr(scope.get("route"), "path", None)
    if isinstance(template, str):
        return template
    path = scope.get("path", "")
    return path if path in _HEALTH_PATHS or path in ("/docs", "/openapi.json") else "unmatched"


class RequestMetrics:
    """Counts and times every request by its route template (never the raw path)."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        self.metrics.in_flight.inc()
        try:
            await self.app(scope, receive, send_with_status)
        finally:
            self.metrics.in_flight.dec()
            route = route_label(scope)
            method = scope["method"]
            elapsed = time.perf_counter() - started
            self.metrics.requests.labels(route, method, str(status)).inc()
            self.metrics.request_seconds.labels(route, method).observe(elapsed)
            log.info(
                "request",
                extra={
                    "method": method,
                    "route": route,
                    "status": status,
                    "ms": round(elapsed * 1000, 1),
                },
            )
