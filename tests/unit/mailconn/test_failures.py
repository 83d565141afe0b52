"""Server replies become stable codes with words for the user and the admin."""

from __future__ import annotations

import pytest

from mailroom.shared.mailconn import failures


@pytest.mark.parametrize(
    ("host", "username", "provider"),
    [
        ("smtp.gmail.com", "a@b.com", "gmail"),
        ("mail.example.com", "someone@googlemail.com", "gmail"),
        ("smtp.office365.com", None, "microsoft"),
        ("outlook.office365.com", None, "microsoft"),
        ("smtp-mail.outlook.com", None, "microsoft"),
        ("smtp.mail.yahoo.com", None, "yahoo"),
        ("imap.mail.me.com", None, "icloud"),
        ("mail.example.com", "x@icloud.com", "icloud"),
        ("mail.example.com", "x@example.com", None),
        ("notgmail.com", None, None),
    ],
)
def test_provider_detection(host: str, username: str | None, provider: str | None) -> None:
    assert failures.detect_provider(host, username) == provider


def test_microsoft_smtp_auth_disabled_is_a_provider_policy() -> None:
    failure = failures.classify_smtp_auth_reply(
        535,
        "5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the "
        "Tenant. Visit https://aka.ms/smtp_auth_disabled for more information.",
        "microsoft",
    )
    assert failure.code == "provider_policy"
    assert failure.hint is not None
    assert "Authenticated SMTP" in failure.hint
    assert "OAuth" in failure.hint


def test_gmail_bad_credentials_is_authentication_failed_with_app_password_hint() -> None:
    failure = failures.classify_smtp_auth_reply(
        535, "5.7.8 Username and Password not accepted. Learn more at ...", "gmail"
    )
    assert failure.code == "authentication_failed"
    assert failure.hint is not None
    assert "app password" in failure.hint
    assert "2-Step Verification" in failure.hint


def test_gmail_application_specific_password_required() -> None:
    failure = failures.classify_smtp_auth_reply(
        534,
        "5.7.9 Application-specific password required. Learn more at "
        "https://support.google.com/mail/?p=InvalidSecondFactor",
        None,
    )
    assert failure.code == "authentication_failed"
    assert failure.hint is not None
    assert "apppasswords" in failure.hint


def test_generic_535_without_provider_gets_generic_hint() -> None:
    failure = failures.classify_smtp_auth_reply(535, "5.7.8 Error: authentication failed", None)
    assert failure.code == "authentication_failed"
    assert failure.hint is not None
    assert "user name" in failure.hint


def test_smtp_auth_before_starttls_is_a_tls_mismatch() -> None:
    reply = "5.7.0 Must issue a STARTTLS command first"
    failure = failures.classify_smtp_auth_reply(530, reply, None)
    assert failure.code == "tls_mismatch"


@pytest.mark.parametrize("provider", ["gmail", "microsoft", "yahoo", "icloud"])
def test_each_big_provider_has_its_own_app_password_hint(provider: str) -> None:
    hint = failures.authentication_failed(provider).hint  # type: ignore[arg-type]
    assert hint is not None
    assert hint != failures.authentication_failed(None).hint


def test_imap_login_rejections() -> None:
    rejected = "[AUTHENTICATIONFAILED] Authentication failed."
    assert failures.classify_imap_login_reply(rejected, None).code == "authentication_failed"
    cleartext = "[PRIVACYREQUIRED] Plaintext authentication disallowed"
    assert failures.classify_imap_login_reply(cleartext, None).code == "tls_mismatch"
    assert failures.classify_imap_login_reply("[UNAVAILABLE] Backend down", None).code == (
        "problem_with_imap_server"
    )
    # Microsoft 365 switched basic auth off for IMAP: a password can never work there.
    microsoft = failures.classify_imap_login_reply("AUTHENTICATE failed.", "microsoft")
    assert microsoft.code == "provider_policy"
    assert microsoft.hint is not None and "OAuth" in microsoft.hint
    gmail = failures.classify_imap_login_reply(
        "[ALERT] Application-specific password required: https://support.google.com/", "gmail"
    )
    assert gmail.code == "authentication_failed"


def test_pop3_login_rejections() -> None:
    assert failures.classify_pop3_login_reply("-ERR [AUTH] Authentication failed.", None).code == (
        "authentication_failed"
    )
    assert failures.classify_pop3_login_reply("-ERR [IN-USE] Mailbox locked", None).code == (
        "problem_with_imap_server"
    )


def test_relay_denied_names_the_server_reply() -> None:
    failure = failures.classify_smtp_recipient_reply(554, "5.7.1 <x@y>: Relay access denied")
    assert failure.code == "relay_denied"
    assert failure.hint is not None and "Relay access denied" in failure.hint


def test_uidplus_missing_says_why_it_is_required() -> None:
    failure = failures.uidplus_missing()
    assert failure.code == "imap_server_not_supported"
    assert failure.hint is not None
    assert "UID" in failure.hint and "append" in failure.hint.lower()


def test_enhanced_status_extraction() -> None:
    assert failures.enhanced_status("535 5.7.139 Authentication unsuccessful") == "5.7.139"
    assert failures.enhanced_status("no code here") is None
