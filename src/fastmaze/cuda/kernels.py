"""Device ports of ``csrc/generate.c`` (carving) and ``csrc/place.c`` (placement), and the
generation kernel: one level per thread, in a grid-stride loop.

Each function mirrors its C namesake line by line, drawing the same random numbers in the
same order, so a level's bytes are those of the C core. `build` compiles the same source
with a given decorator: ``numba.cuda.jit(device=True)`` for the GPU (and the simulator),
``numba.njit`` for the CPU check in the tests.

Scratch (per thread, ``fm_scratch``) comes in as 1-D views of preallocated global arrays of
shape ``[length, threads]`` (thread-interleaved, so that the threads of a warp touching the
same index touch neighbouring bytes); the kernel allocates nothing. Boards are *padded*
(``csrc/internal.h``): width ``Wp = W + 2``, one extra ring of wall.

Spec parameters of component c (``sp[c]``, columns ``SP_*``): algorithm; ``take``, the
walls ``remove_walls`` removes when ``m_loops`` inner walls stand after carving (-1 where
``loops == 0``; rounded on the host, see `remove_walls`); ``m_loops``; start corner (-1:
none); min distance; number of exit candidates (``exits[c]``, padded indices).
Distributions ``j`` of component c: ``dn[c, j]`` categories, ``dval[c, j]`` values,
``dcdf[c, j]`` thresholds, in the order of `DISTS`.
"""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace

import numpy as np
from numba import cuda, uint64  # a module global: the simulator swaps it in kernels

from fastmaze.rng import cuda_port as _rng

UNVISITED = 3
FRONTIER = 2

ALG_BACKTRACKER, ALG_KRUSKAL, ALG_PRIM, ALG_WILSON, ALG_OPEN = range(5)
#: Algorithms that carve a spanning tree (the others carve no inner walls to remove).
ALGORITHMS_WITH_TREES = (ALG_BACKTRACKER, ALG_KRUSKAL, ALG_PRIM, ALG_WILSON)
CORNER_TOP_LEFT, CORNER_TOP_RIGHT, CORNER_BOTTOM_RIGHT, CORNER_BOTTOM_LEFT = range(4)

#: Columns of the int32 spec table.
SP_ALGORITHM, SP_TAKE, SP_M_LOOPS, SP_START_CORNER, SP_MIN_DISTANCE, SP_N_EXITS = range(6)
SP_COLUMNS = 8
#: Rows of the distribution tables.
DISTS = ("exit_color", "n_decoys", "decoy_color", "n_distractors", "distractor_color")
D_EXIT_COLOR, D_N_DECOYS, D_DECOY_COLOR, D_N_DISTRACTORS, D_DISTRACTOR_COLOR = range(5)


def build(jit: Callable) -> SimpleNamespace:
    """Carving, placement and `level` compiled with ``jit``; a namespace of them."""
    R = _rng.build(jit)
    below, below4 = R.below, R.below4
    rng_for, weyl, weyl_slot = R.rng_for, R.weyl, R.weyl_slot
    pick_index, rescale = R.pick_index, R.rescale

    @jit
    def off(d, Wp):
        """Offsets of the 4 directions on the padded board: up, right, down, left."""
        if d == 0:
            return -Wp
        if d == 1:
            return 1
        if d == 2:
            return Wp
        return -1

    @jit
    def carve_backtracker(b, stack, cells, n_cells, Wp, r):
        cur = np.int64(cells[below(r, n_cells)])
        b[cur] = 0
        stack[0] = cur
        sp = 1
        while sp > 0:
            cur = np.int64(stack[sp - 1])
            nc = 0
            for d in range(4):
                if b[cur + 2 * off(d, Wp)] == UNVISITED:
                    nc += 1
            if nc == 0:
                sp -= 1
                continue
            j = below4(r, nc)
            o = 0
            for d in range(4):
                if b[cur + 2 * off(d, Wp)] == UNVISITED:
                    if j == 0:
                        o = off(d, Wp)
                        break
                    j -= 1
            b[cur + o] = 0
            b[cur + 2 * o] = 0
            stack[sp] = cur + 2 * o
            sp += 1

    @jit
    def uf_find(parent, x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = np.int64(parent[x])
        return x

    @jit
    def carve_kruskal(b, parent, work, cells, edges, n_cells, n_edges, Wp, r):
        for k in range(n_cells):
            parent[cells[k]] = cells[k]
        for k in range(n_edges):
            work[k] = edges[k]
        joins = n_cells - 1
        k = 0
        while joins > 0:
            pick = k + below(r, n_edges - k)
            e = np.int64(work[pick])
            work[pick] = work[k]
            wall = e >> 1
            step = Wp if (e & 1) else 1
            a = uf_find(parent, wall - step)
            c = uf_find(parent, wall + step)
            k += 1
            if a == c:
                continue
            parent[a] = c
            b[wall] = 0
            joins -= 1
        for k in range(n_cells):
            b[cells[k]] = 0

    @jit
    def carve_prim(b, frontier, cells, n_cells, Wp, r):
        nf = 0
        cur = np.int64(cells[below(r, n_cells)])
        while True:
            b[cur] = 0
            for d in range(4):
                v = cur + 2 * off(d, Wp)
                if b[v] == UNVISITED:
                    b[v] = FRONTIER
                    frontier[nf] = v
                    nf += 1
            if nf == 0:
                break
            k = below(r, nf)
            cur = np.int64(frontier[k])
            nf -= 1
            frontier[k] = frontier[nf]
            nc = 0
            for d in range(4):
                if b[cur + 2 * off(d, Wp)] == 0:
                    nc += 1
            j = below4(r, nc)
            o = 0
            for d in range(4):
                if b[cur + 2 * off(d, Wp)] == 0:
                    if j == 0:
                        o = off(d, Wp)
                        break
                    j -= 1
            b[cur + o] = 0

    @jit
    def carve_wilson(b, dirs, cells, n_cells, Wp, r):
        b[cells[below(r, n_cells)]] = 0
        for k in range(n_cells):
            first = np.int64(cells[k])
            if b[first] != UNVISITED:
                continue
            v = first
            while b[v] == UNVISITED:
                nc = 0
                for d in range(4):
                    if b[v + 2 * off(d, Wp)] != 1:
                        nc += 1
                j = below4(r, nc)
                dd = 0
                for d in range(4):
                    if b[v + 2 * off(d, Wp)] != 1:
                        if j == 0:
                            dd = d
                            break
                        j -= 1
                dirs[v] = dd
                v += 2 * off(dd, Wp)
            v = first
            while b[v] == UNVISITED:
                o = off(dirs[v], Wp)
                b[v] = 0
                b[v + o] = 0
                v += 2 * o

    @jit
    def remove_walls(b, work, edges, n_edges, take, m_loops, r):
        """Removes round(loops * m) of the m inner walls still standing; ``take`` is that
        count, rounded on the host (Python doubles, as in C) for the m = ``m_loops`` every
        perfect maze has: on the device NVVM would contract ``loops * m + 0.5`` into an FMA
        and could round differently. Returns 1 (the level fails loudly) for any other m,
        which the four spanning-tree carvings never leave."""
        m = 0
        for k in range(n_edges):
            wall = np.int64(edges[k]) >> 1
            if b[wall]:
                work[m] = wall
                m += 1
        if m != m_loops:
            return 1
        for k in range(take):
            pick = k + below(r, m - k)
            wall = work[pick]
            work[pick] = work[k]
            b[wall] = 0
        return 0

    @jit
    def carve(b, dirs, stack, aux, work, template, cells, edges, padded, H, W, Wp,
              n_cells, n_edges, alg, take, m_loops, r):  # fmt: skip
        """fm_carve; 0 on success (1: see `remove_walls`)."""
        for p in range(padded):
            b[p] = template[p]
        if alg == ALG_BACKTRACKER:
            carve_backtracker(b, stack, cells, n_cells, Wp, r)
        elif alg == ALG_KRUSKAL:
            carve_kruskal(b, aux, work, cells, edges, n_cells, n_edges, Wp, r)
        elif alg == ALG_PRIM:
            carve_prim(b, stack, cells, n_cells, Wp, r)
        elif alg == ALG_WILSON:
            carve_wilson(b, dirs, cells, n_cells, Wp, r)
        else:
            for row in range(2, H):
                for col in range(2, W):
                    b[row * Wp + col] = 0
            return 0
        if take >= 0:
            return remove_walls(b, work, edges, n_edges, take, m_loops, r)
        return 0

    @jit
    def bfs(b, source, dist, queue, padded, Wp):
        for p in range(padded):
            dist[p] = -1
        head = 0
        tail = 1
        dist[source] = 0
        queue[0] = source
        while head < tail:
            v = np.int64(queue[head])
            head += 1
            for d in range(4):
                u = v + off(d, Wp)
                if b[u] == 0 and dist[u] < 0:
                    dist[u] = dist[v] + 1
                    queue[tail] = u
                    tail += 1

    @jit
    def far_cell(b, aux, stack, cells, n_cells, padded, Wp, exit_p, min_distance, r):
        bfs(b, exit_p, aux, stack, padded, Wp)
        count = 0
        for c in range(n_cells):
            if aux[cells[c]] >= min_distance:
                count += 1
        if count == 0:
            return -1
        t = below(r, count)
        for c in range(n_cells):
            if aux[cells[c]] >= min_distance:
                if t == 0:
                    return c
                t -= 1
        return -1

    @jit
    def place(k, seed, uid, exit_u, b, stack, aux, perm, undo, cells, n_cells, padded, H, W,
              Wp, rows, cols, spc, exits, dn, dval, dcdf, max_decoys,
              grid, color, start_out, exit_out, decoys, n_decoys_out, r):  # fmt: skip
        """fm_place for the level in output row k; 0 on success, 1 if no start fits."""
        rng_for(r, seed, uid, _rng.STREAM_PLACE)
        exit_p = np.int64(exits[below(r, spc[SP_N_EXITS])])
        b[exit_p] = 0

        corner = spc[SP_START_CORNER]
        if corner >= 0:
            if corner == CORNER_TOP_LEFT:
                start = 0
            elif corner == CORNER_TOP_RIGHT:
                start = cols - 1
            elif corner == CORNER_BOTTOM_RIGHT:
                start = n_cells - 1
            else:
                start = (rows - 1) * cols
        elif spc[SP_MIN_DISTANCE] > 0:
            start = far_cell(b, aux, stack, cells, n_cells, padded, Wp, exit_p,
                             spc[SP_MIN_DISTANCE], r)  # fmt: skip
        else:
            start = below(r, n_cells)
        if start < 0:
            return 1

        dec_u = weyl(seed, _rng.FACTOR_N_DECOYS, uid)
        dis_u = weyl(seed, _rng.FACTOR_N_DISTRACTORS, uid)
        dec_k = pick_index(dn[D_N_DECOYS], dcdf[D_N_DECOYS], dec_u)
        dis_k = pick_index(dn[D_N_DISTRACTORS], dcdf[D_N_DISTRACTORS], dis_u)
        n_dec = np.int64(dval[D_N_DECOYS, dec_k])
        n_dis = np.int64(dval[D_N_DISTRACTORS, dis_k])

        # Partial Fisher-Yates over perm (the identity at rest), undone at the end.
        n_obj = n_dec + n_dis
        perm[0] = start
        perm[start] = 0
        for t in range(1, n_obj + 1):
            pick = t + below(r, n_cells - t)
            tmp = perm[t]
            perm[t] = perm[pick]
            perm[pick] = tmp
            undo[t] = pick

        for row in range(H):
            for col in range(W):
                grid[k, row, col] = b[(row + 1) * Wp + 1 + col]
                color[k, row, col] = 0

        er = exit_p // Wp - 1
        ec = exit_p % Wp - 1
        exit_out[k, 0] = er
        exit_out[k, 1] = ec
        color[k, er, ec] = dval[D_EXIT_COLOR, pick_index(dn[D_EXIT_COLOR], dcdf[D_EXIT_COLOR],
                                                        exit_u)]  # fmt: skip

        sp = np.int64(cells[start])
        start_out[k, 0] = sp // Wp - 1
        start_out[k, 1] = sp % Wp - 1

        for t in range(max_decoys):
            if t < n_dec:
                p = np.int64(cells[perm[1 + t]])
                pr = p // Wp - 1
                pc = p % Wp - 1
                decoys[k, t, 0] = pr
                decoys[k, t, 1] = pc
                if t > 0:
                    u = weyl_slot(seed, 0, t, uid)
                else:
                    u = rescale(dn[D_N_DECOYS], dcdf[D_N_DECOYS], dec_k, dec_u)
                color[k, pr, pc] = dval[
                    D_DECOY_COLOR, pick_index(dn[D_DECOY_COLOR], dcdf[D_DECOY_COLOR], u)
                ]
            else:
                decoys[k, t, 0] = -1
                decoys[k, t, 1] = -1
        n_decoys_out[k] = n_dec
        for t in range(n_dis):
            p = np.int64(cells[perm[1 + n_dec + t]])
            if t > 0:
                u = weyl_slot(seed, 1, t, uid)
            else:
                u = rescale(dn[D_N_DISTRACTORS], dcdf[D_N_DISTRACTORS], dis_k, dis_u)
            color[k, p // Wp - 1, p % Wp - 1] = dval[
                D_DISTRACTOR_COLOR, pick_index(dn[D_DISTRACTOR_COLOR], dcdf[D_DISTRACTOR_COLOR], u)
            ]

        for t in range(n_obj, 0, -1):
            pick = undo[t]
            tmp = perm[t]
            perm[t] = perm[pick]
            perm[pick] = tmp
        perm[start] = start
        perm[0] = 0
        return 0

    @jit
    def level(k, uid, seed, rows, cols, H, W, Wp, padded, n_cells, n_edges,
              cells, edges, template, sp, exits, dn, dval, dcdf,
              mix_n, mix_val, mix_cdf, max_decoys,
              grid, color, start_out, exit_out, decoys, n_decoys_out, component,
              b, dirs, stack, aux, work, perm, undo, r):  # fmt: skip
        """One level (id uid) into output row k; 0 on success, 1 if it could not be placed."""
        u = weyl(seed, _rng.FACTOR_COMPONENT, uid)
        m = pick_index(mix_n, mix_cdf, u)
        c = np.int64(mix_val[m])
        spc = sp[c]
        rng_for(r, seed, uid, _rng.STREAM_LAYOUT)
        component[k] = c
        if carve(b, dirs, stack, aux, work, template, cells, edges, padded, H, W, Wp, n_cells,
                 n_edges, spc[SP_ALGORITHM], spc[SP_TAKE], spc[SP_M_LOOPS], r):  # fmt: skip
            return 1
        return place(k, seed, uid, rescale(mix_n, mix_cdf, m, u), b, stack, aux, perm, undo,
                     cells, n_cells, padded, H, W, Wp, rows, cols, spc, exits[c], dn[c],
                     dval[c], dcdf[c], max_decoys, grid, color, start_out, exit_out, decoys,
                     n_decoys_out, r)  # fmt: skip

    return SimpleNamespace(rng=R, level=level, carve=carve, place=place, bfs=bfs)


def build_kernel(jit_device: Callable, jit_kernel: Callable) -> tuple[Callable, Callable]:
    """(the Python kernel function, the jitted kernel) for numba.cuda."""
    D = build(jit_device)
    level = D.level

    def generate_kernel(n, first_id, seed, rows, cols, H, W, Wp, padded, n_cells, n_edges,
                        cells, edges, template, sp, exits, dn, dval, dcdf,
                        mix_n, mix_val, mix_cdf, max_decoys,
                        grid, color, start_out, exit_out, decoys, n_decoys_out, component,
                        s_board, s_dirs, s_stack, s_aux, s_work, s_perm, s_undo,
                        failed):  # fmt: skip
        t = cuda.grid(1)
        T = cuda.gridsize(1)
        if t >= n:
            return
        perm = s_perm[:, t]
        for c in range(n_cells):  # the identity at rest; `place` restores it
            perm[c] = c
        b = s_board[:, t]
        dirs = s_dirs[:, t]
        stack = s_stack[:, t]
        aux = s_aux[:, t]
        work = s_work[:, t]
        undo = s_undo[:, t]
        r = cuda.local.array(3, uint64)
        k = t
        while k < n:
            uid = np.uint64(first_id + k)
            if level(k, uid, seed, rows, cols, H, W, Wp, padded, n_cells, n_edges,
                     cells, edges, template, sp, exits, dn, dval, dcdf,
                     mix_n, mix_val, mix_cdf, max_decoys,
                     grid, color, start_out, exit_out, decoys, n_decoys_out, component,
                     b, dirs, stack, aux, work, perm, undo, r):  # fmt: skip
                cuda.atomic.min(failed, 0, k)
            k += T

    return generate_kernel, jit_kernel(generate_kernel)


def build_cpu(jit: Callable) -> Callable:
    """A CPU driver of the same device code (``numba.njit``), for the tests."""
    D = build(jit)
    level = D.level

    @jit
    def generate_cpu(n, first_id, seed, rows, cols, H, W, Wp, padded, n_cells, n_edges,
                     cells, edges, template, sp, exits, dn, dval, dcdf,
                     mix_n, mix_val, mix_cdf, max_decoys,
                     grid, color, start_out, exit_out, decoys, n_decoys_out, component,
                     s_board, s_dirs, s_stack, s_aux, s_work, s_perm, s_undo,
                     failed):  # fmt: skip
        perm = s_perm[:, 0]
        for c in range(n_cells):
            perm[c] = c
        r = np.zeros(3, np.uint64)
        for k in range(n):
            uid = np.uint64(first_id + k)
            if level(k, uid, seed, rows, cols, H, W, Wp, padded, n_cells, n_edges,
                     cells, edges, template, sp, exits, dn, dval, dcdf,
                     mix_n, mix_val, mix_cdf, max_decoys,
                     grid, color, start_out, exit_out, decoys, n_decoys_out, component,
                     s_board[:, 0], s_dirs[:, 0], s_stack[:, 0], s_aux[:, 0], s_work[:, 0],
                     perm, s_undo[:, 0], r):  # fmt: skip
                failed[0] = min(failed[0], k)

    return generate_cpu
