# Bindings of csrc/rng.h, included by _core.pyx: draws on given (seed, id) inputs, the
# reference that tests/test_rng.py holds the Python ports (fastmaze.rng) to.

from libc.stdint cimport uint32_t

cdef extern from "rng.h" nogil:
    ctypedef struct fm_rng:
        uint64_t s
        uint64_t bits
        int32_t n_bits

    fm_rng fm_rng_for(uint64_t seed, uint64_t id, uint64_t stream)
    uint64_t fm_next(fm_rng *r)
    uint32_t fm_bits(fm_rng *r, int32_t k)
    uint32_t fm_below(fm_rng *r, uint32_t n)
    int32_t fm_below4(fm_rng *r, int32_t n)
    uint64_t fm_weyl_offset(uint64_t seed, int factor, uint64_t slot)
    uint64_t fm_weyl(uint64_t seed, int factor, uint64_t id)
    uint64_t fm_weyl_slot(uint64_t seed, int half, int32_t slot, uint64_t id)

cdef enum:
    OP_NEXT, OP_BITS, OP_BELOW, OP_BELOW4

RNG_NEXT, RNG_BITS, RNG_BELOW, RNG_BELOW4 = OP_NEXT, OP_BITS, OP_BELOW, OP_BELOW4


def rng_program(uint64_t seed, const int64_t[::1] ids, uint64_t stream,
                const int32_t[::1] ops, const int64_t[::1] args):
    """uint64 [m, k]: the k draws ``ops[j](args[j])`` in turn on each stream
    ``fm_rng_for(seed, ids[i], stream)``; an op is RNG_NEXT (fm_next), RNG_BITS (fm_bits,
    1 <= arg <= 32), RNG_BELOW (fm_below, 1 <= arg < 2^32) or RNG_BELOW4 (1 <= arg <= 4)."""
    import numpy as np

    cdef Py_ssize_t k = ops.shape[0], i, j
    if args.shape[0] != k:
        raise ValueError(f"args: expected {k} values (one per op), got {args.shape[0]}")
    for j in range(k):
        lo, hi = {RNG_NEXT: (0, 0), RNG_BITS: (1, 32), RNG_BELOW: (1, 2**32 - 1),
                  RNG_BELOW4: (1, 4)}.get(ops[j], (1, 0))
        if hi < lo:
            raise ValueError(f"ops[{j}]: expected an RNG_* op (0..3), got {ops[j]}")
        if ops[j] != RNG_NEXT and not lo <= args[j] <= hi:
            raise ValueError(f"args[{j}]: expected {lo}..{hi} for op {ops[j]}, got {args[j]}")
    out = np.zeros((ids.shape[0], k), dtype=np.uint64)
    cdef uint64_t[:, ::1] o = out
    cdef fm_rng r
    with nogil:
        for i in range(ids.shape[0]):
            r = fm_rng_for(seed, <uint64_t>ids[i], stream)
            for j in range(k):
                if ops[j] == OP_NEXT:
                    o[i, j] = fm_next(&r)
                elif ops[j] == OP_BITS:
                    o[i, j] = fm_bits(&r, <int32_t>args[j])
                elif ops[j] == OP_BELOW:
                    o[i, j] = fm_below(&r, <uint32_t>args[j])
                else:
                    o[i, j] = <uint64_t>fm_below4(&r, <int32_t>args[j])
    return out


def weyl_draws(uint64_t seed, int factor, const int64_t[::1] ids, int half=-1,
               int32_t slot=0):
    """uint64 [m]: ``fm_weyl(seed, factor, id)`` (factor 0..2) for each id, or with
    ``half`` 0/1 ``fm_weyl_slot(seed, half, slot, id)`` (slot >= 1; factor unused)."""
    import numpy as np

    if half == -1 and not 0 <= factor <= 2:
        raise ValueError(f"factor: expected 0..2 (FM_FACTOR_COMPONENT..), got {factor}")
    if half != -1 and (half not in (0, 1) or slot < 1):
        raise ValueError(f"half, slot: expected half 0 or 1 and slot >= 1, got {half}, {slot}")
    out = np.zeros(ids.shape[0], dtype=np.uint64)
    cdef uint64_t[::1] o = out
    cdef Py_ssize_t i
    with nogil:
        for i in range(ids.shape[0]):
            if half == -1:
                o[i] = fm_weyl(seed, factor, <uint64_t>ids[i])
            else:
                o[i] = fm_weyl_slot(seed, half, slot, <uint64_t>ids[i])
    return out


def weyl_offset(uint64_t seed, int factor, uint64_t slot):
    """``fm_weyl_offset(seed, factor, slot)``."""
    return fm_weyl_offset(seed, factor, slot)
