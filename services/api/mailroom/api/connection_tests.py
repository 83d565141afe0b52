"""Connection tests and settings discovery, over `mailroom.shared.mailconn`.

`POST /v1/mailboxes/{id}/test` tests a saved mailbox and moves its state;
`POST /v1/connection-tests` tests settings that are not saved yet. Both run the
SMTP and the incoming test side by side, optionally a round trip, and store the
result (never a password: the reports are scrubbed and the stored settings
carry none) in `connection_tests`.
"""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path
from pydantic import BaseModel, Field, SecretStr

from mailroom.api.deps import Caller, CallerDep, MetricsDep, PlatformDep, SecretsDep, SettingsDep
from mailroom.api.errors import ApiError, ErrorResponse, not_found
from mailroom.api.mailboxes import find_visible, visible_to
from mailroom.api.metrics import ApiMetrics
from mailroom.api.models import Email, Host, IncomingIn, Port, SmtpIn, TlsIn, _Strict
from mailroom.api.settings import ApiSettings
from mailroom.shared.collections import CONNECTION_TESTS, MAILBOXES
from mailroom.shared.contracts import MailboxState
from mailroom.shared.mailboxes import MailboxRecord, MailboxSecrets, record_failure, record_success
from mailroom.shared.mailconn.diagnose import (
    ConnectionSettings,
    DiagnosisReport,
    StageResult,
    diagnose,
    round_trip,
)
from mailroom.shared.mailconn.discover import DiscoveredSetting, discover
from mailroom.shared.mailconn.failures import FailureCode

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorResponse, "description": "Missing or invalid API key or user."},
    422: {"model": ErrorResponse, "description": "Invalid input; `field` names it."},
}

router = APIRouter(tags=["connection tests"], responses=ERRORS)

# Codes that mean the server refused these credentials (the user must act), as
# opposed to network or server trouble that retrying may cure.
CREDENTIALS_REJECTED: frozenset[str] = frozenset({"authentication_failed", "provider_policy"})
NEEDS_ATTENTION: frozenset[str] = frozenset({"imap_server_not_supported"})


# --------------------------------------------------------------------------- bodies


class MailboxTestRequest(_Strict):
    """Options of a saved mailbox's test."""

    round_trip: bool = Field(
        False,
        description="Also send a test message to the mailbox's own address and wait for it "
        "to arrive over IMAP/POP3 (needs incoming settings).",
    )


class ConnectionTestRequest(_Strict):
    """Settings to test before saving them (the same shape as a mailbox's)."""

    email: Email | None = Field(None, description="The mailbox's address (SMTP sender check).")
    smtp: SmtpIn | None = None
    incoming: IncomingIn | None = None
    tls: TlsIn = Field(default_factory=TlsIn)
    round_trip: bool = Field(False, description="Send a test message and wait for it.")


class ConnectionTestResult(BaseModel):
    """The outcome: ok only when every tested server passed every stage."""

    id: str
    mailbox_id: str | None
    ok: bool
    code: FailureCode | None = Field(description="The first failure's code, if any.")
    smtp: DiagnosisReport | None
    incoming: DiagnosisReport | None
    round_trip: StageResult | None
    mailbox_state: MailboxState | None = Field(
        None, description="The mailbox's state after this test (saved mailboxes only)."
    )
    started_at: datetime
    finished_at: datetime


class ConnectionTestList(BaseModel):
    items: list[ConnectionTestResult]


class DiscoverPorts(_Strict):
    """Ports to try instead of the usual ones (each with ssl, starttls and none)."""

    smtp: list[Port] = Field(default_factory=list, max_length=8)
    imap: list[Port] = Field(default_factory=list, max_length=8)
    pop3: list[Port] = Field(default_factory=list, max_length=8)


class DiscoverRequest(_Strict):
    """Find the working server settings for an address."""

    email: Email
    host: Host | None = Field(None, description="Probe only this host.")
    ports: DiscoverPorts | None = None


class DiscoverResult(BaseModel):
    """Combinations that answered like a mail server, best first (no login was tried)."""

    settings: list[DiscoveredSetting]


# --------------------------------------------------------------------------- the work


def connection_settings(
    body: ConnectionTestRequest,
) -> tuple[ConnectionSettings | None, ConnectionSettings | None]:
    """`ConnectionSettings` for each side of an unsaved configuration."""
    tls = body.tls
    smtp = incoming = None
    if body.smtp is not None:
        smtp = ConnectionSettings(
            protocol="smtp",
            host=body.smtp.host,
            port=body.smtp.port,
            security=body.smtp.security,
            username=body.smtp.username or body.email or "",
            password=body.smtp.password,
            authenticate=body.smtp.authenticate,
            ca_pem=tls.ca_pem,
            verify_tls=tls.verify,
            email=body.email,
        )
    if body.incoming is not None:
        incoming = ConnectionSettings(
            protocol=body.incoming.protocol,
            host=body.incoming.host,
            port=body.incoming.port,
            security=body.incoming.security,
            username=body.incoming.username or body.email or "",
            password=body.incoming.password,
            ca_pem=tls.ca_pem,
            verify_tls=tls.verify,
            email=body.email,
        )
    return smtp, incoming


def mailbox_connection_settings(
    mailbox: MailboxRecord, cipher: MailboxSecrets
) -> tuple[ConnectionSettings | None, ConnectionSettings | None]:
    """`ConnectionSettings` for a saved mailbox, its secrets decrypted just for the test."""
    token_text = cipher.decrypt(mailbox, "oauth_access_token")
    token = SecretStr(token_text) if mailbox.auth_method == "oauth2" and token_text else None
    smtp = incoming = None
    if mailbox.smtp is not None:
        password = cipher.decrypt(mailbox, "smtp_password")
        smtp = ConnectionSettings(
            protocol="smtp",
            host=mailbox.smtp.host,
            port=mailbox.smtp.port,
            security=mailbox.smtp.security,
            username=mailbox.smtp.username or mailbox.email,
            password=SecretStr(password) if password else None,
            authenticate=mailbox.smtp.authenticate,
            ca_pem=mailbox.tls.ca_pem,
            verify_tls=mailbox.tls.verify,
            oauth_access_token=token,
            email=mailbox.email,
        )
    if mailbox.incoming is not None:
        password = cipher.decrypt(mailbox, "incoming_password")
        incoming = ConnectionSettings(
            protocol=mailbox.incoming.protocol,
            host=mailbox.incoming.host,
            port=mailbox.incoming.port,
            security=mailbox.incoming.security,
            username=mailbox.incoming.username or mailbox.email,
            password=SecretStr(password) if password else None,
            ca_pem=mailbox.tls.ca_pem,
            verify_tls=mailbox.tls.verify,
            oauth_access_token=token,
            email=mailbox.email,
        )
    return smtp, incoming


async def run_connection_test(
    smtp: ConnectionSettings | None,
    incoming: ConnectionSettings | None,
    *,
    email: str | None,
    want_round_trip: bool,
    settings: ApiSettings,
    metrics: ApiMetrics,
) -> tuple[DiagnosisReport | None, DiagnosisReport | None, StageResult | None]:
    """Test both sides concurrently; the round trip only when both passed."""

    async def one(side: ConnectionSettings | None) -> DiagnosisReport | None:
        if side is None:
            return None
        report = await diagnose(
            side,
            timeout_s=settings.connection_test_timeout_s,
            allow_private=settings.allow_private_targets,
        )
        metrics.connection_tests.labels(side.protocol, report.code or "ok").inc()
        return report

    smtp_report, incoming_report = await asyncio.gather(one(smtp), one(incoming))
    trip: StageResult | None = None
    if (
        want_round_trip
        and smtp is not None
        and incoming is not None
        and email
        and smtp_report is not None
        and smtp_report.ok
        and incoming_report is not None
        and incoming_report.ok
    ):
        trip = await round_trip(
            smtp,
            incoming,
            email,
            timeout_s=settings.round_trip_timeout_s,
            allow_private=settings.allow_private_targets,
        )
        metrics.connection_tests.labels("round_trip", trip.code or "ok").inc()
    return smtp_report, incoming_report, trip


def first_failure(
    smtp: DiagnosisReport | None, incoming: DiagnosisReport | None, trip: StageResult | None
) -> tuple[str, StageResult] | None:
    """Which side failed first, and its failed stage."""
    for side, report in (("SMTP", smtp), ("Incoming mail", incoming)):
        if report is not None and not report.ok:
            failed = next(s for s in report.stages if not s.ok)
            return side, failed
    if trip is not None and not trip.ok:
        return "Round trip", trip
    return None


async def store_result(
    platform_store: Any,
    caller: Caller,
    mailbox_id: str | None,
    smtp: DiagnosisReport | None,
    incoming: DiagnosisReport | None,
    trip: StageResult | None,
    started_at: datetime,
    mailbox_state: MailboxState | None,
    tested: dict[str, Any],
) -> ConnectionTestResult:
    failure = first_failure(smtp, incoming, trip)
    result = ConnectionTestResult(
        id=f"ct_{secrets.token_hex(12)}",
        mailbox_id=mailbox_id,
        ok=failure is None,
        code=failure[1].code if failure else None,
        smtp=smtp,
        incoming=incoming,
        round_trip=trip,
        mailbox_state=mailbox_state,
        started_at=started_at,
        finished_at=datetime.now(UTC),
    )
    document = result.model_dump(mode="python")
    document["_id"] = document.pop("id")
    document |= {"tenant_id": caller.tenant_id, "requested_by": caller.user, "tested": tested}
    await platform_store.collection(CONNECTION_TESTS).insert_one(document)
    return result


def tested_summary(*sides: ConnectionSettings | None) -> dict[str, Any]:
    """What was tested, for the stored record: servers and users, never secrets."""
    return {
        side.protocol: side.model_dump(include={"host", "port", "security", "username"})
        for side in sides
        if side is not None
    }


# --------------------------------------------------------------------------- routes


@router.post(
    "/v1/mailboxes/{mailbox_id}/test",
    response_model=ConnectionTestResult,
    summary="Test a saved mailbox's connections",
    responses={404: {"model": ErrorResponse, "description": "No such mailbox."}},
)
async def test_mailbox(
    mailbox_id: Annotated[str, Path(min_length=1, max_length=100)],
    caller: CallerDep,
    platform: PlatformDep,
    settings: SettingsDep,
    cipher: SecretsDep,
    metrics: MetricsDep,
    body: Annotated[MailboxTestRequest | None, Body()] = None,
) -> ConnectionTestResult:
    """Run the SMTP and incoming tests stage by stage, store the result, move the state.

    A passing test makes the mailbox `connected`; a rejected login makes it
    `auth_failed`; a server lacking UIDPLUS makes it `needs_attention`; anything
    else (timeouts, refused connections) makes it `degraded`.
    """
    options = body or MailboxTestRequest()
    mailbox = await find_visible(platform.store, caller, mailbox_id)
    started_at = datetime.now(UTC)
    smtp, incoming = mailbox_connection_settings(mailbox, cipher)
    smtp_report, incoming_report, trip = await run_connection_test(
        smtp,
        incoming,
        email=mailbox.email,
        want_round_trip=options.round_trip,
        settings=settings,
        metrics=metrics,
    )
    failure = first_failure(smtp_report, incoming_report, trip)
    if failure is None:
        state = await record_success(platform.store, platform.bus, mailbox)
    else:
        side, stage = failure
        code = stage.code or "problem_with_imap_server"
        state = await record_failure(
            platform.store,
            platform.bus,
            mailbox,
            code=code,
            message=f"{side}: {stage.message or code}",
            credentials_rejected=code in CREDENTIALS_REJECTED,
            needs_attention=code in NEEDS_ATTENTION,
        )
    current = await platform.store.collection(MAILBOXES).find_one(
        {"_id": mailbox.id, "tenant_id": caller.tenant_id}, {"state": 1}
    )
    return await store_result(
        platform.store,
        caller,
        mailbox.id,
        smtp_report,
        incoming_report,
        trip,
        started_at,
        current["state"] if current else state,
        tested_summary(smtp, incoming),
    )


@router.get(
    "/v1/mailboxes/{mailbox_id}/tests",
    response_model=ConnectionTestList,
    summary="Recent connection tests of a mailbox",
    responses={404: {"model": ErrorResponse, "description": "No such mailbox."}},
)
async def list_mailbox_tests(
    mailbox_id: Annotated[str, Path(min_length=1, max_length=100)],
    caller: CallerDep,
    platform: PlatformDep,
) -> ConnectionTestList:
    """The last 20 tests, newest first."""
    mailbox = await find_visible(platform.store, caller, mailbox_id)
    docs = (
        await platform.store.collection(CONNECTION_TESTS)
        .find({"tenant_id": caller.tenant_id, "mailbox_id": mailbox.id})
        .sort("finished_at", -1)
        .to_list(20)
    )
    return ConnectionTestList(items=[_result_from(doc) for doc in docs])


@router.post(
    "/v1/connection-tests",
    response_model=ConnectionTestResult,
    summary="Test settings before saving them",
)
async def test_settings(
    body: ConnectionTestRequest,
    caller: CallerDep,
    platform: PlatformDep,
    settings: SettingsDep,
    metrics: MetricsDep,
) -> ConnectionTestResult:
    """The same test as for a saved mailbox, on settings given in the request."""
    if body.smtp is None and body.incoming is None:
        raise ApiError(
            422, "invalid_request", "Give smtp or incoming settings to test.", field="smtp"
        )
    if body.round_trip and (body.smtp is None or body.incoming is None or body.email is None):
        raise ApiError(
            422,
            "invalid_request",
            "A round trip needs email, smtp and incoming settings.",
            field="round_trip",
        )
    started_at = datetime.now(UTC)
    smtp, incoming = connection_settings(body)
    smtp_report, incoming_report, trip = await run_connection_test(
        smtp,
        incoming,
        email=body.email,
        want_round_trip=body.round_trip,
        settings=settings,
        metrics=metrics,
    )
    return await store_result(
        platform.store,
        caller,
        None,
        smtp_report,
        incoming_report,
        trip,
        started_at,
        None,
        tested_summary(smtp, incoming),
    )


@router.get(
    "/v1/connection-tests/{test_id}",
    response_model=ConnectionTestResult,
    summary="Read a stored connection test",
    responses={404: {"model": ErrorResponse, "description": "No such test."}},
)
async def get_connection_test(
    test_id: Annotated[str, Path(min_length=1, max_length=100)],
    caller: CallerDep,
    platform: PlatformDep,
) -> ConnectionTestResult:
    """A test this user ran, or one of a mailbox this user can see."""
    doc = await platform.store.collection(CONNECTION_TESTS).find_one(
        {"_id": test_id, "tenant_id": caller.tenant_id}
    )
    if doc is None:
        raise not_found("Connection test")
    if doc.get("requested_by") != caller.user:
        mailbox_id = doc.get("mailbox_id")
        visible = mailbox_id is not None and await platform.store.collection(MAILBOXES).find_one(
            {"_id": mailbox_id, **visible_to(caller)}, {"_id": 1}
        )
        if not visible:
            raise not_found("Connection test")
    return _result_from(doc)


@router.post(
    "/v1/connection-tests/discover",
    response_model=DiscoverResult,
    summary="Find working server settings for an address",
)
async def discover_settings(
    body: DiscoverRequest,
    caller: CallerDep,
    settings: SettingsDep,
) -> DiscoverResult:
    """Presets, DNS SRV records and MX-based guesses, probed concurrently (no login).

    Probes stop at the greeting (and STARTTLS); run a connection test on the
    chosen combination to check the login.
    """
    ports: dict[Any, list[int]] | None = None
    if body.ports is not None:
        ports = body.ports.model_dump()
    found = await discover(
        body.email,
        body.host,
        allow_private=settings.allow_private_targets,
        budget_s=settings.discover_budget_s,
        ports=ports,
    )
    return DiscoverResult(settings=found)


def _result_from(doc: dict[str, Any]) -> ConnectionTestResult:
    return ConnectionTestResult.model_validate({**doc, "id": doc["_id"]})
