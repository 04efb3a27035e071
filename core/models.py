"""Tablero's data model (SPEC section 5).

Conventions, chosen for speed and portability between SQLite and PostgreSQL:

* Every table carries ``organization_id`` and it leads every primary key, foreign key and
  tenant index, so the schema can be sharded by tenant (Citus) and no query can forget it.
* Rows have an integer surrogate ``id`` (unique within the organization) and the
  ``external_id`` the platform sent (unique per organization and type).
* Instants are stored as UTC epoch seconds (``BIGINT``). Bucketing into the organization's
  local days, weeks, months, weekdays and hours is integer arithmetic in SQL (see
  :mod:`tablero.timeseries`), identical on both databases.
* Money is stored in ten-thousandths of the currency unit (``amount_e4``, ``BIGINT``): sums are
  exact on both databases and turned into :class:`decimal.Decimal` only at the edge.
* Columns marked *derived* are computed by Tablero at ingestion / refresh, never sent.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKeyConstraint, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

PROFILES = ("ADMIN", "OPERATOR", "VIEWER", "AGENT")
CHANNELS = (
    "WHATSAPP",
    "SMS",
    "EMAIL",
    "RCS",
    "FACEBOOK_MESSENGER",
    "INSTAGRAM",
    "WEBCHAT",
    "VOICE_CALL",
)
CONVERSATION_KINDS = ("COMMERCIAL", "SUPPORT")
STATUSES = ("NEW", "WAITING", "IN_PROGRESS", "CLOSED")
OPEN_STATUSES = ("NEW", "WAITING", "IN_PROGRESS")
SENTIMENTS = ("POSITIVE", "NEUTRAL", "NEGATIVE")
DIRECTIONS = ("INBOUND", "OUTBOUND")
SENDERS = ("CONTACT", "ADVISOR", "BOT", "CAMPAIGN", "SYSTEM")
MESSAGE_STATUSES = ("SENT", "DELIVERED", "READ", "CLICKED", "REPLIED", "FAILED")
CALL_OUTCOMES = ("ACCEPTED", "REJECTED")
# Channels on which a human outbound message is an "effective contact" (SPEC 6.3).
EFFECTIVE_MESSAGE_CHANNELS = ("WHATSAPP", "FACEBOOK_MESSENGER", "EMAIL", "SMS")

MONEY_SCALE = 10_000  # amount_e4 = amount * MONEY_SCALE


def _epoch(nullable: bool = False, index: bool = False):
    return Field(default=None, sa_column=Column(BigInteger, nullable=nullable, index=index))


def _ref(name: str, target: str, nullable: bool = True) -> ForeignKeyConstraint:
    """A tenant-leading composite foreign key ``(organization_id, name) -> target``.

    The records carry them, except ``message`` (migration 0017); the derived facts written by
    ``tablero.derived`` carry none (0018): on PostgreSQL a key is a trigger per written row, and
    ingestion checks every reference itself (``docs/architecture.md``)."""
    return ForeignKeyConstraint(
        ["organization_id", name],
        [f"{target}.organization_id", f"{target}.id"],
        name=f"fk_%(table_name)s_{name}",
    )


class Organization(SQLModel, table=True):
    __tablename__ = "organization"
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True, max_length=64)
    name: str
    timezone: str = "America/Sao_Paulo"
    created_at: int = Field(sa_column=Column(BigInteger, nullable=False))
    # derived: when the derived facts were last brought up to date
    refreshed_at: int | None = _epoch(nullable=True)


class User(SQLModel, table=True):
    """A person (advisor) or bot of the organization."""

    __tablename__ = "app_user"
    __table_args__ = (UniqueConstraint("organization_id", "external_id"),)
    organization_id: int = Field(primary_key=True, foreign_key="organization.id")
    id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    external_id: str
    name: str
    email: str | None = None
    profile: str = "AGENT"
    is_bot: bool = False


class ContactGroup(SQLModel, table=True):
    """A team that leads enter."""

    __tablename__ = "contact_group"
    __table_args__ = (UniqueConstraint("organization_id", "external_id"),)
    organization_id: int = Field(primary_key=True, foreign_key="organization.id")
    id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    external_id: str
    name: str


class ClosingReason(SQLModel, table=True):
    __tablename__ = "closing_reason"
    __table_args__ = (
        UniqueConstraint("organization_id", "external_id"),
        UniqueConstraint("organization_id", "name"),
    )
    organization_id: int = Field(primary_key=True, foreign_key="organization.id")
    id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    external_id: str
    name: str
    closes: bool = True
    archived: bool = False


class BusinessSchedule(SQLModel, table=True):
    """Weekly open intervals; ``advisor_id = 0`` is the organization's own schedule."""

    __tablename__ = "business_schedule"
    organization_id: int = Field(primary_key=True, foreign_key="organization.id")
    advisor_id: int = Field(default=0, primary_key=True, sa_column_kwargs={"autoincrement": False})
    timezone: str
    weekly_json: str  # {"1": [["09:00","18:00"]], ...} ISO weekday keys
    holiday_country: str | None = None
    holiday_subdiv: str | None = None


class Contact(SQLModel, table=True):
    __tablename__ = "contact"
    __table_args__ = (
        UniqueConstraint("organization_id", "external_id"),
        _ref("entry_group_id", "contact_group"),
        _ref("current_group_id", "contact_group"),
        _ref("first_contact_advisor_id", "app_user"),
        Index("ix_contact_org_created", "organization_id", "created_at"),
        Index("ix_contact_org_origin", "organization_id", "origin"),
        Index("ix_contact_org_state", "organization_id", "state"),
        Index("ix_contact_org_deleted", "organization_id", "deleted_at", "created_at"),
        # the group filters' contact lists (entry group; current group for the origins table)
        Index("ix_contact_org_entry_group", "organization_id", "entry_group_id"),
        Index("ix_contact_org_current_group", "organization_id", "current_group_id"),
        # a first-response median's bucket: its values in creation order
        Index("ix_contact_first_business", "organization_id", "first_business_bucket",
              "created_at", "first_contact_at", "first_contact_business_s"),
        Index("ix_contact_first_calendar", "organization_id", "first_calendar_bucket",
              "created_at", "first_contact_at", "first_contact_calendar_s"),
        # the origins table: the cohort created in a period, read from the index alone
        Index("ix_contact_org_created_origin", "organization_id", "created_at",
              "current_group_id", "origin", "deleted_at", "first_contact_at", "first_closed_at"),
        # the contacts answered after a past asOf, taken out of the first-response histogram
        Index("ix_contact_org_first_contact", "organization_id", "first_contact_at",
              "created_at", "first_business_bucket", "first_calendar_bucket"),
    )
    organization_id: int = Field(primary_key=True, foreign_key="organization.id")
    id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    external_id: str
    name: str | None = None
    phone: str | None = None
    origin: str | None = None
    entry_group_id: int | None = None
    current_group_id: int | None = None
    created_at: int = Field(sa_column=Column(BigInteger, nullable=False))
    deleted_at: int | None = _epoch(nullable=True)
    # derived: Brazilian state (UF) from the phone's DDD, null when unknown
    state: str | None = None
    # derived: the first effective contact by an advisor since the contact was created
    first_contact_at: int | None = _epoch(nullable=True)
    first_contact_advisor_id: int | None = None
    first_contact_calendar_s: int | None = _epoch(nullable=True)
    first_contact_business_s: int | None = _epoch(nullable=True)
    # derived: the local days (days since 1970-01-01) of created_at and deleted_at, as counted
    # in contact_day (kept so a changed contact's old days can be taken out of it)
    created_day: int | None = None
    deleted_day: int | None = None
    # derived: the duration buckets of first_contact_business_s / _calendar_s, as counted in
    # first_response_bucket (NULL: not answered)
    first_business_bucket: int | None = None
    first_calendar_bucket: int | None = None
    # derived: when the contact's first conversation closed (transferred, or a reason whose
    # stored ``closes`` is true)
    first_closed_at: int | None = _epoch(nullable=True)


NOT_DELETED = -1  # contact_day.deleted_day of the contacts not deleted


class FirstResponseBucket(SQLModel, table=True):
    """derived rollup: the answered contacts per (measure: 0 business / 1 calendar, local day of
    creation, duration bucket of the time to their first effective contact), the histogram the
    first-response medians start from; kept with ``contact_day`` (the stored buckets and days
    subtracted, the new ones added)."""

    __tablename__ = "first_response_bucket"
    __table_args__ = ({"sqlite_with_rowid": False},)
    organization_id: int = Field(primary_key=True)
    measure: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    created_day: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    bucket: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    contacts: int = Field(sa_column=Column(BigInteger, nullable=False))


class ContactDay(SQLModel, table=True):
    """derived rollup: contacts per local day of creation and of deletion (:data:`NOT_DELETED`
    when not deleted). The contact base at a local midnight is the rows created before it minus
    those also deleted before it: a few hundred rows instead of every contact. Kept up to date by
    subtracting a changed contact's stored days (``contact.created_day`` / ``deleted_day``) and
    adding its new ones."""

    __tablename__ = "contact_day"
    __table_args__ = ({"sqlite_with_rowid": False},)
    organization_id: int = Field(primary_key=True)
    created_day: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    deleted_day: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    contacts: int = Field(sa_column=Column(BigInteger, nullable=False))


class Campaign(SQLModel, table=True):
    """A mass send from the sending module, optionally part of a journey."""

    __tablename__ = "campaign"
    __table_args__ = (UniqueConstraint("organization_id", "external_id"),)
    organization_id: int = Field(primary_key=True, foreign_key="organization.id")
    id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    external_id: str
    name: str
    channel: str
    journey: str | None = None
    sent_at: int | None = _epoch(nullable=True)


class Conversation(SQLModel, table=True):
    __tablename__ = "conversation"
    __table_args__ = (
        UniqueConstraint("organization_id", "external_id"),
        _ref("contact_id", "contact"),
        _ref("advisor_id", "app_user"),
        _ref("transferred_to_id", "app_user"),
        _ref("closing_reason_id", "closing_reason"),
        Index("ix_conversation_org_started", "organization_id", "started_at"),
        Index("ix_conversation_org_closed", "organization_id", "closed_at"),
        Index("ix_conversation_org_contact", "organization_id", "contact_id"),
        Index("ix_conversation_org_advisor", "organization_id", "advisor_id"),
        # covering indexes of the reports' range scans (no table lookups per row)
        Index(
            "ix_conversation_org_started_cover",
            "organization_id", "started_at", "kind", "contact_id", "channel", "status",
            "sentiment", "advisor_id",
        ),
        Index(
            "ix_conversation_org_closed_cover",
            "organization_id", "closed_at", "closing_reason_id", "transferred_to_id",
            "contact_id", "advisor_id", "channel", "close_business_s", "close_calendar_s",
        ),
    )
    organization_id: int = Field(primary_key=True, foreign_key="organization.id")
    id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    external_id: str
    contact_id: int
    advisor_id: int | None = None
    kind: str
    channel: str
    status: str
    started_at: int = Field(sa_column=Column(BigInteger, nullable=False))
    closed_at: int | None = _epoch(nullable=True)
    closing_reason_id: int | None = None
    transferred_to_id: int | None = None
    sentiment: str | None = None
    # derived: first effective advisor contact in this conversation, and durations
    first_response_at: int | None = _epoch(nullable=True)
    first_response_calendar_s: int | None = _epoch(nullable=True)
    first_response_business_s: int | None = _epoch(nullable=True)
    close_calendar_s: int | None = _epoch(nullable=True)
    close_business_s: int | None = _epoch(nullable=True)
    # derived: the local hour the conversation started (days since 1970-01-01 * 24 + hour) and
    # its channel, as counted in conversation_hour (kept so a changed one is taken out exactly)
    started_hour: int | None = None
    counted_channel: str | None = None
    counted_kind: str | None = None  # the kind counted in conversation_hour.commercial


class ConversationHour(SQLModel, table=True):
    """derived rollup: conversations started per channel (or ``'*'``) and local hour
    (``day * 24 + hour``), and how many of them are commercial; the busiest-hours and the
    commercial heatmaps read a row per hour of the period."""

    __tablename__ = "conversation_hour"
    __table_args__ = ({"sqlite_with_rowid": False},)
    organization_id: int = Field(primary_key=True)
    channel: str = Field(primary_key=True)
    hour: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    conversations: int = Field(sa_column=Column(BigInteger, nullable=False))
    commercial: int = Field(sa_column=Column(BigInteger, nullable=False, server_default="0"))


class Message(SQLModel, table=True):
    # No database foreign keys (migration 0017): a row per message arrives, and on PostgreSQL
    # each key was a trigger per row. Ingestion resolves every reference within the
    # organization and rejects a batch with a dangling one; rows are never deleted.
    __tablename__ = "message"
    __table_args__ = (
        UniqueConstraint("organization_id", "external_id"),
        # covering for the outbound messages of a time range (direction), see migration 0014
        Index("ix_message_org_sent", "organization_id", "sent_at", "contact_id", "direction"),
        Index("ix_message_org_conversation", "organization_id", "conversation_id", "sent_at"),
        Index("ix_message_org_contact", "organization_id", "contact_id", "sent_at"),
        # (no index by campaign: nothing reads messages by their campaign, see migration 0019)
        # Partial covering indexes of the two message subsets the reports scan by period:
        # campaign sends (funnels, journeys) and effective contacts (interactions).
        Index(
            "ix_message_org_campaign_sends",
            "organization_id", "sent_at", "contact_id", "campaign_id", "status", "channel",
            sqlite_where=text("campaign_id IS NOT NULL AND direction = 'OUTBOUND'"),
            postgresql_where=text("campaign_id IS NOT NULL AND direction = 'OUTBOUND'"),
        ),
        Index(
            "ix_message_org_effective",
            "organization_id", "sent_at", "advisor_id", "contact_id", "channel", "effective",
            sqlite_where=text("effective = 1"),
            postgresql_where=text("effective"),
        ),
    )
    organization_id: int = Field(primary_key=True)
    id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    external_id: str
    contact_id: int
    conversation_id: int | None = None
    channel: str
    direction: str
    sender: str
    advisor_id: int | None = None
    campaign_id: int | None = None
    status: str | None = None
    sent_at: int = Field(sa_column=Column(BigInteger, nullable=False))
    call_outcome: str | None = None
    automatic: bool = False
    # derived: an effective contact by a human advisor (SPEC 6.3)
    effective: bool = False


class ResponseInterval(SQLModel, table=True):
    """derived: a contact wrote, an advisor answered (SPEC 6.3 response time), with the answer's
    local ``day`` and the duration buckets (:func:`tablero.duration_bucket_sql`) of both
    durations; the ``response_bucket`` histogram counts these rows."""

    __tablename__ = "response_interval"
    __table_args__ = (
        Index(
            "ix_response_interval_org_answered",
            "organization_id", "answered_at", "advisor_id", "channel", "contact_id",
            "calendar_s", "business_s",
        ),
        # a median's bucket: its values in answer order (the exact median is read from them)
        Index("ix_response_interval_business", "organization_id", "business_bucket",
              "answered_at", "channel", "business_s"),
        Index("ix_response_interval_calendar", "organization_id", "calendar_bucket",
              "answered_at", "channel", "calendar_s"),
    )
    organization_id: int = Field(primary_key=True)
    conversation_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    contact_id: int
    advisor_id: int | None = None
    channel: str
    asked_at: int = Field(sa_column=Column(BigInteger, nullable=False))
    answered_at: int = Field(sa_column=Column(BigInteger, nullable=False))
    calendar_s: int = Field(sa_column=Column(BigInteger, nullable=False))
    business_s: int = Field(sa_column=Column(BigInteger, nullable=False))
    day: int | None = None
    business_bucket: int | None = None
    calendar_bucket: int | None = None


class ResponseBucket(SQLModel, table=True):
    """derived rollup of ``response_interval``: answers per (measure: 0 business / 1 calendar,
    local day answered, channel, duration bucket), the histogram the response-time medians start
    from. Kept up to date by subtracting a conversation's replaced intervals and adding its new
    ones."""

    __tablename__ = "response_bucket"
    __table_args__ = ({"sqlite_with_rowid": False},)
    organization_id: int = Field(primary_key=True)
    measure: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    day: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    channel: str = Field(primary_key=True)
    bucket: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    answers: int = Field(sa_column=Column(BigInteger, nullable=False))


CAMPAIGN_PREVIOUS_DAYS = (
    "prev_rank1_day", "prev_rank2_day", "prev_rank3_day", "prev_rank4_day", "prev_journey_day"
)
CONVERSION_WINDOW_CAP = 90 * 86_400
"""The longest attribution window (seconds) a funnel may ask for: the partial index of the
converting sends holds the sends followed by a conversion within it."""
CONVERTING_SENDS = (
    f"(rank >= 4 OR next_event_at <= sent_at + {CONVERSION_WINDOW_CAP})"
)
"""SQL condition on ``campaign_send`` (unqualified columns): interacted (rank 4, clicked or
replied) or converted within :data:`CONVERSION_WINDOW_CAP`; written as is among a query's
conditions, it lets SQLite and PostgreSQL read ``ix_campaign_send_org_converting``."""


class CampaignSend(SQLModel, table=True):
    """derived: a campaign message (outbound, with a campaign) with what its contact did next:
    the start of their first commercial conversation and their first order at or after it
    (any time later; a funnel's attribution window and asOf bound them when it reads). One row
    per message, rebuilt per contact from its messages, conversations and orders; the period
    index covers every column, so the funnels read this table alone."""

    __tablename__ = "campaign_send"
    __table_args__ = (
        Index(
            "ix_campaign_send_org_sent",
            "organization_id", "sent_at", "contact_id", "campaign_id", "journey", "channel",
            "rank", "next_commercial_at", "next_event_at", *CAMPAIGN_PREVIOUS_DAYS,
        ),
        # the sends that can reach the funnels' last levels: interacted (clicked or replied) or
        # followed by a conversion within the longest attribution window (covering; a query
        # uses it by writing CONVERTING_SENDS among its conditions)
        Index(
            "ix_campaign_send_org_converting",
            "organization_id", "sent_at", "contact_id", "journey", "channel", "rank",
            "next_commercial_at", "next_event_at",
            sqlite_where=text(CONVERTING_SENDS),
            postgresql_where=text(CONVERTING_SENDS),
        ),
        # a contact's sends in time order, with what the tail of a window checks (covering)
        Index("ix_campaign_send_org_contact", "organization_id", "contact_id", "sent_at",
              "rank", "channel", "journey"),
        {"sqlite_with_rowid": False},
    )
    organization_id: int = Field(primary_key=True)
    message_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    contact_id: int
    campaign_id: int
    journey: str | None = None  # the campaign's, as counted in campaign_gap
    channel: str
    status: str | None = None
    rank: int  # CAMPAIGN_STATUS_RANK of the status (1: not delivered)
    sent_at: int = Field(sa_column=Column(BigInteger, nullable=False))
    day: int  # local day sent (days since 1970-01-01 in the organization's time zone)
    next_commercial_at: int | None = _epoch(nullable=True)
    next_order_at: int | None = _epoch(nullable=True)
    next_event_at: int | None = _epoch(nullable=True)  # the earlier of the two
    # the contact's previous local day (before this send's) with a send of status rank r or
    # beyond (prev_rank{r}_day; any channel), and with a send of the same journey track: the
    # part of asOf's day before asOf counts its contacts first in a window from its own rows
    prev_rank1_day: int | None = None
    prev_rank2_day: int | None = None
    prev_rank3_day: int | None = None
    prev_rank4_day: int | None = None
    prev_journey_day: int | None = None


# How far a campaign message got (SPEC 6.2): the stored status is the furthest one reached, so
# a READ message was delivered even without a DELIVERED record. SENT, FAILED and no status reach
# only the first level.
CAMPAIGN_STATUS_RANK: dict[str, int] = {
    "SENT": 1,
    "FAILED": 1,
    "DELIVERED": 2,
    "READ": 3,
    "CLICKED": 4,
    "REPLIED": 4,
}
CAMPAIGN_RANKS = (1, 2, 3, 4)
assert CAMPAIGN_STATUS_RANK["CLICKED"] == 4  # CONVERTING_SENDS writes it
NO_JOURNEY_TRACK = "j"  # campaign_gap.track of the campaigns without a journey
JOURNEY_TRACK_PREFIX = "j:"  # campaign_gap.track of a journey: the prefix and its name


class CampaignGap(SQLModel, table=True):
    """derived rollup of ``campaign_send``: per channel (or ``'*'``), track, local day and gap,
    the contacts whose sends of the track fall on that day, ``gap`` days after their previous
    day with one (capped at :data:`GAP_CAP`). A track is a status rank ``'1'``..``'4'`` (a send
    reaching it: :data:`CAMPAIGN_STATUS_RANK` at least that) or a journey (``'j:'`` + its name;
    ``'j'``: campaigns without one). A window ``[a, b)`` of days holds the distinct contacts
    ``SUM(contacts) WHERE a <= day < b AND gap > day - a`` (each contact's first day there),
    as :class:`ActivityGap` does; kept by subtracting a rebuilt contact's old cells and adding
    its new ones."""

    __tablename__ = "campaign_gap"
    __table_args__ = ({"sqlite_with_rowid": False},)
    organization_id: int = Field(primary_key=True)
    channel: str = Field(primary_key=True)
    track: str = Field(primary_key=True)
    day: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    gap: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    contacts: int = Field(sa_column=Column(BigInteger, nullable=False))


NO_ADVISOR = -1  # interaction.advisor_id of an effective contact without an advisor


class Interaction(SQLModel, table=True):
    """derived: a contact's distinct (local day, advisor, channel) with at least one effective
    contact (SPEC 6.3 interactions), rebuilt per contact from its effective messages; the
    ``interaction_day`` rollup counts them."""

    __tablename__ = "interaction"
    __table_args__ = ({"sqlite_with_rowid": False},)
    organization_id: int = Field(primary_key=True)
    contact_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    day: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    advisor_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    channel: str = Field(primary_key=True)


class InteractionDay(SQLModel, table=True):
    """derived rollup of ``interaction``: per channel (or ``'*'``: every channel, each (advisor,
    contact) once) and local day, the distinct (advisor, contact) pairs with an effective
    contact; kept by subtracting a rebuilt contact's old rows and adding its new ones."""

    __tablename__ = "interaction_day"
    __table_args__ = ({"sqlite_with_rowid": False},)
    organization_id: int = Field(primary_key=True)
    channel: str = Field(primary_key=True)
    day: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    interactions: int = Field(sa_column=Column(BigInteger, nullable=False))


class ContactActivity(SQLModel, table=True):
    """derived: one contact's activity on one local day (organization's time zone), per channel
    and for all channels together (``channel = '*'``).

    Maintained with the other derived facts (ingestion, ``tablero refresh``), so that distinct
    contact counts over a period ("reached", "interacted") read a row per contact and day instead
    of every message, and count without DISTINCT: a contact is counted on its *first* row of the
    period, the one whose ``prev_*_day`` (the contact's previous day with that activity, in the
    same channel) lies before the period or is null. See ``docs/architecture.md``. Days are
    local dates as days since 1970-01-01.
    """

    __tablename__ = "contact_activity"
    __table_args__ = (
        Index("ix_contact_activity_org_contact", "organization_id", "contact_id"),
        # PostgreSQL keeps rows in a heap in insertion order (here: by contact), so a range of
        # days would fetch rows all over it; this index carries every column the reports read,
        # for index-only scans. SQLite needs none: the table itself is its primary key's b-tree.
        Index(
            "ix_contact_activity_pg_days",
            "organization_id", "channel", "day",
            postgresql_include=[
                "contact_id", "messages", "outbound", "campaign", "commercial", "support",
                "state", "deleted", "prev_day", "prev_outbound_day", "prev_campaign_day",
                "prev_commercial_day", "prev_support_day",
            ],
        ).ddl_if(dialect="postgresql"),
        {"sqlite_with_rowid": False},
    )
    organization_id: int = Field(primary_key=True)
    channel: str = Field(primary_key=True)  # a channel, or '*' for all channels
    day: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    contact_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    messages: int = 0  # messages of any direction and sender
    outbound: int = 0  # outbound messages (campaigns, advisors, bots, system)
    campaign: int = 0  # outbound campaign messages
    commercial: int = 0  # commercial conversations started
    support: int = 0  # support conversations started
    # of the conversations started: by sentiment, and the support ones by open status
    positive: int = 0
    neutral: int = 0
    negative: int = 0
    support_new: int = 0
    support_waiting: int = 0
    support_in_progress: int = 0
    # the contact's state (UF) and whether it is deleted, copied when the rows are rebuilt (a
    # changed contact rebuilds them), so the geography of active contacts needs no join
    state: str | None = None
    deleted: bool = False
    # the contact's previous day (same channel) with any activity / outbound / campaign sends
    prev_day: int | None = None
    prev_outbound_day: int | None = None
    prev_campaign_day: int | None = None
    # ... and with a commercial / a support conversation started
    prev_commercial_day: int | None = None
    prev_support_day: int | None = None


# activity_gap's measures, by their number in its ``measure`` column; the last one is the first
# ("activity") counted per state
ACTIVITY_MEASURES = ("activity", "outbound", "campaign", "commercial", "support")
GAP_MEASURES = ACTIVITY_MEASURES + ("activity_by_state",)
BY_STATE = GAP_MEASURES.index("activity_by_state")
GAP_CAP = 186  # activity_gap.gap: days since the previous day, or this for "longer, or none"
ALL_STATES = "*"  # activity_gap.state of the rows over every state ('' : no known state)
ALL_CHANNELS = "*"  # the channel of a rollup's rows over every channel


class ActivityGap(SQLModel, table=True):
    """derived rollup of ``contact_activity``: per channel (or ``'*'``), measure (the number of
    its name in :data:`ACTIVITY_MEASURES`: any activity, outbound messages, campaign sends,
    commercial and support conversations started), local day and *gap* (days since the
    contact's previous day with that measure in that channel, capped at :data:`GAP_CAP`, which
    also stands for "no previous day"), the contacts with that measure that day, those of them
    not deleted (``live``) and the measure's sum (messages, outbound messages, campaign sends,
    conversations). ``state`` is :data:`ALL_STATES`, except in the rows of measure
    :data:`BY_STATE`: any activity again, per state (``''``: no known state), for the geography.

    A contact is in the distinct contacts of a window of local days ``[a, b)`` with ``b - a <=
    GAP_CAP`` exactly once, on its first day there: the day ``d`` whose gap is ``> d - a``. So
    such counts read O(days x gaps) rows, not a row per active contact and day. Kept up to date
    with ``contact_activity`` by subtracting the replaced rows and adding the new ones."""

    __tablename__ = "activity_gap"
    __table_args__ = (
        # PostgreSQL: index-only scans of a range of days (the heap is in insertion order)
        Index(
            "ix_activity_gap_pg_days",
            "organization_id", "channel", "measure", "day", "gap", "state",
            postgresql_include=["contacts", "live", "amount"],
        ).ddl_if(dialect="postgresql"),
        {"sqlite_with_rowid": False},
    )
    organization_id: int = Field(primary_key=True)
    channel: str = Field(primary_key=True)
    measure: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    day: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    gap: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    state: str = Field(primary_key=True)
    contacts: int = Field(sa_column=Column(BigInteger, nullable=False))
    live: int = Field(sa_column=Column(BigInteger, nullable=False))
    amount: int = Field(sa_column=Column(BigInteger, nullable=False))


CONVERSATION_DAY_COUNTS = (
    "commercial", "support", "positive", "neutral", "negative",
    "support_new", "support_waiting", "support_in_progress",
)


class ConversationDay(SQLModel, table=True):
    """derived rollup of ``contact_activity``: per channel (or ``'*'``) and local day, the
    conversations started: by kind, by sentiment, and the support ones by open status (the
    status they have now). Sums of the day's ``contact_activity`` rows, kept up to date with
    them by subtracting the replaced rows and adding the new ones; the attention series and
    distribution, pending attentions and satisfaction read a row per day."""

    __tablename__ = "conversation_day"
    __table_args__ = ({"sqlite_with_rowid": False},)
    organization_id: int = Field(primary_key=True)
    channel: str = Field(primary_key=True)
    day: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    commercial: int = Field(sa_column=Column(BigInteger, nullable=False))
    support: int = Field(sa_column=Column(BigInteger, nullable=False))
    positive: int = Field(sa_column=Column(BigInteger, nullable=False))
    neutral: int = Field(sa_column=Column(BigInteger, nullable=False))
    negative: int = Field(sa_column=Column(BigInteger, nullable=False))
    support_new: int = Field(sa_column=Column(BigInteger, nullable=False))
    support_waiting: int = Field(sa_column=Column(BigInteger, nullable=False))
    support_in_progress: int = Field(sa_column=Column(BigInteger, nullable=False))


class Ticket(SQLModel, table=True):
    __tablename__ = "ticket"
    __table_args__ = (
        UniqueConstraint("organization_id", "external_id"),
        _ref("contact_id", "contact"),
        Index("ix_ticket_org_opened", "organization_id", "opened_at"),
    )
    organization_id: int = Field(primary_key=True, foreign_key="organization.id")
    id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    external_id: str
    contact_id: int | None = None
    status: str
    opened_at: int = Field(sa_column=Column(BigInteger, nullable=False))
    closed_at: int | None = _epoch(nullable=True)


class SalesOrder(SQLModel, table=True):
    """An order from the ERP."""

    __tablename__ = "sales_order"
    __table_args__ = (
        UniqueConstraint("organization_id", "external_id"),
        _ref("contact_id", "contact"),
        Index("ix_sales_order_org_contact", "organization_id", "contact_id", "ordered_at"),
        Index("ix_sales_order_org_ordered", "organization_id", "ordered_at"),
    )
    organization_id: int = Field(primary_key=True, foreign_key="organization.id")
    id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    external_id: str
    contact_id: int
    amount_e4: int = Field(sa_column=Column(BigInteger, nullable=False))
    currency: str = "BRL"
    ordered_at: int = Field(sa_column=Column(BigInteger, nullable=False))


class CustomerOrders(SQLModel, table=True):
    """derived: one contact's orders in total (the success monitor's RFM scoring of a period
    that ends after the last order reads these instead of every order). Rebuilt per contact
    when one of its orders is ingested or replaced, and by ``tablero refresh``. ``currency`` and
    ``other_currency`` are the smallest and largest currency codes (equal: a single currency);
    ``last_day`` is the last order's local date (days since 1970-01-01, organization's time
    zone) and ``deleted`` a copy of the contact's deletion.
    """

    __tablename__ = "customer_orders"
    __table_args__ = (
        # the few contacts whose orders use several currencies
        Index(
            "ix_customer_orders_mixed", "organization_id", "deleted", "contact_id",
            sqlite_where=text("currency <> other_currency"),
            postgresql_where=text("currency <> other_currency"),
        ),
    )
    organization_id: int = Field(primary_key=True)
    contact_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    frequency: int
    last_order_at: int = Field(sa_column=Column(BigInteger, nullable=False))
    last_day: int
    total_e4: int = Field(sa_column=Column(BigInteger, nullable=False))
    currency: str
    other_currency: str
    deleted: bool = False


# a buyer_day's next_day when the contact has no later order (a large day, so "next_day > D"
# holds and the primary key needs no NULL)
NO_NEXT_DAY = 2**31 - 1


class OrderDay(SQLModel, table=True):
    """derived: one contact's orders on one local day in one currency, and the contact's next
    day with an order (any currency; :data:`NO_NEXT_DAY` if none). ``first_currency`` marks one row per
    contact and day (its smallest currency). Rebuilt per contact with ``customer_orders``; the
    two rollups below are sums over these rows, kept up to date by adding the new rows' sums and
    subtracting the replaced ones'."""

    __tablename__ = "order_day"
    __table_args__ = ({"sqlite_with_rowid": False},)
    organization_id: int = Field(primary_key=True)
    contact_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    day: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    currency: str = Field(primary_key=True)
    orders: int
    revenue_e4: int = Field(sa_column=Column(BigInteger, nullable=False))
    next_day: int
    first_currency: bool


class CustomerCell(SQLModel, table=True):
    """derived rollup: the ``customer_orders`` rows of single-currency contacts not deleted,
    counted per (last order day, frequency, currency) with their orders and revenue. The RFM
    scores depend only on a contact's cell, so the segment table as of now reads these few
    thousand rows instead of a row per buyer."""

    __tablename__ = "customer_cell"
    __table_args__ = ({"sqlite_with_rowid": False},)
    organization_id: int = Field(primary_key=True)
    last_day: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    frequency: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    currency: str = Field(primary_key=True)
    contacts: int = Field(sa_column=Column(BigInteger, nullable=False))
    orders: int = Field(sa_column=Column(BigInteger, nullable=False))
    revenue_e4: int = Field(sa_column=Column(BigInteger, nullable=False))


class OrderDayTotal(SQLModel, table=True):
    """derived rollup: the organization's orders and revenue per local day and currency (the
    success monitor's sales over whole days read O(days) rows)."""

    __tablename__ = "order_day_total"
    __table_args__ = ({"sqlite_with_rowid": False},)
    organization_id: int = Field(primary_key=True)
    day: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    currency: str = Field(primary_key=True)
    orders: int = Field(sa_column=Column(BigInteger, nullable=False))
    revenue_e4: int = Field(sa_column=Column(BigInteger, nullable=False))


class BuyerDay(SQLModel, table=True):
    """derived rollup: how many contacts ordered on ``day`` and next on ``next_day``. The buyers
    of a range of days ``[a, b]`` are the rows with ``day`` in it and ``next_day > b`` (each
    buyer's last order day in the range), and their recency sums ``b - day``."""

    __tablename__ = "buyer_day"
    __table_args__ = ({"sqlite_with_rowid": False},)
    organization_id: int = Field(primary_key=True)
    day: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    next_day: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    buyers: int = Field(sa_column=Column(BigInteger, nullable=False))


NO_PREVIOUS_DAY = -1


class CloseFact(SQLModel, table=True):
    """derived: a conversation closed with a row of the resolution table (``row_key``: 0 when
    transferred, the Assignments row; else its closing reason's id), on local ``day``, with the
    contact's previous close day in the same row (:data:`NO_PREVIOUS_DAY` if none; the same
    day for a second close that day) and the duration buckets (:func:`tablero.duration_bucket`)
    of its times to close (copied, with their values). Rebuilt per contact; the two rollups below are sums over these rows,
    kept up to date by adding the new rows' counts and subtracting the replaced ones'."""

    __tablename__ = "close_fact"
    __table_args__ = (
        Index("ix_close_fact_contact", "organization_id", "contact_id"),
        # a median's bucket: its values in day order (the exact median is read from them)
        Index("ix_close_fact_business", "organization_id", "row_key", "business_bucket", "day",
              "close_business_s"),
        Index("ix_close_fact_calendar", "organization_id", "row_key", "calendar_bucket", "day",
              "close_calendar_s"),
        {"sqlite_with_rowid": False},
    )
    organization_id: int = Field(primary_key=True)
    conversation_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    contact_id: int
    row_key: int
    day: int
    prev_day: int
    # closed (transferred, or a reason whose stored ``closes`` is true): the contact's previous
    # close day among its closed conversations (NO_PREVIOUS_DAY if none); NULL otherwise
    prev_closed_day: int | None = None
    close_business_s: int | None = _epoch(nullable=True)
    close_calendar_s: int | None = _epoch(nullable=True)
    business_bucket: int | None = None
    calendar_bucket: int | None = None


CLOSED_ROW_KEY = -1  # reason_close_day's row of the closed conversations (stored flags)


class ReasonCloseDay(SQLModel, table=True):
    """derived rollup: conversations closed per (row of the resolution table, local day, the
    contact's previous close day in that row). A row's distinct contacts over the days ``[a,
    b)`` are the conversations with ``day`` in it and ``prev_day < a`` (each contact's first
    close there). Row -1 counts the closed conversations (stored ``closes`` flags) by
    ``prev_closed_day``: the totals' distinct contacts."""

    __tablename__ = "reason_close_day"
    __table_args__ = ({"sqlite_with_rowid": False},)
    organization_id: int = Field(primary_key=True)
    day: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    row_key: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    prev_day: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    conversations: int = Field(sa_column=Column(BigInteger, nullable=False))


class ReasonCloseBucket(SQLModel, table=True):
    """derived rollup: conversations closed per (row, local day, measure: 0 business / 1
    calendar, duration bucket), the histogram exact medians start from."""

    __tablename__ = "reason_close_bucket"
    __table_args__ = ({"sqlite_with_rowid": False},)
    organization_id: int = Field(primary_key=True)
    measure: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    day: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    row_key: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    bucket: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    conversations: int = Field(sa_column=Column(BigInteger, nullable=False))


class PlanUsage(SQLModel, table=True):
    __tablename__ = "plan_usage"
    organization_id: int = Field(primary_key=True, foreign_key="organization.id")
    day: str = Field(primary_key=True, max_length=10)  # ISO date, organization's time zone
    channel: str = Field(primary_key=True)
    used: int = Field(sa_column=Column(BigInteger, nullable=False))
    quota: int = Field(sa_column=Column(BigInteger, nullable=False))


class OnboardingStep(SQLModel, table=True):
    __tablename__ = "onboarding_step"
    organization_id: int = Field(primary_key=True, foreign_key="organization.id")
    key: str = Field(primary_key=True)
    title: str
    position: int = 0
    done: bool = False
    done_at: int | None = _epoch(nullable=True)


class Automation(SQLModel, table=True):
    """An automation created for an RFM segment (success monitor)."""

    __tablename__ = "automation"
    organization_id: int = Field(primary_key=True, foreign_key="organization.id")
    id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    segment: str
    name: str
    created_by: str
    created_at: int = Field(sa_column=Column(BigInteger, nullable=False))
    segment_size: int


TENANT_TABLES = [
    User,
    ContactGroup,
    ClosingReason,
    BusinessSchedule,
    Contact,
    Campaign,
    Conversation,
    Message,
    CampaignSend,
    CampaignGap,
    ResponseInterval,
    ResponseBucket,
    Interaction,
    InteractionDay,
    ContactActivity,
    ActivityGap,
    ConversationDay,
    ConversationHour,
    ContactDay,
    FirstResponseBucket,
    CloseFact,
    ReasonCloseDay,
    ReasonCloseBucket,
    CustomerOrders,
    CustomerCell,
    OrderDay,
    OrderDayTotal,
    BuyerDay,
    Ticket,
    SalesOrder,
    PlanUsage,
    OnboardingStep,
    Automation,
]
