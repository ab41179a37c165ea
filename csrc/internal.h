/* Shared by the core's translation units; not part of the public interface.
 *
 * Work happens on a *padded* board: the H x W board with one extra ring of wall around it,
 * width Wp = W + 2. A cell's neighbour two squares away then always lies inside the padded
 * board, so no move needs a bounds test. Square values while carving: 1 wall, 0 floor,
 * FM_UNVISITED a cell not yet carved, FM_FRONTIER a cell on Prim's frontier.
 */
#ifndef FASTMAZE_INTERNAL_H
#define FASTMAZE_INTERNAL_H

#include <stdint.h>

#include "fastmaze.h"
#include "rng.h"

#define FM_UNVISITED 3
#define FM_FRONTIER 2

#ifdef _OPENMP
#include <omp.h>
#endif

/* Read-only geometry of one board size, shared by all threads. */
typedef struct {
    int32_t rows, cols, H, W, Wp, padded; /* padded = (H + 2) * Wp */
    int32_t n_cells, n_edges;
    int32_t *cells;           /* [n_cells] padded index of cell id (row-major) */
    int32_t *edges;           /* [n_edges] padded index of inner wall << 1 | vertical */
    uint8_t *template_board;  /* [padded] walls, unvisited cells */
} fm_geometry;

/* Per-thread scratch, allocated once per batch call. */
typedef struct {
    uint8_t *board; /* [padded] */
    uint8_t *dir;   /* [padded] Wilson's walk directions */
    int32_t *stack; /* [padded] DFS stack, Prim's frontier, BFS queue */
    int32_t *aux;   /* [padded] union-find parents, BFS distances */
    int32_t *work;  /* [n_edges] shuffled edges, loop candidates */
    int32_t *perm;  /* [n_cells] identity at rest (see place.c) */
    int32_t *undo;  /* [n_cells] swaps to undo */
    /* Off-path decoys and false exits (place.c): */
    int32_t *dist_b;   /* [padded] second and third BFS distances */
    int32_t *dist_c;   /* [padded] */
    int32_t *list;     /* [padded] candidate squares, walled passages */
    int32_t *openings; /* [2 * (rows + cols)] candidate false openings */
    uint8_t *mark;     /* [padded] FM_MARK_* bits */
} fm_scratch;

#define FM_MARK_PATH 1  /* on the protected (canonical) start -> exit path */
#define FM_MARK_SEAL 2  /* in the region being sealed off */
#define FM_MARK_TAKEN 4 /* a decoy */

/* Placement retries: attempt a of a level uses the streams keyed by (seed, id, stream +
 * FM_STREAM_RETRY * a); attempt 0 is the level as it is drawn without retries. */
#define FM_STREAM_RETRY 16
#define FM_MAX_ATTEMPTS 64

/* Index of the category of u: the first k with u < cdf[k], the last one otherwise. */
static inline int32_t fm_pick_index(const fm_dist *d, uint64_t u)
{
    int32_t k = 0;
    while (k < d->n - 1 && u >= d->cdf[k]) k++;
    return k;
}

static inline int32_t fm_pick(const fm_dist *d, uint64_t u)
{
    return d->value[fm_pick_index(d, u)];
}

/* Where u falls inside category k of d, stretched back to [0, 2^64): a nested draw that is
 * stratified within that category (the mixture's exit colour uses it). */
static inline uint64_t fm_rescale(const fm_dist *d, int32_t k, uint64_t u)
{
    uint64_t lo = k ? d->cdf[k - 1] : 0, hi = k < d->n - 1 ? d->cdf[k] : UINT64_MAX;
    if (hi <= lo) return 0; /* a category rounded to nothing: no room to stretch */
    double x = (double)(u - lo) / (double)(hi - lo) * 18446744073709551616.0;
    return x >= 18446744073709551615.0 ? UINT64_MAX : (uint64_t)x;
}

static inline int32_t fm_dist_max(const fm_dist *d)
{
    int32_t m = 0;
    for (int32_t k = 0; k < d->n; k++)
        if (d->value[k] > m) m = d->value[k];
    return m;
}

/* Padded index -> board (row, col). */
static inline void fm_unpad(const fm_geometry *g, int32_t p, int32_t *rc)
{
    rc[0] = p / g->Wp - 1;
    rc[1] = p % g->Wp - 1;
}

void fm_carve(const fm_geometry *g, const fm_spec *s, fm_scratch *w, fm_rng *r);
int fm_place(const fm_geometry *g, const fm_spec *s, const int32_t *exits, int32_t n_exits,
             fm_scratch *w, uint64_t seed, int64_t id, int32_t attempt, uint64_t exit_u,
             const fm_levels *out, int64_t k);
int32_t fm_exit_candidates(const fm_geometry *g, const fm_spec *s, int32_t *out);
void fm_bfs(const fm_geometry *g, const uint8_t *board, int32_t source, int32_t *dist, int32_t *queue);

#endif
