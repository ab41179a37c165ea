"""Counterfactual twins: the same layouts with exactly one factor changed.

Each function takes a batch and returns a new `Levels` (every array copied; same ids, spec
and seed) in which one factor differs from the input and every other byte is equal. Feeding
a model a batch and its twin separates what it learned: "go to green" versus "go to the
exit", "go to the top-right corner" versus "go to the exit", and so on.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import numpy as np

from fastmaze.rng import numpy_port
from fastmaze.rng.constants import STREAM_TWIN
from fastmaze.spec import CORNERS, SIDES
from fastmaze.validate import check_choice, check_int, fail

if TYPE_CHECKING:
    from fastmaze.levels import Levels


def _copy(levels: Levels, **changes: Any) -> Levels:
    """A deep copy of a batch with some arrays replaced."""
    arrays = {name: np.array(getattr(levels, name), copy=True) for name in levels.ARRAYS}
    arrays.update(changes)
    return dataclasses.replace(levels, **arrays)


def _color_code(levels: Levels, name: Any, what: str) -> int:
    palette = levels.spec.palette
    if not isinstance(name, str) or name not in palette:
        raise ValueError(f"{what}: unknown colour {name!r}; the palette has {', '.join(palette)}")
    return palette.index(name) + 1


def _check_levels(levels: Any) -> None:
    from fastmaze.levels import Levels

    if not isinstance(levels, Levels):
        raise ValueError(f"levels: expected a Levels batch, got {type(levels).__name__}")


def swap_colors(levels: Levels) -> Levels:
    """The exit's colour and the first decoy's colour swapped.

    For every level with ``n_decoys >= 1``: ``color[exit] <- old color[decoys[0]]`` and
    ``color[decoys[0]] <- old color[exit]``. Levels without decoys, and every other square and
    array, are unchanged (a level whose two colours are equal is unchanged too).
    """
    _check_levels(levels)
    out = _copy(levels)
    has = np.flatnonzero(levels.n_decoys > 0)
    if has.size:
        ex, d0 = levels.exit[has], levels.decoys[has, 0]
        exit_colors = levels.color[has, ex[:, 0], ex[:, 1]]
        decoy_colors = levels.color[has, d0[:, 0], d0[:, 1]]
        out.color[has, ex[:, 0], ex[:, 1]] = decoy_colors
        out.color[has, d0[:, 0], d0[:, 1]] = exit_colors
    return out


def remove_cue(levels: Levels, cue: str = "green") -> Levels:
    """The cue colour removed: every square with colour ``cue`` gets no colour (code 0).

    ``cue`` must be a palette colour name (ValueError otherwise). Walls, objects' positions and
    all other colours are unchanged; a decoy that loses its colour stays a decoy.
    """
    _check_levels(levels)
    code = _color_code(levels, cue, "cue")
    out = _copy(levels)
    out.color[out.color == code] = 0
    return out


# -- move_exit ---------------------------------------------------------------------------------
def twin_below(seed: int, ids: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Uniform integers in [0, n) per level id, a pure function of (seed, id): the first draw
    of the core's SplitMix64 stream ``fm_rng_for(seed, id, FM_STREAM_TWIN)`` followed by
    ``fm_below`` (csrc/rng.h), vectorised. ``ids`` int64 [m], ``n`` [m] (1 ≤ n < 2^32)."""
    return numpy_port.below(numpy_port.rng_for(seed, ids, STREAM_TWIN), n)


def _border(rows: int, cols: int, sides: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Border squares on ``sides`` (int64 [m, 2], board (row, col)) and the cell each one
    opens onto (int64 [m, 2], cell (i, j)), in the order of `MazeSpec.exit_candidates`."""
    H, W = 2 * rows + 1, 2 * cols + 1
    squares, cells = [], []
    for side in SIDES:
        if side not in sides:
            continue
        if side in ("top", "bottom"):
            j = np.arange(cols)
            i = np.zeros(cols, np.int64) if side == "top" else np.full(cols, rows - 1)
            r = np.zeros(cols, np.int64) if side == "top" else np.full(cols, H - 1)
            squares.append(np.stack([r, 2 * j + 1], axis=1))
        else:
            i = np.arange(rows)
            j = np.full(rows, cols - 1) if side == "right" else np.zeros(rows, np.int64)
            c = np.full(rows, W - 1) if side == "right" else np.zeros(rows, np.int64)
            squares.append(np.stack([2 * i + 1, c], axis=1))
        cells.append(np.stack([np.broadcast_to(i, j.shape), np.broadcast_to(j, i.shape)], axis=1))
    return np.concatenate(squares).astype(np.int64), np.concatenate(cells).astype(np.int64)


def _in_region(cells: np.ndarray, k: int, corner: str, rows: int, cols: int) -> np.ndarray:
    """bool [m]: whether cells (i, j) lie in the k × k-cell region at ``corner``."""
    i, j = cells[..., 0], cells[..., 1]
    vertical = i < k if "top" in corner else i >= rows - k
    horizontal = j < k if "left" in corner else j >= cols - k
    return vertical & horizontal


def _exit_cell(exits: np.ndarray, rows: int, cols: int) -> tuple[np.ndarray, np.ndarray]:
    """(cell [n, 2] an exit square opens onto, bool [n] whether it is a non-corner border
    square at all)."""
    H, W = 2 * rows + 1, 2 * cols + 1
    r, c = exits[:, 0].astype(np.int64), exits[:, 1].astype(np.int64)
    vertical_side = (c == 0) | (c == W - 1)
    horizontal_side = (r == 0) | (r == H - 1)
    ok = np.where(horizontal_side, (c % 2 == 1) & ~vertical_side, vertical_side & (r % 2 == 1))
    i = np.where(r == 0, 0, np.where(r == H - 1, rows - 1, (r - 1) // 2))
    j = np.where(c == 0, 0, np.where(c == W - 1, cols - 1, (c - 1) // 2))
    return np.stack([i, j], axis=1), ok


def _region_of(spec: Any, region: Any) -> tuple[int, str]:
    rows, cols = spec.size
    if region is None:
        if spec.exit_region is None:
            raise ValueError(
                "move_exit: the spec (or a mixture component) has no exit_region; "
                "pass region=(k, corner)"
            )
        return spec.exit_region, spec.exit_corner
    try:
        k, corner = region
    except (TypeError, ValueError):
        raise ValueError(f"region: expected (k, corner), got {region!r}") from None
    k = check_int("region k (cells)", k, 1, max(rows, cols))
    return k, check_choice("region corner", corner, CORNERS)


def _sides_of(spec: Any, sides: Any) -> tuple[str, ...]:
    if sides is None:
        return spec.exit_sides
    given = (sides,) if isinstance(sides, str) else sides
    if (
        not isinstance(given, (tuple, list))
        or not given
        or not all(isinstance(s, str) and s in SIDES for s in given)
        or len(set(given)) != len(given)
    ):
        raise fail("sides", f"a side or distinct sides from {', '.join(SIDES)}", sides)
    return tuple(given)


def move_exit(
    levels: Levels,
    region: tuple[int, str] | None = None,
    *,
    sides: str | tuple[str, ...] | None = None,
) -> Levels:
    """The exit moved out of a corner region.

    ``region``: ``(k, corner)``, the k × k-cell region at a corner; default the spec's
    ``(exit_region, exit_corner)`` (per mixture component; ValueError if one has none).
    ``sides``: the sides the new exit may open on; default the spec's ``exit_sides``, so the
    side restriction (another factor) is kept.

    For every level whose exit opens onto a cell inside the region: the old exit square
    becomes wall with no colour, and the new exit square — the border square on ``sides``,
    opening onto a cell outside the region, with index `twin_below(seed, id, m)` among the
    m such squares listed in `MazeSpec.exit_candidates` order — becomes floor with the old
    exit's colour; ``exit`` is updated. The choice depends only on (spec, seed, level id),
    never on the rest of the batch. Levels whose exit is already outside the region are
    unchanged. The new exit opens onto a cell, so it stays reachable from the start; the
    distance to it may change (``min_distance`` is not re-imposed).
    """
    _check_levels(levels)
    spec = levels.spec
    rows, cols = spec.size
    comps = [s for s, _ in spec.components]
    if any(s.false_exits for s in comps):
        raise ValueError(
            "move_exit: the spec has false_exits; a moved exit could open into a sealed region "
            "or onto a false opening, which would break what the levels mean"
        )
    regions = [_region_of(s, region) for s in comps]
    allowed = [_sides_of(s, sides) for s in comps]
    tables = []
    for (k, corner), sd in zip(regions, allowed, strict=True):
        squares, cells = _border(rows, cols, sd)
        outside = squares[~_in_region(cells, k, corner, rows, cols)]
        if not len(outside):
            raise ValueError(
                f"move_exit: no border square on sides {sd} opens onto a cell outside the "
                f"{k}x{k} region at {corner}; allow more sides"
            )
        tables.append(outside)
    counts = np.array([len(t) for t in tables], np.int64)
    padded = np.zeros((len(tables), counts.max(), 2), np.int64)
    for c, t in enumerate(tables):
        padded[c, : len(t)] = t

    comp = levels.component.astype(np.int64)
    cell, on_border = _exit_cell(levels.exit, rows, cols)
    if not on_border.all():
        bad = int(levels.ids[np.flatnonzero(~on_border)[0]])
        raise ValueError(f"move_exit: level id {bad} has its exit off the border squares")
    inside = np.zeros(len(levels), bool)
    for c, (k, corner) in enumerate(regions):
        mine = comp == c
        inside[mine] = _in_region(cell[mine], k, corner, rows, cols)
    move = np.flatnonzero(inside)
    out = _copy(levels)
    if move.size:
        pick = twin_below(levels.seed, levels.ids[move], counts[comp[move]])
        new = padded[comp[move], pick]
        old = levels.exit[move].astype(np.int64)
        colors = levels.color[move, old[:, 0], old[:, 1]]
        out.grid[move, old[:, 0], old[:, 1]] = 1
        out.color[move, old[:, 0], old[:, 1]] = 0
        out.grid[move, new[:, 0], new[:, 1]] = 0
        out.color[move, new[:, 0], new[:, 1]] = colors
        out.exit[move] = new.astype(out.exit.dtype)
    return out
