"""SPEC section 2, every cell: which profile may use what. Denied answers FORBIDDEN, never data.

| what | ADMIN | OPERATOR | VIEWER | AGENT |
|---|---|---|---|---|
| home page (any field) | yes | yes | yes | no |
| home: execute / complete first steps | yes | no | no | no |
| home: quick actions | yes | yes | no | no |
| contacts behaviour panel | yes | yes | no | no |
| success monitor panel, its CSV, creating automations | yes | yes | no | no |
| conversations and resolution reports | yes | yes | yes | own conversations only |
"""

import pytest

PROFILES = ("ADMIN", "OPERATOR", "VIEWER", "AGENT")

GRAPHQL_CELLS = {
    "home": ("{ home { ticketsOpenedToday } }", {"ADMIN", "OPERATOR", "VIEWER"}),
    "home first steps (read)": ("{ home { firstSteps { key done } } }", {"ADMIN", "OPERATOR", "VIEWER"}),
    "home: complete a first step": (
        'mutation { completeFirstStep(key: "invite_user") { done } }',
        {"ADMIN"},
    ),
    "home: quick actions": ("{ home { quickActions { key } } }", {"ADMIN", "OPERATOR"}),
    "contacts behaviour": ("{ contactsBehaviour { __typename } }", {"ADMIN", "OPERATOR"}),
    "success monitor": ("{ successMonitor { __typename } }", {"ADMIN", "OPERATOR"}),
    "success monitor: create automation": (
        'mutation { createAutomation(segment: "CHAMPIONS", name: "Win back") { __typename } }',
        {"ADMIN", "OPERATOR"},
    ),
    "conversations report": ("{ conversationsReport { __typename } }", set(PROFILES)),
    "resolution report": ("{ resolution { __typename } }", set(PROFILES)),
}

CSV_CELLS = {
    "/export/success_monitor/segments.csv": {"ADMIN", "OPERATOR"},
    "/export/contacts_behaviour/interactions.csv": {"ADMIN", "OPERATOR"},
    "/export/home/daily-volume.csv": {"ADMIN", "OPERATOR", "VIEWER"},
    "/export/resolution/reasons.csv": set(PROFILES),
}


@pytest.fixture
def api(make_org, make_api):
    _, key = make_org()
    return make_api(key)


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("cell", sorted(GRAPHQL_CELLS))
def test_graphql_permission_matrix(api, cell, profile):
    query, allowed = GRAPHQL_CELLS[cell]
    body = api.graphql(query, profile=profile)
    codes = [e.get("extensions", {}).get("code") for e in body.get("errors") or []]
    if profile in allowed:
        assert not codes, body
    else:
        assert codes == ["FORBIDDEN"], body
        assert body["data"] is None  # no zeros that look like data


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("path", sorted(CSV_CELLS))
def test_csv_permission_matrix(api, path, profile):
    status, body = api.csv(path, profile=profile)
    if profile in CSV_CELLS[path]:
        assert status == 200, body
    else:
        assert status == 403 and body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
