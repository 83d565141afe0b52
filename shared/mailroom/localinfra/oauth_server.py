"""A local OAuth 2.0 authorization server for the demo platform and the tests.

It speaks the parts of RFC 6749 / RFC 7636 / RFC 7662 that Mailroom meets at
Google and Microsoft: the authorization endpoint `/authorize` (which consents at
once for the user named by `login_hint` and redirects back with `code` and
`state`), the authorization-code grant with PKCE (S256 only) and the
refresh-token grant at `/token` (with refresh-token rotation, so a spent refresh
token is refused with `invalid_grant` exactly as Microsoft does), and token
introspection at `/introspect` in the form Dovecot's oauth2 passdb asks for, so
an access token it issued logs in over IMAP and SMTP XOAUTH2.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode, urlsplit

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from mailroom.shared.runtime import EmbeddedServer


@dataclass
class Grant:
    username: str
    refresh_token: str
    access_token: str
    access_expires_at: float


@dataclass
class AuthorizationCode:
    """A code handed out by `/authorize`, good for one exchange at `/token`."""

    username: str
    client_id: str
    redirect_uri: str
    code_challenge: str
    scope: str
    expires_at: float


@dataclass
class OAuthState:
    client_id: str
    client_secret: str
    access_ttl_s: int = 3600
    grants: dict[str, Grant] = field(default_factory=dict)  # by refresh token
    access: dict[str, Grant] = field(default_factory=dict)  # by access token
    refresh_calls: Counter[str] = field(default_factory=Counter)  # by username
    failing: bool = False  # answer 503, like a provider having an outage
    codes: dict[str, AuthorizationCode] = field(default_factory=dict)  # by code
    code_ttl_s: int = 60
    denying: bool = False  # the user clicks "Cancel" on the consent screen


class LocalOAuthServer:
    """Run with `start()` / `stop()` or as a context manager; `url` is its base URL."""

    def __init__(
        self,
        port: int,
        *,
        client_id: str = "mailroom-local",
        client_secret: str = "local-secret",  # noqa: S107 (a local test server's client)
        access_ttl_s: int = 3600,
    ) -> None:
        self.port = port
        self.state = OAuthState(client_id, client_secret, access_ttl_s)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def token_url(self) -> str:
        return f"{self.url}/token"

    @property
    def authorize_url(self) -> str:
        return f"{self.url}/authorize"

    @property
    def introspection_url(self) -> str:
        return f"{self.url}/introspect"

    def issue(self, username: str) -> Grant:
        """A grant as if the user had just completed the consent screen."""
        return _new_grant(self.state, username)

    def revoke(self, username: str) -> None:
        for token, grant in list(self.state.grants.items()):
            if grant.username == username:
                del self.state.grants[token]

    def start(self) -> LocalOAuthServer:
        config = uvicorn.Config(
            _app(self.state),
            host="127.0.0.1",
            port=self.port,
            log_config=None,
            access_log=False,
            lifespan="off",
        )
        self._server = EmbeddedServer(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"local OAuth server did not start on port {self.port}")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = self._thread = None

    def __enter__(self) -> LocalOAuthServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _new_grant(state: OAuthState, username: str) -> Grant:
    grant = Grant(
        username,
        refresh_token=f"rt-{secrets.token_urlsafe(16)}",
        access_token=f"at-{secrets.token_urlsafe(16)}",
        access_expires_at=time.time() + state.access_ttl_s,
    )
    state.grants[grant.refresh_token] = grant
    state.access[grant.access_token] = grant
    return grant


def s256_challenge(code_verifier: str) -> str:
    """The PKCE S256 code challenge of a verifier (RFC 7636 §4.2)."""
    digest = hashlib.sha256(code_verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _with_query(url: str, params: dict[str, str]) -> str:
    separator = "&" if urlsplit(url).query else "?"
    return f"{url}{separator}{urlencode(params)}"


def _client_ok(request: Request, form: dict[str, str], state: OAuthState) -> bool:
    client_id, client_secret = form.get("client_id"), form.get("client_secret")
    header = request.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        decoded = base64.b64decode(header[6:]).decode()
        client_id, _, client_secret = decoded.partition(":")
    return client_id == state.client_id and client_secret == state.client_secret


def _app(state: OAuthState) -> Starlette:
    lock = asyncio.Lock()

    async def token(request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode()))
        if state.failing:
            return JSONResponse({"error": "temporarily_unavailable"}, status_code=503)
        if not _client_ok(request, form, state):
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        if form.get("grant_type") == "authorization_code":
            return exchange_code(form)
        if form.get("grant_type") != "refresh_token":
            return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
        async with lock:
            grant = state.grants.pop(form.get("refresh_token", ""), None)
            if grant is None:
                return JSONResponse(
                    {"error": "invalid_grant", "error_description": "refresh token not valid"},
                    status_code=400,
                )
            state.refresh_calls[grant.username] += 1
            fresh = _new_grant(state, grant.username)
        return JSONResponse(
            {
                "access_token": fresh.access_token,
                "refresh_token": fresh.refresh_token,
                "token_type": "Bearer",
                "expires_in": state.access_ttl_s,
            }
        )

    async def authorize(request: Request) -> Response:
        # Consent is immediate: the user is whoever `login_hint` names.
        params = request.query_params
        redirect_uri = params.get("redirect_uri", "")
        if params.get("client_id") != state.client_id or not redirect_uri.startswith(
            ("http://", "https://")
        ):
            # Never redirect to an unchecked address (RFC 6749 §4.1.2.1).
            return PlainTextResponse("unknown client or redirect_uri", status_code=400)
        answer = {"state": params["state"]} if "state" in params else {}
        problem = None
        if params.get("response_type") != "code":
            problem = "unsupported_response_type"
        elif params.get("code_challenge_method") != "S256" or not params.get("code_challenge"):
            problem = "invalid_request"  # this server insists on PKCE, as Microsoft may
        elif not params.get("login_hint"):
            problem = "login_required"
        elif state.denying:
            problem = "access_denied"
        if problem is not None:
            return RedirectResponse(_with_query(redirect_uri, {"error": problem, **answer}), 302)
        code = f"ac-{secrets.token_urlsafe(16)}"
        state.codes[code] = AuthorizationCode(
            username=params["login_hint"],
            client_id=state.client_id,
            redirect_uri=redirect_uri,
            code_challenge=params["code_challenge"],
            scope=params.get("scope", ""),
            expires_at=time.time() + state.code_ttl_s,
        )
        return RedirectResponse(_with_query(redirect_uri, {"code": code, **answer}), 302)

    def exchange_code(form: dict[str, str]) -> Response:
        # A code works once: popped before any check, so a failed try also spends it.
        issued = state.codes.pop(form.get("code", ""), None)
        refused = None
        if issued is None or issued.expires_at < time.time():
            refused = "authorization code not valid"
        elif form.get("redirect_uri") != issued.redirect_uri:
            refused = "redirect_uri does not match the authorization request"
        elif s256_challenge(form.get("code_verifier", "")) != issued.code_challenge:
            refused = "PKCE verification failed"
        if refused is not None or issued is None:
            return JSONResponse(
                {"error": "invalid_grant", "error_description": refused}, status_code=400
            )
        grant = _new_grant(state, issued.username)
        return JSONResponse(
            {
                "access_token": grant.access_token,
                "refresh_token": grant.refresh_token,
                "token_type": "Bearer",
                "expires_in": state.access_ttl_s,
                "scope": issued.scope,
            }
        )

    async def introspect(request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode()))
        grant = state.access.get(form.get("token", ""))
        if grant is None or grant.access_expires_at < time.time():
            return JSONResponse({"active": False})
        return JSONResponse({"active": True, "username": grant.username})

    return Starlette(
        routes=[
            Route("/authorize", authorize, methods=["GET"]),
            Route("/token", token, methods=["POST"]),
            Route("/introspect", introspect, methods=["POST"]),
        ]
    )
