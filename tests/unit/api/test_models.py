"""Mailbox request validation and the response shape, without any I/O."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from pydantic import ValidationError

from mailroom.api.mailboxes import changed_fields
from mailroom.api.models import (
    MailboxCreate,
    editable_view,
    mailbox_out,
    merge_patch,
)
from mailroom.shared.crypto import EnvelopeCipher
from mailroom.shared.mailboxes import MailboxRecord, MailboxSecrets


def body(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "Sales",
        "email": "ana@example.com",
        "smtp": {"host": "SMTP.Example.com.", "port": 587, "password": "s3cret-value"},
    }
    data.update(overrides)
    return data


def fields_of(exc: ValidationError) -> list[str]:
    return [".".join(str(p) for p in e["loc"]) for e in exc.errors()]


def test_valid_body_normalizes_the_host_and_hides_the_password() -> None:
    parsed = MailboxCreate.model_validate(body())
    assert parsed.smtp.host == "smtp.example.com"
    assert "s3cret-value" not in repr(parsed)
    assert parsed.tls.verify is True


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"smtp": {"host": "smtp.example.com", "port": "587"}}, "smtp.port"),
        ({"smtp": {"host": "exa mple", "port": 25}}, "smtp.host"),
        ({"smtp": {"host": "smtp.example.com", "port": 25, "security": "tls"}}, "smtp.security"),
        ({"email": "nobody"}, "email"),
        ({"reply_to_name": "x\ny"}, "reply_to_name"),
        ({"limits": {"per_minute": 0}}, "limits.per_minute"),
        ({"tls": {"ca_pem": "-----BEGIN CERTIFICATE-----\nnope\n"}}, "tls.ca_pem"),
        ({"shared": "yes"}, "shared"),
        ({"owner": "someone"}, "owner"),
    ],
)
def test_invalid_fields_are_named(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        MailboxCreate.model_validate_json(json.dumps(body(**overrides)))
    assert field in fields_of(caught.value)


def record(**overrides: Any) -> MailboxRecord:
    secrets = MailboxSecrets(EnvelopeCipher({"k1": os.urandom(32)}, "k1"))
    data: dict[str, Any] = {
        "_id": "mbx_1",
        "tenant_id": "tnt_1",
        "owner": "alice",
        "name": "Sales",
        "email": "ana@example.com",
        "smtp": {
            "host": "smtp.example.com",
            "port": 587,
            "password_enc": secrets.encrypt("tnt_1", "mbx_1", "smtp_password", "pw"),
        },
    }
    data.update(overrides)
    return MailboxRecord.model_validate(data)


def test_response_says_has_password_and_never_carries_ciphertexts() -> None:
    out = mailbox_out(record())
    assert out.smtp is not None and out.smtp.has_password is True
    dumped = out.model_dump_json()
    assert "password_enc" not in dumped
    assert "v1:k1" not in dumped
    assert out.warnings == []


def test_unsafe_settings_come_with_warnings() -> None:
    out = mailbox_out(
        record(tls={"verify": False}, smtp={"host": "h.example", "port": 25, "security": "none"})
    )
    assert len(out.warnings) == 2


def test_patch_merges_nested_objects_by_field() -> None:
    current = editable_view(record())
    merged = merge_patch(current, {"smtp": {"port": 465, "security": "ssl"}, "name": "New"})
    assert merged["smtp"]["host"] == "smtp.example.com"
    assert merged["smtp"]["port"] == 465
    assert changed_fields(current, merged) == ["name", "smtp.port", "smtp.security"]
