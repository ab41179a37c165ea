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

/* Breadth-first distances (in steps) over floor squares of a padded board from several
 * sources; -1 unreached. Leaves the squares in BFS order (non-decreasing distance) in
 * queue[0 .. returned count). */
static int32_t bfs_from(const fm_geometry *g, const uint8_t *board, const int32_t *sources,
                        int32_t n_sources, int32_t *dist, int32_t *queue)
{
    const int32_t off[4] = {-g->Wp, 1, g->Wp, -1};
    memset(dist, 0xff, sizeof(int32_t) * (size_t)g->padded);
    int32_t head = 0, tail = 0;
    for (int32_t k = 0; k < n_sources; k++) {
        if (dist[sources[k]] == 0) continue;
        dist[sources[k]] = 0;
        queue[tail++] = sources[k];
    }
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
    return tail;
}

/* Breadth-first distances (in steps) over floor squares of a padded board; -1 unreached. */
void fm_bfs(const fm_geometry *g, const uint8_t *board, int32_t source, int32_t *dist, int32_t *queue)
{
    bfs_from(g, board, &source, 1, dist, queue);
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

/* The floor square next to a border square (padded index) of the outer ring. */
static int32_t inward(const fm_geometry *g, int32_t p)
{
    int32_t row = p / g->Wp, col = p % g->Wp;
    if (row == 1) return p + g->Wp;
    if (row == g->H) return p - g->Wp;
    return col == 1 ? p + 1 : p - 1;
}

/* Cells and passages: a cell's padded row and column are both even; a passage (or a border
 * square) has one of them odd. */
static inline int is_cell(const fm_geometry *g, int32_t p)
{
    return (p / g->Wp) % 2 == 0 && (p % g->Wp) % 2 == 0;
}

/* Opens `k` false exits on w->board, each sealed off from the start. The protected path is
 * the canonical shortest start -> exit path (from the start, always the lowest action that
 * brings the exit closer); a false opening is a candidate exit square whose inner cell is not
 * on it. Each opening o, next to cell x, gets the region S of the squares strictly closer to
 * x than to the protected path (in steps, on the board as it stands); between S and the rest
 * every touching pair of floor squares loses one of them to a wall, the one in S unless it
 * is a cell; floor squares then cut off from the start and every opening become wall, so every
 * floor square belongs to the start's region or to a sealed one. The protected path is never
 * walled, so the start keeps its distance to the exit. Returns 0, or 1 if fewer than k
 * candidates qualify or a seal would have to wall the path. */
static int open_false_exits(const fm_geometry *g, const fm_spec *s, fm_scratch *w, fm_rng *r,
                            const int32_t *exits, int32_t n_exits, int32_t exit, int32_t start)
{
    const int32_t off[4] = {-g->Wp, 1, g->Wp, -1};
    uint8_t *b = w->board, *mark = w->mark;
    int32_t *de = w->dist_b, *path = w->list; /* the path's squares, BFS sources below */
    memset(mark, 0, (size_t)g->padded);
    fm_bfs(g, b, exit, de, w->stack);
    int32_t p = g->cells[start], n_path = 0;
    if (de[p] < 0) return 1;
    for (;;) {
        mark[p] |= FM_MARK_PATH;
        path[n_path++] = p;
        if (p == exit) break;
        for (int d = 0; d < 4; d++)
            if (b[p + off[d]] == 0 && de[p + off[d]] == de[p] - 1) {
                p += off[d];
                break;
            }
    }
    int32_t n_open = 0;
    for (int32_t t = 0; t < n_exits; t++)
        if (exits[t] != exit && !(mark[inward(g, exits[t])] & FM_MARK_PATH))
            w->openings[n_open++] = exits[t];
    if (n_open < s->false_exits) return 1;
    for (int32_t t = 0; t < s->false_exits; t++) {
        int32_t pick = t + (int32_t)fm_below(r, (uint32_t)(n_open - t));
        int32_t o = w->openings[pick];
        w->openings[pick] = w->openings[t];
        w->openings[t] = o;
        int32_t x = inward(g, o), *dq = w->dist_c, *dx = w->dist_b, *ds = w->aux;
        if (b[x]) return 1; /* its cell was walled by an earlier seal */
        b[o] = 0;
        bfs_from(g, b, path, n_path, dq, w->stack);
        fm_bfs(g, b, x, dx, w->stack);
        for (int32_t v = 0; v < g->padded; v++) {
            mark[v] &= (uint8_t)~FM_MARK_SEAL;
            if (b[v] == 0 && dx[v] >= 0 && (dq[v] < 0 || dx[v] < dq[v])) mark[v] |= FM_MARK_SEAL;
        }
        for (int32_t v = 0; v < g->padded; v++) {
            if (!(mark[v] & FM_MARK_SEAL) || b[v]) continue;
            for (int d = 0; d < 4; d++) {
                int32_t u = v + off[d];
                if (b[u] || (mark[u] & FM_MARK_SEAL)) continue;
                int32_t q = is_cell(g, v) ? u : v;
                if (mark[q] & FM_MARK_PATH) return 1; /* x touches the path: no room for a seal */
                b[q] = 1;
                if (q == v) break;
            }
        }
        fm_bfs(g, b, g->cells[start], ds, w->stack);
        bfs_from(g, b, w->openings, t + 1, dx, w->stack); /* every region sealed so far */
        for (int32_t v = 0; v < g->padded; v++)
            if (b[v] == 0 && ds[v] < 0 && dx[v] < 0) b[v] = 1;
    }
    return 0;
}

/* Picks the cells of n_dec decoys and then n_dis distractors into w->list (cell ids, decoys
 * first) among the cells the start reaches, the start excluded. Off-path decoys also avoid
 * every shortest start -> exit path: with ds, de the distances from the start and the exit
 * and L = ds(exit), a decoy d needs ds(d) + de(d) > L, and with A(d) the largest ds(s) of a
 * square s on both a shortest way to the exit and one to d (where the two ways part),
 * ds(d) - A(d) >= branch and L - A(d) >= branch. Returns 0, or 1 if too few cells qualify. */
static int pick_reachable(const fm_geometry *g, const fm_spec *s, fm_scratch *w, fm_rng *r,
                          int32_t exit, int32_t start, int32_t n_dec, int32_t n_dis)
{
    const int32_t off[4] = {-g->Wp, 1, g->Wp, -1};
    const uint8_t *b = w->board;
    int32_t *ds = w->aux, *de = w->dist_b, *part = w->dist_c, *list = w->list;
    const int off_path = s->decoy_placement == FM_PLACE_OFF_PATH;
    int32_t L = 0;
    if (off_path) fm_bfs(g, b, exit, de, w->stack);
    int32_t source = g->cells[start];
    int32_t reached = bfs_from(g, b, &source, 1, ds, w->stack);
    if (off_path) {
        L = ds[exit];
        if (L < 0) return 1;
        for (int32_t q = 0; q < reached; q++) { /* BFS order: a square's ways come first */
            int32_t v = w->stack[q];
            if (ds[v] + de[v] == L) {
                part[v] = ds[v];
                continue;
            }
            part[v] = -1;
            for (int d = 0; d < 4; d++) {
                int32_t u = v + off[d];
                if (b[u] == 0 && ds[u] == ds[v] - 1 && part[u] > part[v]) part[v] = part[u];
            }
        }
    }
    int32_t n = 0;
    for (int32_t c = 0; c < g->n_cells; c++) {
        int32_t p = g->cells[c];
        if (c == start || ds[p] < 0) continue;
        if (off_path && (ds[p] + de[p] == L || ds[p] - part[p] < s->branch || L - part[p] < s->branch))
            continue;
        list[n++] = c;
    }
    if (n < n_dec) return 1;
    for (int32_t t = 0; t < n_dec; t++) {
        int32_t pick = t + (int32_t)fm_below(r, (uint32_t)(n - t)), tmp = list[t];
        list[t] = list[pick];
        list[pick] = tmp;
    }
    uint8_t *mark = w->mark;
    memset(mark, 0, (size_t)g->padded);
    for (int32_t t = 0; t < n_dec; t++) mark[g->cells[list[t]]] = FM_MARK_TAKEN;
    int32_t m = 0, *rest = list + n_dec;
    for (int32_t c = 0; c < g->n_cells; c++) {
        int32_t p = g->cells[c];
        if (c != start && ds[p] >= 0 && !mark[p]) rest[m++] = c;
    }
    if (m < n_dis) return 1;
    for (int32_t t = 0; t < n_dis; t++) {
        int32_t pick = t + (int32_t)fm_below(r, (uint32_t)(m - t)), tmp = rest[t];
        rest[t] = rest[pick];
        rest[pick] = tmp;
    }
    return 0;
}

/* Draws n_obj distinct cells other than the start into w->list by a partial Fisher-Yates
 * shuffle of w->perm, which is the identity at rest: the start goes to slot 0, objects fill
 * slots 1.., and the swaps are undone after, so each level starts from the same permutation
 * whatever the thread ran before. */
static void pick_any(const fm_geometry *g, fm_scratch *w, fm_rng *r, int32_t start, int32_t n_obj)
{
    int32_t *perm = w->perm;
    perm[0] = start;
    perm[start] = 0;
    for (int32_t t = 1; t <= n_obj; t++) {
        int32_t pick = t + (int32_t)fm_below(r, (uint32_t)(g->n_cells - t));
        int32_t tmp = perm[t];
        perm[t] = perm[pick];
        perm[pick] = tmp;
        w->undo[t] = pick;
    }
    for (int32_t t = 0; t < n_obj; t++) w->list[t] = perm[1 + t];
    for (int32_t t = n_obj; t >= 1; t--) {
        int32_t pick = w->undo[t], tmp = perm[t];
        perm[t] = perm[pick];
        perm[pick] = tmp;
    }
    perm[start] = start;
    perm[0] = 0;
}

int fm_place(const fm_geometry *g, const fm_spec *s, const int32_t *exits, int32_t n_exits,
             fm_scratch *w, uint64_t seed, int64_t id, int32_t attempt, uint64_t exit_u,
             const fm_levels *out, int64_t k)
{
    fm_rng r = fm_rng_for(seed, (uint64_t)id, FM_STREAM_PLACE + FM_STREAM_RETRY * (uint64_t)attempt);
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

    if (s->false_exits && open_false_exits(g, s, w, &r, exits, n_exits, exit, start)) return 1;
    if (s->decoy_placement == FM_PLACE_ANYWHERE && !s->false_exits)
        pick_any(g, w, &r, start, n_dec + n_dis);
    else if (pick_reachable(g, s, w, &r, exit, start, n_dec, n_dis))
        return 1;

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
            int32_t p = g->cells[w->list[t]];
            fm_unpad(g, p, decoys + 2 * t);
            uint64_t u = t ? fm_weyl_slot(seed, 0, t, uid) : fm_rescale(&s->n_decoys, dec_k, dec_u);
            color[board_index(g, p)] = (uint8_t)fm_pick(&s->decoy_color, u);
        } else {
            decoys[2 * t] = decoys[2 * t + 1] = -1;
        }
    }
    out->n_decoys[k] = n_dec;
    for (int32_t t = 0; t < n_dis; t++) {
        int32_t p = g->cells[w->list[n_dec + t]];
        uint64_t u = t ? fm_weyl_slot(seed, 1, t, uid) : fm_rescale(&s->n_distractors, dis_k, dis_u);
        color[board_index(g, p)] = (uint8_t)fm_pick(&s->distractor_color, u);
    }
    return 0;
}
