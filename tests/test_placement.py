"""Off-path decoys and sealed false exits: properties against BFS references, determinism,
stratification, and the specs that can never be met."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fastmaze as fm
from tests import reference

ALGORITHMS = ["backtracker", "kruskal", "prim", "wilson", "open"]


def decoys_of(levels: fm.Levels, i: int) -> list[tuple[int, int]]:
    return [tuple(d) for d in levels.decoys[i, : levels.n_decoys[i]].tolist()]


def cells_of(levels: fm.Levels, i: int, codes: set[int]) -> list[tuple[int, int]]:
    """Coloured squares of level i with a colour in codes (decoys and distractors)."""
    return [tuple(s) for s in np.argwhere(np.isin(levels.color[i], list(codes)))]


def assert_sealed(levels: fm.Levels, k: int) -> None:
    """k + 1 openings; the start reaches exactly one, the exit; every floor square is reached
    from the start or from a false opening; decoys and distractors lie in the start's region;
    false openings are uncoloured."""
    for i in range(len(levels)):
        grid = levels.grid[i]
        start, exit_ = tuple(levels.start[i]), tuple(levels.exit[i])
        holes = reference.openings(grid)
        assert len(holes) == k + 1 and exit_ in holes, (i, holes)
        reach = reference.bfs(grid, start)
        assert [h for h in holes if reach[h] >= 0] == [exit_], i
        covered = reach >= 0
        for h in holes:
            if h != exit_:
                assert levels.color[i][h] == 0
                covered |= reference.bfs(grid, h) >= 0
        assert covered[grid == 0].all(), f"level {i}: a floor square belongs to no region"
        for d in decoys_of(levels, i) + cells_of(levels, i, set(range(1, 16))):
            if d != exit_:
                assert reach[d] >= 0, (i, d)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.integers(2, 7),
    cols=st.integers(2, 7),
    algorithm=st.sampled_from(ALGORITHMS),
    loops=st.sampled_from([0.0, 0.25, 1.0]),
    branch=st.integers(1, 4),
    n_decoys=st.integers(0, 2),
    seed=st.integers(0, 2**32),
)
def test_off_path_decoys(rows, cols, algorithm, loops, branch, n_decoys, seed) -> None:
    try:
        spec = fm.MazeSpec(
            size=(rows, cols), algorithm=algorithm, loops=loops, n_decoys=n_decoys,
            decoy_color="green", decoy_placement="off_path", branch=branch,
        )  # fmt: skip
    except ValueError:
        return  # provably impossible: tested below
    try:
        levels = fm.generate(spec, 30, seed=seed)
    except RuntimeError as e:  # attempts ran out: the error names the level
        assert "level" in str(e)
        return
    assert (levels.n_decoys == n_decoys).all()
    for i in range(len(levels)):
        grid, start, exit_ = levels.grid[i], tuple(levels.start[i]), tuple(levels.exit[i])
        for d in decoys_of(levels, i):
            assert reference.off_path(grid, start, exit_, d, branch), (i, d)
    assert not fm.solve(levels).ambiguous.any()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.integers(2, 7),
    cols=st.integers(2, 7),
    algorithm=st.sampled_from(ALGORITHMS),
    loops=st.sampled_from([0.0, 0.3]),
    k=st.integers(1, 5),
    placement=st.sampled_from(["anywhere", "off_path"]),
    seed=st.integers(0, 2**32),
)
def test_false_exits_are_sealed(rows, cols, algorithm, loops, k, placement, seed) -> None:
    try:
        spec = fm.MazeSpec(
            size=(rows, cols), algorithm=algorithm, loops=loops, false_exits=k, n_decoys=1,
            decoy_color="red", n_distractors=1, distractor_color="blue",
            decoy_placement=placement,
        )  # fmt: skip
        levels = fm.generate(spec, 20, seed=seed)
    except ValueError:
        return  # too many objects for the region, or openings that do not fit
    except RuntimeError as e:
        assert "level" in str(e)
        return
    assert_sealed(levels, k)
    oracles = fm.solve(levels)
    assert (oracles.path_length > 0).all()
    if placement == "off_path":
        assert not oracles.ambiguous.any()


def test_false_exits_keep_the_way_to_the_exit() -> None:
    """The sealing walls never touch the canonical start -> exit path: a level that needed
    no retry keeps its path length (same carving, exit and start draws)."""
    base = fm.MazeSpec(size=(6, 6))
    sealed = base.replace(false_exits=3)
    a, b = fm.generate(base, 500, seed=1), fm.generate(sealed, 500, seed=1)
    first_try = (a.start == b.start).all(axis=1) & (a.exit == b.exit).all(axis=1)
    assert first_try.mean() > 0.9
    pa, pb = fm.solve(a).path_length, fm.solve(b).path_length
    np.testing.assert_array_equal(pa[first_try], pb[first_try])
    assert_sealed(b[:100], 3)
    # the sealing only adds walls (apart from the openings)
    ring = np.zeros(a.grid.shape[1:], bool)
    ring[[0, -1], :] = ring[:, [0, -1]] = True
    opened = (a.grid == 1) & (b.grid == 0)
    assert not opened[first_try][:, ~ring].any()


@pytest.mark.parametrize(
    "spec",
    [
        fm.conflict(size=(5, 5), branch=3),
        fm.MazeSpec(size=(5, 4), false_exits=4, n_decoys=2, decoy_placement="off_path"),
        fm.randomized(0.5, size=4, false_exits=2),
    ],
    ids=["off_path", "both", "mixture"],
)
def test_deterministic_across_batches_threads_and_chunks(spec) -> None:
    whole = fm.generate(spec, 3000, seed=11, threads=1)
    for other in (
        fm.generate(spec, 3000, seed=11, threads=2, chunk=777),
        fm.generate(spec, 1000, seed=11, start=1000, threads=2),
    ):
        lo = int(other.ids[0])
        for name in fm.Levels.ARRAYS:
            np.testing.assert_array_equal(
                getattr(other, name), getattr(whole, name)[lo : lo + len(other)], err_msg=name
            )


def test_stratification_unchanged_by_placement() -> None:
    """Colours and counts are drawn per level id whatever the placement: the same factors."""
    base = fm.MazeSpec(
        size=5, exit_color={"green": 0.3, "red": 0.7}, n_decoys={1: 0.5, 2: 0.5},
        decoy_color={"green": 0.5, "blue": 0.5},
    )  # fmt: skip
    a = fm.generate(base, 2000, seed=2)
    b = fm.generate(base.replace(decoy_placement="off_path", false_exits=2), 2000, seed=2)
    np.testing.assert_array_equal(a.n_decoys, b.n_decoys)
    i = np.arange(2000)
    np.testing.assert_array_equal(
        a.color[i, a.exit[:, 0], a.exit[:, 1]], b.color[i, b.exit[:, 0], b.exit[:, 1]]
    )
    for t in range(2):
        used = a.n_decoys > t
        ca = a.color[i, a.decoys[:, t, 0], a.decoys[:, t, 1]][used]
        cb = b.color[i, b.decoys[:, t, 0], b.decoys[:, t, 1]][used]
        np.testing.assert_array_equal(ca, cb)


def test_spec_round_trip_and_old_digests() -> None:
    spec = fm.MazeSpec(size=5, decoy_placement="off_path", branch=2, false_exits=3, n_decoys=1)
    d = spec.to_dict()
    assert (d["decoy_placement"], d["branch"], d["false_exits"]) == ("off_path", 2, 3)
    assert fm.MazeSpec.from_dict(d) == spec
    plain = fm.MazeSpec(size=5).to_dict()
    assert not {"decoy_placement", "branch", "false_exits"} & set(plain)  # old files and
    assert fm.MazeSpec.from_dict(plain) == fm.MazeSpec(size=5)  # digests stay as they were
    assert spec.digest() != spec.replace(false_exits=2).digest()


@pytest.mark.parametrize(
    "fields, match",
    [
        ({"decoy_placement": "near"}, "decoy_placement: unknown"),
        ({"decoy_placement": "off_path", "branch": 0}, "branch: expected a positive"),
        ({"decoy_placement": "off_path", "branch": 1.5}, "branch: expected"),
        ({"branch": 2}, "branch needs decoy_placement='off_path'"),
        ({"false_exits": -1}, "false_exits: expected a non-negative"),
        ({"false_exits": True}, "false_exits: expected"),
        ({"size": 2, "exit_sides": ("top",), "false_exits": 2}, "do not fit"),
        ({"size": 3, "false_exits": 12}, "do not fit"),
        (
            {
                "size": 4,
                "start": "top_right",
                "exit_region": 1,
                "exit_corner": "top_right",
                "decoy_placement": "off_path",
                "branch": 2,
                "n_decoys": 1,
            },
            "one step away",
        ),
        (
            {
                "size": 3,
                "algorithm": "open",
                "start": "top_left",
                "exit_region": 1,
                "exit_corner": "bottom_right",
                "decoy_placement": "off_path",
                "n_decoys": 1,
            },
            "leaves at most 0",
        ),
        (
            {
                "size": (2, 2),
                "start": "top_left",
                "exit_region": 1,
                "exit_corner": "bottom_right",
                "decoy_placement": "off_path",
                "n_decoys": 2,
            },
            "leaves at most 1",
        ),
        ({"size": 2, "decoy_placement": "off_path", "branch": 9, "n_decoys": 1}, "branch: 9"),
        (
            {
                "size": (2, 3),
                "start": "top_left",
                "exit_region": 1,
                "exit_corner": "bottom_right",
                "decoy_placement": "off_path",
                "branch": 5,
                "n_decoys": 1,
            },
            "leaves at most 0",
        ),
    ],
)
def test_impossible_specs_are_refused(fields, match) -> None:
    with pytest.raises(ValueError, match=match):
        fm.MazeSpec(**fields)


def test_attempts_that_run_out_name_the_level() -> None:
    # Possible in principle (a long winding way from corner to corner with room beside it),
    # but rarer than 64 draws can find: the error names the first such level id.
    spec = fm.MazeSpec(
        size=(2, 4), algorithm="prim", start="top_left", exit_region=1,
        exit_corner="bottom_right", decoy_placement="off_path", branch=4, n_decoys=2,
    )  # fmt: skip
    with pytest.raises(RuntimeError, match=r"level 62 could not be placed"):
        fm.generate(spec, 300, seed=0)
    fm.generate(spec, 62, seed=0)  # the levels before it are fine


def test_cuda_generator_refuses_host_only_placement() -> None:
    """Refused before any device is touched (so also without a GPU or simulator)."""
    import fastmaze.cuda
    from fastmaze.cuda.launch import _check

    for spec in (fm.conflict(), fm.MazeSpec(false_exits=1), fm.randomized(0.1, false_exits=1)):
        with pytest.raises(ValueError, match="host core only"):
            fastmaze.cuda.generate(spec, 10)
    assert _check(fm.conflict(decoy_placement="anywhere"), 10, 0, 0) == (10, 0, 0)


def test_false_exits_render_store_and_count(tmp_path) -> None:
    spec = fm.MazeSpec(size=5, false_exits=2, exit_color="green", n_decoys=1, decoy_color="red")
    levels = fm.generate(spec, 400, seed=3)
    text = levels.ascii(0)
    assert sum(line.count("F") for line in text.splitlines()[1:-1]) == 2
    assert "F false exit (sealed)" in text
    path = tmp_path / "levels"
    levels.save(path)
    back = fm.load(path)
    assert back.spec == spec
    for name in fm.Levels.ARRAYS:
        np.testing.assert_array_equal(getattr(back, name), getattr(levels, name))
    stats = levels.stats()
    assert stats.floor_req == 2 * 25 + 2  # a perfect maze's floor plus the two openings
    assert stats.floor <= stats.floor_req  # the sealing walls only take floor away
    assert stats.color("green").exit == 1.0
    assert stats.color("green").given == 1.0  # false openings are uncoloured


@fm.rule
def open_every_inner_wall(grid, color, start, exit, decoys, n_decoys, rng):
    H, W = grid.shape
    for r in range(1, H - 1):
        for c in range(1, W - 1):
            grid[r, c] = 0


def test_rules_keep_false_exits_sealed() -> None:
    from fastmaze import examples as ex
    from fastmaze.rules import INVARIANTS

    spec = fm.MazeSpec(size=5, false_exits=2, rules=(ex.paint_exit_neighbours_blue,))
    levels = fm.generate(spec, 300, seed=1)
    assert_sealed(levels, 2)
    broken = spec.replace(rules=(open_every_inner_wall,))
    with pytest.raises(ValueError, match=INVARIANTS[8].replace("(", r"\(").replace(")", r"\)")):
        fm.generate(broken, 20, seed=1)
    fm.generate(broken.replace(false_exits=0), 20, seed=1)  # one opening: nothing to reach


def test_move_exit_refuses_false_exits() -> None:
    spec = fm.MazeSpec(size=5, false_exits=1, exit_region=2)
    with pytest.raises(ValueError, match="false_exits"):
        fm.move_exit(fm.generate(spec, 10))
