"""The FastAPI application: routers, JSON errors, OpenAPI at `/docs`."""

from __future__ import annotations

from fastapi import FastAPI

from mailroom.api.settings import ApiSettings


def create_app(settings: ApiSettings) -> FastAPI:
    app = FastAPI(
        title="Mailroom API",
        version="1",
        description="Connect mailboxes, test connections, send email, read outcomes.",
    )
    app.state.settings = settings
    app.state.platform = None
    return app
