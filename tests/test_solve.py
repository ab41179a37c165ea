"""The compiled oracles against slow references, their properties, determinism, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fastmaze
from fastmaze.levels import Levels
from fastmaze.solve import NO_ACTION, Oracles, shortest_paths, solve
from fastmaze.spec import ALGORITHMS, CORNERS, MazeSpec
from tests import reference

DECOYS_0_TO_3 = {0: 0.25, 1: 0.25, 2: 0.25, 3: 0.25}
SIZES = [(2, 2), (3, 5), (5, 3), (6, 6)]


def decoys_of(levels: Levels, i: int) -> list[tuple[int, int]]:
    return [tuple(d) for d in levels.decoys[i, : levels.n_decoys[i]].tolist()]


def assert_matches_reference(levels: Levels, oracles: Oracles) -> None:
    """Every oracle of every level equals the reference's."""
    D = levels.decoys.shape[1]
    for i in range(len(levels)):
        ref = reference.solve_level(
            levels.grid[i], tuple(levels.start[i]), tuple(levels.exit[i]), decoys_of(levels, i), D
        )
        for name, want in ref.items():
            got = getattr(oracles, name)[i]
            np.testing.assert_array_equal(got, want, err_msg=f"{name} of level {i}")


def hand_made(grid: np.ndarray, start, exit_, decoys=(), max_decoys: int | None = None) -> Levels:
    """A batch of one level with the given board and squares."""
    grid = np.asarray(grid, np.uint8)[None]
    D = len(decoys) if max_decoys is None else max_decoys
    placed = np.full((1, D, 2), -1, np.int32)
    placed[0, : len(decoys)] = np.reshape(decoys, (-1, 2))
    return Levels(
        spec=MazeSpec(),
        seed=0,
        ids=np.zeros(1, np.int64),
        grid=grid,
        color=np.zeros_like(grid),
        start=np.array([start], np.int32),
        exit=np.array([exit_], np.int32),
        decoys=placed,
        n_decoys=np.array([len(decoys)], np.int32),
        component=np.zeros(1, np.uint8),
    )


# -- against the reference ---------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("loops", [0.0, 0.3])
def test_matches_reference(algorithm: str, loops: float) -> None:
    for size in SIZES:
        spec = MazeSpec(size=size, algorithm=algorithm, loops=loops, n_decoys=DECOYS_0_TO_3)
        levels = fastmaze.generate(spec, 12, seed=7, threads=1)
        assert set(levels.n_decoys.tolist()) == {0, 1, 2, 3}
        assert_matches_reference(levels, solve(levels, threads=2))


def test_matches_reference_large_non_square() -> None:
    spec = MazeSpec(size=(24, 17), algorithm="wilson", loops=0.05, n_decoys=3)
    levels = fastmaze.generate(spec, 3, seed=3, threads=1)
    assert_matches_reference(levels, solve(levels))


@st.composite
def specs(draw: st.DrawFn) -> MazeSpec:
    rows, cols = draw(st.integers(2, 9)), draw(st.integers(2, 9))
    most = draw(st.integers(0, min(3, rows * cols - 1)))
    start = draw(st.sampled_from(("random", *CORNERS)))
    return MazeSpec(
        size=(rows, cols),
        algorithm=draw(st.sampled_from(ALGORITHMS)),
        loops=draw(st.sampled_from([0.0, 0.1, 0.5, 1.0])),
        start=start,
        min_distance=draw(st.sampled_from([0, 3])) if start == "random" else 0,
        exit_sides=draw(
            st.sampled_from([("top",), ("left", "bottom"), ("top", "right", "bottom", "left")])
        ),
        n_decoys={k: 1 / (most + 1) for k in range(most + 1)},
    )


@settings(max_examples=25, deadline=None)
@given(spec=specs(), seed=st.integers(0, 2**64 - 1))
def test_random_specs_match_reference(spec: MazeSpec, seed: int) -> None:
    levels = fastmaze.generate(spec, 6, seed=seed, threads=1)
    assert_matches_reference(levels, solve(levels, threads=1))


@st.composite
def boards(draw: st.DrawFn) -> Levels:
    """Arbitrary boards, floor anywhere (borders included), exit and start on any floor."""
    H, W = draw(st.integers(1, 7)), draw(st.integers(1, 7))
    cells = draw(st.lists(st.booleans(), min_size=H * W, max_size=H * W))
    grid = np.array(cells, np.uint8).reshape(H, W)
    floor = reference.floor_squares(grid)
    if not floor:
        grid[0, 0] = 0
        floor = [(0, 0)]
    pick = st.sampled_from(floor)
    decoys = draw(st.lists(pick, max_size=3))
    return hand_made(grid, draw(pick), draw(pick), decoys, max_decoys=3)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(levels=boards())
def test_arbitrary_boards_match_reference(levels: Levels) -> None:
    oracles = solve(levels, threads=1)
    assert_matches_reference(levels, oracles)
    paths, lengths = shortest_paths(levels, threads=1)
    path = reference.canonical_path(levels.grid[0], tuple(levels.start[0]), tuple(levels.exit[0]))
    assert lengths[0] == len(path)
    np.testing.assert_array_equal(paths[0, : len(path)].reshape(-1, 2), np.reshape(path, (-1, 2)))


# -- properties ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mixed() -> Levels:
    spec = MazeSpec(size=(9, 13), algorithm="kruskal", loops=0.2, n_decoys=DECOYS_0_TO_3)
    return fastmaze.generate(spec, 64, seed=11)


def test_following_optimal_actions_reaches_exit_in_path_length(mixed: Levels) -> None:
    oracles = solve(mixed)
    paths, lengths = shortest_paths(mixed)
    assert paths.shape == (len(mixed), lengths.max(), 2)
    for i in range(len(mixed)):
        grid, dist = mixed.grid[i], oracles.dist_to_exit[i]
        square, walked = tuple(mixed.start[i]), [tuple(mixed.start[i])]
        assert oracles.path_length[i] == dist[square] > 0
        while oracles.optimal_action[i][square] != NO_ACTION:
            nxt = reference.move(grid, square, int(oracles.optimal_action[i][square]))
            assert dist[nxt] == dist[square] - 1
            square = nxt
            walked.append(square)
        assert square == tuple(mixed.exit[i])
        assert len(walked) == oracles.path_length[i] + 1 == lengths[i]
        np.testing.assert_array_equal(paths[i, : lengths[i]], walked)
        assert (paths[i, lengths[i] :] == -1).all()


def test_every_set_bit_is_optimal_and_lowest_is_action(mixed: Levels) -> None:
    oracles = solve(mixed)
    dist, bits = oracles.dist_to_exit.astype(np.int64), oracles.optimal_actions
    assert (bits < 16).all()
    assert ((bits == 0) == (oracles.optimal_action == NO_ACTION)).all()
    assert ((dist <= 0) <= (bits == 0)).all()
    assert ((dist > 0) <= (bits != 0)).all(), "generated mazes are connected"
    lowest = oracles.optimal_action[bits != 0]
    assert ((bits[bits != 0] >> lowest) & 1 == 1).all()
    assert ((bits[bits != 0] & ((1 << lowest) - 1)) == 0).all()
    assert (dist[mixed.grid == 1] == -1).all()
    exits = oracles.dist_to_exit[np.arange(len(mixed)), mixed.exit[:, 0], mixed.exit[:, 1]]
    assert (exits == 0).all()


def test_decoy_facts_are_consistent(mixed: Levels) -> None:
    oracles = solve(mixed)
    used = np.arange(mixed.decoys.shape[1]) < mixed.n_decoys[:, None]
    assert (oracles.decoy_distance[used] > 0).all()
    assert (oracles.decoy_to_exit[used] > 0).all()
    assert (oracles.decoy_distance[~used] == -1).all()
    assert (oracles.decoy_to_exit[~used] == -1).all()
    assert (oracles.decision[~used] == -1).all()
    through = oracles.decoy_distance + oracles.decoy_to_exit == oracles.path_length[:, None]
    np.testing.assert_array_equal(oracles.ambiguous, (through & used).any(axis=1))
    assert not oracles.ambiguous[mixed.n_decoys == 0].any()


@pytest.mark.parametrize("algorithm", [a for a in ALGORITHMS if a != "open"])
def test_perfect_mazes_branch_where_the_unique_paths_part(algorithm: str) -> None:
    """In a tree, a decoy is ambiguous iff it lies on the one start→exit path, and the
    decision square is the last square the paths to the exit and to the decoy share."""
    spec = MazeSpec(size=(7, 5), algorithm=algorithm, n_decoys=3)
    levels = fastmaze.generate(spec, 20, seed=5)
    oracles = solve(levels)
    assert oracles.ambiguous.any() and not oracles.ambiguous.all()
    for i in range(len(levels)):
        grid, start = levels.grid[i], tuple(levels.start[i])
        assert reference.is_tree(grid)
        to_exit = reference.unique_path(grid, start, tuple(levels.exit[i]))
        decoys = decoys_of(levels, i)
        assert oracles.ambiguous[i] == any(d in to_exit for d in decoys)
        for t, decoy in enumerate(decoys):
            to_decoy = reference.unique_path(grid, start, decoy)
            shared = [a for a, b in zip(to_exit, to_decoy, strict=False) if a == b]
            assert tuple(oracles.decision[i, t]) == shared[-1]


def test_unreachable_exit_and_decoy() -> None:
    grid = [
        [1, 1, 1, 1, 1],
        [1, 0, 1, 0, 1],
        [1, 0, 1, 0, 0],
        [1, 1, 1, 1, 1],
    ]
    levels = hand_made(grid, start=(1, 1), exit_=(2, 4), decoys=[(2, 1), (1, 3)])
    oracles = solve(levels)
    assert oracles.path_length[0] == -1
    np.testing.assert_array_equal(oracles.decoy_distance[0], [1, -1])
    np.testing.assert_array_equal(oracles.decoy_to_exit[0], [-1, 2])
    np.testing.assert_array_equal(oracles.decision[0], -1)
    assert not oracles.ambiguous[0]
    assert oracles.dist_to_exit[0, 1, 1] == -1 and oracles.dist_to_exit[0, 1, 3] == 2
    assert oracles.optimal_actions[0, 1, 1] == 0 and oracles.optimal_action[0, 1, 1] == NO_ACTION
    assert oracles.optimal_actions[0, 2, 3] == 0b0010
    paths, lengths = shortest_paths(levels)
    assert paths.shape == (1, 0, 2) and lengths.tolist() == [0]


def test_decision_is_start_or_decoy_at_the_extremes() -> None:
    grid = [
        [1, 1, 1, 1, 1],
        [1, 0, 0, 0, 0],
        [1, 0, 1, 1, 1],
        [1, 1, 1, 1, 1],
    ]
    levels = hand_made(grid, start=(1, 1), exit_=(1, 4), decoys=[(2, 1), (1, 3)])
    oracles = solve(levels)
    np.testing.assert_array_equal(oracles.decision[0], [[1, 1], [1, 3]])
    assert oracles.ambiguous[0]
    assert oracles.path_length[0] == 3


def test_empty_batch_and_no_decoys() -> None:
    levels = fastmaze.generate(MazeSpec(size=(4, 3)), 0)
    oracles = solve(levels)
    assert len(oracles) == 0
    assert oracles.dist_to_exit.shape == (0, 9, 7) and oracles.decision.shape == (0, 0, 2)
    paths, lengths = shortest_paths(levels)
    assert paths.shape == (0, 0, 2) and lengths.shape == (0,)
    levels = fastmaze.generate(MazeSpec(size=(4, 3)), 5)
    oracles = solve(levels)
    assert oracles.decoy_distance.shape == (5, 0) and not oracles.ambiguous.any()


# -- determinism and layout -----------------------------------------------------------------------


def test_threads_give_identical_bytes() -> None:
    spec = MazeSpec(size=(12, 20), algorithm="prim", loops=0.1, n_decoys=DECOYS_0_TO_3)
    levels = fastmaze.generate(spec, 301, seed=2)
    one, two = solve(levels, threads=1), solve(levels, threads=2)
    for name in Oracles.__dataclass_fields__:
        a, b = getattr(one, name), getattr(two, name)
        assert a.dtype == b.dtype and a.tobytes() == b.tobytes(), name
    for a, b in zip(
        shortest_paths(levels, threads=1), shortest_paths(levels, threads=2), strict=True
    ):
        assert a.tobytes() == b.tobytes()


def test_sub_batches_and_strided_levels_agree(mixed: Levels) -> None:
    whole = solve(mixed)
    part = solve(mixed[3::5])
    for name in Oracles.__dataclass_fields__:
        np.testing.assert_array_equal(getattr(part, name), getattr(whole, name)[3::5], name)


def test_dtypes_and_shapes(mixed: Levels) -> None:
    o = solve(mixed)
    n, (H, W), D = len(mixed), mixed.shape, mixed.decoys.shape[1]
    expected = {
        "dist_to_exit": (np.int16, (n, H, W)),
        "optimal_actions": (np.uint8, (n, H, W)),
        "optimal_action": (np.uint8, (n, H, W)),
        "path_length": (np.int32, (n,)),
        "decoy_distance": (np.int32, (n, D)),
        "decoy_to_exit": (np.int32, (n, D)),
        "ambiguous": (np.bool_, (n,)),
        "decision": (np.int32, (n, D, 2)),
    }
    assert set(expected) == set(Oracles.__dataclass_fields__)
    for name, (dtype, shape) in expected.items():
        a = getattr(o, name)
        assert a.dtype == dtype and a.shape == shape and a.flags.c_contiguous, name


def test_out_reuses_the_arrays_of_an_earlier_result(mixed: Levels) -> None:
    first, second = mixed[:32], mixed[32:]
    out = solve(first)
    arrays = [getattr(out, name) for name in Oracles.__dataclass_fields__]
    assert solve(second, out=out) is out
    fresh = solve(second)
    for name, array in zip(Oracles.__dataclass_fields__, arrays, strict=True):
        assert getattr(out, name) is array
        np.testing.assert_array_equal(array, getattr(fresh, name), name)


def test_rejects_an_out_that_does_not_fit(mixed: Levels) -> None:
    out = solve(mixed[:10])
    with pytest.raises(ValueError, match="out: expected an Oracles"):
        solve(mixed[:10], out=out.dist_to_exit)
    with pytest.raises(ValueError, match=r"out\.dist_to_exit: .* shape \(11, 19, 27\)"):
        solve(mixed[:11], out=out)
    out.decision.flags.writeable = False
    with pytest.raises(ValueError, match=r"out\.decision: expected a writeable"):
        solve(mixed[:10], out=out)


# -- bad input --------------------------------------------------------------------------------


@pytest.fixture()
def small() -> Levels:
    return fastmaze.generate(MazeSpec(size=(3, 3), n_decoys=2), 4, seed=1)


def test_rejects_what_is_not_levels(small: Levels) -> None:
    with pytest.raises(ValueError, match="expected a fastmaze Levels"):
        solve(small.grid)
    with pytest.raises(ValueError, match="expected a fastmaze Levels"):
        shortest_paths({"grid": small.grid})


@pytest.mark.parametrize("threads", [0, -1, 1.5, True, "2"])
def test_rejects_bad_threads(small: Levels, threads: object) -> None:
    with pytest.raises(ValueError, match="threads"):
        solve(small, threads=threads)


def test_rejects_squares_off_the_board_or_on_walls(small: Levels) -> None:
    start = small.start.copy()
    start[2] = (0, 99)
    with pytest.raises(ValueError, match=r"start of level 2 .* outside"):
        solve(small._with(start=start))
    start[2] = (0, 0)
    with pytest.raises(ValueError, match=r"start of level 2 .* wall"):
        solve(small._with(start=start))
    exit_ = small.exit.copy()
    exit_[1] = (-1, 3)
    with pytest.raises(ValueError, match=r"exit of level 1 .* outside"):
        shortest_paths(small._with(exit=exit_))
    decoys = small.decoys.copy()
    decoys[3, 1] = (2, 2)
    with pytest.raises(ValueError, match=r"decoy of level 3 .* wall"):
        solve(small._with(decoys=decoys))


def test_ignores_decoy_padding(small: Levels) -> None:
    """Entries past n_decoys are padding, whatever they hold."""
    decoys = small.decoys.copy()
    n_decoys = np.array([2, 1, 0, 2], np.int32)
    decoys[1, 1] = decoys[2] = (0, 0)
    o = solve(small._with(decoys=decoys, n_decoys=n_decoys))
    used = np.arange(2) < n_decoys[:, None]
    assert (o.decoy_distance[~used] == -1).all() and (o.decision[~used] == -1).all()
    np.testing.assert_array_equal(o.decoy_distance[used], solve(small).decoy_distance[used])


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("grid", np.zeros((4, 7)), "grid"),
        ("grid", np.zeros((4, 7, 7), np.float32), "grid"),
        ("start", np.zeros((3, 2), np.int32), "start"),
        ("exit", np.zeros((4, 3), np.int32), "exit"),
        ("decoys", np.zeros((4, 2), np.int32), "decoys"),
        ("n_decoys", np.array([0, 1, 3, 0], np.int32), "n_decoys"),
        ("n_decoys", np.array([0, -1, 0, 0], np.int32), "n_decoys"),
        ("start", np.full((4, 2), 2**40), "start"),
    ],
)
def test_rejects_malformed_arrays(small: Levels, field: str, value: np.ndarray, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        solve(small._with(**{field: value}))


def test_rejects_distances_past_int16() -> None:
    W = 40_001
    grid = np.ones((3, W), np.uint8)
    grid[1, 1:-1] = 0
    levels = hand_made(grid, start=(1, W - 2), exit_=(1, 1))
    with pytest.raises(ValueError, match="int16"):
        solve(levels)
    short = hand_made(grid[:, :30_000], start=(1, 29_998), exit_=(1, 1))
    assert solve(short).path_length[0] == 29_997


@pytest.mark.parametrize(("length", "fits"), [(32_767, True), (32_768, False)])
def test_distance_limit_is_exactly_int16_max(length: int, fits: bool) -> None:
    """A 1-square-high corridor: the exit is ``length`` steps from the start. 32,767 steps
    fit the int16 oracles (it was once reported as exceeding them); 32,768 do not."""
    corridor = hand_made(np.zeros((1, length + 1)), (0, 0), (0, length))
    if fits:
        oracles = solve(corridor, threads=1)
        assert oracles.path_length[0] == length
        assert oracles.dist_to_exit[0, 0, 0] == length
        assert oracles.dist_to_exit[0, 0, length] == 0
    else:
        with pytest.raises(ValueError, match="exceeds 32767"):
            solve(corridor, threads=1)
