"""Tablero's public API: everything a panel plugin needs, and nothing it should not touch.

Plugins import from here only (``from tablero import hookimpl, Requires, ReportFiltersInput``).
"""

from .activity import (
    AttentionDistribution,
    DailyVolume,
    Geography,
    StateCount,
    active_contacts,
    activity_gaps,
    attention_contacts,
    attention_distribution,
    attentions_series,
    contact_activity,
    contact_base_at,
    contacts_created_before,
    conversation_counts,
    conversation_days,
    conversation_heatmap,
    daily_volume,
    first_in_gaps,
    first_in_window,
    gaps_apply,
    geography,
    interacting_contacts,
    interacting_geography,
    sends_series,
)
from .auth import Principal
from .campaigns import (
    CampaignReach,
    campaign_gaps_apply,
    campaign_rank,
    campaign_reach,
)
from .closing import (
    ClosingReasonRule,
    ReasonInfo,
    closed_condition,
    organization_reasons,
)
from .context import OrgInfo, TableroContext, Viewer
from .csv_export import CsvSection, format_duration
from .errors import BadUserInput, Forbidden, NotFound, StartupError, TableroError, Unauthenticated
from .filters import Channel, ReportFilters, ReportFiltersInput, resolve_filters
from .geo import STATES, UNKNOWN_STATE
from .hookspecs import hookimpl, hookspec
from .models import (
    ALL_CHANNELS,
    CAMPAIGN_RANKS,
    CAMPAIGN_STATUS_RANK,
    CHANNELS,
    CLOSED_ROW_KEY,
    CONVERSION_WINDOW_CAP,
    CONVERTING_SENDS,
    MONEY_SCALE,
    NO_ADVISOR,
    NO_NEXT_DAY,
    NO_PREVIOUS_DAY,
    OPEN_STATUSES,
    PROFILES,
    ActivityGap,
    Automation,
    BusinessSchedule,
    BuyerDay,
    Campaign,
    CampaignGap,
    CampaignSend,
    CloseFact,
    ClosingReason,
    Contact,
    ContactActivity,
    ContactDay,
    ContactGroup,
    Conversation,
    ConversationDay,
    ConversationHour,
    CustomerCell,
    CustomerOrders,
    FirstResponseBucket,
    Interaction,
    InteractionDay,
    Message,
    OnboardingStep,
    OrderDay,
    OrderDayTotal,
    Organization,
    PlanUsage,
    ReasonCloseBucket,
    ReasonCloseDay,
    ResponseBucket,
    ResponseInterval,
    SalesOrder,
    Ticket,
    User,
)
from .periods import (
    DateRange,
    Period,
    PeriodInput,
    PeriodPreset,
    local_midnight,
    resolve_period,
    trailing_days,
)
from .permissions import Requires, check_capability
from .quick_actions import QuickAction
from .sql import (
    bucket_bounds,
    duration_bucket_sql,
    duration_buckets,
    histogram_medians,
    median,
    table_alias,
)
from .timeseries import (
    Comparison,
    Granularity,
    Heatmap,
    HeatmapCell,
    Series,
    bucket_index,
    bucket_starts,
    day_bucket_index,
    epoch_day,
    epoch_to_local,
    heatmap_cells,
    local_seconds,
    make_heatmap,
    make_series,
)

__all__ = [name for name in dir() if not name.startswith("_")]
