# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""Thin bindings of the compiled core. Validation happens in Python before these are called;
every function here takes preallocated C-contiguous arrays and fills them without the GIL.
Every array a function only reads is a const memoryview, so read-only inputs (a memory-mapped
`fastmaze.load`, a frozen numpy array) are accepted without a copy."""

from libc.stdint cimport int32_t, int64_t, uint8_t, uint64_t
from libc.stdlib cimport free, malloc

from fastmaze._core cimport (
    FM_ERR_MEMORY,
    FM_ERR_SPEC,
    FM_MAX_CATS,
    FM_OK,
    fm_dist,
    fm_generate,
    fm_generator,
    fm_generator_free,
    fm_generator_new,
    fm_generator_threads,
    fm_layout_hash,
    fm_levels,
    fm_spec,
)

MAX_CATS = FM_MAX_CATS


cdef int _fill_dist(fm_dist *d, object dist) except -1:
    values, cdf = dist
    if not 1 <= len(values) <= FM_MAX_CATS or len(cdf) != len(values):
        raise ValueError(f"a distribution needs 1..{FM_MAX_CATS} categories")
    d.n = len(values)
    for k in range(d.n):
        d.value[k] = values[k]
        d.cdf[k] = cdf[k]
    return 0


cdef int _fill_spec(fm_spec *s, dict p) except -1:
    s.rows = p["rows"]
    s.cols = p["cols"]
    s.algorithm = p["algorithm"]
    s.loops = p["loops"]
    s.start_corner = p["start_corner"]
    s.min_distance = p["min_distance"]
    s.exit_sides = p["exit_sides"]
    s.exit_region = p["exit_region"]
    s.exit_corner = p["exit_corner"]
    _fill_dist(&s.exit_color, p["exit_color"])
    _fill_dist(&s.n_decoys, p["n_decoys"])
    _fill_dist(&s.decoy_color, p["decoy_color"])
    _fill_dist(&s.n_distractors, p["n_distractors"])
    _fill_dist(&s.distractor_color, p["distractor_color"])
    s.decoy_placement = p["decoy_placement"]
    s.branch = p["branch"]
    s.false_exits = p["false_exits"]
    return 0


cdef fm_spec *_compiled(list params, tuple mixture, fm_dist *mix) except NULL:
    """The specs of ``params`` compiled into a malloc'd array (the caller frees it), the
    mixture into ``*mix``."""
    cdef fm_spec *specs = <fm_spec *> malloc(sizeof(fm_spec) * max(len(params), 1))
    if specs == NULL:
        raise MemoryError()
    try:
        for k in range(len(params)):
            _fill_spec(&specs[k], params[k])
        _fill_dist(mix, mixture)
    except BaseException:
        free(specs)
        raise
    return specs


def generate_into(list params, tuple mixture, uint64_t seed, int64_t first_id,
                  uint8_t[:, :, ::1] grid, uint8_t[:, :, ::1] color,
                  int32_t[:, ::1] start, int32_t[:, ::1] exit, int32_t[:, :, ::1] decoys,
                  int32_t[::1] n_decoys, uint8_t[::1] component, int threads):
    """Fills levels first_id .. first_id + len(grid) - 1 of the given compiled specs."""
    cdef int64_t n = grid.shape[0]
    if n == 0:
        return
    cdef int32_t n_specs = len(params)
    cdef fm_dist mix
    cdef fm_levels out
    cdef int64_t result
    cdef fm_spec *specs = _compiled(params, mixture, &mix)
    out.grid = &grid[0, 0, 0]
    out.color = &color[0, 0, 0]
    out.start = &start[0, 0]
    out.exit = &exit[0, 0]
    out.decoys = &decoys[0, 0, 0] if decoys.shape[1] > 0 else NULL
    out.n_decoys = &n_decoys[0]
    out.component = &component[0]
    out.max_decoys = decoys.shape[1]
    with nogil:
        result = fm_generate(specs, n_specs, &mix, seed, first_id, n, out, threads)
    free(specs)
    _raise_for(result)


cdef int _raise_for(int64_t result) except -1:
    """Raises the error that an fm_generate result (or an unplaceable level id) stands for."""
    if result == FM_ERR_SPEC:
        raise ValueError("the compiled core refused this spec (it failed its own bounds checks)")
    if result == FM_ERR_MEMORY:
        raise MemoryError("the compiled core could not allocate its scratch buffers")
    if result != FM_OK:
        raise RuntimeError(
            f"level {result} could not be placed: no draw the spec allows (64 attempts with "
            "off-path decoys or false exits, else one) fits its start, decoys and openings; "
            "loosen min_distance, branch, n_decoys, n_distractors or false_exits")
    return 0


cdef class Generator:
    """Compiled specs kept for drawing level after level (an env's auto-resets): the
    arguments of `generate_into` compiled once, with ``threads`` scratch buffers."""

    cdef fm_generator *gen
    cdef readonly int32_t H, W, max_decoys  # the boards it draws, their decoy capacity

    def __cinit__(self, list params, tuple mixture, int32_t max_decoys, int32_t threads):
        cdef fm_dist mix
        cdef int64_t error = FM_OK
        cdef fm_spec *specs = _compiled(params, mixture, &mix)
        self.gen = fm_generator_new(specs, len(params), &mix, max_decoys, threads, &error)
        if self.gen != NULL:
            self.H, self.W = 2 * specs[0].rows + 1, 2 * specs[0].cols + 1
            self.max_decoys = max_decoys
        free(specs)
        if self.gen == NULL:
            _raise_for(error)

    def __dealloc__(self):
        fm_generator_free(self.gen)

    @property
    def threads(self):
        """How many callers can draw levels at once (one scratch each)."""
        return fm_generator_threads(self.gen)


def layout_hash(const uint8_t[:, :, ::1] grid, int threads):
    """uint64 [n]: a hash of each level's walls (and exit opening)."""
    import numpy as np

    out = np.empty(grid.shape[0], dtype=np.uint64)
    cdef uint64_t[::1] o = out
    cdef int32_t squares = grid.shape[1] * grid.shape[2]
    if grid.shape[0]:
        with nogil:
            fm_layout_hash(&grid[0, 0, 0], grid.shape[0], squares, &o[0], threads)
    return out


# Oracles (csrc/solve.c) and rendering (csrc/render.c) bind in their own include files.
include "_solve.pxi"
include "_render.pxi"
include "_step.pxi"
include "_rng.pxi"
include "_floors.pxi"
include "_walk.pxi"
