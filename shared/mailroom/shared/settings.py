"""Settings shared by every service, read from `MAILROOM_*` environment variables.

Each service subclasses `CommonSettings` in its own `settings.py`, builds it once in
`main.py` through `load_settings`, and passes it down: nothing reads the
environment anywhere else.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, TypeVar

from pydantic import AnyUrl, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"
DEFAULT_MONGO_URL = "mongodb://127.0.0.1:27017/?directConnection=true"

# Values that show someone copied an example instead of setting a real secret.
_PLACEHOLDER_SECRETS = {"changeme", "change-me", "secret", "password", "xxx", "todo"}


class SettingsError(SystemExit):
    """A bad setting stops the service with a sentence instead of a traceback."""


class CommonSettings(BaseSettings):
    """What every Mailroom service needs: broker, store, keys, logging, drain."""

    model_config = SettingsConfigDict(
        env_prefix="MAILROOM_",
        extra="ignore",
        case_sensitive=False,
        frozen=True,
        populate_by_name=True,
    )

    amqp_url: SecretStr = Field(
        SecretStr(DEFAULT_AMQP_URL), description="RabbitMQ URL (credentials inside)."
    )
    bus_namespace: str = Field(
        "mailroom",
        pattern=r"^[a-z][a-z0-9-]{0,40}$",
        description="Name of the topic exchange and prefix of every queue.",
    )
    mongo_url: SecretStr = Field(SecretStr(DEFAULT_MONGO_URL), description="MongoDB URL.")
    mongo_db: str = Field("mailroom", pattern=r"^[A-Za-z0-9_-]{1,60}$")
    encryption_keys: SecretStr | None = Field(
        None,
        description="Key-encryption keys as 'kid:base64key[,kid:base64key...]' (32-byte keys).",
    )
    encryption_keys_dir: Path | None = Field(
        None,
        description="A mounted Kubernetes Secret: one file per key, the file name is the key id.",
    )
    encryption_active_key: str | None = Field(
        None, description="Key id used for new ciphertexts (default: the last key listed)."
    )
    log_level: str = Field("INFO", pattern=r"^(DEBUG|INFO|WARNING|ERROR)$")
    log_format: str = Field("json", pattern=r"^(json|text)$")
    prefetch: int = Field(64, ge=1, le=10_000, description="Unacked messages per consumer.")
    max_attempts: int = Field(
        5, ge=1, le=100, description="Attempts before a failing message is dead-lettered."
    )
    retry_delays: tuple[float, ...] = Field(
        (1.0, 5.0, 30.0, 120.0, 600.0),
        min_length=1,
        max_length=12,
        description="Delay ladder for retries in seconds, as a JSON list; the last step repeats.",
    )
    drain_seconds: float = Field(
        20.0, ge=0, le=600, description="On SIGTERM, how long in-flight work may finish."
    )
    http_host: str = Field("0.0.0.0", description="Address of the health/metrics server.")

    @field_validator("amqp_url")
    @classmethod
    def _amqp_scheme(cls, value: SecretStr) -> SecretStr:
        url = AnyUrl(value.get_secret_value())
        if url.scheme not in ("amqp", "amqps"):
            raise ValueError("must start with amqp:// or amqps://")
        return value

    @field_validator("mongo_url")
    @classmethod
    def _mongo_scheme(cls, value: SecretStr) -> SecretStr:
        raw = value.get_secret_value()
        if not raw.startswith(("mongodb://", "mongodb+srv://")):
            raise ValueError("must start with mongodb:// or mongodb+srv://")
        return value

    @field_validator("encryption_keys")
    @classmethod
    def _no_placeholder(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and value.get_secret_value().strip().lower() in _PLACEHOLDER_SECRETS:
            raise ValueError("is a placeholder; set real keys (see README, 'Secrets')")
        return value


SettingsT = TypeVar("SettingsT", bound=CommonSettings)


def load_settings(cls: type[SettingsT], **overrides: Any) -> SettingsT:
    """Build settings from the environment, or exit with one line per bad value."""
    try:
        return cls(**overrides)
    except ValidationError as exc:
        lines = [f"{cls.__name__}: invalid configuration"]
        prefix = cls.model_config.get("env_prefix", "")
        for error in exc.errors():
            field = ".".join(str(part) for part in error["loc"])
            lines.append(f"  {prefix}{field.upper()}: {error['msg']}")
        print("\n".join(lines), file=sys.stderr)
        raise SettingsError(2) from None
