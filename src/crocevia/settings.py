"""Runtime settings, read from ``CROCEVIA_*`` environment variables.

Secrets may also come from files (``CROCEVIA_SECRET_KEY_FILE=/run/secrets/key``) so that they
never sit in a process listing or a shell history.
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "dev-insecure-secret-change-me"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CROCEVIA_", extra="ignore")

    env: Literal["dev", "test", "prod"] = "dev"
    data_dir: Path = Path("var")
    database_url: str = ""
    redis_url: str = ""
    secret_key: str = DEV_SECRET
    public_url: str = "http://127.0.0.1:8000"
    host: str = "127.0.0.1"
    port: int = 8000
    # In embedded mode (SQLite) the web process also runs the outbox dispatcher.
    run_worker_in_process: bool = True
    worker_threads: int = 4
    media_backend: Literal["local", "s3"] = "local"
    media_max_bytes: int = 16 * 1024 * 1024
    media_allowed_types: list[str] = Field(
        default_factory=lambda: [
            "image/jpeg",
            "image/png",
            "image/gif",
            "image/webp",
            "audio/ogg",
            "audio/mpeg",
            "audio/mp4",
            "video/mp4",
            "application/pdf",
            "text/plain",
            "text/calendar",
        ]
    )
    s3_endpoint_url: str = ""
    s3_bucket: str = ""
    s3_access_key: str = ""
    s3_secret_key: str = ""
    session_max_age_seconds: int = 14 * 24 * 3600
    log_json: bool = True
    log_level: str = "INFO"
    # Outbox retries: exponential backoff base and cap, in seconds.
    send_max_attempts: int = 8
    send_backoff_base: float = 1.0
    send_backoff_cap: float = 300.0
    # How long a claimed outbox row stays leased to a worker before another may take it over.
    send_lease_seconds: float = 30.0
    # A JSON file of the business's own DLP detectors (regex, validator, context words).
    dlp_custom_detectors: Path | None = None
    # Default token bucket for a channel kind that declares no limit of its own (msgs/s).
    default_channel_rate: float = 20.0
    # Bearer token Prometheus sends to /metrics; without one, /metrics answers only to this host.
    metrics_token: str = ""

    @model_validator(mode="before")
    @classmethod
    def _read_secret_files(cls, values: dict[str, object]) -> dict[str, object]:
        """Any ``CROCEVIA_<NAME>_FILE`` variable supplies ``<name>`` from that file."""
        for key, val in os.environ.items():
            if key.startswith("CROCEVIA_") and key.endswith("_FILE"):
                field = key[len("CROCEVIA_") : -len("_FILE")].lower()
                if field in cls.model_fields and field not in values:
                    values[field] = Path(val).read_text().strip()
        return values

    @field_validator("secret_key")
    @classmethod
    def _secret_not_empty(cls, v: str) -> str:
        if not v:
            raise ValueError("secret_key must not be empty")
        return v

    @model_validator(mode="after")
    def _refuse_defaults_in_prod(self) -> Settings:
        if self.env == "prod" and self.secret_key == DEV_SECRET:
            raise ValueError("CROCEVIA_SECRET_KEY must be set in production (CROCEVIA_ENV=prod)")
        return self

    @cached_property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'crocevia.db').resolve()}"

    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"

    @property
    def is_sqlite(self) -> bool:
        return self.effective_database_url.startswith("sqlite")
