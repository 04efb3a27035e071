"""Bearer tokens: a JWT naming the user (``sub``), organization (``org``) and ``profile``.

HS256 with ``TABLERO_JWT_SECRET``; when ``TABLERO_JWT_PUBLIC_KEY`` is set, RS256 tokens signed by
the matching private key (issued by the platform's identity service) are required instead.
A service token (``"kind": "service"``) may only ingest data for its organization.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import jwt

from .errors import Unauthenticated
from .models import PROFILES

SERVICE = "SERVICE"


@dataclass(frozen=True)
class Principal:
    """Who is asking: the token's user, organization key and profile."""

    user: str
    organization: str
    profile: str  # ADMIN, OPERATOR, VIEWER, AGENT, or SERVICE for ingestion-only tokens


def mint_token(
    secret: str,
    organization: str,
    user: str,
    profile: str,
    *,
    ttl_seconds: int = 30 * 24 * 3600,
    service: bool = False,
    now: int | None = None,
) -> str:
    """An HS256 token for development and tests (``tablero token``)."""
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {', '.join(PROFILES)}")
    issued = int(time.time()) if now is None else now
    claims = {
        "sub": user,
        "org": organization,
        "profile": profile,
        "iat": issued,
        "exp": issued + ttl_seconds,
    }
    if service:
        claims["kind"] = "service"
    return jwt.encode(claims, secret, algorithm="HS256")


def decode_token(token: str, *, secret: str, public_key: str | None = None) -> Principal:
    try:
        if public_key:
            claims = jwt.decode(token, public_key, algorithms=["RS256"])
        else:
            claims = jwt.decode(token, secret, algorithms=["HS256"])
    except jwt.ExpiredSignatureError as exc:
        raise Unauthenticated("The token has expired: ask for a new one.") from exc
    except jwt.PyJWTError as exc:
        raise Unauthenticated(f"The bearer token is not valid ({exc}).") from exc
    user, org, profile = claims.get("sub"), claims.get("org"), claims.get("profile")
    if not isinstance(user, str) or not isinstance(org, str) or profile not in PROFILES:
        raise Unauthenticated(
            "The token must carry 'sub' (user), 'org' (organization) and 'profile' "
            f"({', '.join(PROFILES)})."
        )
    if claims.get("kind") == "service":
        profile = SERVICE
    return Principal(user=user, organization=org, profile=profile)


def principal_from_header(
    header: str | None, *, secret: str, public_key: str | None = None
) -> Principal:
    if not header:
        raise Unauthenticated("Send 'Authorization: Bearer <token>' (see `tablero token --help`).")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("The Authorization header must be 'Bearer <token>'.")
    return decode_token(token.strip(), secret=secret, public_key=public_key)
