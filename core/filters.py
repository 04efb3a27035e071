"""The shared report filters (SPEC section 3) and the one function that turns them into SQL.

Every panel takes ``filters: ReportFiltersInput``, resolves it once with :func:`resolve_filters`
and asks :meth:`ReportFilters.where` for the conditions on each table it reads. The builder always
adds the organization, and for an ``AGENT`` token the row-level scope "only their own
conversations" — panels never write either themselves.

What each filter means per table (a table is recognised by its columns):

* organization: ``organization_id = <token's organization>`` on every table.
* group: on ``contact``, the group the contact *entered* (``group_basis="entry"``, default) or its
  *current* group (``group_basis="current"``); on a table with ``contact_id``, the same condition
  through the contact.
* origin: the contact's origin, directly or through ``contact_id``.
* channel: on a table with a ``channel`` column.
* advisor (and AGENT scope): on a table with ``advisor_id``; on ``contact``, contacts with a
  conversation held by that advisor.
* period: ``time_column`` within the current (or previous) period's ``[start, end)``.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

import strawberry
from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from .context import TableroContext, Viewer
from .errors import BadUserInput, Forbidden, NotFound
from .models import CHANNELS, Contact, ContactGroup, Conversation, User
from .periods import DateRange, Period, PeriodInput, PeriodPreset, resolve_period


@strawberry.enum(description="A communication channel.")
class Channel(enum.Enum):
    WHATSAPP = "WHATSAPP"
    SMS = "SMS"
    EMAIL = "EMAIL"
    RCS = "RCS"
    FACEBOOK_MESSENGER = "FACEBOOK_MESSENGER"
    INSTAGRAM = "INSTAGRAM"
    WEBCHAT = "WEBCHAT"
    VOICE_CALL = "VOICE_CALL"


assert tuple(c.value for c in Channel) == CHANNELS


@strawberry.input(description="Filters shared by every report; all optional.")
class ReportFiltersInput:
    period: PeriodInput | None = strawberry.field(
        default=None, description="Defaults to LAST_30_DAYS."
    )
    group: str | None = strawberry.field(default=None, description="Group external id.")
    origin: str | None = strawberry.field(default=None, description="Lead origin (free text).")
    channel: Channel | None = None
    advisor: str | None = strawberry.field(default=None, description="Advisor external id.")
    as_of: datetime | None = strawberry.field(
        default=None,
        description="Count presets and 'today' back from this instant (default: now).",
    )


_MEMO_LOCK = threading.Lock()  # guards the creation of remember()'s per-key locks
_COMPUTING = object()  # remember()'s memo keys (_COMPUTING, key): the lock of a key's compute


@dataclass(frozen=True)
class ReportFilters:
    """Filters resolved against the organization: ids instead of external ids, dates as instants."""

    organization_id: int
    timezone: str
    period: Period
    group_id: int | None = None
    origin: str | None = None
    channel: str | None = None
    advisor_id: int | None = None
    # AGENT tokens: their own user id (-1 when the token's user is unknown: sees nothing).
    scope_advisor_id: int | None = None
    # what the request already looked up (see remember); shared by without()'s copies
    _memo: dict = field(default_factory=dict, compare=False, repr=False)

    def remember(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """``compute()``, once per request: the filters live as long as the request, so the
        figures of one report share a lookup that doesn't depend on their own dimensions
        (the organization's closing reasons, "is there data after asOf?" probes, a reach
        read by two funnels). Safe across the report's worker threads: a second thread asking
        for a key being computed waits for that value instead of computing it again (the
        key must name every dimension the value depends on: the memo is shared by
        :meth:`without`'s copies)."""
        memo = self._memo
        if key in memo:
            return memo[key]
        with _MEMO_LOCK:
            lock = memo.setdefault((_COMPUTING, key), threading.Lock())
        with lock:
            if key not in memo:
                memo[key] = compute()
            return memo[key]

    @property
    def current(self) -> DateRange:
        return self.period.current

    @property
    def previous(self) -> DateRange:
        return self.period.previous

    def for_range(self, which: Literal["current", "previous"]) -> DateRange:
        return self.period.current if which == "current" else self.period.previous

    def without(self, *names: str) -> ReportFilters:
        """The same filters with some dimensions dropped (e.g. a figure the channel doesn't apply to)."""
        return replace(self, **{name: None for name in names})

    def where(
        self,
        table,
        *,
        time_column=None,
        which: Literal["current", "previous"] | None = "current",
        group_basis: Literal["entry", "current"] = "entry",
    ) -> list[ColumnElement]:
        """SQL conditions applying these filters to ``table`` (a model class, table or alias)."""
        t = getattr(table, "__table__", table)
        c = t.c
        conditions: list[ColumnElement] = [c.organization_id == self.organization_id]
        is_contact = "created_at" in c and "phone" in c
        contact_conditions = self._contact_conditions(Contact.__table__.c, group_basis)
        if is_contact:
            conditions += self._contact_conditions(c, group_basis)
        elif contact_conditions and "contact_id" in c:
            conditions.append(
                c.contact_id.in_(
                    select(Contact.id).where(
                        Contact.organization_id == self.organization_id, *contact_conditions
                    )
                )
            )
        if self.channel is not None and "channel" in c:
            conditions.append(c.channel == self.channel)
        for advisor in (self.advisor_id, self.scope_advisor_id):
            if advisor is None:
                continue
            if "advisor_id" in c:
                conditions.append(c.advisor_id == advisor)
            elif is_contact:
                conditions.append(
                    c.id.in_(
                        select(Conversation.contact_id).where(
                            Conversation.organization_id == self.organization_id,
                            Conversation.advisor_id == advisor,
                        )
                    )
                )
        if time_column is not None and which is not None:
            rng = self.for_range(which)
            conditions += [time_column >= rng.start_ts, time_column < rng.end_ts]
        return conditions

    def _contact_conditions(self, c, group_basis: str) -> list[ColumnElement]:
        out = []
        if self.group_id is not None:
            column = c.entry_group_id if group_basis == "entry" else c.current_group_id
            out.append(column == self.group_id)
        if self.origin is not None:
            out.append(c.origin == self.origin)
        return out


def _lookup_ids(conn: Connection, org_id: int, group: str | None, advisor: str | None):
    group_id = advisor_id = None
    if group is not None:
        group_id = conn.execute(
            select(ContactGroup.id).where(
                ContactGroup.organization_id == org_id, ContactGroup.external_id == group
            )
        ).scalar()
        if group_id is None:
            raise NotFound(f"group {group!r} does not exist in this organization")
    if advisor is not None:
        advisor_id = conn.execute(
            select(User.id).where(User.organization_id == org_id, User.external_id == advisor)
        ).scalar()
        if advisor_id is None:
            raise NotFound(f"advisor {advisor!r} does not exist in this organization")
    return group_id, advisor_id


async def resolve_filters(
    context: TableroContext,
    filters: ReportFiltersInput | None,
    *,
    allowed_presets: frozenset[PeriodPreset] | None = None,
    viewer: Viewer | None = None,
) -> ReportFilters:
    """Validate and resolve the filters for the request's viewer (raises BAD_USER_INPUT etc.)."""
    viewer = viewer or await context.viewer()
    filters = filters or ReportFiltersInput()
    as_of = filters.as_of or context.now
    period = resolve_period(filters.period, viewer.org.timezone, as_of, allowed=allowed_presets)
    origin = filters.origin
    if origin is not None and not origin.strip():
        raise BadUserInput("origin must not be empty")
    if filters.group is None and filters.advisor is None:
        group_id = advisor_id = None
    else:
        group_id, advisor_id = await context.run(
            lambda conn: _lookup_ids(conn, viewer.org.id, filters.group, filters.advisor)
        )
    scope = None
    if viewer.is_agent:
        scope = viewer.user_id if viewer.user_id is not None else -1
        if advisor_id is not None and advisor_id != scope:
            raise Forbidden("An agent sees only their own conversations.")
    channel = filters.channel.value if filters.channel is not None else None
    return ReportFilters(
        organization_id=viewer.org.id,
        timezone=viewer.org.timezone,
        period=period,
        group_id=group_id,
        origin=origin,
        channel=channel,
        advisor_id=advisor_id,
        scope_advisor_id=scope,
    )
