"""Example features and rules (`fastmaze.rules`), shipped and tested; copy them to start.

Features: `exit_next_to_dead_end`, `decoy_near_start`, `exit_corridor_length`,
`steps_to_exit` (uses ``dist_to_exit``). Rules: `paint_exit_neighbours_blue` (a colour
cue) and `move_exit_next_to_dead_end` (a non-colour shortcut): with
``fm.with_probability(move_exit_next_to_dead_end, rho)`` the feature `exit_next_to_dead_end`
holds on a fraction rho + (1 - rho) · base rate of levels.
"""

from __future__ import annotations

import numpy as np

from fastmaze import jit
from fastmaze import rng as fmrng
from fastmaze.rules import feature, rule

#: Colour code of "blue" in the default palette (codes are 1 + the palette index).
BLUE = 3
#: Steps within which `decoy_near_start` looks for a decoy.
NEAR = 3


@jit.kernel
def inner(r: int, c: int, H: int, W: int) -> tuple[int, int]:
    """The square a border square (r, c) opens onto."""
    if r == 0:
        return 1, c
    if r == H - 1:
        return H - 2, c
    if c == 0:
        return r, 1
    return r, W - 2


@jit.kernel
def open_sides(grid: np.ndarray, r: int, c: int, skip_r: int, skip_c: int) -> int:
    """Floor squares 4-adjacent to (r, c), not counting (skip_r, skip_c)."""
    H, W = grid.shape
    n = 0
    for nr, nc in ((r - 1, c), (r, c + 1), (r + 1, c), (r, c - 1)):
        if 0 <= nr < H and 0 <= nc < W and grid[nr, nc] == 0:
            if not (nr == skip_r and nc == skip_c):
                n += 1
    return n


@feature
def exit_next_to_dead_end(grid, color, start, exit, decoys, n_decoys):
    """bool: the square the exit opens onto has one open side besides the exit (a dead end
    of the maze if the exit were closed)."""
    H, W = grid.shape
    r, c = inner(exit[0], exit[1], H, W)
    return open_sides(grid, r, c, exit[0], exit[1]) == 1


@feature
def decoy_near_start(grid, color, start, exit, decoys, n_decoys):
    """bool: some decoy is within `NEAR` steps of the start (breadth-first search)."""
    H, W = grid.shape
    dist = np.full((H, W), -1, np.int32)
    queue = np.empty(H * W, np.int32)
    dist[start[0], start[1]] = 0
    queue[0] = start[0] * W + start[1]
    head, tail = 0, 1
    while head < tail:
        q = queue[head]
        head += 1
        r, c = q // W, q % W
        if dist[r, c] == NEAR:
            continue
        for nr, nc in ((r - 1, c), (r, c + 1), (r + 1, c), (r, c - 1)):
            if 0 <= nr < H and 0 <= nc < W and grid[nr, nc] == 0 and dist[nr, nc] < 0:
                dist[nr, nc] = dist[r, c] + 1
                queue[tail] = nr * W + nc
                tail += 1
    for k in range(n_decoys):
        if dist[decoys[k, 0], decoys[k, 1]] >= 0:
            return True
    return False


@feature
def exit_corridor_length(grid, color, start, exit, decoys, n_decoys):
    """int: floor squares in the straight line that runs from the exit into the maze (the
    corridor pointing at the exit), the exit not counted."""
    H, W = grid.shape
    dr, dc = 0, 0
    if exit[0] == 0:
        dr = 1
    elif exit[0] == H - 1:
        dr = -1
    elif exit[1] == 0:
        dc = 1
    else:
        dc = -1
    r, c = exit[0] + dr, exit[1] + dc
    n = 0
    while 0 <= r < H and 0 <= c < W and grid[r, c] == 0:
        n += 1
        r += dr
        c += dc
    return n


@feature
def steps_to_exit(grid, color, start, exit, decoys, n_decoys, dist_to_exit):
    """int: shortest-path steps from the start to the exit (-1 if unreachable)."""
    return np.int64(dist_to_exit[start[0], start[1]])


@rule
def paint_exit_neighbours_blue(grid, color, start, exit, decoys, n_decoys, rng):
    """Colours `BLUE` the floor squares one and two steps from the exit (not the exit)."""
    H, W = grid.shape
    r, c = inner(exit[0], exit[1], H, W)
    color[r, c] = BLUE
    for nr, nc in ((r - 1, c), (r, c + 1), (r + 1, c), (r, c - 1)):
        if grid[nr, nc] == 0 and not (nr == exit[0] and nc == exit[1]):
            color[nr, nc] = BLUE


@rule
def move_exit_next_to_dead_end(grid, color, start, exit, decoys, n_decoys, rng):
    """Moves the exit to a border square, drawn uniformly from ``rng``, that opens onto a
    dead-end cell (one open side); the exit keeps its colour. Any side may be used (the
    spec's ``exit_sides`` are not consulted); levels without a dead end are unchanged."""
    H, W = grid.shape
    rows, cols = (H - 1) // 2, (W - 1) // 2
    m = 2 * (rows + cols)
    count = 0
    for pick in range(2):
        k = -1 if pick == 0 else fmrng.below(rng, count)
        for t in range(m):
            if t < cols:
                r, c = 0, 2 * t + 1
            elif t < cols + rows:
                r, c = 2 * (t - cols) + 1, W - 1
            elif t < 2 * cols + rows:
                r, c = H - 1, 2 * (t - cols - rows) + 1
            else:
                r, c = 2 * (t - 2 * cols - rows) + 1, 0
            ir, ic = inner(r, c, H, W)
            if open_sides(grid, ir, ic, exit[0], exit[1]) != 1:
                continue
            if pick == 0:
                count += 1
            elif k == 0:
                code = color[exit[0], exit[1]]
                grid[exit[0], exit[1]] = 1
                color[exit[0], exit[1]] = 0
                grid[r, c] = 0
                color[r, c] = code
                exit[0] = r
                exit[1] = c
                return
            else:
                k -= 1
        if count == 0:
            return
