"""Train/test disjointness: which levels of two batches share a layout (identical grids).

Candidates come from `Levels.layout_hash` (uint64 per level, walls and exit opening) matched
with sort + searchsorted; every candidate pair is then confirmed byte for byte, so a hash
collision never reports a false share. Cost: O(n_b log n_b + n_a log n_b) plus the
confirmed pairs; memory is bounded by confirming in chunks.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from fastmaze.validate import check_int, fail

if TYPE_CHECKING:
    from fastmaze.levels import Levels

__all__ = ["OverlapError", "assert_disjoint", "shared_layouts"]

#: Squares compared per confirmation chunk (bounds temporary memory).
_CONFIRM_SQUARES = 1 << 24


def _check_batch(what: str, levels: Any) -> None:
    from fastmaze.levels import Levels

    if not isinstance(levels, Levels):
        raise fail(what, "a Levels batch", levels)


class OverlapError(ValueError):
    """`assert_disjoint` found levels of the two batches with the same layout.

    Its own type, so ``except OverlapError`` tells a real overlap from a bad argument (a
    plain `ValueError`); a subclass of ValueError, so code written to catch ValueError
    still catches it. ``pairs``: int64 [k, 2], the (i in a, j in b) pairs named."""

    def __init__(self, message: str, pairs: np.ndarray) -> None:
        super().__init__(message)
        self.pairs = pairs


def _pairs(a: Levels, b: Levels, threads: int | None) -> Iterator[np.ndarray]:
    """Confirmed pairs (int64 [k, 2], (i in a, j in b)) in chunks, ordered by i then j."""
    if len(a) == 0 or len(b) == 0 or a.shape != b.shape:
        return
    ha = a.layout_hash(threads)
    hb = b.layout_hash(threads)
    order = np.argsort(hb, kind="stable")
    sorted_hb = hb[order]
    lo = np.searchsorted(sorted_hb, ha, side="left")
    hi = np.searchsorted(sorted_hb, ha, side="right")
    rows = np.flatnonzero(hi > lo)  # levels of a whose hash occurs in b
    if not rows.size:
        return
    counts = (hi - lo)[rows]
    ends = np.cumsum(counts)
    squares = a.shape[0] * a.shape[1]
    budget = max(1, _CONFIRM_SQUARES // squares)  # candidate pairs per chunk
    flat_a = a.grid.reshape(len(a), squares)
    flat_b = b.grid.reshape(len(b), squares)
    first = 0
    while first < len(rows):
        done = ends[first - 1] if first else 0
        last = max(first + 1, int(np.searchsorted(ends, done + budget, side="right")))
        r, c = rows[first:last], counts[first:last]
        i = np.repeat(r, c)
        offset = np.arange(len(i)) - np.repeat(np.cumsum(c) - c, c)
        j = order[np.repeat(lo[r], c) + offset]
        same = np.all(flat_a[i] == flat_b[j], axis=1)
        if same.any():
            yield np.stack([i[same], j[same]], axis=1).astype(np.int64)
        first = last


def shared_layouts(a: Levels, b: Levels, *, threads: int | None = None) -> np.ndarray:
    """Index pairs whose grids are identical: int64 [k, 2], rows ``(i, j)`` with
    ``a.grid[i] == b.grid[j]`` byte for byte (walls and exit opening; colours and objects
    are ignored), sorted by i then j. Empty when the board shapes differ."""
    _check_batch("a", a)
    _check_batch("b", b)
    found = list(_pairs(a, b, threads))
    return np.concatenate(found) if found else np.zeros((0, 2), np.int64)


def assert_disjoint(a: Levels, b: Levels, *, threads: int | None = None, show: int = 5) -> None:
    """Raises `OverlapError` if any level of ``a`` has the same grid as a level of ``b``,
    naming the first ``show`` shared pairs by level id (in the order of ``a``). Stops at the
    first chunk of confirmed pairs, so a heavily overlapping pair of batches is cheap to
    reject. Bad arguments raise a plain ValueError."""
    _check_batch("a", a)
    _check_batch("b", b)
    show = check_int("show", show, 0, 2**31 - 1)
    for pairs in _pairs(a, b, threads):
        named = ", ".join(f"a id {a.ids[i]} = b id {b.ids[j]}" for i, j in pairs[:show])
        raise OverlapError(
            f"the batches share layouts; the first shared (a, b) pairs: {named}", pairs[:show]
        )
