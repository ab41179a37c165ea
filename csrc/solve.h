/* Oracles: breadth-first distances, optimal actions, shortest paths and decoy facts for
 * batches of levels (see fastmaze/solve.py for the definitions).
 *
 * Boards are H x W squares, row-major, nonzero = wall; moves go between 4-neighbour floor
 * squares (0 up, 1 right, 2 down, 3 left); a move into a wall or off the board stays put.
 * Every array is C-contiguous and level-major; the caller owns it.
 */
#ifndef FASTMAZE_SOLVE_H
#define FASTMAZE_SOLVE_H

#include <stdint.h>

#include "fastmaze.h"

#define FM_NO_ACTION 255
/* Results besides FM_OK and FM_ERR_MEMORY (fastmaze.h). */
#define FM_SOLVE_BAD_INPUT (-10) /* sizes the core refuses */
#define FM_SOLVE_OVERFLOW (-11)  /* a distance above INT16_MAX (only hand-made boards) */

typedef struct {
    const uint8_t *grid;     /* [n, H, W] */
    const int32_t *start;    /* [n, 2] board (row, col) */
    const int32_t *exit;     /* [n, 2] */
    const int32_t *decoys;   /* [n, max_decoys, 2]; may be NULL when max_decoys == 0 */
    const int32_t *n_decoys; /* [n]; entries past n_decoys[k] are ignored */
    int64_t n;
    int32_t H, W, max_decoys;
} fm_solve_boards;

typedef struct {
    int16_t *dist;           /* [n, H, W] steps to the exit, -1 on walls and unreachable */
    uint8_t *actions;        /* [n, H, W] bit a: action a brings the exit one step closer */
    uint8_t *action;         /* [n, H, W] lowest such action, FM_NO_ACTION where none */
    int32_t *path_length;    /* [n] steps from start to exit, -1 unreachable */
    int32_t *decoy_distance; /* [n, max_decoys] steps from start to decoy, -1 none */
    int32_t *decoy_to_exit;  /* [n, max_decoys] steps from decoy to exit, -1 none */
    uint8_t *ambiguous;      /* [n] 1: a decoy lies on a shortest start-exit path */
    int32_t *decision;       /* [n, max_decoys, 2] board (row, col), -1 none */
} fm_oracles;

/* Fills every array of `out` (the decoy ones only when max_decoys > 0). Coordinates outside
 * the board or on a wall count as unreachable. Returns FM_OK or an error above. */
int fm_solve(const fm_solve_boards *in, const fm_oracles *out, int32_t threads);

/* Writes the canonical shortest path of each level (start, then the lowest optimal action
 * until the exit) as board (row, col) into paths [n, max_squares, 2], -1 past its
 * path_length[k] + 1 squares. `action` and `path_length` are fm_solve's outputs. */
int fm_canonical_paths(const uint8_t *action, const int32_t *start, const int32_t *path_length,
                       int64_t n, int32_t H, int32_t W, int32_t max_squares, int32_t *paths,
                       int32_t threads);

#endif
