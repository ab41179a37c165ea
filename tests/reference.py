"""Slow, obviously correct references that tests compare the compiled core against.

Plain functions over one level at a time: ``grid`` is a uint8 [H, W] board (nonzero = wall),
squares are (row, col) tuples. Nothing here is fast or clever on purpose.
"""

from __future__ import annotations

from collections import deque

import numpy as np

#: Row and column change of actions 0 up, 1 right, 2 down, 3 left.
MOVES = ((-1, 0), (0, 1), (1, 0), (0, -1))
NO_ACTION = 255


def move(grid: np.ndarray, square: tuple[int, int], action: int) -> tuple[int, int]:
    """Where `action` takes the agent from `square`: a move into a wall or off the board
    stays put."""
    r, c = square[0] + MOVES[action][0], square[1] + MOVES[action][1]
    H, W = grid.shape
    if 0 <= r < H and 0 <= c < W and grid[r, c] == 0:
        return r, c
    return square[0], square[1]


def floor_squares(grid: np.ndarray) -> list[tuple[int, int]]:
    return [(int(r), int(c)) for r, c in zip(*np.nonzero(grid == 0), strict=True)]


def bfs(grid: np.ndarray, source: tuple[int, int]) -> np.ndarray:
    """int64 [H, W]: steps from `source` to each square, -1 on walls and unreachable squares
    (everywhere if `source` is a wall)."""
    dist = np.full(grid.shape, -1, dtype=np.int64)
    if grid[source] != 0:
        return dist
    dist[source] = 0
    queue = deque([tuple(source)])
    while queue:
        square = queue.popleft()
        for action in range(4):
            nxt = move(grid, square, action)
            if dist[nxt] < 0:
                dist[nxt] = dist[square] + 1
                queue.append(nxt)
    return dist


def optimal_actions(grid: np.ndarray, dist: np.ndarray) -> np.ndarray:
    """uint8 [H, W]: bit a set iff action a lowers `dist` (to the exit) by exactly one."""
    out = np.zeros(grid.shape, dtype=np.uint8)
    for square in floor_squares(grid):
        if dist[square] <= 0:
            continue
        for action in range(4):
            if dist[move(grid, square, action)] == dist[square] - 1:
                out[square] |= 1 << action
    return out


def lowest_action(mask: int) -> int:
    """The lowest action whose bit is set in `mask`, NO_ACTION if none."""
    for action in range(4):
        if mask >> action & 1:
            return action
    return NO_ACTION


def canonical_path(
    grid: np.ndarray, start: tuple[int, int], exit_: tuple[int, int]
) -> list[tuple[int, int]]:
    """Squares from start to exit taking the lowest optimal action each step; [] if the exit
    cannot be reached."""
    dist = bfs(grid, exit_)
    if dist[start] < 0:
        return []
    actions = optimal_actions(grid, dist)
    path = [tuple(start)]
    while path[-1] != tuple(exit_):
        path.append(move(grid, path[-1], lowest_action(int(actions[path[-1]]))))
    return path


def unique_path(grid: np.ndarray, a: tuple[int, int], b: tuple[int, int]) -> list[tuple[int, int]]:
    """Squares from a to b by BFS parents; the only simple path when the floor is a tree."""
    parent = {tuple(a): None}
    queue = deque([tuple(a)])
    while queue:
        square = queue.popleft()
        for action in range(4):
            nxt = move(grid, square, action)
            if nxt not in parent:
                parent[nxt] = square
                queue.append(nxt)
    path = [tuple(b)]
    while parent[path[-1]] is not None:
        path.append(parent[path[-1]])
    return path[::-1]


def is_tree(grid: np.ndarray) -> bool:
    """Whether the floor squares form a tree (connected, no cycles)."""
    squares = floor_squares(grid)
    floor = grid == 0
    edges = int((floor[1:] & floor[:-1]).sum() + (floor[:, 1:] & floor[:, :-1]).sum())
    reached = int((bfs(grid, squares[0]) >= 0).sum())
    return reached == len(squares) and edges == len(squares) - 1


def solve_level(
    grid: np.ndarray,
    start: tuple[int, int],
    exit_: tuple[int, int],
    decoys: list[tuple[int, int]],
    max_decoys: int,
) -> dict[str, np.ndarray | int | bool]:
    """Every oracle of one level, named as in `fastmaze.solve.Oracles`; decoy arrays are
    padded with -1 up to max_decoys."""
    to_exit = bfs(grid, exit_)
    from_start = bfs(grid, start)
    actions = optimal_actions(grid, to_exit)
    length = int(to_exit[start])
    path = canonical_path(grid, start, exit_)
    decoy_distance = np.full(max_decoys, -1)
    decoy_to_exit = np.full(max_decoys, -1)
    decision = np.full((max_decoys, 2), -1)
    ambiguous = False
    for t, decoy in enumerate(decoys):
        decoy_distance[t] = from_start[decoy]
        decoy_to_exit[t] = to_exit[decoy]
        if from_start[decoy] < 0 or length < 0:
            continue
        ambiguous |= bool(from_start[decoy] + to_exit[decoy] == length)
        to_decoy = bfs(grid, decoy)
        on_way = [s for s in path if from_start[s] + to_decoy[s] == from_start[decoy]]
        decision[t] = on_way[-1]
    return {
        "dist_to_exit": to_exit,
        "optimal_actions": actions,
        "optimal_action": np.vectorize(lowest_action, otypes=[np.uint8])(actions),
        "path_length": length,
        "decoy_distance": decoy_distance,
        "decoy_to_exit": decoy_to_exit,
        "ambiguous": ambiguous,
        "decision": decision,
    }


def greedy_walk(
    grid: np.ndarray,
    color: np.ndarray,
    start: tuple[int, int],
    exit_: tuple[int, int],
    decoys: list[tuple[int, int]],
    actions: np.ndarray,
    cue_code: int,
    max_steps: int,
) -> tuple[int, int, int, int]:
    """(outcome, steps, excess, reason) of the greedy walk on an action map [H, W], coded as
    `fastmaze.walk.OUTCOMES` / `REASONS`: follow the action of the current square until the
    walk enters the exit (1) or a decoy (2 of the cue colour, 3 otherwise), re-enters a
    visited square (neither, loop), has no move (neither, stall: a wall, the board's edge
    or NO_ACTION) or has made max_steps moves (neither, max_steps)."""
    H, W = grid.shape
    square = tuple(int(v) for v in start)
    visited = {square}
    steps = 0
    while True:
        if steps >= max_steps:
            return 0, steps, -1, 3
        action = int(actions[square])
        if action > 3:
            return 0, steps, -1, 2
        r, c = square[0] + MOVES[action][0], square[1] + MOVES[action][1]
        if not (0 <= r < H and 0 <= c < W) or grid[r, c] != 0:
            return 0, steps, -1, 2
        square = (r, c)
        steps += 1
        if square == tuple(exit_):
            return 1, steps, steps - int(bfs(grid, start)[square]), 0
        if square in decoys:
            return (2 if color[square] == cue_code else 3), steps, -1, 0
        if square in visited:
            return 0, steps, -1, 1
        visited.add(square)


def off_path(
    grid: np.ndarray,
    start: tuple[int, int],
    exit_: tuple[int, int],
    decoy: tuple[int, int],
    branch: int,
) -> bool:
    """Whether `decoy` is off the path: on no shortest start→exit path, the exit on no
    shortest start→decoy path, and the two ways part at least `branch` steps before either:
    the last square on both a shortest way to the exit and one to the decoy is at least
    `branch` steps from each of them."""
    from_start, to_exit, to_decoy = bfs(grid, start), bfs(grid, exit_), bfs(grid, decoy)
    length, reach = int(from_start[exit_]), int(from_start[decoy])
    if length < 0 or reach < 0:
        return False
    if from_start[decoy] + to_exit[decoy] == length:
        return False
    if from_start[exit_] + to_decoy[exit_] == reach:
        return False
    common = [
        int(from_start[s])
        for s in floor_squares(grid)
        if from_start[s] >= 0
        and from_start[s] + to_exit[s] == length
        and from_start[s] + to_decoy[s] == reach
    ]
    part = max(common)
    return reach - part >= branch and length - part >= branch


def openings(grid: np.ndarray) -> list[tuple[int, int]]:
    """Floor squares of the outer ring of the board."""
    H, W = grid.shape
    return [(r, c) for r, c in floor_squares(grid) if r in (0, H - 1) or c in (0, W - 1)]
