"""Configuration, from the environment (``TABLERO_*``) or given explicitly (tests, bench)."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from .db import database_url_from_env

DEV_SECRET = "tablero-development-secret-change-me"


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass
class Settings:
    database_url: str = field(default_factory=database_url_from_env)
    # HS256 shared secret; RS256 public key (PEM) when set, which then is the only accepted kind.
    jwt_secret: str = field(default_factory=lambda: os.environ.get("TABLERO_JWT_SECRET", DEV_SECRET))
    jwt_public_key: str | None = field(
        default_factory=lambda: _read_key(os.environ.get("TABLERO_JWT_PUBLIC_KEY"))
    )
    # Production turns off GraphiQL, introspection and field suggestions.
    production: bool = field(
        default_factory=lambda: os.environ.get("TABLERO_ENV", "").lower() == "production"
    )
    clock: Callable[[], datetime] = system_clock
    max_query_depth: int = 12
    max_aliases: int = 30
    max_tokens: int = 4000
    max_ingest_bytes: int = 64 * 1024 * 1024


def _read_key(value: str | None) -> str | None:
    """A PEM key given inline or as a path to a file."""
    if not value:
        return None
    if value.strip().startswith("-----BEGIN"):
        return value
    with open(value, encoding="utf-8") as handle:
        return handle.read()
