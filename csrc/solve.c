/* BFS oracles for batches of levels.
 *
 * Searches run on a per-thread *padded* copy of the board, one ring of wall wider on every
 * side (width Wp = W + 2), so no neighbour lookup needs a bounds test, even from the exit on
 * the border. A padded square holds its distance once reached, FM_FLOOR while unreached and
 * FM_WALL on walls and on the ring.
 */
#include <stdlib.h>
#include <string.h>

#include "solve.h"
#include "threads.h"

#define FM_FLOOR ((int16_t)-1)
#define FM_WALL ((int16_t)-2)
#define FM_NO_STEP ((int16_t)-3) /* no square holds it: the step target of squares at d <= 0 */
#define FM_ON_PATH 1 /* mark values */
#define FM_TARGET 2

typedef struct {
    int32_t H, W, Wp, padded;
    int32_t off[4];  /* padded index step of each action */
    int32_t boff[4]; /* board index step of each action */
} geometry;

/* Per-thread scratch; mark is all zero between uses. */
typedef struct {
    int32_t *queue; /* [padded] */
    int16_t *de;    /* [padded] distances from the exit */
    int16_t *ds;    /* [padded] distances from the start */
    uint8_t *mark;  /* [padded] decoys to reach (FM_TARGET), a shortest way to one (FM_ON_PATH) */
} scratch;

static int geometry_init(geometry *g, int32_t H, int32_t W)
{
    if (H < 1 || W < 1 || (int64_t)(H + 2) * (W + 2) > INT32_MAX / 4) return -1;
    g->H = H;
    g->W = W;
    g->Wp = W + 2;
    g->padded = (H + 2) * g->Wp;
    const int32_t off[4] = {-g->Wp, 1, g->Wp, -1}, boff[4] = {-W, 1, W, -1};
    memcpy(g->off, off, sizeof off);
    memcpy(g->boff, boff, sizeof boff);
    return 0;
}

static size_t scratch_stride(const geometry *g)
{
    size_t p = (size_t)g->padded, bytes = p * (sizeof(int32_t) + 2 * sizeof(int16_t) + 1);
    return (bytes + 63) & ~(size_t)63;
}

/* Carves thread t's scratch out of `block` and walls the padded boards. */
static scratch scratch_at(const geometry *g, char *block, int32_t t)
{
    size_t p = (size_t)g->padded;
    char *base = block + (size_t)t * scratch_stride(g);
    scratch s;
    s.queue = (int32_t *)base;
    s.de = (int16_t *)(base + p * sizeof(int32_t));
    s.ds = s.de + p;
    s.mark = (uint8_t *)(s.ds + p);
    return s;
}

static char *scratch_alloc(const geometry *g, int32_t threads)
{
    char *block = malloc(scratch_stride(g) * (size_t)threads);
    if (!block) return NULL;
    for (int32_t t = 0; t < threads; t++) {
        scratch s = scratch_at(g, block, t);
        for (int32_t p = 0; p < g->padded; p++) s.de[p] = s.ds[p] = FM_WALL;
        memset(s.mark, 0, (size_t)g->padded);
    }
    return block;
}

/* Padded index of board square (row, col); -1 if it lies off the board. */
static int32_t padded_square(const geometry *g, const int32_t *rc)
{
    if (rc[0] < 0 || rc[0] >= g->H || rc[1] < 0 || rc[1] >= g->W) return -1;
    return (rc[0] + 1) * g->Wp + rc[1] + 1;
}

/* Writes the board's squares into the inside of a padded board; the ring stays wall. */
static void load_board(const geometry *g, const uint8_t *restrict grid, int16_t *restrict d)
{
    const int32_t H = g->H, W = g->W, Wp = g->Wp;
    for (int32_t r = 0; r < H; r++) {
        const uint8_t *restrict in = grid + (size_t)r * W;
        int16_t *restrict row = d + (r + 1) * Wp + 1;
        for (int32_t c = 0; c < W; c++) row[c] = in[c] ? FM_WALL : FM_FLOOR;
    }
}

/* Gives unreached floor square u distance `next` and queues it; branch-free, since in a maze
 * whether a neighbour is open is a coin toss. Returns the new queue tail. */
static inline int32_t visit(int16_t *restrict d, int32_t u, int16_t next, int32_t *restrict queue,
                            int32_t tail)
{
    int fresh = d[u] == FM_FLOOR;
    d[u] = fresh ? next : d[u];
    queue[tail] = u;
    return tail + fresh;
}

/* Breadth-first distances from `source` (a floor square) over a loaded padded board, until
 * `targets` squares marked FM_TARGET have been dequeued (or all squares, if fewer are
 * reachable). Squares nearer than the last target then hold their final distance. Returns 1
 * if a distance would not fit in int16. */
static int bfs(const geometry *g, int16_t *restrict d, int32_t source, const uint8_t *mark,
               int32_t targets, int32_t *restrict queue)
{
    const int32_t Wp = g->Wp;
    int32_t head = 0, tail = 0;
    d[source] = 0;
    queue[tail++] = source;
    while (head < tail) {
        int32_t v = queue[head++];
        if (mark[v] == FM_TARGET && --targets == 0) return 0;
        if (d[v] == INT16_MAX) { /* fits; an unreached neighbour's distance would not */
            if (d[v - Wp] == FM_FLOOR || d[v + 1] == FM_FLOOR || d[v + Wp] == FM_FLOOR ||
                d[v - 1] == FM_FLOOR)
                return 1;
            continue;
        }
        int16_t next = (int16_t)(d[v] + 1);
        tail = visit(d, v - Wp, next, queue, tail);
        tail = visit(d, v + 1, next, queue, tail);
        tail = visit(d, v + Wp, next, queue, tail);
        tail = visit(d, v - 1, next, queue, tail);
    }
    return 0;
}

/* Loads the board into d and searches from the square at rc (see bfs). */
static int distances_from(const geometry *g, const uint8_t *grid, const int32_t *rc, int16_t *d,
                          const uint8_t *mark, int32_t targets, int32_t *queue)
{
    load_board(g, grid, d);
    int32_t p = padded_square(g, rc);
    return p >= 0 && d[p] == FM_FLOOR ? bfs(g, d, p, mark, targets, queue) : 0;
}

static inline int32_t distance_at(const geometry *g, const int16_t *d, const int32_t *rc)
{
    int32_t p = padded_square(g, rc);
    return p >= 0 && d[p] >= 0 ? d[p] : -1;
}

/* dist, actions and action of one level from its exit distances. */
static void write_exit_oracles(const geometry *g, const int16_t *restrict de,
                               int16_t *restrict dist, uint8_t *restrict actions,
                               uint8_t *restrict action)
{
    const int32_t H = g->H, W = g->W, Wp = g->Wp;
    for (int32_t r = 0; r < H; r++) {
        const int16_t *restrict row = de + (r + 1) * Wp + 1;
        const size_t o = (size_t)r * W;
        for (int32_t c = 0; c < W; c++) {
            int16_t d = row[c], t = (int16_t)(d > 0 ? d - 1 : FM_NO_STEP);
            uint8_t up = row[c - Wp] == t, right = row[c + 1] == t, down = row[c + Wp] == t,
                    left = row[c - 1] == t;
            uint8_t lowest = left ? 3 : FM_NO_ACTION;
            lowest = down ? 2 : lowest;
            lowest = right ? 1 : lowest;
            lowest = up ? 0 : lowest;
            dist[o + c] = d < 0 ? -1 : d;
            actions[o + c] = (uint8_t)(up | right << 1 | down << 2 | left << 3);
            action[o + c] = lowest;
        }
    }
}

/* Marks every square on a shortest path from the start to `target` (reached by the search
 * held in ds), walking back down the distances. Returns how many squares it marked; they
 * are queue[0 .. count). */
static int32_t mark_shortest(const geometry *g, const int16_t *ds, int32_t target, uint8_t *mark,
                             int32_t *queue)
{
    int32_t head = 0, tail = 0;
    mark[target] = FM_ON_PATH;
    queue[tail++] = target;
    while (head < tail) {
        int32_t v = queue[head++];
        int16_t t = (int16_t)(ds[v] - 1);
        if (t < 0) continue;
        for (int a = 0; a < 4; a++) {
            int32_t u = v + g->off[a];
            if (ds[u] == t && !mark[u]) {
                mark[u] = FM_ON_PATH;
                queue[tail++] = u;
            }
        }
    }
    return tail;
}

/* Walks the canonical start-exit path while the next square is marked; returns the board
 * index of the last square walked. */
static int32_t last_marked_on_path(const geometry *g, const uint8_t *action, const uint8_t *mark,
                                   const int32_t *start)
{
    int32_t b = start[0] * g->W + start[1], p = padded_square(g, start);
    for (uint8_t a = action[b]; a != FM_NO_ACTION && mark[p + g->off[a]]; a = action[b]) {
        b += g->boff[a];
        p += g->off[a];
    }
    return b;
}

/* Distances from the start into s->ds, searching only until every decoy is reached.
 * Returns bfs's overflow flag. */
static int start_distances(const geometry *g, const uint8_t *grid, const int32_t *start,
                           const int32_t *decoys, int32_t n_dec, scratch *s)
{
    int32_t targets = 0;
    for (int32_t t = 0; t < n_dec; t++) {
        int32_t p = padded_square(g, decoys + 2 * t);
        if (p >= 0 && !s->mark[p]) {
            s->mark[p] = FM_TARGET;
            targets++;
        }
    }
    int overflow = targets ? distances_from(g, grid, start, s->ds, s->mark, targets, s->queue) : 0;
    for (int32_t t = 0; t < n_dec; t++) {
        int32_t p = padded_square(g, decoys + 2 * t);
        if (p >= 0) s->mark[p] = 0;
    }
    return overflow;
}

/* Decoy distances, ambiguity and decision squares of level k; the exit stage has run.
 * Returns bfs's overflow flag. */
static int solve_decoys(const geometry *g, const fm_solve_boards *in, const fm_oracles *out, int64_t k,
                        scratch *s)
{
    const size_t squares = (size_t)g->H * g->W;
    const int32_t D = in->max_decoys, *start = in->start + 2 * k, *decoys = in->decoys + 2 * k * D;
    const int32_t n_dec = in->n_decoys[k] < D ? in->n_decoys[k] : D, length = out->path_length[k];
    const uint8_t *action = out->action + k * squares;
    int overflow = start_distances(g, in->grid + k * squares, start, decoys, n_dec, s);
    uint8_t ambiguous = 0;
    for (int32_t t = 0; t < D; t++) {
        const int32_t *rc = decoys + 2 * t;
        int32_t *dec = out->decision + 2 * (k * D + t);
        int32_t to_decoy = t < n_dec ? distance_at(g, s->ds, rc) : -1;
        int32_t to_exit = t < n_dec ? distance_at(g, s->de, rc) : -1;
        out->decoy_distance[k * D + t] = to_decoy;
        out->decoy_to_exit[k * D + t] = to_exit;
        dec[0] = dec[1] = -1;
        if (to_decoy < 0 || length < 0) continue;
        ambiguous |= to_decoy + to_exit == length;
        int32_t marked = mark_shortest(g, s->ds, padded_square(g, rc), s->mark, s->queue);
        int32_t b = last_marked_on_path(g, action, s->mark, start);
        for (int32_t i = 0; i < marked; i++) s->mark[s->queue[i]] = 0;
        dec[0] = b / g->W;
        dec[1] = b % g->W;
    }
    out->ambiguous[k] = ambiguous;
    return overflow;
}

static int solve_level(const geometry *g, const fm_solve_boards *in, const fm_oracles *out, int64_t k,
                       scratch *s)
{
    const size_t squares = (size_t)g->H * g->W;
    int overflow = distances_from(g, in->grid + k * squares, in->exit + 2 * k, s->de, s->mark, 0,
                                  s->queue);
    write_exit_oracles(g, s->de, out->dist + k * squares, out->actions + k * squares,
                       out->action + k * squares);
    out->path_length[k] = distance_at(g, s->de, in->start + 2 * k);
    out->ambiguous[k] = 0;
    if (in->max_decoys > 0) overflow |= solve_decoys(g, in, out, k, s);
    return overflow;
}

int fm_solve(const fm_solve_boards *in, const fm_oracles *out, int32_t threads)
{
    geometry g;
    if (in->n < 0 || in->max_decoys < 0 || (in->max_decoys > 0 && !in->decoys) ||
        geometry_init(&g, in->H, in->W))
        return FM_SOLVE_BAD_INPUT;
    if (in->n == 0) return FM_OK;
    if (threads < 1) threads = 1;
    if (in->n < threads) threads = in->n < 1 ? 1 : (int32_t)in->n; /* scratch per used thread */
    char *block = scratch_alloc(&g, threads);
    if (!block) return FM_ERR_MEMORY;
    int overflow = 0;
#pragma omp parallel for num_threads(threads) schedule(static) reduction(| : overflow)
    for (int64_t k = 0; k < in->n; k++) {
        scratch s = scratch_at(&g, block, fm_thread_id());
        overflow |= solve_level(&g, in, out, k, &s);
    }
    free(block);
    return overflow ? FM_SOLVE_OVERFLOW : FM_OK;
}

/* Writes the first `len` squares of the canonical path from `start` into out, then -1 up to
 * max_squares. The bounds test only matters for inconsistent inputs. */
static void walk_path(const geometry *g, const uint8_t *action, const int32_t *start, int32_t len,
                      int32_t max_squares, int32_t *out)
{
    static const int32_t DR[4] = {-1, 0, 1, 0}, DC[4] = {0, 1, 0, -1};
    int32_t r = start[0], c = start[1], i = 0;
    for (; i < len && i < max_squares && r >= 0 && r < g->H && c >= 0 && c < g->W; i++) {
        out[2 * i] = r;
        out[2 * i + 1] = c;
        uint8_t a = action[r * g->W + c];
        r += a < 4 ? DR[a] : 0;
        c += a < 4 ? DC[a] : 0;
    }
    for (; i < max_squares; i++) out[2 * i] = out[2 * i + 1] = -1;
}

int fm_canonical_paths(const uint8_t *action, const int32_t *start, const int32_t *path_length,
                       int64_t n, int32_t H, int32_t W, int32_t max_squares, int32_t *paths,
                       int32_t threads)
{
    geometry g;
    if (n < 0 || max_squares < 0 || geometry_init(&g, H, W)) return FM_SOLVE_BAD_INPUT;
    if (threads < 1) threads = 1;
    const size_t squares = (size_t)H * W;
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int64_t k = 0; k < n; k++)
        walk_path(&g, action + k * squares, start + 2 * k, path_length[k] + 1, max_squares,
                  paths + 2 * k * max_squares);
    return FM_OK;
}
