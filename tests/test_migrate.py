"""Upgrading a database that already holds data computes the facts a new revision adds."""

from __future__ import annotations

from sqlalchemy import create_engine, text

from tablero.migrate import upgrade


def test_upgrading_past_0002_fills_the_contact_activity_facts(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    upgrade(url, "0001")
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO organization (id, key, name, timezone, created_at)"
            " VALUES (1, 'acme', 'Acme', 'America/Sao_Paulo', 0)"))
        conn.execute(text(
            "INSERT INTO contact (organization_id, id, external_id, created_at)"
            " VALUES (1, 1, 'c1', 1793070000)"))
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
