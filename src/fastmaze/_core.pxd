# C prototypes of the compiled core (csrc/fastmaze.h), all callable without the GIL.
from libc.stdint cimport int32_t, int64_t, uint8_t, uint64_t


cdef extern from "fastmaze.h" nogil:
    enum:
        FM_MAX_CATS
        FM_OK
        FM_ERR_SPEC
        FM_ERR_MEMORY

    ctypedef struct fm_dist:
        int32_t n
        int32_t value[FM_MAX_CATS]
        uint64_t cdf[FM_MAX_CATS]

    ctypedef struct fm_spec:
        int32_t rows, cols
        int32_t algorithm
        double loops
        int32_t start_corner
        int32_t min_distance
        int32_t exit_sides
        int32_t exit_region
        int32_t exit_corner
        fm_dist exit_color
        fm_dist n_decoys
        fm_dist decoy_color
        fm_dist n_distractors
        fm_dist distractor_color
        int32_t decoy_placement
        int32_t branch
        int32_t false_exits

    ctypedef struct fm_levels:
        uint8_t *grid
        uint8_t *color
        int32_t *start
        int32_t *exit
        int32_t *decoys
        int32_t *n_decoys
        uint8_t *component
        int32_t max_decoys

    int64_t fm_generate(const fm_spec *specs, int32_t n_specs, const fm_dist *mixture,
                        uint64_t seed, int64_t first_id, int64_t n, fm_levels out,
                        int32_t threads) noexcept
    ctypedef struct fm_generator:
        pass

    fm_generator *fm_generator_new(const fm_spec *specs, int32_t n_specs, const fm_dist *mixture,
                                   int32_t max_decoys, int32_t threads, int64_t *error) noexcept
    void fm_generator_free(fm_generator *gen) noexcept
    int32_t fm_generator_threads(const fm_generator *gen) noexcept
    void fm_layout_hash(const uint8_t *grid, int64_t n, int32_t squares, uint64_t *out,
                        int32_t threads) noexcept
