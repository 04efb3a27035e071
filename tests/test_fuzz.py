"""schemathesis (GraphQL mode) against the assembled schema, with an ADMIN token.

Every generated query must answer without a server error (HTTP 5xx), and every error it returns must be a
domain error with an ``extensions.code`` (or a GraphQL validation error) — never an internal error
leaking out, and never the masked "Unexpected error." that would hide a bug.
"""

import tempfile
from datetime import UTC, date, datetime
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings

from tablero.app import create_app
from tablero.auth import mint_token
from tablero.db import Database
from tablero.ingest import load_demo
from tablero.migrate import upgrade
from tablero.settings import Settings

_DIR = Path(tempfile.mkdtemp(prefix="tablero-fuzz-"))
_URL = f"sqlite:///{_DIR / 'fuzz.sqlite3'}"
upgrade(_URL)
_DB = Database(_URL)
load_demo(_DB, "fuzz", "tiny", 7, end=date(2026, 11, 25))
_SETTINGS = Settings(database_url=_URL, clock=lambda: datetime(2026, 11, 25, 15, tzinfo=UTC))
_APP = create_app(_SETTINGS, db=_DB)
_TOKEN = mint_token(_SETTINGS.jwt_secret, "fuzz", "admin", "ADMIN")

schema = schemathesis.graphql.from_asgi(
    "/graphql", _APP, headers={"Authorization": f"Bearer {_TOKEN}"}
)

KNOWN_CODES = {"BAD_USER_INPUT", "NOT_FOUND", "FORBIDDEN", "UNAUTHENTICATED"}


def no_internal_errors(ctx, response, case):
    assert response.status_code < 500, f"HTTP {response.status_code}: {case.body}"
    body = response.json()
    for error in body.get("errors") or []:
        message = error.get("message", "")
        assert message != "Unexpected error.", f"an internal error was masked: {case.body}"
        if error.get("path"):
            code = (error.get("extensions") or {}).get("code")
            assert code in KNOWN_CODES, f"error without a domain code: {error}"


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_graphql_api(case):
    case.call_and_validate(
        headers={"Authorization": f"Bearer {_TOKEN}"},
        checks=[no_internal_errors],
    )
