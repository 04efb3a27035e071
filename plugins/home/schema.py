"""The home page's root fields: ``home(asOf)`` and the ``completeFirstStep(key)`` mutation.

``home`` resolves nothing by itself: it fixes the organization and the 30-day windows, and each
sub-field runs its own query on a worker thread when (and only when) it is asked for. Sibling
fields run concurrently.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.types import Info
from tablero import (
    AttentionDistribution,
    Comparison,
    DailyVolume,
    Geography,
    ReportFilters,
    Requires,
    attention_distribution,
    daily_volume,
    interacting_geography,
)

from . import queries
from .types import (
    HomeActivePlan,
    HomeFirstStep,
    HomePendingAttentions,
    HomePeriod,
    HomeQuickAction,
    HomeSatisfaction,
)


@strawberry.type(
    name="HomeOverview",
    description="The organization at a glance: each figure for the current 30-day window "
    "compared with the previous 30 days. Contact counts are distinct over the whole window.",
)
class HomeOverview:
    filters: strawberry.Private[ReportFilters]

    @strawberry.field(
        description="Contacts registered and not deleted at the window's end (created before "
        "the end, and not deleted before it). For the current window the end is asOf."
    )
    async def contact_base(self, info: Info) -> Comparison:
        return await info.context.run(lambda conn: queries.contact_base(conn, self.filters))

    @strawberry.field(
        description="Distinct contacts sent at least one outbound message (any channel, any "
        "sender: campaign, advisor, bot, system) in the window. Date basis: messages sent."
    )
    async def reached_contacts(self, info: Info) -> Comparison:
        return await info.context.run(lambda conn: queries.reached_contacts(conn, self.filters))

    @strawberry.field(
        description="Distinct contacts with a COMMERCIAL conversation started in the window."
    )
    async def commercial_contacts(self, info: Info) -> Comparison:
        return await info.context.run(
            lambda conn: queries.attention_contacts(conn, self.filters, "COMMERCIAL")
        )

    @strawberry.field(
        description="Distinct contacts with a SUPPORT conversation started in the window."
    )
    async def support_contacts(self, info: Info) -> Comparison:
        return await info.context.run(
            lambda conn: queries.attention_contacts(conn, self.filters, "SUPPORT")
        )


@strawberry.type(
    name="HomePage",
    description="The first screen of every non-agent user: first steps, today's plan usage, quick "
    "actions and the organization's last 30 days (the 30 local days ending on asOf's day, "
    "compared with the 30 days before them). No report filters apply.",
)
class HomePage:
    filters: strawberry.Private[ReportFilters]

    @strawberry.field(description="The windows every figure of the page is counted over.")
    def period(self) -> HomePeriod:
        return queries.period(self.filters)

    @strawberry.field(description="The organization's onboarding checklist, in its order.")
    async def first_steps(self, info: Info) -> list[HomeFirstStep]:
        return await info.context.run(lambda conn: queries.first_steps(conn, self.filters))

    @strawberry.field(description="Today's consumption of the plan (asOf's local day).")
    async def active_plan(self, info: Info) -> HomeActivePlan:
        return await info.context.run(lambda conn: queries.active_plan(conn, self.filters))

    @strawberry.field(
        description="Shortcuts: the six defaults, then those contributed by plugins. ADMIN and "
        "OPERATOR only.",
        permission_classes=[Requires("home.quick_actions")],
    )
    def quick_actions(self, info: Info) -> list[HomeQuickAction]:
        return queries.quick_actions(info.context.registry.quick_actions)

    @strawberry.field(
        description="Contact base, reached contacts, contacts in commercial attention and in "
        "support: current 30 days vs previous 30 days."
    )
    def overview(self) -> HomeOverview:
        return HomeOverview(filters=self.filters)

    @strawberry.field(
        description="30 zero-filled days: sends (outbound messages sent, any channel and sender), "
        "commercial and support attentions (conversations started)."
    )
    async def daily_volume(self, info: Info) -> DailyVolume:
        f = self.filters
        return await info.context.run(lambda conn: daily_volume(conn, f, f.current))

    @strawberry.field(
        description="Commercial vs support attentions (conversations started in the 30 days): "
        "counts and shares of the total."
    )
    async def attention_distribution(self, info: Info) -> AttentionDistribution:
        f = self.filters
        return await info.context.run(lambda conn: attention_distribution(conn, f, f.current))

    @strawberry.field(
        description="Distinct contacts with an interaction in the 30 days (a message sent or "
        "received, or a conversation started) per Brazilian state from the phone's DDD (all 27), "
        "plus those without a Brazilian DDD under `unknown`. Deleted contacts are left out."
    )
    async def geography(self, info: Info) -> Geography:
        f = self.filters
        return await info.context.run(
            lambda conn: interacting_geography(conn, f, f.current)
        )

    @strawberry.field(
        description="Tickets opened on asOf's local day, from its midnight up to asOf."
    )
    async def tickets_opened_today(self, info: Info) -> int:
        return await info.context.run(lambda conn: queries.tickets_opened_today(conn, self.filters))

    @strawberry.field(
        description="Support conversations started in the 30 days and not finished: NEW, "
        "WAITING or IN_PROGRESS (their current status)."
    )
    async def pending_attentions(self, info: Info) -> HomePendingAttentions:
        return await info.context.run(lambda conn: queries.pending_attentions(conn, self.filters))

    @strawberry.field(
        description="Satisfaction index over the conversations started in the 30 days."
    )
    async def satisfaction(self, info: Info) -> HomeSatisfaction:
        return await info.context.run(lambda conn: queries.satisfaction(conn, self.filters))


AsOf = Annotated[
    datetime | None,
    strawberry.argument(
        description="Count the page back from this instant (with an offset; default: now)."
    ),
]


@strawberry.type
class HomeQuery:
    @strawberry.field(
        description="The home page. Every profile but AGENT may see it.",
        permission_classes=[Requires("home.view")],
    )
    async def home(self, info: Info, as_of: AsOf = None) -> HomePage:
        viewer = await info.context.viewer()
        as_of = as_of or info.context.now
        # trailing_days refuses an asOf without an offset or out of range (BAD_USER_INPUT).
        f = queries.home_filters(viewer.org.id, viewer.org.timezone, as_of)
        return HomePage(filters=f)


@strawberry.type
class HomeMutation:
    @strawberry.mutation(
        description="Mark a first step done (ADMIN only). Completing a done step changes "
        "nothing: it keeps the moment it was first done. An unknown key is NOT_FOUND.",
        permission_classes=[Requires("home.first_steps.complete")],
    )
    async def complete_first_step(self, info: Info, key: str) -> HomeFirstStep:
        viewer = await info.context.viewer()
        now = info.context.now
        f = queries.home_filters(viewer.org.id, viewer.org.timezone, now)
        return await info.context.db.run_write(
            lambda conn: queries.complete_first_step(conn, f, key, int(now.timestamp()))
        )
