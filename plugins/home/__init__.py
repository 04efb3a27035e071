"""The home page panel (SPEC 6.1): what it registers with Tablero.

* capabilities: ``home.view`` (every profile but AGENT), ``home.quick_actions`` (ADMIN, OPERATOR),
  ``home.first_steps.complete`` (ADMIN);
* the root field ``home(asOf)`` and the mutation ``completeFirstStep(key)``;
* CSV sections ``/export/home/daily-volume.csv`` and ``/export/home/geography.csv``;
* the six default quick actions, through the same ``tablero_quick_actions`` hook other plugins
  use to add theirs.
"""

from __future__ import annotations

from tablero import hookimpl

from .csv import SECTIONS
from .queries import DEFAULT_QUICK_ACTIONS
from .schema import HomeMutation, HomeQuery


@hookimpl
def tablero_capabilities():
    return {
        "home.view": ["ADMIN", "OPERATOR", "VIEWER"],
        "home.quick_actions": ["ADMIN", "OPERATOR"],
        "home.first_steps.complete": ["ADMIN"],
    }


@hookimpl
def tablero_query_types():
    return [HomeQuery]


@hookimpl
def tablero_mutation_types():
    return [HomeMutation]


@hookimpl
def tablero_csv_sections():
    return SECTIONS


@hookimpl
def tablero_quick_actions():
    return list(DEFAULT_QUICK_ACTIONS)
