"""Closing reasons and the pluggable rules that say which ones close a conversation.

Used by the resolution and conversations panels, so both count "closed" the same way: a
conversation is *closed* when it was transferred, or closed with a reason that closes
(``closes`` after plugin rules are applied). Reasons that do not close (by default "Esperando
visita" and "Esperando recordatorio") snooze the contact and are not counted as closed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import and_, insert, or_, select
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from .models import ClosingReason, Organization


@dataclass(frozen=True)
class ClosingReasonRule:
    """A plugin's rule for the reason with external id ``reason``.

    ``name`` set: the plugin contributes this reason; it is created in every organization that
    lacks it (at start-up and when an organization is created). ``closes``/``category`` override
    the stored values when not None.
    """

    reason: str
    name: str | None = None
    closes: bool | None = None
    category: str | None = None


@dataclass(frozen=True)
class ReasonInfo:
    id: int
    external_id: str
    name: str
    closes: bool
    archived: bool
    category: str | None


def apply_rules(
    rows: Iterable[tuple], rules: Sequence[ClosingReasonRule]
) -> list[ReasonInfo]:
    by_reason: dict[str, ClosingReasonRule] = {}
    for rule in rules:
        previous = by_reason.get(rule.reason)
        by_reason[rule.reason] = ClosingReasonRule(
            rule.reason,
            rule.name or (previous.name if previous else None),
            rule.closes if rule.closes is not None else (previous.closes if previous else None),
            rule.category or (previous.category if previous else None),
        )
    out = []
    for id_, external_id, name, closes, archived in rows:
        rule = by_reason.get(external_id)
        if rule is not None and rule.closes is not None:
            closes = rule.closes
        out.append(
            ReasonInfo(id_, external_id, name, bool(closes), bool(archived), rule.category if rule else None)
        )
    return out


def organization_reasons(
    conn: Connection, organization_id: int, rules: Sequence[ClosingReasonRule] = ()
) -> list[ReasonInfo]:
    """The organization's closing reasons (archived included), with plugin rules applied."""
    rows = conn.execute(
        select(
            ClosingReason.id,
            ClosingReason.external_id,
            ClosingReason.name,
            ClosingReason.closes,
            ClosingReason.archived,
        )
        .where(ClosingReason.organization_id == organization_id)
        .order_by(ClosingReason.id)
    ).all()
    return apply_rules(rows, rules)


def closed_condition(conversation, reasons: Sequence[ReasonInfo]) -> ColumnElement:
    """SQL: the conversation counts as closed (transferred, or a reason that closes)."""
    t = getattr(conversation, "__table__", conversation)
    closing_ids = [r.id for r in reasons if r.closes]
    return and_(
        t.c.closed_at.is_not(None),
        or_(t.c.transferred_to_id.is_not(None), t.c.closing_reason_id.in_(closing_ids or [-1])),
    )


def registry_rules(registry) -> list[ClosingReasonRule]:
    """The closing-reason rules a start-up registry collected from the plugins."""
    return [r for _, r in registry.closing_reason_rules if isinstance(r, ClosingReasonRule)]


def sync_contributed_reasons(
    conn: Connection, rules: Sequence[ClosingReasonRule], organization_id: int | None = None
) -> int:
    """Create plugin-contributed reasons in every organization lacking them (or in
    ``organization_id`` only); returns rows added."""
    contributed = {r.reason: r for r in rules if r.name}
    if not contributed:
        return 0
    added = 0
    organizations = select(Organization.id)
    if organization_id is not None:
        organizations = organizations.where(Organization.id == organization_id)
    for (org_id,) in conn.execute(organizations).all():
        existing = conn.execute(
            select(ClosingReason.external_id, ClosingReason.name, ClosingReason.id).where(
                ClosingReason.organization_id == org_id
            )
        ).all()
        ids = {e for e, _, _ in existing}
        names = {n for _, n, _ in existing}
        next_id = max((i for _, _, i in existing), default=0) + 1
        for rule in contributed.values():
            if rule.reason in ids or rule.name in names:
                continue
            conn.execute(
                insert(ClosingReason).values(
                    organization_id=org_id,
                    id=next_id,
                    external_id=rule.reason,
                    name=rule.name,
                    closes=True if rule.closes is None else rule.closes,
                    archived=False,
                )
            )
            next_id += 1
            added += 1
    return added
