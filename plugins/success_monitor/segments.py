"""RFM segment rules (SPEC section 7): the default recency x frequency grid and how plugins change it.

A segment is a set of cells of the 5 x 5 grid of (R score, F score). The built-in grid below is
contributed through the ``tablero_rfm_segments`` hook by this panel, like any plugin's rules.
Other plugins' rules are merged into it by :func:`compose_segments`, with this precedence:

1. A rule whose ``key`` is a built-in segment's key *replaces* that segment (label, category,
   cells and position all come from the new rule).
2. A rule with a new ``key`` *adds* a segment.
3. Plugin rules win over the built-in grid cell by cell: the cells a plugin rule names are taken
   away from the built-in segments that had them; a built-in segment left with no cell disappears.
   Replacing the whole grid is therefore just contributing rules that cover all 25 cells.
4. Two plugin rules with one key, or naming one cell, are a conflict: :class:`StartupError`
   naming both plugins.
5. The result must cover every (R, F) pair exactly once, else :class:`StartupError` lists the
   uncovered pairs (e.g. a replaced segment that names fewer cells than the one it replaces).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import strawberry
from tablero import StartupError

SCORES = range(1, 6)
ALL_CELLS = frozenset((r, f) for r in SCORES for f in SCORES)
_KEY = re.compile(r"[A-Z][A-Z0-9_]*")


@strawberry.enum(name="SuccessMonitorCategory", description="A summary category of segments.")
class SegmentCategory(enum.Enum):
    BEST = "BEST"
    POTENTIAL = "POTENTIAL"
    PRIORITY = "PRIORITY"


CATEGORY_LABELS = {
    SegmentCategory.BEST: "Best customers",
    SegmentCategory.POTENTIAL: "Have potential",
    SegmentCategory.PRIORITY: "Priority attention",
}


def _scores(value: Iterable[int] | int, what: str) -> frozenset[int]:
    values = frozenset([value] if isinstance(value, int) else value)
    if not values or not values <= set(SCORES):
        raise StartupError(
            f"RFM segment {what} must be a non-empty set of scores 1..5, got {value!r}"
        )
    return values


@dataclass(frozen=True)
class SegmentRule:
    """An RFM segment: the contacts whose R score is in ``r_scores`` and F score in ``f_scores``.

    ``key`` is the API key (``UPPER_SNAKE``), ``label`` what a person reads, ``category`` the
    summary category it sums into (or None), ``position`` its place in the segment table (lowest
    first; the built-in grid uses 10, 20, ... 100). Scores may be given as a set, a ``range`` or a
    single int.
    """

    key: str
    label: str
    category: SegmentCategory | None
    r_scores: frozenset[int]
    f_scores: frozenset[int]
    position: int = 1000

    def __post_init__(self) -> None:
        if not isinstance(self.key, str) or not _KEY.fullmatch(self.key):
            raise StartupError(f"RFM segment key {self.key!r} must be UPPER_SNAKE_CASE")
        if not isinstance(self.label, str) or not self.label.strip():
            raise StartupError(f"RFM segment {self.key} needs a label")
        category = self.category
        if isinstance(category, str):
            try:
                category = SegmentCategory[category]
            except KeyError:
                raise StartupError(
                    f"RFM segment {self.key}: unknown category {category!r}; use one of "
                    f"{', '.join(c.name for c in SegmentCategory)} or None"
                ) from None
        elif category is not None and not isinstance(category, SegmentCategory):
            raise StartupError(f"RFM segment {self.key}: category must be a SegmentCategory")
        object.__setattr__(self, "category", category)
        object.__setattr__(self, "r_scores", _scores(self.r_scores, f"{self.key} r_scores"))
        object.__setattr__(self, "f_scores", _scores(self.f_scores, f"{self.key} f_scores"))

    @property
    def cells(self) -> frozenset[tuple[int, int]]:
        return frozenset((r, f) for r in self.r_scores for f in self.f_scores)


B, P, A = SegmentCategory.BEST, SegmentCategory.POTENTIAL, SegmentCategory.PRIORITY

# SPEC section 7; the article's (Spanish) names are in docs/panels/success_monitor.md.
DEFAULT_SEGMENTS: tuple[SegmentRule, ...] = (
    SegmentRule("CHAMPIONS", "Champions", B, {5}, {4, 5}, 10),
    SegmentRule("LOYAL", "Loyal", B, {3, 4}, {4, 5}, 20),
    SegmentRule("POTENTIAL_LOYALIST", "Potential loyalist", P, {4, 5}, {2, 3}, 30),
    SegmentRule("RECENT", "Recent", P, {5}, {1}, 40),
    SegmentRule("PROMISING", "Promising", None, {4}, {1}, 50),
    SegmentRule("NEED_ATTENTION", "Need attention", A, {3}, {3}, 60),
    SegmentRule("ABOUT_TO_SLEEP", "About to sleep", None, {3}, {1, 2}, 70),
    SegmentRule("AT_RISK", "At risk", A, {1, 2}, {3, 4}, 80),
    SegmentRule("CANT_LOSE", "Can't lose them", A, {1, 2}, {5}, 90),
    SegmentRule("HIBERNATING", "Hibernating", None, {1, 2}, {1, 2}, 100),
)


@dataclass(frozen=True)
class Segment:
    """A segment as used at query time: its rule's identity and the cells it finally owns."""

    key: str
    label: str
    category: SegmentCategory | None
    position: int
    cells: frozenset[tuple[int, int]]
    plugin: str

    @property
    def codes(self) -> list[int]:
        """Cells as ``10 * R + F`` (the form the SQL compares)."""
        return sorted(10 * r + f for r, f in self.cells)


@dataclass(frozen=True)
class SegmentGrid:
    """The composed segments, in table order (Champions first with the default grid)."""

    segments: tuple[Segment, ...]
    by_key: dict[str, Segment] = field(compare=False, repr=False)

    def index(self, key: str) -> int:
        return next(i for i, s in enumerate(self.segments) if s.key == key)

    def category_members(self, category: SegmentCategory) -> list[Segment]:
        return [s for s in self.segments if s.category is category]


def compose_segments(
    contributions: Sequence[tuple[str, object]],
    base: Sequence[SegmentRule] = DEFAULT_SEGMENTS,
) -> SegmentGrid:
    """Merge ``(plugin, rule)`` contributions into the grid (precedence in the module docstring).

    Rules identical to ``base`` ones are the built-in grid; every other rule is a plugin's.
    Raises :class:`StartupError` on a conflict or when a pair is not covered exactly once.
    """
    built_in: list[tuple[str, SegmentRule]] = []
    overrides: dict[str, tuple[str, SegmentRule]] = {}
    claimed: dict[tuple[int, int], tuple[str, SegmentRule]] = {}
    for plugin, rule in contributions:
        if not isinstance(rule, SegmentRule):
            raise StartupError(
                f"plugin {plugin!r} returned {rule!r} from tablero_rfm_segments; "
                "return tablero.plugins.success_monitor.SegmentRule objects"
            )
        if any(rule is b for b in base):
            built_in.append((plugin, rule))
            continue
        if rule.key in overrides:
            other = overrides[rule.key][0]
            raise StartupError(
                f"RFM segment {rule.key} is contributed by both {other!r} and {plugin!r}"
            )
        overrides[rule.key] = (plugin, rule)
        for cell in sorted(rule.cells):
            if cell in claimed:
                other_plugin, other = claimed[cell]
                raise StartupError(
                    f"RFM cell R={cell[0]} F={cell[1]} is claimed by segment {other.key} "
                    f"({other_plugin!r}) and by segment {rule.key} ({plugin!r})"
                )
            claimed[cell] = (plugin, rule)

    segments: list[Segment] = []
    for plugin, rule in overrides.values():
        segments.append(
            Segment(rule.key, rule.label, rule.category, rule.position, rule.cells, plugin)
        )
    for plugin, rule in built_in:
        if rule.key in overrides:
            continue
        cells = rule.cells - claimed.keys()
        if cells:
            segments.append(
                Segment(rule.key, rule.label, rule.category, rule.position, cells, plugin)
            )

    coverage: dict[tuple[int, int], list[str]] = {cell: [] for cell in ALL_CELLS}
    for segment in segments:
        for cell in segment.cells:
            coverage[cell].append(segment.key)
    uncovered = sorted(cell for cell, keys in coverage.items() if not keys)
    doubled = sorted((cell, keys) for cell, keys in coverage.items() if len(keys) > 1)
    if uncovered or doubled:
        problems = []
        if uncovered:
            problems.append("not covered: " + ", ".join(f"R={r} F={f}" for r, f in uncovered))
        if doubled:
            problems.append(
                "covered twice: "
                + ", ".join(f"R={r} F={f} ({' and '.join(keys)})" for (r, f), keys in doubled)
            )
        plugins = sorted({s.plugin for s in segments})
        raise StartupError(
            "RFM segments must cover every (R, F) score pair exactly once; "
            + "; ".join(problems)
            + f" (segments from {', '.join(map(repr, plugins)) or 'no plugin'})"
        )
    segments.sort(key=lambda s: (s.position, s.key))
    return SegmentGrid(tuple(segments), {s.key: s for s in segments})


def segment_grid(registry) -> SegmentGrid:
    """The organization-independent segment grid from a start-up :class:`tablero.plugins.Registry`.

    Cheap (25 cells), so it is composed on use rather than cached: a registry holding a broken
    grid fails the first request that needs segments with the StartupError, and the log says why.
    """
    return compose_segments(registry.rfm_segments)


# The built-in grid must be sound on its own (checked when the module is imported).
DEFAULT_GRID = compose_segments([("success_monitor", rule) for rule in DEFAULT_SEGMENTS])
