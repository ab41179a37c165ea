"""The greedy walk on policy maps: against the slow reference, on the oracle's own map and on
a "go to the cue" map, determinism, read-only inputs and bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fastmaze as fm
from fastmaze.levels import Levels
from fastmaze.walk import REASONS
from tests import reference

SIZES = [(2, 2), (3, 5), (4, 4), (6, 6)]


def decoys_of(levels: Levels, i: int) -> list[tuple[int, int]]:
    return [tuple(d) for d in levels.decoys[i, : levels.n_decoys[i]].tolist()]


def reference_walks(levels: Levels, actions: np.ndarray, cue: str | None, max_steps: int):
    code = -1 if cue is None else levels.spec.color_code(cue)
    rows = [
        reference.greedy_walk(
            levels.grid[i], levels.color[i], tuple(levels.start[i]), tuple(levels.exit[i]),
            decoys_of(levels, i), actions[i], code, max_steps,
        )
        for i in range(len(levels))
    ]  # fmt: skip
    return np.array(rows, np.int64).reshape(-1, 4).T


def assert_walk_matches(levels, policy, actions, cue="green", max_steps=None) -> fm.Walk:
    H, W = levels.shape
    got = fm.walk(levels, policy, cue=cue, max_steps=max_steps)
    want = reference_walks(levels, actions, cue, H * W if max_steps is None else max_steps)
    for name, ref in zip(("outcome", "steps", "excess", "reason"), want, strict=True):
        np.testing.assert_array_equal(getattr(got, name), ref, err_msg=name)
    for i in range(min(len(levels), 8)):
        path = fm.walk_path(levels, policy, i, cue=cue, max_steps=max_steps)
        assert len(path) - 1 == got.steps[i]
        assert path[0] == tuple(levels.start[i])
    return got


def mixed_levels(size, seed: int, n: int = 40, **fields) -> Levels:
    spec = fm.MazeSpec(
        size=size,
        n_decoys={0: 0.2, 1: 0.4, 3: 0.4},
        decoy_color={"green": 0.5, "red": 0.3, None: 0.2},
        exit_color="blue",
        **fields,
    )
    return fm.generate(spec, n, seed=seed)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    size=st.sampled_from(SIZES),
    seed=st.integers(0, 2**32),
    loops=st.sampled_from([0.0, 0.3, 1.0]),
    stall=st.sampled_from([0.0, 0.05]),
    max_steps=st.sampled_from([None, 0, 1, 5]),
)
def test_random_action_maps_match_reference(size, seed, loops, stall, max_steps) -> None:
    levels = mixed_levels(size, seed, loops=loops)
    rng = np.random.default_rng(seed)
    actions = rng.integers(0, 4, size=levels.grid.shape).astype(np.uint8)
    actions[rng.random(actions.shape) < stall] = fm.NO_ACTION
    assert_walk_matches(levels, actions, actions, max_steps=max_steps)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(size=st.sampled_from(SIZES), seed=st.integers(0, 2**32), ties=st.booleans())
def test_float_scores_match_reference_of_their_argmax(size, seed, ties) -> None:
    levels = mixed_levels(size, seed)
    rng = np.random.default_rng(seed)
    n, H, W = levels.grid.shape
    scores = rng.normal(size=(n, 4, H, W)).astype(np.float32)
    if ties:  # coarse scores: many ties, which go to the lowest action
        scores = np.round(scores)
    actions = np.argmax(scores, axis=1).astype(np.uint8)
    assert_walk_matches(levels, scores, actions)
    assert_walk_matches(levels, scores.astype(np.float64), actions, cue=None)


def test_oracle_map_reaches_the_exit_with_no_excess() -> None:
    """On off-path conflict levels (conflict()'s default) the oracle's own map always reaches
    the exit by a shortest path: exit = 1.0, excess 0."""
    levels = fm.generate(fm.conflict(size=(5, 5)), 2000, seed=4)
    oracles = fm.solve(levels)
    for kwargs in ({}, {"path_length": oracles.path_length}):
        w = fm.walk(levels, oracles.optimal_action, **kwargs)
        assert (w.outcome == 1).all() and (w.excess == 0).all()
        np.testing.assert_array_equal(w.steps, oracles.path_length)
        assert w.rates()["exit"].rate == 1.0
    # decoys anywhere: the oracle enters the decoy first exactly on the ambiguous levels
    anywhere = fm.generate(fm.conflict(size=(5, 5), decoy_placement="anywhere"), 2000, seed=4)
    o = fm.solve(anywhere)
    w = fm.walk(anywhere, o.optimal_action)
    np.testing.assert_array_equal(w.outcome == 2, o.ambiguous)
    assert 0 < o.ambiguous.sum() < len(anywhere)


def test_oracle_map_ignores_false_exits() -> None:
    levels = fm.generate(fm.conflict(size=(6, 6), false_exits=3, branch=2), 1000, seed=6)
    oracles = fm.solve(levels)
    w = fm.walk(levels, oracles.optimal_action)
    assert (w.outcome == 1).all() and (w.excess == 0).all()
    # a policy that always goes left stalls, loops or leaves through the true exit only
    left = fm.walk(levels, np.full(levels.grid.shape, 3, np.uint8))
    reached = left.outcome == 1
    np.testing.assert_array_equal(levels.exit[reached, 1], 0)


def go_to_cue(levels: Levels, cue: str = "green") -> np.ndarray:
    """Action map [n, H, W]: at every square, the lowest action one step closer (BFS) to the
    first decoy of the cue colour; NO_ACTION where none is closer."""
    code = levels.spec.color_code(cue)
    out = np.full(levels.grid.shape, fm.NO_ACTION, np.uint8)
    for i in range(len(levels)):
        target = next(d for d in decoys_of(levels, i) if levels.color[i][d] == code)
        dist = reference.bfs(levels.grid[i], target)
        masks = reference.optimal_actions(levels.grid[i], dist)
        out[i] = np.vectorize(reference.lowest_action, otypes=[np.uint8])(masks)
    return out


def test_go_to_cue_map_scores_proxy() -> None:
    levels = fm.generate(fm.conflict(size=(6, 6)), 300, seed=5)
    w = fm.walk(levels, go_to_cue(levels))
    assert (w.outcome == 2).all() and (w.excess == -1).all()
    rates = w.rates()
    assert rates["proxy"].rate == 1.0 and rates["exit"].rate == 0.0
    assert list(rates) == ["exit", "proxy", "other", "neither"]


def test_hand_made_corridor_loop_stall_and_limit() -> None:
    # board 3 x 7: a corridor (1, 1) .. (1, 5), the exit at (1, 6), a green decoy at (1, 3)
    grid = np.ones((1, 3, 7), np.uint8)
    grid[0, 1, 1:7] = 0
    color = np.zeros_like(grid)
    spec = fm.MazeSpec(size=(1 + 1, 3), palette=("red", "green"))
    color[0, 1, 3] = spec.color_code("green")

    def level(decoy):
        return Levels(
            spec=spec, seed=0, ids=np.zeros(1, np.int64), grid=grid, color=color,
            start=np.array([[1, 1]], np.int32), exit=np.array([[1, 6]], np.int32),
            decoys=np.array([[decoy]], np.int32), n_decoys=np.array([1], np.int32),
            component=np.zeros(1, np.uint8),
        )  # fmt: skip

    right = np.full((1, 3, 7), 1, np.uint8)
    w = fm.walk(level([1, 3]), right)
    assert (w.outcome[0], w.steps[0], w.reason[0]) == (2, 2, 0)
    w = fm.walk(level([1, 3]), right, cue="red")
    assert w.outcome[0] == 3
    w = fm.walk(level([-1, -1])._with(n_decoys=np.zeros(1, np.int32)), right)
    assert (w.outcome[0], w.steps[0], w.excess[0]) == (1, 5, 0)
    w = fm.walk(level([1, 3]), right, max_steps=1)
    assert (w.outcome[0], w.steps[0], REASONS[w.reason[0]]) == (0, 1, "max_steps")
    bounce = right.copy()
    bounce[0, 1, 2] = 3  # (1, 1) -> (1, 2) -> back to (1, 1)
    w = fm.walk(level([1, 3]), bounce)
    assert (w.outcome[0], w.steps[0], REASONS[w.reason[0]]) == (0, 2, "loop")
    assert fm.walk_path(level([1, 3]), bounce, 0) == [(1, 1), (1, 2), (1, 1)]
    up = np.zeros((1, 3, 7), np.uint8)
    w = fm.walk(level([1, 3]), up)
    assert (w.outcome[0], w.steps[0], REASONS[w.reason[0]]) == (0, 0, "stall")


def test_deterministic_across_threads_and_read_only_inputs() -> None:
    levels = mixed_levels((6, 6), 9, n=3000)
    rng = np.random.default_rng(0)
    actions = rng.integers(0, 4, size=levels.grid.shape).astype(np.uint8)
    one = fm.walk(levels, actions, threads=1)
    for arr in (actions, levels.grid, levels.color, levels.start, levels.exit, levels.decoys):
        arr.setflags(write=False)
    two = fm.walk(levels, actions, threads=2)
    for name in ("outcome", "steps", "excess", "reason"):
        np.testing.assert_array_equal(getattr(one, name), getattr(two, name))
    part = fm.walk(levels[1000:1500], actions[1000:1500])
    np.testing.assert_array_equal(part.outcome, one.outcome[1000:1500])


def test_uint8_values_are_checked_where_the_walk_meets_them() -> None:
    levels = mixed_levels((4, 4), 3, n=50)
    actions = fm.solve(levels).optimal_action.copy()
    grid = levels.grid
    actions[grid == 1] = 9  # walls are never stood on: accepted
    w = fm.walk(levels, actions)
    assert (w.outcome != 0).all()
    s = tuple(levels.start[7])
    actions[7][s] = 9
    with pytest.raises(ValueError, match=rf"action 9 at square \({s[0]}, {s[1]}\) of level 7"):
        fm.walk(levels, actions)
    with pytest.raises(ValueError, match="action 9"):
        fm.walk_path(levels, actions, 7)


def test_more_threads_than_levels_and_half_floats() -> None:
    levels = mixed_levels((3, 4), 8, n=5)
    rng = np.random.default_rng(1)
    scores = rng.normal(size=(5, 4, 7, 9)).astype(np.float16)
    want = fm.walk(levels, scores.astype(np.float32), threads=1)
    got = fm.walk(levels, scores, threads=8)
    np.testing.assert_array_equal(got.outcome, want.outcome)
    np.testing.assert_array_equal(got.steps, want.steps)
    nan = scores.astype(np.float64)
    nan[:, 2] = np.nan  # NaN counts highest, as in numpy.argmax
    assert_walk_matches(levels, nan, np.argmax(nan, axis=1).astype(np.uint8))


def test_rates_intervals_and_empty_batch() -> None:
    levels = mixed_levels((3, 3), 1, n=100)
    w = fm.walk(levels, np.zeros((100, 4, 7, 7), np.float32))
    r = w.rates(0.9)
    assert sum(v.count for v in r.values()) == 100
    for v in r.values():
        assert v.lo <= v.rate <= v.hi
    empty = fm.walk(levels[:0], np.zeros((0, 7, 7), np.uint8))
    assert len(empty) == 0 and np.isnan(empty.rates()["exit"].rate)


@pytest.mark.parametrize(
    "policy, match",
    [
        (np.zeros((5, 7, 7), np.float32), "float scores"),
        (np.zeros((5, 7, 8), np.uint8), "action map of shape"),
        (np.full((5, 7, 7), 7, np.uint8), "action 7"),
        (np.full((5, 7, 7), -1, np.int64), "action -1"),
        (np.zeros((5, 7, 7), object), "dtype object"),
    ],
)
def test_bad_policies_are_refused(policy, match) -> None:
    levels = mixed_levels((3, 3), 0, n=5)
    with pytest.raises(ValueError, match=match):
        fm.walk(levels, policy)


def test_bad_arguments_are_refused() -> None:
    levels = mixed_levels((3, 3), 0, n=5)
    actions = np.zeros((5, 7, 7), np.uint8)
    with pytest.raises(ValueError, match="max_steps"):
        fm.walk(levels, actions, max_steps=-1)
    with pytest.raises(ValueError, match="unknown colour"):
        fm.walk(levels, actions, cue="black")
    with pytest.raises(ValueError, match="threads"):
        fm.walk(levels, actions, threads=0)
    with pytest.raises(ValueError, match="levels"):
        fm.walk(levels.grid, actions)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="i:"):
        fm.walk_path(levels, actions, 5)
    with pytest.raises(ValueError, match="one map per level"):
        fm.walk_path(levels, actions[:3], 1)
    with pytest.raises(ValueError, match="path_length"):
        fm.walk(levels, actions, path_length=np.zeros(4, np.int32))
    on_wall = levels.start.copy()
    on_wall[3] = (0, 0)
    with pytest.raises(ValueError, match=r"the start of level 3 is .* a wall square"):
        fm.walk(levels._with(start=on_wall), actions)
    decoys = levels.decoys.copy()
    decoys[4, 0] = (99, 1)
    counts = levels.n_decoys.copy()
    counts[4] = max(counts[4], 1)
    few = levels._with(decoys=decoys, n_decoys=counts)
    with pytest.raises(ValueError, match=r"a decoy of level 4 is .* outside"):
        fm.walk(few, actions)
