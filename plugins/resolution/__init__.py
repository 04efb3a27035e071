"""Resolution panel (SPEC 6.5): why conversations end and how long it takes.

What the panel registers — everything else lives in its modules:

* ``types``: the GraphQL types; ``queries``: the figures, as SQL aggregates;
  ``reasons``: creating, renaming and archiving closing reasons; ``schema``: the root fields;
  ``csv``: the CSV sections.
"""

from __future__ import annotations

from tablero import hookimpl

from .csv import SECTIONS
from .schema import MANAGE_REASONS, VIEW, ResolutionMutation, ResolutionQuery


@hookimpl
def tablero_capabilities():
    # AGENT sees the report scoped to their own conversations (ReportFilters.where does it).
    return {VIEW: ["ADMIN", "OPERATOR", "VIEWER", "AGENT"], MANAGE_REASONS: ["ADMIN"]}


@hookimpl
def tablero_query_types():
    return [ResolutionQuery]


@hookimpl
def tablero_mutation_types():
    return [ResolutionMutation]


@hookimpl
def tablero_csv_sections():
    return SECTIONS
