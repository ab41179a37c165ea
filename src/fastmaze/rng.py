"""Per-level random streams for rules, usable inside Numba kernels.

A stream is a uint64 array ``state`` of length 3 (SplitMix64 state, bit reservoir, bits
left), the exact mirror of ``fm_rng`` in ``csrc/rng.h``: `for_levels` keys it by
``(seed, level id, stream)`` like ``fm_rng_for``, `below` is ``fm_below`` (Lemire's
multiply-shift on 32 reservoir bits), so a draw is a pure function of (seed, id, stream and
the draws before it) whatever the batch, chunking or threads. A rule receives its stream
(rule k of a spec uses stream ``RULE_STREAM + k``) and calls::

    k = fm.rng.below(rng, n)      # uniform int in [0, n), n < 2**32
    u = fm.rng.uniform(rng)       # uniform float in [0, 1), 53 bits

Under ``NUMBA_DISABLE_JIT=1`` the same functions run as Python on Python ints.
"""

from __future__ import annotations

import numpy as np

from fastmaze import jit

#: Stream of rule 0 of a spec; rule k uses RULE_STREAM + k (csrc/rng.h streams are 1..3).
RULE_STREAM = 16
_MASK = (1 << 64) - 1
_GOLDEN_INT = 0x9E3779B97F4A7C15
_STREAM_MUL = 0xD1B54A32D192ED03


def for_levels(seed: int, ids: np.ndarray, stream: int) -> np.ndarray:
    """uint64 [m, 3]: fresh streams of levels ``ids`` (``fm_rng_for(seed, id, stream)``)."""
    from fastmaze.twins import _mix64, _mix64_int

    key = _mix64_int((int(seed) & _MASK) ^ ((int(stream) * _STREAM_MUL) & _MASK))
    ids = np.asarray(ids, dtype=np.int64).astype(np.uint64)
    out = np.zeros((len(ids), 3), np.uint64)
    with np.errstate(over="ignore"):
        out[:, 0] = _mix64(np.uint64(key) + ids * np.uint64(_GOLDEN_INT))
    return out


if jit.jit_disabled():

    def _mix(z: int) -> int:
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
        return z ^ (z >> 31)

    def next64(state: np.ndarray) -> int:
        """The next 64 random bits of the stream (``fm_next``)."""
        s = (int(state[0]) + _GOLDEN_INT) & _MASK
        state[0] = s
        return _mix(s)

    def below(state: np.ndarray, n: int) -> int:
        """Uniform integer in [0, n), 1 <= n < 2**32 (``fm_below``)."""
        if int(state[2]) < 32:
            state[1] = next64(state)
            state[2] = 64
        bits = int(state[1])
        state[1] = bits >> 32
        state[2] = int(state[2]) - 32
        return ((bits & 0xFFFFFFFF) * int(n)) >> 32

    def uniform(state: np.ndarray) -> float:
        """Uniform float in [0, 1) from the next 64-bit draw's top 53 bits."""
        return (next64(state) >> 11) * (1.0 / 9007199254740992.0)

else:
    _GOLDEN = np.uint64(_GOLDEN_INT)
    _M1 = np.uint64(0xBF58476D1CE4E5B9)
    _M2 = np.uint64(0x94D049BB133111EB)
    _S11, _S27, _S30, _S31, _S32 = (np.uint64(k) for k in (11, 27, 30, 31, 32))
    _LOW32 = np.uint64(0xFFFFFFFF)
    _U32, _U64 = np.uint64(32), np.uint64(64)
    _INV53 = 1.0 / 9007199254740992.0

    @jit.kernel
    def _mix(z: np.uint64) -> np.uint64:
        z = (z ^ (z >> _S30)) * _M1
        z = (z ^ (z >> _S27)) * _M2
        return z ^ (z >> _S31)

    @jit.kernel
    def next64(state: np.ndarray) -> np.uint64:
        """The next 64 random bits of the stream (``fm_next``)."""
        state[0] += _GOLDEN
        return _mix(state[0])

    @jit.kernel
    def below(state: np.ndarray, n: int) -> int:
        """Uniform integer in [0, n), 1 <= n < 2**32 (``fm_below``)."""
        if state[2] < _U32:
            state[1] = next64(state)
            state[2] = _U64
        bits = state[1]
        state[1] = bits >> _S32
        state[2] -= _U32
        return np.int64(((bits & _LOW32) * np.uint64(n)) >> _S32)

    @jit.kernel
    def uniform(state: np.ndarray) -> float:
        """Uniform float in [0, 1) from the next 64-bit draw's top 53 bits."""
        return np.float64(next64(state) >> _S11) * _INV53
