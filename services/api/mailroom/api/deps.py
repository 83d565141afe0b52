"""What the route handlers get injected: the connected platform, settings, the caller."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from mailroom.api.errors import ApiError
from mailroom.api.metrics import ApiMetrics
from mailroom.api.settings import ApiSettings
from mailroom.api.tenants import tenant_for_key
from mailroom.shared.mailboxes import MailboxSecrets
from mailroom.shared.runtime import Platform

_USER_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9@._+:-]{0,199}")

_bearer = HTTPBearer(
    auto_error=False,
    description="The tenant's API key (`mailroom tenant create NAME` prints it once).",
)


@dataclass(frozen=True)
class Caller:
    """Who is asking: the tenant (from the API key) and the user within it."""

    tenant_id: str
    user: str


def get_platform(request: Request) -> Platform:
    connected: Platform | None = request.app.state.platform
    if connected is None:
        raise ApiError(503, "not_ready", "Mailroom is starting; try again in a few seconds.")
    return connected


def get_settings(request: Request) -> ApiSettings:
    settings: ApiSettings = request.app.state.settings
    return settings


def get_secrets(request: Request) -> MailboxSecrets:
    secrets: MailboxSecrets = request.app.state.secrets
    return secrets


def get_metrics(request: Request) -> ApiMetrics:
    metrics: ApiMetrics = request.app.state.metrics
    return metrics


PlatformDep = Annotated[Platform, Depends(get_platform)]
SettingsDep = Annotated[ApiSettings, Depends(get_settings)]
SecretsDep = Annotated[MailboxSecrets, Depends(get_secrets)]
MetricsDep = Annotated[ApiMetrics, Depends(get_metrics)]


async def get_caller(
    platform: PlatformDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    user: Annotated[
        str | None,
        Header(
            alias="X-Mailroom-User",
            description="The user acting within the tenant; owns the mailboxes they create.",
        ),
    ] = None,
) -> Caller:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise ApiError(401, "unauthorized", "Send the API key as 'Authorization: Bearer <key>'.")
    tenant_id = await tenant_for_key(platform.store, credentials.credentials)
    if tenant_id is None:
        raise ApiError(401, "unauthorized", "The API key is not valid.")
    if user is None or not _USER_PATTERN.fullmatch(user):
        raise ApiError(
            401,
            "unauthorized",
            "Send the acting user's id in the X-Mailroom-User header "
            "(letters, digits and @._+:-, at most 200).",
            field="X-Mailroom-User",
        )
    return Caller(tenant_id=tenant_id, user=user)


CallerDep = Annotated[Caller, Depends(get_caller)]
