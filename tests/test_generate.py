"""Tests of the generator: `fastmaze.generate` with `MazeSpec` and `Mixture`.

Every level is checked by `check_level`, which re-derives each invariant with plain
numpy/Python (BFS in pure Python, counts by slicing), independently of the compiled core.
"""

from __future__ import annotations

import hashlib
import math
import os
import subprocess
import sys
from collections import deque
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fastmaze
from fastmaze import Levels, MazeSpec, Mixture, generate
from fastmaze.spec import ALGORITHMS, COLORS, CORNERS, SIDES

MAX_ID = 2**63 - 1
STEPS = ((-1, 0), (0, 1), (1, 0), (0, -1))

# -- the invariants of one level --------------------------------------------------------------


def bfs_distances(grid: np.ndarray, source: tuple[int, int]) -> list[list[int]]:
    """Steps from `source` to every floor square (0 in `grid`) of the board; -1 unreached."""
    rows = grid.tolist()
    H, W = len(rows), len(rows[0])
    dist = [[-1] * W for _ in range(H)]
    dist[source[0]][source[1]] = 0
    queue = deque([source])
    while queue:
        r, c = queue.popleft()
        for dr, dc in STEPS:
            rr, cc = r + dr, c + dc
            if 0 <= rr < H and 0 <= cc < W and rows[rr][cc] == 0 and dist[rr][cc] < 0:
                dist[rr][cc] = dist[r][c] + 1
                queue.append((rr, cc))
    return dist


def allowed_colors(spec: MazeSpec, dist: tuple) -> set[int]:
    """Colour codes of a normalised colour distribution that have non-zero probability."""
    return {spec.color_code(name) for name, p in dist if p > 0}


def support(dist: tuple) -> set[int]:
    """Counts of a normalised count distribution that have non-zero probability."""
    return {c for c, p in dist if p > 0}


def corner_cell_square(spec: MazeSpec, corner: str) -> tuple[int, int]:
    H, W = spec.shape
    return (1 if "top" in corner else H - 2, 1 if "left" in corner else W - 2)


def expected_passages(spec: MazeSpec) -> int:
    """Carved inner walls of a perfect maze (a spanning tree: cells - 1) plus round(loops * m)
    of the m inner walls it leaves standing (round half up)."""
    rows, cols = spec.size
    cells = rows * cols
    inner_edges = rows * (cols - 1) + (rows - 1) * cols
    return cells - 1 + math.floor(spec.loops * (inner_edges - (cells - 1)) + 0.5)


def check_level(levels: Levels, k: int, spec: MazeSpec) -> None:
    """Asserts every invariant of level k of `levels` against `spec` (its own component)."""
    rows, cols = spec.size
    H, W = 2 * rows + 1, 2 * cols + 1
    grid, color = levels.grid[k], levels.color[k]
    where = f"level id {int(levels.ids[k])} (seed {levels.seed}) of {spec}"
    assert grid.shape == (H, W) and color.shape == (H, W), where
    assert np.isin(grid, (0, 1)).all(), where

    # Outer ring: all wall except the exit, which is not a corner and opens onto a cell.
    exit_sq = (int(levels.exit[k, 0]), int(levels.exit[k, 1]))
    ring = np.ones((H, W), bool)
    ring[1:-1, 1:-1] = False
    openings = [tuple(int(v) for v in rc) for rc in np.argwhere(ring & (grid == 0))]
    assert openings == [exit_sq], where
    assert exit_sq not in {(0, 0), (0, W - 1), (H - 1, 0), (H - 1, W - 1)}, where
    r, c = exit_sq
    side = "top" if r == 0 else "bottom" if r == H - 1 else "left" if c == 0 else "right"
    inward = {"top": (1, c), "bottom": (H - 2, c), "left": (r, 1), "right": (r, W - 2)}[side]
    assert inward[0] % 2 == 1 and inward[1] % 2 == 1, where
    assert side in spec.exit_sides, where
    assert exit_sq in spec.exit_candidates(), where
    if spec.exit_region is not None:
        kk, (i, j) = spec.exit_region, ((inward[0] - 1) // 2, (inward[1] - 1) // 2)
        assert (i < kk) if "top" in spec.exit_corner else (i >= rows - kk), where
        assert (j < kk) if "left" in spec.exit_corner else (j >= cols - kk), where

    # Cells are floor; inner pillars are wall unless the maze is open.
    assert (grid[1::2, 1::2] == 0).all(), where
    if spec.algorithm == "open":
        assert (grid[1:-1, 1:-1] == 0).all(), where
    else:
        assert (grid[2:-1:2, 2:-1:2] == 1).all(), where
        # Carved inner passages: walls between horizontal / vertical neighbours that are open.
        passages = int((grid[1::2, 2:-1:2] == 0).sum() + (grid[2:-1:2, 1::2] == 0).sum())
        assert passages == expected_passages(spec), where

    # Every cell is reachable from the exit (with cells - 1 passages: a spanning tree).
    dist = bfs_distances(grid, exit_sq)
    unreached = [(i, j) for i in range(1, H, 2) for j in range(1, W, 2) if dist[i][j] < 0]
    assert not unreached, f"{where}: cells {unreached[:5]} unreachable from the exit"

    # Start.
    start = (int(levels.start[k, 0]), int(levels.start[k, 1]))
    assert 0 < start[0] < H and 0 < start[1] < W, where
    assert start[0] % 2 == 1 and start[1] % 2 == 1, where
    if spec.start != "random":
        assert start == corner_cell_square(spec, spec.start), where
    assert dist[start[0]][start[1]] >= spec.min_distance, where

    # Decoys: distinct cells, not the start, -1 padding past n_decoys.
    n_dec = int(levels.n_decoys[k])
    assert n_dec in support(spec.n_decoys), where
    decoys = levels.decoys[k]
    assert (decoys[n_dec:] == -1).all(), where
    placed = [(int(a), int(b)) for a, b in decoys[:n_dec]]
    for a, b in placed:
        assert 0 < a < H and 0 < b < W and a % 2 == 1 and b % 2 == 1, where
    assert len(set(placed)) == n_dec and start not in placed, where

    # Colours: exit and objects from their allowed sets, nothing else coloured.
    assert int(color[exit_sq]) in allowed_colors(spec, spec.exit_color), where
    cell_mask = np.zeros((H, W), bool)
    cell_mask[1::2, 1::2] = True
    off_cells = color.copy()
    off_cells[cell_mask] = 0
    off_cells[exit_sq] = 0
    assert not off_cells.any(), f"{where}: colour off the cells at {np.argwhere(off_cells)}"
    assert color[start] == 0, where
    decoy_allowed = allowed_colors(spec, spec.decoy_color)
    for sq in placed:
        assert int(color[sq]) in decoy_allowed, where
    others = color.copy()
    others[~cell_mask] = 0
    for sq in placed:
        others[sq] = 0
    distractor_allowed = allowed_colors(spec, spec.distractor_color)
    assert set(np.unique(others[others > 0]).tolist()) <= distractor_allowed - {0}, where
    n_others = int((others > 0).sum())
    assert n_others <= max(support(spec.n_distractors)), where
    if 0 not in decoy_allowed and 0 not in distractor_allowed:
        # Every object is coloured: coloured cells == decoys + distractors.
        coloured_cells = int((color[cell_mask] > 0).sum())
        assert coloured_cells - n_dec in support(spec.n_distractors), where


def check_batch(levels: Levels, spec: MazeSpec | Mixture) -> None:
    comps = [s for s, _ in spec.components]
    H, W = spec.shape
    n = len(levels)
    assert levels.grid.shape == (n, H, W) and levels.color.shape == (n, H, W)
    assert levels.decoys.shape == (n, spec.max_decoys, 2)
    for k in range(n):
        c = int(levels.component[k])
        assert 0 <= c < len(comps)
        check_level(levels, k, comps[c])


# -- parametrised over algorithms, sizes, loops, contents -------------------------------------

SIZES = [(2, 2), (3, 7), (6, 6), (15, 4)]
CONTENTS = {
    "plain": {},
    "coloured": {
        "exit_color": {"green": 0.9, "red": 0.1},
        "n_decoys": {1: 0.5, 2: 0.5},
        "decoy_color": {"green": 0.5, "red": 0.5},
        "n_distractors": {0: 0.5, 1: 0.5},
        "distractor_color": {"blue": 0.5, "yellow": 0.5},
    },
    "constrained": {
        "start": "random",
        "min_distance": -1,  # replaced by the largest bound the spec allows
        "exit_sides": ("top", "right"),
        "exit_region": 1,
        "exit_corner": "top_right",
        "exit_color": {"green": 0.5, None: 0.5},
        "n_decoys": 1,
        "decoy_color": {"green": 1.0, "red": 0.0},
    },
    "corner": {
        "start": "bottom_left",
        "exit_sides": ("bottom", "left"),
        "n_distractors": 1,
        "distractor_color": {None: 0.5, "cyan": 0.5},
    },
}


def make_spec(size: tuple[int, int], algorithm: str, loops: float, content: str) -> MazeSpec:
    kwargs = dict(CONTENTS[content])
    if kwargs.get("min_distance") == -1:
        rows, cols = size
        kwargs["min_distance"] = rows + cols + min(rows, cols) - 2
    return MazeSpec(size=size, algorithm=algorithm, loops=loops, **kwargs)


@pytest.mark.parametrize("content", sorted(CONTENTS))
@pytest.mark.parametrize("loops", [0.0, 0.25, 1.0])
@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_invariants(algorithm: str, size: tuple[int, int], loops: float, content: str) -> None:
    spec = make_spec(size, algorithm, loops, content)
    levels = generate(spec, 24, seed=11, start=1000, threads=1)
    assert levels.ids.tolist() == list(range(1000, 1024))
    check_batch(levels, spec)


@pytest.mark.parametrize("loops", [0.0, 0.25])
def test_invariants_largest_board(loops: float) -> None:
    spec = make_spec((127, 127), "backtracker", loops, "coloured")
    levels = generate(spec, 2, seed=5, threads=2)
    check_batch(levels, spec)
    far = spec.replace(min_distance=127 * 3 - 2, start="random")
    check_batch(generate(far, 1, seed=6, start=17), far)


@pytest.mark.parametrize("size", [(2, 2), (3, 9), (9, 3), (4, 7), (5, 5)], ids=str)
@pytest.mark.parametrize("algorithm", ["open", "backtracker"])
def test_min_distance_at_its_bound_is_always_placed(size: tuple[int, int], algorithm: str) -> None:
    """The bound rows + cols + min(rows, cols) - 2 is tight on an open board with an exit in
    the middle of a side; every level must still find a start that far."""
    rows, cols = size
    spec = MazeSpec(size=size, algorithm=algorithm, min_distance=rows + cols + min(size) - 2)
    levels = generate(spec, 2000, seed=7)
    for k in range(0, 2000, 40):
        check_level(levels, k, spec)
    # Distance on an open board is Manhattan: 1 step out of the exit's cell, 2 per cell.
    if algorithm == "open":
        e, s = levels.exit, levels.start
        inward = e + (e == 0) - (e == np.array(spec.shape) - 1)
        manhattan = 1 + np.abs(inward - s).sum(axis=1)
        assert (manhattan >= spec.min_distance).all()


def test_loops_add_cycles() -> None:
    spec = MazeSpec(size=(8, 8), algorithm="kruskal", loops=0.25)
    levels = generate(spec, 10, seed=1)
    passages = (levels.grid[:, 1::2, 2:-1:2] == 0).sum((1, 2)) + (
        levels.grid[:, 2:-1:2, 1::2] == 0
    ).sum((1, 2))
    # 64 cells, 112 inner walls: a tree carves 63, then round(0.25 * 49) = 12 more go.
    assert (passages == 63 + 12).all()


def test_empty_batch() -> None:
    spec = MazeSpec(size=(3, 4), n_decoys=2)
    levels = generate(spec, 0, seed=1, start=5)
    assert len(levels) == 0
    assert levels.grid.shape == (0, 7, 9) and levels.decoys.shape == (0, 2, 2)


def test_exit_positions_cover_all_candidates() -> None:
    """Each allowed exit square turns up (the choice is not stuck on a subset)."""
    spec = MazeSpec(size=(3, 5), exit_region=2, exit_corner="bottom_right")
    levels = generate(spec, 2000, seed=2)
    seen = {(int(r), int(c)) for r, c in levels.exit}
    assert seen == set(spec.exit_candidates())


def test_starts_and_decoys_cover_all_cells() -> None:
    spec = MazeSpec(size=(3, 4), n_decoys=2)
    levels = generate(spec, 3000, seed=3)
    cells = {(i, j) for i in range(1, 7, 2) for j in range(1, 9, 2)}
    assert {(int(r), int(c)) for r, c in levels.start} == cells
    assert {(int(r), int(c)) for r, c in levels.decoys.reshape(-1, 2)} == cells


@pytest.mark.parametrize("algorithm", ["backtracker", "kruskal", "prim", "wilson"])
def test_spanning_trees_of_a_small_board(algorithm: str) -> None:
    """A 2x3 board has 15 spanning trees. Wilson's algorithm samples them uniformly; the
    others reach all of them, except the depth-first backtracker, which cannot make the
    'H' (both rows joined by the middle passage only): 14."""
    n = 15_000
    levels = generate(MazeSpec(size=(2, 3), algorithm=algorithm), n, seed=3)
    inner = levels.grid[:, 1:-1, 1:-1].reshape(n, -1)
    _, counts = np.unique(inner, axis=0, return_counts=True)
    assert len(counts) == (14 if algorithm == "backtracker" else 15)
    if algorithm == "wilson":
        chi2 = float(((counts - n / 15) ** 2 / (n / 15)).sum())
        assert chi2 < 36.12  # chi-square, 14 degrees of freedom, p = 0.001


# -- hypothesis: random valid specs, seeds and ids --------------------------------------------

SIZE_VALUES = st.one_of(st.integers(2, 12), st.sampled_from([2, 3, 31, 127]))


@st.composite
def color_dists(draw: st.DrawFn, palette: tuple[str, ...]) -> object:
    kind = draw(st.sampled_from(["none", "name", "mapping"]))
    if kind == "none":
        return None
    if kind == "name":
        return draw(st.sampled_from(palette))
    outcomes = draw(
        st.lists(st.sampled_from((None, *palette)), min_size=1, max_size=5, unique=True)
    )
    weights = draw(st.lists(st.integers(0, 9), min_size=len(outcomes), max_size=len(outcomes)))
    if not any(weights):
        weights[0] = 1
    total = sum(weights)
    return {name: w / total for name, w in zip(outcomes, weights, strict=True)}


@st.composite
def count_dists(draw: st.DrawFn, most: int) -> object:
    if draw(st.booleans()):
        return draw(st.integers(0, most))
    counts = draw(st.lists(st.integers(0, most), min_size=1, max_size=4, unique=True))
    weights = draw(st.lists(st.integers(1, 9), min_size=len(counts), max_size=len(counts)))
    total = sum(weights)
    return {c: w / total for c, w in zip(counts, weights, strict=True)}


@st.composite
def specs(draw: st.DrawFn) -> MazeSpec:
    rows, cols = draw(SIZE_VALUES), draw(SIZE_VALUES)
    palette = tuple(
        draw(st.lists(st.sampled_from(sorted(COLORS)), min_size=1, max_size=8, unique=True))
    )
    start = draw(st.sampled_from(("random", *CORNERS)))
    bound = rows + cols + min(rows, cols) - 2
    min_distance = (
        draw(st.one_of(st.integers(0, bound), st.just(bound))) if start == "random" else 0
    )
    sides = draw(st.lists(st.sampled_from(SIDES), min_size=1, max_size=4, unique=True))
    region = draw(st.one_of(st.none(), st.integers(1, max(rows, cols))))
    corner = draw(st.sampled_from(CORNERS))
    if region is not None and not any(s in corner for s in sides):
        sides.append(corner.split("_")[0])  # a side touching the corner always has candidates
    cells = rows * cols
    n_decoys = draw(count_dists(min(4, cells - 1)))
    max_dec = n_decoys if isinstance(n_decoys, int) else max(n_decoys)
    n_distractors = draw(count_dists(min(6, cells - 1 - max_dec)))
    return MazeSpec(
        size=(rows, cols),
        algorithm=draw(st.sampled_from(ALGORITHMS)),
        loops=draw(st.one_of(st.sampled_from([0.0, 0.5, 1.0]), st.floats(0.0, 1.0))),
        start=start,
        min_distance=min_distance,
        exit_sides=tuple(sides),
        exit_region=region,
        exit_corner=corner,
        exit_color=draw(color_dists(palette)),
        n_decoys=n_decoys,
        decoy_color=draw(color_dists(palette)),
        n_distractors=n_distractors,
        distractor_color=draw(color_dists(palette)),
        palette=palette,
    )


@settings(max_examples=40, deadline=None)
@given(
    spec=specs(),
    seed=st.integers(0, 2**64 - 1),
    first=st.one_of(st.integers(0, 10**6), st.integers(0, MAX_ID - 64)),
    n=st.integers(1, 6),
    threads=st.integers(1, 2),
)
def test_invariants_hold_for_random_specs(
    spec: MazeSpec, seed: int, first: int, n: int, threads: int
) -> None:
    if spec.rows * spec.cols > 1000:
        n = 1  # pure-Python BFS on the largest boards
    levels = generate(spec, n, seed=seed, start=first, threads=threads)
    assert levels.ids.tolist() == list(range(first, first + n))
    check_batch(levels, spec)


# -- determinism --------------------------------------------------------------------------------

DET_SPECS = {
    alg: MazeSpec(
        size=(5, 7),
        algorithm=alg,
        loops=0.1,
        exit_color={"green": 0.7, "red": 0.3},
        n_decoys={0: 0.3, 2: 0.7},
        decoy_color={"green": 0.5, "blue": 0.5},
        n_distractors={1: 0.5, 3: 0.5},
        distractor_color="yellow",
    )
    for alg in ALGORITHMS
}
MIXTURE = Mixture.of(
    (MazeSpec(size=(6, 6), algorithm="wilson", exit_color="green", start="top_left"), 0.7),
    (
        MazeSpec(
            size=(6, 6),
            algorithm="open",
            exit_color="red",
            n_decoys=3,
            decoy_color="green",
            exit_sides="left",
        ),
        0.2,
    ),
    (MazeSpec(size=(6, 6), algorithm="prim", loops=0.5, min_distance=10, n_decoys=1), 0.1),
)


def assert_same_levels(a: Levels, b: Levels) -> None:
    for name in Levels.ARRAYS:
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype and x.shape == y.shape, name
        assert x.tobytes() == y.tobytes(), f"{name} differs"


def levels_digest(levels: Levels) -> str:
    h = hashlib.sha256()
    for name in Levels.ARRAYS:
        h.update(np.ascontiguousarray(getattr(levels, name)).tobytes())
    return h.hexdigest()


@pytest.mark.parametrize("name", [*ALGORITHMS, "mixture"])
def test_level_independent_of_batch(name: str) -> None:
    spec = MIXTURE if name == "mixture" else DET_SPECS[name]
    batch = generate(spec, 100, seed=42, threads=2)
    for i in (0, 1, 37, 63, 99):
        assert_same_levels(batch[i], generate(spec, 1, seed=42, start=i, threads=1))
    assert_same_levels(batch[40:70], generate(spec, 30, seed=42, start=40))


@pytest.mark.parametrize("name", ["backtracker", "wilson", "mixture"])
def test_level_independent_of_chunk(name: str) -> None:
    spec = MIXTURE if name == "mixture" else DET_SPECS[name]
    whole = generate(spec, 700, seed=9, start=123, threads=1)
    assert_same_levels(whole, generate(spec, 700, seed=9, start=123, threads=1, chunk=1))
    for chunk in (7, 512, 699, 10_000):
        assert_same_levels(whole, generate(spec, 700, seed=9, start=123, threads=2, chunk=chunk))


@pytest.mark.parametrize("name", [*ALGORITHMS, "mixture"])
def test_level_independent_of_threads(name: str) -> None:
    spec = MIXTURE if name == "mixture" else DET_SPECS[name]
    # More levels than one dynamic-schedule block (512), so both threads take work.
    one = generate(spec, 3000, seed=2024, start=77, threads=1)
    two = generate(spec, 3000, seed=2024, start=77, threads=2)
    assert_same_levels(one, two)


SUBPROCESS_CODE = """
import hashlib, sys
import numpy as np
import fastmaze
from fastmaze.spec import spec_from_dict
import json
spec = spec_from_dict(json.loads(sys.argv[1]))
levels = fastmaze.generate(spec, 3000, seed=31337, start=5)
h = hashlib.sha256()
for name in fastmaze.Levels.ARRAYS:
    h.update(np.ascontiguousarray(getattr(levels, name)).tobytes())
print(fastmaze.default_threads(), h.hexdigest())
"""


def test_level_independent_of_omp_num_threads_across_processes() -> None:
    import json

    from fastmaze.spec import spec_to_dict

    root = str(Path(fastmaze.__file__).resolve().parent.parent)
    payload = json.dumps(spec_to_dict(MIXTURE))
    digests = {}
    for omp in ("1", "2"):
        env = {**os.environ, "OMP_NUM_THREADS": omp}
        env["PYTHONPATH"] = os.pathsep.join([root, env.get("PYTHONPATH", "")])
        out = subprocess.run(
            [sys.executable, "-c", SUBPROCESS_CODE, payload],
            env=env,
            cwd=root,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        threads, digest = out.stdout.split()
        assert threads == omp  # the subprocess really ran with that thread count
        digests[omp] = digest
    here = levels_digest(generate(MIXTURE, 3000, seed=31337, start=5, threads=1))
    assert digests["1"] == digests["2"] == here


def test_mixture_components_recorded_and_respected() -> None:
    levels = generate(MIXTURE, 3000, seed=8)
    comps = [s for s, _ in MIXTURE.components]
    counts = np.bincount(levels.component, minlength=3)
    assert counts.sum() == 3000
    # Stratified over ids like every factor: each weight realised within 1 point.
    np.testing.assert_allclose(counts / 3000, [0.7, 0.2, 0.1], atol=0.01)
    for c, spec in enumerate(comps):
        idx = np.flatnonzero(levels.component == c)
        sub = levels[idx]
        # The features that tell components apart.
        exit_colors = sub.color[np.arange(len(sub)), sub.exit[:, 0], sub.exit[:, 1]]
        assert set(exit_colors.tolist()) == allowed_colors(spec, spec.exit_color)
        assert set(sub.n_decoys.tolist()) == support(spec.n_decoys)
        for k in range(0, len(sub), 25):
            check_level(sub, k, spec)
    # Padding past a component's own decoy count: the mixture's max is 3.
    assert levels.decoys.shape == (3000, 3, 2)
    assert (levels.decoys[levels.component == 0] == -1).all()


def test_mixture_component_of_zero_weight_never_drawn() -> None:
    a, b = MazeSpec(size=4, exit_color="green"), MazeSpec(size=4, exit_color="red")
    levels = generate(Mixture.of((a, 0.0), (b, 1.0)), 500, seed=1)
    assert (levels.component == 1).all()
    check_batch(levels, Mixture.of((a, 0.0), (b, 1.0)))


def test_different_seeds_and_ids_give_different_levels() -> None:
    spec = DET_SPECS["backtracker"]
    a = generate(spec, 500, seed=1)
    b = generate(spec, 500, seed=2)
    same_grid = (a.grid == b.grid).all(axis=(1, 2))
    assert same_grid.mean() < 0.01
    assert not np.array_equal(a.start, b.start)
    assert not np.array_equal(a.color, b.color)
    # Within one batch the ids give distinct layouts.
    assert len(np.unique(a.layout_hash())) >= 495
    # A different seed does not just shift the id stream.
    assert (generate(spec, 100, seed=2, start=1).grid == a.grid[:100]).all(
        axis=(1, 2)
    ).mean() < 0.05


# -- realised correlation -----------------------------------------------------------------------

RANGE = 1000
RANGE_STARTS = [0, 1000, 7919, 123_456, 10**9 + 7, 2**40 + 17, 2**62, MAX_ID - RANGE]


def exit_colour_errors(spec: MazeSpec, rho: float, seed: int) -> list[float]:
    green = spec.color_code("green")
    errors = []
    for first in RANGE_STARTS:
        levels = generate(spec, RANGE, seed=seed, start=first)
        exits = levels.color[np.arange(RANGE), levels.exit[:, 0], levels.exit[:, 1]]
        assert set(exits.tolist()) <= {green, spec.color_code("red")}
        errors.append(abs(float((exits == green).mean()) - rho))
    return errors


@pytest.mark.parametrize("rho", [0.5, 0.9, 0.95, 0.99])
def test_exit_colour_fraction_is_stratified(rho: float) -> None:
    spec = MazeSpec(size=(2, 2), exit_color={"green": rho, "red": 1 - rho})
    stratified = [e for seed in (0, 1, 2) for e in exit_colour_errors(spec, rho, seed)]
    # The same check with independent Bernoulli draws, as many ranges of as many ids.
    rng = np.random.default_rng(20240601)
    bernoulli = [abs(float((rng.random(RANGE) < rho).mean()) - rho) for _ in stratified]
    assert max(stratified) < 0.01
    # Within 4 levels of the request in every range of 1,000 (low discrepancy) ...
    assert max(stratified) <= 4 / RANGE
    # ... and far tighter than independent draws.
    assert max(stratified) <= max(bernoulli) / 2
    assert np.mean(stratified) <= np.mean(bernoulli) / 3


def window_fractions(hits: np.ndarray, width: int = RANGE) -> np.ndarray:
    """Fraction of hits in every run of `width` consecutive entries."""
    c = np.concatenate([[0], np.cumsum(hits.astype(np.int64))])
    return (c[width:] - c[:-width]) / width


@pytest.mark.parametrize("rho", [0.5, 0.9, 0.99])
def test_every_run_of_1000_ids_is_within_a_point(rho: float) -> None:
    """Not just a few ranges: every one of the 199,001 windows of 1,000 consecutive ids."""
    spec = MazeSpec(size=(2, 2), exit_color={"green": rho, "red": 1 - rho})
    n = 200_000
    levels = generate(spec, n, seed=77, start=10**6)
    green = levels.color[np.arange(n), levels.exit[:, 0], levels.exit[:, 1]] == spec.color_code(
        "green"
    )
    assert np.abs(window_fractions(green) - rho).max() <= 3 / RANGE


def test_mixture_stratified_within_each_component() -> None:
    """A 98/2 mixture of a train and a test spec: the component share in every window of
    1,000 ids, and the exit colour among every 1,000 consecutive levels of one component."""
    train = MazeSpec(size=3, exit_color={"green": 0.9, "red": 0.1})
    test = MazeSpec(size=3, exit_color={"green": 0.1, "red": 0.9})
    n = 200_000
    levels = generate(Mixture.of((train, 0.98), (test, 0.02)), n, seed=5)
    assert np.abs(window_fractions(levels.component == 1) - 0.02).max() < 0.01
    colour = levels.color[np.arange(n), levels.exit[:, 0], levels.exit[:, 1]]
    green = train.color_code("green")
    for c, rho in ((0, 0.9), (1, 0.1)):
        hits = colour[levels.component == c] == green
        assert np.abs(window_fractions(hits) - rho).max() < 0.01


def test_counts_and_decoy_colours_are_stratified() -> None:
    spec = MazeSpec(
        size=(4, 4),
        n_decoys=1,
        decoy_color={"green": 0.8, "red": 0.2},
        n_distractors={0: 0.25, 2: 0.75},
        distractor_color="blue",
    )
    for first in (0, 5000, 10**12):
        levels = generate(spec, 2000, seed=4, start=first)
        d = levels.decoys[:, 0]
        decoy_colors = levels.color[np.arange(2000), d[:, 0], d[:, 1]]
        assert abs(float((decoy_colors == spec.color_code("green")).mean()) - 0.8) < 0.01
        blue = (levels.color == spec.color_code("blue")).sum(axis=(1, 2))
        assert set(blue.tolist()) <= {0, 2}
        assert abs(float((blue == 2).mean()) - 0.75) < 0.01


def test_exit_and_decoy_colours_are_independent() -> None:
    """Separate factors are drawn independently: the four (exit, decoy) colour pairs each
    come up a quarter of the time."""
    spec = MazeSpec(
        size=(3, 3),
        exit_color={"green": 0.5, "red": 0.5},
        n_decoys=1,
        decoy_color={"green": 0.5, "red": 0.5},
    )
    n, green = 4000, spec.color_code("green")
    for first in (0, 4000, 10**10):
        levels = generate(spec, n, seed=1, start=first)
        exit_green = levels.color[np.arange(n), levels.exit[:, 0], levels.exit[:, 1]] == green
        d = levels.decoys[:, 0]
        decoy_green = levels.color[np.arange(n), d[:, 0], d[:, 1]] == green
        for a in (True, False):
            for b in (True, False):
                joint = float(((exit_green == a) & (decoy_green == b)).mean())
                assert abs(joint - 0.25) < 0.01


# -- bad input --------------------------------------------------------------------------------

BAD_GENERATE = [
    ({"n": 1.0}, r"n: expected an integer"),
    ({"n": 2.5}, r"n: expected an integer"),
    ({"n": -1}, r"n: expected an integer in .*, got -1$"),
    ({"n": True}, r"n: expected an integer"),
    ({"n": "3"}, r"n: expected an integer"),
    ({"n": 2**63}, r"n: expected an integer in [0-9.]+, got"),
    ({"seed": 1.0}, r"seed: expected an integer"),
    ({"seed": -1}, r"seed: expected an integer in .*, got -1$"),
    ({"seed": False}, r"seed: expected an integer"),
    ({"seed": 2**64}, r"seed: expected an integer in [0-9.]+, got"),
    ({"start": 0.0}, r"start: expected an integer"),
    ({"start": -5}, r"start: expected an integer in .*, got -5$"),
    ({"start": True}, r"start: expected an integer"),
    ({"start": MAX_ID}, r"start: expected an integer in [0-9.]+, got"),
    ({"start": MAX_ID - 9}, r"start: expected an integer in [0-9.]+, got"),  # start + 10 overflows
    ({"threads": 0}, r"threads: expected an integer in .*, got 0$"),
    ({"threads": 1.0}, r"threads: expected an integer"),
    ({"chunk": 0}, r"chunk: expected an integer in .*, got 0$"),
]


@pytest.mark.parametrize(("kwargs", "match"), BAD_GENERATE, ids=lambda v: repr(v)[:40])
def test_generate_rejects_bad_arguments(kwargs: dict, match: str) -> None:
    args = {"n": 10, "seed": 0, "start": 0, **kwargs}
    with pytest.raises(ValueError, match=match):
        generate(MazeSpec(), **args)


def test_generate_accepts_largest_ids_and_numpy_integers() -> None:
    levels = generate(MazeSpec(size=3), np.int64(10), seed=np.uint64(2**64 - 1), start=MAX_ID - 10)
    assert levels.ids[-1] == MAX_ID - 1
    check_batch(levels, MazeSpec(size=3))


@pytest.mark.parametrize("spec", [None, "6x6", {"size": (6, 6)}, (MazeSpec(), 1.0)])
def test_generate_rejects_non_specs(spec: object) -> None:
    with pytest.raises(ValueError, match="spec: expected a MazeSpec or Mixture"):
        generate(spec, 1)  # type: ignore[arg-type]
