/* fastmaze vector environment: the CPU step, in place over caller-owned arrays.
 *
 * num_envs envs each play one level (fastmaze.h layout). A step moves each agent one square
 * (actions 0 up, 1 right, 2 down, 3 left; into a wall: stays), computes rewards and flags,
 * and updates the observation of the squares the agent left and entered. A reset (load)
 * copies a freshly generated level into an env's slot and rewrites its observation. The
 * semantics are documented once, in fastmaze/env.py (VecMazeEnv); this file implements them.
 * Every array is C-contiguous and env-major; each env's bytes depend only on that env, so
 * results do not depend on the thread count.
 */
#ifndef FASTMAZE_STEP_H
#define FASTMAZE_STEP_H

#include <stdint.h>

#include "fastmaze.h"

/* COMPACT: the agent's square as int16 (row, col), its board's static squares coded once
 * per level into `table` (see fm_compact_code). */
enum { FM_OBS_SYMBOLIC = 0, FM_OBS_RGB = 1, FM_OBS_EGOCENTRIC = 2, FM_OBS_COMPACT = 3 };
/* A square of an env's terrain: wall bit, decoy bit, colour code above them. */
enum { FM_TERRAIN_WALL = 1, FM_TERRAIN_DECOY = 2, FM_TERRAIN_COLOR_SHIFT = 2 };
enum { FM_AUTORESET_NEXT_STEP = 0, FM_AUTORESET_SAME_STEP = 1, FM_AUTORESET_DISABLED = 2 };
/* Below this many envs a step runs on one thread (starting a team costs more; measured in
 * benchmarks/profile_step.py: at 512 envs one thread and two are even). */
enum { FM_STEP_PARALLEL_ENVS = 512 };

/* Per-episode information, [n] each (bool arrays as uint8). */
typedef struct {
    uint8_t *reached_exit;   /* the agent entered the exit this episode */
    uint8_t *reached_decoy;  /* the agent entered a decoy square this episode */
    uint8_t *decoy_color;    /* colour code of the first decoy entered, 0 none */
    uint8_t *ambiguous;      /* a decoy lies on a shortest start -> exit path */
    float *episode_return;   /* sum of this episode's rewards */
    int32_t *episode_length; /* steps taken this episode */
    int32_t *optimal_length; /* BFS steps start -> exit, -1 unreachable */
    int64_t *level_id;       /* id of the level played */
} fm_env_info;

typedef struct {
    int64_t n;
    int32_t H, W, n_colors, max_decoys;
    /* the level each env plays */
    uint8_t *grid, *color; /* [n, H, W] */
    int32_t *start, *exit; /* [n, 2] */
    int32_t *decoys;       /* [n, max_decoys, 2] (NULL if max_decoys = 0) */
    int32_t *n_decoys;     /* [n] */
    uint8_t *component;    /* [n] */
    uint8_t *terrain;      /* [n, H, W] FM_TERRAIN_* bits: the step's one lookup */
    /* episode state */
    int32_t *agent;   /* [n, 2] board (row, col) */
    uint8_t *pending; /* [n] ended, its reset still to come (NEXT_STEP, DISABLED) */
    uint32_t *seen;   /* [n] bit c: a square of colour code c was entered this episode */
    fm_env_info info;
    fm_env_info final_info; /* SAME_STEP only: info of the episodes that just ended */
    /* outputs of a step, [n] */
    float *reward;
    uint8_t *terminated, *truncated, *resetting;
    /* observations */
    int32_t obs_kind, reveal_exit, hide_colors;
    int32_t pixels;     /* rgb: pixels per square */
    int32_t radius;     /* egocentric: window (2 radius + 1)^2 */
    const uint8_t *lut; /* rgb: [(P + 3) * 3], see render.h */
    uint8_t *obs;       /* [n, ...] */
    uint8_t *final_obs; /* SAME_STEP only: [n, ...] observation at the end of an episode */
    uint8_t *table;       /* COMPACT: [n, H * W] code of each square of the level played */
    uint8_t *final_table; /* COMPACT and SAME_STEP: [n, H * W] table of the episode ended */
    /* rules */
    int32_t max_steps, terminate_on_decoy, autoreset;
    float step_penalty;
    const float *proxy; /* [n_colors + 1] reward for first entering colour code c */
    /* scratch */
    int32_t *scratch;          /* [threads, 3 * H * W] BFS distances and queue */
    int64_t *resets_of_thread; /* [threads] envs to reset found by each thread of a step */
    int32_t threads;
} fm_env;

/* Bytes of one env's observation. */
int64_t fm_env_obs_bytes(const fm_env *env);

/* Index of the first action outside 0..3, or -1. */
int64_t fm_env_check_actions(const int64_t *actions, int64_t n);

/* COMPACT: code of a square, an index into the table of symbolic plane values that
 * fastmaze.train.compact builds: wall + 2 * colour + 2 * (n_colors + 1) * exit, where colour
 * is the palette code (0 when hidden or none) and exit is set only when reveal_exit. */
static inline uint8_t fm_compact_code(int32_t wall, int32_t colour, int32_t exit, int32_t P)
{
    return (uint8_t)((wall != 0) + 2 * colour + 2 * (P + 1) * (exit != 0));
}

/* Where an env's new levels come from when the core draws them itself: the k-th reset from
 * here plays level wrap(next_id + k) of (the generator's specs, seed), where wrap(i) =
 * first_id + (i - first_id) % num_levels (num_levels 0: no wrap). */
typedef struct {
    const fm_generator *generator; /* NULL: the step only lists the envs to reset */
    uint64_t seed;
    int64_t next_id, first_id, num_levels;
} fm_stream;

/* One array copied row by row: n rows of row_bytes each. */
typedef struct {
    const uint8_t *src;
    uint8_t *dst;
    int64_t row_bytes;
} fm_rows;

/* One step of every env (see VecMazeEnv for the rules), after checking the actions. Writes
 * reward, terminated, truncated, and the envs to reset in this call, ascending, to
 * reset_idx; returns how many, or -1 - e when action e is outside 0..3 (nothing is then
 * stepped). With a generator, those envs are given their new levels in the same parallel
 * region (ids in ascending env order, as fm_env_load_stream); *failed is then the lowest id
 * that could not be placed, or -1. Without one, the caller loads them with fm_env_load.
 * `copies` (n_copies arrays of n rows, 0 for none): copied once the step (and its draws)
 * is done, each thread its own range of envs, as fm_copy_rows would after the call. */
int64_t fm_env_step(const fm_env *env, const int64_t *actions, int64_t *reset_idx,
                    const fm_stream *stream, const fm_rows *copies, int32_t n_copies,
                    int64_t *failed);

/* Env idx[j] (j < m) starts level wrap(next_id + j) of the stream, generated straight into
 * its slot. Returns the lowest id that could not be placed, or -1. */
int64_t fm_env_load_stream(const fm_env *env, const fm_stream *stream, const int64_t *idx,
                           int64_t m);

/* Copies rows 0 .. n-1 of every array of `arrays` (count of them) in one parallel region
 * (each thread a range of rows of all of them; serial when the bytes are few). */
void fm_copy_rows(const fm_rows *arrays, int32_t count, int64_t n, int32_t threads);

/* Env idx[j] starts level j of `levels` (ids[j]), for j < m: its level is copied in, its
 * episode state cleared, optimal_length and ambiguous computed, its observation rewritten. */
void fm_env_load(const fm_env *env, fm_levels levels, const int64_t *ids, const int64_t *idx,
                 int64_t m);

#endif
