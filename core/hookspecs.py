"""Every hook a Tablero plugin can implement, in one place.

Implement them in a module or object registered under the ``tablero`` entry-point group::

    from tablero import hookimpl

    @hookimpl
    def tablero_query_types():
        return [MyPanelQuery]

All hooks are called once, at start-up, by :class:`tablero.plugins.Registry` (never per request).
Hooks take keyword arguments only; pluggy lets an implementation accept fewer arguments than the
spec, so new arguments are added at the end without breaking older plugins.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pluggy

hookspec = pluggy.HookspecMarker("tablero")
hookimpl = pluggy.HookimplMarker("tablero")


@hookspec
def tablero_capabilities() -> Mapping[str, Iterable[str]]:
    """Capabilities this plugin defines: ``{"panel.view": ["ADMIN", "OPERATOR"]}``.

    Guard each field with ``permission_classes=[Requires("panel.view")]``; a capability name may be
    declared by one plugin only.
    """


@hookspec
def tablero_query_types() -> Iterable[type]:
    """Strawberry types whose fields become root ``Query`` fields.

    Every field must carry a ``Requires(capability)`` permission; field and type names must not
    clash with another plugin's (start-up fails naming both plugins).
    """


@hookspec
def tablero_mutation_types() -> Iterable[type]:
    """Strawberry types whose fields become root ``Mutation`` fields (same rules as queries)."""


@hookspec
def tablero_csv_sections() -> Iterable[object]:
    """:class:`tablero.CsvSection` objects served at ``GET /export/<plugin>/<name>.csv``."""


@hookspec
def tablero_closing_reason_rules() -> Iterable[object]:
    """:class:`tablero.ClosingReasonRule` objects: contributed reasons, and overrides of whether a
    reason closes a conversation or which category (e.g. "won", "lost") it belongs to."""


@hookspec
def tablero_quick_actions() -> Iterable[object]:
    """:class:`tablero.QuickAction` objects added to the home page's quick actions."""


@hookspec
def tablero_funnel_stages() -> Iterable[object]:
    """Conversion-funnel stages for the contacts behaviour panel
    (:class:`tablero.plugins.contacts_behaviour.FunnelStage`): add a level or replace one by key."""


@hookspec
def tablero_rfm_segments() -> Iterable[object]:
    """RFM segment rules for the success monitor
    (:class:`tablero.plugins.success_monitor.SegmentRule`): add segments or replace the grid."""


@hookspec
def tablero_demo_records(scale: str, seed: int) -> Iterable[Mapping]:
    """Extra demo records (SPEC section 8 dicts) ingested by ``tablero demo`` after the core's."""
