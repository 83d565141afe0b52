"""What a failed connection means, in words a salesperson and an IT admin can act on.

Pure functions: they turn a server's reply (or the absence of one) into a stable
failure code, a sentence for the user and a hint for their IT admin. The codes
are part of Mailroom's public API; never rename one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

FailureCode = Literal[
    "dns_not_found",
    "invalid_server_or_port",
    "tls_mismatch",
    "certificate_invalid",
    "authentication_failed",
    "provider_policy",
    "imap_server_not_supported",
    "problem_with_imap_server",
    "relay_denied",
    "timeout",
]

Provider = Literal["gmail", "microsoft", "yahoo", "icloud"]


@dataclass(frozen=True)
class Failure:
    """A classified failure: the stable code, the user's sentence and the admin's hint."""

    code: FailureCode
    message: str
    hint: str | None = None


# Host or mail-domain suffixes that identify the big providers.
_PROVIDER_SUFFIXES: dict[Provider, tuple[str, ...]] = {
    "gmail": ("gmail.com", "googlemail.com", "google.com"),
    "microsoft": (
        "office365.com",
        "outlook.com",
        "hotmail.com",
        "live.com",
        "msn.com",
        "protection.outlook.com",
    ),
    "yahoo": ("yahoo.com", "ymail.com", "rocketmail.com", "yahoodns.net"),
    "icloud": ("icloud.com", "me.com", "mac.com"),
}

_APP_PASSWORD_HINTS: dict[Provider, str] = {
    "gmail": (
        "Gmail accepts a password login only with an app password: turn on 2-Step "
        "Verification for the Google account, create an app password at "
        "myaccount.google.com/apppasswords and use it instead of the account password "
        "(or connect the mailbox with Google OAuth)."
    ),
    "microsoft": (
        "Microsoft 365 accounts with multi-factor authentication need an app password for "
        "SMTP AUTH, and many tenants disable password logins altogether: connect the "
        "mailbox with Microsoft OAuth, or ask the tenant admin to allow Authenticated SMTP "
        "for this mailbox."
    ),
    "yahoo": (
        "Yahoo Mail requires an app password for other mail apps: create one under Account "
        "Security > Generate app password and use it instead of the account password."
    ),
    "icloud": (
        "iCloud Mail accepts only app-specific passwords from other mail apps: create one at "
        "appleid.apple.com > Sign-In and Security > App-Specific Passwords, and use the "
        "full iCloud address as the user name."
    ),
}


def detect_provider(host: str, username: str | None = None) -> Provider | None:
    """Which big provider serves this host or this user's address, if any."""
    candidates = [host.lower().rstrip(".")]
    if username and "@" in username:
        candidates.append(username.rsplit("@", 1)[1].lower())
    for candidate in candidates:
        for provider, suffixes in _PROVIDER_SUFFIXES.items():
            if any(candidate == s or candidate.endswith("." + s) for s in suffixes):
                return provider
    return None


def provider_hint(provider: Provider | None) -> str | None:
    """The provider's app-password advice, or None for a server we do not know."""
    return _APP_PASSWORD_HINTS.get(provider) if provider else None


_GENERIC_AUTH_HINT = (
    "Check the user name (often the full email address) and the password. If the account "
    "uses two-factor authentication, the server may need an app password instead."
)


def authentication_failed(provider: Provider | None) -> Failure:
    """The server rejected the credentials."""
    return Failure(
        "authentication_failed",
        "The mail server did not accept the user name and password.",
        provider_hint(provider) or _GENERIC_AUTH_HINT,
    )


_ENHANCED_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")


def enhanced_status(text: str) -> str | None:
    """The RFC 3463 enhanced status code in an SMTP reply ("5.7.139"), if any."""
    match = _ENHANCED_STATUS.search(text)
    return ".".join(match.groups()) if match else None


def classify_smtp_auth_reply(code: int, text: str, provider: Provider | None) -> Failure:
    """Classify an SMTP server's answer to AUTH."""
    status = enhanced_status(text)
    lowered = text.lower()
    if status == "5.7.139" or "smtpclientauthentication is disabled" in lowered:
        return Failure(
            "provider_policy",
            "Microsoft 365 does not allow this mailbox to send with a password (SMTP AUTH "
            "is turned off).",
            "Enable Authenticated SMTP for the mailbox in the Microsoft 365 admin center "
            "(Users > Active users > Mail > Manage email apps), or tenant-wide with "
            "Set-TransportConfig -SmtpClientAuthenticationDisabled $false; if security "
            "defaults block it, connect the mailbox with Microsoft OAuth instead.",
        )
    if status == "5.7.9" or "application-specific password" in lowered:
        return Failure(
            "authentication_failed",
            "The mail provider requires an app password instead of the account password.",
            provider_hint(provider or "gmail"),
        )
    if status == "5.7.14" or "log in via your web browser" in lowered:
        return Failure(
            "provider_policy",
            "The mail provider blocked this sign-in until it is confirmed in a web browser.",
            "Sign in to the account in a browser, confirm the security alert, then retry; "
            + (provider_hint(provider) or "an app password or OAuth avoids this."),
        )
    if status in ("5.7.0", "5.7.11") and ("starttls" in lowered or "encryption" in lowered):
        return Failure(
            "tls_mismatch",
            "The mail server requires an encrypted connection before login.",
            "Set security to starttls (usually port 587) or ssl (usually port 465).",
        )
    if code in (535, 534, 530) or (status or "").startswith("5.7"):
        return authentication_failed(provider)
    if 400 <= code < 500:
        return Failure(
            "timeout",
            "The mail server could not check the password just now; Mailroom will try again.",
            f"The server answered with a temporary error ({code} {text.strip()[:120]}).",
        )
    return authentication_failed(provider)


def classify_smtp_recipient_reply(code: int, text: str) -> Failure:
    """Classify a rejected MAIL FROM / RCPT TO while checking that sending is allowed."""
    return Failure(
        "relay_denied",
        "The mail server refuses to send mail from this account.",
        f"The server answered {code} {text.strip()[:160]}. Make sure the account may send "
        "as this address and that login is enabled on this port (port 25 usually accepts "
        "only incoming mail; use 587 with starttls or 465 with ssl).",
    )


def classify_imap_login_reply(text: str, provider: Provider | None) -> Failure:
    """Classify an IMAP server's NO/BAD answer to LOGIN or AUTHENTICATE."""
    upper = text.upper()
    if "[PRIVACYREQUIRED]" in upper or "PLAINTEXT AUTHENTICATION DISALLOWED" in upper:
        return Failure(
            "tls_mismatch",
            "The mail server requires an encrypted connection before login.",
            "Set security to starttls (usually port 143) or ssl (usually port 993).",
        )
    if "[UNAVAILABLE]" in upper or "[SERVERBUG]" in upper or "[INUSE]" in upper:
        return Failure(
            "problem_with_imap_server",
            "The incoming mail server had a problem while signing in.",
            f"The server answered: {text.strip()[:160]}. Ask the mail server's admin to "
            "check its logs.",
        )
    if provider == "microsoft":
        return Failure(
            "provider_policy",
            "Microsoft 365 no longer accepts a password for reading mail over IMAP or POP3.",
            "Microsoft turned off basic authentication for IMAP and POP3: connect the "
            "mailbox with Microsoft OAuth, and make sure IMAP (or POP) is enabled for the "
            "mailbox in the Microsoft 365 admin center (Mail > Manage email apps).",
        )
    if "APPLICATION-SPECIFIC PASSWORD" in upper:
        return Failure(
            "authentication_failed",
            "The mail provider requires an app password instead of the account password.",
            provider_hint(provider or "gmail"),
        )
    if "WEB BROWSER" in upper or "[WEBALERT" in upper:
        return Failure(
            "provider_policy",
            "The mail provider blocked this sign-in until it is confirmed in a web browser.",
            "Sign in to the account in a browser and confirm the security alert; "
            + (provider_hint(provider) or "an app password or OAuth avoids this."),
        )
    if "IMAP ACCESS IS DISABLED" in upper or "IMAP USE IS DISABLED" in upper:
        return Failure(
            "provider_policy",
            "IMAP access is turned off for this account.",
            "Enable IMAP in the account's mail settings (or ask the admin to allow it).",
        )
    return authentication_failed(provider)


def classify_pop3_login_reply(text: str, provider: Provider | None) -> Failure:
    """Classify a POP3 server's -ERR answer to USER/PASS."""
    upper = text.upper()
    if "[SYS/" in upper or "[IN-USE]" in upper:
        return Failure(
            "problem_with_imap_server",
            "The incoming mail server had a problem while signing in.",
            f"The server answered: {text.strip()[:160]}. A mailbox held by another POP3 "
            "session or a server fault causes this; retry or check the server's logs.",
        )
    if "PLAINTEXT" in upper or ("TLS" in upper and "REQUIRED" in upper):
        return Failure(
            "tls_mismatch",
            "The mail server requires an encrypted connection before login.",
            "Set security to starttls (usually port 110) or ssl (usually port 995).",
        )
    if provider == "microsoft":
        return classify_imap_login_reply(text, provider)
    return authentication_failed(provider)


def uidplus_missing() -> Failure:
    """The IMAP server lacks UIDPLUS (RFC 4315)."""
    return Failure(
        "imap_server_not_supported",
        "This incoming mail server lacks a feature Mailroom needs (UIDPLUS).",
        "Mailroom deletes only the bounce messages it has processed, addressed by their UID "
        "(UID EXPUNGE), and records the UID of each sent message it appends; both need the "
        "IMAP UIDPLUS extension (RFC 4315). Ask the admin to enable UIDPLUS (Exchange 2013 "
        "or later has it) or use POP3 for bounces instead.",
    )
