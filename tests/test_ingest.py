"""Ingestion (SPEC 5, 8): NDJSON lines in, validated and upserted rows out, or every bad line named.

Every test runs on SQLite and on PostgreSQL (the ``db`` fixture); each creates its own organization.
"""

from __future__ import annotations

import json
import pickle
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, text
from tablero.cli_data import ingest_command, org_group, refresh_command
from tablero.ingest import IngestRejected, ingest_lines, ingest_records
from tablero.models import MONEY_SCALE, TENANT_TABLES, Organization

NOW = 1_795_000_000  # a fixed ingestion time, so done_at and refreshed_at are reproducible

# A small, valid batch touching every record type, in a deliberately awkward order: the message
# comes before its contact, conversation and advisor.
BATCH = """\
{"type": "message", "id": "m-1", "contact": "c-1", "conversation": "v-1", "channel": "WHATSAPP", "direction": "INBOUND", "sender": "CONTACT", "sent_at": "2026-11-10T10:00:00-03:00"}
{"type": "message", "id": "m-2", "contact": "c-1", "conversation": "v-1", "channel": "WHATSAPP", "direction": "OUTBOUND", "sender": "ADVISOR", "advisor": "ana", "status": "READ", "sent_at": "2026-11-10T10:30:00-03:00"}
{"type": "contact", "id": "c-1", "name": "Maria", "phone": "+55 11 98765-4321", "origin": "Instagram", "entry_group": "sales", "current_group": "sales", "created_at": "2026-11-10T09:00:00-03:00"}
{"type": "conversation", "id": "v-1", "contact": "c-1", "advisor": "ana", "kind": "COMMERCIAL", "channel": "WHATSAPP", "status": "CLOSED", "started_at": "2026-11-10T10:00:00-03:00", "closed_at": "2026-11-10T12:00:00-03:00", "closing_reason": "venta", "sentiment": "POSITIVE"}
{"type": "user", "id": "ana", "name": "Ana", "email": "ana@example.com", "profile": "AGENT"}
{"type": "group", "id": "sales", "name": "Sales"}

{"type": "closing_reason", "id": "duplicado", "name": "Cliente duplicado", "closes": true}
{"type": "campaign", "id": "black-friday", "name": "Black Friday", "channel": "SMS", "journey": "promo", "sent_at": "2026-11-27T08:00:00Z"}
{"type": "ticket", "id": "t-1", "contact": "c-1", "status": "NEW", "opened_at": "2026-11-10T11:00:00-03:00"}
{"type": "order", "id": "o-1", "contact": "c-1", "amount": "199.90", "currency": "BRL", "ordered_at": "2026-11-10T12:00:00-03:00"}
{"type": "schedule", "advisor": null, "timezone": "America/Sao_Paulo", "weekly": {"1": [["09:00", "18:00"]], "2": [["09:00", "18:00"]], "3": [["09:00", "18:00"]], "4": [["09:00", "18:00"]], "5": [["09:00", "18:00"]]}, "holidays": {"country": "BR"}}
{"type": "plan_usage", "day": "2026-11-10", "channel": "WHATSAPP", "used": 120, "quota": 1000}
{"type": "onboarding_step", "id": "import_contacts", "done": true}
"""


def lines_of(text_block: str) -> list[str]:
    return text_block.splitlines()


def ndjson(records: list[dict | str]) -> list[str]:
    """NDJSON lines: each dict as its JSON text; a string is kept as it is (a broken line)."""
    return [r if isinstance(r, str) else json.dumps(r) for r in records]


def row_counts(db, org_id: int) -> dict[str, int]:
    def read(conn):
        return {
            model.__tablename__: conn.execute(
                select(func.count()).select_from(model.__table__).where(
                    model.__table__.c.organization_id == org_id
                )
            ).scalar()
            for model in TENANT_TABLES
        }

    return db.read(read)


def org_contents(db, org_id: int) -> dict[str, list[tuple]]:
    """Every row of the organization, table by table, in primary-key order."""

    def read(conn):
        out = {}
        for model in TENANT_TABLES:
            table = model.__table__
            out[table.name] = [
                tuple(row)
                for row in conn.execute(
                    select(table)
                    .where(table.c.organization_id == org_id)
                    .order_by(*table.primary_key.columns)
                )
            ]
        org = conn.execute(
            select(Organization.id, Organization.key, Organization.name, Organization.timezone,
                   Organization.created_at).where(Organization.id == org_id)
        ).one()
        out["organization"] = [tuple(org)]  # refreshed_at excluded: it is the ingestion time
        return out

    return db.read(read)


def scalar(db, sql: str, **params):
    return db.read(lambda conn: conn.execute(text(sql), params).scalar())


def test_a_valid_batch_is_stored_with_every_field(db, make_org):
    org_id, _ = make_org()
    result = ingest_lines(db, org_id, lines_of(BATCH), now=NOW)

    assert result.counts == {
        "user": 1, "group": 1, "closing_reason": 1, "campaign": 1, "contact": 1,
        "conversation": 1, "message": 2, "ticket": 1, "order": 1, "schedule": 1,
        "plan_usage": 1, "onboarding_step": 1,
    }
    assert result.chunks == 1 and result.lines == 14
    contact = db.read(lambda conn: conn.execute(text(
        "SELECT c.name, c.phone, c.state, c.origin, g.external_id, c.created_at FROM contact c"
        " JOIN contact_group g ON g.organization_id = c.organization_id"
        " AND g.id = c.entry_group_id WHERE c.organization_id = :org"), {"org": org_id}).one())
    # the phone is stored normalised (E.164), its state derived from DDD 11
    assert tuple(contact) == ("Maria", "+5511987654321", "SP", "Instagram", "sales",
                              1_794_312_000)  # 2026-11-10 09:00 -03:00
    conversation = db.read(lambda conn: conn.execute(text(
        "SELECT v.kind, v.status, r.external_id, u.external_id, v.sentiment, v.closed_at"
        " FROM conversation v"
        " JOIN closing_reason r ON r.organization_id = v.organization_id"
        " AND r.id = v.closing_reason_id"
        " JOIN app_user u ON u.organization_id = v.organization_id AND u.id = v.advisor_id"
        " WHERE v.organization_id = :org"), {"org": org_id}).one())
    assert tuple(conversation) == ("COMMERCIAL", "CLOSED", "venta", "ana", "POSITIVE",
                                   1_794_322_800)
    assert scalar(db, "SELECT amount_e4 FROM sales_order WHERE organization_id = :org",
                  org=org_id) == 1_999_000
    assert scalar(db, "SELECT weekly_json FROM business_schedule WHERE organization_id = :org"
                  " AND advisor_id = 0", org=org_id) == json.dumps(
        {str(d): [["09:00", "18:00"]] for d in range(1, 6)}, separators=(",", ":"))
    step = db.read(lambda conn: conn.execute(text(
        "SELECT done, done_at FROM onboarding_step WHERE organization_id = :org"
        " AND key = 'import_contacts'"), {"org": org_id}).one())
    assert bool(step[0]) is True and step[1] == NOW
    assert scalar(db, "SELECT refreshed_at FROM organization WHERE id = :org", org=org_id) == NOW


def test_a_batch_with_bad_lines_is_rejected_whole_and_every_bad_line_is_named(db, make_org):
    org_id, _ = make_org()
    ingest_lines(db, org_id, lines_of(BATCH), now=NOW)
    before = row_counts(db, org_id)
    batch = [
        {"type": "contact", "id": "c-2", "created_at": "2026-11-11T09:00:00-03:00"},
        {"type": "foo", "id": "x-1"},
        {"type": "conversation", "id": "v-2", "contact": "c-2", "kind": "SALES",
         "channel": "WHATSAPP", "status": "NEW", "started_at": "2026-11-11T09:00:00-03:00"},
        {"type": "conversation", "id": "v-3", "contact": "c-2", "kind": "SUPPORT",
         "channel": "WHATSAPP", "status": "NEW"},
        {"type": "contact", "id": "c-3", "created_at": "2026-13-01"},
        {"type": "message", "id": "m-9", "contact": "c-9", "channel": "SMS",
         "direction": "OUTBOUND", "sender": "CAMPAIGN", "sent_at": "2026-11-11T09:00:00Z"},
        {"type": "user", "id": "bot", "name": "Bot", "profile": "AGENT", "is_bot": "yes"},
        '{"type": "group", "id": "g-2", "name": "Support"',
        '',
        ('{"type": "order", "id": "o-2", "contact": "c-1", "amount": 10.5,'
        ' "ordered_at": "2026-11-11T09:00:00-03:00"}'),
        {"type": "contact", "id": "c-4", "created_at": "2026-11-11T09:00:00"},
        {"type": "group", "id": "g-3", "name": "Ops", "organization": "other-org"},
    ]
    with pytest.raises(IngestRejected) as caught:
        ingest_lines(db, org_id, ndjson(batch), now=NOW)

    errors = [(e.line, e.field, e.reason) for e in caught.value.errors]
    assert errors == [
        (2, "type", ('unknown type "foo" (expected one of user, group, closing_reason, '
         "campaign, contact, conversation, message, ticket, order, schedule, plan_usage, "
         "onboarding_step)")),
        (3, "kind", '"kind" must be one of COMMERCIAL, SUPPORT (got "SALES")'),
        (4, "started_at", 'missing required field "started_at"'),
        (5, "created_at", ('bad timestamp "2026-13-01": use ISO 8601 with an offset, e.g. '
         '"2026-11-03T14:05:00-03:00" or "...Z"')),
        (6, "contact", 'contact "c-9" does not exist (not in this batch nor stored)'),
        (7, "is_bot", '"is_bot" must be a boolean, true or false (got a string)'),
        (8, None, "invalid JSON: Expecting ',' delimiter (column 49)"),
        (10, "amount", ('"amount" must be a decimal string such as "19.90" (got a number: '
         'send it as a string, e.g. "10.5", so it stays exact)')),
        (11, "created_at", ('timestamp "2026-11-11T09:00:00" has no offset: use ISO 8601 with '
         'an offset, e.g. "2026-11-03T14:05:00-03:00" or "...Z"')),
        (12, "organization", ('"organization" is not a field: the organization is the one of '
         "the token (HTTP) or --org (CLI)")),
    ]
    assert caught.value.chunk == 1 and caught.value.stored_chunks == 0
    assert "chunk 1 rejected" in str(caught.value)
    assert row_counts(db, org_id) == before  # the good lines (c-2) were not written either


def test_cross_field_rules_and_unique_closing_reason_names(db, make_org):
    org_id, _ = make_org()
    ingest_lines(db, org_id, lines_of(BATCH), now=NOW)
    batch = [
        # closing reason and transfer need closed_at
        {"type": "conversation", "id": "v-2", "contact": "c-1", "kind": "SUPPORT",
         "channel": "EMAIL", "status": "CLOSED", "started_at": "2026-11-11T09:00:00-03:00",
         "transferred_to": "ana"},
        # "Venta" is the name of the default reason "venta"
        {"type": "closing_reason", "id": "sold", "name": "Venta"},
        {"type": "message", "id": "m-3", "contact": "c-1", "channel": "SMS",
         "direction": "OUTBOUND", "sender": "ADVISOR", "advisor": "ana",
         "call_outcome": "ACCEPTED", "sent_at": "2026-11-11T09:00:00Z"},
        {"type": "schedule", "advisor": "ana", "timezone": "America/Sao_Paulo",
         "weekly": {"8": [["09:00", "18:00"]]}},
        {"type": "order", "id": "o-2", "contact": "c-1", "amount": "1.23456",
         "ordered_at": "2026-11-11T09:00:00-03:00"},
        {"type": "plan_usage", "day": "2026-11-31", "channel": "SMS", "used": 1, "quota": 2},
        {"type": "message", "id": "m-4", "contact": "c-1", "channel": "SMS",
         "direction": "OUTBOUND", "sender": "ADVISOR", "advisor": "ana", "colour": "red",
         "sent_at": "2026-11-11T09:00:00Z"},
    ]
    with pytest.raises(IngestRejected) as caught:
        ingest_lines(db, org_id, ndjson(batch), now=NOW)
    errors = [(e.line, e.field, e.reason) for e in caught.value.errors]
    assert errors[0] == (1, "closed_at", ('"transferred_to" requires "closed_at" (a closed or '
                         "transferred conversation has ended)"))
    assert errors[1] == (2, "name", ('closing reason name "Venta" is already used by '
                         'closing_reason "venta"'))
    assert errors[2] == (3, "call_outcome", '"call_outcome" is only for channel VOICE_CALL')
    assert errors[3][:2] == (4, "weekly") and '"8"' in errors[3][2]
    assert errors[4] == (5, "amount", ('"amount" must be a decimal string with at most 4 '
                         'decimals, such as "19.90" (got "1.23456")'))
    assert errors[5] == (6, "day", '"day" must be a date "YYYY-MM-DD" (got "2026-11-31")')
    assert errors[6] == (7, "colour", 'unknown field "colour" for type message')
    assert len(errors) == 7


def test_sending_the_same_batch_twice_leaves_identical_data(db, make_org):
    org_id, _ = make_org()
    ingest_lines(db, org_id, lines_of(BATCH), now=NOW)
    first = org_contents(db, org_id)
    ingest_lines(db, org_id, lines_of(BATCH), now=NOW + 3600)
    assert org_contents(db, org_id) == first
    assert first["message"] and first["response_interval"]  # there was something to compare


def test_an_updated_record_replaces_the_old_one_and_its_derived_facts_follow(db, make_org):
    org_id, _ = make_org()
    ingest_lines(db, org_id, lines_of(BATCH), now=NOW)
    ids_before = org_contents(db, org_id)

    def facts():
        return db.read(lambda conn: conn.execute(text(
            "SELECT c.phone, c.state, c.first_contact_calendar_s, v.first_response_calendar_s,"
            " v.first_response_business_s, r.calendar_s, m.sent_at FROM contact c"
            " JOIN conversation v ON v.organization_id = c.organization_id"
            " AND v.contact_id = c.id"
            " JOIN response_interval r ON r.organization_id = v.organization_id"
            " AND r.conversation_id = v.id"
            " JOIN message m ON m.organization_id = v.organization_id AND m.external_id = 'm-2'"
            " WHERE c.organization_id = :org"), {"org": org_id}).one())

    # first answer 10:30, contact created 09:00, conversation started 10:00
    assert tuple(facts()) == ("+5511987654321", "SP", 5400, 1800, 1800, 1800, 1_794_317_400)
    ingest_lines(db, org_id, ndjson([
        # the answer moves to 11:15, the contact moves to Rio (DDD 21)
        {"type": "message", "id": "m-2", "contact": "c-1", "conversation": "v-1",
         "channel": "WHATSAPP", "direction": "OUTBOUND", "sender": "ADVISOR", "advisor": "ana",
         "status": "READ", "sent_at": "2026-11-10T11:15:00-03:00"},
        {"type": "contact", "id": "c-1", "name": "Maria", "phone": "+55 21 99876-5432",
         "origin": "Instagram", "entry_group": "sales", "current_group": "sales",
         "created_at": "2026-11-10T09:00:00-03:00"},
    ]), now=NOW)
    assert tuple(facts()) == ("+5521998765432", "RJ", 8100, 4500, 4500, 4500, 1_794_320_100)
    ids_after = org_contents(db, org_id)
    # surrogate ids never change on update
    for table in ("contact", "message"):
        assert [r[:3] for r in ids_after[table]] == [r[:3] for r in ids_before[table]]


def test_references_resolve_within_the_batch_in_any_order_and_against_stored_rows(db, make_org):
    org_id, _ = make_org()
    # first batch: the message comes before the user, contact and conversation it refers to
    ingest_lines(db, org_id, ndjson([
        {"type": "message", "id": "m-1", "contact": "c-1", "conversation": "v-1",
         "channel": "SMS", "direction": "OUTBOUND", "sender": "ADVISOR", "advisor": "u-1",
         "sent_at": "2026-11-10T10:00:00-03:00"},
        {"type": "conversation", "id": "v-1", "contact": "c-1", "advisor": "u-1",
         "kind": "SUPPORT", "channel": "SMS", "status": "NEW",
         "started_at": "2026-11-10T09:00:00-03:00"},
        {"type": "contact", "id": "c-1", "created_at": "2026-11-10T09:00:00-03:00"},
        {"type": "user", "id": "u-1", "name": "Ana", "profile": "AGENT"},
    ]), now=NOW)
    # second batch: refers to the stored contact and conversation
    ingest_lines(db, org_id, ndjson([
        {"type": "message", "id": "m-2", "contact": "c-1", "conversation": "v-1",
         "channel": "SMS", "direction": "INBOUND", "sender": "CONTACT",
         "sent_at": "2026-11-10T10:05:00-03:00"},
        {"type": "order", "id": "o-1", "contact": "c-1", "amount": "5",
         "ordered_at": "2026-11-10T11:00:00-03:00"},
    ]), now=NOW)
    rows = db.read(lambda conn: conn.execute(text(
        "SELECT m.external_id, c.external_id, v.external_id FROM message m"
        " JOIN contact c ON c.organization_id = m.organization_id AND c.id = m.contact_id"
        " JOIN conversation v ON v.organization_id = m.organization_id"
        " AND v.id = m.conversation_id WHERE m.organization_id = :org ORDER BY m.id"),
        {"org": org_id}).all())
    assert [tuple(r) for r in rows] == [("m-1", "c-1", "v-1"), ("m-2", "c-1", "v-1")]
    # surrogate ids are allocated per table from 1
    assert scalar(db, "SELECT MAX(id) FROM message WHERE organization_id = :org",
                  org=org_id) == 2


def test_chunks_are_transactions_a_bad_third_chunk_leaves_the_first_two_stored(db, make_org):
    org_id, _ = make_org()
    contacts = [
        json.dumps({"type": "contact", "id": f"c-{n}",
                    "created_at": f"2026-11-10T09:{n:02d}:00-03:00"})
        for n in range(1, 10)
    ]
    contacts[7] = '{"type": "contact", "id": "c-8", "created_at": "yesterday"}'  # line 8
    seen = []
    with pytest.raises(IngestRejected) as caught:
        ingest_lines(db, org_id, contacts, chunk_size=3, now=NOW,
                     on_chunk=lambda chunks, lines: seen.append((chunks, lines)))
    assert caught.value.chunk == 3
    assert caught.value.stored_chunks == 2
    assert [(e.line, e.field) for e in caught.value.errors] == [(8, "created_at")]
    assert "chunk 3 rejected" in str(caught.value) and "2 earlier chunks are stored" in str(
        caught.value)
    assert seen == [(1, 3), (2, 6)]
    stored = db.read(lambda conn: conn.execute(text(
        "SELECT external_id FROM contact WHERE organization_id = :org ORDER BY id"),
        {"org": org_id}).scalars().all())
    assert stored == ["c-1", "c-2", "c-3", "c-4", "c-5", "c-6"]


def test_an_ingest_for_one_organization_never_touches_another(db, make_org):
    org_a, _ = make_org()
    org_b, _ = make_org()
    ingest_lines(db, org_b, lines_of(BATCH), now=NOW)
    b_before = org_contents(db, org_b)
    # the same external ids, other values, into A
    changed = BATCH.replace('"name": "Maria"', '"name": "Outra"').replace('"199.90"', '"1.00"')
    ingest_lines(db, org_a, lines_of(changed), now=NOW + 60)
    ingest_lines(db, org_a, lines_of(changed), now=NOW + 120)
    assert org_contents(db, org_b) == b_before
    assert scalar(db, "SELECT name FROM contact WHERE organization_id = :org",
                  org=org_a) == "Outra"
    # A's ids are its own: both organizations start their surrogate ids at 1
    assert scalar(db, "SELECT id FROM contact WHERE organization_id = :org", org=org_a) == 1
    # and A's references resolve to A's rows only
    order = {"type": "order", "id": "o-9", "contact": "only-in-b", "amount": "1",
             "ordered_at": "2026-11-10T12:00:00Z"}
    with pytest.raises(IngestRejected) as caught:
        ingest_lines(db, org_a, ndjson([order]))
    assert caught.value.errors[0].reason == (
        'contact "only-in-b" does not exist (not in this batch nor stored)')
    ingest_lines(db, org_b, ndjson([
        {"type": "contact", "id": "only-in-b", "created_at": "2026-11-10T09:00:00Z"}]))
    with pytest.raises(IngestRejected):
        ingest_lines(db, org_a, ndjson([order]))


def test_money_is_exact(db, make_org):
    org_id, _ = make_org()
    ingest_lines(db, org_id, ndjson([
        {"type": "contact", "id": "c-1", "created_at": "2026-11-10T09:00:00-03:00"},
        {"type": "order", "id": "o-1", "contact": "c-1", "amount": "0.1",
         "ordered_at": "2026-11-10T10:00:00-03:00"},
        {"type": "order", "id": "o-2", "contact": "c-1", "amount": "0.2",
         "ordered_at": "2026-11-10T11:00:00-03:00"},
        {"type": "order", "id": "o-3", "contact": "c-1", "amount": "12345678.9999",
         "currency": "USD", "ordered_at": "2026-11-10T12:00:00-03:00"},
    ]))
    amounts = db.read(lambda conn: conn.execute(text(
        "SELECT external_id, amount_e4, currency FROM sales_order WHERE organization_id = :org"
        " ORDER BY external_id"), {"org": org_id}).all())
    assert [tuple(a) for a in amounts] == [
        ("o-1", 1000, "BRL"), ("o-2", 2000, "BRL"), ("o-3", 123_456_789_999, "USD")]
    total = scalar(db, "SELECT SUM(amount_e4) FROM sales_order WHERE organization_id = :org"
                   " AND currency = 'BRL'", org=org_id)
    assert Decimal(total) / MONEY_SCALE == Decimal("0.3")


def test_records_and_lines_take_the_same_path(db, make_org):
    org_id, _ = make_org()
    records = [json.loads(line) for line in lines_of(BATCH) if line]
    result = ingest_records(db, org_id, records, now=NOW)
    assert result.counts["message"] == 2
    other_id, _ = make_org()
    ingest_lines(db, other_id, lines_of(BATCH), now=NOW)
    mine, theirs = org_contents(db, org_id), org_contents(db, other_id)
    for table in theirs:
        if table != "organization":  # the rows are equal but for the organization id
            assert [r[1:] for r in mine[table]] == [r[1:] for r in theirs[table]], table


def test_onboarding_steps_and_plan_usage_are_keyed_upserts(db, make_org):
    org_id, _ = make_org()
    ingest_lines(db, org_id, ndjson([
        {"type": "onboarding_step", "id": "connect_erp", "done": False},
        {"type": "onboarding_step", "id": "enable_channel", "done": True},
        {"type": "plan_usage", "day": "2026-11-10", "channel": "SMS", "used": 5, "quota": 10},
    ]), now=NOW)
    ingest_lines(db, org_id, ndjson([
        {"type": "onboarding_step", "id": "connect_erp", "done": True},
        {"type": "onboarding_step", "id": "enable_channel", "done": True},
        {"type": "plan_usage", "day": "2026-11-10", "channel": "SMS", "used": 7, "quota": 10},
    ]), now=NOW + 100)
    steps = db.read(lambda conn: conn.execute(text(
        "SELECT key, title, position, done, done_at FROM onboarding_step"
        " WHERE organization_id = :org AND key IN ('connect_erp', 'enable_channel')"
        " ORDER BY position"), {"org": org_id}).all())
    assert [(k, t, p, bool(d), at) for k, t, p, d, at in steps] == [
        ("enable_channel", "Enable a channel", 1, True, NOW),  # done_at kept
        ("connect_erp", "Connect erp", 6, True, NOW + 100),  # unknown key: a new step, last
    ]
    usage = db.read(lambda conn: conn.execute(text(
        "SELECT day, channel, used, quota FROM plan_usage WHERE organization_id = :org"),
        {"org": org_id}).all())
    assert [tuple(u) for u in usage] == [("2026-11-10", "SMS", 7, 10)]


# ---------------------------------------------------------------------------------------------
# The CLI (SQLite file in TABLERO_DATABASE_URL)
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def cli_env(tmp_path):
    return {"TABLERO_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}"}


def test_cli_org_create_ingest_and_refresh(tmp_path, cli_env):
    runner = CliRunner()
    created = runner.invoke(org_group, ["create", "acme", "--name", "Acme",
                                        "--timezone", "America/Sao_Paulo"], env=cli_env)
    assert created.exit_code == 0, created.output
    assert "created organization acme" in created.output
    again = runner.invoke(org_group, ["create", "acme"], env=cli_env)
    assert again.exit_code != 0 and "already exists" in again.output

    path = tmp_path / "batch.ndjson"
    path.write_text(BATCH, encoding="utf-8")
    done = runner.invoke(ingest_command, [str(path), "--org", "acme"], env=cli_env)
    assert done.exit_code == 0, done.output
    assert "14 lines" in done.output and "2 message" in done.output

    refreshed = runner.invoke(refresh_command, ["--org", "acme"], env=cli_env)
    assert refreshed.exit_code == 0, refreshed.output
    # a line per range of records recomputed (one range each here), then the total
    assert "refresh 1/3: contacts up to id" in refreshed.output
    assert "refresh 3/3: close facts of contacts up to id" in refreshed.output
    assert "refreshed the derived facts of acme" in refreshed.output

    unknown = runner.invoke(ingest_command, [str(path), "--org", "nope"], env=cli_env)
    assert unknown.exit_code != 0
    assert "create it with: tablero org create nope" in unknown.output


def test_cli_ingest_names_each_bad_line_and_exits_1(tmp_path, cli_env):
    runner = CliRunner()
    assert runner.invoke(org_group, ["create", "acme"], env=cli_env).exit_code == 0
    good = tmp_path / "good.ndjson"
    good.write_text("\n".join(
        json.dumps({"type": "contact", "id": f"c-{n}", "created_at": "2026-11-10T09:00:00Z"})
        for n in range(4)) + "\n")
    bad = tmp_path / "bad.ndjson"
    bad.write_text("\n".join(ndjson([
        {"type": "contact", "id": "c-10", "created_at": "2026-11-10T09:00:00Z"},
        {"type": "contact", "id": "c-11", "created_at": "2026-11-10T09:00:00Z"},
        {"type": "contact", "id": "c-12", "created_at": "2026-11-10T09:00:00Z"},
        {"type": "conversation", "id": "v-1", "contact": "c-10", "kind": "PRESALES",
         "channel": "SMS", "status": "NEW", "started_at": "2026-11-10T09:00:00Z"},
    ])) + "\n")
    result = runner.invoke(
        ingest_command, [str(good), str(bad), "--org", "acme", "--chunk-size", "3"], env=cli_env
    )
    assert result.exit_code == 1
    assert (f'{bad}:4: kind: "kind" must be one of COMMERCIAL, SUPPORT (got "PRESALES")'
            in result.output)
    assert f"{bad}: chunk 2 (from line 4) was rejected" in result.output
    assert "the 1 earlier chunk(s) (lines 1-3) are stored" in result.output
    assert f"the files before it are stored: {good}" in result.output

    # stdin works too
    piped = runner.invoke(ingest_command, ["-", "--org", "acme"], env=cli_env,
                          input='{"type": "group", "id": "g", "name": "G"}\n')
    assert piped.exit_code == 0, piped.output
    assert "<stdin>: 1 lines, 1 group" in piped.output


def test_concurrent_ingests_of_one_organization_are_serialised(db, make_org):
    org_id, _ = make_org()
    batches = [
        ndjson([{"type": "contact", "id": f"{prefix}-{n}", "created_at": "2026-11-10T09:00:00Z"}
                for n in range(300)])
        for prefix in ("a", "b", "c")
    ]
    with ThreadPoolExecutor(max_workers=3) as pool:
        results = list(pool.map(lambda lines: ingest_lines(db, org_id, lines, chunk_size=50),
                                batches))
    assert [r.counts["contact"] for r in results] == [300, 300, 300]
    ids = db.read(lambda conn: conn.execute(text(
        "SELECT id FROM contact WHERE organization_id = :org ORDER BY id"),
        {"org": org_id}).scalars().all())
    assert ids == list(range(1, 901))  # no id allocated twice, none skipped


def test_within_a_batch_the_last_record_with_an_id_wins(db, make_org):
    org_id, _ = make_org()
    result = ingest_lines(db, org_id, ndjson([
        {"type": "group", "id": "g-1", "name": "First name"},
        {"type": "group", "id": 7, "name": "Seven"},  # an integer id is read as "7"
        {"type": "group", "id": "g-1", "name": "Second name"},
        {"type": "contact", "id": "c-1", "entry_group": 7, "created_at": "2026-11-10T09:00:00Z"},
    ]))
    assert result.counts == {"group": 2, "contact": 1}
    groups = db.read(lambda conn: conn.execute(text(
        "SELECT id, external_id, name FROM contact_group WHERE organization_id = :org"
        " ORDER BY id"), {"org": org_id}).all())
    assert [tuple(g) for g in groups] == [(1, "g-1", "Second name"), (2, "7", "Seven")]
    assert scalar(db, "SELECT entry_group_id FROM contact WHERE organization_id = :org",
                  org=org_id) == 2


def test_a_bulk_load_into_sqlite_refreshes_the_planner_statistics(sqlite_db, tmp_path):
    from tablero.db import Database
    from tablero.migrate import upgrade
    from tablero.orgs import create_organization

    # a fresh file: the shared test database may already have statistics
    url = f"sqlite:///{tmp_path / 'bulk.sqlite3'}"
    upgrade(url)
    db = Database(url)
    org_id = db.write(lambda conn: create_organization(conn, "bulk", "Bulk", "America/Sao_Paulo"))
    has_stats = "SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'"
    assert db.read(lambda conn: conn.exec_driver_sql(has_stats).scalar()) == 0
    lines = [
        json.dumps({"type": "contact", "id": f"c{i}", "created_at": "2026-11-01T10:00:00Z"})
        for i in range(10_000)
    ]
    ingest_lines(db, org_id, lines)
    stats = db.read(lambda conn: conn.exec_driver_sql(
        "SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'contact'").scalar())
    db.dispose()
    assert stats > 0


def org_rows_without_org(db, org_id: int) -> dict[str, list[tuple]]:
    """Every row of the organization, table by table in primary-key order, without the
    organization column (surrogate ids are numbered per organization, so two organizations
    loaded with the same records in the same order hold the same rows otherwise)."""

    def read(conn):
        out = {}
        for model in TENANT_TABLES:
            table = model.__table__
            columns = [c for c in table.columns if c.name != "organization_id"]
            out[table.name] = [
                tuple(row)
                for row in conn.execute(
                    select(*columns)
                    .where(table.c.organization_id == org_id)
                    .order_by(*table.primary_key.columns)
                )
            ]
        out["refreshed_at"] = [(conn.execute(
            select(Organization.refreshed_at).where(Organization.id == org_id)).scalar(),)]
        return out

    return db.read(read)


def test_a_bulk_load_defers_the_facts_to_its_end_and_stores_the_same(db, make_org):
    """``defer_facts``: chunks store records only and one whole refresh runs at the end; the
    organization then holds exactly what a chunk-by-chunk load gives (every table: records,
    facts, rollups), here for the tiny demo set (4,167 records) in chunks of 1,000."""
    from datetime import date

    from tablero import demo

    records = list(demo.generate("tiny", 3, end=date(2026, 11, 25)))
    by_chunk, _ = make_org()
    bulk, _ = make_org()
    ingest_records(db, by_chunk, records, chunk_size=1000, now=NOW)
    seen = []
    result = ingest_records(db, bulk, records, chunk_size=1000, now=NOW, defer_facts=True,
                            on_chunk=lambda chunks, lines: seen.append(chunks))
    assert result.chunks == 5 and seen == [1, 2, 3, 4, 5]
    expected = org_rows_without_org(db, by_chunk)
    assert expected["response_interval"] and expected["activity_gap"]  # facts were computed
    assert org_rows_without_org(db, bulk) == expected


def test_a_rejected_chunk_of_a_bulk_load_leaves_the_earlier_chunks_with_their_facts(
        db, make_org):
    org_id, _ = make_org()
    lines = ndjson([
        {"type": "contact", "id": "c-1", "created_at": "2026-11-10T09:00:00-03:00"},
        {"type": "user", "id": "ana", "name": "Ana", "profile": "AGENT"},
        {"type": "conversation", "id": "v-1", "contact": "c-1", "advisor": "ana",
         "kind": "COMMERCIAL", "channel": "WHATSAPP", "status": "IN_PROGRESS",
         "started_at": "2026-11-10T10:00:00-03:00"},
        {"type": "message", "id": "m-1", "contact": "c-1", "conversation": "v-1",
         "channel": "WHATSAPP", "direction": "OUTBOUND", "sender": "ADVISOR", "advisor": "ana",
         "sent_at": "2026-11-10T10:30:00-03:00"},
        {"type": "contact", "id": "c-2", "created_at": "yesterday"},  # line 5: chunk 3
    ])
    with pytest.raises(IngestRejected) as caught:
        ingest_lines(db, org_id, lines, chunk_size=2, now=NOW, defer_facts=True)
    assert caught.value.chunk == 3 and caught.value.stored_chunks == 2
    # the first two chunks are stored and their facts computed: c-1 was first answered at 10:30
    assert scalar(db, "SELECT first_contact_calendar_s FROM contact WHERE organization_id = :org"
                  " AND external_id = 'c-1'", org=org_id) == 90 * 60
    assert scalar(db, "SELECT refreshed_at FROM organization WHERE id = :org", org=org_id) == NOW


@pytest.fixture
def validating_worker(monkeypatch):
    """Large inputs validated in a worker process, for chunks of any size; returns the list of
    batches the worker was handed (each: its first line number)."""
    import concurrent.futures
    import threading

    from tablero import ingest

    monkeypatch.setattr(ingest, "PARALLEL_MIN_CHUNK", 1)
    # (a test process may hold idle threads of earlier tests; the CLI and scripts hold none)
    monkeypatch.setattr(threading, "active_count", lambda: 1)
    handed: list[int] = []
    submit = concurrent.futures.ProcessPoolExecutor.submit

    def counting_submit(self, fn, *args, **kwargs):
        handed.append(args[0])
        return submit(self, fn, *args, **kwargs)

    monkeypatch.setattr(concurrent.futures.ProcessPoolExecutor, "submit", counting_submit)
    return handed


def test_a_large_input_validated_in_a_worker_process_stores_the_same(
        db, make_org, validating_worker):
    """A bulk load of more than one chunk is parsed and validated by a worker process while
    this one stores: the same database as validating in-process chunk by chunk (tiny demo set,
    chunks of 1,000)."""
    from datetime import date

    from tablero import demo

    lines = [json.dumps(r) for r in demo.generate("tiny", 3, end=date(2026, 11, 25))]
    in_process, _ = make_org()
    ingest_records(db, in_process, [json.loads(line) for line in lines], chunk_size=1000,
                   now=NOW)
    by_worker, _ = make_org()
    # the same lines again, chunk by chunk: validated in-process (and they change nothing)
    ingest_lines(db, in_process, lines, chunk_size=1000, now=NOW)
    assert validating_worker == []
    result = ingest_lines(db, by_worker, lines, chunk_size=1000, now=NOW, defer_facts=True)
    assert validating_worker == [1, 1001, 2001, 3001, 4001]  # every chunk, first lines
    assert result.chunks == 5 and result.lines == len(lines)
    assert org_rows_without_org(db, by_worker) == org_rows_without_org(db, in_process)


def test_a_bad_line_found_by_the_worker_process_is_named_by_its_line_in_the_whole_input(
        db, make_org, validating_worker):
    org_id, _ = make_org()
    lines = ndjson([
        {"type": "contact", "id": "c-1", "created_at": "2026-11-10T09:00:00-03:00"},
        {"type": "contact", "id": "c-2", "created_at": "2026-11-10T09:00:00-03:00"},
        {"type": "contact", "id": "c-3", "created_at": "2026-11-10T09:00:00-03:00"},
        {"type": "contact", "id": "c-4", "created_at": "2026-11-10T09:00:00-03:00"},
        {"type": "contact", "id": "c-5", "created_at": "yesterday"},  # line 5: chunk 3
        {"type": "contact", "id": "c-6", "created_at": "2026-11-10T09:00:00-03:00"},
    ])
    with pytest.raises(IngestRejected) as caught:
        ingest_lines(db, org_id, lines, chunk_size=2, now=NOW, defer_facts=True)
    assert validating_worker[:3] == [1, 3, 5]
    assert caught.value.chunk == 3 and caught.value.stored_chunks == 2
    assert [(e.line, e.field) for e in caught.value.errors] == [(5, "created_at")]
    assert scalar(db, "SELECT COUNT(*) FROM contact WHERE organization_id = :org",
                  org=org_id) == 4


@pytest.mark.parametrize(("backend", "side"), [
    ("postgres", "thread"), ("sqlite", "thread"), ("sqlite", "process")])
def test_a_refresh_on_two_connections_gives_the_facts_of_one_and_a_failure_changes_nothing(
        backend, side, request, monkeypatch, tmp_path):
    """A bulk load's whole refresh (``in_two``): the facts of a chunk-by-chunk load; when a
    step of the side connection fails, or one of the main one, the error comes out and
    nothing was written (the facts lost beforehand stay lost). PostgreSQL: two transactions,
    the side one in a thread. SQLite: the side connection writes into a scratch file
    beside the database, in a thread or, in a process without other threads, a forked
    process; the scratch file is gone afterwards in every case."""
    import threading
    from datetime import date

    from tablero import demo, derived
    from tablero.orgs import create_organization

    if backend == "sqlite":  # a database file of its own: its directory holds nothing else
        from tablero.db import Database
        from tablero.migrate import upgrade

        url = f"sqlite:///{tmp_path / 'two.sqlite3'}"
        upgrade(url)
        db = Database(url)
    else:
        db = request.getfixturevalue("postgres_database")
    if side == "process":
        monkeypatch.setattr(threading, "active_count", lambda: 1)
    org_id = db.write(lambda conn: create_organization(conn, "two", "Two"))
    ingest_records(db, org_id, list(demo.generate("tiny", 3, end=date(2026, 11, 25))),
                   chunk_size=1000, now=NOW)
    expected = org_rows_without_org(db, org_id)
    assert expected["response_interval"] and expected["contact_activity"]

    def lose_the_facts(conn) -> None:
        for table in derived._FACT_TABLES:
            conn.execute(text(f"DELETE FROM {table} WHERE organization_id = :org"),
                         {"org": org_id})
        # and the conversation columns the side connection sets (SQLite: copied in at the end)
        conn.execute(text(
            "UPDATE conversation SET "
            + ", ".join(f"{c} = NULL" for c in derived._SIDE_CONVERSATION_COLUMNS)
            + " WHERE organization_id = :org"), {"org": org_id})

    db.write(lose_the_facts)
    lost = org_rows_without_org(db, org_id)
    files = sorted(p.name for p in tmp_path.iterdir())

    def failing(*_args, **_kwargs):
        raise RuntimeError("a failing step")

    for step in ("_intervals", "_contact_days"):  # a step of the side one, of the main one
        with monkeypatch.context() as patch:
            patch.setattr(derived, step, failing)
            with pytest.raises(RuntimeError, match="a failing step"):
                derived.refresh(db, org_id, now=NOW + 60, in_two=True)
        assert org_rows_without_org(db, org_id) == lost
        assert sorted(p.name for p in tmp_path.iterdir()) == files
    derived.refresh(db, org_id, now=NOW, in_two=True)
    assert org_rows_without_org(db, org_id) == expected
    assert sorted(p.name for p in tmp_path.iterdir()) == files
    if db.is_sqlite:
        db.dispose()


def test_a_bulk_load_without_a_chunk_size_takes_the_smaller_bulk_chunks(sqlite_db, monkeypatch):
    """Without ``chunk_size``, a chunk-by-chunk load stores chunks of DEFAULT_CHUNK_SIZE lines
    and a bulk load (``defer_facts``) chunks of BULK_CHUNK_SIZE (here 5 and 3: seven lines
    are two chunks, and three)."""
    import uuid

    from tablero import ingest
    from tablero.orgs import create_organization

    monkeypatch.setattr(ingest, "DEFAULT_CHUNK_SIZE", 5)
    monkeypatch.setattr(ingest, "BULK_CHUNK_SIZE", 3)
    org = sqlite_db.write(lambda conn: create_organization(conn, f"chunks-{uuid.uuid4().hex[:8]}",
                                                          "Chunks"))
    lines = ndjson([{"type": "contact", "id": f"c-{n}", "created_at": "2026-11-10T09:00:00Z"}
                    for n in range(7)])
    assert ingest_lines(sqlite_db, org, lines, now=NOW).chunks == 2
    assert ingest_lines(sqlite_db, org, lines, now=NOW, defer_facts=True).chunks == 3


def _killed_at_line_3(start: int, lines: list):
    """A validating worker that the kernel kills (SIGKILL, as when memory runs out) when it is
    handed the batch starting at line 3."""
    import os
    import signal

    from tablero import ingest

    if start == 3:
        os.kill(os.getpid(), signal.SIGKILL)
    return pickle.dumps(
        ingest._read_chunks(ingest._parse_lines(lines, start), len(lines)).__next__()[0])


def test_a_killed_validating_worker_is_reported_with_what_is_stored(
        tmp_path, cli_env, validating_worker, monkeypatch):
    """The CLI says which lines the dead worker had, that the lines before them are stored
    with their facts (the first chunk was still being written when the worker died: it is
    committed, counted, and the bulk load's refresh runs for it) and what to do; exit 1."""
    from tablero import ingest
    from tablero.db import Database

    monkeypatch.setattr(ingest, "_validate_batch", _killed_at_line_3)
    runner = CliRunner()
    assert runner.invoke(org_group, ["create", "acme"], env=cli_env).exit_code == 0
    path = tmp_path / "contacts.ndjson"
    path.write_text("\n".join(
        json.dumps({"type": "contact", "id": f"c-{n}", "created_at": "2026-11-10T09:00:00Z"})
        for n in range(6)) + "\n")
    result = runner.invoke(
        ingest_command, [str(path), "--org", "acme", "--chunk-size", "2", "--defer-facts"],
        env=cli_env,
    )
    assert result.exit_code == 1, result.output
    assert validating_worker == [1, 3]
    # how it ended is read from its exit status, when this process can still collect it (a
    # child watcher of another test in this process may have reaped it first)
    assert any(
        f"{path}: the worker process validating lines 3-4 stopped ({how}); nothing of those "
        "lines was written." in result.output
        for how in ("killed by SIGKILL, as the kernel does when memory runs out",
                    "it ended unexpectedly")
    ), result.output
    assert f"{path}: lines 1-2 are stored, with their derived facts; send the file again" \
        in result.output
    db = Database(cli_env["TABLERO_DATABASE_URL"])
    try:
        stored = db.read(lambda conn: conn.execute(text(
            "SELECT COUNT(*), COUNT(k.created_day), MIN(o.refreshed_at)"
            " FROM contact k JOIN organization o"
            " ON o.id = k.organization_id WHERE o.key = 'acme'")).one())
    finally:
        db.dispose()
    assert stored[0] == 2 and stored[1] == 2 and stored[2] is not None  # facts: refreshed


# ---------------------------------------------------------------------------------------------
# Bulk loads keep the message indexes by period off while they write
# ---------------------------------------------------------------------------------------------

REPORT_INDEXES = {"ix_message_org_sent", "ix_message_org_campaign_sends",
                  "ix_message_org_effective"}


def _index_definitions(db) -> dict[str, str]:
    """The message table's indexes: name -> definition, as the database keeps it."""
    if db.is_sqlite:
        sql = ("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'message'"
               " AND sql IS NOT NULL")
    else:
        sql = ("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()"
               " AND tablename = 'message'")
    return dict(db.read(lambda conn: conn.exec_driver_sql(sql).all()))


def _fresh(url: str, key: str = "bulk"):
    """A migrated database at ``url`` with one organization: (db, organization id)."""
    from tablero.db import Database
    from tablero.migrate import upgrade
    from tablero.orgs import create_organization

    upgrade(url)
    db = Database(url)
    return db, db.write(lambda conn: create_organization(conn, key, key, "America/Sao_Paulo"))


def _conversation_lines(n: int) -> list[str]:
    """A contact, an advisor, then per conversation a contact message and the advisor's
    answer an hour later: 2 + 3 * n lines."""
    records = [
        {"type": "contact", "id": "c-1", "created_at": "2026-11-02T08:00:00-03:00"},
        {"type": "user", "id": "ana", "name": "Ana", "profile": "AGENT"},
    ]
    for i in range(n):
        day = f"2026-11-{3 + i:02d}"
        records += [
            {"type": "conversation", "id": f"v-{i}", "contact": "c-1", "advisor": "ana",
             "kind": "SUPPORT", "channel": "WHATSAPP", "status": "IN_PROGRESS",
             "started_at": f"{day}T10:00:00-03:00"},
            {"type": "message", "id": f"m-{i}-in", "contact": "c-1", "conversation": f"v-{i}",
             "channel": "WHATSAPP", "direction": "INBOUND", "sender": "CONTACT",
             "sent_at": f"{day}T10:00:00-03:00"},
            {"type": "message", "id": f"m-{i}-out", "contact": "c-1", "conversation": f"v-{i}",
             "channel": "WHATSAPP", "direction": "OUTBOUND", "sender": "ADVISOR",
             "advisor": "ana", "sent_at": f"{day}T11:00:00-03:00"},
        ]
    return ndjson(records)


def test_a_bulk_load_builds_the_message_indexes_by_period_at_its_end(empty_database_url):
    """From its second chunk a bulk load writes messages without the three indexes only reports
    read, and builds them, exactly as the migrations created them, at its end; its facts are
    those of any load."""
    db, org_id = _fresh(empty_database_url)
    migrated = _index_definitions(db)
    assert REPORT_INDEXES <= set(migrated)
    seen, said = [], []
    result = ingest_lines(db, org_id, _conversation_lines(4), chunk_size=4, now=NOW,
                          defer_facts=True, on_refresh=said.append,
                          on_chunk=lambda chunks, _: seen.append(set(_index_definitions(db))))
    assert result.chunks == 4
    assert REPORT_INDEXES <= seen[0]  # the first chunk: a load of one chunk changes nothing
    assert all(not (REPORT_INDEXES & indexes) for indexes in seen[1:])
    assert _index_definitions(db) == migrated
    assert [line for line in said if "message indexes" in line] == [
        "built the message indexes by period (0 s)"]  # a progress line, as the refresh's
    # four answers, each an hour after the contact wrote
    assert scalar(db, "SELECT COUNT(*) FROM message WHERE organization_id = :org"
                  " AND effective", org=org_id) == 4
    assert scalar(db, "SELECT SUM(calendar_s) FROM response_interval"
                  " WHERE organization_id = :org", org=org_id) == 4 * 3600
    db.dispose()


def test_a_bulk_load_that_fails_still_builds_the_message_indexes(empty_database_url,
                                                                 monkeypatch):
    from tablero import derived

    db, org_id = _fresh(empty_database_url)
    lines = _conversation_lines(3) + ['{"type": "contact", "id": "c-9", "created_at": "soon"}']
    with pytest.raises(IngestRejected) as caught:  # chunk 4 (line 12) is rejected
        ingest_lines(db, org_id, lines, chunk_size=3, now=NOW, defer_facts=True)
    assert caught.value.chunk == 4 and caught.value.stored_chunks == 3
    assert REPORT_INDEXES <= set(_index_definitions(db))

    def broken(*_args, **_kwargs):
        raise RuntimeError("a step of the refresh failed")

    other_db, other_id = _fresh(empty_database_url, "other")
    other_db.dispose()
    monkeypatch.setattr(derived, "_effective", broken)  # the refresh's first statement
    with pytest.raises(RuntimeError, match="a step of the refresh failed"):
        ingest_lines(db, other_id, _conversation_lines(3), chunk_size=3, now=NOW,
                     defer_facts=True)
    assert REPORT_INDEXES <= set(_index_definitions(db))
    assert scalar(db, "SELECT COUNT(*) FROM message WHERE organization_id = :org",
                  org=other_id) == 6  # the records stay stored, the facts wait for a refresh
    db.dispose()


def test_a_bulk_load_into_a_large_message_table_keeps_its_indexes(empty_database_url,
                                                                  monkeypatch):
    """Above DEFER_INDEXES_MAX_ROWS messages (here 5: the first load's 6), building the
    indexes again would read too much, and other organizations' reports need them: kept."""
    from tablero import ingest

    monkeypatch.setattr(ingest, "DEFER_INDEXES_MAX_ROWS", 5)
    db, org_id = _fresh(empty_database_url)
    ingest_lines(db, org_id, _conversation_lines(3), now=NOW)
    seen = []
    ingest_lines(db, org_id, _conversation_lines(3), chunk_size=3, now=NOW, defer_facts=True,
                 on_chunk=lambda chunks, _: seen.append(set(_index_definitions(db))))
    assert len(seen) == 4 and all(REPORT_INDEXES <= indexes for indexes in seen)
    db.dispose()


def test_the_message_indexes_a_killed_bulk_load_left_off_are_built_by_the_next_upgrade(
        empty_database_url, capsys):
    from tablero.migrate import upgrade

    db, _ = _fresh(empty_database_url)
    migrated = _index_definitions(db)
    db.write(lambda conn: [conn.exec_driver_sql(f"DROP INDEX {name}")
                           for name in sorted(REPORT_INDEXES)])
    assert not REPORT_INDEXES & set(_index_definitions(db))
    upgrade(empty_database_url)  # (tablero db upgrade, and every server start)
    assert _index_definitions(db) == migrated
    assert "built the message indexes" in capsys.readouterr().err
    upgrade(empty_database_url)
    assert "built the message indexes" not in capsys.readouterr().err
    db.dispose()
