"""The Numba port of ``csrc/rng.h``: one level's stream, drawn inside a rule's kernel.

A stream is a uint64 array ``state`` of length 3 (SplitMix64 state, bit reservoir, bits
left), the exact mirror of ``fm_rng``; `fastmaze.rng.for_levels` makes one per level.
`next64` is ``fm_next``, `below` is ``fm_below`` (Lemire's multiply-shift on 32 reservoir
bits), `uniform` a 53-bit float of the next draw. Under ``NUMBA_DISABLE_JIT=1`` the same
functions run as Python on Python ints.
"""

from __future__ import annotations

import numpy as np

from fastmaze import jit
from fastmaze.rng.constants import GOLDEN as _GOLDEN_INT
from fastmaze.rng.constants import MASK64 as _MASK
from fastmaze.rng.constants import MIX1, MIX2

if jit.jit_disabled():
    from fastmaze.rng.numpy_port import mix64_int as _mix

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
    _M1 = np.uint64(MIX1)
    _M2 = np.uint64(MIX2)
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
