/* The CPU step of the vector environment (see step.h and fastmaze/env.py). */
#include <string.h>

#include "render.h"
#include "step.h"
#include "threads.h"

/* How many envs ahead the step prefetches an agent's surroundings. */
#define FM_PREFETCH_AHEAD 8

/* For a function that must be inlined at each call, so that its constant arguments
 * specialise it (step_kind). */
#if defined(__GNUC__)
#define FM_SPECIALISED inline __attribute__((always_inline))
#else
#define FM_SPECIALISED inline
#endif

static const int32_t DROW[4] = {-1, 0, 1, 0};
static const int32_t DCOL[4] = {0, 1, 0, -1};

static inline int32_t team(int32_t threads, int64_t n)
{
    return (threads < 1 || n < FM_STEP_PARALLEL_ENVS) ? 1 : threads;
}

static int32_t planes(const fm_env *env)
{
    return 2 + env->n_colors + (env->reveal_exit != 0);
}

int64_t fm_env_obs_bytes(const fm_env *env)
{
    int64_t side = 2 * (int64_t)env->radius + 1, px = env->pixels;
    switch (env->obs_kind) {
    case FM_OBS_RGB: return 3 * (int64_t)env->H * px * env->W * px;
    case FM_OBS_EGOCENTRIC: return planes(env) * side * side;
    case FM_OBS_COMPACT: return 2 * (int64_t)sizeof(int16_t);
    default: return planes(env) * (int64_t)env->H * env->W;
    }
}

int64_t fm_env_check_actions(const int64_t *actions, int64_t n)
{
    /* No early exit in the scan, so that it vectorises: the index is looked for only when
     * some action is bad. */
    uint64_t bad = 0;
    for (int64_t e = 0; e < n; e++) bad |= (uint64_t)actions[e] > 3u;
    if (!bad) return -1;
    for (int64_t e = 0; e < n; e++)
        if ((uint64_t)actions[e] > 3u) return e;
    return -1;
}

/* ---- observations ------------------------------------------------------------------------ */

static fm_boards one_board(const fm_env *env, int64_t e)
{
    const int64_t squares = (int64_t)env->H * env->W;
    fm_boards b;
    b.grid = env->grid + e * squares;
    b.color = env->color + e * squares;
    b.agent = env->agent + 2 * e;
    b.n = 1;
    b.H = env->H;
    b.W = env->W;
    b.n_colors = env->n_colors;
    return b;
}

/* The whole egocentric window of env e: symbolic planes centred on the agent, read from its
 * terrain row by row; outside the board is wall. */
static void ego_render(const fm_env *env, int64_t e, uint8_t *out)
{
    const int32_t H = env->H, W = env->W, radius = env->radius, side = 2 * radius + 1;
    const int32_t P = env->n_colors, show = !env->hide_colors;
    const int64_t plane = (int64_t)side * side;
    const int32_t top = env->agent[2 * e] - radius, left = env->agent[2 * e + 1] - radius;
    /* the window's columns on the board: [j0, j1) */
    const int32_t j0 = left < 0 ? -left : 0;
    const int32_t j1 = left + side > W ? (W - left > j0 ? W - left : j0) : side;
    const uint8_t *terrain = env->terrain + e * H * W;
    memset(out + plane, 0, (size_t)((planes(env) - 1) * plane)); /* plane 0 is written whole */
    for (int32_t i = 0; i < side; i++) {
        uint8_t *wall = out + (int64_t)i * side;
        const int32_t r = top + i;
        if ((uint32_t)r >= (uint32_t)H) {
            memset(wall, 1, (size_t)side);
            continue;
        }
        const int64_t row = (int64_t)r * W + left; /* + j >= 0 for j >= j0 */
        for (int32_t j = 0; j < j0; j++) wall[j] = 1;
        for (int32_t j = j1; j < side; j++) wall[j] = 1;
        for (int32_t j = j0; j < j1; j++) {
            const uint8_t t = terrain[row + j];
            wall[j] = t & FM_TERRAIN_WALL;
            if (t >= 1 << FM_TERRAIN_COLOR_SHIFT) { /* coloured: rare, so a branch */
                const int32_t code = t >> FM_TERRAIN_COLOR_SHIFT;
                if (show && code <= P) wall[(1 + code) * plane + j] = 1;
            }
        }
    }
    out[plane + (int64_t)radius * side + radius] = 1; /* the agent, at the centre */
    const int32_t er = env->exit[2 * e] - top, ec = env->exit[2 * e + 1] - left;
    if (env->reveal_exit && (uint32_t)er < (uint32_t)side && (uint32_t)ec < (uint32_t)side)
        out[(planes(env) - 1) * plane + (int64_t)er * side + ec] = 1;
}

/* Paints the agent's inset square of square (r, c) of env e's rgb image: in the agent's
 * colour (with_agent), or back in the square's own. Nothing else of a square changes when
 * the agent enters or leaves it, so a move writes the side rows of those pixels in each
 * channel, twice, and no more. */
static FM_SPECIALISED void rgb_agent_px(const fm_env *env, int64_t e, int32_t r, int32_t c,
                                        int with_agent, uint8_t *out, const int32_t px)
{
    const int32_t P = env->n_colors;
    const int64_t width = (int64_t)env->W * px, plane = (int64_t)env->H * px * width;
    int32_t entry = P + 2; /* the agent */
    if (!with_agent) {
        const uint8_t t = env->terrain[e * env->H * env->W + (int64_t)r * env->W + c];
        entry = fm_rgb_entry(t & FM_TERRAIN_WALL, t >> FM_TERRAIN_COLOR_SHIFT, P, env->hide_colors);
    }
    const int32_t inset = fm_agent_inset(px), side = px - 2 * inset;
    const int64_t corner = ((int64_t)r * px + inset) * width + (int64_t)c * px + inset;
    for (int32_t ch = 0; ch < 3; ch++)
        for (int32_t i = 0; i < side; i++)
            fm_fill(out + ch * plane + corner + i * width, env->lut[3 * entry + ch], side);
}

/* rgb_agent_px with the pixel size a constant for the common sizes. */
static void rgb_agent(const fm_env *env, int64_t e, int32_t r, int32_t c, int with_agent,
                      uint8_t *out)
{
    switch (env->pixels) {
    case 1: rgb_agent_px(env, e, r, c, with_agent, out, 1); break;
    case 2: rgb_agent_px(env, e, r, c, with_agent, out, 2); break;
    case 3: rgb_agent_px(env, e, r, c, with_agent, out, 3); break;
    case 4: rgb_agent_px(env, e, r, c, with_agent, out, 4); break;
    case 8: rgb_agent_px(env, e, r, c, with_agent, out, 8); break;
    default: rgb_agent_px(env, e, r, c, with_agent, out, env->pixels);
    }
}

/* Env e's symbolic planes (as fm_render_symbolic, without its parallel region: a reset
 * draws one board, and opening a team per board costs more than drawing it). */
static void symbolic_render(const fm_env *env, int64_t e, uint8_t *out)
{
    const int64_t squares = (int64_t)env->H * env->W;
    const uint8_t *grid = env->grid + e * squares, *color = env->color + e * squares;
    memset(out, 0, (size_t)(planes(env) * squares));
    for (int64_t s = 0; s < squares; s++) {
        int32_t c = color[s];
        out[s] = grid[s] != 0;
        if (!env->hide_colors && c >= 1 && c <= env->n_colors) out[(1 + c) * squares + s] = 1;
    }
    out[squares + (int64_t)env->agent[2 * e] * env->W + env->agent[2 * e + 1]] = 1;
    if (env->reveal_exit)
        out[(planes(env) - 1) * squares + (int64_t)env->exit[2 * e] * env->W + env->exit[2 * e + 1]] = 1;
}

/* COMPACT: env e's agent square, as int16 (row, col). */
static inline void compact_agent(const fm_env *env, int64_t e)
{
    const int16_t at[2] = {(int16_t)env->agent[2 * e], (int16_t)env->agent[2 * e + 1]};
    memcpy(env->obs + 4 * e, at, sizeof at);
}

/* COMPACT: env e's level table, one fm_compact_code per square. */
static void compact_table(const fm_env *env, int64_t e)
{
    const int64_t squares = (int64_t)env->H * env->W;
    const uint8_t *grid = env->grid + e * squares, *color = env->color + e * squares;
    const int64_t exit = (int64_t)env->exit[2 * e] * env->W + env->exit[2 * e + 1];
    uint8_t *out = env->table + e * squares;
    for (int64_t s = 0; s < squares; s++) {
        int32_t c = color[s];
        if (env->hide_colors || c < 1 || c > env->n_colors) c = 0;
        out[s] = fm_compact_code(grid[s], c, env->reveal_exit && s == exit, env->n_colors);
    }
}

/* Rewrites env e's whole observation. */
static void obs_render(const fm_env *env, int64_t e)
{
    uint8_t *out = env->obs + e * fm_env_obs_bytes(env);
    fm_boards b = one_board(env, e);
    if (env->obs_kind == FM_OBS_COMPACT) {
        compact_table(env, e);
        compact_agent(env, e);
    } else if (env->obs_kind == FM_OBS_RGB)
        fm_render_rgb_level(&b, 0, env->pixels, env->lut, env->hide_colors, out);
    else if (env->obs_kind == FM_OBS_EGOCENTRIC)
        ego_render(env, e, out);
    else
        symbolic_render(env, e, out);
}

/* Updates env e's observation (rgb, egocentric or compact; step_kind writes symbolic ones
 * itself) after its agent went from square (r, c) to (nr, nc) (the same: it bumped into a
 * wall). `kind` is env->obs_kind, a constant in each specialisation of step_kind. */
static inline void obs_move(const fm_env *env, int32_t kind, int64_t e, int32_t r, int32_t c,
                            int32_t nr, int32_t nc, int64_t bytes)
{
    uint8_t *out = env->obs + e * bytes;
    const int moved = r != nr || c != nc;
    if (kind == FM_OBS_COMPACT) {
        compact_agent(env, e);
    } else if (moved && kind == FM_OBS_RGB) {
        rgb_agent(env, e, r, c, 0, out);
        rgb_agent(env, e, nr, nc, 1, out);
    } else if (moved) {
        ego_render(env, e, out);
    }
}

/* ---- rules ------------------------------------------------------------------------------- */

static int is_decoy(const fm_env *env, int64_t e, int32_t r, int32_t c)
{
    const int32_t *d = env->decoys ? env->decoys + 2 * e * env->max_decoys : NULL;
    for (int32_t k = 0; k < env->n_decoys[e]; k++)
        if (d[2 * k] == r && d[2 * k + 1] == c) return 1;
    return 0;
}

/* Reward and termination for entering square (r, c) of env e. */
static float enter(const fm_env *env, int64_t e, int32_t r, int32_t c, uint8_t *terminated)
{
    const fm_env_info *in = &env->info;
    if (r == env->exit[2 * e] && c == env->exit[2 * e + 1]) {
        in->reached_exit[e] = 1;
        *terminated = 1;
        return 1.0f;
    }
    float reward = 0.0f;
    int32_t code = env->color[e * env->H * env->W + (int64_t)r * env->W + c];
    if (code >= 1 && code <= env->n_colors && code < 32 && !(env->seen[e] >> code & 1u)) {
        env->seen[e] |= 1u << code;
        reward = env->proxy[code];
    }
    if (is_decoy(env, e, r, c)) {
        if (!in->reached_decoy[e]) {
            in->reached_decoy[e] = 1;
            in->decoy_color[e] = (uint8_t)code;
        }
        if (env->terminate_on_decoy) *terminated = 1;
    }
    return reward;
}

static void copy_info(const fm_env_info *dst, const fm_env_info *src, int64_t e)
{
    dst->reached_exit[e] = src->reached_exit[e];
    dst->reached_decoy[e] = src->reached_decoy[e];
    dst->decoy_color[e] = src->decoy_color[e];
    dst->ambiguous[e] = src->ambiguous[e];
    dst->episode_return[e] = src->episode_return[e];
    dst->episode_length[e] = src->episode_length[e];
    dst->optimal_length[e] = src->optimal_length[e];
    dst->level_id[e] = src->level_id[e];
}

/* Env e's episode just ended: keep what SAME_STEP reports, or mark the reset to come. */
static void end_episode(const fm_env *env, int64_t e, int64_t bytes)
{
    if (env->autoreset == FM_AUTORESET_SAME_STEP) {
        memcpy(env->final_obs + e * bytes, env->obs + e * bytes, (size_t)bytes);
        if (env->obs_kind == FM_OBS_COMPACT) {
            const int64_t squares = (int64_t)env->H * env->W;
            memcpy(env->final_table + e * squares, env->table + e * squares, (size_t)squares);
        }
        copy_info(&env->final_info, &env->info, e);
        env->resetting[e] = 1;
    } else {
        env->pending[e] = 1;
    }
}

/* NEXT_STEP: an env whose episode ended last step ignores its action and is reset. */
static void skip_for_reset(const fm_env *env, int64_t e)
{
    env->pending[e] = 0;
    env->resetting[e] = 1;
    env->reward[e] = 0.0f;
    env->terminated[e] = 0;
    env->truncated[e] = 0;
}

/* Steps envs lo .. hi-1 whose observations are of `kind` (a constant in each call of
 * step_range, so that every kind gets its own loop). A move is a table lookup, one terrain
 * byte (wall, decoy, colour), the observation's update and conditional moves; only entering
 * the exit or a coloured square, and an episode's end, leave the straight path. The agent is
 * never on the outer ring when it moves (reaching the exit ends the episode), so a neighbour
 * is on the board; the range test only guards memory. Fields are read from locals (and the
 * observation drawn from a local copy of the env): the loop stores bytes, which C lets alias
 * anything, so fields read through a pointer that escapes would be reloaded after every
 * store. The rare paths (enter, an episode's end) take the caller's pointer. */
static FM_SPECIALISED void step_kind(const fm_env *shared, int64_t lo, int64_t hi,
                                     const int64_t *actions, const int32_t kind)
{
    const fm_env local = *shared, *env = &local;
    const int32_t W = env->W, max_steps = env->max_steps;
    const int64_t squares = (int64_t)env->H * W, bytes = fm_env_obs_bytes(env);
    const int64_t offset[4] = {-W, 1, W, -1};
    const uint8_t *terrain = env->terrain;
    uint8_t *agent_plane = env->obs + squares, *pending = env->pending, *resetting = env->resetting;
    uint8_t *terminated = env->terminated, *truncated = env->truncated;
    int32_t *agent = env->agent, *length = env->info.episode_length;
    const int32_t *exit = env->exit;
    float *reward = env->reward, *episode_return = env->info.episode_return;
    const float base = 0.0f - env->step_penalty; /* +0.0, never -0.0, without a penalty */
    const int next_step = env->autoreset == FM_AUTORESET_NEXT_STEP;

    for (int64_t e = lo; e < hi; e++) {
#if defined(__GNUC__)
        /* Each env's squares are a random access: ask for a later env's now, so that memory
         * latency overlaps this env's work. */
        if (e + FM_PREFETCH_AHEAD < hi) {
            const int64_t f = e + FM_PREFETCH_AHEAD;
            const int64_t at = (int64_t)agent[2 * f] * W + agent[2 * f + 1];
            __builtin_prefetch(terrain + f * squares + at - W);
            __builtin_prefetch(terrain + f * squares + at + W);
            if (kind == FM_OBS_SYMBOLIC) {
                __builtin_prefetch(agent_plane + f * bytes + at - W, 1);
                __builtin_prefetch(agent_plane + f * bytes + at + W, 1);
            }
            if (kind == FM_OBS_RGB && env->pixels <= 8) { /* its agent's pixel rows */
                const int32_t px = env->pixels, inset = fm_agent_inset(px), side = px - 2 * inset;
                const int64_t width = (int64_t)W * px, plane = (int64_t)env->H * px * width;
                const uint8_t *o = env->obs + f * bytes +
                                   ((int64_t)agent[2 * f] * px + inset) * width +
                                   (int64_t)agent[2 * f + 1] * px + inset;
                for (int32_t ch = 0; ch < 3; ch++)
                    for (int32_t i = 0; i < side; i++)
                        __builtin_prefetch(o + ch * plane + i * width, 1);
            }
        }
#endif
        resetting[e] = 0;
        if (next_step && pending[e]) {
            skip_for_reset(shared, e);
            continue;
        }
        const int32_t r = agent[2 * e], c = agent[2 * e + 1];
        const int64_t from = (int64_t)r * W + c, a = actions[e];
        int64_t to = from + offset[a];
        to = (uint64_t)to < (uint64_t)squares ? to : from;
        const uint8_t ahead = terrain[e * squares + to];
        /* Selected by arithmetic, not by `?:`, which compilers turn into a branch here
         * that a random walk mispredicts half the time. */
        const int32_t moved = (int32_t)(~ahead & FM_TERRAIN_WALL) & (to != from);
        const int64_t dest = from + (to - from) * moved;
        if (kind == FM_OBS_SYMBOLIC) { /* from locals: obs_move's would be reloaded */
            agent_plane[e * bytes + from] = 0;
            agent_plane[e * bytes + dest] = 1;
        }
        const int32_t nr = r + DROW[a] * moved, nc = c + DCOL[a] * moved;
        agent[2 * e] = nr;
        agent[2 * e + 1] = nc;
        if (kind != FM_OBS_SYMBOLIC) obs_move(env, kind, e, r, c, nr, nc, bytes);

        float rw = base;
        uint8_t done = 0;
        const int64_t exit_square = (int64_t)exit[2 * e] * W + exit[2 * e + 1];
        if (moved & ((dest == exit_square) | (ahead > FM_TERRAIN_WALL)))
            rw += enter(shared, e, nr, nc, &done);
        const int32_t len = length[e] + 1;
        length[e] = len;
        episode_return[e] += rw;
        reward[e] = rw;
        terminated[e] = done;
        truncated[e] = !done && len >= max_steps;
        if (done | (len >= max_steps)) end_episode(shared, e, bytes);
    }
}

static void step_range(const fm_env *env, int64_t lo, int64_t hi, const int64_t *actions)
{
    switch (env->obs_kind) {
    case FM_OBS_RGB: step_kind(env, lo, hi, actions, FM_OBS_RGB); break;
    case FM_OBS_EGOCENTRIC: step_kind(env, lo, hi, actions, FM_OBS_EGOCENTRIC); break;
    case FM_OBS_COMPACT: step_kind(env, lo, hi, actions, FM_OBS_COMPACT); break;
    default: step_kind(env, lo, hi, actions, FM_OBS_SYMBOLIC);
    }
}

static void start_level(const fm_env *env, int64_t e, int64_t id, int32_t thread);

/* The id of the k-th reset drawn from `stream`. */
static inline int64_t stream_id(const fm_stream *stream, int64_t k)
{
    const int64_t raw = stream->next_id + k;
    if (stream->num_levels <= 0) return raw;
    return stream->first_id + (raw - stream->first_id) % stream->num_levels;
}

/* The env's own level arrays, as the generator's output batch (row e = env e). */
static fm_levels env_slots(const fm_env *env)
{
    fm_levels out;
    out.grid = env->grid;
    out.color = env->color;
    out.start = env->start;
    out.exit = env->exit;
    out.decoys = env->decoys;
    out.n_decoys = env->n_decoys;
    out.component = env->component;
    out.max_decoys = env->max_decoys;
    return out;
}

/* Env e starts level `id` of the stream on scratch `thread`; returns 1 if it could not be
 * placed (env e is then left as it was, and the caller raises). */
static int draw_level(const fm_env *env, const fm_stream *stream, int64_t e, int64_t id,
                      int32_t thread)
{
    const fm_levels slots = env_slots(env);
    if (fm_generator_level(stream->generator, thread, stream->seed, id, &slots, e)) return 1;
    start_level(env, e, id, thread);
    return 0;
}

static void keep_lowest(int64_t *failed, int64_t id)
{
#pragma omp critical(fm_env_failed)
    if (*failed < 0 || id < *failed) *failed = id;
}

/* Below this many bytes a copy runs on one thread. */
#define FM_COPY_PARALLEL_BYTES (1 << 19)

static int64_t copy_bytes(const fm_rows *arrays, int32_t count, int64_t n)
{
    int64_t bytes = 0;
    for (int32_t k = 0; k < count; k++) bytes += arrays[k].row_bytes * n;
    return bytes;
}

/* Rows lo .. hi-1 of every array of `arrays`. */
static void copy_range(const fm_rows *arrays, int32_t count, int64_t lo, int64_t hi)
{
    for (int32_t k = 0; lo < hi && k < count; k++) {
        const int64_t row = arrays[k].row_bytes;
        memcpy(arrays[k].dst + lo * row, arrays[k].src + lo * row, (size_t)((hi - lo) * row));
    }
}

int64_t fm_env_step(const fm_env *env, const int64_t *actions, int64_t *reset_idx,
                    const fm_stream *stream, const fm_rows *copies, int32_t n_copies,
                    int64_t *failed)
{
    const int64_t n = env->n;
    const int draw = stream && stream->generator;
    const int32_t threads =
        n_copies > 0 && copy_bytes(copies, n_copies, n) >= FM_COPY_PARALLEL_BYTES
            ? (env->threads < 1 ? 1 : env->threads)
            : team(env->threads, n);
    int64_t per = n, granted = 1, bad = n;
    *failed = -1;
#pragma omp parallel num_threads(threads)
    {
        /* Split by the team actually granted: OMP_THREAD_LIMIT, OMP_DYNAMIC or nesting can
         * give fewer threads than asked, and every env must still be stepped exactly once. */
        const int64_t size = fm_team_size(), t = fm_thread_id(), share = (n + size - 1) / size;
        const int64_t lo = t * share < n ? t * share : n, hi = lo + share < n ? lo + share : n;
        /* Each thread checks its own actions (then in its cache for the step); nobody steps
         * until every range has passed. */
        const int64_t my_bad = fm_env_check_actions(actions + lo, hi - lo);
        if (my_bad >= 0) {
#pragma omp critical(fm_env_bad)
            if (lo + my_bad < bad) bad = lo + my_bad;
        }
        if (size > 1) {
#pragma omp barrier
        }
        if (bad == n) {
            step_range(env, lo, hi, actions);
            /* Each thread lists the resets of its own range (ascending) at its range's start. */
            int64_t k = 0;
            for (int64_t e = lo; e < hi; e++)
                if (env->resetting[e]) reset_idx[lo + k++] = e;
            env->resets_of_thread[t] = k;
            if (t == 0) {
                per = share;
                granted = size;
            }
            if (draw) { /* ids follow env order: a thread's first is after every lower range's */
                if (size > 1) {
#pragma omp barrier
                }
                int64_t before = 0;
                for (int64_t u = 0; u < t; u++) before += env->resets_of_thread[u];
                for (int64_t j = 0; j < k; j++) {
                    const int64_t id = stream_id(stream, before + j);
                    if (draw_level(env, stream, reset_idx[lo + j], id, (int32_t)t))
                        keep_lowest(failed, id);
                }
            }
            copy_range(copies, n_copies, lo, hi); /* this range is final: hand it out */
        }
    }
    if (bad < n) return -1 - bad;
    int64_t m = env->resets_of_thread[0];
    for (int64_t t = 1; t < granted && t * per < n; t++) { /* threads with envs */
        const int64_t k = env->resets_of_thread[t];
        memmove(reset_idx + m, reset_idx + t * per, sizeof(int64_t) * (size_t)k);
        m += k;
    }
    return m;
}

void fm_copy_rows(const fm_rows *arrays, int32_t count, int64_t n, int32_t threads)
{
    if (copy_bytes(arrays, count, n) < FM_COPY_PARALLEL_BYTES) threads = 1;
#pragma omp parallel num_threads(threads < 1 ? 1 : threads)
    {
        const int64_t size = fm_team_size(), t = fm_thread_id(), share = (n + size - 1) / size;
        const int64_t lo = t * share, hi = lo + share < n ? lo + share : n;
        copy_range(arrays, count, lo, hi);
    }
}

/* ---- resets ------------------------------------------------------------------------------ */

/* BFS over the floor squares of env e's board from square (r0, c0): dist[s] steps, -1
 * unreached. It stops once square `goal` is taken from the queue, when every square no
 * farther than the goal has its exact distance. The queue holds (row << 16
 * | col), so that no square is divided by W. */
static void bfs(const fm_env *env, int64_t e, int32_t r0, int32_t c0, int32_t goal, int32_t *dist,
                int32_t *queue)
{
    const int32_t H = env->H, W = env->W;
    const uint8_t *grid = env->grid + e * H * W;
    memset(dist, 0xff, sizeof(int32_t) * (size_t)(H * W)); /* every entry -1 */
    int32_t head = 0, tail = 0;
    dist[r0 * W + c0] = 0;
    queue[tail++] = r0 << 16 | c0;
    while (head < tail) {
        const int32_t r = queue[head] >> 16, c = queue[head] & 0xffff, s = r * W + c;
        head++;
        if (s == goal) return;
        for (int d = 0; d < 4; d++) {
            int32_t nr = r + DROW[d], nc = c + DCOL[d], t = nr * W + nc;
            if ((uint32_t)nr >= (uint32_t)H || (uint32_t)nc >= (uint32_t)W || grid[t] ||
                dist[t] >= 0)
                continue;
            dist[t] = dist[s] + 1;
            queue[tail++] = nr << 16 | nc;
        }
    }
}

/* Whether a decoy lies on a shortest path from (r0, c0) to the exit, given the distances to
 * the exit (exact up to dist_exit[start]): a walk from the start down the distances visits
 * exactly the squares of those paths. `seen`, `stack`: H * W scratch each. */
static uint8_t decoy_on_path(const fm_env *env, int64_t e, int32_t r0, int32_t c0,
                             const int32_t *dist_exit, int32_t *seen, int32_t *stack)
{
    const int32_t H = env->H, W = env->W;
    const uint8_t *terrain = env->terrain + e * H * W;
    memset(seen, 0, sizeof(int32_t) * (size_t)(H * W));
    int32_t top = 0;
    seen[r0 * W + c0] = 1;
    stack[top++] = r0 << 16 | c0;
    while (top > 0) {
        const int32_t r = stack[--top] >> 16, c = stack[top] & 0xffff, s = r * W + c;
        if (terrain[s] & FM_TERRAIN_DECOY) return 1;
        for (int d = 0; d < 4 && dist_exit[s] > 0; d++) { /* the exit ends every path */
            int32_t nr = r + DROW[d], nc = c + DCOL[d], t = nr * W + nc;
            if ((uint32_t)nr >= (uint32_t)H || (uint32_t)nc >= (uint32_t)W ||
                dist_exit[t] != dist_exit[s] - 1 || seen[t])
                continue;
            seen[t] = 1;
            stack[top++] = nr << 16 | nc;
        }
    }
    return 0;
}

/* optimal_length and ambiguous of env e's level: one BFS from the exit, stopped at the
 * start, then the walk down it (decoy_on_path). */
static void solve_one(const fm_env *env, int64_t e, int32_t *scratch)
{
    const int32_t W = env->W, squares = env->H * env->W;
    int32_t *from_exit = scratch, *seen = scratch + squares, *queue = scratch + 2 * squares;
    const int32_t r0 = env->start[2 * e], c0 = env->start[2 * e + 1];
    bfs(env, e, env->exit[2 * e], env->exit[2 * e + 1], r0 * W + c0, from_exit, queue);
    const int32_t best = from_exit[r0 * W + c0];
    env->info.optimal_length[e] = best;
    env->info.ambiguous[e] =
        best >= 0 && env->n_decoys[e] > 0 && decoy_on_path(env, e, r0, c0, from_exit, seen, queue);
}

/* Copies level j of `levels` into env e's slot. */
static void copy_level(const fm_env *env, int64_t e, const fm_levels *levels, int64_t j)
{
    const int64_t squares = (int64_t)env->H * env->W, nd = 2 * (int64_t)env->max_decoys;
    memcpy(env->grid + e * squares, levels->grid + j * squares, (size_t)squares);
    memcpy(env->color + e * squares, levels->color + j * squares, (size_t)squares);
    if (nd) memcpy(env->decoys + e * nd, levels->decoys + j * nd, sizeof(int32_t) * (size_t)nd);
    for (int32_t k = 0; k < 2; k++) {
        env->start[2 * e + k] = levels->start[2 * j + k];
        env->exit[2 * e + k] = levels->exit[2 * j + k];
    }
    env->n_decoys[e] = levels->n_decoys[j];
    env->component[e] = levels->component[j];
}

/* Env e starts the level now in its slot, `id`: terrain, agent, episode state, solution
 * (on scratch `thread`) and observation. */
static void start_level(const fm_env *env, int64_t e, int64_t id, int32_t thread)
{
    const int64_t squares = (int64_t)env->H * env->W;
    const uint8_t *grid = env->grid + e * squares, *color = env->color + e * squares;
    uint8_t *terrain = env->terrain + e * squares;
    for (int64_t q = 0; q < squares; q++)
        terrain[q] = (uint8_t)((grid[q] != 0) | color[q] << FM_TERRAIN_COLOR_SHIFT);
    const int32_t *d = env->decoys ? env->decoys + 2 * e * env->max_decoys : NULL;
    for (int32_t k = 0; d && k < env->n_decoys[e] && k < env->max_decoys; k++)
        terrain[(int64_t)d[2 * k] * env->W + d[2 * k + 1]] |= FM_TERRAIN_DECOY;
    env->agent[2 * e] = env->start[2 * e];
    env->agent[2 * e + 1] = env->start[2 * e + 1];
    const fm_env_info *in = &env->info;
    in->level_id[e] = id;
    in->reached_exit[e] = 0;
    in->reached_decoy[e] = 0;
    in->decoy_color[e] = 0;
    in->episode_return[e] = 0.0f;
    in->episode_length[e] = 0;
    env->seen[e] = 0;
    env->pending[e] = 0;
    solve_one(env, e, env->scratch + (int64_t)thread * 3 * squares);
    obs_render(env, e);
}

/* From this many levels a load runs on a team: one reset (copy, two BFS, a board) costs
 * several microseconds, a team's fork and join about one. */
#define FM_LOAD_PARALLEL_LEVELS 8

void fm_env_load(const fm_env *env, fm_levels levels, const int64_t *ids, const int64_t *idx,
                 int64_t m)
{
    const int32_t threads = m >= FM_LOAD_PARALLEL_LEVELS ? env->threads : 1;
#pragma omp parallel for num_threads(threads < 1 ? 1 : threads) schedule(static)
    for (int64_t j = 0; j < m; j++) {
        copy_level(env, idx[j], &levels, j);
        start_level(env, idx[j], ids[j], fm_thread_id());
    }
}

int64_t fm_env_load_stream(const fm_env *env, const fm_stream *stream, const int64_t *idx,
                           int64_t m)
{
    const int32_t threads = m >= FM_LOAD_PARALLEL_LEVELS ? env->threads : 1;
    int64_t failed = -1;
#pragma omp parallel for num_threads(threads < 1 ? 1 : threads) schedule(static)
    for (int64_t j = 0; j < m; j++) {
        const int64_t id = stream_id(stream, j);
        if (draw_level(env, stream, idx[j], id, fm_thread_id())) keep_lowest(&failed, id);
    }
    return failed;
}
