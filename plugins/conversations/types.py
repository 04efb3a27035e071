"""GraphQL types of the figures of the new contacts and conversations report (SPEC 6.3).

Counts, series and heatmaps use the core's shared types (``Series``, ``Heatmap``,
``Comparison``); the types here are this panel's own, prefixed ``Conversations``.
"""

from __future__ import annotations

from datetime import date

import strawberry
from tablero import Comparison


@strawberry.type(
    name="ConversationsPeriod",
    description="The local days the report covers and the previous period it is compared with.",
)
class ConversationsPeriod:
    start: date
    end: date
    previous_start: date
    previous_end: date
    timezone: str


@strawberry.type(
    name="ConversationsFirstResponse",
    description="First response time. Date basis: contacts CREATED in the period (deleted "
    "ones included). For each of them, the time from its creation to the first effective "
    "contact by an advisor (a human outbound WhatsApp, Messenger, e-mail or SMS message, or a "
    "call accepted or rejected; bot replies and automatic welcome messages never count). "
    "Medians in seconds, each compared with the previous period. Contacts still unanswered at "
    "asOf are counted apart, never silently dropped.",
)
class ConversationsFirstResponse:
    business: Comparison = strawberry.field(
        description="Median seconds, counting only the answering advisor's business hours "
        "(holidays skipped)."
    )
    calendar: Comparison = strawberry.field(description="Median seconds, every second counted.")
    answered_contacts: int = strawberry.field(
        description="Contacts created in the period that got a first effective contact by asOf "
        "(the medians are over these)."
    )
    unanswered_contacts: int = strawberry.field(
        description="Contacts created in the period with no effective contact by asOf."
    )


@strawberry.type(
    name="ConversationsResponseTime",
    description="Response time. Date basis: answers GIVEN in the period. Each time a contact "
    "writes and an advisor answers, the time from the first unanswered contact message to the "
    "advisor's effective answer (a bot or automatic reply does not end the wait). Medians in "
    "seconds, each compared with the previous period.",
)
class ConversationsResponseTime:
    business: Comparison = strawberry.field(
        description="Median seconds within the answering advisor's business hours."
    )
    calendar: Comparison = strawberry.field(description="Median seconds, every second counted.")
    answers: int = strawberry.field(description="Advisor answers given in the period.")


@strawberry.type(
    name="ConversationsOriginRow",
    description="One origin's cohort: the contacts CREATED in the period that came from it, "
    "deleted ones excluded.",
)
class ConversationsOriginRow:
    origin: str | None = strawberry.field(
        description="Where the contacts came from; null for contacts without an origin."
    )
    new_contacts: int = strawberry.field(description="Contacts of the cohort.")
    engaged: int = strawberry.field(
        description="Of those, contacts that got a first effective contact from an advisor "
        "(by asOf) — 'entabladas'."
    )
    closed: int = strawberry.field(
        description="Of those, contacts with at least one closed conversation (closed with a "
        "reason that closes, or transferred; by asOf)."
    )
