"""`OutputRing`: the copies a ``copy=True`` env hands out, made cheaply and never overwritten
while anyone can still see them.

A step's outputs are copied, in one parallel copy (the compiled core, GIL released), into
one of ``depth`` preallocated output sets taken in turn; the set's memory is written once at
construction, so a copy never pays page faults. Before a set is reused, every array of it
that is still referred to from outside the ring (a kept observation, a view of it, a tensor
made with ``torch.from_numpy``, an info dict) is left to its holder and replaced by a fresh
array. So what was returned never changes; a caller that keeps the outputs of at most the
last ``depth - 1`` calls gets them without any allocation, one that keeps more pays one
allocation per kept array (what a plain copy costs anyway).
"""

from __future__ import annotations

import numpy as np

from fastmaze import _core


class OutputRing:
    """``depth`` sets of arrays shaped like ``sources`` (each C-contiguous [n, ...]).

    ``take(k)`` copies the first ``k`` sources into the next set and returns that set's
    first ``k`` arrays, the caller's from then on.
    """

    def __init__(self, sources: list[np.ndarray], threads: int, depth: int = 2) -> None:
        if depth < 2:
            raise ValueError(f"depth: {depth}; expected at least 2 (one held, one written)")
        self.sources = sources
        self.threads = threads
        self.n = len(sources[0])
        self.slots = [[_faulted_like(a) for a in sources] for _ in range(depth)]
        self._next = 0

    def claim(self) -> list[np.ndarray]:
        """The next output set, every array of it free to overwrite (none held by a caller);
        whoever claims it fills it (`take`, or the env's step, which copies inside its own
        parallel region)."""
        slot = self.slots[self._next]
        self._next = (self._next + 1) % len(self.slots)
        for i in _core.held(slot):  # still referred to by a caller: theirs now
            slot[i] = np.empty_like(self.sources[i])
        return slot

    def take(self, k: int) -> list[np.ndarray]:
        """Copies sources[:k] into the next output set; returns its arrays [:k]."""
        slot = self.claim()
        _core.copy_rows(self.sources[:k], slot[:k], self.n, self.threads)
        return slot[:k]


def _faulted_like(a: np.ndarray) -> np.ndarray:
    """An array like ``a`` whose pages are already mapped (written once)."""
    out = np.empty_like(a)
    out.view(np.uint8).reshape(-1)[:] = 0
    return out
