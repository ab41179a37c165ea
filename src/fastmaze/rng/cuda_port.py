"""The CUDA port of ``csrc/rng.h``, the device functions of `fastmaze.cuda`: SplitMix64
streams with a bit reservoir and the stratified (Weyl / Kronecker) factor draws, bit for bit.

Every 64-bit quantity is a ``np.uint64`` and every operand of a 64-bit operation is one too:
mixing uint64 with a signed integer makes Numba (and NumPy) compute in float64. Products
wrap modulo 2^64 as in C. The functions are built by `build` for a given decorator, so the
same source compiles as ``numba.cuda`` device functions, as ``numba.njit`` CPU functions
(tests) and runs as plain Python under the CUDA simulator.

An RNG state is a uint64 array of 3: ``[s, bits, n_bits]`` (``fm_rng``).
"""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace

import numpy as np

from fastmaze.rng import constants as C

U0 = np.uint64(0)
U1 = np.uint64(1)
U27 = np.uint64(27)
U30 = np.uint64(30)
U31 = np.uint64(31)
U32 = np.uint64(32)
U64 = np.uint64(64)
UMAX = np.uint64(C.MASK64)
GOLDEN = np.uint64(C.GOLDEN)
MIX1 = np.uint64(C.MIX1)
MIX2 = np.uint64(C.MIX2)
STREAM_MUL = np.uint64(C.STREAM_MUL)
FACTOR_MUL = np.uint64(C.FACTOR_MUL)
TWO64 = 18446744073709551616.0

STREAM_LAYOUT = np.uint64(C.STREAM_LAYOUT)
STREAM_PLACE = np.uint64(C.STREAM_PLACE)

FACTOR_COMPONENT = C.FACTOR_COMPONENT
FACTOR_N_DECOYS = C.FACTOR_N_DECOYS
FACTOR_N_DISTRACTORS = C.FACTOR_N_DISTRACTORS
FACTOR_DECOY_COLOR = C.FACTOR_DECOY_COLOR
FACTOR_DISTRACTOR_COLOR = C.FACTOR_DISTRACTOR_COLOR

WEYL_ALPHA = np.array(C.WEYL_ALPHA, dtype=np.uint64)
N_SLOT_ALPHA = C.N_SLOT_ALPHA
SLOT_ALPHA = np.array(C.SLOT_ALPHA, dtype=np.uint64)


def build(jit: Callable) -> SimpleNamespace:
    """The RNG functions compiled with ``jit`` (a decorator), as a namespace."""

    @jit
    def mix64(z):
        z = (z ^ (z >> U30)) * MIX1
        z = (z ^ (z >> U27)) * MIX2
        return z ^ (z >> U31)

    @jit
    def rng_for(r, seed, uid, stream):
        """fm_rng_for into the state array r."""
        r[0] = mix64(mix64(seed ^ (stream * STREAM_MUL)) + uid * GOLDEN)
        r[1] = U0
        r[2] = U0

    @jit
    def bits(r, k):
        """fm_bits: the next k (1..32) random bits, as a uint64."""
        kk = np.uint64(k)
        if r[2] < kk:
            r[0] = r[0] + GOLDEN
            r[1] = mix64(r[0])
            r[2] = U64
        out = r[1] & ((U1 << kk) - U1)
        r[1] = r[1] >> kk
        r[2] = r[2] - kk
        return out

    @jit
    def below(r, n):
        """fm_below: uniform in [0, n), n < 2^32, as an int64."""
        return np.int64((bits(r, 32) * np.uint64(n)) >> U32)

    @jit
    def below4(r, n):
        """fm_below4: uniform among n = 1..4 options."""
        if n <= 1:
            return np.int64(0)
        if n == 2:
            return np.int64(bits(r, 1))
        while True:
            v = np.int64(bits(r, 2))
            if v < n:
                return v

    @jit
    def weyl_offset(seed, factor, slot):
        inner = np.uint64(factor + 1) * FACTOR_MUL + np.uint64(slot) * GOLDEN
        return mix64(seed ^ mix64(inner))

    @jit
    def weyl(seed, factor, uid):
        """fm_weyl for FACTOR_COMPONENT .. FACTOR_N_DISTRACTORS."""
        return weyl_offset(seed, factor, 0) + uid * WEYL_ALPHA[factor]

    @jit
    def weyl_slot(seed, half, slot, uid):
        """fm_weyl_slot: colour draw of slot >= 1 of decoys (half 0) or distractors (1)."""
        factor = FACTOR_DISTRACTOR_COLOR if half else FACTOR_DECOY_COLOR
        alpha = SLOT_ALPHA[half * N_SLOT_ALPHA + (slot - 1) % N_SLOT_ALPHA]
        return weyl_offset(seed, factor, slot) + uid * alpha

    @jit
    def pick_index(n, cdf, u):
        """fm_pick_index: the first k with u < cdf[k], the last one otherwise."""
        k = 0
        while k < n - 1 and u >= cdf[k]:
            k += 1
        return k

    @jit
    def rescale(n, cdf, k, u):
        """fm_rescale: where u falls in category k, stretched back to [0, 2^64)."""
        lo = cdf[k - 1] if k > 0 else U0
        hi = cdf[k] if k < n - 1 else UMAX
        if hi <= lo:  # a category rounded to nothing, as in C
            return U0
        x = np.float64(u - lo) / np.float64(hi - lo) * TWO64
        if x >= TWO64:  # 18446744073709551615.0 in C is the same double, 2^64
            return UMAX
        return np.uint64(x)

    return SimpleNamespace(**{k: v for k, v in locals().items() if k != "jit" and callable(v)})
