"""Device ports of ``csrc/rng.h``: SplitMix64 streams with a bit reservoir and the
stratified (Weyl / Kronecker) factor draws, bit for bit.

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

U0 = np.uint64(0)
U1 = np.uint64(1)
U27 = np.uint64(27)
U30 = np.uint64(30)
U31 = np.uint64(31)
U32 = np.uint64(32)
U64 = np.uint64(64)
UMAX = np.uint64(0xFFFFFFFFFFFFFFFF)
GOLDEN = np.uint64(0x9E3779B97F4A7C15)
MIX1 = np.uint64(0xBF58476D1CE4E5B9)
MIX2 = np.uint64(0x94D049BB133111EB)
STREAM_MUL = np.uint64(0xD1B54A32D192ED03)
FACTOR_MUL = np.uint64(0xA0761D6478BD642F)
TWO64 = 18446744073709551616.0

STREAM_LAYOUT = np.uint64(1)
STREAM_PLACE = np.uint64(2)

FACTOR_COMPONENT = 0
FACTOR_N_DECOYS = 1
FACTOR_N_DISTRACTORS = 2
FACTOR_DECOY_COLOR = 3
FACTOR_DISTRACTOR_COLOR = 4

WEYL_ALPHA = np.array([0x6A09E667F3BCC908, 0xBB67AE8584CAA73B, 0x3C6EF372FE94F82B], dtype=np.uint64)
N_SLOT_ALPHA = 32
SLOT_ALPHA = np.array(
    [
        0x1F83D9ABFB41BD6B, 0x5BE0CD19137E2179, 0xCBBB9D5DC1059ED8, 0x629A292A367CD507,
        0x9159015A3070DD17, 0x152FECD8F70E5939, 0x67332667FFC00B31, 0x8EB44A8768581511,
        0xDB0C2E0D64F98FA7, 0x47B5481DBEFA4FA4, 0xAE5F9156E7B6D99B, 0xCF6C85D39D1A1E15,
        0x2F73477D6A4563CA, 0x6D1826CAFD82E1ED, 0x8B43D4570A51B936, 0xE360B596DC380C3F,
        0x1C456002CE13E9F8, 0x6F19633143A0AF0E, 0xD94EBEB1AB313933, 0x0CC4A61194F81760,
        0x261DC1F2B8A998C8, 0x5815A7BE0543C11C, 0x70B7ED67FC9B5C42, 0xA1513C69681AD6D4,
        0x44F9363580E83D02, 0x720DCDFD9DBA5B44, 0xB467369E08EFD70E, 0xCA320B75E2B634F9,
        0x34E0D42E61A33F99, 0x49C7D9BDE4E071F7, 0x87ABB9F2087207ED, 0xC463A2FC42C92B5E,
        0xEC3FC3F38A10EA02, 0x27277F6D1A6F06BE, 0x610BEBF29DB2FAF5, 0x7420B49EDC5A21EE,
        0xD1FD8A3396BDEEE8, 0xE477359432DCA729, 0x092197F60194ADC1, 0x1B530C95F8B3DEF8,
        0x869D6342F6D22822, 0xEEE52E4FB5F41185, 0x11076689F6AFF6B0, 0x21FBA37BBCAD59C3,
        0x43AB9FB62162BB7F, 0x75A9F91D5813E9E8, 0x86305019D3D95C9E, 0xD7CD8173F479197A,
        0x07FE00FF606FAC41, 0x379F513F856FC7A9, 0x66B651A8AB0E883B, 0x764AB8429C65817E,
        0xA4B06BE193B8CE0D, 0xC3578C15393DBE7B, 0xD2962A53C75DE5C1, 0x1E039F40EE65E7F5,
        0x857B7BEE690D3012, 0xA29BF2DEFE493534, 0xB11A32E8D06C3DDC, 0xCDF34E803FD487D1,
        0x318304261D998C2E, 0x5B89092B8FBEF3E8, 0xA0C06A13C70B322B, 0xAE79842F2857AAD9,
    ],
    dtype=np.uint64,
)  # fmt: skip


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
