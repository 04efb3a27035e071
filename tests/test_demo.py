"""The demo generator (``tablero demo``): deterministic, SPEC 8-valid, realistic enough for every
panel to show non-degenerate figures. Pure Python: no database."""

from __future__ import annotations

import collections
import datetime as dt
import itertools
import re
import time
from decimal import Decimal
from zoneinfo import ZoneInfo

import phonenumbers
import pytest
from tablero.demo import DEMO_BOTS, DEMO_USERS, SCALES, Scale, generate
from tablero.geo import state_for_phone
from tablero.orgs import DEFAULT_CLOSING_REASONS, DEFAULT_ONBOARDING_STEPS

TZ = ZoneInfo("America/Sao_Paulo")
NOW = dt.datetime(2026, 11, 25, 15, 7, tzinfo=TZ)  # a Wednesday afternoon
END = dt.date(2026, 11, 25)

CHANNELS = {
    "WHATSAPP",
    "SMS",
    "EMAIL",
    "RCS",
    "FACEBOOK_MESSENGER",
    "INSTAGRAM",
    "WEBCHAT",
    "VOICE_CALL",
}
STATUSES = {"NEW", "WAITING", "IN_PROGRESS", "CLOSED"}
ENUMS = {
    ("user", "profile"): {"ADMIN", "OPERATOR", "VIEWER", "AGENT"},
    ("campaign", "channel"): CHANNELS,
    ("conversation", "kind"): {"COMMERCIAL", "SUPPORT"},
    ("conversation", "channel"): CHANNELS,
    ("conversation", "status"): STATUSES,
    ("conversation", "sentiment"): {"POSITIVE", "NEUTRAL", "NEGATIVE"},
    ("message", "channel"): CHANNELS,
    ("message", "direction"): {"INBOUND", "OUTBOUND"},
    ("message", "sender"): {"CONTACT", "ADVISOR", "BOT", "CAMPAIGN", "SYSTEM"},
    ("message", "status"): {"SENT", "DELIVERED", "READ", "CLICKED", "REPLIED", "FAILED"},
    ("message", "call_outcome"): {"ACCEPTED", "REJECTED"},
    ("ticket", "status"): STATUSES,
    ("plan_usage", "channel"): CHANNELS,
}
# SPEC 8: type -> (required fields, optional fields); "type" itself is implied.
FIELDS: dict[str, tuple[set[str], set[str]]] = {
    "user": ({"id", "name", "profile"}, {"email", "is_bot"}),
    "group": ({"id", "name"}, set()),
    "closing_reason": ({"id", "name"}, {"closes"}),
    "schedule": ({"timezone", "weekly"}, {"advisor", "holidays"}),
    "contact": (
        {"id", "created_at"},
        {"name", "phone", "origin", "entry_group", "current_group", "deleted_at"},
    ),
    "campaign": ({"id", "name", "channel"}, {"journey", "sent_at"}),
    "conversation": (
        {"id", "contact", "kind", "channel", "status", "started_at"},
        {"advisor", "closed_at", "closing_reason", "transferred_to", "sentiment"},
    ),
    "message": (
        {"id", "contact", "channel", "direction", "sender", "sent_at"},
        {"conversation", "advisor", "campaign", "status", "call_outcome", "automatic"},
    ),
    "ticket": ({"id", "status", "opened_at"}, {"contact", "closed_at"}),
    "order": ({"id", "contact", "amount", "ordered_at"}, {"currency"}),
    "plan_usage": ({"day", "channel", "used", "quota"}, set()),
    "onboarding_step": ({"id", "done"}, set()),
}
TIMESTAMPS = {
    "created_at",
    "deleted_at",
    "sent_at",
    "started_at",
    "closed_at",
    "opened_at",
    "ordered_at",
}
# field -> the type of record it refers to
REFERENCES = {
    "advisor": "user",
    "transferred_to": "user",
    "entry_group": "group",
    "current_group": "group",
    "closing_reason": "closing_reason",
    "contact": "contact",
    "conversation": "conversation",
    "campaign": "campaign",
}
MONEY = re.compile(r"^\d+\.\d{2}$")
HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def parse_instant(value: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(value)
    assert moment.tzinfo is not None, f"timestamp without offset: {value!r}"
    return moment


def validate(records) -> collections.Counter:
    """Check every record against SPEC 8 and that every reference points to a record of the right
    type yielded earlier; return the counts per type."""
    seen: dict[str, set[str]] = collections.defaultdict(set)
    seen["closing_reason"].update(ext for ext, _, _ in DEFAULT_CLOSING_REASONS)
    steps = {key for key, _ in DEFAULT_ONBOARDING_STEPS}
    counts: collections.Counter = collections.Counter()
    plan_keys = set()
    for n, record in enumerate(records):
        kind = record["type"]
        assert kind in FIELDS, (n, record)
        required, optional = FIELDS[kind]
        keys = set(record) - {"type"}
        assert required <= keys, (n, required - keys, record)
        assert keys <= required | optional, (n, keys - required - optional, record)
        for field, value in record.items():
            if field in ("type",):
                continue
            if (kind, field) in ENUMS:
                assert value in ENUMS[(kind, field)], (n, field, record)
            if field in TIMESTAMPS:
                parse_instant(value)
            if field in ("is_bot", "closes", "done", "automatic"):
                assert isinstance(value, bool), (n, field, record)
            if field in REFERENCES and not (kind == "schedule" and value is None):
                target = REFERENCES[field]
                assert isinstance(value, str) and value in seen[target], (
                    f"record {n} ({kind}) refers to {target} {value!r} not yielded before"
                )
        if kind == "order":
            assert MONEY.match(record["amount"]) and Decimal(record["amount"]) > 0, record
            assert record.get("currency", "BRL") in ("BRL", "USD"), record
        elif kind == "plan_usage":
            dt.date.fromisoformat(record["day"])
            assert isinstance(record["used"], int) and isinstance(record["quota"], int)
            key = (record["day"], record["channel"])
            assert key not in plan_keys, key
            plan_keys.add(key)
        elif kind == "onboarding_step":
            assert record["id"] in steps, record
        elif kind == "schedule":
            ZoneInfo(record["timezone"])
            for weekday, spans in record["weekly"].items():
                assert weekday in {str(d) for d in range(1, 8)}
                for start, end in spans:
                    assert HHMM.match(start) and HHMM.match(end)
        elif kind == "message":
            assert ("call_outcome" in record) == (record["channel"] == "VOICE_CALL"), record
            if record["sender"] == "CAMPAIGN":
                assert "campaign" in record and record["direction"] == "OUTBOUND", record
            if record["sender"] == "CONTACT":
                assert record["direction"] == "INBOUND", record
            if record["sender"] in ("ADVISOR", "BOT"):
                assert "advisor" in record and record["direction"] == "OUTBOUND", record
        elif kind == "conversation":
            closed = "closed_at" in record
            assert closed == (record["status"] == "CLOSED"), record
            assert ("closing_reason" in record or "transferred_to" in record) == closed, record
        if "id" in record and kind not in ("onboarding_step",):
            assert record["id"] not in seen[kind], f"duplicate {kind} id {record['id']}"
            seen[kind].add(record["id"])
        counts[kind] += 1
    return counts


@pytest.fixture(scope="module")
def small() -> list[dict]:
    return list(generate("small", 1, now=NOW))


@pytest.fixture(scope="module")
def by_type(small) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = collections.defaultdict(list)
    for record in small:
        out[record["type"]].append(record)
    return out


def test_scales_are_the_issue_targets():
    assert {"small", "medium", "large"} <= set(SCALES)
    assert SCALES["small"] == Scale(2_000, 30_000, 5_000, 3_000, advisors=10, campaigns=30)
    assert (SCALES["medium"].contacts, SCALES["medium"].messages) == (100_000, 2_000_000)
    assert (SCALES["large"].conversations, SCALES["large"].orders) == (2_000_000, 1_000_000)
    with pytest.raises(ValueError, match="unknown scale"):
        generate("huge")
    with pytest.raises(ValueError, match="after today"):
        generate("tiny", end=END + dt.timedelta(days=1), now=NOW)


def test_same_seed_same_sequence_other_seed_other_sequence(small):
    again = list(itertools.islice(generate("small", 1, now=NOW), 5_000))
    assert again == small[:5_000]
    tiny_a = list(generate("tiny", 7, end=END))
    tiny_b = list(generate("tiny", 7, end=END))
    assert tiny_a == tiny_b
    other = list(generate("tiny", 8, end=END))
    assert other != tiny_a
    assert [r for r in other if r["type"] == "contact"][:20] != [
        r for r in tiny_a if r["type"] == "contact"
    ][:20]


def test_small_scale_hits_its_targets(small):
    counts = validate(small)
    target = SCALES["small"]
    assert counts["contact"] == target.contacts
    for kind, goal in (
        ("message", target.messages),
        ("conversation", target.conversations),
        ("order", target.orders),
    ):
        assert abs(counts[kind] - goal) <= 0.1 * goal, (kind, counts[kind], goal)
    assert 5 <= counts["group"] <= 10
    assert 0 < counts["ticket"] < 0.1 * target.contacts


def test_tiny_scale_is_valid_and_in_an_other_time_zone_with_daylight_saving():
    records = list(generate("tiny", 3, end=dt.date(2026, 3, 20), timezone="America/New_York"))
    counts = validate(records)
    assert counts["contact"] == SCALES["tiny"].contacts
    offsets = {r["started_at"][-6:] for r in records if r["type"] == "conversation"}
    assert offsets == {"-05:00", "-04:00"}
    assert records[-1]["type"] == "plan_usage"


def test_every_record_is_valid_and_refers_only_to_earlier_records(small):
    validate(small)  # raises on the first problem


def test_users_schedules_groups_and_onboarding(by_type):
    users = {u["id"]: u for u in by_type["user"]}
    for uid, name, profile in DEMO_USERS:
        assert users[uid]["profile"] == profile and users[uid]["name"] == name
    profiles = [u["profile"] for u in by_type["user"]]
    assert profiles[:3] == ["ADMIN", "OPERATOR", "VIEWER"]
    advisors = [u for u in by_type["user"] if u["profile"] == "AGENT" and not u["is_bot"]]
    assert len(advisors) == 10 and advisors[0]["id"] == "agent-01"
    bots = [u for u in by_type["user"] if u.get("is_bot")]
    assert [b["id"] for b in bots] == [b for b, _ in DEMO_BOTS] and len(bots) == 2
    assert all(b["profile"] == "AGENT" for b in bots)

    schedules = by_type["schedule"]
    org = [s for s in schedules if s["advisor"] is None]
    assert len(org) == 1
    assert org[0]["weekly"]["1"] == [["08:00", "18:00"]]
    assert org[0]["weekly"]["6"] == [["08:00", "12:00"]]
    assert "7" not in org[0]["weekly"]
    assert org[0]["holidays"] == {"country": "BR", "subdiv": "SP"}
    own = [s for s in schedules if s["advisor"] is not None]
    assert len(own) >= 2
    assert any(["22:00", "06:00"] in spans for s in own for spans in s["weekly"].values())

    assert {"cliente-duplicado"} == {r["id"] for r in by_type["closing_reason"]}
    steps = {s["id"]: s["done"] for s in by_type["onboarding_step"]}
    assert steps["enable_channel"] is True and False in steps.values()


def test_contacts_phones_origins_groups(by_type):
    contacts = by_type["contact"]
    phones = [c.get("phone") for c in contacts]
    brazilian = [p for p in phones if p and p.startswith("+55") and len(p) in (13, 14)]
    assert len(brazilian) > 0.9 * len(contacts)
    sample = brazilian[::20]
    assert all(phonenumbers.is_valid_number(phonenumbers.parse(p)) for p in sample)
    states = collections.Counter(state_for_phone(p) for p in brazilian)
    assert None not in states
    assert len(states) >= 20 and states.most_common(1)[0][0] == "SP"
    assert {"SP", "RJ", "MG"} <= {s for s, _ in states.most_common(5)}
    ddds = {p[3:5] for p in brazilian}
    assert len(ddds) >= 45

    foreign = [p for p in phones if p and p.startswith("+") and not p.startswith("+55")]
    assert 0.015 * len(contacts) < len(foreign) < 0.06 * len(contacts)
    assert all(phonenumbers.is_valid_number(phonenumbers.parse(p)) for p in foreign)
    broken = [p for p in phones if state_for_phone(p) is None and p not in foreign]
    assert 0.003 * len(contacts) < len(broken) < 0.03 * len(contacts)

    origins = collections.Counter(c.get("origin") for c in contacts)
    assert {"Facebook Ads", "Google", "Indicação", "Site", "Instagram", "Evento"} <= set(origins)
    deleted = sum("deleted_at" in c for c in contacts)
    assert 0.01 * len(contacts) < deleted < 0.06 * len(contacts)
    moved = sum(c.get("entry_group") != c.get("current_group") for c in contacts)
    assert 0.05 * len(contacts) < moved < 0.2 * len(contacts)
    created = [parse_instant(c["created_at"]) for c in contacts]
    first_half = sum(c < NOW - dt.timedelta(days=182) for c in created)
    assert first_half < len(created) / 2  # more contacts recently
    assert any(c.date() == NOW.date() for c in created)


def test_campaigns_and_their_funnel(by_type):
    campaigns = by_type["campaign"]
    channels = collections.Counter(c["channel"] for c in campaigns)
    assert channels.most_common(1)[0][0] == "WHATSAPP" and len(channels) >= 3
    assert any("journey" in c for c in campaigns) and any("journey" not in c for c in campaigns)
    sends = [m for m in by_type["message"] if m["sender"] == "CAMPAIGN"]
    status = collections.Counter(m["status"] for m in sends)
    total = len(sends)
    delivered = total - status["SENT"] - status["FAILED"]
    read = status["READ"] + status["CLICKED"] + status["REPLIED"]
    assert 0.78 < delivered / total < 0.9
    assert 0.48 < read / total < 0.62
    assert 0.1 < (status["CLICKED"] + status["REPLIED"]) / total < 0.2
    assert 0.02 < status["FAILED"] / total < 0.08
    assert any(m["sent_at"].startswith(NOW.date().isoformat()) for m in sends)


def test_conversations_kinds_statuses_reasons_transfers_sentiment(by_type):
    conversations = by_type["conversation"]
    n = len(conversations)
    kinds = collections.Counter(c["kind"] for c in conversations)
    assert 0.33 < kinds["SUPPORT"] / n < 0.47
    channels = collections.Counter(c["channel"] for c in conversations)
    assert channels.most_common(1)[0][0] == "WHATSAPP" and len(channels) >= 5
    statuses = collections.Counter(c["status"] for c in conversations)
    assert all(statuses[s] > 0 for s in STATUSES)
    reasons = collections.Counter(c.get("closing_reason") for c in conversations)
    for ext, _, _ in DEFAULT_CLOSING_REASONS:
        assert reasons[ext] > 0, ext
    assert reasons["cliente-duplicado"] > 0
    transferred = [c for c in conversations if "transferred_to" in c]
    assert 0.05 < len(transferred) / n < 0.11
    assert all(c["transferred_to"] != c.get("advisor") for c in transferred)
    starts = {(c["contact"], c["started_at"], c.get("advisor")) for c in conversations}
    for c in transferred:  # the receiving advisor's conversation starts at the transfer
        assert (c["contact"], c["closed_at"], c["transferred_to"]) in starts
    sentiments = collections.Counter(c.get("sentiment") for c in conversations)
    assert 0.6 < 1 - sentiments[None] / n < 0.8
    rated = n - sentiments[None]
    assert 0.45 < sentiments["POSITIVE"] / rated < 0.65
    assert 0.08 < sentiments["NEGATIVE"] / rated < 0.22
    hours = collections.Counter(parse_instant(c["started_at"]).hour for c in conversations)
    business = sum(hours[h] for h in range(8, 18))
    assert 0.6 < business / n < 0.9  # mostly in business hours, some at night
    weekend = sum(parse_instant(c["started_at"]).isoweekday() >= 6 for c in conversations)
    assert 0.03 < weekend / n < 0.25
    assert any(c["advisor"].startswith("bot-") for c in conversations if "advisor" in c)


def test_a_contact_has_at_most_one_open_conversation(by_type):
    per_contact = collections.defaultdict(list)
    for c in by_type["conversation"]:
        per_contact[c["contact"]].append(c)
    for items in per_contact.values():
        items.sort(key=lambda c: parse_instant(c["started_at"]))
        for before, after in itertools.pairwise(items):
            assert "closed_at" in before, (before, after)
            assert parse_instant(before["closed_at"]) <= parse_instant(after["started_at"])
            assert parse_instant(before["started_at"]) <= parse_instant(before["closed_at"])


def test_messages_bots_automatic_calls_and_timing(by_type):
    messages = by_type["message"]
    conversations = {c["id"]: c for c in by_type["conversation"]}
    senders = collections.Counter(m["sender"] for m in messages)
    assert all(senders[s] > 0 for s in ("CONTACT", "ADVISOR", "BOT", "CAMPAIGN", "SYSTEM"))
    bots = {b for b, _ in DEMO_BOTS}
    assert all(m["advisor"] in bots for m in messages if m["sender"] == "BOT")
    assert all(m["advisor"] not in bots for m in messages if m["sender"] == "ADVISOR")
    automatic = [m for m in messages if m.get("automatic")]
    assert {m["sender"] for m in automatic} == {"SYSTEM", "BOT"}
    calls = [m for m in messages if m["channel"] == "VOICE_CALL"]
    assert {m["call_outcome"] for m in calls} == {"ACCEPTED", "REJECTED"}
    assert any(m["direction"] == "INBOUND" for m in calls)
    assert any(m["direction"] == "OUTBOUND" and m["sender"] == "ADVISOR" for m in calls)
    assert {"EMAIL", "SMS"} <= {m["channel"] for m in messages if m["sender"] == "ADVISOR"}
    last: dict[str, dt.datetime] = {}
    for m in messages:
        if "conversation" not in m:
            continue
        conv = conversations[m["conversation"]]
        assert m["contact"] == conv["contact"]
        sent = parse_instant(m["sent_at"])
        assert sent >= parse_instant(conv["started_at"])
        if "closed_at" in conv:
            assert sent <= parse_instant(conv["closed_at"])
        assert sent >= last.get(m["conversation"], sent)  # in order within a conversation
        last[m["conversation"]] = sent
    # advisors answer after minutes to hours, some only the next morning
    delays = []
    for conv_id, group in itertools.groupby(
        (m for m in messages if "conversation" in m), key=lambda m: m["conversation"]
    ):
        group = list(group)
        first_in = next((m for m in group if m["sender"] == "CONTACT"), None)
        answer = next((m for m in group if m["sender"] == "ADVISOR"), None)
        if first_in and answer and first_in is group[0]:
            delays.append(
                (
                    parse_instant(answer["sent_at"]) - parse_instant(first_in["sent_at"])
                ).total_seconds()
            )
    delays.sort()
    median = delays[len(delays) // 2]
    assert 60 < median < 4 * 3600
    assert delays[int(len(delays) * 0.95)] > 8 * 3600


def test_nothing_after_now_and_today_is_not_empty(small, by_type):
    latest = max(parse_instant(v) for r in small for k, v in r.items() if k in TIMESTAMPS)
    assert latest <= NOW
    today = NOW.date().isoformat()
    assert any(c["started_at"].startswith(today) for c in by_type["conversation"])
    assert any(m["sent_at"].startswith(today) for m in by_type["message"])
    opened_today = [t for t in by_type["ticket"] if t["opened_at"].startswith(today)]
    assert len(opened_today) >= 3
    assert any(t["status"] != "CLOSED" for t in by_type["ticket"])
    open_support = [
        c for c in by_type["conversation"] if c["kind"] == "SUPPORT" and c["status"] != "CLOSED"
    ]
    assert open_support


def test_end_in_the_past_uses_a_fixed_hour():
    records = list(generate("tiny", 1, end=dt.date(2025, 6, 30)))
    latest = max(parse_instant(v) for r in records for k, v in r.items() if k in TIMESTAMPS)
    assert latest.date() == dt.date(2025, 6, 30) and latest.hour < 18
    assert records == list(generate("tiny", 1, end=dt.date(2025, 6, 30)))


def test_orders_spread_over_rfm_segments(by_type):
    orders = by_type["order"]
    per_contact = collections.defaultdict(list)
    for o in orders:
        per_contact[o["contact"]].append(o)
    buyers = len(per_contact)
    assert 0.28 < buyers / SCALES["small"].contacts < 0.45
    frequency = collections.Counter(len(v) for v in per_contact.values())
    assert frequency[1] == max(frequency.values())  # many buy once
    assert sum(n for f, n in frequency.items() if f >= 5) > 0.05 * buyers
    assert max(frequency) >= 15
    currencies = collections.Counter(o["currency"] for o in orders)
    assert 0.005 < currencies["USD"] / len(orders) < 0.05
    amounts = sorted(Decimal(o["amount"]) for o in orders)
    assert amounts[0] < 50 and amounts[-1] > 1000

    # RFM scores and segments as SPEC 7 defines them: every segment has contacts
    last = {c: max(parse_instant(o["ordered_at"]) for o in v) for c, v in per_contact.items()}
    recency = {c: (NOW - t).days for c, t in last.items()}
    freq = {c: len(v) for c, v in per_contact.items()}

    def score(values: dict, lower_is_better: bool) -> dict:
        ranked = sorted(values.values())
        out = {}
        for c, x in values.items():
            worse = sum(1 for y in ranked if (y > x if lower_is_better else y < x))
            out[c] = 1 + 5 * worse // len(ranked)
        return out

    r_score, f_score = score(recency, True), score(freq, False)

    def segment(r: int, f: int) -> str:
        if r == 5 and f >= 4:
            return "CHAMPIONS"
        if r in (3, 4) and f >= 4:
            return "LOYAL"
        if r >= 4 and f in (2, 3):
            return "POTENTIAL_LOYALIST"
        if r == 5 and f == 1:
            return "RECENT"
        if r == 4 and f == 1:
            return "PROMISING"
        if r == 3 and f == 3:
            return "NEED_ATTENTION"
        if r == 3:
            return "ABOUT_TO_SLEEP"
        if f in (3, 4):
            return "AT_RISK"
        if f == 5:
            return "CANT_LOSE"
        return "HIBERNATING"

    segments = collections.Counter(segment(r_score[c], f_score[c]) for c in per_contact)
    assert len(segments) == 10, segments


def test_plan_usage_last_60_days_with_days_over_quota(by_type):
    usage = by_type["plan_usage"]
    days = sorted({u["day"] for u in usage})
    assert len(days) == 60 and days[-1] == NOW.date().isoformat()
    channels = {u["channel"] for u in usage}
    assert "WHATSAPP" in channels and len(channels) >= 2
    assert len({(u["channel"], u["quota"]) for u in usage}) == len(channels)
    assert any(u["used"] > u["quota"] for u in usage)
    assert sum(u["used"] <= u["quota"] for u in usage) > 0.7 * len(usage)
    today = [u for u in usage if u["day"] == days[-1] and u["channel"] == "WHATSAPP"]
    assert today[0]["used"] > 0


def test_streaming_starts_at_once_even_for_the_large_scale():
    started = time.perf_counter()
    head = list(itertools.islice(generate("large", 1, end=END), 2_000))
    assert time.perf_counter() - started < 10
    advisors = sum(1 for r in head if r["type"] == "user" and r["profile"] == "AGENT")
    assert advisors >= 200
    assert head[-1]["type"] in ("contact", "conversation", "message")
