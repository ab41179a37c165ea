/* Maze carving and the batch driver. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "threads.h"

#define FM_BLOCK 512 /* levels per scheduling block */

static int geometry_init(fm_geometry *g, int32_t rows, int32_t cols)
{
    g->rows = rows;
    g->cols = cols;
    g->H = 2 * rows + 1;
    g->W = 2 * cols + 1;
    g->Wp = g->W + 2;
    g->padded = (g->H + 2) * g->Wp;
    g->n_cells = rows * cols;
    g->n_edges = rows * (cols - 1) + (rows - 1) * cols;
    g->cells = malloc(sizeof(int32_t) * (size_t)g->n_cells);
    g->edges = malloc(sizeof(int32_t) * (size_t)g->n_edges);
    g->template_board = malloc((size_t)g->padded);
    if (!g->cells || !g->edges || !g->template_board) return -1;

    memset(g->template_board, 1, (size_t)g->padded);
    int32_t e = 0;
    for (int32_t i = 0; i < rows; i++) {
        for (int32_t j = 0; j < cols; j++) {
            int32_t p = (2 * i + 2) * g->Wp + 2 * j + 2;
            g->cells[i * cols + j] = p;
            g->template_board[p] = FM_UNVISITED;
            if (j + 1 < cols) g->edges[e++] = (p + 1) << 1;           /* wall to the right */
            if (i + 1 < rows) g->edges[e++] = ((p + g->Wp) << 1) | 1; /* wall below */
        }
    }
    return 0;
}

static void geometry_free(fm_geometry *g)
{
    free(g->cells);
    free(g->edges);
    free(g->template_board);
}

static int scratch_init(fm_scratch *w, const fm_geometry *g)
{
    size_t p = (size_t)g->padded;
    w->board = malloc(p);
    w->dir = malloc(p);
    w->stack = malloc(sizeof(int32_t) * p);
    w->aux = malloc(sizeof(int32_t) * p);
    w->work = malloc(sizeof(int32_t) * (size_t)(g->n_edges + 1));
    w->perm = malloc(sizeof(int32_t) * (size_t)g->n_cells);
    w->undo = malloc(sizeof(int32_t) * (size_t)g->n_cells);
    w->dist_b = malloc(sizeof(int32_t) * p);
    w->dist_c = malloc(sizeof(int32_t) * p);
    w->list = malloc(sizeof(int32_t) * p);
    w->openings = malloc(sizeof(int32_t) * (size_t)(2 * (g->rows + g->cols)));
    w->mark = malloc(p);
    if (!w->board || !w->dir || !w->stack || !w->aux || !w->work || !w->perm || !w->undo ||
        !w->dist_b || !w->dist_c || !w->list || !w->openings || !w->mark)
        return -1;
    for (int32_t k = 0; k < g->n_cells; k++) w->perm[k] = k;
    return 0;
}

static void scratch_free(fm_scratch *w)
{
    free(w->board);
    free(w->dir);
    free(w->stack);
    free(w->aux);
    free(w->work);
    free(w->perm);
    free(w->undo);
    free(w->dist_b);
    free(w->dist_c);
    free(w->list);
    free(w->openings);
    free(w->mark);
}

/* Depth-first search with an explicit stack (the "recursive backtracker"). */
static void carve_backtracker(const fm_geometry *g, fm_scratch *w, fm_rng *r)
{
    uint8_t *b = w->board;
    const int32_t off[4] = {-g->Wp, 1, g->Wp, -1};
    int32_t *stack = w->stack, sp = 0;
    int32_t cur = g->cells[fm_below(r, (uint32_t)g->n_cells)];
    b[cur] = 0;
    stack[sp++] = cur;
    while (sp) {
        cur = stack[sp - 1];
        int32_t cand[4], nc = 0;
        for (int d = 0; d < 4; d++) {
            cand[nc] = off[d];
            nc += b[cur + 2 * off[d]] == FM_UNVISITED;
        }
        if (!nc) {
            sp--;
            continue;
        }
        int32_t o = cand[fm_below4(r, nc)];
        b[cur + o] = 0;
        b[cur + 2 * o] = 0;
        stack[sp++] = cur + 2 * o;
    }
}

static inline int32_t uf_find(int32_t *parent, int32_t x)
{
    while (parent[x] != x) {
        parent[x] = parent[parent[x]];
        x = parent[x];
    }
    return x;
}

/* Randomised Kruskal: inner walls in random order, each removed if it joins two trees. */
static void carve_kruskal(const fm_geometry *g, fm_scratch *w, fm_rng *r)
{
    uint8_t *b = w->board;
    int32_t *parent = w->aux, *edges = w->work;
    for (int32_t k = 0; k < g->n_cells; k++) parent[g->cells[k]] = g->cells[k];
    memcpy(edges, g->edges, sizeof(int32_t) * (size_t)g->n_edges);
    int32_t joins = g->n_cells - 1;
    for (int32_t k = 0; joins > 0; k++) {
        int32_t pick = k + (int32_t)fm_below(r, (uint32_t)(g->n_edges - k));
        int32_t e = edges[pick];
        edges[pick] = edges[k];
        int32_t wall = e >> 1, step = (e & 1) ? g->Wp : 1;
        int32_t a = uf_find(parent, wall - step), c = uf_find(parent, wall + step);
        if (a == c) continue;
        parent[a] = c;
        b[wall] = 0;
        joins--;
    }
    for (int32_t k = 0; k < g->n_cells; k++) b[g->cells[k]] = 0;
}

/* Randomised Prim: grow one tree, attaching a random frontier cell at a time. */
static void carve_prim(const fm_geometry *g, fm_scratch *w, fm_rng *r)
{
    uint8_t *b = w->board;
    const int32_t off[4] = {-g->Wp, 1, g->Wp, -1};
    int32_t *frontier = w->stack, nf = 0;
    int32_t cur = g->cells[fm_below(r, (uint32_t)g->n_cells)];
    for (;;) {
        b[cur] = 0;
        for (int d = 0; d < 4; d++) {
            int32_t v = cur + 2 * off[d];
            if (b[v] == FM_UNVISITED) {
                b[v] = FM_FRONTIER;
                frontier[nf++] = v;
            }
        }
        if (!nf) break;
        int32_t k = (int32_t)fm_below(r, (uint32_t)nf);
        cur = frontier[k];
        frontier[k] = frontier[--nf];
        int32_t cand[4], nc = 0;
        for (int d = 0; d < 4; d++) {
            cand[nc] = off[d];
            nc += b[cur + 2 * off[d]] == 0;
        }
        b[cur + cand[fm_below4(r, nc)]] = 0;
    }
}

/* Wilson's algorithm: loop-erased random walks, a uniform spanning tree. */
static void carve_wilson(const fm_geometry *g, fm_scratch *w, fm_rng *r)
{
    uint8_t *b = w->board, *dir = w->dir;
    const int32_t off[4] = {-g->Wp, 1, g->Wp, -1};
    b[g->cells[fm_below(r, (uint32_t)g->n_cells)]] = 0;
    for (int32_t k = 0; k < g->n_cells; k++) {
        int32_t first = g->cells[k];
        if (b[first] != FM_UNVISITED) continue;
        for (int32_t v = first; b[v] == FM_UNVISITED;) {
            int32_t cand[4], nc = 0;
            for (int d = 0; d < 4; d++) {
                cand[nc] = d;
                nc += b[v + 2 * off[d]] != 1;
            }
            int32_t d = cand[fm_below4(r, nc)];
            dir[v] = (uint8_t)d;
            v += 2 * off[d];
        }
        for (int32_t v = first; b[v] == FM_UNVISITED;) {
            int32_t o = off[dir[v]];
            b[v] = 0;
            b[v + o] = 0;
            v += 2 * o;
        }
    }
}

static void carve_open(const fm_geometry *g, fm_scratch *w)
{
    for (int32_t row = 2; row < g->H; row++) memset(w->board + row * g->Wp + 2, 0, (size_t)(g->W - 2));
}

/* Removes round(p * m) of the m inner walls still standing, chosen uniformly. */
static void remove_walls(const fm_geometry *g, fm_scratch *w, double p, fm_rng *r)
{
    uint8_t *b = w->board;
    int32_t m = 0;
    for (int32_t k = 0; k < g->n_edges; k++)
        if (b[g->edges[k] >> 1]) w->work[m++] = g->edges[k] >> 1;
    int32_t take = (int32_t)(p * m + 0.5);
    for (int32_t k = 0; k < take; k++) {
        int32_t pick = k + (int32_t)fm_below(r, (uint32_t)(m - k));
        int32_t wall = w->work[pick];
        w->work[pick] = w->work[k];
        b[wall] = 0;
    }
}

void fm_carve(const fm_geometry *g, const fm_spec *s, fm_scratch *w, fm_rng *r)
{
    memcpy(w->board, g->template_board, (size_t)g->padded);
    switch (s->algorithm) {
    case FM_ALG_BACKTRACKER: carve_backtracker(g, w, r); break;
    case FM_ALG_KRUSKAL: carve_kruskal(g, w, r); break;
    case FM_ALG_PRIM: carve_prim(g, w, r); break;
    case FM_ALG_WILSON: carve_wilson(g, w, r); break;
    default: carve_open(g, w); return;
    }
    if (s->loops > 0) remove_walls(g, w, s->loops, r);
}

static int dist_ok(const fm_dist *d, int32_t lo, int32_t hi)
{
    if (d->n < 1 || d->n > FM_MAX_CATS) return 0;
    for (int32_t k = 0; k < d->n; k++)
        if (d->value[k] < lo || d->value[k] > hi) return 0;
    return 1;
}

/* Defence in depth: the Python layer validates specs with clear messages; the core still
 * refuses anything that could make it read or write out of bounds. */
static int spec_ok(const fm_spec *s, const fm_spec *first, int32_t max_decoys)
{
    int32_t cells = s->rows * s->cols;
    if (s->rows < 2 || s->cols < 2 || s->rows > FM_MAX_CELLS || s->cols > FM_MAX_CELLS) return 0;
    if (s->rows != first->rows || s->cols != first->cols) return 0;
    if (s->algorithm < FM_ALG_BACKTRACKER || s->algorithm > FM_ALG_OPEN) return 0;
    if (!(s->loops >= 0 && s->loops <= 1)) return 0;
    if (s->start_corner < -1 || s->start_corner > 3 || s->min_distance < 0) return 0;
    if (s->exit_sides < 1 || s->exit_sides > 15 || s->exit_region < 0) return 0;
    if (s->exit_corner < 0 || s->exit_corner > 3) return 0;
    if (!dist_ok(&s->n_decoys, 0, max_decoys) || !dist_ok(&s->n_distractors, 0, cells)) return 0;
    if (1 + fm_dist_max(&s->n_decoys) + fm_dist_max(&s->n_distractors) > cells) return 0;
    if (!dist_ok(&s->exit_color, 0, 255) || !dist_ok(&s->decoy_color, 0, 255) ||
        !dist_ok(&s->distractor_color, 0, 255))
        return 0;
    if (s->decoy_placement < FM_PLACE_ANYWHERE || s->decoy_placement > FM_PLACE_OFF_PATH) return 0;
    if (s->branch < 1 || s->false_exits < 0 || s->false_exits >= 2 * (s->rows + s->cols)) return 0;
    return 1;
}

/* A spec set compiled once: its geometry, each spec's exit candidates and one scratch per
 * thread, so that a level costs only its own carving and placement. */
struct fm_generator {
    fm_spec *specs;
    int32_t n_specs, per_spec, threads;
    fm_dist mixture;
    fm_geometry geometry;
    int32_t *exits;   /* [n_specs, per_spec] */
    int32_t *n_exits; /* [n_specs] */
    fm_scratch *scratch; /* [threads] */
};

fm_generator *fm_generator_new(const fm_spec *specs, int32_t n_specs, const fm_dist *mixture,
                               int32_t max_decoys, int32_t threads, int64_t *error)
{
    *error = FM_ERR_SPEC;
    if (n_specs < 1 || n_specs > 255 || !dist_ok(mixture, 0, n_specs - 1) || max_decoys < 0)
        return NULL;
    for (int32_t k = 0; k < n_specs; k++)
        if (!spec_ok(&specs[k], &specs[0], max_decoys)) return NULL;
    *error = FM_ERR_MEMORY;
    fm_generator *gen = calloc(1, sizeof *gen);
    if (!gen) return NULL;
    gen->n_specs = n_specs;
    gen->threads = threads < 1 ? 1 : threads;
    gen->per_spec = 2 * (specs[0].rows + specs[0].cols);
    gen->mixture = *mixture;
    gen->specs = malloc(sizeof(fm_spec) * (size_t)n_specs);
    gen->exits = malloc(sizeof(int32_t) * (size_t)(gen->per_spec * n_specs));
    gen->n_exits = malloc(sizeof(int32_t) * (size_t)n_specs);
    gen->scratch = calloc((size_t)gen->threads, sizeof(fm_scratch));
    if (geometry_init(&gen->geometry, specs[0].rows, specs[0].cols) || !gen->specs ||
        !gen->exits || !gen->n_exits || !gen->scratch)
        goto fail;
    memcpy(gen->specs, specs, sizeof(fm_spec) * (size_t)n_specs);
    for (int32_t t = 0; t < gen->threads; t++)
        if (scratch_init(&gen->scratch[t], &gen->geometry)) goto fail;
    for (int32_t k = 0; k < n_specs; k++) {
        int32_t *exits = gen->exits + k * gen->per_spec;
        gen->n_exits[k] = fm_exit_candidates(&gen->geometry, &specs[k], exits);
        if (!gen->n_exits[k]) {
            *error = FM_ERR_SPEC;
            goto fail;
        }
    }
    *error = FM_OK;
    return gen;
fail:
    fm_generator_free(gen);
    return NULL;
}

void fm_generator_free(fm_generator *gen)
{
    if (!gen) return;
    if (gen->scratch)
        for (int32_t t = 0; t < gen->threads; t++) scratch_free(&gen->scratch[t]);
    free(gen->scratch);
    free(gen->specs);
    free(gen->exits);
    free(gen->n_exits);
    geometry_free(&gen->geometry);
    free(gen);
}

int32_t fm_generator_threads(const fm_generator *gen)
{
    return gen->threads;
}

int fm_generator_level(const fm_generator *gen, int32_t thread, uint64_t seed, int64_t id,
                       const fm_levels *out, int64_t k)
{
    fm_scratch *w = &gen->scratch[thread];
    uint64_t u = fm_weyl(seed, FM_FACTOR_COMPONENT, (uint64_t)id);
    int32_t m = fm_pick_index(&gen->mixture, u), c = gen->mixture.value[m];
    const fm_spec *s = &gen->specs[c];
    /* Only the searched placements may retry; the others keep their one draw. */
    int32_t attempts = s->decoy_placement || s->false_exits ? FM_MAX_ATTEMPTS : 1;
    int failed = 1;
    for (int32_t a = 0; a < attempts && failed; a++) {
        fm_rng r = fm_rng_for(seed, (uint64_t)id, FM_STREAM_LAYOUT + FM_STREAM_RETRY * (uint64_t)a);
        fm_carve(&gen->geometry, s, w, &r);
        failed = fm_place(&gen->geometry, s, gen->exits + c * gen->per_spec, gen->n_exits[c], w,
                          seed, id, a, fm_rescale(&gen->mixture, m, u), out, k);
    }
    if (!failed) out->component[k] = (uint8_t)c;
    return failed;
}

int64_t fm_generate(const fm_spec *specs, int32_t n_specs, const fm_dist *mixture, uint64_t seed,
                    int64_t first_id, int64_t n, fm_levels out, int32_t threads)
{
    /* No more threads than blocks of the schedule: a thread with no block only adds the cost
     * of starting and joining it (and of its scratch). */
    const int64_t blocks = (n + FM_BLOCK - 1) / FM_BLOCK;
    const int32_t team =
        threads <= 1 || blocks <= 1 ? 1 : (blocks < threads ? (int32_t)blocks : threads);
    int64_t error;
    fm_generator *gen = fm_generator_new(specs, n_specs, mixture, out.max_decoys, team, &error);
    if (!gen) return error;
    int64_t first_failed = n;
#pragma omp parallel num_threads(team)
    {
        const int32_t t = fm_thread_id();
        int64_t my_failed = n;
#pragma omp for schedule(dynamic, FM_BLOCK)
        for (int64_t k = 0; k < n; k++)
            if (fm_generator_level(gen, t, seed, first_id + k, &out, k) && k < my_failed)
                my_failed = k;
#pragma omp critical(fm_generate_result)
        if (my_failed < first_failed) first_failed = my_failed;
    }
    fm_generator_free(gen);
    return first_failed == n ? FM_OK : first_id + first_failed;
}

void fm_layout_hash(const uint8_t *grid, int64_t n, int32_t squares, uint64_t *out, int32_t threads)
{
    int32_t team = threads < 1 ? 1 : (n < (int64_t)threads * 4096 ? 1 : threads);
#pragma omp parallel for num_threads(team) schedule(static)
    for (int64_t k = 0; k < n; k++) {
        const uint8_t *b = grid + k * squares;
        uint64_t h = 0xcbf29ce484222325ULL ^ (uint64_t)squares;
        int32_t i = 0;
        for (; i + 8 <= squares; i += 8) {
            uint64_t word;
            memcpy(&word, b + i, 8);
            h = fm_mix64(h ^ word);
        }
        uint64_t tail = 0;
        for (int32_t t = 0; i < squares; i++, t++) tail |= (uint64_t)b[i] << (8 * t);
        out[k] = fm_mix64(h ^ tail ^ 0x9e3779b97f4a7c15ULL);
    }
}
