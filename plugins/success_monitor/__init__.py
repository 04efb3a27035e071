"""Success monitor (SPEC 6.4, 7): RFM segments of the contacts with orders, their drill-down,
automations for a segment, sales in a period, and the CSV report. ADMIN and OPERATOR only.

What the panel registers:

* capabilities ``success_monitor.view`` (report, CSV) and ``success_monitor.automations``
  (``createAutomation``), both for ADMIN and OPERATOR;
* root field ``successMonitor(filters)`` and mutation ``createAutomation(segment, name)``;
* CSV ``/export/success_monitor/segments.csv`` and ``/export/success_monitor/contacts.csv``;
* the default RFM grid, through ``tablero_rfm_segments`` like any plugin's segment rules
  (a plugin returns :class:`SegmentRule` objects from the same hook to add or replace segments).
"""

from __future__ import annotations

from tablero import hookimpl

from .csv import SECTIONS
from .segments import (
    DEFAULT_SEGMENTS,
    SegmentCategory,
    SegmentGrid,
    SegmentRule,
    compose_segments,
    segment_grid,
)
from .types import SuccessMonitorMutation, SuccessMonitorQuery

__all__ = [
    "DEFAULT_SEGMENTS",
    "SegmentCategory",
    "SegmentGrid",
    "SegmentRule",
    "compose_segments",
    "segment_grid",
]

PANEL_PROFILES = ("ADMIN", "OPERATOR")


@hookimpl
def tablero_capabilities():
    return {
        "success_monitor.view": PANEL_PROFILES,
        "success_monitor.automations": PANEL_PROFILES,
    }


@hookimpl
def tablero_query_types():
    return [SuccessMonitorQuery]


@hookimpl
def tablero_mutation_types():
    return [SuccessMonitorMutation]


@hookimpl
def tablero_csv_sections():
    return SECTIONS


@hookimpl
def tablero_rfm_segments():
    return DEFAULT_SEGMENTS
