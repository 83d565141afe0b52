"""A local OAuth 2.0 authorization server for the demo platform and the tests.

It speaks the parts of RFC 6749 / RFC 7636 / RFC 7662 / OpenID Connect that
Mailroom meets at Google and Microsoft: the authorization endpoint `/authorize`
(which consents at once for the user named by `login_hint`, or for the account
in `OAuthState.signed_in_as`, and redirects back with `code` and `state`), the
authorization-code grant with PKCE (S256 only) and the refresh-token grant at
`/token` (with refresh-token rotation, so a spent refresh token is refused with
`invalid_grant` exactly as Microsoft does), and token introspection at
`/introspect` in the form Dovecot's oauth2 passdb asks for, so an access token
it issued logs in over IMAP and SMTP XOAUTH2.

When the authorization request asked for the `openid` scope, the code exchange
also returns an OpenID Connect ID token naming the account that consented
(`iss` = this server's base URL, `aud` = the client id, `email`,
`email_verified`, `preferred_username`). It is signed with HS256 under the
client secret, the symmetric signature OpenID Connect Core §10.1 allows for
confidential clients; Mailroom relies on TLS to the token endpoint instead of
that signature (§3.1.3.7), so any JWT library can read it without a key.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
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
    # The account the browser is signed into, which consents whatever `login_hint`
    # names (as at Google with the wrong account signed in); None: the hinted user.
    signed_in_as: str | None = None
    issuer: str = ""  # the `iss` of ID tokens: the server's base URL
    id_token_ttl_s: int = 3600
    issuing_id_tokens: bool = True  # False: like a provider whose client lacks OpenID
    # Claims to put into ID tokens over the genuine ones (another `aud`, a past `exp`).
    id_token_overrides: dict[str, Any] = field(default_factory=dict)


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
        self.state = OAuthState(client_id, client_secret, access_ttl_s, issuer=self.url)
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


def _base64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def id_token(state: OAuthState, username: str) -> str:
    """An OpenID Connect ID token saying that `username` consented (HS256, client secret)."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": state.issuer,
        # Stable per account, as `sub` is at a real provider.
        "sub": hashlib.sha256(username.lower().encode()).hexdigest()[:24],
        "aud": state.client_id,
        "iat": now,
        "exp": now + state.id_token_ttl_s,
        "email": username,
        "email_verified": True,
        "preferred_username": username,
        **state.id_token_overrides,
    }
    header = {"alg": "HS256", "typ": "JWT"}
    signing_input = ".".join(
        _base64url(json.dumps(part, separators=(",", ":")).encode()) for part in (header, claims)
    )
    signature = hmac.new(
        state.client_secret.encode(), signing_input.encode("ascii"), hashlib.sha256
    ).digest()
    return f"{signing_input}.{_base64url(signature)}"


def s256_challenge(code_verifier: str) -> str:
    """The PKCE S256 code challenge of a verifier (RFC 7636 §4.2)."""
    return _base64url(hashlib.sha256(code_verifier.encode("ascii")).digest())


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
        # Consent is immediate: the user is whoever `login_hint` names, unless the
        # browser is signed into another account (`signed_in_as`).
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
            username=state.signed_in_as or params["login_hint"],
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
        answer = {
            "access_token": grant.access_token,
            "refresh_token": grant.refresh_token,
            "token_type": "Bearer",
            "expires_in": state.access_ttl_s,
            "scope": issued.scope,
        }
        # As at a real provider, an ID token only for an OpenID Connect request.
        if state.issuing_id_tokens and "openid" in issued.scope.split():
            answer["id_token"] = id_token(state, issued.username)
        return JSONResponse(answer)

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
