"""Maze specifications: what a stream of levels looks like, declared up front.

A `MazeSpec` fixes the board (size, algorithm, loops) and how each level's content is drawn:
where the exit, the start, the decoys and distractors go and which colours they get. Colour
distributions are categorical over the palette (plus ``None``, no colour) and are realised
per level id, stratified so that any run of >= 1,000 ids matches them within one percentage
point. A `Mixture` draws each level from one of several specs with fixed weights.
"""

from __future__ import annotations

import hashlib
import json
import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np

from fastmaze.validate import check_choice, check_int, check_number, fail

#: Named colours with fixed RGB values. A spec's palette is an ordered subset of these.
COLORS: dict[str, tuple[int, int, int]] = {
    "red": (230, 25, 75),
    "green": (60, 180, 75),
    "blue": (0, 130, 200),
    "yellow": (255, 225, 25),
    "magenta": (240, 50, 230),
    "cyan": (70, 240, 240),
    "orange": (245, 130, 48),
    "purple": (145, 30, 180),
    "brown": (170, 110, 40),
    "pink": (250, 190, 212),
    "lime": (210, 245, 60),
    "teal": (0, 128, 128),
}
DEFAULT_PALETTE: tuple[str, ...] = (
    "red",
    "green",
    "blue",
    "yellow",
    "magenta",
    "cyan",
    "orange",
    "purple",
)

ALGORITHMS = ("backtracker", "kruskal", "prim", "wilson", "open")
SIDES = ("top", "right", "bottom", "left")
CORNERS = ("top_left", "top_right", "bottom_right", "bottom_left")
PLACEMENTS = ("anywhere", "off_path")
MIN_CELLS, MAX_CELLS = 2, 127
MAX_CATEGORIES = 64  # entries of one categorical distribution (the core's FM_MAX_CATS)

ColorDist = str | Mapping[str | None, float] | None
CountDist = int | Mapping[int, float]


def _check_probabilities(what: str, probs: Mapping[Any, float]) -> None:
    if not probs:
        raise ValueError(f"{what}: the distribution is empty; give at least one outcome")
    if len(probs) > MAX_CATEGORIES:
        raise ValueError(f"{what}: {len(probs)} outcomes; at most {MAX_CATEGORIES} are supported")
    for key, p in probs.items():
        check_number(f"{what}: probability of {key!r}", p, 0.0, 1.0)
    total = math.fsum(probs.values())
    if abs(total - 1.0) > 1e-6:
        raise ValueError(f"{what}: probabilities sum to {total:.6g}; they must sum to 1")


def _pairs_to_dict(what: str, pairs: tuple | list) -> dict:
    """Accepts the normalised form ((outcome, probability), ...) of a distribution."""
    try:
        out = {k: p for k, p in pairs}
    except (TypeError, ValueError):
        raise ValueError(
            f"{what}: expected a mapping outcome -> probability, got {pairs!r}"
        ) from None
    if len(out) != len(pairs):
        raise ValueError(f"{what}: an outcome is listed twice")
    return out


def _color_dist(what: str, value: ColorDist, palette: tuple[str, ...]) -> tuple:
    """Normalises a colour distribution to ((name or None, probability), ...)."""
    if value is None:
        return ((None, 1.0),)
    if isinstance(value, str):
        value = {value: 1.0}
    if isinstance(value, (tuple, list)):
        value = _pairs_to_dict(what, value)
    if not isinstance(value, Mapping):
        raise ValueError(
            f"{what}: expected a colour name, None, or a mapping colour -> probability, "
            f"got {type(value).__name__}"
        )
    _check_probabilities(what, value)
    out = []
    for name, p in value.items():
        key = None if name in (None, "none") else name
        if key is not None and key not in palette:
            raise ValueError(
                f"{what}: unknown colour {name!r}; the palette has {', '.join(palette)} "
                "(or None for no colour)"
            )
        out.append((key, float(p)))
    keys = [k for k, _ in out]
    if len(set(keys)) != len(keys):
        raise ValueError(f"{what}: a colour is listed twice")
    return tuple(out)


def _count_dist(what: str, value: CountDist) -> tuple:
    """Normalises a count (int) or a count distribution to ((count, probability), ...)."""
    if isinstance(value, (tuple, list)):
        value = _pairs_to_dict(what, value)
    if isinstance(value, Mapping):
        _check_probabilities(what, value)
        items = list(value.items())
    else:
        items = [(value, 1.0)]
    out = []
    for count, p in items:
        if isinstance(count, bool) or not isinstance(count, numbers.Integral) or count < 0:
            raise ValueError(f"{what}: counts must be non-negative integers, got {count!r}")
        out.append((int(count), float(p)))
    if len({c for c, _ in out}) != len(out):
        raise ValueError(f"{what}: a count is listed twice")
    return tuple(out)


def uniform(colors: tuple[str, ...] | list[str]) -> dict[str, float]:
    """The uniform distribution over the given colour names."""
    colors = list(colors)
    if not colors:
        raise ValueError("uniform() needs at least one colour")
    return {c: 1.0 / len(colors) for c in colors}


@dataclass(frozen=True)
class MazeSpec:
    """A declared distribution of levels.

    Shape-fixing fields: ``size`` (rows, cols) in cells, 2..127 each, giving boards of
    (2·rows+1) × (2·cols+1) squares, and ``palette``. Per-level fields:

    - ``algorithm``: "backtracker" (DFS), "kruskal", "prim", "wilson" (uniform spanning tree)
      or "open" (no inner walls); ``loops``: fraction of the remaining inner walls removed
      after carving (0 = a perfect maze).
    - ``start``: "random" (a uniform cell) or a corner ("top_left", ...); ``min_distance``:
      with a random start, at least this many steps from the exit.
    - ``exit_sides``: the sides the exit may open on; ``exit_region``: if set to k, the exit
      opens next to a cell of the k × k-cell region at ``exit_corner``.
    - ``exit_color``, ``decoy_color``, ``distractor_color``: colour distributions, a mapping
      name -> probability (``None`` = no colour), a single name, or None.
    - ``n_decoys``, ``n_distractors``: a count or a mapping count -> probability. Decoys are
      recorded by position; distractors only colour cells. Start, decoys and distractors
      occupy distinct cells; the exit is a border square and never one of them.
    - ``rules``: user rules (`fastmaze.rule`) run in order on each level after placement
      (`fastmaze.rules`); recorded by qualified name and probability in `to_dict`.
    - ``decoy_placement``: "anywhere" (a uniform free cell) or "off_path": every decoy is off
      every shortest start→exit path, the exit is off the shortest paths start→decoy, and the
      two ways part at least ``branch`` steps (default 1) before either target, so going to
      the decoy and going to the exit are different behaviours from the branching square on.
    - ``false_exits``: k more openings in the outer wall, drawn from the same candidate
      squares as the exit (``exit_sides``, ``exit_region``) and left uncoloured, each sealed
      off from the start: every square closer to the opening than to the canonical
      start→exit path is walled off from the rest, so the start's region touches only the
      true exit, and "which opening is the exit" needs connectivity. Decoys and distractors
      lie in the start's region.

    With off-path decoys or false exits, a layout that admits no placement is drawn again
    from sub-streams keyed by (seed, id, attempt), at most 64 attempts; a level that needs no
    retry keeps the carving, exit and start of the same spec without these options, and
    colours and counts never depend on the attempt (the stratification is unchanged). A spec
    that provably can never be met is a ValueError here; a level whose attempts all fail is
    a RuntimeError at generation naming its id.
    """

    size: tuple[int, int] = (6, 6)
    algorithm: str = "backtracker"
    loops: float = 0.0
    start: str = "random"
    min_distance: int = 0
    exit_sides: tuple[str, ...] = SIDES
    exit_region: int | None = None
    exit_corner: str = "top_right"
    exit_color: ColorDist = None
    n_decoys: CountDist = 0
    decoy_color: ColorDist = None
    n_distractors: CountDist = 0
    distractor_color: ColorDist = None
    palette: tuple[str, ...] = field(default=DEFAULT_PALETTE)
    rules: tuple = ()
    decoy_placement: str = "anywhere"
    branch: int = 1
    false_exits: int = 0

    def __post_init__(self) -> None:
        set_ = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731
        size = self.size
        if isinstance(size, numbers.Integral) and not isinstance(size, bool):
            size = (size, size)
        try:
            rows, cols = (int(s) for s in size)
            if any(isinstance(s, bool) or not isinstance(s, numbers.Integral) for s in size):
                raise TypeError
        except (TypeError, ValueError):
            raise ValueError(f"size: expected (rows, cols) in cells, got {self.size!r}") from None
        for what, v in (("rows", rows), ("cols", cols)):
            if not MIN_CELLS <= v <= MAX_CELLS:
                raise fail("size", f"{what} in {MIN_CELLS}..{MAX_CELLS} cells", v)
        set_("size", (rows, cols))

        palette = self.palette
        names = isinstance(palette, (tuple, list)) and all(isinstance(c, str) for c in palette)
        if (
            not names
            or not palette
            or any(c not in COLORS for c in palette)
            or (len(set(palette)) != len(palette))
        ):
            raise fail("palette", f"a sequence of distinct names from {', '.join(COLORS)}", palette)
        palette = tuple(palette)
        set_("palette", palette)

        check_choice("algorithm", self.algorithm, ALGORITHMS)
        if isinstance(self.loops, bool) or not isinstance(self.loops, numbers.Real):
            raise ValueError(f"loops: expected a fraction in [0, 1], got {self.loops!r}")
        if not 0.0 <= self.loops <= 1.0:
            raise ValueError(f"loops: {self.loops} is not a fraction in [0, 1]")
        set_("loops", float(self.loops))

        check_choice("start", self.start, ("random", *CORNERS))
        md = self.min_distance
        if isinstance(md, bool) or not isinstance(md, numbers.Integral) or md < 0:
            raise ValueError(f"min_distance: expected a non-negative integer, got {md!r}")
        if md and self.start != "random":
            raise ValueError("min_distance needs start='random'; a corner start is fixed")
        bound = rows + cols + min(rows, cols) - 2
        if md > bound:
            raise ValueError(
                f"min_distance: {md} steps cannot be guaranteed on a {rows}x{cols} maze; "
                f"at most {bound} is always reachable"
            )
        set_("min_distance", int(md))

        sides = (self.exit_sides,) if isinstance(self.exit_sides, str) else self.exit_sides
        if (
            not isinstance(sides, (tuple, list))
            or not sides
            or not all(isinstance(s, str) and s in SIDES for s in sides)
            or len(set(sides)) != len(sides)
        ):
            raise fail("exit_sides", f"a side or distinct sides from {SIDES}", self.exit_sides)
        set_("exit_sides", tuple(s for s in SIDES if s in sides))
        check_choice("exit_corner", self.exit_corner, CORNERS)
        k = self.exit_region
        if k is not None:
            set_("exit_region", check_int("exit_region", k, 1, max(rows, cols)))
        if not self.exit_candidates():
            raise ValueError(
                f"no border square fits exit_sides={self.exit_sides} with exit_region={k} at "
                f"{self.exit_corner}; allow a side that touches that corner"
            )

        set_("exit_color", _color_dist("exit_color", self.exit_color, palette))
        set_("decoy_color", _color_dist("decoy_color", self.decoy_color, palette))
        set_("distractor_color", _color_dist("distractor_color", self.distractor_color, palette))
        if self.rules != ():
            from fastmaze.rules import check_rules

            set_("rules", check_rules(self.rules))
        set_("n_decoys", _count_dist("n_decoys", self.n_decoys))
        set_("n_distractors", _count_dist("n_distractors", self.n_distractors))
        most = 1 + self.max_decoys + max(c for c, _ in self.n_distractors)
        if most > rows * cols:
            raise ValueError(
                f"n_decoys/n_distractors: up to {most - 1} objects plus the start need {most} "
                f"distinct cells, but a {rows}x{cols} maze has {rows * cols}"
            )
        _check_placement(self)

    # -- derived ---------------------------------------------------------------------------
    @property
    def rows(self) -> int:
        return self.size[0]

    @property
    def cols(self) -> int:
        return self.size[1]

    @property
    def shape(self) -> tuple[int, int]:
        """Board shape (H, W) in squares, walls included."""
        return 2 * self.size[0] + 1, 2 * self.size[1] + 1

    @property
    def max_decoys(self) -> int:
        return max(c for c, _ in self.n_decoys)

    @property
    def has_rules(self) -> bool:
        """Whether user rules (`fastmaze.rules`) run after the core's placement."""
        return bool(self.rules)

    @property
    def components(self) -> tuple[tuple[MazeSpec, float], ...]:
        """A spec is a one-component mixture."""
        return ((self, 1.0),)

    def exit_candidates(self) -> list[tuple[int, int]]:
        """Board squares (row, col) where this spec may open the exit."""
        rows, cols = self.size
        H, W = self.shape
        k = self.exit_region

        def in_region(i: int, j: int) -> bool:
            if k is None:
                return True
            vertical = i < k if "top" in self.exit_corner else i >= rows - k
            horizontal = j < k if "left" in self.exit_corner else j >= cols - k
            return vertical and horizontal

        out = []
        if "top" in self.exit_sides:
            out += [(0, 2 * j + 1) for j in range(cols) if in_region(0, j)]
        if "right" in self.exit_sides:
            out += [(2 * i + 1, W - 1) for i in range(rows) if in_region(i, cols - 1)]
        if "bottom" in self.exit_sides:
            out += [(H - 1, 2 * j + 1) for j in range(cols) if in_region(rows - 1, j)]
        if "left" in self.exit_sides:
            out += [(2 * i + 1, 0) for i in range(rows) if in_region(i, 0)]
        return out

    def color_code(self, name: str | None) -> int:
        """Code of a colour in ``Levels.color``: 0 for None, k for ``palette[k - 1]``."""
        if name is None:
            return 0
        if name not in self.palette:
            raise ValueError(f"unknown colour {name!r}; the palette has {', '.join(self.palette)}")
        return self.palette.index(name) + 1

    def replace(self, **changes: Any) -> MazeSpec:
        """A copy with some fields changed (validated again)."""
        d = self.to_dict()
        d["rules"] = self.rules  # kept as objects: no re-import
        d.update(changes)
        return MazeSpec.from_dict(d)

    # -- serialisation -----------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict from which `from_dict` rebuilds an equal spec."""
        d = asdict(self)
        for key in ("exit_color", "decoy_color", "distractor_color"):
            d[key] = [[name, p] for name, p in getattr(self, key)]
        for key in ("n_decoys", "n_distractors"):
            d[key] = [[c, p] for c, p in getattr(self, key)]
        d["size"] = list(self.size)
        d["exit_sides"] = list(self.exit_sides)
        d["palette"] = list(self.palette)
        if self.rules:  # left out when empty, so digests of rule-free specs do not change
            d["rules"] = [r.to_json() for r in self.rules]
        else:
            del d["rules"]
        for key, default in _LATER_DEFAULTS.items():  # likewise: older digests stay valid
            if d[key] == default:
                del d[key]
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], rules: Sequence[Any] | None = None) -> MazeSpec:
        """The spec of a `to_dict` dict. Recorded rules are matched against ``rules`` (the
        caller's `fastmaze.rule` objects, by name and source digest); with ``rules=None``
        they are re-imported by name, for dicts this program made (see `rule_from_json`)."""
        if not isinstance(d, Mapping):
            raise ValueError(f"MazeSpec: expected a mapping of fields, got {type(d).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown MazeSpec fields: {', '.join(sorted(unknown))}")
        d = dict(d)
        for key in ("exit_color", "decoy_color", "distractor_color", "n_decoys", "n_distractors"):
            if isinstance(d.get(key), list):
                d[key] = {k: p for k, p in d[key]}
        if isinstance(d.get("size"), list):
            d["size"] = tuple(d["size"])
        if isinstance(d.get("rules"), list):
            from fastmaze.rules import rule_from_json

            d["rules"] = tuple(rule_from_json(r, rules) for r in d["rules"])
        return cls(**d)

    def digest(self) -> str:
        """A stable 16-hex-digit hash of the spec, for file and cache names."""
        return _digest({"MazeSpec": self.to_dict()})

    # -- compilation for the core -----------------------------------------------------------
    def _c_params(self) -> dict[str, Any]:
        code = self.color_code
        return {
            "rows": self.rows,
            "cols": self.cols,
            "algorithm": ALGORITHMS.index(self.algorithm),
            "loops": self.loops,
            "start_corner": -1 if self.start == "random" else CORNERS.index(self.start),
            "min_distance": self.min_distance,
            "exit_sides": sum(1 << SIDES.index(s) for s in self.exit_sides),
            "exit_region": self.exit_region or 0,
            "exit_corner": CORNERS.index(self.exit_corner),
            "exit_color": core_cdf([(code(c), p) for c, p in self.exit_color]),
            "n_decoys": core_cdf(self.n_decoys),
            "decoy_color": core_cdf([(code(c), p) for c, p in self.decoy_color]),
            "n_distractors": core_cdf(self.n_distractors),
            "distractor_color": core_cdf([(code(c), p) for c, p in self.distractor_color]),
            "decoy_placement": PLACEMENTS.index(self.decoy_placement),
            "branch": self.branch,
            "false_exits": self.false_exits,
        }


#: Fields added after the first file format, left out of `MazeSpec.to_dict` at their default.
_LATER_DEFAULTS = {"decoy_placement": "anywhere", "branch": 1, "false_exits": 0}


def _cell_of(spec: MazeSpec, square: tuple[int, int]) -> tuple[int, int]:
    """The cell (i, j) next to a border square of the board."""
    r, c = square
    H, W = spec.shape
    r = 1 if r == 0 else H - 2 if r == H - 1 else r
    c = 1 if c == 0 else W - 2 if c == W - 1 else c
    return (r - 1) // 2, (c - 1) // 2


def _corner_cell(spec: MazeSpec) -> tuple[int, int] | None:
    if spec.start == "random":
        return None
    return (
        0 if "top" in spec.start else spec.rows - 1,
        0 if "left" in spec.start else spec.cols - 1,
    )


def _check_placement(spec: MazeSpec) -> None:
    """Validates decoy_placement, branch and false_exits, and refuses what no layout can meet
    (necessary conditions: each holds for every layout, start and exit the spec allows)."""
    set_ = lambda name, value: object.__setattr__(spec, name, value)  # noqa: E731
    if spec.decoy_placement not in PLACEMENTS:
        raise ValueError(
            f"decoy_placement: unknown {spec.decoy_placement!r}; expected one of "
            f"{', '.join(PLACEMENTS)}"
        )
    for name in ("branch", "false_exits"):
        v = getattr(spec, name)
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < (name == "branch"):
            lo = "a positive" if name == "branch" else "a non-negative"
            raise ValueError(f"{name}: expected {lo} integer, got {v!r}")
        set_(name, int(v))
    rows, cols = spec.size
    start = _corner_cell(spec)
    exit_cells = [_cell_of(spec, sq) for sq in spec.exit_candidates()]

    k = spec.false_exits
    if k:
        fit = max(sum(c != e and c != start for c in exit_cells) for e in exit_cells)
        if k > fit:
            raise ValueError(
                f"false_exits: {k} sealed openings do not fit; with exit_sides="
                f"{spec.exit_sides}, exit_region={spec.exit_region} and start={spec.start!r} "
                f"at most {fit} candidate squares lie next to a cell other than the exit's "
                "and the start's"
            )

    if spec.decoy_placement == "anywhere":
        if spec.branch != 1:
            raise ValueError("branch needs decoy_placement='off_path'")
        return
    b = spec.branch
    floor = (2 * rows - 1) * (2 * cols - 1) + 1 + k
    if 2 * b + 1 > floor:
        raise ValueError(
            f"branch: {b} steps on both ways from where they part need at least "
            f"{2 * b + 1} floor squares; a {rows}x{cols} maze has at most {floor}"
        )
    if start is not None and b > 1 and all(e == start for e in exit_cells):
        raise ValueError(
            f"branch: {b}; the exit always opens next to the start cell {start}, one "
            "step away, so the ways part at most 1 step before it; use branch=1"
        )
    best = 0
    for e in exit_cells:
        best = max(best, _off_path_room(spec, start, e))
        if best >= spec.max_decoys:
            break
    if best < spec.max_decoys:
        raise ValueError(
            f"decoy_placement='off_path': {spec.max_decoys} decoys need as many cells off the "
            f"way from the start {spec.start!r} to the exit, at least {b} steps from where the "
            f"ways part, but this spec leaves at most {best}"
        )


def _off_path_room(spec: MazeSpec, start: tuple[int, int] | None, e: tuple[int, int]) -> int:
    """An upper bound on the cells that can hold an off-path decoy (``spec.branch`` steps
    from where the ways part) when the exit opens next to cell e, over every layout."""
    rows, cols = spec.size
    b = spec.branch
    no_walls = spec.algorithm == "open" or spec.loops == 1.0
    if no_walls and start is not None and not spec.false_exits:
        # Every monotone path is shortest: the ways to the exit fill the box between the
        # start and e; a decoy outside parts from them where it projects onto the box.
        i, j = np.mgrid[:rows, :cols]
        lo, hi = np.minimum(start, e), np.maximum(start, e)
        pi, pj = np.clip(i, lo[0], hi[0]), np.clip(j, lo[1], hi[1])
        away = 2 * (abs(i - pi) + abs(j - pj))
        to_exit = 2 * (abs(pi - e[0]) + abs(pj - e[1])) + 1
        return int(((away >= b) & (to_exit >= b)).sum())
    if no_walls:  # sealing walls may cut shortest paths anywhere: only the start is certain
        return rows * cols - 1
    # Squares alternate cell / passage and the ways part at a cell: the canonical path holds
    # at least the cells of a monotone lattice path and those of an exit leg of >= b steps;
    # the first decoy's own leg holds ceil(b / 2) cells, the decoy last.
    lattice = abs(start[0] - e[0]) + abs(start[1] - e[1]) if start is not None else 0
    on_path = max(lattice + 1, 1 + b // 2)
    return rows * cols - on_path - ((b + 1) // 2 - 1)


def core_cdf(dist: tuple) -> tuple[list[int], list[int]]:
    """(values, cumulative thresholds out of 2^64) for the core, zero-probability entries
    dropped; the last threshold is 2^64 - 1 so rounding never loses mass."""
    kept = [(v, p) for v, p in dist if p > 0]
    total = math.fsum(p for _, p in kept)
    values, cdf, acc = [], [], 0.0
    for v, p in kept:
        acc += p / total
        values.append(int(v))
        cdf.append(min(round(acc * 2.0**64), 2**64 - 1))
    cdf[-1] = 2**64 - 1
    return values, cdf


def _digest(obj: Any) -> str:
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Mixture:
    """A level stream drawn from several specs: level i comes from component k with
    probability ``weights[k]``, stratified over ids like every other factor, and each level
    records its component. All components share size and palette (the board shape)."""

    components: tuple[tuple[MazeSpec, float], ...]

    def __post_init__(self) -> None:
        given = self.components
        if not isinstance(given, (tuple, list)) or not given:
            raise fail("Mixture.components", "a non-empty sequence of (spec, weight)", given)
        comps = []
        for k, c in enumerate(given):
            if not isinstance(c, (tuple, list)) or len(c) != 2:
                raise fail(f"Mixture.components[{k}]", "a (MazeSpec, weight) pair", c)
            s, w = c
            if not isinstance(s, MazeSpec):
                raise fail(f"Mixture.components[{k}] spec", "a MazeSpec", s)
            comps.append((s, check_number(f"Mixture.components[{k}] weight", w, 0.0, 1.0)))
        comps = tuple(comps)
        _check_probabilities("Mixture weights", {i: w for i, (_, w) in enumerate(comps)})
        first = comps[0][0]
        for s, _ in comps[1:]:
            if s.size != first.size or s.palette != first.palette:
                raise ValueError(
                    "Mixture: all components must share size and palette "
                    f"({first.size}, {first.palette}); got {s.size}, {s.palette}"
                )
        object.__setattr__(self, "components", comps)

    @classmethod
    def of(cls, *components: tuple[MazeSpec, float]) -> Mixture:
        """``Mixture.of((spec_a, 0.98), (spec_b, 0.02))``."""
        return cls(tuple(components))

    @property
    def size(self) -> tuple[int, int]:
        return self.components[0][0].size

    @property
    def shape(self) -> tuple[int, int]:
        return self.components[0][0].shape

    @property
    def palette(self) -> tuple[str, ...]:
        return self.components[0][0].palette

    @property
    def max_decoys(self) -> int:
        return max(s.max_decoys for s, _ in self.components)

    @property
    def has_rules(self) -> bool:
        return any(s.has_rules for s, _ in self.components)

    def color_code(self, name: str | None) -> int:
        return self.components[0][0].color_code(name)

    def to_dict(self) -> dict[str, Any]:
        return {"components": [[s.to_dict(), w] for s, w in self.components]}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], rules: Sequence[Any] | None = None) -> Mixture:
        """The mixture of a `to_dict` dict; ``rules`` as in `MazeSpec.from_dict`."""
        comps = d.get("components") if isinstance(d, Mapping) else None
        if not isinstance(comps, (list, tuple)) or set(d) != {"components"}:
            raise ValueError(
                f"Mixture: expected {{'components': [[spec, weight], ...]}}, got {d!r}"
            )
        pairs = []
        for k, c in enumerate(comps):
            if not isinstance(c, (list, tuple)) or len(c) != 2:
                raise ValueError(f"Mixture.components[{k}]: expected [spec, weight], got {c!r}")
            pairs.append((MazeSpec.from_dict(c[0], rules), c[1]))
        return cls(tuple(pairs))

    def digest(self) -> str:
        return _digest({"Mixture": self.to_dict()})


AnySpec = MazeSpec | Mixture


def spec_to_dict(spec: AnySpec) -> dict[str, Any]:
    """JSON-ready form of a spec or mixture, tagged with its kind."""
    if isinstance(spec, Mixture):
        return {"kind": "mixture", **spec.to_dict()}
    return {"kind": "spec", **spec.to_dict()}


def spec_from_dict(d: Mapping[str, Any], rules: Sequence[Any] | None = None) -> AnySpec:
    """Inverse of `spec_to_dict`; ``rules`` as in `MazeSpec.from_dict`."""
    if not isinstance(d, Mapping):
        raise ValueError(f"spec: expected a mapping, got {type(d).__name__}")
    d = dict(d)
    kind = d.pop("kind", "spec")
    if kind == "mixture":
        return Mixture.from_dict(d, rules)
    if kind == "spec":
        return MazeSpec.from_dict(d, rules)
    raise fail("spec kind", "'spec' or 'mixture'", kind)
