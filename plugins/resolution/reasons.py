"""Managing an organization's closing reasons: create, rename, archive (ADMIN only).

Names are unique per organization, compared without regard to case, accents or surrounding
spaces ("venta" clashes with "Venta"), so a list a person reads never shows two look-alikes.
A new reason gets the next id of the organization and an external id — the one given, or the
slug of its name ("Garantía extendida" -> ``garantia-extendida``) — which ingestion uses to refer
to it. Renaming keeps the external id; archiving keeps the reason on the conversations that
carry it (it just disappears from the table when it has nothing in the period).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from tablero import BadUserInput, ClosingReason, ClosingReasonRule, NotFound, organization_reasons

from .queries import ASSIGNMENTS, ASSIGNMENTS_NAME, catalog_entry
from .types import ResolutionClosingReason

MAX_NAME_LENGTH = 100


def slug(text: str) -> str:
    """``"Garantía extendida"`` -> ``"garantia-extendida"``."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def _comparable(name: str) -> str:
    return slug(name) or name.strip().casefold()


def _clean_name(name: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise BadUserInput("a closing reason needs a name")
    if len(name) > MAX_NAME_LENGTH:
        raise BadUserInput(f"a closing reason name has at most {MAX_NAME_LENGTH} characters")
    if _comparable(name) == _comparable(ASSIGNMENTS_NAME):
        raise BadUserInput(f'"{name}" is the name of the Assignments row (transfers)')
    return name


def _stored(conn: Connection, organization_id: int) -> list:
    return conn.execute(
        select(ClosingReason.id, ClosingReason.external_id, ClosingReason.name).where(
            ClosingReason.organization_id == organization_id
        )
    ).all()


def _check_name_free(rows, name: str, except_id: int | None = None) -> None:
    wanted = _comparable(name)
    for id_, external_id, existing in rows:
        if id_ != except_id and _comparable(existing) == wanted:
            raise BadUserInput(
                f'the name "{name}" clashes with closing reason "{existing}" '
                f'(id "{external_id}"); names are unique per organization'
            )


def _concurrent_change() -> BadUserInput:
    # The write fails and its transaction is rolled back: nothing is half written.
    return BadUserInput(
        "closing reasons were changed at the same moment by another request; try again"
    )


def _find(rows, reason: str):
    for row in rows:
        if row.external_id == reason:
            return row
    raise NotFound(f'closing reason "{reason}" does not exist in this organization')


def _result(
    conn: Connection, organization_id: int, rules: Sequence[ClosingReasonRule], reason_id: int
) -> ResolutionClosingReason:
    for r in organization_reasons(conn, organization_id, rules):
        if r.id == reason_id:
            return catalog_entry(r)
    raise NotFound("the closing reason vanished while it was being saved")  # pragma: no cover


def create_reason(
    conn: Connection,
    organization_id: int,
    rules: Sequence[ClosingReasonRule],
    name: str,
    external_id: str | None = None,
    closes: bool = True,
) -> ResolutionClosingReason:
    """Add a reason; BAD_USER_INPUT when its name or external id is taken."""
    name = _clean_name(name)
    external_id = (external_id.strip() if external_id is not None else slug(name)) or None
    if external_id is None:
        raise BadUserInput(f'"{name}" gives no usable id: pass externalId (e.g. "my-reason")')
    if external_id == ASSIGNMENTS:
        raise BadUserInput(f'"{ASSIGNMENTS}" is reserved for the Assignments row (transfers)')
    rows = _stored(conn, organization_id)
    _check_name_free(rows, name)
    for _, taken, existing in rows:
        if taken == external_id:
            raise BadUserInput(
                f'the id "{external_id}" is already used by closing reason "{existing}"; '
                "pass another externalId"
            )
    next_id = (
        conn.execute(
            select(func.max(ClosingReason.id)).where(
                ClosingReason.organization_id == organization_id
            )
        ).scalar()
        or 0
    ) + 1
    try:
        conn.execute(
            insert(ClosingReason).values(
                organization_id=organization_id,
                id=next_id,
                external_id=external_id,
                name=name,
                closes=closes,
                archived=False,
            )
        )
    except IntegrityError as exc:  # another request took the id or the name at the same moment
        raise _concurrent_change() from exc
    return _result(conn, organization_id, rules, next_id)


def rename_reason(
    conn: Connection,
    organization_id: int,
    rules: Sequence[ClosingReasonRule],
    reason: str,
    name: str,
) -> ResolutionClosingReason:
    """Give a reason a new name (its external id stays); NOT_FOUND for an unknown reason."""
    name = _clean_name(name)
    rows = _stored(conn, organization_id)
    row = _find(rows, reason)
    _check_name_free(rows, name, except_id=row.id)
    try:
        conn.execute(
            update(ClosingReason)
            .where(ClosingReason.organization_id == organization_id, ClosingReason.id == row.id)
            .values(name=name)
        )
    except IntegrityError as exc:
        raise _concurrent_change() from exc
    return _result(conn, organization_id, rules, row.id)


def archive_reason(
    conn: Connection,
    organization_id: int,
    rules: Sequence[ClosingReasonRule],
    reason: str,
    archived: bool = True,
) -> ResolutionClosingReason:
    """Archive (or, with ``archived=False``, restore) a reason; NOT_FOUND for an unknown one."""
    row = _find(_stored(conn, organization_id), reason)
    conn.execute(
        update(ClosingReason)
        .where(ClosingReason.organization_id == organization_id, ClosingReason.id == row.id)
        .values(archived=archived)
    )
    return _result(conn, organization_id, rules, row.id)
