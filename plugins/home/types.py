"""The home page's GraphQL output types (plain data; the types whose fields run queries —
``HomePage`` and ``HomeOverview`` — live in ``schema.py``).

Type names start with ``Home`` so they never clash with another panel's. The shared shapes
(``Comparison``, ``DailyVolume``, ``AttentionDistribution``, ``Geography``) come from the core.
"""

from __future__ import annotations

from datetime import date, datetime

import strawberry
from tablero import Channel


@strawberry.type(
    name="HomePeriod",
    description="The home page's windows: the 30 local days ending on asOf's day (today "
    "included, counted up to asOf) and the 30 days before them.",
)
class HomePeriod:
    start: date = strawberry.field(description="First day of the current 30-day window.")
    end: date = strawberry.field(description="Last day of the current window (asOf's day).")
    previous_start: date
    previous_end: date = strawberry.field(description="The day before `start`.")
    today: date = strawberry.field(description="asOf's local date (the organization's zone).")
    as_of: datetime = strawberry.field(description="The instant the page is counted up to.")


@strawberry.type(name="HomeFirstStep", description="One step of the onboarding checklist.")
class HomeFirstStep:
    key: str
    title: str
    done: bool
    done_at: datetime | None = strawberry.field(
        description="When the step was first marked done (organization's zone); null if not done."
    )


@strawberry.type(name="HomePlanChannel", description="Today's consumption of one channel's quota.")
class HomePlanChannel:
    channel: Channel
    used: int
    quota: int
    percent: float | None = strawberry.field(
        description="used / quota x 100 (may exceed 100); null when the quota is 0."
    )
    exceeded: bool = strawberry.field(description="True when used > quota.")


@strawberry.type(
    name="HomeActivePlan",
    description="The contracted plan's consumption on asOf's local day, per channel with a usage "
    "record for that day.",
)
class HomeActivePlan:
    day: date
    channels: list[HomePlanChannel]


@strawberry.type(name="HomeQuickAction", description="A shortcut to a feature of the platform.")
class HomeQuickAction:
    key: str
    label: str
    route: str = strawberry.field(description="The frontend route the button opens.")


@strawberry.type(
    name="HomePendingAttentions",
    description="Support conversations started in the 30-day window that are not finished "
    "(current status NEW, WAITING or IN_PROGRESS); total = new + waiting + inProgress.",
)
class HomePendingAttentions:
    total: int
    new: int
    waiting: int
    in_progress: int


@strawberry.type(
    name="HomeSatisfaction",
    description="The satisfaction index over conversations (commercial and support) started in "
    "the 30-day window, from the sentiment the platform's AI attaches to each conversation. "
    "Shares are of the rated conversations.",
)
class HomeSatisfaction:
    positive: int
    neutral: int
    negative: int
    rated: int = strawberry.field(description="positive + neutral + negative.")
    unrated: int = strawberry.field(description="Conversations of the window with no sentiment.")
    positive_share: float | None = strawberry.field(description="0..1; null when rated is 0.")
    neutral_share: float | None
    negative_share: float | None
    score: float | None = strawberry.field(
        description="(positive - negative) / rated, from -1 to 1; null when nothing is rated."
    )
