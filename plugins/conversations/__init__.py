"""New contacts and conversations (SPEC 6.3): what this panel registers.

* capability ``conversations.view`` — ADMIN, OPERATOR, VIEWER and AGENT (an AGENT's figures
  cover only their own conversations: the core's filters scope every query);
* root field ``conversationsReport(filters)`` (:mod:`.report`);
* CSV sections ``/export/conversations/{summary,series,origins,heatmap}.csv`` (:mod:`.csv`).

"Closed" follows the closing-reason rules every plugin contributes through
``tablero_closing_reason_rules``, the same as the resolution report.
"""

from __future__ import annotations

from tablero import PROFILES, hookimpl

from .csv import CSV_SECTIONS
from .report import VIEW, ConversationsQuery


@hookimpl
def tablero_capabilities():
    return {VIEW: PROFILES}


@hookimpl
def tablero_query_types():
    return [ConversationsQuery]


@hookimpl
def tablero_csv_sections():
    return CSV_SECTIONS
