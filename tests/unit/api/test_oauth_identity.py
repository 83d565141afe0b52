"""Who consented to an OAuth connection, from the ID token, without any I/O."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from mailroom.api.errors import ApiError
from mailroom.api.oauth import (
    CLOCK_SKEW_S,
    ConsentingAccount,
    ProviderClient,
    consenting_account,
    require_same_account,
)
from mailroom.shared.mailboxes import OAuthProvider

NOW = 1_700_000_000.0
CLIENT_ID = "mailroom-client"
GOOGLE = ProviderClient(
    CLIENT_ID,
    "secret",
    "https://accounts.google.com/o/oauth2/v2/auth",
    "https://oauth2.googleapis.com/token",
)
MICROSOFT = ProviderClient(
    CLIENT_ID,
    "secret",
    "https://login.microsoftonline.com/common/oauth2/v2.0/authorize",
    "https://login.microsoftonline.com/common/oauth2/v2.0/token",
)
STAND_IN = ProviderClient(
    CLIENT_ID, "secret", "http://127.0.0.1:18080/authorize", "http://127.0.0.1:18080/token"
)
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"


def segment(part: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()


def jwt(claims: dict[str, Any]) -> str:
    """A compact JWT with a signature nobody checks (the token endpoint vouches for it)."""
    return f"{segment({'alg': 'RS256', 'kid': 'k1'})}.{segment(claims)}.c2lnbmF0dXJl"


def google_claims(**overrides: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "iss": "https://accounts.google.com",
        "azp": CLIENT_ID,
        "aud": CLIENT_ID,
        "sub": "110169484474386276334",
        "email": "Alice@Company.com",
        "email_verified": True,
        "iat": NOW - 5,
        "exp": NOW + 3595,
    }
    claims.update(overrides)
    return claims


def microsoft_claims(**overrides: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "iss": f"https://login.microsoftonline.com/{TENANT}/v2.0",
        "aud": CLIENT_ID,
        "tid": TENANT,
        "sub": "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ",
        "preferred_username": "alice@company.onmicrosoft.com",
        "email": "alice@company.com",
        "iat": NOW - 5,
        "exp": NOW + 3595,
    }
    claims.update(overrides)
    return claims


def account(
    claims: dict[str, Any], provider: OAuthProvider = "google", client: ProviderClient = GOOGLE
) -> ConsentingAccount:
    return consenting_account(
        provider, client, {"access_token": "at", "id_token": jwt(claims)}, NOW
    )


def refusal(
    claims: dict[str, Any], provider: OAuthProvider = "google", client: ProviderClient = GOOGLE
) -> ApiError:
    with pytest.raises(ApiError) as raised:
        account(claims, provider, client)
    assert raised.value.status == 400
    return raised.value


def test_a_google_account_is_its_verified_email() -> None:
    assert account(google_claims()).addresses == ("alice@company.com",)
    # Google documents the issuer without the scheme too.
    assert account(google_claims(iss="accounts.google.com")).owns("ALICE@company.com")


def test_an_unverified_google_email_does_not_say_who_consented() -> None:
    for verified in (False, "false", None):
        assert refusal(google_claims(email_verified=verified)).code == "oauth_identity_missing"
    assert refusal(google_claims(email=None)).code == "oauth_identity_missing"


def test_a_microsoft_account_is_its_email_or_its_sign_in_name() -> None:
    both = account(microsoft_claims(), "microsoft", MICROSOFT)
    assert both.addresses == ("alice@company.com", "alice@company.onmicrosoft.com")
    assert both.owns("Alice@Company.onmicrosoft.com")
    upn_only = account(microsoft_claims(email=None), "microsoft", MICROSOFT)
    assert upn_only.addresses == ("alice@company.onmicrosoft.com",)
    anonymous = microsoft_claims(email=None, preferred_username="not-an-address")
    assert refusal(anonymous, "microsoft", MICROSOFT).code == "oauth_identity_missing"


def test_a_token_response_without_an_id_token_is_refused() -> None:
    for token in ({"access_token": "at"}, {"access_token": "at", "id_token": ""}):
        with pytest.raises(ApiError) as raised:
            consenting_account("google", GOOGLE, token, NOW)
        assert raised.value.code == "oauth_identity_missing"


@pytest.mark.parametrize(
    "id_token",
    [
        "not-a-jwt",
        "two.parts",
        "x.!!!.y",  # no base64
        f"x.{segment({})[:-2]}.y",  # cut base64
        f"x.{segment([1])}.y",  # JSON, but no claims object
    ],
)
def test_an_unreadable_id_token_is_refused(id_token: str) -> None:
    with pytest.raises(ApiError) as raised:
        consenting_account("google", GOOGLE, {"access_token": "at", "id_token": id_token}, NOW)
    assert raised.value.code == "oauth_identity_invalid"


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"aud": "another-client"}, "issued to another application"),
        ({"aud": ["another-client"]}, "issued to another application"),
        ({"aud": None}, "issued to another application"),
        ({"azp": "another-client"}, "issued to another application"),
        # Several audiences: `azp` must name this client.
        ({"aud": [CLIENT_ID, "another-client"], "azp": None}, "issued to another application"),
        ({"exp": None}, "no expiry"),
        ({"exp": "tomorrow"}, "no expiry"),
        ({"exp": NOW - CLOCK_SKEW_S - 1}, "expired"),
        ({"iss": "https://accounts.example.net"}, "unexpected issuer"),
        ({"iss": None}, "unexpected issuer"),
    ],
)
def test_claims_that_cannot_be_trusted_are_refused(overrides: dict[str, Any], problem: str) -> None:
    error = refusal(google_claims(**overrides))
    assert error.code == "oauth_identity_invalid"
    assert problem in error.message


def test_audience_list_and_clock_skew_are_accepted() -> None:
    assert account(google_claims(aud=[CLIENT_ID, "another-client"])).owns("alice@company.com")
    assert account(google_claims(aud=[CLIENT_ID], azp=None)).owns("alice@company.com")
    assert account(google_claims(exp=NOW - CLOCK_SKEW_S + 1)).owns("alice@company.com")


@pytest.mark.parametrize(
    "issuer",
    [
        "https://login.microsoftonline.com/common/v2.0",  # not the token's directory
        f"https://login.microsoftonline.com/{TENANT}",
        f"https://login.microsoftonline.com/{TENANT}/v2.0/extra",
        f"https://sts.windows.net/{TENANT}/",  # a v1.0 token
        "https://accounts.google.com",
    ],
)
def test_a_microsoft_token_must_come_from_its_directory(issuer: str) -> None:
    error = refusal(microsoft_claims(iss=issuer), "microsoft", MICROSOFT)
    assert error.code == "oauth_identity_invalid"


def test_any_microsoft_directory_may_answer_a_multi_tenant_client() -> None:
    personal = "9188040d-6c67-4c5b-b112-36a304b66dad"
    claims = microsoft_claims(
        iss=f"https://login.microsoftonline.com/{personal}/v2.0", tid=personal
    )
    assert account(claims, "microsoft", MICROSOFT).owns("alice@company.com")


def test_a_stand_in_provider_issues_from_its_token_endpoint_origin() -> None:
    local = google_claims(iss="http://127.0.0.1:18080")
    assert account(local, client=STAND_IN).owns("alice@company.com")
    # The real issuer is refused from a stand-in, and the other way round.
    assert refusal(google_claims(), client=STAND_IN).code == "oauth_identity_invalid"
    assert refusal(local).code == "oauth_identity_invalid"
    assert refusal(google_claims(iss="http://127.0.0.1:18081"), client=STAND_IN).code == (
        "oauth_identity_invalid"
    )


def test_another_account_than_the_mailbox_is_refused_with_both_addresses() -> None:
    bob = account(google_claims(email="Bob@gmail.com"))
    require_same_account(bob, "BOB@gmail.com", "google")
    with pytest.raises(ApiError) as raised:
        require_same_account(bob, "Alice@Company.com", "google")
    assert raised.value.status == 400
    assert raised.value.code == "oauth_account_mismatch"
    assert raised.value.message == (
        "You signed in to Google as bob@gmail.com, but this mailbox is alice@company.com. "
        "Sign in with alice@company.com and try again."
    )
