"""Contacts behaviour panel (SPEC 6.2): what this plugin registers.

* capability ``contacts_behaviour.view`` (ADMIN, OPERATOR);
* root field ``contactsBehaviour(filters)``;
* CSV sections ``/export/contacts_behaviour/<section>.csv``;
* the funnel levels are pluggable: other plugins return :class:`FunnelStage` objects from the
  ``tablero_funnel_stages`` hook (see :mod:`.stages` and docs/panels/contacts_behaviour.md).
"""

from __future__ import annotations

from tablero import hookimpl

from .csv import SECTIONS
from .report import CAPABILITY, ContactsBehaviourQuery
from .stages import DEFAULT_STAGES, STATUS_RANK, FunnelScope, FunnelStage, compose_stages

__all__ = ["DEFAULT_STAGES", "STATUS_RANK", "FunnelScope", "FunnelStage", "compose_stages"]


@hookimpl
def tablero_capabilities():
    return {CAPABILITY: ["ADMIN", "OPERATOR"]}


@hookimpl
def tablero_query_types():
    return [ContactsBehaviourQuery]


@hookimpl
def tablero_csv_sections():
    return SECTIONS
