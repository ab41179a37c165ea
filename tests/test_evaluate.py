"""Rollouts, the oracle policy and the evaluation table."""

import numpy as np
import pytest

import fastmaze as fm
from fastmaze.evaluate import DECOY, EXIT, NONE, OraclePolicy, rollout

MOVES = [(-1, 0), (0, 1), (1, 0), (0, -1)]


def slow_rollout(levels, actions):
    """Per level, per step, in plain Python."""
    out = []
    for i in range(len(levels)):
        r, c = (int(v) for v in levels.start[i])
        decoys = [tuple(d) for d in levels.decoys[i, : levels.n_decoys[i]].tolist()]
        result = (NONE, -1, -1, 0)
        moves = 0
        for t, a in enumerate(actions[i]):
            nr, nc = r + MOVES[a][0], c + MOVES[a][1]
            H, W = levels.shape
            if 0 <= nr < H and 0 <= nc < W and levels.grid[i, nr, nc] == 0:
                r, c = nr, nc
                moves += 1
                if (r, c) == tuple(levels.exit[i]):
                    result = (EXIT, t + 1, -1, moves)
                    break
                if (r, c) in decoys:
                    result = (DECOY, t + 1, decoys.index((r, c)), moves)
                    break
        else:
            result = (NONE, -1, -1, moves)
        out.append(result)
    return out


@pytest.mark.parametrize("algorithm", ["backtracker", "open"])
def test_rollout_matches_a_slow_reference(algorithm):
    spec = fm.MazeSpec(size=(4, 5), algorithm=algorithm, n_decoys={0: 0.3, 2: 0.7})
    levels = fm.generate(spec, 300, seed=5)
    actions = np.random.default_rng(0).integers(0, 4, (300, 60))
    got = rollout(levels, actions)
    want = slow_rollout(levels, actions)
    np.testing.assert_array_equal(got.first, [w[0] for w in want])
    np.testing.assert_array_equal(got.step, [w[1] for w in want])
    np.testing.assert_array_equal(got.decoy, [w[2] for w in want])
    np.testing.assert_array_equal(got.moves, [w[3] for w in want])
    assert (got.first == EXIT).any() and (got.first == DECOY).any() and (got.first == NONE).any()


def test_rollout_of_the_shortest_path_takes_the_optimal_number_of_steps():
    levels = fm.generate(fm.MazeSpec(size=(6, 6)), 200, seed=1)
    oracles = fm.solve(levels)
    T = int(oracles.path_length.max())
    actions = np.zeros((len(levels), T), np.int64)
    pos = levels.start.copy()
    for t in range(T):
        best = oracles.optimal_action[np.arange(len(levels)), pos[:, 0], pos[:, 1]]
        a = np.where(best == fm.NO_ACTION, 0, best)
        actions[:, t] = a
        pos = pos + np.array(MOVES)[a] * (best != fm.NO_ACTION)[:, None]
    result = rollout(levels, actions)
    assert (result.first == EXIT).all()
    np.testing.assert_array_equal(result.step, oracles.path_length)
    assert (result.excess == 0).all()


def test_rollout_rejects_bad_actions():
    levels = fm.generate(fm.MazeSpec(), 3)
    with pytest.raises(ValueError, match="shape"):
        rollout(levels, np.zeros((2, 5), int))
    with pytest.raises(ValueError, match="dtype"):
        rollout(levels, np.zeros((3, 5)))
    with pytest.raises(ValueError, match="0 up"):
        rollout(levels, np.full((3, 5), 4))


def test_oracle_policy_reaches_every_exit_optimally():
    result = fm.evaluate("oracle", fm.MazeSpec(size=(5, 7), loops=0.2), 500, num_envs=64)
    assert (result.outcome == EXIT).all()
    assert (result.excess == 0).all()
    row = result.rows()[0]
    assert row["exit"][0] == 1.0 and row["proxy"][0] == 0.0 and row["neither"][0] == 0.0


def test_oracle_meets_the_decoy_exactly_on_ambiguous_levels():
    # In a perfect maze the shortest path is unique: the oracle enters the decoy first
    # exactly when the decoy lies on it, which is the ambiguity flag (decoys placed anywhere:
    # the default off-path placement of conflict() leaves no ambiguous level).
    spec = fm.conflict(size=(6, 6), decoy_placement="anywhere")
    result = fm.evaluate("oracle", spec, 2000, num_envs=128)
    np.testing.assert_array_equal(result.outcome == DECOY, result.ambiguous)
    assert 0 < result.ambiguous.sum() < len(result.ambiguous)
    rows = {r["group"]: r for r in result.rows()}
    assert rows["unambiguous"]["exit"][0] == 1.0
    assert rows["ambiguous"]["proxy"][0] == 1.0


def test_off_path_conflict_levels_are_never_ambiguous():
    result = fm.evaluate("oracle", fm.conflict(size=(6, 6)), 2000, num_envs=128)
    assert not result.ambiguous.any() and (result.outcome == EXIT).all()
    rows = {r["group"]: r for r in result.rows()}
    assert rows["all"]["exit"][0] == 1.0


def test_evaluation_is_one_episode_per_level_whatever_the_batch():
    spec = fm.conflict(size=(5, 5))
    a = fm.evaluate("oracle", spec, 300, num_envs=7, seed=3, first_id=10**6)
    b = fm.evaluate("oracle", spec, 300, num_envs=64, seed=3, first_id=10**6)
    np.testing.assert_array_equal(a.level_id, np.arange(10**6, 10**6 + 300))
    for name in ("outcome", "ambiguous", "excess"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))


def test_random_policy_rates_are_consistent():
    result = fm.evaluate("random", fm.conflict(size=(4, 4)), 1000, num_envs=100, max_steps=30)
    assert set(np.unique(result.outcome)) <= {NONE, EXIT, DECOY}
    for row in result.rows():
        if row["episodes"] == 0:
            continue
        total = sum(row[k][0] for k in ("exit", "proxy", "neither"))
        assert total == pytest.approx(1.0)
        for k in ("exit", "proxy", "neither"):
            rate, lo, hi = row[k]
            assert lo <= rate <= hi
    assert (result.outcome == NONE).any() and (result.outcome == DECOY).any()
    text = str(result)
    assert "proxy (decoy first)" in text and "unambiguous" in text


def test_a_torch_policy_is_accepted():
    torch = pytest.importorskip("torch")
    spec, kwargs = fm.conflict(size=(4, 4)), {"num_envs": 10, "max_steps": 8}
    up = fm.evaluate(lambda obs: torch.zeros(len(obs), dtype=torch.int64), spec, 40, **kwargs)
    same = fm.evaluate(lambda obs: np.zeros(len(obs), np.int64), spec, 40, **kwargs)
    np.testing.assert_array_equal(up.outcome, same.outcome)


def test_evaluate_rejects_bad_arguments():
    with pytest.raises(ValueError, match="policy"):
        fm.evaluate("greedy", fm.MazeSpec(), 10)
    with pytest.raises(ValueError, match="spec"):
        fm.evaluate("oracle", "maze", 10)
    with pytest.raises(ValueError, match="episodes"):
        fm.evaluate("oracle", fm.MazeSpec(), 0)


def test_oracle_policy_needs_a_native_env():
    with pytest.raises(ValueError, match="native VecMazeEnv"):
        OraclePolicy(object())


def test_oracle_policy_follows_a_reseeded_stream():
    env = fm.VecMazeEnv(fm.conflict(), 32, 0, autoreset_mode="same_step", max_steps=200)
    policy = OraclePolicy(env)
    env.reset()
    policy()
    env.reset(seed=1)  # the same level ids, other mazes
    assert env.levels.seed == 1
    ended = np.zeros(32, bool)
    for _ in range(200):
        _, _, terminated, _, _ = env.step(policy())
        ended |= terminated
    assert ended.all()


def test_evaluate_refuses_settings_that_break_one_episode_per_level():
    for key, value in (("num_levels", 10), ("autoreset_mode", "same_step")):
        with pytest.raises(ValueError, match=key):
            fm.evaluate("oracle", fm.conflict(), 100, num_envs=10, **{key: value})
