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
