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
} fm_scratch;

static inline int32_t fm_pick(const fm_dist *d, uint64_t u)
{
    for (int32_t k = 0; k < d->n - 1; k++)
        if (u < d->cdf[k]) return d->value[k];
    return d->value[d->n - 1];
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
             fm_scratch *w, uint64_t seed, int64_t id, fm_levels *out, int64_t k);
int32_t fm_exit_candidates(const fm_geometry *g, const fm_spec *s, int32_t *out);
void fm_bfs(const fm_geometry *g, const uint8_t *board, int32_t source, int32_t *dist, int32_t *queue);

#endif
