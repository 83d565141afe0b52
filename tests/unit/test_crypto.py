"""Envelope encryption: round trips, rotation, tampering, context binding, key config."""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from mailroom.shared.crypto import (
    CryptoConfigError,
    DecryptionError,
    EnvelopeCipher,
    generate_key,
)
from mailroom.shared.settings import CommonSettings

CONTEXT = "tenant:t1/mailbox:m1/smtp_password"
KEY_1 = bytes(range(32))
KEY_2 = bytes(range(32, 64))


def b64(key: bytes) -> str:
    return base64.b64encode(key).decode()


def common_settings(**values: Any) -> CommonSettings:
    # Build from explicit values only, so the developer's environment cannot leak in.
    return CommonSettings.model_construct(**values)


@pytest.fixture
def cipher() -> EnvelopeCipher:
    return EnvelopeCipher({"k1": KEY_1}, "k1")


def test_round_trip_text_and_bytes(cipher: EnvelopeCipher) -> None:
    token = cipher.encrypt("hunter2 ✓", context=CONTEXT)

    assert token.startswith("v1:k1:")
    assert "hunter2" not in token
    assert cipher.decrypt(token, context=CONTEXT) == "hunter2 ✓".encode()
    assert cipher.decrypt_str(token, context=CONTEXT) == "hunter2 ✓"
    assert cipher.decrypt(cipher.encrypt(b"\x00\xff", context=CONTEXT), context=CONTEXT) == (
        b"\x00\xff"
    )


def test_same_plaintext_gives_different_tokens(cipher: EnvelopeCipher) -> None:
    assert cipher.encrypt("same", context=CONTEXT) != cipher.encrypt("same", context=CONTEXT)


def test_token_has_four_unpadded_base64url_parts(cipher: EnvelopeCipher) -> None:
    version, kid, wrapped, sealed = cipher.encrypt("x", context=CONTEXT).split(":")

    assert (version, kid) == ("v1", "k1")
    for part in (wrapped, sealed):
        assert "=" not in part
        assert set(part) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_rotation_keeps_old_tokens_readable_and_rewraps_them() -> None:
    old = EnvelopeCipher({"k1": KEY_1}, "k1")
    old_token = old.encrypt("secret", context=CONTEXT)
    rotated = EnvelopeCipher({"k1": KEY_1, "k2": KEY_2}, "k2")

    assert rotated.decrypt_str(old_token, context=CONTEXT) == "secret"
    assert rotated.encrypt("new", context=CONTEXT).startswith("v1:k2:")
    assert rotated.needs_rewrap(old_token)

    rewrapped = rotated.rewrap(old_token, context=CONTEXT)

    assert rewrapped.startswith("v1:k2:")
    assert not rotated.needs_rewrap(rewrapped)
    # Only the wrapped data key changes; the data ciphertext is kept as it was.
    assert rewrapped.split(":")[3] == old_token.split(":")[3]
    assert rewrapped.split(":")[2] != old_token.split(":")[2]
    assert rotated.decrypt_str(rewrapped, context=CONTEXT) == "secret"
    # Once rewrapped, the retired key is no longer needed.
    assert EnvelopeCipher({"k2": KEY_2}, "k2").decrypt_str(rewrapped, context=CONTEXT) == "secret"
    assert rotated.rewrap(rewrapped, context=CONTEXT) == rewrapped


def test_rewrap_checks_the_context() -> None:
    old_token = EnvelopeCipher({"k1": KEY_1}, "k1").encrypt("secret", context=CONTEXT)
    rotated = EnvelopeCipher({"k1": KEY_1, "k2": KEY_2}, "k2")

    with pytest.raises(DecryptionError):
        rotated.rewrap(old_token, context="tenant:t2/mailbox:m1/smtp_password")


def flip_byte(part: str, index: int) -> str:
    raw = bytearray(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    raw[index] ^= 0x01
    return base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()


@pytest.mark.parametrize("part_index", [2, 3])
@pytest.mark.parametrize("byte_index", [0, 5, 12, 20, -1])
def test_altered_byte_in_any_part_is_rejected(
    cipher: EnvelopeCipher, part_index: int, byte_index: int
) -> None:
    parts = cipher.encrypt("a secret long enough to flip bytes in", context=CONTEXT).split(":")
    parts[part_index] = flip_byte(parts[part_index], byte_index)

    with pytest.raises(DecryptionError) as caught:
        cipher.decrypt(":".join(parts), context=CONTEXT)
    assert "a secret" not in str(caught.value)


def test_non_canonical_base64_is_rejected(cipher: EnvelopeCipher) -> None:
    version, kid, wrapped, sealed = cipher.encrypt("x", context=CONTEXT).split(":")

    for bad_sealed in (sealed + "A", sealed + "==", sealed[:4] + "!" + sealed[4:], sealed[:-2]):
        with pytest.raises(DecryptionError):
            cipher.decrypt(":".join((version, kid, wrapped, bad_sealed)), context=CONTEXT)


@pytest.mark.parametrize(
    "token",
    [
        "",
        "plain text",
        "v2:k1:AAAA:AAAA",
        "v1:k9:AAAA:AAAA",
        "v1:k1:AAAA",
        "v1:k1:AAAA:AAAA:AAAA",
        "v1:k1:AAAA:AAAA",
    ],
)
def test_malformed_tokens_are_rejected(cipher: EnvelopeCipher, token: str) -> None:
    with pytest.raises(DecryptionError):
        cipher.decrypt(token, context=CONTEXT)


def test_swapping_the_key_id_is_rejected() -> None:
    both = EnvelopeCipher({"k1": KEY_1, "k2": KEY_1}, "k1")
    parts = both.encrypt("secret", context=CONTEXT).split(":")
    parts[1] = "k2"  # same key material, but the key id is bound into the wrapping

    with pytest.raises(DecryptionError):
        both.decrypt(":".join(parts), context=CONTEXT)


def test_wrong_context_is_rejected(cipher: EnvelopeCipher) -> None:
    token = cipher.encrypt("hunter2", context=CONTEXT)

    for other in (
        "tenant:t1/mailbox:m2/smtp_password",
        "tenant:t1/mailbox:m1/imap_password",
        "tenant:t2/mailbox:m1/smtp_password",
    ):
        with pytest.raises(DecryptionError) as caught:
            cipher.decrypt(token, context=other)
        assert "hunter2" not in str(caught.value)


def test_moving_a_data_ciphertext_under_another_wrapped_key_is_rejected(
    cipher: EnvelopeCipher,
) -> None:
    first = cipher.encrypt("first", context=CONTEXT).split(":")
    second = cipher.encrypt("second", context=CONTEXT).split(":")

    with pytest.raises(DecryptionError):
        cipher.decrypt(":".join(first[:3] + second[3:]), context=CONTEXT)


def test_unknown_key_is_rejected_without_key_material() -> None:
    token = EnvelopeCipher({"k1": KEY_1}, "k1").encrypt("secret", context=CONTEXT)

    with pytest.raises(DecryptionError) as caught:
        EnvelopeCipher({"k2": KEY_2}, "k2").decrypt(token, context=CONTEXT)
    assert "'k1'" in str(caught.value)
    assert b64(KEY_2) not in str(caught.value)


def test_decrypt_str_rejects_binary_plaintext(cipher: EnvelopeCipher) -> None:
    token = cipher.encrypt(b"\xff\xfe", context=CONTEXT)

    with pytest.raises(DecryptionError):
        cipher.decrypt_str(token, context=CONTEXT)


def test_empty_context_is_a_programming_error(cipher: EnvelopeCipher) -> None:
    with pytest.raises(ValueError):
        cipher.encrypt("x", context="")


def test_repr_shows_key_ids_only() -> None:
    cipher = EnvelopeCipher({"k1": KEY_1, "k2": KEY_2}, "k2")

    assert repr(cipher) == "EnvelopeCipher(active_kid='k2', key_ids=('k1', 'k2'))"
    assert b64(KEY_1) not in repr(cipher) and str(KEY_1) not in str(cipher)


def test_generate_key_gives_distinct_32_byte_keys() -> None:
    first, second = generate_key(), generate_key()

    assert first != second
    assert len(base64.b64decode(first, validate=True)) == 32


# --- configuration -------------------------------------------------------------


def test_from_settings_reads_the_key_list_and_defaults_to_the_last_key() -> None:
    listed = f"k1:{b64(KEY_1)}, k2:{b64(KEY_2)}"
    cipher = EnvelopeCipher.from_settings(common_settings(encryption_keys=SecretStr(listed)))

    assert cipher.key_ids == ("k1", "k2")
    assert cipher.active_kid == "k2"


def test_from_settings_honours_the_active_key_and_url_safe_keys() -> None:
    url_safe = base64.urlsafe_b64encode(b"\xfb" * 32).rstrip(b"=").decode()
    listed = f"k1:{b64(KEY_1)},k2:{url_safe}"
    cipher = EnvelopeCipher.from_settings(
        common_settings(encryption_keys=SecretStr(listed), encryption_active_key="k1")
    )

    assert cipher.active_kid == "k1"
    assert cipher.encrypt("x", context=CONTEXT).startswith("v1:k1:")


def test_generated_key_is_accepted() -> None:
    listed = f"local:{generate_key()}"
    cipher = EnvelopeCipher.from_settings(common_settings(encryption_keys=SecretStr(listed)))

    assert cipher.decrypt_str(cipher.encrypt("ok", context=CONTEXT), context=CONTEXT) == "ok"


def assert_config_error(raised: pytest.ExceptionInfo[CryptoConfigError], *secrets: str) -> None:
    message = str(raised.value)
    assert "MAILROOM_ENCRYPTION_KEYS" in message
    for secret in secrets:
        assert secret not in message


def test_no_key_configured_says_how_to_set_one() -> None:
    with pytest.raises(CryptoConfigError) as raised:
        EnvelopeCipher.from_settings(common_settings())

    assert_config_error(raised)
    assert "no key is configured" in str(raised.value)


def test_short_key_is_refused_without_showing_it() -> None:
    short = b64(os.urandom(16))
    with pytest.raises(CryptoConfigError) as raised:
        EnvelopeCipher.from_settings(common_settings(encryption_keys=SecretStr(f"k1:{short}")))

    assert_config_error(raised, short)
    assert "16 bytes" in str(raised.value)


@pytest.mark.parametrize(
    "listed",
    [
        "k1:not base64 at all!!",
        "k1",
        b64(KEY_1),
        f":{b64(KEY_1)}",
        f"k 1:{b64(KEY_1)}",
        f"k1:{b64(KEY_1)},k1:{b64(KEY_2)}",
    ],
)
def test_malformed_key_list_is_refused_without_showing_keys(listed: str) -> None:
    with pytest.raises(CryptoConfigError) as raised:
        EnvelopeCipher.from_settings(common_settings(encryption_keys=SecretStr(listed)))

    assert_config_error(raised, b64(KEY_1), b64(KEY_2), "not base64 at all")


def test_unknown_active_key_is_refused() -> None:
    with pytest.raises(CryptoConfigError) as raised:
        EnvelopeCipher.from_settings(
            common_settings(
                encryption_keys=SecretStr(f"k1:{b64(KEY_1)}"), encryption_active_key="k7"
            )
        )

    assert_config_error(raised, b64(KEY_1))
    assert "'k7'" in str(raised.value)


def test_config_error_stops_the_service_like_other_settings_errors() -> None:
    with pytest.raises(SystemExit):
        EnvelopeCipher({}, "k1")


def mount_like_kubernetes(directory: Path, files: dict[str, str]) -> Path:
    """Lay out `files` the way the kubelet mounts a Secret volume."""
    directory.mkdir()
    revision = directory / "..2024_05_01_12_00_00.123456789"
    revision.mkdir()
    for name, content in files.items():
        (revision / name).write_text(content)
    (directory / "..data").symlink_to(revision.name)
    for name in files:
        (directory / name).symlink_to(Path("..data") / name)
    return directory


def test_keys_from_a_kubernetes_secret_mount(tmp_path: Path) -> None:
    keys_dir = mount_like_kubernetes(
        tmp_path / "keys", {"k20240101": b64(KEY_1) + "\n", "k20250101": b64(KEY_2)}
    )
    (keys_dir / ".hidden").mkdir()
    (keys_dir / ".hidden" / "k9").write_text(b64(KEY_1))
    (keys_dir / "..old_revision").mkdir()

    cipher = EnvelopeCipher.from_settings(common_settings(encryption_keys_dir=keys_dir))

    assert cipher.key_ids == ("k20240101", "k20250101")
    assert cipher.active_kid == "k20250101"
    token = EnvelopeCipher({"k20240101": KEY_1}, "k20240101").encrypt("s", context=CONTEXT)
    assert cipher.decrypt_str(token, context=CONTEXT) == "s"


def test_key_dir_with_explicit_active_key_and_list_combined(tmp_path: Path) -> None:
    keys_dir = mount_like_kubernetes(tmp_path / "keys", {"k1": b64(KEY_1)})
    cipher = EnvelopeCipher.from_settings(
        common_settings(
            encryption_keys_dir=keys_dir,
            encryption_keys=SecretStr(f"k2:{b64(KEY_2)}"),
            encryption_active_key="k1",
        )
    )

    assert cipher.key_ids == ("k1", "k2")
    assert cipher.active_kid == "k1"


def test_same_key_id_with_different_keys_is_refused(tmp_path: Path) -> None:
    keys_dir = mount_like_kubernetes(tmp_path / "keys", {"k1": b64(KEY_1)})

    with pytest.raises(CryptoConfigError) as raised:
        EnvelopeCipher.from_settings(
            common_settings(
                encryption_keys_dir=keys_dir, encryption_keys=SecretStr(f"k1:{b64(KEY_2)}")
            )
        )
    assert_config_error(raised, b64(KEY_1), b64(KEY_2))


def test_empty_or_missing_key_dir_is_refused(tmp_path: Path) -> None:
    empty = mount_like_kubernetes(tmp_path / "empty", {})

    with pytest.raises(CryptoConfigError, match="no key is configured"):
        EnvelopeCipher.from_settings(common_settings(encryption_keys_dir=empty))
    with pytest.raises(CryptoConfigError, match="is not a folder"):
        EnvelopeCipher.from_settings(common_settings(encryption_keys_dir=tmp_path / "absent"))


def test_bad_key_file_is_refused_without_showing_it(tmp_path: Path) -> None:
    short = b64(os.urandom(20))
    keys_dir = mount_like_kubernetes(tmp_path / "keys", {"k1": short})

    with pytest.raises(CryptoConfigError) as raised:
        EnvelopeCipher.from_settings(common_settings(encryption_keys_dir=keys_dir))
    assert_config_error(raised, short)
    assert "'k1'" in str(raised.value)


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAILROOM_ENCRYPTION_KEYS", f"k1:{b64(KEY_1)},k2:{b64(KEY_2)}")
    monkeypatch.setenv("MAILROOM_ENCRYPTION_ACTIVE_KEY", "k1")

    cipher = EnvelopeCipher.from_settings(CommonSettings())

    assert cipher.active_kid == "k1"


@settings(max_examples=200, deadline=None)
@given(plaintext=st.binary(max_size=4096), context=st.text(min_size=1, max_size=200))
def test_round_trip_any_bytes_and_context(plaintext: bytes, context: str) -> None:
    cipher = EnvelopeCipher({"k1": KEY_1, "k2": KEY_2}, "k1")
    token = cipher.encrypt(plaintext, context=context)

    assert cipher.decrypt(token, context=context) == plaintext
    rotated = EnvelopeCipher({"k1": KEY_1, "k2": KEY_2}, "k2")
    assert rotated.decrypt(rotated.rewrap(token, context=context), context=context) == plaintext
