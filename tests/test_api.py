"""The HTTP API end to end: authentication, tenant isolation, filter errors, CSV plumbing.

Driven through the example third-party panel ``messagesPerChannel`` (examples/), so these tests
also prove a pip-installed plugin gets the core's filters, permissions and CSV export.
"""

from datetime import UTC, datetime

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import insert

from tablero.auth import mint_token
from tablero.models import Contact, Message
from tablero.settings import DEV_SECRET

QUERY = """
query ($filters: ReportFiltersInput) {
  messagesPerChannel(filters: $filters) { channel inbound outbound }
}"""


def ts(*args) -> int:
    return int(datetime(*args, tzinfo=UTC).timestamp())


def add_messages(db, org_id, rows):
    """rows: (external id, channel, direction, sent_at epoch)."""

    def write(conn):
        conn.execute(
            insert(Contact),
            [dict(organization_id=org_id, id=1, external_id="c1", created_at=ts(2026, 1, 1))],
        )
        conn.execute(
            insert(Message),
            [
                dict(
                    organization_id=org_id,
                    id=i,
                    external_id=ext,
                    contact_id=1,
                    channel=channel,
                    direction=direction,
                    sender="CONTACT" if direction == "INBOUND" else "ADVISOR",
                    sent_at=sent_at,
                    automatic=False,
                    effective=False,
                )
                for i, (ext, channel, direction, sent_at) in enumerate(rows, start=1)
            ],
        )

    db.write(write)


@pytest.fixture
def two_orgs(db, make_org, make_api):
    a_id, a_key = make_org()
    b_id, b_key = make_org()
    # NOW is 2026-11-25 12:00 in Sao Paulo; LAST_30_DAYS starts 2026-10-27 00:00 local (03:00 UTC)
    add_messages(
        db,
        a_id,
        [
            ("m1", "WHATSAPP", "INBOUND", ts(2026, 11, 20, 13)),
            ("m2", "WHATSAPP", "OUTBOUND", ts(2026, 11, 20, 14)),
            ("m3", "SMS", "OUTBOUND", ts(2026, 10, 27, 3, 0)),  # first second of the period
            ("m4", "SMS", "OUTBOUND", ts(2026, 10, 27, 2, 59)),  # 23:59 the day before: out
        ],
    )
    # organization B has more of everything, none of which A may see
    add_messages(
        db,
        b_id,
        [(f"m{i}", "WHATSAPP", "OUTBOUND", ts(2026, 11, 21, 12)) for i in range(1, 6)],
    )
    return make_api(a_key), make_api(b_key)


def test_each_token_sees_only_its_organization(two_orgs):
    api_a, api_b = two_orgs
    assert api_a.data(QUERY)["messagesPerChannel"] == [
        {"channel": "SMS", "inbound": 0, "outbound": 1},
        {"channel": "WHATSAPP", "inbound": 1, "outbound": 1},
    ]
    assert api_b.data(QUERY)["messagesPerChannel"] == [
        {"channel": "WHATSAPP", "inbound": 0, "outbound": 5}
    ]


def test_csv_is_isolated_and_matches_graphql(two_orgs):
    api_a, _ = two_orgs
    status, rows = api_a.csv("/export/messages_per_channel/channels.csv")
    assert status == 200
    assert rows == [["channel", "inbound", "outbound"], ["SMS", "0", "1"], ["WHATSAPP", "1", "1"]]
    status, rows = api_a.csv("/export/messages_per_channel/channels.csv", channel="SMS")
    assert rows[1:] == [["SMS", "0", "1"]]


def test_csv_errors_are_clear(two_orgs):
    api_a, _ = two_orgs
    status, body = api_a.csv("/export/messages_per_channel/channels.csv", profile="AGENT")
    assert status == 403 and body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    status, body = api_a.csv("/export/messages_per_channel/channels.csv", period="CUSTOM",
                             start="2026-02-01", end="2026-01-01")
    assert status == 400 and body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    status, body = api_a.csv("/export/nothing/here.csv")
    assert status == 404 and body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    response = api_a.request("GET", "/export/messages_per_channel/channels.csv")
    assert response.status_code == 401


def test_a_token_for_another_organization_key_sees_that_organization_only(two_orgs):
    api_a, api_b = two_orgs
    # A forged org claim needs the signing secret: without it the token is refused
    forged = jwt.encode({"sub": "x", "org": api_b.org_key, "profile": "ADMIN"}, "wrong-secret")
    assert api_a.error_codes(QUERY, token=forged) == ["UNAUTHENTICATED"]


@pytest.mark.parametrize(
    "period, code",
    [
        ({"preset": "CUSTOM", "start": "2026-02-01", "end": "2026-01-01"}, "BAD_USER_INPUT"),
        ({"preset": "CUSTOM", "start": "2025-01-01", "end": "2026-01-02"}, "BAD_USER_INPUT"),
        ({"preset": "CUSTOM"}, "BAD_USER_INPUT"),
    ],
)
def test_bad_periods_are_bad_user_input(two_orgs, period, code):
    api_a, _ = two_orgs
    assert api_a.error_codes(QUERY, {"filters": {"period": period}}) == [code]


def test_unknown_preset_is_a_validation_error(two_orgs):
    api_a, _ = two_orgs
    body = api_a.graphql(QUERY, {"filters": {"period": {"preset": "LAST_3_DAYS"}}})
    assert body["errors"] and "LAST_3_DAYS" in body["errors"][0]["message"]


def test_unknown_group_or_advisor_is_not_found(two_orgs):
    api_a, _ = two_orgs
    assert api_a.error_codes(QUERY, {"filters": {"group": "nope"}}) == ["NOT_FOUND"]
    assert api_a.error_codes(QUERY, {"filters": {"advisor": "nope"}}) == ["NOT_FOUND"]


def test_period_bounds_follow_the_organization_midnight(two_orgs):
    api_a, _ = two_orgs
    yesterday_of_m4 = {"preset": "CUSTOM", "start": "2026-10-26", "end": "2026-10-26"}
    assert api_a.data(QUERY, {"filters": {"period": yesterday_of_m4}})["messagesPerChannel"] == [
        {"channel": "SMS", "inbound": 0, "outbound": 1}
    ]


def test_as_of_reproduces_a_past_dashboard(two_orgs):
    api_a, _ = two_orgs
    # at 2026-11-20 13:30 UTC, m2 (14:00 UTC) had not been sent yet
    variables = {"filters": {"period": {"preset": "TODAY"}, "asOf": "2026-11-20T13:30:00+00:00"}}
    assert api_a.data(QUERY, variables)["messagesPerChannel"] == [
        {"channel": "WHATSAPP", "inbound": 1, "outbound": 0}
    ]


class TestAuthentication:
    def test_missing_token(self, two_orgs):
        api_a, _ = two_orgs
        response = api_a.request("POST", "/graphql", json={"query": "{ me { user } }"})
        assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"

    @pytest.mark.parametrize(
        "token",
        [
            "not-a-jwt",
            jwt.encode({"sub": "u", "org": "o", "profile": "ADMIN"}, "other-secret"),
            jwt.encode({"sub": "u", "profile": "ADMIN"}, DEV_SECRET),  # no organization
            jwt.encode({"sub": "u", "org": "o", "profile": "ROOT"}, DEV_SECRET),  # no such profile
            mint_token(DEV_SECRET, "o", "u", "ADMIN", ttl_seconds=-10),  # expired
        ],
    )
    def test_bad_tokens(self, two_orgs, token):
        api_a, _ = two_orgs
        assert api_a.error_codes("{ me { user } }", token=token) == ["UNAUTHENTICATED"]

    def test_unknown_organization(self, two_orgs):
        api_a, _ = two_orgs
        token = mint_token(DEV_SECRET, "no-such-org", "u", "ADMIN")
        assert api_a.error_codes("{ me { user } }", token=token) == ["UNAUTHENTICATED"]

    def test_service_tokens_cannot_read_reports(self, two_orgs):
        api_a, _ = two_orgs
        token = mint_token(DEV_SECRET, api_a.org_key, "etl", "ADMIN", service=True)
        assert api_a.error_codes("{ me { user } }", token=token) == ["FORBIDDEN"]

    def test_rs256_with_a_configured_public_key(self, two_orgs, make_api):
        api_a, _ = two_orgs
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()
        api = make_api(api_a.org_key, jwt_public_key=public)
        good = jwt.encode({"sub": "u", "org": api_a.org_key, "profile": "VIEWER"}, key, "RS256")
        assert api.data("{ me { profile } }", token=good) == {"me": {"profile": "VIEWER"}}
        hs = mint_token(DEV_SECRET, api_a.org_key, "u", "ADMIN")  # HS256 no longer accepted
        assert api.error_codes("{ me { profile } }", token=hs) == ["UNAUTHENTICATED"]


def test_internal_errors_are_masked(two_orgs, monkeypatch):
    api_a, _ = two_orgs
    import tablero_messages_per_channel as example

    def explode(conn, f):
        raise RuntimeError("secret internals: password=hunter2")

    monkeypatch.setattr(example, "messages_per_channel", explode)
    body = api_a.graphql(QUERY)
    assert body["errors"][0]["message"] == "Unexpected error."
    assert "hunter2" not in str(body)


def test_healthz(two_orgs):
    api_a, _ = two_orgs
    response = api_a.request("GET", "/healthz")
    assert response.status_code == 200 and response.json()["status"] == "ok"


def test_a_csv_download_streams_with_bounded_memory_settings_and_restores_them(db, two_orgs):
    """SQLite: the download's connection sorts to temporary files, with a small page cache and
    no memory map, and gets the report settings back before it returns to the pool."""
    from sqlalchemy import event

    from tablero.db import SQLITE_REPORT_PRAGMAS, SQLITE_STREAMING_PRAGMAS

    api_a, _ = two_orgs
    seen: list[str] = []

    def collect(conn, cursor, statement, *args):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", collect)
    try:
        status, rows = api_a.csv("/export/messages_per_channel/channels.csv")
    finally:
        event.remove(db.engine, "before_cursor_execute", collect)
    assert status == 200 and rows[0] == ["channel", "inbound", "outbound"]
    pragmas = [s for s in seen if s.startswith("PRAGMA")]
    if db.is_sqlite:
        assert pragmas == [*SQLITE_STREAMING_PRAGMAS, *SQLITE_REPORT_PRAGMAS]
        # every pooled connection is back at the report settings
        assert db.read(lambda conn: conn.exec_driver_sql("PRAGMA cache_size").scalar()) == -200000
    else:
        assert pragmas == []


def test_query_limits_refuse_deep_and_aliased_queries_and_validation_is_cached(
    two_orgs, make_api, monkeypatch
):
    """The depth and alias limits hold, and a query already validated is not validated again
    (the limits' rules are built once, so the validation cache can recognise the query)."""
    import strawberry.schema.schema as strawberry_schema
    from strawberry.extensions import validation_cache

    api, _ = two_orgs
    many_aliases = "{ " + " ".join(f"a{i}: __typename" for i in range(31)) + " }"
    body = api.graphql(many_aliases)
    assert body.get("errors") and "aliases" in body["errors"][0]["message"]
    shallow = make_api(api.org_key, max_query_depth=0)  # the root field is depth 0
    body = shallow.graphql(QUERY)
    assert body.get("errors") and "depth" in body["errors"][0]["message"]

    calls = []
    real = strawberry_schema.validate_document

    def counting(*args):
        calls.append(1)
        return real(*args)

    validation_cache._get_validate_cache.cache_clear()
    monkeypatch.setattr(strawberry_schema, "validate_document", counting)
    first = api.data(QUERY, {"filters": {"period": {"preset": "LAST_30_DAYS"}}})
    second = api.data(QUERY, {"filters": {"period": {"preset": "LAST_30_DAYS"}}})
    assert first == second and len(calls) == 1
    validation_cache._get_validate_cache.cache_clear()
