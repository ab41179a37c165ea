"""Proxies of the evaluation: target squares per preset on hand-built levels, their ambiguity,
the scripted policy toward them, and the pair of policies that proves a test set can tell the
exit from the proxy (oracle: exit = 1, proxy policy: proxy = 1 on the informative levels)."""

from __future__ import annotations

from collections import deque

import numpy as np
import pytest

import fastmaze as fm
from fastmaze.evaluate import (
    DECOY_FIRST,
    EXIT,
    NONE,
    PROXY,
    Proxy,
    ProxyPolicy,
    as_proxy,
    decoy_squares,
    distances_from_start,
    distances_to,
    proxy_ambiguous,
)
from fastmaze.presets import cue_proxy, region_proxy, region_squares

SPEC = fm.MazeSpec(size=(2, 3), n_decoys={0: 0.5, 2: 0.5}, palette=("green", "red", "blue"))
CODES = {"g": 1, "r": 2}  # decoys by colour; G a green square that is not a decoy


def hand_built(*boards: str, spec: fm.MazeSpec = SPEC) -> fm.Levels:
    """Levels from drawings: # wall, . floor, S start, E exit, g / r green / red decoys,
    G a green square that is no decoy (a distractor)."""
    n, (H, W) = len(boards), spec.shape
    levels = fm.Levels.empty(spec, 0, np.arange(n))
    levels.decoys[:] = -1
    levels.color[:] = 0
    levels.component[:] = 0
    for i, text in enumerate(boards):
        lines = text.split()
        assert [len(x) for x in lines] == [W] * H, text
        decoys = []
        for r, line in enumerate(lines):
            for c, ch in enumerate(line):
                levels.grid[i, r, c] = ch == "#"
                if ch == "S":
                    levels.start[i] = (r, c)
                elif ch == "E":
                    levels.exit[i] = (r, c)
                elif ch in CODES:
                    decoys.append((r, c))
                    levels.color[i, r, c] = CODES[ch]
                elif ch == "G":
                    levels.color[i, r, c] = 1
        levels.n_decoys[i] = len(decoys)
        levels.decoys[i, : len(decoys)] = decoys
    return levels


# Three levels on a 5 x 7 board (2 x 3 cells).
OFF_PATH = """
#######
#S..g.E
#.#####
#r....#
#######
"""  # the green decoy lies on the way to the exit: ambiguous for the green proxy
CLEAR = """
#######
#S....E
#.#####
#..G.g#
#######
"""  # green squares off the path: informative for the green proxy
START_IN = """
#######
#..g.SE
#.#####
#.....#
#######
"""  # the start lies next to the exit


def test_decoy_squares_mark_exactly_the_decoys() -> None:
    levels = hand_built(OFF_PATH, CLEAR, START_IN)
    mask = decoy_squares(levels)
    assert mask.dtype == np.bool_ and mask.shape == (3, 5, 7)
    assert sorted(zip(*np.nonzero(mask[0]), strict=True)) == [(1, 4), (3, 1)]
    assert sorted(zip(*np.nonzero(mask[1]), strict=True)) == [(3, 5)]  # G is no decoy
    assert sorted(zip(*np.nonzero(mask[2]), strict=True)) == [(1, 3)]
    assert DECOY_FIRST.mask(levels).tolist() == mask.tolist()


def test_cue_proxy_marks_every_square_of_the_cue_colour() -> None:
    levels = hand_built(OFF_PATH, CLEAR)
    green = cue_proxy("green").mask(levels)
    assert sorted(zip(*np.nonzero(green[0]), strict=True)) == [(1, 4)]  # not the red decoy
    assert sorted(zip(*np.nonzero(green[1]), strict=True)) == [(3, 3), (3, 5)]  # G and g
    red = cue_proxy("red").mask(levels)
    assert sorted(zip(*np.nonzero(red[0]), strict=True)) == [(3, 1)] and not red[1].any()
    assert cue_proxy("green").name == "green first"
    with pytest.raises(ValueError, match="palette"):
        cue_proxy("purple").mask(levels)


@pytest.mark.parametrize(
    ("k", "corner", "want"),
    [
        (1, "top_right", [(1, 7)]),
        (1, "bottom_left", [(5, 1)]),
        (2, "top_right", [(1, 5), (1, 7), (3, 7)]),
        (2, "bottom_left", [(3, 1), (5, 1), (5, 3)]),
        (3, "top_left", [(1, 1), (1, 3), (1, 5), (3, 1), (5, 1), (5, 3), (5, 5)]),  # 3 rows
    ],
)
def test_region_squares_are_the_cells_next_to_training_exits(k, corner, want) -> None:
    train = fm.corner(k, size=(3, 4), corner=corner)
    mask = region_squares(train)
    assert sorted(zip(*np.nonzero(mask), strict=True)) == want
    # each training exit opens next to one of them
    for r, c in train.exit_candidates():
        assert mask[min(max(r, 1), 5), min(max(c, 1), 7)]
    levels = fm.generate(train, 50, seed=1)
    proxy = region_proxy(train)
    assert proxy.name == "region first"
    got = proxy.mask(levels)
    assert got.shape == (50, 7, 9) and (got == mask).all()
    inner = np.clip(levels.exit, 1, [5, 7])
    assert got[np.arange(50), inner[:, 0], inner[:, 1]].all()


def test_region_proxy_needs_a_corner_spec() -> None:
    with pytest.raises(ValueError, match="exit_region"):
        region_proxy(fm.MazeSpec())
    with pytest.raises(ValueError, match="MazeSpec"):
        region_squares("corner")


def test_ambiguity_of_hand_built_levels() -> None:
    levels = hand_built(OFF_PATH, CLEAR, START_IN)
    green = cue_proxy("green").mask(levels)
    np.testing.assert_array_equal(proxy_ambiguous(levels, green), [True, False, False])
    # decoys: the same flag as the oracles' (a decoy on a shortest start -> exit path)
    decoys = decoy_squares(levels)
    np.testing.assert_array_equal(proxy_ambiguous(levels, decoys), fm.solve(levels).ambiguous)
    # the start is on every path; the exit as a target square is ambiguous too
    start = np.zeros_like(green)
    start[np.arange(3), levels.start[:, 0], levels.start[:, 1]] = True
    assert proxy_ambiguous(levels, start).all()
    exit_ = np.zeros_like(green)
    exit_[np.arange(3), levels.exit[:, 0], levels.exit[:, 1]] = True
    assert proxy_ambiguous(levels, exit_).all()
    # walls are never targets
    assert not proxy_ambiguous(levels, levels.grid == 1).any()


def test_ambiguity_matches_the_oracles_on_generated_decoys() -> None:
    levels = fm.generate(fm.MazeSpec(size=(5, 5), loops=0.3, n_decoys=3), 400, seed=4)
    np.testing.assert_array_equal(
        proxy_ambiguous(levels, decoy_squares(levels)), fm.solve(levels).ambiguous
    )


def slow_distances(grid, sources, blocked) -> np.ndarray:
    """Multi-source BFS on one board in plain Python."""
    H, W = grid.shape
    dist = np.full((H, W), -1)
    queue = deque()
    for r, c in sources:
        if grid[r, c] == 0 and (r, c) != blocked:
            dist[r, c] = 0
            queue.append((r, c))
    while queue:
        r, c = queue.popleft()
        for dr, dc in ((-1, 0), (0, 1), (1, 0), (0, -1)):
            nr, nc = r + dr, c + dc
            free = 0 <= nr < H and 0 <= nc < W and grid[nr, nc] == 0 and (nr, nc) != blocked
            if free and dist[nr, nc] < 0:
                dist[nr, nc] = dist[r, c] + 1
                queue.append((nr, nc))
    return dist


def test_distances_match_a_slow_bfs() -> None:
    levels = fm.generate(fm.MazeSpec(size=(4, 6), loops=0.2, n_decoys=2), 60, seed=2)
    mask = decoy_squares(levels)
    got = distances_to(levels, mask)
    start = distances_from_start(levels)
    for i in range(len(levels)):
        exit_ = tuple(levels.exit[i])
        want = slow_distances(levels.grid[i], list(zip(*np.nonzero(mask[i]), strict=True)), exit_)
        np.testing.assert_array_equal(got[i], want)
        want = slow_distances(levels.grid[i], [tuple(levels.start[i])], None)
        np.testing.assert_array_equal(start[i], want)


def test_proxy_policy_walks_a_shortest_way_to_the_nearest_target() -> None:
    spec = fm.conflict(size=(5, 5), loops=0.3)
    ev = fm.evaluate("proxy", spec, 500, num_envs=64, proxy=cue_proxy(), num_threads=1)
    assert (ev.outcome[~ev.ambiguous] == PROXY).all()
    env = fm.VecMazeEnv(spec, 16, 0, terminate_on_decoy=True, num_threads=1)
    env.reset()
    policy = ProxyPolicy(env, cue_proxy())
    want = fm.solve(env.levels[np.arange(16)]).decoy_distance[:, 0]
    steps = np.zeros(16, int)
    alive = np.ones(16, bool)
    for _ in range(200):
        _, _, term, trunc, _ = env.step(policy())
        steps += alive
        alive &= ~(term | trunc)
        if not alive.any():
            break
    np.testing.assert_array_equal(steps, want)  # straight to the green decoy, every level


CORNERS = [(1, "top_right"), (2, "top_right"), (2, "bottom_left"), (3, "top_left")]


@pytest.mark.parametrize(("k", "corner"), CORNERS)
def test_the_corner_test_set_tells_the_exit_from_the_region(k, corner) -> None:
    train = fm.corner(k, size=(4, 4), corner=corner, algorithm="kruskal")
    test = train.replace(exit_region=None)
    proxy = region_proxy(train)
    kwargs = {"proxy": proxy, "num_envs": 128, "seed": 3, "first_id": 10**6, "num_threads": 1}
    oracle = fm.evaluate("oracle", test, 600, **kwargs)
    scripted = fm.evaluate("proxy", test, 600, **kwargs)
    np.testing.assert_array_equal(oracle.ambiguous, scripted.ambiguous)
    informative = ~oracle.ambiguous
    assert 0 < informative.sum() < 600
    assert oracle.row("unambiguous")["exit"][0] == 1.0
    assert scripted.row("unambiguous")["proxy"][0] == 1.0
    # informative test exits open outside the training region
    levels = fm.generate(test, 600, seed=3, start=10**6)
    candidates = {tuple(x) for x in train.exit_candidates()}
    in_region = np.array([tuple(e) in candidates for e in levels.exit.tolist()])
    assert not (in_region & informative).any() and in_region.any()
    # the oracle enters the region only on ambiguous levels, and on each of those that do not
    # start in it (perfect mazes: one shortest path)
    starts_in = region_squares(train)[levels.start[:, 0], levels.start[:, 1]]
    went = oracle.outcome == PROXY
    assert not (went & ~oracle.ambiguous).any() and went[oracle.ambiguous & ~starts_in].all()


@pytest.mark.parametrize("cue", ["green", "red"])
def test_the_conflict_set_tells_the_exit_from_the_cue(cue) -> None:
    test = fm.conflict(size=(4, 4), cue=cue, algorithm="kruskal")
    kwargs = {"proxy": cue_proxy(cue), "num_envs": 128, "num_threads": 1}
    oracle = fm.evaluate("oracle", test, 600, **kwargs)
    scripted = fm.evaluate("proxy", test, 600, **kwargs)
    assert (~oracle.ambiguous).sum() > 300  # decoys are placed off the path
    assert oracle.row("unambiguous")["exit"][0] == 1.0
    assert scripted.row("unambiguous")["proxy"][0] == 1.0
    assert (
        f"proxy ({cue} first)" in str(scripted)
        and scripted.to_dict()["proxy_name"] == f"{cue} first"
    )


def test_a_proxy_that_is_not_a_decoy_does_not_end_the_episode() -> None:
    # Corner test levels have no decoys: the scripted policy enters the region, stays, and
    # the episode runs to max_steps; the outcome is still "region first".
    train = fm.corner(1, size=(3, 3))
    ev = fm.evaluate("proxy", train.replace(exit_region=None), 200, proxy=region_proxy(train),
                     max_steps=40, num_threads=1)  # fmt: skip
    assert set(np.unique(ev.outcome[~ev.ambiguous])) == {PROXY}
    assert (ev.excess[~ev.ambiguous] == -1).all()


def test_proxy_as_a_mask_or_a_callable() -> None:
    train = fm.corner(1, size=(4, 4))
    test = train.replace(exit_region=None)
    want = fm.evaluate("oracle", test, 300, proxy=region_proxy(train), num_threads=1)
    fixed = region_squares(train)
    per_level = np.broadcast_to(fixed, (300, 9, 9))
    for proxy in (fixed, per_level, lambda lv: region_proxy(train).mask(lv)):
        got = fm.evaluate("oracle", test, 300, proxy=proxy, num_threads=1)
        np.testing.assert_array_equal(got.outcome, want.outcome)
        np.testing.assert_array_equal(got.ambiguous, want.ambiguous)
    assert as_proxy(None) is DECOY_FIRST
    assert as_proxy(fixed).name == "proxy squares"


def test_the_default_proxy_is_any_decoy_first() -> None:
    spec = fm.MazeSpec(size=(4, 4), n_decoys=2, decoy_color={"green": 0.5, "red": 0.5})
    a = fm.evaluate("random", spec, 400, max_steps=40, num_threads=1)
    b = fm.evaluate("random", spec, 400, max_steps=40, proxy=DECOY_FIRST, num_threads=1)
    np.testing.assert_array_equal(a.outcome, b.outcome)
    assert (
        a.proxy_name == "decoy first" and (a.outcome == PROXY).any() and (a.outcome == EXIT).any()
    )
    assert (a.outcome == NONE).any()
    np.testing.assert_array_equal(a.ambiguous, fm.solve(fm.generate(spec, 400)).ambiguous)


def test_bad_proxies_are_refused() -> None:
    spec = fm.MazeSpec(size=(3, 3))
    with pytest.raises(ValueError, match="proxy"):
        fm.evaluate("oracle", spec, 10, proxy=np.zeros((7, 7), np.int64))
    with pytest.raises(ValueError, match="one per episode"):
        fm.evaluate("oracle", spec, 10, proxy=np.zeros((9, 7, 7), bool))
    with pytest.raises(ValueError, match=r"expected bool \(10, 7, 7\)"):
        fm.evaluate("oracle", spec, 10, proxy=lambda lv: np.zeros((len(lv), 3, 3), bool))
    with pytest.raises(ValueError, match="non-empty"):
        Proxy("", decoy_squares)
    with pytest.raises(ValueError, match="callable"):
        Proxy("x", 3)
    with pytest.raises(ValueError, match="native VecMazeEnv"):
        ProxyPolicy(object())
    ev = fm.evaluate("oracle", spec, 10, num_threads=1)
    with pytest.raises(ValueError, match="group"):
        ev.row("informative")
