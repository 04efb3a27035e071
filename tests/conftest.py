"""Shared fixtures: a real SQLite file and a real PostgreSQL database, one per test session.

Tests are isolated by organization (each test creates its own, with a unique key), which is the
product's own tenancy guarantee; nothing is mocked.

PostgreSQL: ``TABLERO_TEST_PG_URL`` (default: the local server's ``test`` database) is used to
create a fresh database for the session. Under ``CI=true`` an unreachable server is a failure,
elsewhere the PostgreSQL half of the suite is skipped with a reason.
"""

from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import create_engine, text

from tablero.db import Database
from tablero.migrate import upgrade
from tablero.orgs import create_organization

PG_SERVER_URL = os.environ.get(
    "TABLERO_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def sqlite_database(tmp_path_factory) -> Database:
    path = tmp_path_factory.mktemp("db") / "tablero-test.sqlite3"
    url = f"sqlite:///{path}"
    upgrade(url)
    database = Database(url)
    yield database
    database.dispose()


@pytest.fixture(scope="session")
def postgres_database() -> Database:
    server = create_engine(PG_SERVER_URL, isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as conn:
            conn.execute(text("select 1"))
    except Exception as exc:  # noqa: BLE001 - any connection failure
        server.dispose()
        message = f"PostgreSQL not reachable at {PG_SERVER_URL}: {exc}"
        if IN_CI:
            pytest.fail(message + " (CI=true requires it)")
        pytest.skip(message)
    name = f"tablero_test_{uuid.uuid4().hex[:12]}"
    with server.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_SERVER_URL.rsplit("/", 1)[0] + "/" + name
    upgrade(url)
    database = Database(url)
    yield database
    database.dispose()
    with server.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    server.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def empty_database_url(request, tmp_path) -> str:
    """The URL of a new, empty (unmigrated) database on each backend, dropped afterwards: for
    tests that migrate step by step."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.sqlite3'}"
        return
    server = create_engine(PG_SERVER_URL, isolation_level="AUTOCOMMIT")
    name = f"tablero_test_{uuid.uuid4().hex[:12]}"
    try:
        with server.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - any connection failure
        server.dispose()
        message = f"PostgreSQL not reachable at {PG_SERVER_URL}: {exc}"
        if IN_CI:
            pytest.fail(message + " (CI=true requires it)")
        pytest.skip(message)
    yield PG_SERVER_URL.rsplit("/", 1)[0] + "/" + name
    with server.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    server.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def db(request) -> Database:
    """The database under test: every test using it runs on SQLite and on PostgreSQL."""
    return request.getfixturevalue(f"{request.param}_database")


@pytest.fixture
def sqlite_db(sqlite_database) -> Database:
    return sqlite_database


@pytest.fixture
def make_org(db):
    """Create an organization with a unique key: ``make_org(timezone=...)`` -> (id, key)."""

    def _make(timezone: str = "America/Sao_Paulo", key: str | None = None) -> tuple[int, str]:
        key = key or f"org-{uuid.uuid4().hex[:10]}"
        org_id = db.write(lambda conn: create_organization(conn, key, key, timezone))
        return org_id, key

    return _make


# ---- GraphQL over real HTTP semantics (ASGI, httpx) -------------------------------------------

import asyncio  # noqa: E402
from datetime import UTC, datetime  # noqa: E402

import httpx  # noqa: E402

from tablero.app import create_app  # noqa: E402
from tablero.auth import mint_token  # noqa: E402
from tablero.plugin_manager import Registry, make_plugin_manager  # noqa: E402
from tablero.settings import DEV_SECRET, Settings  # noqa: E402

# A fixed "now" for reports: Wednesday 2026-11-25 12:00 in America/Sao_Paulo (15:00 UTC).
NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)


class Api:
    """Talks to the ASGI app through httpx, as a frontend would."""

    def __init__(self, app, org_key: str):
        self.app = app
        self.org_key = org_key

    def token(self, profile: str = "ADMIN", user: str | None = None, org: str | None = None) -> str:
        return mint_token(DEV_SECRET, org or self.org_key, user or profile.lower(), profile)

    def request(self, method: str, url: str, *, token: str | None = None, **kwargs):
        headers = kwargs.pop("headers", {})
        if token:
            headers["Authorization"] = f"Bearer {token}"

        async def go():
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://tablero") as c:
                return await c.request(method, url, headers=headers, **kwargs)

        return asyncio.run(go())

    def graphql(
        self,
        query: str,
        variables: dict | None = None,
        *,
        profile: str = "ADMIN",
        user: str | None = None,
        token: str | None = None,
    ) -> dict:
        """POST /graphql; returns the JSON body ({"data": ..., "errors": [...]})."""
        token = token or self.token(profile, user)
        response = self.request(
            "POST", "/graphql", token=token, json={"query": query, "variables": variables or {}}
        )
        assert response.status_code == 200, response.text
        return response.json()

    def data(self, query: str, variables: dict | None = None, **kwargs) -> dict:
        """Like :meth:`graphql`, asserting there are no errors."""
        body = self.graphql(query, variables, **kwargs)
        assert not body.get("errors"), body.get("errors")
        return body["data"]

    def error_codes(self, query: str, variables: dict | None = None, **kwargs) -> list[str]:
        body = self.graphql(query, variables, **kwargs)
        return [e.get("extensions", {}).get("code") for e in body.get("errors") or []]

    def csv(self, path: str, *, profile: str = "ADMIN", user: str | None = None, **params):
        """GET a CSV export; returns (status, rows as lists of strings)."""
        import csv as _csv
        import io

        response = self.request("GET", path, token=self.token(profile, user), params=params)
        if response.status_code != 200:
            return response.status_code, response.json()
        return 200, list(_csv.reader(io.StringIO(response.text)))


_REGISTRY = None


def default_registry() -> Registry:
    global _REGISTRY
    if _REGISTRY is None:
        _REGISTRY = Registry.collect(make_plugin_manager())
    return _REGISTRY


@pytest.fixture
def make_api(db):
    """``make_api(org_key, now=NOW)`` -> :class:`Api` on the test database with a pinned clock."""

    def _make(
        org_key: str, now: datetime = NOW, registry: Registry | None = None, **settings_overrides
    ) -> Api:
        settings = Settings(database_url=db.url, clock=lambda: now, **settings_overrides)
        app = create_app(settings, db=db, registry=registry or default_registry())
        return Api(app, org_key)

    return _make
