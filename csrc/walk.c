/* Greedy walks on policy maps, a batch at a time (walk.h). */
#include <stdlib.h>
#include <string.h>

#include "walk.h"

#ifdef _OPENMP
#include <omp.h>
#endif

#define FM_WALK_BLOCK 1024 /* levels per scheduling block */

/* The argmax of the 4 scores of a square (stride apart), ties to the lowest action and NaN
 * counted highest (the first NaN wins), as numpy.argmax. */
#define ARGMAX(T)                                                                             \
    static int32_t argmax_##T(const T *v, int64_t stride)                                    \
    {                                                                                         \
        T best = v[0];                                                                        \
        if (best != best) return 0;                                                           \
        int32_t a = 0;                                                                        \
        for (int32_t b = 1; b < 4; b++) {                                                     \
            T x = v[b * stride];                                                              \
            if (x != x) return b;                                                             \
            if (x > best) {                                                                   \
                best = x;                                                                     \
                a = b;                                                                        \
            }                                                                                 \
        }                                                                                     \
        return a;                                                                             \
    }
ARGMAX(float)
ARGMAX(double)

/* Steps from `from` to `to` over floor squares, -1 if unreachable (BFS, stops at `to`). */
static int32_t distance(const uint8_t *grid, int32_t H, int32_t W, int32_t from, int32_t to,
                        int32_t *dist, int32_t *queue)
{
    int32_t squares = H * W, head = 0, tail = 0;
    for (int32_t s = 0; s < squares; s++) dist[s] = -1;
    dist[from] = 0;
    queue[tail++] = from;
    while (head < tail) {
        int32_t v = queue[head++], r = v / W, c = v % W;
        if (v == to) return dist[v];
        int32_t next[4] = {r > 0 ? v - W : -1, c + 1 < W ? v + 1 : -1, r + 1 < H ? v + W : -1,
                           c > 0 ? v - 1 : -1};
        for (int d = 0; d < 4; d++) {
            int32_t u = next[d];
            if (u >= 0 && grid[u] == 0 && dist[u] < 0) {
                dist[u] = dist[v] + 1;
                queue[tail++] = u;
            }
        }
    }
    return -1;
}

/* 1 if square (r, c) is on the board and floor. */
static inline int floor_at(const uint8_t *grid, int32_t H, int32_t W, int32_t r, int32_t c)
{
    return r >= 0 && r < H && c >= 0 && c < W && grid[r * W + c] == 0;
}

/* The walk of level k (bounds-checked first); returns 0, 1 for a bad level (a square off the
 * board or on a wall, a decoy count out of range) or 2 for a bad action value (*bad_square,
 * *bad_value). The policy is read through ACTION(s), specialised per policy kind. */
#define WALK_LEVEL(NAME, ACTION)                                                              \
    static int NAME(const fm_solve_boards *b, const uint8_t *color, fm_policy policy,         \
                    int32_t cue, int32_t max_steps, const int32_t *path_length,              \
                    const fm_walks *out, int64_t k, uint32_t stamp, uint32_t *visited,        \
                    int8_t *object, int32_t *dist, int32_t *queue, int64_t *bad_square,       \
                    int64_t *bad_value)                                                       \
    {                                                                                         \
        const int32_t H = b->H, W = b->W, D = b->max_decoys;                                  \
        const int64_t squares = (int64_t)H * W;                                               \
        const uint8_t *grid = b->grid + k * squares;                                          \
        int32_t r = b->start[2 * k], c = b->start[2 * k + 1];                                 \
        int32_t er = b->exit[2 * k], ec = b->exit[2 * k + 1], nd = b->n_decoys[k];            \
        const int32_t *dk = b->decoys ? b->decoys + 2 * k * D : NULL;                         \
        if (!floor_at(grid, H, W, r, c) || !floor_at(grid, H, W, er, ec) || nd < 0 || nd > D) \
            return 1;                                                                         \
        for (int32_t t = 0; t < nd; t++)                                                      \
            if (!floor_at(grid, H, W, dk[2 * t], dk[2 * t + 1])) return 1;                    \
        const int32_t exit = er * W + ec;                                                     \
        for (int32_t t = nd - 1; t >= 0; t--) { /* the first decoy listed wins a tie */      \
            int32_t q = dk[2 * t] * W + dk[2 * t + 1];                                        \
            object[q] = color[k * squares + q] == cue ? FM_WALK_PROXY : FM_WALK_OTHER;        \
        }                                                                                     \
        object[exit] = FM_WALK_EXIT;                                                          \
        int32_t s = r * W + c, steps = 0, status = 0;                                         \
        int8_t outcome = FM_WALK_NEITHER, reason;                                             \
        visited[s] = stamp;                                                                   \
        for (;;) {                                                                            \
            if (steps >= max_steps) {                                                         \
                reason = FM_WALK_MAX_STEPS;                                                   \
                break;                                                                        \
            }                                                                                 \
            int32_t a = ACTION(s);                                                            \
            if (a > 3) {                                                                      \
                if (a != FM_NO_ACTION) {                                                      \
                    *bad_square = s;                                                          \
                    *bad_value = a;                                                           \
                    status = 2;                                                               \
                }                                                                             \
                reason = FM_WALK_STALL;                                                       \
                break;                                                                        \
            }                                                                                 \
            int32_t nr = r + DR[a], nc = c + DC[a];                                           \
            if (!floor_at(grid, H, W, nr, nc)) {                                              \
                reason = FM_WALK_STALL;                                                       \
                break;                                                                        \
            }                                                                                 \
            r = nr;                                                                           \
            c = nc;                                                                           \
            s = r * W + c;                                                                    \
            steps++;                                                                          \
            if (object[s]) {                                                                  \
                outcome = object[s];                                                          \
                reason = FM_WALK_OBJECT;                                                      \
                break;                                                                        \
            }                                                                                 \
            if (visited[s] == stamp) {                                                        \
                reason = FM_WALK_LOOP;                                                        \
                break;                                                                        \
            }                                                                                 \
            visited[s] = stamp;                                                               \
        }                                                                                     \
        for (int32_t t = 0; t < nd; t++) object[dk[2 * t] * W + dk[2 * t + 1]] = 0;           \
        object[exit] = 0;                                                                     \
        out->outcome[k] = outcome;                                                            \
        out->reason[k] = reason;                                                              \
        out->steps[k] = steps;                                                                \
        int32_t excess = -1;                                                                  \
        if (outcome == FM_WALK_EXIT) {                                                        \
            int32_t from = b->start[2 * k] * W + b->start[2 * k + 1];                         \
            excess = steps - (path_length ? path_length[k]                                    \
                                          : distance(grid, H, W, from, exit, dist, queue));   \
        }                                                                                     \
        out->excess[k] = excess;                                                              \
        return status;                                                                        \
    }

static const int32_t DR[4] = {-1, 0, 1, 0}, DC[4] = {0, 1, 0, -1};
#define ACTIONS(s) policy.actions[k * squares + (s)]
#define SCORES32(s) argmax_float(policy.scores32 + 4 * k * squares + (s), squares)
#define SCORES64(s) argmax_double(policy.scores64 + 4 * k * squares + (s), squares)
WALK_LEVEL(walk_actions, ACTIONS)
WALK_LEVEL(walk_scores32, SCORES32)
WALK_LEVEL(walk_scores64, SCORES64)

int fm_walk(const fm_solve_boards *b, const uint8_t *color, fm_policy policy, int32_t cue,
            int32_t max_steps, const int32_t *path_length, const fm_walks *out, int64_t *bad,
            int32_t threads)
{
    const int32_t H = b->H, W = b->W, D = b->max_decoys;
    if (H < 1 || W < 1 || (int64_t)H * W > INT32_MAX / 4 || D < 0 || max_steps < 0)
        return FM_WALK_BAD_INPUT;
    if (!!policy.actions + !!policy.scores32 + !!policy.scores64 != 1) return FM_WALK_BAD_INPUT;
    const int64_t n = b->n, squares = (int64_t)H * W;
    if (n <= 0) return FM_OK;
    int64_t blocks = (n + FM_WALK_BLOCK - 1) / FM_WALK_BLOCK;
    int32_t team = threads < 1 ? 1 : (blocks < threads ? (int32_t)blocks : threads);
    int64_t first_bad = n, bad_square = 0, bad_value = 0;
    int failed_memory = 0, bad_kind = 0;

#pragma omp parallel num_threads(team)
    {
        /* visited: the stamp of the level that last entered each square; object: codes of
         * the current level's objects, cleared after it. */
        uint32_t *visited = calloc((size_t)squares, sizeof(uint32_t));
        int8_t *object = calloc((size_t)squares, 1);
        int32_t *dist = path_length ? NULL : malloc(sizeof(int32_t) * (size_t)squares);
        int32_t *queue = path_length ? NULL : malloc(sizeof(int32_t) * (size_t)squares);
        int ok = visited && object && (path_length || (dist && queue));
        uint32_t stamp = 0;
        int64_t my_bad = n, my_square = 0, my_value = 0;
        int my_kind = 0;
#pragma omp for schedule(dynamic, FM_WALK_BLOCK)
        for (int64_t k = 0; k < n; k++) {
            if (!ok || k > my_bad) continue;
            if (++stamp == 0) { /* wrapped: forget every earlier stamp */
                memset(visited, 0, sizeof(uint32_t) * (size_t)squares);
                stamp = 1;
            }
            int64_t sq = 0, value = 0;
            int status;
            if (policy.actions)
                status = walk_actions(b, color, policy, cue, max_steps, path_length, out, k, stamp,
                                      visited, object, dist, queue, &sq, &value);
            else if (policy.scores32)
                status = walk_scores32(b, color, policy, cue, max_steps, path_length, out, k,
                                       stamp, visited, object, dist, queue, &sq, &value);
            else
                status = walk_scores64(b, color, policy, cue, max_steps, path_length, out, k,
                                       stamp, visited, object, dist, queue, &sq, &value);
            if (status && k < my_bad) {
                my_bad = k;
                my_kind = status;
                my_square = sq;
                my_value = value;
            }
        }
#pragma omp critical(fm_walk_result)
        {
            if (!ok) failed_memory = 1;
            if (my_bad < first_bad) {
                first_bad = my_bad;
                bad_kind = my_kind;
                bad_square = my_square;
                bad_value = my_value;
            }
        }
        free(visited);
        free(object);
        free(dist);
        free(queue);
    }
    if (failed_memory) return FM_ERR_MEMORY;
    if (first_bad < n) {
        bad[0] = first_bad;
        bad[1] = bad_square;
        bad[2] = bad_value;
        return bad_kind == 1 ? FM_WALK_BAD_LEVEL : FM_WALK_BAD_ACTION;
    }
    return FM_OK;
}
