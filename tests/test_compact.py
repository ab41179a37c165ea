"""obs="compact": the agent squares plus the level table, rebuilt by
`fastmaze.train.compact.CompactBoards`, equal obs="symbolic" bit for bit."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

import fastmaze
from fastmaze.env import AUTORESET_MODES, VecMazeEnv

torch = pytest.importorskip("torch")
from fastmaze.train.compact import CompactBoards  # noqa: E402


def _env_tests():
    """tests/test_env.py, whose specs and rules these tests reuse (imported by path)."""
    path = Path(__file__).with_name("test_env.py")
    spec = importlib.util.spec_from_file_location("_env_tests", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_env = _env_tests()
RULES, SPEC = _env.RULES, _env.SPEC

SPECS = [SPEC, fastmaze.MazeSpec(size=(6, 6)), fastmaze.correlated(0.9)]


def _pair(spec, n, mode, rules, threads=2):
    kwargs = dict(seed=5, autoreset_mode=mode, num_threads=threads, **rules)
    return (
        VecMazeEnv(spec, n, obs="symbolic", **kwargs),
        VecMazeEnv(spec, n, obs="compact", **kwargs),
    )


@pytest.mark.parametrize("mode", AUTORESET_MODES)
@pytest.mark.parametrize("rules", RULES, ids=range(len(RULES)))
@pytest.mark.parametrize("spec", SPECS, ids=range(len(SPECS)))
def test_rebuilt_compact_equals_symbolic(spec, rules, mode) -> None:
    n = 6
    sym, com = _pair(spec, n, mode, rules)
    boards = CompactBoards(com)
    o1, _ = sym.reset()
    o2, _ = com.reset()
    assert o2.dtype == np.int16 and o2.shape == (n, 2)
    boards.sync(com)
    rebuilt = boards(torch.from_numpy(o2))
    assert rebuilt.is_contiguous() and rebuilt.dtype == torch.uint8
    assert np.array_equal(rebuilt.numpy(), o1)
    rng = np.random.default_rng(1)
    ended = 0
    for t in range(150):
        a = rng.integers(0, 4, n)
        o1, r1, te1, tr1, i1 = sym.step(a)
        o2, r2, te2, tr2, i2 = com.step(a)
        boards.sync(com)
        assert np.array_equal(boards(torch.from_numpy(o2)).numpy(), o1), t
        assert np.array_equal(r1, r2) and np.array_equal(te1, te2) and np.array_equal(tr1, tr2)
        for key in i1.keys() - {"final_obs", "final_info"}:
            assert np.array_equal(i1[key], i2[key]), (t, key)
        done = te1 | tr1
        ended += int(done.sum())
        if mode == "same_step":
            boards.sync_final(com, i2["_final_obs"])
            final = boards(torch.from_numpy(i2["final_obs"]), boards.final_table).numpy()
            assert np.array_equal(final[done], i1["final_obs"][done]), t
        if mode == "disabled" and done.any():
            o1, _ = sym.reset(options={"reset_mask": done.copy()})
            o2, _ = com.reset(options={"reset_mask": done.copy()})
            boards.sync(com)
            assert np.array_equal(boards(torch.from_numpy(o2)).numpy(), o1), t
    assert ended > n  # auto-resets were exercised


def test_parallel_step_and_missed_syncs() -> None:
    """A batch stepped by a team of threads; a decoder that skipped calls re-uploads all."""
    sym, com = _pair(SPEC, 3000, "next_step", {"max_steps": 6})
    boards = CompactBoards(com)
    sym.reset()
    com.reset()
    rng = np.random.default_rng(2)
    for t in range(14):
        a = rng.integers(0, 4, 3000)
        o1 = sym.step(a)[0]
        o2 = com.step(a)[0]
        if t % 3 == 0:
            continue  # calls whose table rows the decoder never saw
        boards.sync(com)
        assert np.array_equal(boards(torch.from_numpy(o2)).numpy(), o1), t


def test_compact_spaces_hold_the_observations() -> None:
    pytest.importorskip("gymnasium")
    env = VecMazeEnv(SPEC, 3, obs="compact")
    obs, _ = env.reset()
    assert env.single_observation_space.dtype == np.int16
    assert env.observation_space.contains(obs)
    assert env.observation_space.contains(env.step(np.array([0, 1, 2]))[0])


def test_compact_refusals() -> None:
    with pytest.raises(ValueError, match="obs='compact'"):
        CompactBoards(VecMazeEnv(SPEC, 2))
    pytest.importorskip("fastmaze.torch_env")
    with pytest.raises(ValueError, match="compact"):
        fastmaze.make_vec(SPEC, 2, obs="compact", backend="torch", device="cpu")
