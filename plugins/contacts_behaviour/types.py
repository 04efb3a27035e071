"""GraphQL types of the contacts behaviour panel (names prefixed ``ContactsBehaviour``)."""

from __future__ import annotations

from datetime import date

import strawberry
from tablero import Comparison


@strawberry.type(
    description="Interaction blocks for the selected period, each compared with the previous "
    "period. Contact counts are distinct over the whole period."
)
class ContactsBehaviourInteractions:
    contact_base: Comparison = strawberry.field(
        description="Contacts registered by the end of the period and not deleted by then "
        "(group and origin filters apply; channel does not)."
    )
    reached_contacts: Comparison = strawberry.field(
        description="Distinct contacts sent at least one campaign message (an outbound message "
        "of a mass send) in the period. Date basis: messages sent in the period."
    )
    commercial_contacts: Comparison = strawberry.field(
        description="Distinct contacts with a commercial conversation started in the period."
    )
    support_contacts: Comparison = strawberry.field(
        description="Distinct contacts with a support conversation started in the period."
    )


@strawberry.type(description="One level of a funnel of distinct contacts.")
class ContactsBehaviourFunnelLevel:
    key: str
    label: str
    description: str
    contacts: int
    rate_of_first: float | None = strawberry.field(
        description="contacts / contacts of the first level (0..1); null when that is 0."
    )
    rate_of_previous: float | None = strawberry.field(
        description="contacts / contacts of the level above (0..1); 1 for the first level when "
        "it has contacts; null when the level above has none."
    )


@strawberry.type(
    description="Conversion funnel by message status: distinct contacts sent a campaign message "
    "in the period, and how far they got. Each level is a subset of the one above."
)
class ContactsBehaviourMessageFunnel:
    attribution_days: int
    levels: list[ContactsBehaviourFunnelLevel]


@strawberry.type(description="Reached contacts and those of them who then bought, for one journey.")
class ContactsBehaviourJourneyRow:
    journey: str | None = strawberry.field(
        description="The journey's name; null for campaigns outside any journey (and for the "
        "total row)."
    )
    label: str
    reached_contacts: int = strawberry.field(
        description="Distinct contacts sent a campaign message of this journey in the period."
    )
    commercial_contacts: int = strawberry.field(
        description="Of those, contacts who started a commercial conversation at or after one of "
        "those messages and within the attribution window."
    )
    conversion_rate: float | None = strawberry.field(
        description="commercialContacts / reachedContacts (0..1); null when none was reached."
    )


@strawberry.type(
    description="Funnel across journeys: contacts reached by the sending module, then those who "
    "started a commercial conversation in the sales module."
)
class ContactsBehaviourJourneyFunnel:
    attribution_days: int
    total: ContactsBehaviourJourneyRow = strawberry.field(
        description="All campaigns together (a contact reached by two journeys counts once)."
    )
    journeys: list[ContactsBehaviourJourneyRow] = strawberry.field(
        description="One row per journey, most reached first; campaigns without a journey last."
    )


@strawberry.type(description="One month of the base over time (organization's time zone).")
class ContactsBehaviourMonth:
    month: date = strawberry.field(description="First day of the month.")
    interacted_contacts: int = strawberry.field(
        description="Distinct contacts with a message sent or a conversation started that month."
    )
    new_contacts: int = strawberry.field(
        description="Contacts created that month (deleted ones included)."
    )
    contact_base: int = strawberry.field(
        description="Contacts created before the month's end and not deleted by then (for the "
        "current month: by the end of the period)."
    )
