/* Greedy walks on policy maps (see fastmaze/walk.py for the definitions).
 *
 * From each level's start, the agent takes the action its policy map gives at its square
 * until it enters an object (the exit, or a decoy: proxy if its colour is the cue, other
 * otherwise), re-enters a visited square (a loop), has no move (a stall: a wall, the board's
 * edge or FM_NO_ACTION) or has made max_steps moves. Every array is C-contiguous and
 * level-major; the caller owns it.
 */
#ifndef FASTMAZE_WALK_H
#define FASTMAZE_WALK_H

#include <stdint.h>

#include "solve.h"

enum { FM_WALK_NEITHER = 0, FM_WALK_EXIT, FM_WALK_PROXY, FM_WALK_OTHER };
enum { FM_WALK_OBJECT = 0, FM_WALK_LOOP, FM_WALK_STALL, FM_WALK_MAX_STEPS };
/* Results besides FM_OK and FM_ERR_MEMORY (fastmaze.h). */
#define FM_WALK_BAD_INPUT (-20)  /* sizes or arguments the core refuses */
#define FM_WALK_BAD_ACTION (-21) /* an action map value other than 0..3 and FM_NO_ACTION */
#define FM_WALK_BAD_LEVEL (-22)  /* a start, exit or decoy off the board or on a wall */

/* The policy: exactly one of the three is non-NULL. */
typedef struct {
    const uint8_t *actions; /* [n, H, W] 0..3 or FM_NO_ACTION */
    const float *scores32;  /* [n, 4, H, W] argmax over the 4 actions, ties to the lowest */
    const double *scores64; /* [n, 4, H, W] */
} fm_policy;

typedef struct {
    int8_t *outcome; /* [n] FM_WALK_NEITHER .. FM_WALK_OTHER */
    int32_t *steps;  /* [n] moves made */
    int32_t *excess; /* [n] steps - shortest path length where the exit was entered, else -1 */
    int8_t *reason;  /* [n] FM_WALK_OBJECT .. FM_WALK_MAX_STEPS */
} fm_walks;

/* Walks every level. `color` [n, H, W] gives decoy colours; a decoy whose colour is `cue`
 * is a proxy (cue < 0: none is). `path_length` [n] may be NULL: then a breadth-first search
 * from the start measures it where the exit was entered. Each level's start, exit and
 * decoys are checked to lie on floor squares of the board (n_decoys in 0..max_decoys)
 * before it is walked. On FM_WALK_BAD_ACTION or FM_WALK_BAD_LEVEL, bad[0] is the lowest
 * level index at fault and, for a bad action, bad[1] the square (row * W + col) and bad[2]
 * the value. Returns FM_OK or an error. */
int fm_walk(const fm_solve_boards *boards, const uint8_t *color, fm_policy policy, int32_t cue,
            int32_t max_steps, const int32_t *path_length, const fm_walks *out, int64_t *bad,
            int32_t threads);

#endif
