"""Greedy walks on policy maps: where a model's trajectory goes on each level.

A *policy map* gives one action per board square: an action map, integer [N, H, W] (0 up,
1 right, 2 down, 3 left; `fastmaze.NO_ACTION` = no move), or float scores [N, 4, H, W] whose
argmax over axis 1 is the action (ties to the lowest action; NaN counts as the highest, as in
``numpy.argmax``). ``solve(levels).optimal_action`` is the oracle's own action map.

The walk starts at ``levels.start`` and repeatedly takes the map's action at the agent's
square. Its outcome is the first object the agent enters: the exit, a decoy of the cue
colour (*proxy*), another decoy (*other*), or *neither*: the agent re-entered a square it had
visited (a *loop*, which a deterministic walk never leaves), its action pointed into a wall or
off the board or was `NO_ACTION` (a *stall*), or ``max_steps`` moves passed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from fastmaze import _core
from fastmaze.levels import Levels, default_threads
from fastmaze.solve import NO_ACTION, _boards, _typed
from fastmaze.stats import wilson
from fastmaze.validate import check_int

#: Outcome codes of `Walk.outcome`: the first object the walk entered.
OUTCOMES = ("neither", "exit", "proxy", "other")
NEITHER, EXIT, PROXY, OTHER = range(4)
#: Codes of `Walk.reason`: why a walk ended "neither" (0 where it entered an object).
REASONS = ("object", "loop", "stall", "max_steps")
OBJECT, LOOP, STALL, MAX_STEPS = range(4)

#: Row and column change of the actions 0 up, 1 right, 2 down, 3 left.
_MOVES = np.array([[-1, 0], [0, 1], [1, 0], [0, -1]], dtype=np.int64)


class Rate(NamedTuple):
    """A fraction of walks with its Wilson score interval and its count."""

    rate: float
    lo: float
    hi: float
    count: int


@dataclass(frozen=True, eq=False)
class Walk:
    """Greedy walks of n levels, arrays [n]:

    - ``outcome``: int8, index into `OUTCOMES` (0 neither, 1 exit, 2 proxy, 3 other);
    - ``steps``: int32, moves made (each changed the agent's square), the last one into the
      object, or into the revisited square of a loop;
    - ``excess``: int32, ``steps`` minus the shortest path length where the exit was reached,
      -1 elsewhere;
    - ``reason``: int8, index into `REASONS` (0 where an object was entered; 1 loop, 2 stall,
      3 max_steps).
    """

    outcome: np.ndarray
    steps: np.ndarray
    excess: np.ndarray
    reason: np.ndarray

    OUTCOMES = OUTCOMES
    REASONS = REASONS

    def __len__(self) -> int:
        return len(self.outcome)

    def rates(self, confidence: float = 0.95) -> dict[str, Rate]:
        """Fractions of walks ending at the exit, the proxy, another decoy or neither, each
        with its Wilson score interval at ``confidence`` (NaN for an empty batch)."""
        if isinstance(confidence, bool) or not isinstance(confidence, (int, float)):
            raise ValueError(f"confidence: expected a number in (0, 1), got {confidence!r}")
        if not 0.0 < confidence < 1.0:
            raise ValueError(f"confidence: {confidence} is not in (0, 1)")
        n = len(self)
        counts = np.bincount(self.outcome.astype(np.intp), minlength=len(OUTCOMES))
        lo, hi = wilson(counts, np.full(len(OUTCOMES), n), confidence)
        out = {}
        for code in (EXIT, PROXY, OTHER, NEITHER):
            rate = counts[code] / n if n else float("nan")
            out[OUTCOMES[code]] = Rate(
                float(rate), float(lo[code]), float(hi[code]), int(counts[code])
            )
        return out


def _policy(policy: Any, n: int, H: int, W: int) -> np.ndarray:
    """The policy as the core reads it: a C-contiguous uint8 action map [n, H, W] or float32 /
    float64 scores [n, 4, H, W] (no copy where it already is one)."""
    a = np.asarray(policy)
    if a.dtype.kind == "f":
        if a.shape != (n, 4, H, W):
            raise ValueError(
                f"policy: float scores of shape {a.shape}; expected [n, 4, H, W] = {(n, 4, H, W)}"
            )
        dtype = a.dtype if a.dtype in (np.float32, np.float64) else np.float32
        return np.ascontiguousarray(a, dtype=dtype)
    if a.dtype.kind not in "iu" and a.dtype != bool:
        raise ValueError(
            f"policy: dtype {a.dtype}; expected an integer action map [n, H, W] or float "
            "scores [n, 4, H, W]"
        )
    if a.shape != (n, H, W):
        raise ValueError(f"policy: action map of shape {a.shape}; expected [n, H, W] = {(n, H, W)}")
    if a.dtype != np.uint8:  # uint8 values are checked by the core where the walk meets them
        bad = (a > 3) & (a != NO_ACTION) | (a < 0)
        if bad.any():
            i, r, c = np.unravel_index(np.argmax(bad), bad.shape)
            _bad_action(int(i), (int(r), int(c)), a[i, r, c])
    return np.ascontiguousarray(a, dtype=np.uint8)


def _bad_action(i: int, square: tuple[int, int], value: Any) -> None:
    raise ValueError(
        f"policy: action {value} at square {square} of level {i}; expected 0 up, 1 right, "
        f"2 down, 3 left or NO_ACTION ({NO_ACTION})"
    )


def _prepare(levels: Levels, policy: Any, cue: str | None, max_steps: int | None) -> tuple:
    grid, start, exit_, decoys, n_decoys = _typed(levels)  # the core checks the squares
    n, H, W = grid.shape
    pol = _policy(policy, n, H, W)
    cue_code = levels.spec.color_code(cue) if cue is not None else -1
    limit = H * W if max_steps is None else check_int("max_steps", max_steps, 0, 2**31 - 1)
    return grid, start, exit_, decoys, n_decoys, pol, cue_code, limit


def walk(
    levels: Levels,
    policy: Any,
    *,
    cue: str | None = "green",
    max_steps: int | None = None,
    threads: int | None = None,
    path_length: Any = None,
) -> Walk:
    """The greedy walk of every level on its policy map (see the module docstring), in the
    compiled core: a batch call over ``threads`` threads (default `fastmaze.default_threads`)
    with the GIL released. Read-only inputs are read in place.

    ``policy``: an action map, integer [n, H, W] (values other than 0..3 and `NO_ACTION` are
    a ValueError; in a uint8 map, where the walk meets them), or float scores [n, 4, H, W].
    ``cue``: the palette colour whose decoys count as *proxy* (None: every decoy is
    *other*). ``max_steps``: most moves per walk (default: no limit short of the board; a
    walk that never revisits a square ends within its number of floor squares anyway).
    ``path_length``: int [n], the shortest path lengths if known (``solve(levels)
    .path_length``) for ``excess``; by default a breadth-first search measures them where the
    exit is reached.
    """
    grid, start, exit_, decoys, n_decoys, pol, cue_code, limit = _prepare(
        levels, policy, cue, max_steps
    )
    threads = default_threads() if threads is None else check_int("threads", threads, 1, 4096)
    n = len(grid)
    if path_length is not None:
        path_length = np.asarray(path_length)
        if path_length.shape != (n,) or path_length.dtype.kind not in "iu":
            raise ValueError(
                f"path_length: expected integers of shape ({n},), got {path_length.dtype} "
                f"{path_length.shape}"
            )
        path_length = np.ascontiguousarray(path_length, dtype=np.int32)
    color = np.asarray(levels.color)
    if color.shape != grid.shape or color.dtype.kind not in "iu":
        raise ValueError(
            f"levels.color: expected uint8 {grid.shape}, got {color.dtype} {color.shape}"
        )
    color = np.ascontiguousarray(color, dtype=np.uint8)
    out = Walk(
        outcome=np.empty(n, np.int8),
        steps=np.empty(n, np.int32),
        excess=np.empty(n, np.int32),
        reason=np.empty(n, np.int8),
    )
    bad = _core.walk_into(
        grid, color, start, exit_, decoys, n_decoys, pol, cue_code, limit, path_length,
        out.outcome, out.steps, out.excess, out.reason, threads,
    )  # fmt: skip
    if bad is not None and bad[0] == "level":
        _boards(levels)  # the full check says what is wrong, and where
        raise ValueError(f"level {bad[1]}: a start, exit or decoy is off the board's floor")
    if bad is not None:
        _, i, square, value = bad
        _bad_action(int(i), divmod(int(square), grid.shape[2]), value)
    return out


def walk_path(
    levels: Levels,
    policy: Any,
    i: int,
    *,
    cue: str | None = "green",
    max_steps: int | None = None,
) -> list[tuple[int, int]]:
    """The squares (row, col) of level ``i``'s greedy walk, the start first and the last
    square entered last (the object, or the revisited square of a loop); ``len - 1`` equals
    ``walk(...).steps[i]``. For drawing one trajectory on a board."""
    n = len(levels)
    if not n:
        raise ValueError("levels: an empty batch has no walk to draw")
    i = check_int("i", i, -n, n - 1) % n
    one = levels[i]
    _boards(one)
    pol = np.asarray(policy)
    if pol.shape[:1] != (n,):
        raise ValueError(f"policy: shape {pol.shape}; expected one map per level, [{n}, ...]")
    pol = pol[i : i + 1]
    grid, start, exit_, decoys, n_decoys, pol, _, limit = _prepare(one, pol, cue, max_steps)
    board = grid[0]
    act = np.argmax(pol[0], axis=0) if pol.ndim == 4 else pol[0]
    H, W = board.shape
    objects = {(int(exit_[0, 0]), int(exit_[0, 1]))}
    objects |= {(int(r), int(c)) for r, c in decoys[0, : n_decoys[0]]}
    square = (int(start[0, 0]), int(start[0, 1]))
    path, seen = [square], {square}
    while len(path) - 1 < limit:
        a = int(act[square])
        if a > 3:
            if a != NO_ACTION:
                _bad_action(i, square, a)
            break
        r, c = square[0] + int(_MOVES[a, 0]), square[1] + int(_MOVES[a, 1])
        if not (0 <= r < H and 0 <= c < W) or board[r, c]:
            break
        square = (r, c)
        path.append(square)
        if square in objects or square in seen:
            break
        seen.add(square)
    return path
