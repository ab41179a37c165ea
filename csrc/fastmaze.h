/* fastmaze compiled core: public C interface.
 *
 * Coordinates: a maze of R x C cells lives on a board of H x W = (2R+1) x (2C+1) squares,
 * row-major, 1 = wall. Cell (i, j) is square (2i+1, 2j+1). The outer ring is wall except for
 * the exit. Every batch function fills caller-owned, C-contiguous arrays in place and takes
 * the level ids first_id .. first_id+n-1; level i is a pure function of (spec, seed, i).
 */
#ifndef FASTMAZE_H
#define FASTMAZE_H

#include <stdint.h>

#define FM_MAX_CATS 64   /* entries of one categorical distribution */
#define FM_MAX_CELLS 127 /* largest rows or cols */

enum { FM_ALG_BACKTRACKER = 0, FM_ALG_KRUSKAL, FM_ALG_PRIM, FM_ALG_WILSON, FM_ALG_OPEN };
enum { FM_SIDE_TOP = 1, FM_SIDE_RIGHT = 2, FM_SIDE_BOTTOM = 4, FM_SIDE_LEFT = 8 };
/* Decoy placement: any free cell, or off every shortest start -> exit path (place.c). */
enum { FM_PLACE_ANYWHERE = 0, FM_PLACE_OFF_PATH = 1 };
/* Corners, clockwise from top-left; -1 means "none". */
enum { FM_CORNER_TOP_LEFT = 0, FM_CORNER_TOP_RIGHT, FM_CORNER_BOTTOM_RIGHT, FM_CORNER_BOTTOM_LEFT };

/* A categorical distribution: value[k] with probability (cdf[k] - cdf[k-1]) / 2^64.
 * Only categories of non-zero probability are listed; the last one takes the rest. */
typedef struct {
    int32_t n;
    int32_t value[FM_MAX_CATS];
    uint64_t cdf[FM_MAX_CATS];
} fm_dist;

typedef struct {
    int32_t rows, cols;
    int32_t algorithm;
    double loops;         /* fraction of the remaining inner walls removed after carving */
    int32_t start_corner; /* -1: not a corner */
    int32_t min_distance; /* start at least this many steps from the exit; 0: no constraint */
    int32_t exit_sides;   /* FM_SIDE_* bitmask */
    int32_t exit_region;  /* 0: anywhere on the sides; k: next to a cell of the k x k region */
    int32_t exit_corner;  /* corner of that region */
    fm_dist exit_color;   /* colour codes: 0 none, k palette[k-1] */
    fm_dist n_decoys;
    fm_dist decoy_color;
    fm_dist n_distractors;
    fm_dist distractor_color;
    int32_t decoy_placement; /* FM_PLACE_* */
    int32_t branch;          /* off-path decoys: the ways part >= branch steps before either */
    int32_t false_exits;     /* sealed openings in the outer wall besides the exit */
} fm_spec;

/* Outputs of a batch of n levels, each array C-contiguous, level-major. */
typedef struct {
    uint8_t *grid;      /* [n, H, W] 1 = wall */
    uint8_t *color;     /* [n, H, W] colour code */
    int32_t *start;     /* [n, 2] */
    int32_t *exit;      /* [n, 2] */
    int32_t *decoys;    /* [n, max_decoys, 2], -1 past n_decoys */
    int32_t *n_decoys;  /* [n] */
    uint8_t *component; /* [n] mixture component */
    int32_t max_decoys;
} fm_levels;

/* Results of fm_generate besides a level id (>= 0) that could not be placed. */
#define FM_OK (-1)
#define FM_ERR_SPEC (-2)   /* a spec the core refuses (the Python layer explains why) */
#define FM_ERR_MEMORY (-3) /* scratch allocation failed */

/* Generates levels first_id .. first_id+n-1. The component of each level is drawn from
 * `mixture` (values index `specs`); all specs share rows and cols. Returns FM_OK, an error,
 * or the lowest id of a level that could not be placed. */
int64_t fm_generate(const fm_spec *specs, int32_t n_specs, const fm_dist *mixture, uint64_t seed,
                    int64_t first_id, int64_t n, fm_levels out, int32_t threads);

/* A spec set compiled once for generating level after level (an env's resets): geometry,
 * exit candidates and `threads` scratch buffers, allocated by fm_generator_new. */
typedef struct fm_generator fm_generator;

/* NULL on failure, with *error FM_ERR_SPEC or FM_ERR_MEMORY (the arguments as fm_generate's;
 * max_decoys: the decoy capacity of the levels it will fill). */
fm_generator *fm_generator_new(const fm_spec *specs, int32_t n_specs, const fm_dist *mixture,
                               int32_t max_decoys, int32_t threads, int64_t *error);
void fm_generator_free(fm_generator *gen);
int32_t fm_generator_threads(const fm_generator *gen);

/* Level `id` of (specs, seed) into row k of `out`, with scratch `thread` (< the generator's
 * threads; one caller per scratch at a time). Returns 0, or 1 when it could not be placed
 * (row k is then left as it was). */
int fm_generator_level(const fm_generator *gen, int32_t thread, uint64_t seed, int64_t id,
                       const fm_levels *out, int64_t k);

/* 64-bit hash of each level's walls (grid bytes), for train/test disjointness checks. */
void fm_layout_hash(const uint8_t *grid, int64_t n, int32_t squares, uint64_t *out, int32_t threads);

#endif
