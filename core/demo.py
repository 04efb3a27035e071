"""Deterministic demo data for one organization (``tablero demo``).

:func:`generate` yields SPEC section 8 records (plain dicts, exactly as they would appear as NDJSON
lines) describing about a year of a Brazilian company's activity: users, advisors' schedules,
groups, campaigns with a delivery funnel, contacts, commercial and support conversations (bots,
automatic welcome messages, calls, transfers, every default closing reason), tickets, orders with a
spread of RFM behaviours, plan usage and onboarding steps. The records go through the ordinary
ingestion path, so the demo exercises exactly what production data does.

Design decisions (written down for report authors):

* Time runs on a wall clock in the organization's time zone: second ``w`` is ``w`` seconds after
  local midnight of the first day (``end`` minus 364 days). Timestamps are written with the zone's
  offset (``2026-11-03T14:05:00-03:00``). The *horizon* is the last instant with data: the clock
  (``now``, default the current time) when ``end`` is today, so "today" panels fill up during
  the day; 18:00 local on ``end`` when it is a past day, so the sequence depends only on scale,
  seed and ``end``. Nothing is ever dated after the horizon.
* Volume grows over the year: 12% of the contacts are an import on the first working days (the
  company's existing base), the others arrive at a rate that triples over the year, mostly on
  working days and hours (with evenings, nights, week-ends and the BR/SP holidays quieter).
  Contacts come back mostly within a few months of their creation.
* Streaming: contacts are simulated in blocks of :data:`BLOCK` contacts; each block yields its
  contacts, then their conversations, messages, tickets and orders, so every reference points to a
  record yielded earlier and memory stays bounded. Users, groups, the custom closing reason,
  schedules, onboarding steps and campaigns come first; plan usage (counted from the outbound
  messages actually generated over the last 60 days) comes last.
* A contact has at most one open conversation: its conversations are strictly sequential. A
  transfer closes the conversation (``closed_at`` = transfer instant, ``transferred_to`` set, no
  closing reason) and the receiving advisor's conversation starts at that same instant. A
  conversation closed with a reason that does not close (``esperando-visita``,
  ``esperando-recordatorio``) is sent with status ``CLOSED`` and ``closed_at`` (the moment the
  reason was set); often the contact is reactivated at the reminder, which starts a new
  conversation with the same advisor. Reports must count "closed" by the reason's ``closes`` flag
  (or a transfer), never by the status alone.
* Open conversations (``NEW`` = no human answer yet, ``IN_PROGRESS`` = the contact wrote last,
  ``WAITING`` = the advisor wrote last) are the ones still running at the horizon; some ``NEW``
  ones have no advisor yet.
  The last four days are not all dealt with: some conversations are left open, and a backlog of
  new ones has had no human answer.
* "Today" has activity up to the horizon; in addition a campaign is sent today (or yesterday if
  the horizon is before 01:00) and a few tickets are opened today.
* Plan usage: WHATSAPP, SMS and EMAIL, one record per day for the last 60 days (today included,
  partial); ``used`` counts the outbound messages generated that day on that channel (campaign,
  advisor, bot and automatic), ``quota`` is a fixed round number per channel near the 85th
  percentile of a day's use, so campaign days go over it.
* External ids: ``c-000001`` contacts, ``conv-0000001`` conversations, ``m-00000001`` messages,
  ``t-000001`` tickets, ``o-0000001`` orders, ``camp-0001`` campaigns, ``agent-01`` advisors,
  ``bot-01``/``bot-02`` bots; groups by slug (``vendas-sp``, ``suporte``, ...).
"""

from __future__ import annotations

import datetime as dt
import math
import random
from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from zoneinfo import ZoneInfo

import holidays as holidays_lib

__all__ = ["BLOCK", "DEMO_BOTS", "DEMO_USERS", "SCALES", "Scale", "generate"]


@dataclass(frozen=True)
class Scale:
    """Targets for one demo size (each is hit within about 10%)."""

    contacts: int
    messages: int  # campaign messages included
    conversations: int
    orders: int
    advisors: int = 10
    campaigns: int = 30


SCALES: dict[str, Scale] = {
    "tiny": Scale(200, 3_000, 500, 300, advisors=10, campaigns=12),
    "small": Scale(2_000, 30_000, 5_000, 3_000, advisors=10, campaigns=30),
    "medium": Scale(100_000, 2_000_000, 200_000, 100_000, advisors=50, campaigns=200),
    "large": Scale(1_000_000, 20_000_000, 2_000_000, 1_000_000, advisors=200, campaigns=600),
}

# (external id, name, profile): present at every scale. The server prints a token for the first
# user of each profile.
DEMO_USERS: list[tuple[str, str, str]] = [
    ("admin", "Ana Administradora", "ADMIN"),
    ("operator", "Otávio Operador", "OPERATOR"),
    ("viewer", "Vera Visualizadora", "VIEWER"),
    ("agent-01", "Bruna Carvalho", "AGENT"),
    ("agent-02", "Carlos Mendes", "AGENT"),
    ("agent-03", "Daniela Rocha", "AGENT"),
    ("agent-04", "Eduardo Lima", "AGENT"),
    ("agent-05", "Fernanda Alves", "AGENT"),
    ("agent-06", "Gustavo Pereira", "AGENT"),
    ("agent-07", "Helena Martins", "AGENT"),
    ("agent-08", "Igor Barbosa", "AGENT"),
    ("agent-09", "Juliana Costa", "AGENT"),
    ("agent-10", "Lucas Ribeiro", "AGENT"),
]
# (external id, name): bots are users with profile AGENT and is_bot true.
DEMO_BOTS: list[tuple[str, str]] = [("bot-01", "Bia (bot de vendas)"), ("bot-02", "Suporte Bot")]

# Contacts are simulated (and their records yielded) this many at a time.
BLOCK = 500

DAY = 86_400
HOUR = 3_600
MINUTE = 60

# fmt: off
_FIRST_NAMES = (
    "Ana", "Maria", "João", "José", "Pedro", "Paulo", "Lucas", "Gabriel", "Rafael", "Mateus",
    "Felipe", "Bruno", "Thiago", "Rodrigo", "Marcos", "Carla", "Juliana", "Fernanda", "Camila",
    "Larissa", "Beatriz", "Mariana", "Amanda", "Letícia", "Patrícia", "Aline", "Vanessa",
    "Renata", "Luiz", "Carlos", "Antônio", "Francisco", "Raimundo", "Sebastião", "Luana",
    "Sofia", "Alice", "Heloísa", "Valentina", "Enzo", "Miguel", "Davi", "Arthur", "Bernardo",
    "Gustavo", "Vinícius", "Leonardo", "Isabela", "Manuela", "Débora",
)
_LAST_NAMES = (
    "Silva", "Santos", "Oliveira", "Souza", "Rodrigues", "Ferreira", "Alves", "Pereira",
    "Lima", "Gomes", "Costa", "Ribeiro", "Martins", "Carvalho", "Almeida", "Lopes", "Soares",
    "Fernandes", "Vieira", "Barbosa", "Rocha", "Dias", "Nascimento", "Andrade", "Moreira",
    "Nunes", "Marques", "Machado", "Mendes", "Freitas", "Cardoso", "Ramos", "Gonçalves",
    "Santana", "Teixeira",
)

# DDD -> weight (roughly population and business activity; SP, RJ and MG first). All 67 DDDs.
_DDD_WEIGHTS: dict[int, float] = {
    11: 22, 12: 1.6, 13: 1.8, 14: 1.2, 15: 1.4, 16: 1.4, 17: 1.2, 18: 0.9, 19: 3.2,
    21: 9, 22: 1.1, 24: 1.1, 27: 1.8, 28: 0.4,
    31: 5.5, 32: 0.9, 33: 0.6, 34: 1.1, 35: 1.0, 37: 0.5, 38: 0.6,
    41: 3.2, 42: 0.6, 43: 0.9, 44: 0.7, 45: 0.6, 46: 0.3, 47: 1.6, 48: 1.3, 49: 0.6,
    51: 3.2, 53: 0.6, 54: 0.8, 55: 0.5,
    61: 3.0, 62: 1.9, 64: 0.5, 63: 0.4, 65: 0.8, 66: 0.4, 67: 0.8, 68: 0.2, 69: 0.4,
    71: 2.5, 73: 0.6, 74: 0.4, 75: 0.7, 77: 0.4, 79: 0.7,
    81: 2.4, 87: 0.5, 82: 0.8, 83: 0.8, 84: 0.8, 85: 2.2, 88: 0.6, 86: 0.6, 89: 0.3,
    91: 1.2, 93: 0.3, 94: 0.3, 92: 1.0, 97: 0.2, 95: 0.2, 96: 0.2, 98: 0.6, 99: 0.4,
}
_SOUTH = {41, 42, 43, 44, 45, 46, 47, 48, 49, 51, 53, 54, 55}
_SOUTHEAST = {21, 22, 24, 27, 28, 31, 32, 33, 34, 35, 37, 38}
_CENTER_WEST = {61, 62, 64, 65, 66, 67}

_BROKEN_PHONES = ("12345", "+55 00", "", "0800", "+55119", "(11) 9", "n/a", "+5511")
# Valid foreign numbers (country prefix, national-number maker).
_FOREIGN = (
    ("+1", lambda r: f"{r.choice((212, 305, 415, 646, 617, 702))}{r.randrange(2, 10)}"
     f"{r.randrange(10**6):06d}"),
    ("+351", lambda r: f"9{r.choice((1, 2, 3, 6))}{r.randrange(10**7):07d}"),
    ("+54", lambda r: f"911{r.randrange(2, 8)}{r.randrange(10**7):07d}"),
    ("+34", lambda r: f"6{r.randrange(10**8):08d}"),
    ("+598", lambda r: f"9{r.randrange(1, 10)}{r.randrange(10**6):06d}"),
    ("+595", lambda r: f"9{r.choice((81, 82, 83, 84, 85, 91, 92, 93, 94, 95, 71, 72, 73))}"
     f"{r.randrange(10**6):06d}"),
)

_GROUPS: list[tuple[str, str]] = [
    ("vendas-sp", "Vendas São Paulo"),
    ("vendas-sudeste", "Vendas Sudeste"),
    ("vendas-sul", "Vendas Sul"),
    ("vendas-centro-oeste", "Vendas Centro-Oeste"),
    ("vendas-norte-nordeste", "Vendas Norte e Nordeste"),
    ("e-commerce", "E-commerce"),
    ("corporativo", "Corporativo"),
    ("suporte", "Suporte"),
    ("pos-venda", "Pós-venda"),
]
_SALES_GROUPS = [g for g, _ in _GROUPS[:7]]

# origin -> (weight, the contact writes first when created)
_ORIGINS: dict[str | None, tuple[float, bool]] = {
    "Facebook Ads": (22, True),
    "Google": (16, True),
    "Instagram": (14, True),
    "Site": (14, True),
    "Indicação": (10, False),
    "WhatsApp": (8, True),
    "Evento": (5, False),
    "Importação": (4, False),
    "LinkedIn": (3, False),
    None: (4, True),
}

CUSTOM_REASON = ("cliente-duplicado", "Cliente duplicado")
# closing reason -> weight, for commercial and for support conversations.
_REASONS_COMMERCIAL = {
    "venta": 18, "no-interesado": 19, "esperando-respuesta": 13, "inactivo": 13,
    "sin-stock": 6, "datos-incorrectos": 5, "esperando-visita": 8, "esperando-recordatorio": 8,
    "cliente-duplicado": 3,
}
_REASONS_SUPPORT = {
    "esperando-respuesta": 28, "inactivo": 24, "venta": 4, "no-interesado": 6, "sin-stock": 5,
    "datos-incorrectos": 9, "esperando-visita": 6, "esperando-recordatorio": 11,
    "cliente-duplicado": 4,
}
_SNOOZE_REASONS = frozenset(("esperando-visita", "esperando-recordatorio"))
# Median seconds from the last message to the closing, per reason.
_CLOSE_DELAY = {
    "venta": 25 * MINUTE, "no-interesado": 40 * MINUTE, "esperando-respuesta": 20 * HOUR,
    "inactivo": 2 * DAY, "sin-stock": 30 * MINUTE, "datos-incorrectos": 15 * MINUTE,
    "esperando-visita": 30 * MINUTE, "esperando-recordatorio": 45 * MINUTE,
    "cliente-duplicado": 10 * MINUTE,
}
# Sentiment weights (POSITIVE, NEUTRAL, NEGATIVE) per outcome; about 55/30/15 overall.
_SENTIMENT = {
    "venta": (80, 17, 3), "no-interesado": (30, 42, 28), "inactivo": (42, 45, 13),
    "sin-stock": (30, 35, 35), "datos-incorrectos": (40, 40, 20), None: (58, 28, 14),
}

_CONVERSATION_CHANNELS = {
    "WHATSAPP": 74, "INSTAGRAM": 7, "FACEBOOK_MESSENGER": 6, "WEBCHAT": 6, "EMAIL": 3, "SMS": 2,
    "VOICE_CALL": 2,
}
_CAMPAIGN_CHANNELS = {"WHATSAPP": 70, "SMS": 12, "EMAIL": 12, "RCS": 6}
_PLAN_CHANNELS = ("WHATSAPP", "SMS", "EMAIL")
_PLAN_DAYS = 60

_CAMPAIGN_NAMES = (
    "Promoção relâmpago", "Lançamento coleção", "Reativação de clientes", "Boas-vindas",
    "Carrinho abandonado", "Pesquisa de satisfação", "Cupom de aniversário", "Frete grátis",
    "Black Friday", "Semana do consumidor", "Dia das Mães", "Dia dos Pais", "Natal",
    "Liquidação de verão", "Convite para evento", "Novidades do mês", "Oferta exclusiva VIP",
    "Lembrete de pagamento", "Volta às aulas", "Aniversário da loja",
)
_JOURNEYS = (
    "Jornada de boas-vindas", "Reengajamento", "Recuperação de carrinho", "Pós-venda",
    "Nutrição de leads",
)

# Hour-of-day weights: weekday, Saturday, Sunday/holiday.
_HOURS_WEEKDAY = (
    (0, 3), (1, 2), (2, 1), (3, 1), (4, 1), (5, 2), (6, 4), (7, 10), (8, 40), (9, 70), (10, 75),
    (11, 70), (12, 45), (13, 55), (14, 70), (15, 70), (16, 65), (17, 55), (18, 35), (19, 25),
    (20, 22), (21, 18), (22, 10), (23, 6),
)
_HOURS_SATURDAY = (
    (0, 4), (1, 3), (2, 1), (3, 1), (4, 1), (5, 1), (6, 3), (7, 8), (8, 30), (9, 45), (10, 50),
    (11, 45), (12, 25), (13, 15), (14, 14), (15, 14), (16, 13), (17, 12), (18, 12), (19, 12),
    (20, 12), (21, 10), (22, 8), (23, 6),
)
_HOURS_SUNDAY = (
    (0, 5), (1, 3), (2, 1), (3, 1), (4, 1), (5, 1), (6, 2), (7, 4), (8, 7), (9, 10), (10, 14),
    (11, 15), (12, 12), (13, 12), (14, 13), (15, 14), (16, 14), (17, 15), (18, 17), (19, 20),
    (20, 22), (21, 18), (22, 12), (23, 8),
)
_DAY_WEIGHT = {0: 1.0, 1: 0.55, 2: 0.3}  # weekday, Saturday, Sunday/holiday
_GROWTH = 1.5  # the last day sees 1 + _GROWTH times more new contacts than the first
# The company imported its existing base when it joined (the first working days of the period).
_IMPORT_SHARE = 0.12
# Returning contacts: most come back within months of their creation (an exponential delay with
# this mean), the rest at any time in their life.
_RETURN_DELAY = 100 * DAY
_RETURN_ANYTIME = 0.3

_ORG_WEEKLY = {str(d): [["08:00", "18:00"]] for d in range(1, 6)} | {"6": [["08:00", "12:00"]]}
# advisor external id -> weekly schedule of their own
_ADVISOR_WEEKLY = {
    "agent-03": {str(d): [["12:00", "21:00"]] for d in range(1, 6)} | {"6": [["09:00", "13:00"]]},
    "agent-07": {str(d): [["22:00", "06:00"]] for d in (7, 1, 2, 3, 4)},
    "agent-09": {str(d): [["09:00", "12:00"], ["13:00", "18:00"]] for d in range(2, 7)},
}
_HOLIDAYS = {"country": "BR", "subdiv": "SP"}

# RFM behaviours of buyers: name -> (minimum contact age in days, order count range,
# days ago of the last order (range), days spanned by the earlier orders, frequent?)
_BEHAVIOURS = {
    "champion": (30, (6, 20), (0, 7), 240, True),
    "loyal": (60, (4, 8), (8, 45), 200, True),
    "cant-lose": (210, (6, 15), (120, 200), 160, True),
    "at-risk": (150, (3, 5), (100, 200), 120, False),
    "potential": (20, (2, 3), (0, 25), 60, False),
    "recent": (0, (1, 1), (0, 10), 0, False),
    "promising": (40, (1, 3), (20, 60), 60, False),
    "hibernating": (120, (1, 2), (150, 330), 60, False),
}
_BEHAVIOUR_WEIGHTS = {
    "champion": 8, "loyal": 7, "cant-lose": 5,
    "at-risk": 10, "potential": 12, "recent": 18, "promising": 18, "hibernating": 22,
}
# fmt: on


def _pool(weights: dict, size: int = 200) -> list:
    """A list where each key appears in proportion to its weight: ``pool[int(random() * len)]``
    is a weighted choice for the price of one random number."""
    total = sum(weights.values())
    out: list = []
    for key, weight in weights.items():
        out.extend([key] * max(1, round(size * weight / total)))
    return out


@cache
def _hms() -> tuple[str, ...]:
    return tuple(
        f"{h:02d}:{m:02d}:{s:02d}" for h in range(24) for m in range(60) for s in range(60)
    )


def _offset_text(offset: dt.timedelta) -> str:
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    minutes = abs(minutes)
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def _parse_hhmm(text: str) -> int:
    h, m = text.split(":")
    return int(h) * HOUR + int(m) * MINUTE


class _Schedule:
    """A weekly schedule unrolled into absolute open intervals (wall seconds) over the period."""

    def __init__(self, weekly: dict, first_weekday: int, days: int, closed_days: set[int]):
        spans: list[tuple[int, int]] = []
        for d in range(-1, days + 10):
            if d in closed_days:
                continue
            weekday = (first_weekday - 1 + d) % 7 + 1
            for start, end in weekly.get(str(weekday), ()):
                a, b = _parse_hhmm(start), _parse_hhmm(end)
                if b <= a:  # overnight: ends the next day
                    b += DAY
                spans.append((d * DAY + a, d * DAY + b))
        spans.sort()
        merged: list[list[int]] = []
        for a, b in spans:
            if merged and a <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], b)
            else:
                merged.append([a, b])
        self.starts = [a for a, _ in merged]
        self.ends = [b for _, b in merged]


class _Demo:
    def __init__(
        self,
        scale: str,
        seed: int,
        end: dt.date | None,
        timezone: str,
        now: dt.datetime | None,
    ):
        try:
            self.scale = SCALES[scale]
        except KeyError:
            raise ValueError(
                f"unknown scale {scale!r}; choose one of {', '.join(SCALES)}"
            ) from None
        self.rng = rng = random.Random(f"tablero-demo/{scale}/{seed}")
        self.timezone = timezone
        tz = ZoneInfo(timezone)
        clock = (now.astimezone(tz) if now is not None else dt.datetime.now(tz)).replace(
            microsecond=0
        )
        if end is None:
            end = clock.date()
        elif end > clock.date():
            raise ValueError(f"end {end} is after today ({clock.date()} in {timezone})")
        if end == clock.date():
            horizon_local = clock.replace(tzinfo=None)
        else:  # a past day: up to a fixed hour, so the sequence does not depend on the clock
            horizon_local = dt.datetime.combine(end, dt.time(18, 0))
        self.days = days = 365
        self.start = start = end - dt.timedelta(days=days - 1)
        self.last_day = days - 1
        self.H = H = max(
            0,
            (horizon_local.date() - start).days * DAY
            + (horizon_local.hour * HOUR + horizon_local.minute * MINUTE + horizon_local.second),
        )
        self.htod = H - self.last_day * DAY  # seconds of the last day that have data

        self._setup_clock(tz)
        self._setup_days()
        self._setup_people()
        self._setup_campaigns()
        self._setup_parameters()

        # today's tickets (the home page's "tickets opened today")
        n = self.scale.contacts
        self.today_tickets = set(rng.sample(range(1, n + 1), min(n, max(3, n // 700))))
        self.plan_counts: dict[tuple[int, str], int] = {}
        self.plan_cut = max(0, days - _PLAN_DAYS) * DAY
        self.n_conv = self.n_msg = self.n_order = self.n_ticket = self.buyers = 0
        self.behaviour_phase = rng.random()

    # --- clock -----------------------------------------------------------------------------
    def _setup_clock(self, tz: ZoneInfo) -> None:
        hms = _hms()
        prefixes: list[str] = []
        offsets: list[str] = []
        slow: set[int] = set()
        for d in range(self.days + 1):
            day = self.start + dt.timedelta(days=d)
            prefixes.append(day.isoformat() + "T")
            probes = {
                dt.datetime.combine(day, dt.time(h), tz).utcoffset() for h in (0, 6, 12, 18, 23)
            }
            probes.add(dt.datetime.combine(day, dt.time(23, 59, 59), tz).utcoffset())
            offsets.append(_offset_text(next(iter(probes))))
            if len(probes) > 1:  # a daylight-saving transition: format exactly
                slow.add(d)
        start = self.start

        def ts(w: int) -> str:
            d = w // DAY
            return prefixes[d] + hms[w - d * DAY] + offsets[d]

        def ts_checked(w: int) -> str:
            d = w // DAY
            if d in slow:
                r = w - d * DAY
                moment = dt.datetime.combine(
                    start + dt.timedelta(days=d),
                    dt.time(r // HOUR, r % HOUR // MINUTE, r % MINUTE),
                    tz,
                )
                return moment.isoformat()
            return prefixes[d] + hms[w - d * DAY] + offsets[d]

        self.ts = ts_checked if slow else ts

    def _setup_days(self) -> None:
        first = self.start.isoweekday()
        years = range(self.start.year, self.start.year + 3)
        cal = holidays_lib.country_holidays("BR", subdiv="SP", years=years)
        self.holidays = {
            d for d in range(-1, self.days + 10) if self.start + dt.timedelta(days=d) in cal
        }
        # day type: 0 weekday, 1 Saturday, 2 Sunday or holiday
        self.day_type = []
        for d in range(self.days):
            weekday = (first - 1 + d) % 7 + 1
            kind = 2 if weekday == 7 or d in self.holidays else (1 if weekday == 6 else 0)
            self.day_type.append(kind)
        self.hour_pools = [
            _pool(dict(_HOURS_WEEKDAY), 400),
            _pool(dict(_HOURS_SATURDAY), 400),
            _pool(dict(_HOURS_SUNDAY), 400),
        ]
        # the share of the last day's activity that happens before the horizon
        pool = self.hour_pools[self.day_type[self.last_day]]
        last_share = sum(1 for h in pool if h * HOUR < self.htod) / len(pool)
        cum = []
        total = 0.0
        for d in range(self.days):
            weight = (1 + _GROWTH * d / (self.days - 1)) * _DAY_WEIGHT[self.day_type[d]]
            if d == self.last_day:
                weight *= max(last_share, 0.02)
            total += weight
            cum.append(total)
        self.cum = cum
        self.first_weekday = first
        self.import_days = [d for d in range(10) if self.day_type[d] == 0][:3]

    def _tod(self, d: int) -> int:
        pool = self.hour_pools[self.day_type[d]]
        rnd = self.rng.random
        return pool[int(rnd() * len(pool))] * HOUR + int(rnd() * HOUR)

    def _moment_in_day(self, d: int) -> int:
        tod = self._tod(d)
        if d == self.last_day and tod > self.htod:
            for _ in range(8):
                tod = self._tod(d)
                if tod <= self.htod:
                    break
            else:
                tod = int(self.rng.random() * (self.htod + 1))
        return d * DAY + tod

    def _creation_day(self, q: float) -> int:
        """The day at quantile ``q`` of contact creations: an import at the start, then
        growing."""
        if q < _IMPORT_SHARE:
            return self.import_days[int(q / _IMPORT_SHARE * len(self.import_days))]
        q = (q - _IMPORT_SHARE) / (1 - _IMPORT_SHARE)
        return min(bisect_left(self.cum, q * self.cum[-1]), self.last_day)

    def _created_at(self, q: float) -> int:
        d = self._creation_day(q)
        if q < _IMPORT_SHARE:
            return min(d * DAY + 9 * HOUR + int(self.rng.random() * 8 * HOUR), self.H)
        return self._moment_in_day(d)

    def _return_moment(self, c: int, L: int) -> int | None:
        """When a contact created at ``c`` comes back (None: not before ``L``)."""
        rnd = self.rng.random
        for _ in range(3):
            if rnd() < _RETURN_ANYTIME:
                w = c + int(rnd() * (L - c))
            else:
                w = c + int(self.rng.expovariate(1 / _RETURN_DELAY))
            if w > L:
                return None
            d = w // DAY
            if rnd() < _DAY_WEIGHT[self.day_type[d]]:
                w = self._moment_in_day(d)
                return w if c <= w <= L else None
        return None

    def _moment_between(self, lo: int, hi: int) -> int:
        """A moment in [lo, hi] following the activity profile."""
        if hi <= lo:
            return lo
        cum = self.cum
        d0, d1 = lo // DAY, min(hi // DAY, self.last_day)
        base = cum[d0 - 1] if d0 > 0 else 0.0
        x = base + self.rng.random() * (cum[d1] - base)
        d = min(max(bisect_left(cum, x, d0, d1 + 1), d0), d1)
        for _ in range(4):
            w = self._moment_in_day(d)
            if lo <= w <= hi:
                return w
        return lo + int(self.rng.random() * (hi - lo))

    # --- people, groups, schedules ----------------------------------------------------------
    def _setup_people(self) -> None:
        rng = self.rng
        n_adv = max(self.scale.advisors, 10)
        advisors = [(uid, name) for uid, name, profile in DEMO_USERS if profile == "AGENT"]
        used_names = {name for _, name in advisors}
        while len(advisors) < n_adv:
            name = f"{rng.choice(_FIRST_NAMES)} {rng.choice(_LAST_NAMES)}"
            if name in used_names:
                name = f"{name} {len(advisors) + 1}"
            used_names.add(name)
            advisors.append((f"agent-{len(advisors) + 1:02d}", name))
        self.advisors = advisors
        closed = self.holidays
        org = _Schedule(_ORG_WEEKLY, self.first_weekday, self.days, closed)
        own = {
            uid: _Schedule(w, self.first_weekday, self.days, closed)
            for uid, w in _ADVISOR_WEEKLY.items()
        }
        self.schedule_of = [own.get(uid, org) for uid, _ in advisors]
        # roles: 30% support, the rest sales spread over the sales groups
        n_support = max(2, round(len(advisors) * 0.3))
        self.support_advisors = list(range(len(advisors) - n_support, len(advisors)))
        self.sales_advisors = list(range(len(advisors) - n_support))
        self.sales_by_group: dict[str, list[int]] = {g: [] for g in _SALES_GROUPS}
        for k, a in enumerate(self.sales_advisors):
            self.sales_by_group[_SALES_GROUPS[k % len(_SALES_GROUPS)]].append(a)
        for g, members in self.sales_by_group.items():
            if not members:
                self.sales_by_group[g] = self.sales_advisors

        self.ddds = list(_DDD_WEIGHTS)
        cum = []
        total = 0.0
        for ddd in self.ddds:
            total += _DDD_WEIGHTS[ddd]
            cum.append(total)
        self.ddd_cum = [c / total for c in cum]
        self.origin_pool = _pool({k: v[0] for k, v in _ORIGINS.items()}, 400)
        self.channel_pool = _pool(_CONVERSATION_CHANNELS, 200)
        self.reason_pools = {
            "COMMERCIAL": _pool(_REASONS_COMMERCIAL, 400),
            "SUPPORT": _pool(_REASONS_SUPPORT, 400),
        }
        self.sentiment_pools = {
            k: _pool(dict(zip(("POSITIVE", "NEUTRAL", "NEGATIVE"), v, strict=True)), 100)
            for k, v in _SENTIMENT.items()
        }

    def _setup_campaigns(self) -> None:
        rng = self.rng
        n = self.scale.campaigns
        channel_pool = _pool(_CAMPAIGN_CHANNELS, 100)
        moments = []
        for j in range(n):
            d = min(bisect_left(self.cum, (j + rng.random()) / n * self.cum[-1]), self.last_day)
            while d > 0 and self.day_type[d] != 0:  # sends go out on working days
                d -= 1
            moments.append(
                d * DAY
                + rng.choice((9, 10, 10, 11, 14, 15, 16)) * HOUR
                + rng.randrange(0, HOUR, 300)
            )
        # one send today (or yesterday when today has barely started), so today's panels move
        if self.htod >= HOUR:
            moments[-1] = self.last_day * DAY + min(10 * HOUR, self.htod - HOUR)
        else:
            moments[-1] = (self.last_day - 1) * DAY + 15 * HOUR
        moments = [min(m, self.H) for m in moments]
        moments.sort()
        self.campaigns = []
        self.campaign_records = []
        for j, w in enumerate(moments):
            theme = _CAMPAIGN_NAMES[j % len(_CAMPAIGN_NAMES)]
            day = self.start + dt.timedelta(days=w // DAY)
            record = {
                "type": "campaign",
                "id": f"camp-{j + 1:04d}",
                "name": f"{theme} {day.strftime('%d/%m')}",
                "channel": channel_pool[int(rng.random() * len(channel_pool))],
                "sent_at": self.ts(w),
            }
            if rng.random() < 0.5:
                record["journey"] = rng.choice(_JOURNEYS)
            # a mass send takes a while to go out
            self.campaigns.append((w, record["id"], record["channel"], rng.randrange(5, 90) * 60))
            self.campaign_records.append(record)
        self.campaign_moments = [c[0] for c in self.campaigns]

    # --- calibration ------------------------------------------------------------------------
    def _setup_parameters(self) -> None:
        s = self.scale
        per_contact_conv = s.conversations / s.contacts
        # messages inside conversations: about 7.5 each at full scale, fewer when the
        # targets leave less room; campaign messages take the rest
        self.msgs_per_conv = min(7.5, 0.85 * s.messages / s.conversations)
        camp_per_contact = max(0.0, s.messages - self.msgs_per_conv * s.conversations) / s.contacts
        # expected campaigns a contact could receive (sent between its creation and the horizon)
        probe = random.Random(7)
        moments = self.campaign_moments
        eligible = 0
        kept = 0.0
        samples = 2000
        for k in range(samples):
            w = self._creation_day((k + probe.random()) / samples) * DAY + 12 * HOUR
            eligible += len(moments) - bisect_left(moments, w)
            life = max(0, self.H - w)
            kept += _RETURN_ANYTIME + (1 - _RETURN_ANYTIME) * (1 - math.exp(-life / _RETURN_DELAY))
        eligible = max(eligible / samples, 1e-9)
        kept = max(kept / samples, 1e-9)
        self.campaign_rate = camp_per_contact / eligible
        # conversations: a lead conversation at creation, campaign replies, snoozes that
        # reactivate and transfers come on top of spontaneous returns
        self.p_transfer = 0.1
        campaign_triggers = camp_per_contact * 0.085
        base = per_contact_conv / 1.087 / 1.08
        leads = 0.8 * (1 - _IMPORT_SHARE) + 0.25 * _IMPORT_SHARE
        self.spontaneous = max(0.05, base - leads - campaign_triggers)
        self.returns = self.spontaneous / kept
        # spontaneous returns are mostly support, so that about 40% of conversations are
        self.p_support = min(0.95, max(0.3, (0.41 * base - 0.15 * leads) / self.spontaneous))
        # exchanges per conversation (an exchange = an advisor answer and a contact reply)
        self.exchanges = max(0.2, (self.msgs_per_conv - 1.95) / 2.13)
        # orders
        target = s.orders / s.contacts / 0.35  # per buyer
        low = [b for b, v in _BEHAVIOURS.items() if not v[4]]
        high = [b for b, v in _BEHAVIOURS.items() if v[4]]

        def mean(names: list[str]) -> float:
            w = sum(_BEHAVIOUR_WEIGHTS[b] for b in names)
            return sum(_BEHAVIOUR_WEIGHTS[b] * sum(_BEHAVIOURS[b][1]) / 2 for b in names) / w

        m_low, m_high = mean(low), mean(high)
        share = min(0.6, max(0.03, (target * 1.22 - m_low) / (m_high - m_low)))
        w_low = sum(_BEHAVIOUR_WEIGHTS[b] for b in low)
        w_high = sum(_BEHAVIOUR_WEIGHTS[b] for b in high)
        weights = {
            b: _BEHAVIOUR_WEIGHTS[b] * (share / w_high if b in high else (1 - share) / w_low)
            for b in _BEHAVIOURS
        }
        self.behaviour_pool = _pool(weights, 1000)

    # --- records ----------------------------------------------------------------------------
    def records(self) -> Iterator[dict]:
        yield from self._header()
        n = self.scale.contacts
        for first in range(1, n + 1, BLOCK):
            yield from self._block(first, min(n, first + BLOCK - 1))
        yield from self._plan_usage()

    def _header(self) -> Iterator[dict]:
        for uid, name, profile in DEMO_USERS:
            yield {
                "type": "user",
                "id": uid,
                "name": name,
                "email": f"{uid}@demo.tablero.dev",
                "profile": profile,
                "is_bot": False,
            }
        demo_agents = sum(1 for _, _, profile in DEMO_USERS if profile == "AGENT")
        for uid, name in self.advisors[demo_agents:]:
            yield {
                "type": "user",
                "id": uid,
                "name": name,
                "email": f"{uid}@demo.tablero.dev",
                "profile": "AGENT",
                "is_bot": False,
            }
        for uid, name in DEMO_BOTS:
            yield {"type": "user", "id": uid, "name": name, "profile": "AGENT", "is_bot": True}
        for gid, name in _GROUPS:
            yield {"type": "group", "id": gid, "name": name}
        yield {
            "type": "closing_reason",
            "id": CUSTOM_REASON[0],
            "name": CUSTOM_REASON[1],
            "closes": True,
        }
        yield {
            "type": "schedule",
            "advisor": None,
            "timezone": self.timezone,
            "weekly": _ORG_WEEKLY,
            "holidays": dict(_HOLIDAYS),
        }
        for uid, weekly in _ADVISOR_WEEKLY.items():
            yield {
                "type": "schedule",
                "advisor": uid,
                "timezone": self.timezone,
                "weekly": weekly,
                "holidays": dict(_HOLIDAYS),
            }
        for key, done in (
            ("enable_channel", True),
            ("import_contacts", True),
            ("send_first_message", True),
            ("invite_user", False),
            ("create_automation", False),
        ):
            yield {"type": "onboarding_step", "id": key, "done": done}
        yield from self.campaign_records

    def _plan_usage(self) -> Iterator[dict]:
        counts = self.plan_counts
        first = max(0, self.days - _PLAN_DAYS)
        for channel in _PLAN_CHANNELS:
            used = [counts.get((d, channel), 0) for d in range(first, self.days)]
            # a quota about the 85th percentile of a full day's use: a few days go over it
            ranked = sorted(used[:-1]) or [0]
            q = max(ranked[int(len(ranked) * 0.85)], sum(ranked) // len(ranked) * 3 // 2, 10)
            magnitude = 10 ** max(1, len(str(max(q, 1))) - 1)
            quota = max(magnitude, round(q / magnitude * 2) * magnitude // 2)
            for d, value in zip(range(first, self.days), used, strict=True):
                yield {
                    "type": "plan_usage",
                    "day": (self.start + dt.timedelta(days=d)).isoformat(),
                    "channel": channel,
                    "used": value,
                    "quota": quota,
                }

    # --- contacts and everything they do ----------------------------------------------------
    def _block(self, first: int, last: int) -> Iterator[dict]:
        contacts: list[dict] = []
        conversations: list[dict] = []
        messages: list[dict] = []
        tickets: list[dict] = []
        orders: list[dict] = []
        for i in range(first, last + 1):
            self._contact(i, contacts, conversations, messages, tickets, orders)
        yield from contacts
        yield from conversations
        yield from messages
        yield from tickets
        yield from orders

    def _phone(self) -> tuple[str, int]:
        """(phone, kind) with kind 0 Brazilian, 1 foreign, 2 broken."""
        rng = self.rng
        r = rng.random()
        if r < 0.01:
            return _BROKEN_PHONES[int(rng.random() * len(_BROKEN_PHONES))], 2
        if r < 0.04:
            prefix, make = _FOREIGN[int(rng.random() * len(_FOREIGN))]
            return prefix + make(rng), 1
        ddd = self.ddds[bisect_left(self.ddd_cum, rng.random())]
        if r < 0.09:  # a landline
            return f"+55{ddd}{rng.randrange(2, 6)}{rng.randrange(10**7):07d}", 0
        return f"+55{ddd}9{rng.randrange(6, 10)}{rng.randrange(10**7):07d}", 0

    def _contact(self, i, contacts, conversations, messages, tickets, orders) -> None:
        rng = self.rng
        rnd = rng.random
        H = self.H
        ts = self.ts
        cid = f"c-{i:06d}"
        q = (i - 1 + rnd()) / self.scale.contacts
        imported = q < _IMPORT_SHARE
        c = self._created_at(q)
        phone, phone_kind = self._phone()
        origin = "Importação" if imported else self.origin_pool[int(rnd() * len(self.origin_pool))]
        ddd = int(phone[3:5]) if phone_kind == 0 else 0
        if origin in ("Site", "Google") and rnd() < 0.5:
            entry = "e-commerce"
        elif origin in ("Evento", "LinkedIn", "Indicação") and rnd() < 0.4:
            entry = "corporativo"
        elif ddd and ddd < 20:
            entry = "vendas-sp"
        elif ddd in _SOUTHEAST:
            entry = "vendas-sudeste"
        elif ddd in _SOUTH:
            entry = "vendas-sul"
        elif ddd in _CENTER_WEST:
            entry = "vendas-centro-oeste"
        elif ddd:
            entry = "vendas-norte-nordeste"
        else:
            entry = "e-commerce"
        current = entry
        if rnd() < 0.1:
            current = ("pos-venda", "suporte", "corporativo", "e-commerce")[int(rnd() * 4)]
            if current == entry:
                current = "pos-venda"
        record = {
            "type": "contact",
            "id": cid,
            "name": f"{_FIRST_NAMES[int(rnd() * len(_FIRST_NAMES))]} "
            f"{_LAST_NAMES[int(rnd() * len(_LAST_NAMES))]}",
            "phone": phone,
            "created_at": ts(c),
        }
        if origin is not None:
            record["origin"] = origin
        if rnd() < 0.98:
            record["entry_group"] = entry
            record["current_group"] = current
        L = H
        if rnd() < 0.03 and H - c > 2 * HOUR:
            L = c + HOUR + int(rnd() * (H - c - HOUR))
            record["deleted_at"] = ts(L)
        contacts.append(record)

        # campaign messages, and the conversations some of them lead to
        episodes: list[tuple[int, int, str | None]] = []  # (start, source, channel)
        moments = self.campaign_moments
        lo = bisect_left(moments, c)
        hi = bisect_right(moments, L)
        if hi > lo:
            engagement = (0.0, 0.4, 0.8, 1.0, 1.0, 1.2, 1.6, 2.0)[int(rnd() * 8)]
            mu = self.campaign_rate * (hi - lo) * engagement
            k = min(hi - lo, int(mu + rnd()))
            if k:
                self._campaign_messages(cid, phone_kind, lo, hi, k, L, messages, episodes)
        # the lead conversation when the contact is created
        writes_first = _ORIGINS[origin][1]
        if rnd() < (0.25 if imported else 0.8):
            if writes_first:
                episodes.append((c + int(rnd() * 120), 0, None))
            else:
                episodes.append((c + 5 * MINUTE + int(rnd() * 6 * HOUR), 1, None))
        # the contact comes back later
        k = int(rng.expovariate(1 / self.returns) + rnd())
        for _ in range(k):
            w = self._return_moment(c, L)
            if w is not None:
                episodes.append((w, 2, None))
        ventas: list[int] = []
        support_starts: list[int] = []
        if episodes:
            episodes.sort()
            self._conversations(
                cid, current, L, L < H, episodes, conversations, messages, ventas, support_starts
            )
        self._tickets(i, cid, c, L, support_starts, tickets)
        self._orders(cid, c, L, phone_kind, ventas, orders)

    def _campaign_messages(self, cid, phone_kind, lo, hi, k, L, messages, episodes) -> None:
        rnd = self.rng.random
        ts = self.ts
        campaigns = self.campaigns
        counts = self.plan_counts
        cut = self.plan_cut
        for j in sorted(self.rng.sample(range(lo, hi), k)):
            w0, camp_id, channel, spread = campaigns[j]
            w = min(w0 + int(rnd() * spread), L)
            u = rnd()
            if phone_kind == 2 and channel != "EMAIL":
                u = 0.0
            if u < 0.05:
                status = "FAILED"
            elif u < 0.15:
                status = "SENT"
            elif u < 0.45:
                status = "DELIVERED"
            elif u < 0.85:
                status = "READ"
                if rnd() < 0.04:
                    episodes.append((w + HOUR + int(rnd() * 5 * DAY), 3, channel))
            elif u < 0.93:
                status = "CLICKED"
                if rnd() < 0.25:
                    episodes.append((w + 10 * MINUTE + int(rnd() * 2 * DAY), 3, channel))
            else:
                status = "REPLIED"
                if rnd() < 0.6:
                    episodes.append((w + MINUTE + int(rnd() * 30 * MINUTE), 3, channel))
            self.n_msg += 1
            messages.append(
                {
                    "type": "message",
                    "id": f"m-{self.n_msg:08d}",
                    "contact": cid,
                    "channel": channel,
                    "direction": "OUTBOUND",
                    "sender": "CAMPAIGN",
                    "campaign": camp_id,
                    "status": status,
                    "sent_at": ts(w),
                }
            )
            if w >= cut:
                key = (w // DAY, channel)
                counts[key] = counts.get(key, 0) + 1

    def _pick_advisor(self, kind: str, group: str) -> int:
        rnd = self.rng.random
        if kind == "SUPPORT" and rnd() < 0.8:
            pool = self.support_advisors
        elif group in self.sales_by_group and rnd() < 0.85:
            pool = self.sales_by_group[group]
        else:
            pool = self.sales_advisors
        return pool[int(rnd() * len(pool))]

    def _conversations(
        self, cid, group, L, deleted, episodes, conversations, messages, ventas, support_starts
    ) -> None:
        rnd = self.rng.random
        free = 0
        for start, source, channel in episodes:
            if start < free:
                if source == 3:  # the reply joins the conversation already open
                    continue
                start = free + HOUR + int(rnd() * 3 * DAY)
            if start > L:
                continue
            if source == 2:
                kind = "SUPPORT" if rnd() < self.p_support else "COMMERCIAL"
            elif source == 3:  # a reply to a campaign: a sales conversation
                kind = "COMMERCIAL"
            else:
                kind = "COMMERCIAL" if rnd() < 0.85 else "SUPPORT"
            if channel is None or channel == "EMAIL" and rnd() < 0.5:
                channel = self.channel_pool[int(rnd() * len(self.channel_pool))]
            if kind == "SUPPORT" and channel != "VOICE_CALL" and rnd() < 0.05:
                advisor = -1  # a bot handles it alone
            else:
                advisor = self._pick_advisor(kind, group)
            mode = 1 if source == 1 else 0  # 1: the advisor writes first
            allow_transfer = True
            while True:
                if kind == "SUPPORT":
                    support_starts.append(start)
                outcome = self._talk(
                    cid,
                    start,
                    mode,
                    kind,
                    channel,
                    advisor,
                    L,
                    deleted,
                    allow_transfer,
                    conversations,
                    messages,
                )
                closed_at, reason, transfer_to = outcome
                if closed_at is None:
                    return  # still open at the horizon: nothing more for this contact
                free = closed_at
                if reason == "venta":
                    ventas.append(closed_at)
                if transfer_to is not None:
                    start, advisor, mode, allow_transfer = closed_at, transfer_to, 2, False
                    continue
                if reason in _SNOOZE_REASONS and rnd() < 0.7:
                    # the reminder reactivates the contact with the same advisor
                    start = closed_at + DAY + int(rnd() * 13 * DAY)
                    if start <= L:
                        mode, allow_transfer = 1, True
                        continue
                break

    def _answer_at(self, t: int, advisor: int, support: bool) -> int:
        """When an advisor answers a contact who wrote at ``t``."""
        rng = self.rng
        rnd = rng.random
        if rnd() < 0.07:  # answered at once, whatever the hour
            return t + 20 + int(rng.expovariate(1 / 480))
        schedule = self.schedule_of[advisor]
        starts, ends = schedule.starts, schedule.ends
        idx = bisect_right(ends, t)
        if idx >= len(ends):
            return t + 20 + int(rng.expovariate(1 / 1800))
        if starts[idx] <= t:
            delay = int(rng.lognormvariate(6.6 if support else 6.1, 1.15))
            answer = t + 15 + delay
            if answer <= ends[idx] or delay > 6 * HOUR:
                return answer
            idx += 1
            if idx >= len(ends):
                return answer
        return starts[idx] + 30 + int(rng.expovariate(1 / 1500))

    def _talk(
        self,
        cid,
        start,
        mode,
        kind,
        channel,
        advisor,
        L,
        deleted,
        allow_transfer,
        conversations,
        messages,
    ):
        """Simulate one conversation; returns (closed_at, closing reason, transfer target), with
        closed_at None while it is still open at the horizon. ``mode``: 0 the contact writes
        first, 1 the advisor writes first, 2 a transfer (the contact is waiting)."""
        rng = self.rng
        rnd = rng.random
        ts = self.ts
        counts = self.plan_counts
        cut = self.plan_cut
        self.n_conv += 1
        conv_id = f"conv-{self.n_conv:07d}"
        bot = advisor < 0
        bot_id = "bot-02" if kind == "SUPPORT" else "bot-01"
        advisor_id = bot_id if bot else self.advisors[advisor][0]
        support = kind == "SUPPORT"
        n_msg = self.n_msg
        out: list[dict] = []
        append = out.append

        def outbound(w, sender, who, ch, extra=None):
            nonlocal n_msg
            n_msg += 1
            m = {
                "type": "message",
                "id": f"m-{n_msg:08d}",
                "contact": cid,
                "conversation": conv_id,
                "channel": ch,
                "direction": "OUTBOUND",
                "sender": sender,
                "advisor": who,
                "status": "READ" if rnd() < 0.7 else "DELIVERED",
                "sent_at": ts(w),
            }
            if who is None:
                del m["advisor"]
            if extra:
                m.update(extra)
            append(m)
            if w >= cut:
                key = (w // DAY, ch)
                counts[key] = counts.get(key, 0) + 1

        def inbound(w, ch):
            nonlocal n_msg
            n_msg += 1
            append(
                {
                    "type": "message",
                    "id": f"m-{n_msg:08d}",
                    "contact": cid,
                    "conversation": conv_id,
                    "channel": ch,
                    "direction": "INBOUND",
                    "sender": "CONTACT",
                    "sent_at": ts(w),
                }
            )

        def human(w):
            """An advisor's message: usually on the conversation's channel, sometimes a call,
            an e-mail or an SMS."""
            u = rnd()
            if channel == "VOICE_CALL" or u < 0.07:
                outbound(
                    w,
                    "ADVISOR",
                    advisor_id,
                    "VOICE_CALL",
                    {
                        "call_outcome": "ACCEPTED" if rnd() < 0.65 else "REJECTED",
                        "status": "DELIVERED",
                    },
                )
            elif u < 0.095:
                outbound(w, "ADVISOR", advisor_id, "EMAIL")
            elif u < 0.11:
                outbound(w, "ADVISOR", advisor_id, "SMS")
            else:
                outbound(w, "ADVISOR", advisor_id, channel)

        def contact_writes(w):
            if channel == "VOICE_CALL" or rnd() < 0.01:
                nonlocal n_msg
                n_msg += 1
                append(
                    {
                        "type": "message",
                        "id": f"m-{n_msg:08d}",
                        "contact": cid,
                        "conversation": conv_id,
                        "channel": "VOICE_CALL",
                        "direction": "INBOUND",
                        "sender": "CONTACT",
                        "call_outcome": "ACCEPTED",
                        "sent_at": ts(w),
                    }
                )
            else:
                inbound(w, channel)

        t = start
        answered = False
        waiting = False  # the contact waits for a human answer
        limit = L
        open_at_end = False
        transfer_to = None
        if mode == 0:
            contact_writes(t)
            if t + 600 > limit:  # the horizon is seconds away: nothing else happens
                pass
            elif rnd() < 0.4:
                t += 1 + int(rnd() * 6)
                contact_writes(t)
            if t + 600 <= limit and channel != "VOICE_CALL" and rnd() < 0.55:
                # an automatic welcome message
                t += 2 + int(rnd() * 20)
                if rnd() < 0.6:
                    outbound(t, "SYSTEM", None, channel, {"automatic": True})
                else:
                    outbound(t, "BOT", bot_id, channel, {"automatic": True})
            if t + 600 <= limit and (bot or channel != "VOICE_CALL" and rnd() < 0.45):
                # the bot answers first
                t += 3 + int(rnd() * 40)
                outbound(t, "BOT", bot_id, channel)
                if rnd() < 0.5:
                    t += 20 + int(rng.expovariate(1 / 120))
                    contact_writes(t)
                    t += 2 + int(rnd() * 10)
                    outbound(t, "BOT", bot_id, channel)
            waiting = True
        elif mode == 1:
            t = start
            if bot:
                outbound(t, "BOT", bot_id, channel)
            else:
                human(t)
                answered = True
        else:
            waiting = True

        exchanges = int(rng.expovariate(1 / self.exchanges) + rnd())
        if mode == 0 or mode == 2:
            exchanges = max(exchanges, 1)
        # the last days are not all dealt with yet: a backlog nobody has answered, and
        # conversations the advisors have not closed
        recent = not deleted and self.H - start < 4 * DAY
        backlog = recent and mode != 1 and self.H - start < 2 * DAY and rnd() < 0.15
        transfer_at = -1
        if allow_transfer and not bot and rnd() < self.p_transfer:
            transfer_at = int(rnd() * max(exchanges, 1))
        j = 0
        while True:
            if waiting:
                if j == transfer_at and not bot:
                    tt = t + 30 + int(rng.expovariate(1 / 900))
                    if tt <= limit:
                        others = self.sales_advisors if not support else self.support_advisors
                        to = others[int(rnd() * len(others))]
                        if to == advisor:
                            to = (
                                self.sales_advisors[
                                    (self.sales_advisors.index(to) + 1) % len(self.sales_advisors)
                                ]
                                if to in self.sales_advisors
                                else self.sales_advisors[0]
                            )
                        if to != advisor:
                            transfer_to = to
                            t = tt
                            break
                if backlog:
                    open_at_end = True
                    break
                if bot:
                    a = t + 2 + int(rnd() * 20)
                else:
                    a = self._answer_at(t, advisor, support)
                if a > limit:
                    open_at_end = True
                    break
                if bot:
                    outbound(a, "BOT", bot_id, channel)
                else:
                    human(a)
                    if rnd() < 0.25:
                        a += 10 + int(rnd() * 90)
                        if a <= limit:
                            human(a)
                answered = answered or not bot
                waiting = False
                t = a
            j += 1
            if j >= exchanges:
                break
            # the contact replies
            u = rnd()
            if u < 0.72:
                r = t + 15 + int(rng.lognormvariate(5.3, 1.1))
            elif u < 0.95:
                r = t + HOUR + int(rng.expovariate(1 / (4 * HOUR)))
            else:
                r = t + DAY + int(rnd() * DAY)
            if r > limit:
                open_at_end = True
                break
            contact_writes(r)
            if rnd() < 0.3 and r + 60 <= limit:
                r += 5 + int(rnd() * 50)
                contact_writes(r)
            t = r
            waiting = True

        conv = {
            "type": "conversation",
            "id": conv_id,
            "contact": cid,
            "advisor": advisor_id,
            "kind": kind,
            "channel": channel,
            "status": "CLOSED",
            "started_at": ts(start),
        }
        reason = None
        closed_at: int | None = None
        if transfer_to is not None:
            closed_at = t
            conv["closed_at"] = ts(t)
            conv["transferred_to"] = self.advisors[transfer_to][0]
        else:
            if waiting or not answered:
                pool = self.reason_pools[kind]
                reason = pool[int(rnd() * len(pool))]
                if not answered and reason in ("venta", "sin-stock"):
                    reason = "inactivo"
            else:
                pool = self.reason_pools[kind]
                reason = pool[int(rnd() * len(pool))]
            if not open_at_end and recent and rnd() < 0.45:
                open_at_end = True
                if not waiting and rnd() < 0.35:
                    r = t + 15 + int(rng.lognormvariate(5.3, 1.1))
                    if r <= limit:
                        contact_writes(r)
                        waiting = True
            if not open_at_end:
                closed_at = t + 30 + int(rng.expovariate(1 / _CLOSE_DELAY[reason]))
                if closed_at > limit:
                    open_at_end = True
            if open_at_end:
                if deleted:  # the contact was deleted: the conversation ends with it
                    closed_at = limit
                    reason = "datos-incorrectos" if rnd() < 0.5 else CUSTOM_REASON[0]
                else:
                    closed_at = None
                    reason = None
                    if not answered:
                        conv["status"] = "NEW"
                        if mode != 2 and rnd() < 0.4:  # not assigned yet
                            del conv["advisor"]
                    elif waiting:
                        conv["status"] = "IN_PROGRESS"
                    else:
                        conv["status"] = "WAITING"
            if closed_at is not None:
                conv["closed_at"] = ts(closed_at)
                conv["closing_reason"] = reason
        if rnd() < 0.7:
            pool = self.sentiment_pools.get(reason) or self.sentiment_pools[None]
            conv["sentiment"] = pool[int(rnd() * len(pool))]
        self.n_msg = n_msg
        conversations.append(conv)
        messages.extend(out)
        return closed_at, reason, transfer_to

    def _tickets(self, i, cid, c, L, support_starts, tickets) -> None:
        rng = self.rng
        rnd = rng.random
        H = self.H
        opened: list[int] = []
        for s in support_starts:
            if rnd() < 0.05:
                opened.append(min(s + 60 + int(rnd() * HOUR), L))
        if rnd() < 0.005:  # a ticket opened without a conversation
            opened.append(self._moment_between(c, L))
        if i in self.today_tickets and L == H:
            today = self.last_day * DAY
            lo = max(c, today)
            opened.append(lo + int(rnd() * (H - lo + 1)))
        for w in opened:
            self.n_ticket += 1
            ticket = {
                "type": "ticket",
                "id": f"t-{self.n_ticket:06d}",
                "contact": cid,
                "opened_at": self.ts(w),
            }
            age = H - w
            closed = w + 600 + int(rng.expovariate(1 / (1.5 * DAY)))
            if age > 5 * DAY and closed <= H:
                ticket["status"] = "CLOSED"
                ticket["closed_at"] = self.ts(closed)
            else:
                u = rnd()
                if u < 0.2 and closed <= H:
                    ticket["status"] = "CLOSED"
                    ticket["closed_at"] = self.ts(closed)
                else:
                    ticket["status"] = ("NEW", "NEW", "WAITING", "IN_PROGRESS")[int(rnd() * 4)]
            tickets.append(ticket)

    def _orders(self, cid, c, L, phone_kind, ventas, orders) -> None:
        rng = self.rng
        rnd = rng.random
        buys = rnd() < (0.75 if ventas else 0.24)
        if not buys:
            return
        H = self.H
        age_days = (L - c) / DAY
        pool = self.behaviour_pool
        # behaviours are dealt in a low-discrepancy sequence (golden ratio) rather than drawn
        # independently: the mix, hence the number of orders, varies little between seeds
        self.buyers += 1
        u = (self.buyers * 0.6180339887498949 + self.behaviour_phase) % 1.0
        behaviour = pool[int(u * len(pool))]
        for _ in range(4):
            if age_days >= _BEHAVIOURS[behaviour][0]:
                break
            behaviour = pool[int(rnd() * len(pool))]
        else:
            behaviour = "recent"
        _, (n_lo, n_hi), (ago_lo, ago_hi), span, _ = _BEHAVIOURS[behaviour]
        count = n_lo + int(rnd() * (n_hi - n_lo + 1))
        if count > 5:  # many buy a few times, few buy very often
            count = max(5, min(n_hi, n_lo + int(rng.expovariate(1 / ((n_hi - n_lo) / 3)))))
        last = H - int((ago_lo + rnd() * (ago_hi - ago_lo)) * DAY)
        last = min(max(last, c + 60), L)
        first = max(c + 60, last - span * DAY)
        moments = [last] + [first + int(rnd() * max(0, last - first)) for _ in range(count - 1)]
        # a sale closed in a conversation is an order placed right then
        for k, v in enumerate(ventas[:count]):
            moments[-1 - k] = min(v + 60 + int(rnd() * 1800), L)
        moments.sort()
        level = rng.lognormvariate(math.log(160), 0.75)
        usd = phone_kind == 1 and rnd() < 0.35 or rnd() < 0.008
        for w in moments:
            self.n_order += 1
            amount = max(9.0, level * rng.lognormvariate(0, 0.35))
            if usd:
                amount /= 5
            cents = (90, 90, 90, 0, 50, 99, 49)[int(rnd() * 7)]
            orders.append(
                {
                    "type": "order",
                    "id": f"o-{self.n_order:07d}",
                    "contact": cid,
                    "amount": f"{int(amount)}.{cents:02d}",
                    "currency": "USD" if usd else "BRL",
                    "ordered_at": self.ts(w),
                }
            )


def generate(
    scale: str = "small",
    seed: int = 1,
    *,
    end: dt.date | None = None,
    timezone: str = "America/Sao_Paulo",
    now: dt.datetime | None = None,
) -> Iterator[dict]:
    """Yield SPEC section 8 records for one demo organization, about a year ending on ``end``.

    Records are plain dicts as they appear in NDJSON (timestamps ISO 8601 with the zone's offset,
    money as decimal strings). ``end`` defaults to today in ``timezone``; when ``end`` is today
    the data runs up to now (so "today" panels are not empty), otherwise up to 18:00 local on
    ``end``. ``now`` pins the clock (an aware datetime; default the current time). The same
    scale, seed and past ``end`` always give the same sequence (with ``end`` today: the same
    ``now`` does). Memory stays bounded: contacts are simulated :data:`BLOCK` at a time and every
    reference points to a record yielded earlier.

    Raises ``ValueError`` at once for an unknown scale or an ``end`` after today.
    """
    return _Demo(scale, seed, end, timezone, now).records()
