# Bindings of csrc/walk.c (greedy walks on policy maps), included by _core.pyx.
from libc.stdint cimport int8_t


cdef extern from "walk.h" nogil:
    enum:
        FM_WALK_BAD_INPUT
        FM_WALK_BAD_ACTION
        FM_WALK_BAD_LEVEL

    ctypedef struct fm_policy:
        const uint8_t *actions
        const float *scores32
        const double *scores64

    ctypedef struct fm_walks:
        int8_t *outcome
        int32_t *steps
        int32_t *excess
        int8_t *reason

    int fm_walk(const fm_solve_boards *boards, const uint8_t *color, fm_policy policy,
                int32_t cue, int32_t max_steps, const int32_t *path_length,
                const fm_walks *out, int64_t *bad, int32_t threads) noexcept


def walk_into(const uint8_t[:, :, ::1] grid, const uint8_t[:, :, ::1] color,
              const int32_t[:, ::1] start, const int32_t[:, ::1] exit,
              const int32_t[:, :, ::1] decoys, const int32_t[::1] n_decoys, object policy,
              int cue, int max_steps, object path_length, int8_t[::1] outcome,
              int32_t[::1] steps, int32_t[::1] excess, int8_t[::1] reason, int threads):
    """Walks the levels in grid (validated by fastmaze.walk) on policy: uint8 [n, H, W]
    actions, or float32 / float64 [n, 4, H, W] scores. path_length: int32 [n] or None.
    Returns None, ("action", level, square, value) for the first bad action value met, or
    ("level", level) for the first level whose start, exit or decoys are off its floor."""
    cdef int64_t n = grid.shape[0]
    if n == 0:
        return None
    cdef const uint8_t[:, :, ::1] acts
    cdef const float[:, :, :, ::1] s32
    cdef const double[:, :, :, ::1] s64
    cdef const int32_t[::1] lengths
    cdef fm_policy p
    p.actions = NULL
    p.scores32 = NULL
    p.scores64 = NULL
    if policy.dtype == "uint8":
        acts = policy
        p.actions = &acts[0, 0, 0]
    elif policy.dtype == "float32":
        s32 = policy
        p.scores32 = &s32[0, 0, 0, 0]
    else:
        s64 = policy
        p.scores64 = &s64[0, 0, 0, 0]
    cdef const int32_t *plen = NULL
    if path_length is not None:
        lengths = path_length
        plen = &lengths[0]
    cdef fm_solve_boards b
    b.grid = &grid[0, 0, 0]
    b.start = &start[0, 0]
    b.exit = &exit[0, 0]
    b.decoys = &decoys[0, 0, 0] if decoys.shape[1] > 0 else NULL
    b.n_decoys = &n_decoys[0]
    b.n = n
    b.H = grid.shape[1]
    b.W = grid.shape[2]
    b.max_decoys = decoys.shape[1]
    cdef fm_walks o
    o.outcome = &outcome[0]
    o.steps = &steps[0]
    o.excess = &excess[0]
    o.reason = &reason[0]
    cdef int64_t bad[3]
    cdef int result
    with nogil:
        result = fm_walk(&b, &color[0, 0, 0], p, cue, max_steps, plen, &o, bad, threads)
    if result == FM_WALK_BAD_ACTION:
        return ("action", bad[0], bad[1], bad[2])
    if result == FM_WALK_BAD_LEVEL:
        return ("level", bad[0])
    if result == FM_WALK_BAD_INPUT:
        raise ValueError("the compiled core refused these board sizes or arguments")
    if result == FM_ERR_MEMORY:
        raise MemoryError("the compiled core could not allocate its scratch buffers")
    return None
