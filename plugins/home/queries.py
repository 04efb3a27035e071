"""The home page's figures: plain blocking functions ``(conn, filters) -> figure``.

Every function aggregates in SQL (one statement each) and reads only the organization's rows
through ``filters.where``. ``filters`` is the page's :class:`tablero.ReportFilters` built by
:func:`home_filters`: no group, origin, channel or advisor, and a period of the 30 local days
ending on asOf's day plus the 30 days before them.

The daily volume, the attention distribution and the geography are the core's shared figures
(``tablero.daily_volume`` etc.), called directly by the schema and the CSV: the contacts
behaviour panel shows the same numbers from the same code.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import and_, case, func, select, update
from sqlalchemy.engine import Connection
from tablero import (
    OPEN_STATUSES,
    Channel,
    Comparison,
    DateRange,
    NotFound,
    OnboardingStep,
    PlanUsage,
    QuickAction,
    ReportFilters,
    Ticket,
    active_contacts,
    contact_base_at,
    conversation_counts,
    epoch_to_local,
    trailing_days,
)
from tablero import attention_contacts as core_attention_contacts

from .types import (
    HomeActivePlan,
    HomeFirstStep,
    HomePendingAttentions,
    HomePeriod,
    HomePlanChannel,
    HomeQuickAction,
    HomeSatisfaction,
)

HOME = "home"  # this plugin's name in the registry
WINDOW_DAYS = 30

# The article's six quick actions, in its order, contributed through tablero_quick_actions.
DEFAULT_QUICK_ACTIONS: tuple[QuickAction, ...] = (
    QuickAction("send_messages", "Send messages", "/campaigns/new"),
    QuickAction("manage_contacts", "Manage contacts", "/contacts"),
    QuickAction("attend_tickets", "Attend tickets", "/tickets"),
    QuickAction("attend_customers", "Attend customers", "/conversations"),
    QuickAction("enable_channel", "Enable channel", "/channels/new"),
    QuickAction("invoices", "Invoices", "/billing/invoices"),
)


def home_filters(organization_id: int, timezone: str, as_of: datetime) -> ReportFilters:
    """The page's filters: the organization, and the trailing 30-day windows ending on asOf."""
    return ReportFilters(
        organization_id=organization_id,
        timezone=timezone,
        period=trailing_days(WINDOW_DAYS, timezone, as_of),
    )


def home_filters_like(f: ReportFilters) -> ReportFilters:
    """The page's filters for the organization and asOf of already-resolved report filters
    (the CSV endpoint resolves the shared filters; the home page keeps only these two)."""
    as_of = datetime.fromtimestamp(f.period.as_of_ts, UTC)
    return home_filters(f.organization_id, f.timezone, as_of)


def today_range(f: ReportFilters) -> DateRange:
    """asOf's local day, from its midnight up to asOf."""
    return DateRange.of(f.period.today, f.period.today, f.timezone, f.period.as_of_ts)


def period(f: ReportFilters) -> HomePeriod:
    cur, prev = f.current, f.previous
    return HomePeriod(
        start=cur.start,
        end=cur.end,
        previous_start=prev.start,
        previous_end=prev.end,
        today=f.period.today,
        as_of=epoch_to_local(f.period.as_of_ts, f.timezone),
    )


# ---- first steps and plan ------------------------------------------------------------------


def first_steps(conn: Connection, f: ReportFilters) -> list[HomeFirstStep]:
    s = OnboardingStep.__table__.c
    rows = conn.execute(
        select(s.key, s.title, s.done, s.done_at)
        .where(*f.where(OnboardingStep, which=None))
        .order_by(s.position, s.key)
    ).all()
    return [
        HomeFirstStep(
            key=key,
            title=title,
            done=bool(done),
            done_at=epoch_to_local(done_at, f.timezone) if done else None,
        )
        for key, title, done, done_at in rows
    ]


def complete_first_step(conn: Connection, f: ReportFilters, key: str, now: int) -> HomeFirstStep:
    """Mark a step done (idempotent: a step already done keeps its first ``done_at``)."""
    s = OnboardingStep.__table__.c
    result = conn.execute(
        update(OnboardingStep.__table__)
        .where(*f.where(OnboardingStep, which=None), s.key == key)
        .values(
            done=True, done_at=case((and_(s.done, s.done_at.is_not(None)), s.done_at), else_=now)
        )
    )
    if result.rowcount == 0:
        raise NotFound(f"first step {key!r} does not exist in this organization")
    return next(step for step in first_steps(conn, f) if step.key == key)


def active_plan(conn: Connection, f: ReportFilters) -> HomeActivePlan:
    p = PlanUsage.__table__.c
    today = f.period.today
    usage = {
        channel: (int(used), int(quota))
        for channel, used, quota in conn.execute(
            select(p.channel, p.used, p.quota).where(
                *f.where(PlanUsage, which=None), p.day == today.isoformat()
            )
        )
    }
    channels = []
    for channel in Channel:  # the channels' canonical order
        if channel.value in usage:
            used, quota = usage[channel.value]
            channels.append(
                HomePlanChannel(
                    channel=channel,
                    used=used,
                    quota=quota,
                    percent=_percent(used, quota),
                    exceeded=used > quota,
                )
            )
    return HomeActivePlan(day=today, channels=channels)


def _percent(used: int, quota: int) -> float | None:
    return round(used * 100.0 / quota, 4) if quota else None


# ---- quick actions -------------------------------------------------------------------------


def quick_actions(contributed: Iterable[tuple[str, object]]) -> list[HomeQuickAction]:
    """The registry's ``(plugin, QuickAction)`` pairs: this panel's six defaults first, then the
    other plugins' actions in the order the plugins were registered.

    A plugin action with the key of a default replaces that default in place; two plugins
    contributing one key is a configuration error naming both.
    """
    actions: dict[str, QuickAction] = {}
    owners: dict[str, str] = {}
    for plugin, action in sorted(contributed, key=lambda item: item[0] != HOME):
        if not isinstance(action, QuickAction):
            raise TypeError(
                f"plugin {plugin!r} contributed {action!r} as a quick action, "
                "not a tablero.QuickAction"
            )
        owner = owners.get(action.key, HOME)
        if owner != HOME:
            raise ValueError(
                f"quick action {action.key!r} is contributed by both {owner!r} and {plugin!r}"
            )
        actions[action.key] = action  # a dict keeps the replaced default's position
        owners[action.key] = plugin
    return [HomeQuickAction(key=a.key, label=a.label, route=a.route) for a in actions.values()]


# ---- overview ------------------------------------------------------------------------------


def _in(column, rng: DateRange):
    return and_(column >= rng.start_ts, column < rng.end_ts)


def contact_base(conn: Connection, f: ReportFilters) -> Comparison:
    """Contacts created before each window's end and not deleted by then."""
    current, previous = contact_base_at(conn, f, [f.current.end_ts, f.previous.end_ts])
    return Comparison.of(current, previous)


def reached_contacts(conn: Connection, f: ReportFilters) -> Comparison:
    """Distinct contacts with an outbound message sent in each window (the core's contact
    activity facts over the 60 days only, never the whole message history)."""
    return active_contacts(conn, f, "outbound")


def attention_contacts(conn: Connection, f: ReportFilters, kind: str) -> Comparison:
    """Distinct contacts with a conversation of ``kind`` started in each window."""
    return core_attention_contacts(conn, f, kind)


# ---- tickets, pending attentions, satisfaction ---------------------------------------------


def tickets_opened_today(conn: Connection, f: ReportFilters) -> int:
    t = Ticket.__table__.c
    today = today_range(f)
    return int(
        conn.execute(
            select(func.count()).where(*f.where(Ticket, which=None), _in(t.opened_at, today))
        ).scalar()
    )


def pending_attentions(conn: Connection, f: ReportFilters) -> HomePendingAttentions:
    """Support conversations started in the window, by the open status they have now."""
    counts = conversation_counts(conn, f, f.current)
    new, waiting, in_progress = (counts[f"support_{s.lower()}"] for s in OPEN_STATUSES)
    return HomePendingAttentions(
        total=new + waiting + in_progress, new=new, waiting=waiting, in_progress=in_progress
    )


def satisfaction(conn: Connection, f: ReportFilters) -> HomeSatisfaction:
    """The sentiments of the conversations started in the window."""
    counts = conversation_counts(conn, f, f.current)
    positive, neutral, negative = (counts[s] for s in ("positive", "neutral", "negative"))
    rated = positive + neutral + negative
    unrated = counts["commercial"] + counts["support"] - rated  # sentiment null

    def share(n: int) -> float | None:
        return n / rated if rated else None

    return HomeSatisfaction(
        positive=positive,
        neutral=neutral,
        negative=negative,
        rated=rated,
        unrated=unrated,
        positive_share=share(positive),
        neutral_share=share(neutral),
        negative_share=share(negative),
        score=(positive - negative) / rated if rated else None,
    )
