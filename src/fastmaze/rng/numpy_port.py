"""The numpy port of ``csrc/rng.h``: the same draws vectorised over level ids, on the host.

Streams are uint64 arrays [m, 3] of ``fm_rng`` states (``[s, bits, n_bits]``), one row per
level; Python-int helpers serve the scalar salts. Products wrap modulo 2^64 as in C.
"""

from __future__ import annotations

import numpy as np

from fastmaze.rng.constants import FACTOR_MUL, GOLDEN, MASK64, MIX1, MIX2, STREAM_MUL


def mix64(z: np.ndarray) -> np.ndarray:
    """``fm_mix64`` elementwise on a uint64 array."""
    with np.errstate(over="ignore"):
        z = (z ^ (z >> np.uint64(30))) * np.uint64(MIX1)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(MIX2)
        return z ^ (z >> np.uint64(31))


def mix64_int(z: int) -> int:
    """``fm_mix64`` on a Python int in [0, 2^64)."""
    z = ((z ^ (z >> 30)) * MIX1) & MASK64
    z = ((z ^ (z >> 27)) * MIX2) & MASK64
    return z ^ (z >> 31)


def rng_for(seed: int, ids: np.ndarray, stream: int) -> np.ndarray:
    """uint64 [m, 3]: fresh streams ``fm_rng_for(seed, id, stream)`` of level ``ids`` [m]."""
    key = mix64_int((int(seed) & MASK64) ^ ((int(stream) * STREAM_MUL) & MASK64))
    ids = np.asarray(ids, dtype=np.int64).astype(np.uint64)
    out = np.zeros((len(ids), 3), np.uint64)
    with np.errstate(over="ignore"):
        out[:, 0] = mix64(np.uint64(key) + ids * np.uint64(GOLDEN))
    return out


def next64(states: np.ndarray) -> np.ndarray:
    """uint64 [m]: ``fm_next`` of every stream of ``states`` [m, 3] (advanced in place)."""
    with np.errstate(over="ignore"):
        states[:, 0] += np.uint64(GOLDEN)
    return mix64(states[:, 0])


def below(states: np.ndarray, n: np.ndarray) -> np.ndarray:
    """int64 [m]: ``fm_below(r, n)`` of every stream (1 <= n < 2^32; advanced in place)."""
    n = np.broadcast_to(np.asarray(n, dtype=np.uint64), (len(states),))
    empty = states[:, 2] < np.uint64(32)
    if empty.any():
        refill = states[empty]
        states[empty, 1] = next64(refill)
        states[empty, 0] = refill[:, 0]
        states[empty, 2] = np.uint64(64)
    bits = states[:, 1].copy()
    states[:, 1] = bits >> np.uint64(32)
    states[:, 2] -= np.uint64(32)
    with np.errstate(over="ignore"):
        return ((bits & np.uint64(0xFFFFFFFF)) * n >> np.uint64(32)).astype(np.int64)


def weyl_offset(seed: int, factor: int, slot: int) -> int:
    """``fm_weyl_offset(seed, factor, slot)``: the start of a factor's Kronecker sequence."""
    inner = ((int(factor) + 1) * FACTOR_MUL + int(slot) * GOLDEN) & MASK64
    return mix64_int((int(seed) & MASK64) ^ mix64_int(inner))
