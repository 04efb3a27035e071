"""Upgrading a database that already holds data computes the facts a new revision adds."""

from __future__ import annotations

from sqlalchemy import create_engine, text

from tablero.migrate import upgrade


def _acme_with_a_contact(conn) -> None:
    conn.execute(text(
        "INSERT INTO organization (id, key, name, timezone, created_at)"
        " VALUES (1, 'acme', 'Acme', 'America/Sao_Paulo', 0)"))
    conn.execute(text(
        "INSERT INTO contact (organization_id, id, external_id, created_at)"
        " VALUES (1, 1, 'c1', 1793070000)"))


def test_upgrading_past_0002_fills_the_contact_activity_facts(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    upgrade(url, "0001")
    engine = create_engine(url)
    with engine.begin() as conn:
        _acme_with_a_contact(conn)
        # 2026-11-10 12:00 and 13:00 in São Paulo (UTC-3): one day, two outbound messages
        for i, ts in ((1, 1794322800), (2, 1794326400)):
            conn.execute(text(
                "INSERT INTO message (organization_id, id, external_id, contact_id, channel,"
                " direction, sender, sent_at, automatic, effective)"
                f" VALUES (1, {i}, 'm{i}', 1, 'SMS', 'OUTBOUND', 'CAMPAIGN', {ts}, 0, 0)"))
    upgrade(url)
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT day, channel, messages, outbound FROM contact_activity ORDER BY channel")).all()
    engine.dispose()
    # 2026-11-10 is day 20767 since 1970-01-01
    assert [tuple(r) for r in rows] == [(20767, "*", 2, 2), (20767, "SMS", 2, 2)]


def test_upgrading_past_0003_fills_the_order_facts(tmp_path):
    url = f"sqlite:///{tmp_path / 'at-0002.sqlite3'}"
    upgrade(url, "0002")
    engine = create_engine(url)
    with engine.begin() as conn:
        _acme_with_a_contact(conn)
        # 2026-11-10 12:00 and 2026-11-12 23:30 in São Paulo (the latter 02:30 UTC on Nov 13)
        for i, ts in ((1, 1794322800), (2, 1794537000)):
            conn.execute(text(
                "INSERT INTO sales_order (organization_id, id, external_id, contact_id,"
                " amount_e4, currency, ordered_at)"
                f" VALUES (1, {i}, 'o{i}', 1, 10000, 'BRL', {ts})"))
    upgrade(url)
    with engine.connect() as conn:
        days = conn.execute(text(
            "SELECT day, next_day, orders FROM order_day ORDER BY day")).all()
        cells = conn.execute(text(
            "SELECT last_day, frequency, contacts, revenue_e4 FROM customer_cell")).all()
    engine.dispose()
    # 2026-11-10 is day 20767, 2026-11-12 day 20769 (local dates)
    assert [tuple(r) for r in days] == [(20767, 20769, 1), (20769, 2**31 - 1, 1)]
    assert [tuple(r) for r in cells] == [(20769, 2, 1, 20000)]


def test_an_upgrade_stopped_half_way_finishes_its_refreshes_next_time(tmp_path):
    """The facts of organizations left unrefreshed (refreshed_at null) by an interrupted upgrade
    are computed by the next upgrade, even with no revision left to apply."""
    url = f"sqlite:///{tmp_path / 'interrupted.sqlite3'}"
    upgrade(url)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO organization (id, key, name, timezone, created_at, refreshed_at)"
            " VALUES (1, 'acme', 'Acme', 'America/Sao_Paulo', 0, NULL),"
            " (2, 'done', 'Done', 'America/Sao_Paulo', 0, 5)"))
        for org in (1, 2):
            conn.execute(text(
                "INSERT INTO contact (organization_id, id, external_id, created_at)"
                f" VALUES ({org}, 1, 'c1', 1793070000)"))
            conn.execute(text(
                "INSERT INTO sales_order (organization_id, id, external_id, contact_id,"
                f" amount_e4, currency, ordered_at) VALUES ({org}, 1, 'o1', 1, 10000, 'BRL',"
                " 1794322800)"))
    upgrade(url)
    with engine.connect() as conn:
        facts = conn.execute(text(
            "SELECT organization_id, COUNT(*) FROM customer_orders GROUP BY 1")).all()
        refreshed = conn.execute(text(
            "SELECT id, refreshed_at IS NOT NULL FROM organization ORDER BY id")).all()
    engine.dispose()
    # acme was refreshed; done (refreshed_at set) was left alone
    assert [tuple(r) for r in facts] == [(1, 1)]
    assert [tuple(r) for r in refreshed] == [(1, 1), (2, 1)]


def test_upgrading_past_0004_fills_the_close_facts(tmp_path):
    url = f"sqlite:///{tmp_path / 'at-0003.sqlite3'}"
    upgrade(url, "0003")
    engine = create_engine(url)
    with engine.begin() as conn:
        _acme_with_a_contact(conn)
        conn.execute(text(
            "INSERT INTO closing_reason (organization_id, id, external_id, name, closes, archived)"
            " VALUES (1, 7, 'venta', 'Venta', 1, 0)"))
        # 2026-11-12 22:30 -> 23:30 in São Paulo (closed 02:30 UTC on Nov 13): Nov 12's close
        conn.execute(text(
            "INSERT INTO conversation (organization_id, id, external_id, contact_id, kind,"
            " channel, status, started_at, closed_at, closing_reason_id)"
            " VALUES (1, 1, 'v1', 1, 'COMMERCIAL', 'WHATSAPP', 'CLOSED', 1794533400, 1794537000, 7)"))
    upgrade(url)
    with engine.connect() as conn:
        facts = conn.execute(text(
            "SELECT row_key, day, prev_day, prev_closed_day, close_calendar_s, calendar_bucket"
            " FROM close_fact")).all()
        days = conn.execute(text(
            "SELECT day, row_key, prev_day, conversations FROM reason_close_day ORDER BY 2")).all()
    engine.dispose()
    # day 20769 is 2026-11-12; 3600 s is bucket 435 (4 digits, "36" rounded down to 35)
    assert [tuple(r) for r in facts] == [(7, 20769, -1, -1, 3600, 435)]
    assert [tuple(r) for r in days] == [(20769, -1, -1, 1), (20769, 7, -1, 1)]


def test_upgrading_past_0006_fills_the_activity_rollups_and_the_contact_days(tmp_path):
    url = f"sqlite:///{tmp_path / 'at-0004.sqlite3'}"
    upgrade(url, "0004")
    engine = create_engine(url)
    with engine.begin() as conn:
        _acme_with_a_contact(conn)
        # 2026-11-12 22:30 in São Paulo (01:30 UTC on Nov 13): a commercial conversation on
        # Nov 12, day 20769, positive
        conn.execute(text(
            "INSERT INTO conversation (organization_id, id, external_id, contact_id, kind,"
            " channel, status, started_at, sentiment)"
            " VALUES (1, 1, 'v1', 1, 'COMMERCIAL', 'WHATSAPP', 'NEW', 1794533400, 'POSITIVE')"))
    upgrade(url)
    with engine.connect() as conn:
        gaps = conn.execute(text(
            "SELECT channel, measure, state, day, gap, contacts FROM activity_gap"
            " WHERE state = '*' ORDER BY 1, 2")).all()
        conversation_days = conn.execute(text(
            "SELECT channel, day, commercial, positive FROM conversation_day ORDER BY 1")).all()
        contact_days = conn.execute(text(
            "SELECT created_day, deleted_day, contacts FROM contact_day")).all()
    engine.dispose()
    # any activity (0) and commercial (3), for all channels and for WhatsApp; no previous day
    assert [tuple(r) for r in gaps] == [
        ("*", 0, "*", 20769, 186, 1), ("*", 3, "*", 20769, 186, 1),
        ("WHATSAPP", 0, "*", 20769, 186, 1), ("WHATSAPP", 3, "*", 20769, 186, 1),
    ]
    assert [tuple(r) for r in conversation_days] == [("*", 20769, 1, 1), ("WHATSAPP", 20769, 1, 1)]
    # the contact was created at 1793070000, 2026-10-27 00:00 in São Paulo: day 20753
    assert [tuple(r) for r in contact_days] == [(20753, -1, 1)]


def test_upgrading_past_0007_fills_the_response_histogram(tmp_path):
    url = f"sqlite:///{tmp_path / 'at-0006.sqlite3'}"
    upgrade(url, "0006")
    engine = create_engine(url)
    with engine.begin() as conn:
        _acme_with_a_contact(conn)
        conn.execute(text(
            "INSERT INTO app_user (organization_id, id, external_id, name, profile, is_bot)"
            " VALUES (1, 1, 'ana', 'Ana', 'AGENT', 0)"))
        # 2026-11-12 22:30 in São Paulo (01:30 UTC on Nov 13) the contact writes; ana answers at
        # 23:40: 4200 calendar s, on day 20769 (Nov 12)
        conn.execute(text(
            "INSERT INTO conversation (organization_id, id, external_id, contact_id, advisor_id,"
            " kind, channel, status, started_at)"
            " VALUES (1, 1, 'v1', 1, 1, 'COMMERCIAL', 'WHATSAPP', 'NEW', 1794533400)"))
        for i, (direction, sender, advisor, ts) in enumerate(
            [("INBOUND", "CONTACT", "NULL", 1794533400), ("OUTBOUND", "ADVISOR", "1", 1794537600)],
            start=1,
        ):
            conn.execute(text(
                "INSERT INTO message (organization_id, id, external_id, contact_id,"
                " conversation_id, advisor_id, channel, direction, sender, sent_at, automatic,"
                f" effective) VALUES (1, {i}, 'm{i}', 1, 1, {advisor}, 'WHATSAPP', '{direction}',"
                f" '{sender}', {ts}, 0, 0)"))
    upgrade(url)
    with engine.connect() as conn:
        intervals = conn.execute(text(
            "SELECT calendar_s, day, calendar_bucket FROM response_interval")).all()
        histogram = conn.execute(text(
            "SELECT measure, day, channel, bucket, answers FROM response_bucket"
            " WHERE measure = 1 ORDER BY channel")).all()
    engine.dispose()
    # 4200 s: four digits, leading 42 rounded down to 40 -> bucket 440
    assert [tuple(r) for r in intervals] == [(4200, 20769, 440)]
    # per channel and for all channels ('*')
    assert [tuple(r) for r in histogram] == [(1, 20769, "*", 440, 1), (1, 20769, "WHATSAPP", 440, 1)]


def test_upgrading_past_0008_fills_the_first_response_histogram(tmp_path):
    url = f"sqlite:///{tmp_path / 'at-0007.sqlite3'}"
    upgrade(url, "0007")
    engine = create_engine(url)
    with engine.begin() as conn:
        _acme_with_a_contact(conn)  # created 2026-10-27 00:00 in São Paulo: day 20753
        conn.execute(text(
            "INSERT INTO app_user (organization_id, id, external_id, name, profile, is_bot)"
            " VALUES (1, 1, 'ana', 'Ana', 'AGENT', 0)"))
        # ana writes to the contact by SMS 150 s after its creation
        conn.execute(text(
            "INSERT INTO message (organization_id, id, external_id, contact_id, advisor_id,"
            " channel, direction, sender, sent_at, automatic, effective)"
            " VALUES (1, 1, 'm1', 1, 1, 'SMS', 'OUTBOUND', 'ADVISOR', 1793070150, 0, 1)"))
    upgrade(url)
    with engine.connect() as conn:
        contact = conn.execute(text(
            "SELECT first_contact_calendar_s, first_calendar_bucket FROM contact")).one()
        histogram = conn.execute(text(
            "SELECT measure, created_day, bucket, contacts FROM first_response_bucket"
            " WHERE measure = 1")).all()
    engine.dispose()
    # 150 s: three digits, leading 15 -> bucket 315
    assert tuple(contact) == (150, 315)
    assert [tuple(r) for r in histogram] == [(1, 20753, 315, 1)]


def test_upgrading_past_0009_fills_the_interactions(tmp_path):
    url = f"sqlite:///{tmp_path / 'at-0008.sqlite3'}"
    upgrade(url, "0008")
    engine = create_engine(url)
    with engine.begin() as conn:
        _acme_with_a_contact(conn)
        conn.execute(text(
            "INSERT INTO app_user (organization_id, id, external_id, name, profile, is_bot)"
            " VALUES (1, 1, 'ana', 'Ana', 'AGENT', 0)"))
        # ana writes twice on 2026-10-27 (SMS, then WhatsApp) and once on the 28th (SMS)
        for i, (channel, ts) in enumerate(
            [("SMS", 1793070150), ("WHATSAPP", 1793080000), ("SMS", 1793160000)], start=1
        ):
            conn.execute(text(
                "INSERT INTO message (organization_id, id, external_id, contact_id, advisor_id,"
                " channel, direction, sender, sent_at, automatic, effective)"
                f" VALUES (1, {i}, 'm{i}', 1, 1, '{channel}', 'OUTBOUND', 'ADVISOR', {ts}, 0, 1)"))
    upgrade(url)
    with engine.connect() as conn:
        days = conn.execute(text(
            "SELECT channel, day, interactions FROM interaction_day ORDER BY channel, day")).all()
    engine.dispose()
    # over every channel the 27th is one (ana, contact) pair, though on two channels
    assert [tuple(r) for r in days] == [
        ("*", 20753, 1), ("*", 20754, 1), ("SMS", 20753, 1), ("SMS", 20754, 1),
        ("WHATSAPP", 20753, 1),
    ]


def test_upgrading_past_0010_fills_the_first_close(tmp_path):
    url = f"sqlite:///{tmp_path / 'at-0009.sqlite3'}"
    upgrade(url, "0009")
    engine = create_engine(url)
    with engine.begin() as conn:
        _acme_with_a_contact(conn)
        conn.execute(text(
            "INSERT INTO closing_reason (organization_id, id, external_id, name, closes, archived)"
            " VALUES (1, 7, 'venta', 'Venta', 1, 0), (1, 8, 'visita', 'Esperando visita', 0, 0)"))
        # closed "Esperando visita" (does not close) at 1794537000, then "Venta" at 1794540000
        for i, (reason, closed_at) in enumerate([(8, 1794537000), (7, 1794540000)], start=1):
            conn.execute(text(
                "INSERT INTO conversation (organization_id, id, external_id, contact_id, kind,"
                " channel, status, started_at, closed_at, closing_reason_id)"
                f" VALUES (1, {i}, 'v{i}', 1, 'COMMERCIAL', 'WHATSAPP', 'CLOSED', 1794533400,"
                f" {closed_at}, {reason})"))
    upgrade(url)
    with engine.connect() as conn:
        first_closed = conn.execute(text("SELECT first_closed_at FROM contact")).scalar()
    engine.dispose()
    assert first_closed == 1794540000  # the first close by a reason that closes


def test_upgrading_past_0011_fills_the_conversation_hours(tmp_path):
    url = f"sqlite:///{tmp_path / 'at-0010.sqlite3'}"
    upgrade(url, "0010")
    engine = create_engine(url)
    with engine.begin() as conn:
        _acme_with_a_contact(conn)
        # 2026-11-12 22:30 in São Paulo (01:30 UTC on Nov 13): day 20769, hour 22
        conn.execute(text(
            "INSERT INTO conversation (organization_id, id, external_id, contact_id, kind,"
            " channel, status, started_at)"
            " VALUES (1, 1, 'v1', 1, 'COMMERCIAL', 'WHATSAPP', 'NEW', 1794533400)"))
    upgrade(url)
    with engine.connect() as conn:
        hours = conn.execute(text(
            "SELECT channel, hour, conversations FROM conversation_hour ORDER BY channel")).all()
    engine.dispose()
    assert [tuple(r) for r in hours] == [("*", 20769 * 24 + 22, 1), ("WHATSAPP", 20769 * 24 + 22, 1)]


def test_upgrading_past_0012_rebuilds_only_the_campaign_sends(tmp_path):
    """0012 names the table it adds: an organization whose facts were current gets that table
    rebuilt and nothing else recomputed; one still waiting for a refresh gets the whole one."""
    url = f"sqlite:///{tmp_path / 'at-0011.sqlite3'}"
    upgrade(url, "0011")
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO organization (id, key, name, timezone, created_at, refreshed_at)"
            " VALUES (1, 'current', 'Current', 'America/Sao_Paulo', 0, 5),"
            " (2, 'waiting', 'Waiting', 'America/Sao_Paulo', 0, NULL)"))
        for org in (1, 2):
            conn.execute(text(
                "INSERT INTO contact (organization_id, id, external_id, created_at)"
                f" VALUES ({org}, 1, 'c1', 1793070000)"))
            conn.execute(text(
                "INSERT INTO campaign (organization_id, id, external_id, name, channel)"
                f" VALUES ({org}, 1, 'k1', 'Promo', 'WHATSAPP')"))
            # sent at 1794000000; a commercial conversation 1 hour later, an order 2 days later
            conn.execute(text(
                "INSERT INTO message (organization_id, id, external_id, contact_id, channel,"
                " direction, sender, campaign_id, status, sent_at, automatic, effective)"
                f" VALUES ({org}, 1, 'm1', 1, 'WHATSAPP', 'OUTBOUND', 'SYSTEM', 1, 'READ',"
                " 1794000000, FALSE, FALSE)"))
            conn.execute(text(
                "INSERT INTO conversation (organization_id, id, external_id, contact_id, kind,"
                " channel, status, started_at)"
                f" VALUES ({org}, 1, 'v1', 1, 'COMMERCIAL', 'WHATSAPP', 'NEW', 1794003600)"))
            conn.execute(text(
                "INSERT INTO sales_order (organization_id, id, external_id, contact_id,"
                f" amount_e4, currency, ordered_at) VALUES ({org}, 1, 'o1', 1, 10000, 'BRL',"
                " 1794172800)"))
    upgrade(url)
    with engine.connect() as conn:
        sends = conn.execute(text(
            "SELECT organization_id, message_id, contact_id, campaign_id, channel, status,"
            " sent_at, next_commercial_at, next_order_at FROM campaign_send ORDER BY 1")).all()
        gaps = conn.execute(text(
            "SELECT channel, track, day, gap, contacts FROM campaign_gap WHERE organization_id = 1"
            " ORDER BY 1, 2")).all()
        activity = conn.execute(text(
            "SELECT DISTINCT organization_id FROM contact_activity ORDER BY 1")).all()
        refreshed = conn.execute(text(
            "SELECT id, refreshed_at IS NOT NULL AND refreshed_at <> 5 FROM organization"
            " ORDER BY id")).all()
    engine.dispose()
    assert [tuple(r) for r in sends] == [
        (org, 1, 1, 1, "WHATSAPP", "READ", 1794000000, 1794003600, 1794172800) for org in (1, 2)
    ]
    # 2026-11-06 18:20 in São Paulo: day 20763; READ reaches ranks 1-3; no journey ("j")
    day = 20763
    assert [tuple(r) for r in gaps] == [
        (channel, track, day, 186, 1) for channel in ("*", "WHATSAPP") for track in "123j"
    ]
    # "current" got only its campaign sends; "waiting" the whole refresh (its activity too)
    assert [tuple(r) for r in activity] == [(2,)]
    assert [tuple(r) for r in refreshed] == [(1, 1), (2, 1)]


def _one_current_org_with_a_contact(conn, message: bool = False) -> None:
    """Organization 1 (facts current: refreshed_at set) with contact 1 (and, with ``message``,
    its inbound SMS 1 of 2026-11-06), written raw at an old revision."""
    conn.execute(text(
        "INSERT INTO organization (id, key, name, timezone, created_at, refreshed_at)"
        " VALUES (1, 'acme', 'Acme', 'America/Sao_Paulo', 0, 5)"))
    conn.execute(text(
        "INSERT INTO contact (organization_id, id, external_id, created_at)"
        " VALUES (1, 1, 'c1', 1793070000)"))
    if message:
        conn.execute(text(
            "INSERT INTO message (organization_id, id, external_id, contact_id, channel,"
            " direction, sender, sent_at, automatic, effective)"
            " VALUES (1, 1, 'm1', 1, 'SMS', 'INBOUND', 'CONTACT', 1794000000, FALSE, FALSE)"))


def test_upgrading_past_0013_rebuilds_the_conversation_hours_with_their_commercial_count(
    tmp_path,
):
    url = f"sqlite:///{tmp_path / 'at-0012.sqlite3'}"
    upgrade(url, "0012")
    engine = create_engine(url)
    with engine.begin() as conn:
        _one_current_org_with_a_contact(conn)
        # both at 2026-11-12 22:30 in São Paulo: day 20769, hour 22; one commercial
        for vid, kind in ((1, "COMMERCIAL"), (2, "SUPPORT")):
            conn.execute(text(
                "INSERT INTO conversation (organization_id, id, external_id, contact_id, kind,"
                " channel, status, started_at)"
                f" VALUES (1, {vid}, 'v{vid}', 1, '{kind}', 'WHATSAPP', 'NEW', 1794533400)"))
    upgrade(url)
    with engine.connect() as conn:
        hours = conn.execute(text(
            "SELECT channel, hour, conversations, commercial FROM conversation_hour"
            " ORDER BY channel")).all()
    engine.dispose()
    hour = 20769 * 24 + 22
    assert [tuple(r) for r in hours] == [("*", hour, 2, 1), ("WHATSAPP", hour, 2, 1)]


def test_upgrading_past_0016_gives_the_campaign_sends_their_previous_days(tmp_path):
    """0016 adds each send's previous days (per status rank and journey) and rebuilds the
    campaign sends: a contact's READ send on day d and SENT send on day d + 2 (one campaign,
    no journey) get the previous days a funnel's asOf-day part reads."""
    url = f"sqlite:///{tmp_path / 'at-0015.sqlite3'}"
    upgrade(url, "0015")
    engine = create_engine(url)
    day = 1794000000  # 2026-11-06 18:20 in São Paulo: local day 20763
    with engine.begin() as conn:
        _one_current_org_with_a_contact(conn)
        conn.execute(text(
            "INSERT INTO campaign (organization_id, id, external_id, name, channel)"
            " VALUES (1, 1, 'k1', 'Promo', 'WHATSAPP')"))
        for mid, status, sent in ((1, "READ", day), (2, "SENT", day + 2 * 86_400)):
            conn.execute(text(
                "INSERT INTO message (organization_id, id, external_id, contact_id, channel,"
                " direction, sender, campaign_id, status, sent_at, automatic, effective)"
                f" VALUES (1, {mid}, 'm{mid}', 1, 'WHATSAPP', 'OUTBOUND', 'SYSTEM', 1,"
                f" '{status}', {sent}, FALSE, FALSE)"))
    upgrade(url)
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT message_id, day, prev_rank1_day, prev_rank2_day, prev_rank3_day,"
            " prev_rank4_day, prev_journey_day FROM campaign_send ORDER BY message_id")).all()
    engine.dispose()
    assert [tuple(r) for r in rows] == [
        (1, 20763, None, None, None, None, None),
        # day 20765: previous send day 20763, and it reached READ (ranks 2 and 3), not rank 4
        (2, 20765, 20763, 20763, 20763, None, 20763),
    ]


def test_0017_drops_the_message_foreign_keys_and_keeps_its_rows_and_indexes(empty_database_url):
    """0017: ``message`` loses its five foreign keys (ingestion checks the references); its rows
    and indexes stay; the downgrade puts the keys back."""
    from alembic import command
    from sqlalchemy import inspect

    from tablero.migrate import alembic_config

    url = empty_database_url
    upgrade(url, "0016")
    engine = create_engine(url)
    with engine.begin() as conn:
        _one_current_org_with_a_contact(conn, message=True)

    def shape():
        with engine.connect() as conn:
            found = inspect(conn)
            keys = sorted(tuple(fk["constrained_columns"])
                          for fk in found.get_foreign_keys("message"))
            indexes = sorted(ix["name"] for ix in found.get_indexes("message"))
            rows = [tuple(r) for r in conn.execute(text(
                "SELECT id, external_id, contact_id, sent_at FROM message"))]
        return keys, indexes, rows

    keys, indexes, rows = shape()
    assert len(keys) == 5 and {"ix_message_org_sent", "ix_message_org_effective"} <= set(indexes)
    upgrade(url, "0017")
    assert shape() == ([], indexes, rows)
    engine.dispose()
    command.downgrade(alembic_config(url), "0016")
    assert shape() == (keys, indexes, rows)
    upgrade(url, "0017")
    assert shape() == ([], indexes, rows)
    engine.dispose()


def test_0018_drops_the_foreign_keys_of_the_derived_facts_and_keeps_their_rows(
    empty_database_url,
):
    """0018: the tables a refresh writes lose their foreign keys; a contact's activity rows and
    a rollup's cells stay as they were, with their indexes; the downgrade puts the keys back."""
    from alembic import command
    from sqlalchemy import inspect

    from tablero.migrate import alembic_config

    url = empty_database_url
    upgrade(url, "0017")
    engine = create_engine(url)
    with engine.begin() as conn:
        _one_current_org_with_a_contact(conn, message=True)
    from tablero import derived
    from tablero.db import Database

    database = Database(url)
    derived.refresh(database, 1, now=5)  # the facts of contact 1, at 0017's schema
    database.dispose()
    tables = ("contact_activity", "activity_gap", "response_interval")

    def shape():
        with engine.connect() as conn:
            found = inspect(conn)
            keys = {t: sorted(tuple(fk["constrained_columns"])
                              for fk in found.get_foreign_keys(t)) for t in tables}
            indexes = {t: sorted(ix["name"] for ix in found.get_indexes(t)) for t in tables}
            rows = [tuple(r) for r in conn.execute(text(
                "SELECT channel, day, contact_id, messages FROM contact_activity"
                " ORDER BY channel"))]
            cells = [tuple(r) for r in conn.execute(text(
                "SELECT channel, measure, day, contacts FROM activity_gap"
                " WHERE state = '*' ORDER BY channel, measure"))]
        return keys, indexes, rows, cells

    keys, indexes, rows, cells = shape()
    assert keys["contact_activity"] == [("organization_id",),
                                        ("organization_id", "contact_id")]
    assert keys["activity_gap"] == [("organization_id",)]
    # 2026-11-06 in São Paulo is day 20763: one inbound SMS
    assert rows == [("*", 20763, 1, 1), ("SMS", 20763, 1, 1)]
    assert cells == [("*", 0, 20763, 1), ("SMS", 0, 20763, 1)]
    upgrade(url)
    assert shape() == ({t: [] for t in tables}, indexes, rows, cells)
    engine.dispose()
    command.downgrade(alembic_config(url), "0017")
    assert shape() == (keys, indexes, rows, cells)
    upgrade(url)
    assert shape() == ({t: [] for t in tables}, indexes, rows, cells)
    engine.dispose()


def test_0019_drops_the_message_campaign_index_and_keeps_the_others(empty_database_url):
    """0019: ``message`` loses ``ix_message_org_campaign`` (nothing reads messages by their
    campaign); its rows and other indexes stay; the downgrade puts the index back."""
    from alembic import command
    from sqlalchemy import inspect

    from tablero.migrate import alembic_config

    url = empty_database_url
    upgrade(url, "0018")
    engine = create_engine(url)
    with engine.begin() as conn:
        _one_current_org_with_a_contact(conn, message=True)

    def shape():
        with engine.connect() as conn:
            indexes = sorted(ix["name"] for ix in inspect(conn).get_indexes("message"))
            rows = [tuple(r) for r in conn.execute(text(
                "SELECT id, external_id, contact_id, sent_at FROM message"))]
        return indexes, rows

    indexes, rows = shape()
    assert "ix_message_org_campaign" in indexes
    upgrade(url, "0019")
    assert shape() == ([i for i in indexes if i != "ix_message_org_campaign"], rows)
    engine.dispose()
    command.downgrade(alembic_config(url), "0018")
    assert shape() == (indexes, rows)
    engine.dispose()
