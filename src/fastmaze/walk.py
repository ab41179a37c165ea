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

from fastmaze.levels import Levels, _check_int, default_threads
from fastmaze.solve import NO_ACTION, _boards, solve
from fastmaze.stats import wilson

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


def _action_map(policy: Any, n: int, H: int, W: int) -> np.ndarray:
    """The policy as a C-contiguous uint8 action map [n, H, W] (0..3, NO_ACTION)."""
    a = np.asarray(policy)
    if a.dtype.kind == "f":
        if a.shape != (n, 4, H, W):
            raise ValueError(
                f"policy: float scores of shape {a.shape}; expected [n, 4, H, W] = {(n, 4, H, W)}"
            )
        return np.ascontiguousarray(np.argmax(a, axis=1).astype(np.uint8))
    if a.dtype.kind not in "iu" and a.dtype != bool:
        raise ValueError(
            f"policy: dtype {a.dtype}; expected an integer action map [n, H, W] or float "
            "scores [n, 4, H, W]"
        )
    if a.shape != (n, H, W):
        raise ValueError(f"policy: action map of shape {a.shape}; expected [n, H, W] = {(n, H, W)}")
    bad = (a > 3) & (a != NO_ACTION) | (a < 0)
    if bad.any():
        i, r, c = np.unravel_index(np.argmax(bad), bad.shape)
        raise ValueError(
            f"policy: action {a[i, r, c]} at square {(int(r), int(c))} of level {int(i)}; "
            f"expected 0 up, 1 right, 2 down, 3 left or NO_ACTION ({NO_ACTION})"
        )
    return np.ascontiguousarray(a, dtype=np.uint8)


def _prepare(levels: Levels, policy: Any, cue: str, max_steps: int | None) -> tuple:
    grid, start, exit_, decoys, n_decoys = _boards(levels)
    n, H, W = grid.shape
    actions = _action_map(policy, n, H, W)
    cue_code = levels.spec.color_code(cue) if cue is not None else -1
    limit = H * W if max_steps is None else _check_int("max_steps", max_steps, 0, 2**31 - 1)
    return grid, start, exit_, decoys, n_decoys, actions, cue_code, limit


def walk(
    levels: Levels,
    policy: Any,
    *,
    cue: str | None = "green",
    max_steps: int | None = None,
    threads: int | None = None,
) -> Walk:
    """The greedy walk of every level on its policy map (see the module docstring).

    ``policy``: an action map, integer [n, H, W], or float scores [n, 4, H, W].
    ``cue``: the palette colour whose decoys count as *proxy* (None: every decoy is
    *other*). ``max_steps``: most moves per walk (default: no limit short of the board; a
    walk that never revisits a square ends within its number of floor squares anyway).
    ``threads``: default `fastmaze.default_threads`.
    """
    grid, start, exit_, decoys, n_decoys, actions, cue_code, limit = _prepare(
        levels, policy, cue, max_steps
    )
    threads = default_threads() if threads is None else _check_int("threads", threads, 1, 4096)
    n, H, W = grid.shape
    D = decoys.shape[1]
    color = np.asarray(levels.color)
    rows = np.arange(n)
    pos = start.astype(np.int64)
    outcome = np.zeros(n, np.int8)
    reason = np.zeros(n, np.int8)
    steps = np.zeros(n, np.int32)
    visited = np.zeros((n, H, W), bool)
    visited[rows, pos[:, 0], pos[:, 1]] = True
    live = np.ones(n, bool)
    if limit == 0:
        reason[:] = MAX_STEPS
        live[:] = False
    # proxy/other code of each decoy slot, 0 past n_decoys
    used = np.arange(D)[None, :] < n_decoys[:, None]
    dcol = color[rows[:, None], np.maximum(decoys[..., 0], 0), np.maximum(decoys[..., 1], 0)]
    dcode = np.where(used, np.where(dcol == cue_code, PROXY, OTHER), NEITHER).astype(np.int8)
    while live.any():
        idx = np.flatnonzero(live)
        p = pos[idx]
        a = actions[idx, p[:, 0], p[:, 1]]
        move = np.where(a[:, None] < 4, _MOVES[np.minimum(a, 3)], 0)
        t = p + move
        inside = (t[:, 0] >= 0) & (t[:, 0] < H) & (t[:, 1] >= 0) & (t[:, 1] < W)
        tr, tc = np.clip(t[:, 0], 0, H - 1), np.clip(t[:, 1], 0, W - 1)
        moves = (a < 4) & inside & (grid[idx, tr, tc] == 0)
        stall = idx[~moves]
        reason[stall] = STALL
        live[stall] = False
        idx, tr, tc = idx[moves], tr[moves], tc[moves]
        pos[idx, 0], pos[idx, 1] = tr, tc
        steps[idx] += 1
        at_exit = (tr == exit_[idx, 0]) & (tc == exit_[idx, 1])
        hit = (decoys[idx, :, 0] == tr[:, None]) & (decoys[idx, :, 1] == tc[:, None]) & used[idx]
        obj = np.where(
            at_exit, EXIT, np.where(hit.any(axis=1), dcode[idx, np.argmax(hit, axis=1)], 0)
        )
        outcome[idx] = obj
        ended = obj != NEITHER
        loop = ~ended & visited[idx, tr, tc]
        reason[idx[loop]] = LOOP
        out_of_steps = ~ended & ~loop & (steps[idx] >= limit)
        reason[idx[out_of_steps]] = MAX_STEPS
        visited[idx, tr, tc] = True
        live[idx[ended | loop | out_of_steps]] = False
    excess = np.full(n, -1, np.int32)
    reached = outcome == EXIT
    if reached.any():
        excess[reached] = steps[reached] - solve(levels[reached], threads).path_length
    return Walk(outcome, steps, excess, reason)


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
    i = _check_int("i", i, -n, n - 1) % n
    one = levels[i]
    pol = np.asarray(policy)[i : i + 1]
    grid, start, exit_, decoys, n_decoys, actions, _, limit = _prepare(one, pol, cue, max_steps)
    board, act = grid[0], actions[0]
    H, W = board.shape
    objects = {(int(exit_[0, 0]), int(exit_[0, 1]))}
    objects |= {(int(r), int(c)) for r, c in decoys[0, : n_decoys[0]]}
    square = (int(start[0, 0]), int(start[0, 1]))
    path, seen = [square], {square}
    while len(path) - 1 < limit:
        a = int(act[square])
        if a > 3:
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
