"""Home page operations for bench/run.py.

The home page has no period filter: its windows are always the 30 local days ending on asOf's
day and the 30 before them, so the presets of other panels do not apply. ``page`` is what the
frontend asks for on load (target: p50 <= 100 ms on the medium set, <= 500 ms on the large one);
the other operations isolate its heaviest parts, and ``page_as_of`` pins asOf a month back (the
same work over older, colder rows).
"""

from __future__ import annotations

COMPARISON = "{ value previousValue change changePercent }"
SERIES = "{ buckets values total }"

PAGE = f"""
query HomePage($asOf: DateTime) {{
  home(asOf: $asOf) {{
    period {{ start end previousStart previousEnd today asOf }}
    firstSteps {{ key title done doneAt }}
    activePlan {{ day channels {{ channel used quota percent exceeded }} }}
    quickActions {{ key label route }}
    overview {{
      contactBase {COMPARISON}
      reachedContacts {COMPARISON}
      commercialContacts {COMPARISON}
      supportContacts {COMPARISON}
    }}
    dailyVolume {{ sends {SERIES} commercial {SERIES} support {SERIES} }}
    attentionDistribution {{ total commercial support commercialShare supportShare }}
    geography {{ states {{ uf name contacts }} unknown total }}
    ticketsOpenedToday
    pendingAttentions {{ total new waiting inProgress }}
    satisfaction {{
      positive neutral negative rated unrated positiveShare neutralShare negativeShare score
    }}
  }}
}}
"""

QUERIES: dict[str, tuple[str, dict]] = {
    "page": (PAGE, {}),
    "page_as_of": (PAGE, {"asOf": "2026-10-25T12:00:00-03:00"}),
    # asOf after the data set's last record: the day of asOf is read from the facts too (the
    # case of a dashboard as of now); "page" (15:00 UTC, with later records) reads it raw
    "page_end_of_data": (PAGE, {"asOf": "2026-11-25T23:59:59-03:00"}),
    "overview": (
        f"""query {{ home {{ overview {{
          contactBase {COMPARISON} reachedContacts {COMPARISON}
          commercialContacts {COMPARISON} supportContacts {COMPARISON} }} }} }}""",
        {},
    ),
    "reached_contacts": (f"query {{ home {{ overview {{ reachedContacts {COMPARISON} }} }} }}", {}),
    "daily_volume": (
        f"query {{ home {{ dailyVolume {{ sends {SERIES} commercial {SERIES} support {SERIES} }} }} }}",
        {},
    ),
    "geography": ("query { home { geography { states { uf contacts } unknown total } } }", {}),
    "cards": (
        """query { home { ticketsOpenedToday pendingAttentions { total new waiting inProgress }
          satisfaction { rated score } activePlan { channels { channel percent } } } }""",
        {},
    ),
}
