"""Tests of fastmaze.twins: exactly one factor changes, invariants hold, choices are a pure
function of (seed, level id)."""

from __future__ import annotations

from collections import deque

import numpy as np
import pytest

from fastmaze import MazeSpec, Mixture, generate
from fastmaze.levels import Levels
from fastmaze.spec import CORNERS
from fastmaze.twins import move_exit, remove_cue, swap_colors, twin_below

OTHER_ARRAYS = ("ids", "start", "decoys", "n_decoys", "component")


def assert_same_except(a: Levels, b: Levels, *changed: str) -> None:
    assert a.spec is b.spec and a.seed == b.seed
    for name in Levels.ARRAYS:
        if name not in changed:
            x, y = getattr(a, name), getattr(b, name)
            assert x.dtype == y.dtype and x.shape == y.shape
            assert np.array_equal(x, y), name


def reachable(grid: np.ndarray, src: tuple[int, int], dst: tuple[int, int]) -> bool:
    """Breadth-first search over floor squares (0) of one board, 4-neighbourhood."""
    H, W = grid.shape
    seen = np.zeros_like(grid, bool)
    seen[src] = True
    queue = deque([src])
    while queue:
        r, c = queue.popleft()
        if (r, c) == dst:
            return True
        for dr, dc in ((-1, 0), (0, 1), (1, 0), (0, -1)):
            rr, cc = r + dr, c + dc
            if 0 <= rr < H and 0 <= cc < W and not grid[rr, cc] and not seen[rr, cc]:
                seen[rr, cc] = True
                queue.append((rr, cc))
    return False


def exit_cell(square: tuple[int, int], rows: int, cols: int) -> tuple[int, int]:
    r, c = square
    if r == 0:
        return 0, (c - 1) // 2
    if r == 2 * rows:
        return rows - 1, (c - 1) // 2
    if c == 0:
        return (r - 1) // 2, 0
    assert c == 2 * cols
    return (r - 1) // 2, cols - 1


def in_region(cell: tuple[int, int], k: int, corner: str, rows: int, cols: int) -> bool:
    i, j = cell
    vertical = i < k if "top" in corner else i >= rows - k
    horizontal = j < k if "left" in corner else j >= cols - k
    return vertical and horizontal


def border_openings(grid: np.ndarray) -> list[tuple[int, int]]:
    ring = np.ones_like(grid, bool)
    ring[1:-1, 1:-1] = False
    return [tuple(int(v) for v in p) for p in np.argwhere(ring & (grid == 0))]


COLORFUL = MazeSpec(
    size=(5, 5),
    exit_color={"green": 0.8, "red": 0.2},
    n_decoys={0: 0.3, 1: 0.4, 2: 0.3},
    decoy_color={"red": 0.7, "green": 0.3},
    n_distractors=2,
    distractor_color={"green": 0.5, "blue": 0.5},
)
CORNER = MazeSpec(
    size=(5, 6),
    exit_region=2,
    exit_corner="top_right",
    exit_color="green",
    n_decoys=1,
    decoy_color="red",
    n_distractors=1,
    distractor_color="blue",
)


# -- swap_colors --------------------------------------------------------------------------------
def test_swap_colors_swaps_exit_and_first_decoy_only():
    levels = generate(COLORFUL, 300, seed=2)
    before = levels.color.copy()
    twin = swap_colors(levels)
    assert np.array_equal(levels.color, before)  # the input is untouched
    assert_same_except(levels, twin, "color")
    assert np.array_equal(twin.grid, levels.grid) and np.array_equal(twin.exit, levels.exit)
    idx = np.arange(len(levels))
    ex, d0 = levels.exit, levels.decoys[:, 0]
    has = levels.n_decoys > 0
    assert has.any() and (~has).any()
    old_exit = levels.color[idx, ex[:, 0], ex[:, 1]]
    old_decoy = levels.color[idx[has], d0[has, 0], d0[has, 1]]
    assert np.array_equal(twin.color[idx[has], ex[has, 0], ex[has, 1]], old_decoy)
    assert np.array_equal(twin.color[idx[has], d0[has, 0], d0[has, 1]], old_exit[has])
    assert np.array_equal(twin.color[~has], levels.color[~has])
    # Nothing but those two squares differs.
    diff = twin.color != levels.color
    allowed = np.zeros_like(diff)
    allowed[idx, ex[:, 0], ex[:, 1]] = True
    allowed[idx[has], d0[has, 0], d0[has, 1]] = True
    assert not (diff & ~allowed).any()
    assert diff.any()
    # Swapping twice restores the batch.
    assert np.array_equal(swap_colors(twin).color, levels.color)


# -- remove_cue ---------------------------------------------------------------------------------
def test_remove_cue_clears_exactly_the_cue():
    levels = generate(COLORFUL, 300, seed=4)
    twin = remove_cue(levels, "green")
    assert_same_except(levels, twin, "color")
    assert np.array_equal(twin.grid, levels.grid)
    green = COLORFUL.color_code("green")
    assert (levels.color == green).any() and not (twin.color == green).any()
    was = levels.color == green
    assert (twin.color[was] == 0).all()
    assert np.array_equal(twin.color[~was], levels.color[~was])
    assert np.array_equal(remove_cue(levels, "yellow").color, levels.color)  # absent: no-op


@pytest.mark.parametrize("cue", ["chartreuse", None, 2, "none"])
def test_remove_cue_rejects_unknown_colours(cue):
    levels = generate(COLORFUL, 3)
    with pytest.raises(ValueError, match="red, green, blue"):
        remove_cue(levels, cue)


# -- move_exit ----------------------------------------------------------------------------------
def check_moved(levels: Levels, twin: Levels, regions: list[tuple[int, str]], sides=None) -> int:
    """Invariants of move_exit per level; returns how many levels moved."""
    rows, cols = levels.spec.size
    assert_same_except(levels, twin, "grid", "color", "exit")
    moved = 0
    for n in range(len(levels)):
        k, corner = regions[levels.component[n]]
        old, new = tuple(levels.exit[n]), tuple(twin.exit[n])
        if not in_region(exit_cell(old, rows, cols), k, corner, rows, cols):
            assert old == new
            assert np.array_equal(twin.grid[n], levels.grid[n])
            assert np.array_equal(twin.color[n], levels.color[n])
            continue
        moved += 1
        assert border_openings(twin.grid[n]) == [new]  # the only opening in the outer ring
        cell = exit_cell(new, rows, cols)
        assert not in_region(cell, k, corner, rows, cols)
        assert twin.grid[n][2 * cell[0] + 1, 2 * cell[1] + 1] == 0
        if sides is not None:
            side = (
                "top"
                if new[0] == 0
                else "bottom"
                if new[0] == 2 * rows
                else "left"
                if new[1] == 0
                else "right"
            )
            assert side in sides
        assert twin.grid[n][old] == 1 and twin.color[n][old] == 0
        assert twin.color[n][new] == levels.color[n][old]
        assert reachable(twin.grid[n], tuple(twin.start[n]), new)
        # Only the two exit squares differ.
        changed = np.argwhere((twin.grid[n] != levels.grid[n]) | (twin.color[n] != levels.color[n]))
        assert {tuple(p) for p in changed} <= {old, new}
    return moved


def test_move_exit_out_of_the_spec_region():
    levels = generate(CORNER, 200, seed=9)
    inside = set(CORNER.exit_candidates())
    assert all(tuple(e) in inside for e in levels.exit)
    twin = move_exit(levels)
    assert check_moved(levels, twin, [(2, "top_right")]) == len(levels)
    assert not any(tuple(e) in inside for e in twin.exit)
    assert len({tuple(e) for e in twin.exit}) > 10  # spread over the allowed squares


def test_move_exit_explicit_region_and_sides():
    levels = generate(MazeSpec(size=(4, 4), n_decoys=1, exit_color="green"), 300, seed=1)
    twin = move_exit(levels, (3, "bottom_left"))
    moved = check_moved(levels, twin, [(3, "bottom_left")])
    assert 0 < moved < len(levels)  # exits already outside the region stay
    twin = move_exit(levels, (2, "top_left"), sides=("bottom", "right"))
    assert check_moved(levels, twin, [(2, "top_left")], sides=("bottom", "right")) > 0


def test_move_exit_in_a_mixture_uses_each_component_region():
    a = CORNER
    b = CORNER.replace(exit_corner="bottom_left", exit_region=3, algorithm="open")
    levels = generate(Mixture.of((a, 0.5), (b, 0.5)), 200, seed=5)
    twin = move_exit(levels)
    assert check_moved(levels, twin, [(2, "top_right"), (3, "bottom_left")]) == len(levels)


def test_move_exit_is_a_function_of_seed_and_id():
    big = generate(CORNER, 400, seed=13)
    moved = move_exit(big)
    part = move_exit(generate(CORNER, 50, seed=13, start=300))
    for name in Levels.ARRAYS:
        assert np.array_equal(getattr(moved, name)[300:350], getattr(part, name)), name
    order = np.random.default_rng(0).permutation(400)[:150]
    shuffled = move_exit(big[order])
    for name in Levels.ARRAYS:
        assert np.array_equal(getattr(moved, name)[order], getattr(shuffled, name)), name
    other_seed = move_exit(generate(CORNER, 400, seed=14))
    assert not np.array_equal(other_seed.exit, moved.exit)


def test_twin_below_is_uniform_and_in_range():
    ids = np.arange(10**12, 10**12 + 60_000)
    draws = twin_below(7, ids, np.full(len(ids), 6))
    assert draws.min() == 0 and draws.max() == 5
    assert np.abs(np.bincount(draws) / len(ids) - 1 / 6).max() < 0.01
    assert np.array_equal(twin_below(7, ids[::-1], np.full(len(ids), 6)), draws[::-1])


def test_move_exit_rejects_bad_regions():
    plain = generate(MazeSpec(size=(3, 3)), 5)
    with pytest.raises(ValueError, match="exit_region"):
        move_exit(plain)
    for region in [(0, "top_left"), (4, "top_left"), (1, "middle"), 2, (True, "top_left")]:
        with pytest.raises(ValueError, match="region"):
            move_exit(plain, region)
    with pytest.raises(ValueError, match="sides"):
        move_exit(plain, (1, "top_left"), sides=("up",))
    small = generate(MazeSpec(size=(2, 2)), 5)
    for corner in CORNERS:  # a 2×2 region covers the whole 2×2 maze
        with pytest.raises(ValueError, match="outside"):
            move_exit(small, (2, corner))


@pytest.mark.parametrize("corner", CORNERS)
@pytest.mark.parametrize("k", [1, 2, 4])
@pytest.mark.parametrize("sides", [("top", "right", "bottom", "left"), ("bottom", "left")])
def test_region_geometry_matches_exit_candidates(corner, k, sides):
    """move_exit's notion of "inside the region" is MazeSpec.exit_candidates()."""
    from fastmaze.twins import _border, _in_region

    rows, cols = 4, 5
    squares, cells = _border(rows, cols, sides)
    inside = [tuple(int(v) for v in p) for p in squares[_in_region(cells, k, corner, rows, cols)]]
    try:
        spec = MazeSpec(size=(rows, cols), exit_region=k, exit_corner=corner, exit_sides=sides)
    except ValueError:  # no candidate at all: the spec refuses itself
        assert inside == []
        return
    assert inside == spec.exit_candidates()


def test_twins_reject_what_is_not_a_batch():
    for twin in (swap_colors, remove_cue, move_exit):
        with pytest.raises(ValueError, match="Levels"):
            twin(None)
