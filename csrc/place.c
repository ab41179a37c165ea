/* Level content on a carved board: the exit, the agent's start, decoys, distractors, colours. */
#include <string.h>

#include "internal.h"

static int in_region(const fm_spec *s, int32_t i, int32_t j)
{
    int32_t k = s->exit_region;
    if (k <= 0) return 1;
    int top = i < k, bottom = i >= s->rows - k, left = j < k, right = j >= s->cols - k;
    switch (s->exit_corner) {
    case FM_CORNER_TOP_LEFT: return top && left;
    case FM_CORNER_TOP_RIGHT: return top && right;
    case FM_CORNER_BOTTOM_RIGHT: return bottom && right;
    default: return bottom && left;
    }
}

/* Border squares that may become the exit, as padded indices; at most 2 * (rows + cols). */
int32_t fm_exit_candidates(const fm_geometry *g, const fm_spec *s, int32_t *out)
{
    int32_t n = 0, R = g->rows, C = g->cols;
    for (int32_t j = 0; j < C; j++)
        if ((s->exit_sides & FM_SIDE_TOP) && in_region(s, 0, j)) out[n++] = 1 * g->Wp + 2 * j + 2;
    for (int32_t i = 0; i < R; i++)
        if ((s->exit_sides & FM_SIDE_RIGHT) && in_region(s, i, C - 1)) out[n++] = (2 * i + 2) * g->Wp + g->W;
    for (int32_t j = 0; j < C; j++)
        if ((s->exit_sides & FM_SIDE_BOTTOM) && in_region(s, R - 1, j)) out[n++] = g->H * g->Wp + 2 * j + 2;
    for (int32_t i = 0; i < R; i++)
        if ((s->exit_sides & FM_SIDE_LEFT) && in_region(s, i, 0)) out[n++] = (2 * i + 2) * g->Wp + 1;
    return n;
}

/* Breadth-first distances (in steps) over floor squares of a padded board; -1 unreached. */
void fm_bfs(const fm_geometry *g, const uint8_t *board, int32_t source, int32_t *dist, int32_t *queue)
{
    const int32_t off[4] = {-g->Wp, 1, g->Wp, -1};
    memset(dist, 0xff, sizeof(int32_t) * (size_t)g->padded);
    int32_t head = 0, tail = 0;
    dist[source] = 0;
    queue[tail++] = source;
    while (head < tail) {
        int32_t v = queue[head++];
        for (int d = 0; d < 4; d++) {
            int32_t u = v + off[d];
            if (board[u] == 0 && dist[u] < 0) {
                dist[u] = dist[v] + 1;
                queue[tail++] = u;
            }
        }
    }
}

static int32_t corner_cell(const fm_geometry *g, int32_t corner)
{
    switch (corner) {
    case FM_CORNER_TOP_LEFT: return 0;
    case FM_CORNER_TOP_RIGHT: return g->cols - 1;
    case FM_CORNER_BOTTOM_RIGHT: return g->n_cells - 1;
    default: return (g->rows - 1) * g->cols;
    }
}

/* A uniform cell at least s->min_distance steps from the exit; -1 if there is none. */
static int32_t far_cell(const fm_geometry *g, const fm_spec *s, fm_scratch *w, int32_t exit, fm_rng *r)
{
    int32_t *dist = w->aux;
    fm_bfs(g, w->board, exit, dist, w->stack);
    int32_t count = 0;
    for (int32_t c = 0; c < g->n_cells; c++) count += dist[g->cells[c]] >= s->min_distance;
    if (!count) return -1;
    int32_t t = (int32_t)fm_below(r, (uint32_t)count);
    for (int32_t c = 0; c < g->n_cells; c++)
        if (dist[g->cells[c]] >= s->min_distance && t-- == 0) return c;
    return -1;
}

static inline int32_t board_index(const fm_geometry *g, int32_t p)
{
    return (p / g->Wp - 1) * g->W + (p % g->Wp - 1);
}

int fm_place(const fm_geometry *g, const fm_spec *s, const int32_t *exits, int32_t n_exits,
             fm_scratch *w, uint64_t seed, int64_t id, uint64_t exit_u, fm_levels *out, int64_t k)
{
    fm_rng r = fm_rng_for(seed, (uint64_t)id, FM_STREAM_PLACE);
    const int32_t squares = g->H * g->W;
    uint8_t *grid = out->grid + k * squares, *color = out->color + k * squares;
    uint64_t uid = (uint64_t)id;

    int32_t exit = exits[fm_below(&r, (uint32_t)n_exits)];
    w->board[exit] = 0;

    int32_t start;
    if (s->start_corner >= 0)
        start = corner_cell(g, s->start_corner);
    else if (s->min_distance > 0)
        start = far_cell(g, s, w, exit, &r);
    else
        start = (int32_t)fm_below(&r, (uint32_t)g->n_cells);
    if (start < 0) return 1;

    uint64_t dec_u = fm_weyl(seed, FM_FACTOR_N_DECOYS, uid);
    uint64_t dis_u = fm_weyl(seed, FM_FACTOR_N_DISTRACTORS, uid);
    int32_t dec_k = fm_pick_index(&s->n_decoys, dec_u), dis_k = fm_pick_index(&s->n_distractors, dis_u);
    int32_t n_dec = s->n_decoys.value[dec_k], n_dis = s->n_distractors.value[dis_k];

    /* Distinct cells by a partial Fisher-Yates shuffle of w->perm, which is the identity at
     * rest: the start goes to slot 0, objects fill slots 1.., and the swaps are undone after,
     * so each level starts from the same permutation whatever the thread ran before. */
    int32_t *perm = w->perm, n_obj = n_dec + n_dis;
    perm[0] = start;
    perm[start] = 0;
    for (int32_t t = 1; t <= n_obj; t++) {
        int32_t pick = t + (int32_t)fm_below(&r, (uint32_t)(g->n_cells - t));
        int32_t tmp = perm[t];
        perm[t] = perm[pick];
        perm[pick] = tmp;
        w->undo[t] = pick;
    }

    for (int32_t row = 0; row < g->H; row++)
        memcpy(grid + row * g->W, w->board + (row + 1) * g->Wp + 1, (size_t)g->W);
    memset(color, 0, (size_t)squares);

    int32_t rc[2];
    fm_unpad(g, exit, rc);
    out->exit[2 * k] = rc[0];
    out->exit[2 * k + 1] = rc[1];
    color[board_index(g, exit)] = (uint8_t)fm_pick(&s->exit_color, exit_u);

    fm_unpad(g, g->cells[start], rc);
    out->start[2 * k] = rc[0];
    out->start[2 * k + 1] = rc[1];

    int32_t *decoys = out->decoys + 2 * k * out->max_decoys;
    for (int32_t t = 0; t < out->max_decoys; t++) {
        if (t < n_dec) {
            int32_t p = g->cells[perm[1 + t]];
            fm_unpad(g, p, decoys + 2 * t);
            uint64_t u = t ? fm_weyl_slot(seed, 0, t, uid) : fm_rescale(&s->n_decoys, dec_k, dec_u);
            color[board_index(g, p)] = (uint8_t)fm_pick(&s->decoy_color, u);
        } else {
            decoys[2 * t] = decoys[2 * t + 1] = -1;
        }
    }
    out->n_decoys[k] = n_dec;
    for (int32_t t = 0; t < n_dis; t++) {
        int32_t p = g->cells[perm[1 + n_dec + t]];
        uint64_t u = t ? fm_weyl_slot(seed, 1, t, uid) : fm_rescale(&s->n_distractors, dis_k, dis_u);
        color[board_index(g, p)] = (uint8_t)fm_pick(&s->distractor_color, u);
    }

    for (int32_t t = n_obj; t >= 1; t--) {
        int32_t pick = w->undo[t], tmp = perm[t];
        perm[t] = perm[pick];
        perm[pick] = tmp;
    }
    perm[start] = start;
    perm[0] = 0;
    return 0;
}
