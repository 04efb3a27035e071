"""The home page's quick actions type, shared with plugins through ``tablero_quick_actions``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class QuickAction:
    key: str
    label: str
    route: str
