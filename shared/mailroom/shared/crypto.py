"""Envelope encryption for the secrets Mailroom stores (passwords, OAuth tokens).

Every secret gets its own random 256-bit data key (DEK). The DEK encrypts the
plaintext with AES-GCM, using the caller's `context` (for example
"tenant:t1/mailbox:m1/smtp_password") as associated data, so a ciphertext copied
to another record or field no longer decrypts. The DEK itself is encrypted
("wrapped") with a key-encryption key (KEK) chosen by id, again with AES-GCM and
with the key id and the context as associated data.

A token is plain text, safe to store in MongoDB:

    v1:<kid>:<b64url(wrap nonce + wrapped DEK)>:<b64url(data nonce + ciphertext)>

Rotating KEKs only rewraps the DEK (`rewrap`); the data ciphertext is untouched.
Nothing here ever puts key material or plaintext in an exception message or repr.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Mapping
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from mailroom.shared.errors import PermanentError
from mailroom.shared.settings import CommonSettings, SettingsError

FORMAT_VERSION = "v1"
KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
_WRAPPED_DEK_BYTES = NONCE_BYTES + KEY_BYTES + TAG_BYTES

# Key ids end up inside tokens (':'-separated) and as Secret file names.
_KID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")

_HOW_TO_CONFIGURE = (
    "Set MAILROOM_ENCRYPTION_KEYS to 'kid:base64key[,kid:base64key...]' "
    "(create an entry with `mailroom keys generate`) or MAILROOM_ENCRYPTION_KEYS_DIR "
    "to a folder holding one file per key (file name = key id, content = base64 key)."
)


class CryptoConfigError(SettingsError):
    """The encryption keys are missing or malformed: the service stops with this sentence."""

    def __init__(self, problem: str) -> None:
        super().__init__(f"encryption keys: {problem}. {_HOW_TO_CONFIGURE}")


class DecryptionError(PermanentError):
    """A token cannot be decrypted: unknown format or key, altered, or bound to another context.

    Retrying cannot help, so a message whose secret fails to decrypt is dead-lettered.
    """


def generate_key() -> str:
    """A new random 32-byte key-encryption key, base64-encoded (standard alphabet)."""
    return base64.b64encode(os.urandom(KEY_BYTES)).decode("ascii")


def _b64url_encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    """Decode unpadded base64url, accepting only the one canonical spelling of the bytes."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise DecryptionError("token is not valid base64url") from None
    # The decoder skips stray characters and ignores unused trailing bits; refusing
    # anything but the canonical form means every altered character is noticed.
    if _b64url_encode(raw) != text:
        raise DecryptionError("token is not valid base64url")
    return raw


def _decode_key(kid: str, encoded: str) -> bytes:
    text = encoded.strip()
    try:
        # Standard or URL-safe alphabet, padding optional.
        key = base64.b64decode(
            text.replace("-", "+").replace("_", "/") + "=" * (-len(text) % 4), validate=True
        )
    except (binascii.Error, ValueError):
        raise CryptoConfigError(f"key {kid!r} is not valid base64") from None
    if len(key) != KEY_BYTES:
        raise CryptoConfigError(
            f"key {kid!r} is {len(key)} bytes after base64 decoding; it must be {KEY_BYTES}"
        )
    return key


def _check_kid(kid: str, where: str) -> None:
    if not _KID_PATTERN.fullmatch(kid):
        raise CryptoConfigError(
            f"{where}: key id {kid!r} must be 1-64 letters, digits, '.', '-' or '_' "
            "and start with a letter or digit"
        )


def parse_key_list(value: str) -> dict[str, bytes]:
    """Keys from 'kid:base64key[,kid:base64key...]', in the order listed."""
    keys: dict[str, bytes] = {}
    entries = [entry.strip() for entry in value.split(",")]
    for position, entry in enumerate(entries, start=1):
        if not entry:
            continue
        kid, separator, encoded = entry.partition(":")
        kid = kid.strip()
        if not separator or not kid:
            # Never echo the entry: without a 'kid:' prefix it is probably a bare key.
            raise CryptoConfigError(
                f"entry #{position} of MAILROOM_ENCRYPTION_KEYS is not 'kid:base64key'"
            )
        _check_kid(kid, "MAILROOM_ENCRYPTION_KEYS")
        if kid in keys:
            raise CryptoConfigError(f"key id {kid!r} is listed twice in MAILROOM_ENCRYPTION_KEYS")
        keys[kid] = _decode_key(kid, encoded)
    return keys


def read_key_dir(directory: Path) -> dict[str, bytes]:
    """Keys from a mounted Kubernetes Secret: one file per key, sorted by key id.

    Kubernetes mounts a Secret as `kid -> ..data/kid` symlinks, where `..data` points
    to a timestamped `..2024_...` folder that it swaps atomically on update. Entries
    starting with '.' are that machinery and are skipped; the visible names are
    followed through their symlinks to the current files.
    """
    if not directory.is_dir():
        raise CryptoConfigError(f"MAILROOM_ENCRYPTION_KEYS_DIR {str(directory)!r} is not a folder")
    keys: dict[str, bytes] = {}
    for entry in sorted(directory.iterdir(), key=lambda path: path.name):
        if entry.name.startswith("."):
            continue
        if not entry.is_file():  # follows symlinks; skips folders and dangling links
            continue
        _check_kid(entry.name, "MAILROOM_ENCRYPTION_KEYS_DIR")
        try:
            encoded = entry.read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError):
            raise CryptoConfigError(f"key file {entry.name!r} cannot be read as text") from None
        keys[entry.name] = _decode_key(entry.name, encoded)
    return keys


def _wrap_aad(kid: str, context: str) -> bytes:
    # NUL cannot occur in a key id, so (kid, context) pairs never collide.
    return kid.encode("ascii") + b"\x00" + context.encode("utf-8")


class EnvelopeCipher:
    """Encrypts secrets under the active key; decrypts under any configured key."""

    def __init__(self, keys: Mapping[str, bytes], active_kid: str) -> None:
        if not keys:
            raise CryptoConfigError("no key is configured")
        for kid, key in keys.items():
            _check_kid(kid, "keys")
            if len(key) != KEY_BYTES:
                raise CryptoConfigError(f"key {kid!r} is {len(key)} bytes; it must be {KEY_BYTES}")
        if active_kid not in keys:
            raise CryptoConfigError(
                f"the active key {active_kid!r} (MAILROOM_ENCRYPTION_ACTIVE_KEY) is not among "
                f"the configured keys {sorted(keys)}"
            )
        self._keks = {kid: AESGCM(key) for kid, key in keys.items()}
        self._active_kid = active_kid

    @classmethod
    def from_settings(cls, settings: CommonSettings) -> EnvelopeCipher:
        """Keys from the key folder (sorted by id), then from MAILROOM_ENCRYPTION_KEYS.

        Without MAILROOM_ENCRYPTION_ACTIVE_KEY the last key listed is active: the last
        entry of MAILROOM_ENCRYPTION_KEYS, else the highest file name in the folder
        (ids from `mailroom keys generate`, k<YYYYMMDD>, sort by date).
        """
        keys: dict[str, bytes] = {}
        if settings.encryption_keys_dir is not None:
            keys.update(read_key_dir(settings.encryption_keys_dir))
        if settings.encryption_keys is not None:
            for kid, key in parse_key_list(settings.encryption_keys.get_secret_value()).items():
                if kid in keys and keys[kid] != key:
                    raise CryptoConfigError(
                        f"key id {kid!r} has different keys in MAILROOM_ENCRYPTION_KEYS "
                        "and MAILROOM_ENCRYPTION_KEYS_DIR"
                    )
                keys.pop(kid, None)  # re-insert so the listed order decides the default
                keys[kid] = key
        if not keys:
            raise CryptoConfigError("no key is configured")
        active_kid = settings.encryption_active_key or list(keys)[-1]
        return cls(keys, active_kid)

    @property
    def active_kid(self) -> str:
        """Key id that new ciphertexts are wrapped under."""
        return self._active_kid

    @property
    def key_ids(self) -> tuple[str, ...]:
        """Every configured key id (the keys themselves are never exposed)."""
        return tuple(self._keks)

    def __repr__(self) -> str:
        return f"EnvelopeCipher(active_kid={self._active_kid!r}, key_ids={self.key_ids!r})"

    def encrypt(self, plaintext: str | bytes, *, context: str) -> str:
        """A token for `plaintext`, bound to `context` and wrapped under the active key."""
        _check_context(context)
        data = plaintext.encode("utf-8") if isinstance(plaintext, str) else bytes(plaintext)
        dek = AESGCM.generate_key(bit_length=KEY_BYTES * 8)
        data_nonce = os.urandom(NONCE_BYTES)
        ciphertext = AESGCM(dek).encrypt(data_nonce, data, context.encode("utf-8"))
        wrapped = self._wrap(dek, self._active_kid, context)
        return ":".join(
            (
                FORMAT_VERSION,
                self._active_kid,
                _b64url_encode(wrapped),
                _b64url_encode(data_nonce + ciphertext),
            )
        )

    def decrypt(self, token: str, *, context: str) -> bytes:
        """The plaintext bytes, or `DecryptionError` if the token does not belong to `context`."""
        _check_context(context)
        kid, wrapped, sealed = self._parse(token)
        dek = self._unwrap(wrapped, kid, context)
        try:
            return AESGCM(dek).decrypt(
                sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], context.encode("utf-8")
            )
        except InvalidTag:
            raise DecryptionError(
                f"ciphertext was altered or belongs to another context than {context!r}"
            ) from None

    def decrypt_str(self, token: str, *, context: str) -> str:
        """Like `decrypt`, for secrets that were encrypted as text."""
        try:
            return self.decrypt(token, context=context).decode("utf-8")
        except UnicodeDecodeError:
            raise DecryptionError("decrypted secret is not UTF-8 text") from None

    def needs_rewrap(self, token: str) -> bool:
        """True when the token's data key is wrapped under a key other than the active one."""
        kid, _, _ = self._parse(token)
        return kid != self._active_kid

    def rewrap(self, token: str, *, context: str) -> str:
        """The same secret with its data key rewrapped under the active key.

        The data ciphertext is kept byte for byte; only the wrapped DEK changes.
        """
        _check_context(context)
        kid, wrapped, sealed = self._parse(token)
        if kid == self._active_kid:
            return token
        dek = self._unwrap(wrapped, kid, context)
        rewrapped = self._wrap(dek, self._active_kid, context)
        return ":".join(
            (FORMAT_VERSION, self._active_kid, _b64url_encode(rewrapped), _b64url_encode(sealed))
        )

    def _wrap(self, dek: bytes, kid: str, context: str) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._keks[kid].encrypt(nonce, dek, _wrap_aad(kid, context))

    def _unwrap(self, wrapped: bytes, kid: str, context: str) -> bytes:
        try:
            return self._keks[kid].decrypt(
                wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], _wrap_aad(kid, context)
            )
        except InvalidTag:
            raise DecryptionError(
                f"data key wrapped under {kid!r} was altered or belongs to another context "
                f"than {context!r}"
            ) from None

    def _parse(self, token: str) -> tuple[str, bytes, bytes]:
        parts = token.split(":")
        if len(parts) != 4:
            raise DecryptionError("not an encrypted Mailroom token")
        version, kid, wrapped_text, sealed_text = parts
        if version != FORMAT_VERSION:
            raise DecryptionError(f"unknown token version {version[:8]!r}")
        if kid not in self._keks:
            shown = kid if _KID_PATTERN.fullmatch(kid) else "(malformed)"
            raise DecryptionError(
                f"token was encrypted under key {shown!r}, which is not configured "
                "(keep retired keys in MAILROOM_ENCRYPTION_KEYS until every secret is rewrapped)"
            )
        wrapped = _b64url_decode(wrapped_text)
        sealed = _b64url_decode(sealed_text)
        if len(wrapped) != _WRAPPED_DEK_BYTES or len(sealed) < NONCE_BYTES + TAG_BYTES:
            raise DecryptionError("token is truncated")
        return kid, wrapped, sealed


def _check_context(context: str) -> None:
    if not context:
        raise ValueError("context must name the record and field the secret belongs to")
