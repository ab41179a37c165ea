"""Oracles: exact shortest-path facts of every level, by breadth-first search in the core.

Distances are counted in steps (one step moves to a 4-neighbour floor square); the agent
moves with actions 0 up, 1 right, 2 down, 3 left, and a move into a wall or off the board
stays put. All searches run in C over the whole batch, with the GIL released.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fastmaze import _core
from fastmaze.levels import Levels, default_threads
from fastmaze.validate import check_int

#: `Oracles.optimal_action` where no action brings the exit closer (walls, the exit itself,
#: squares cut off from the exit).
NO_ACTION: int = _core.NO_ACTION


@dataclass(frozen=True, eq=False)
class Oracles:
    """Shortest-path facts of n levels on H × W boards; D = ``levels.decoys.shape[1]``.

    Distances are in steps; -1 means a wall, padding, or no path.

    - ``dist_to_exit``: int16 [n, H, W], steps from each floor square to the exit.
    - ``optimal_actions``: uint8 [n, H, W], bit a set iff action a brings the exit one step
      closer; 0 on walls, on the exit and where the exit is unreachable.
    - ``optimal_action``: uint8 [n, H, W], the lowest optimal action, `NO_ACTION` where none.
    - ``path_length``: int32 [n], steps of a shortest path from the start to the exit.
    - ``decoy_distance``: int32 [n, D], steps from the start to each decoy.
    - ``decoy_to_exit``: int32 [n, D], steps from each decoy to the exit.
    - ``ambiguous``: bool [n], some decoy lies on a shortest start→exit path:
      dist(start, decoy) + dist(decoy, exit) == dist(start, exit).
    - ``decision``: int32 [n, D, 2], board (row, col) where the way to the decoy leaves the
      way to the exit. Walk the *canonical* shortest start→exit path (from the start, always
      the lowest optimal action); the decision square is the last square s on it with
      dist(start, s) + dist(s, decoy) == dist(start, decoy), i.e. the last one that also lies
      on a shortest path to the decoy. It is the start itself if the two ways part at once,
      and the decoy itself if the decoy lies on the canonical path. In a perfect maze it is
      the unique square where the two paths branch. -1 where the decoy or the exit cannot be
      reached from the start.
    """

    dist_to_exit: np.ndarray
    optimal_actions: np.ndarray
    optimal_action: np.ndarray
    path_length: np.ndarray
    decoy_distance: np.ndarray
    decoy_to_exit: np.ndarray
    ambiguous: np.ndarray
    decision: np.ndarray

    def __len__(self) -> int:
        return len(self.path_length)


def _check_squares(what: str, rc: np.ndarray, grid: np.ndarray, used: np.ndarray) -> None:
    """Raises unless every used square of rc [n, K, 2] (mask used [n, K]) is a floor square
    of its level's board."""
    n, H, W = grid.shape
    r, c = rc[..., 0], rc[..., 1]
    inside = (r >= 0) & (r < H) & (c >= 0) & (c < W)
    flat = (np.arange(n)[:, None] * H + np.where(inside, r, 0)) * W + np.where(inside, c, 0)
    wall = grid.reshape(-1).take(flat) != 0
    for bad, why in (
        (used & ~inside, f"outside the {H} x {W} board"),
        (used & wall, "a wall square; it must be a floor square"),
    ):
        if bad.any():
            i, k = np.unravel_index(np.argmax(bad), bad.shape)
            raise ValueError(f"{what} of level {i} is {tuple(rc[i, k].tolist())}, {why}")


def _array(what: str, value: np.ndarray, shape: tuple, dtype: type) -> np.ndarray:
    """value as a C-contiguous array of the given dtype, if its shape (None: any) fits."""
    value = np.asarray(value)
    fits = value.ndim == len(shape) and all(
        s is None or s == v for s, v in zip(shape, value.shape, strict=True)
    )
    if not fits or not (np.issubdtype(value.dtype, np.integer) or value.dtype == bool):
        want = ", ".join("?" if s is None else str(s) for s in shape)
        raise ValueError(
            f"levels.{what}: expected an integer array of shape ({want}), "
            f"got {value.dtype} {value.shape}"
        )
    if value.dtype != dtype and value.size:
        info = np.iinfo(dtype)
        if value.min() < info.min or value.max() > info.max:
            raise ValueError(f"levels.{what}: values do not fit {np.dtype(dtype).name}")
    return np.ascontiguousarray(value, dtype=dtype)


def _typed(levels: Levels) -> tuple[np.ndarray, ...]:
    """(grid, start, exit, decoys, n_decoys) of levels, C-contiguous and typed; shapes and
    dtypes checked, the squares not (`_boards` checks them)."""
    if not isinstance(levels, Levels):
        raise ValueError(f"levels: expected a fastmaze Levels, got {type(levels).__name__}")
    grid = _array("grid", levels.grid, (None, None, None), np.uint8)
    n, H, W = grid.shape
    if H < 1 or W < 1:
        raise ValueError(f"levels.grid: boards of {H} x {W} squares; expected at least 1 x 1")
    return (
        grid,
        _array("start", levels.start, (n, 2), np.int32),
        _array("exit", levels.exit, (n, 2), np.int32),
        _array("decoys", levels.decoys, (n, None, 2), np.int32),
        _array("n_decoys", levels.n_decoys, (n,), np.int32),
    )


def _boards(levels: Levels) -> tuple[np.ndarray, ...]:
    """(grid, start, exit, decoys, n_decoys) of levels, checked, C-contiguous, typed."""
    grid, start, exit_, decoys, n_decoys = _typed(levels)
    n = len(grid)
    D = decoys.shape[1]
    if n and not ((n_decoys >= 0) & (n_decoys <= D)).all():
        raise ValueError(f"levels.n_decoys: expected counts in 0..{D} (decoys.shape[1])")
    one = np.ones((n, 1), bool)
    _check_squares("the start", start[:, None], grid, one)
    _check_squares("the exit", exit_[:, None], grid, one)
    _check_squares("a decoy", decoys, grid, np.arange(D) < n_decoys[:, None])
    return grid, start, exit_, decoys, n_decoys


def _layout(n: int, H: int, W: int, D: int) -> dict[str, tuple[tuple[int, ...], type]]:
    """(shape, dtype) of each `Oracles` array."""
    return {
        "dist_to_exit": ((n, H, W), np.int16),
        "optimal_actions": ((n, H, W), np.uint8),
        "optimal_action": ((n, H, W), np.uint8),
        "path_length": ((n,), np.int32),
        "decoy_distance": ((n, D), np.int32),
        "decoy_to_exit": ((n, D), np.int32),
        "ambiguous": ((n,), np.bool_),
        "decision": ((n, D, 2), np.int32),
    }


def _check_out(out: Oracles, layout: dict[str, tuple[tuple[int, ...], type]]) -> Oracles:
    if not isinstance(out, Oracles):
        raise ValueError(f"out: expected an Oracles, got {type(out).__name__}")
    for name, (shape, dtype) in layout.items():
        a = getattr(out, name)
        if not (
            isinstance(a, np.ndarray)
            and a.shape == shape
            and a.dtype == dtype
            and a.flags.c_contiguous
            and a.flags.writeable
        ):
            raise ValueError(
                f"out.{name}: expected a writeable C-contiguous {np.dtype(dtype).name} array "
                f"of shape {shape}; solve a batch of the same shape once to get one"
            )
    return out


def _solve(
    grid: np.ndarray,
    start: np.ndarray,
    exit_: np.ndarray,
    decoys: np.ndarray,
    n_decoys: np.ndarray,
    threads: int,
    out: Oracles | None = None,
) -> Oracles:
    layout = _layout(*grid.shape, decoys.shape[1])
    if out is None:
        o = Oracles(**{name: np.empty(shape, dtype) for name, (shape, dtype) in layout.items()})
    else:
        o = _check_out(out, layout)
    _core.solve_into(
        grid,
        start,
        exit_,
        decoys,
        n_decoys,
        o.dist_to_exit,
        o.optimal_actions,
        o.optimal_action,
        o.path_length,
        o.decoy_distance,
        o.decoy_to_exit,
        o.ambiguous.view(np.uint8),
        o.decision,
        threads,
    )
    return o


def _threads(threads: int | None) -> int:
    return default_threads() if threads is None else check_int("threads", threads, 1, 4096)


def solve(levels: Levels, threads: int | None = None, *, out: Oracles | None = None) -> Oracles:
    """The `Oracles` of every level (threads: default `default_threads`).

    ``out``: an earlier result for a batch of the same shape, whose arrays are overwritten
    and returned instead of allocating new ones.
    Raises ValueError if levels is not a `Levels`, its arrays have the wrong shapes, or its
    start, exit or decoys are off the board or on walls.
    """
    threads = _threads(threads)
    return _solve(*_boards(levels), threads, out)


def shortest_paths(levels: Levels, threads: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The canonical shortest path of every level: from the start, always the lowest
    optimal action (see `Oracles`), until the exit.

    Returns ``(paths, lengths)``: ``paths`` int32 [n, L, 2], board (row, col) of the squares
    on each path, start and exit included, padded with -1; ``lengths`` int32 [n], the squares
    on each path (``path_length + 1``; 0 where the exit is unreachable); L = max(lengths).
    """
    threads = _threads(threads)
    grid, start, exit_, _, n_decoys = _boards(levels)
    no_decoys = np.empty((len(grid), 0, 2), np.int32)
    o = _solve(grid, start, exit_, no_decoys, n_decoys, threads)
    lengths = np.where(o.path_length >= 0, o.path_length + 1, 0).astype(np.int32)
    paths = np.empty((len(grid), int(lengths.max(initial=0)), 2), np.int32)
    _core.canonical_paths_into(o.optimal_action, start, o.path_length, paths, threads)
    return paths, lengths
