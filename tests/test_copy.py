"""Output buffers: ``copy=True`` (the default) hands out fresh arrays the caller keeps;
``copy=False`` hands out the env's own buffers, overwritten by the next call."""

from __future__ import annotations

import numpy as np
import pytest

import fastmaze as fm
from fastmaze.env import INFO_KEYS, VecMazeEnv
from fastmaze.make import MazeEnv

SPEC = fm.MazeSpec(size=(3, 3), n_decoys=1)
N = 6


def _play(env, steps, seed=0):
    """Every (obs, reward, terminated, truncated, info) of a reset and ``steps`` steps."""
    rng = np.random.default_rng(seed)
    kept = [env.reset(seed=0)]
    for _ in range(steps):
        kept.append(env.step(rng.integers(0, 4, env.num_envs)))
    return kept


def _snapshot(out):
    """A deep copy of one call's outputs (numpy arrays, or dicts of them)."""
    if isinstance(out, dict):
        return {k: _snapshot(v) for k, v in out.items()}
    if isinstance(out, tuple):
        return tuple(_snapshot(v) for v in out)
    return np.array(out, copy=True)


def _equal(a, b):
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for k in a:
            _equal(a[k], b[k])
    elif isinstance(a, tuple):
        for x, y in zip(a, b, strict=True):
            _equal(x, y)
    else:
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("mode", ["next_step", "same_step"])
def test_kept_outputs_never_change_under_copy_true(mode):
    env = VecMazeEnv(SPEC, N, seed=0, autoreset_mode=mode, max_steps=5)
    assert env.copy is True  # the default
    kept, snapshots = [], []
    rng = np.random.default_rng(1)
    out = env.reset(seed=0)
    for _ in range(30):  # several auto-resets at max_steps=5
        kept.append(out)
        snapshots.append(_snapshot(out))
        out = env.step(rng.integers(0, 4, N))
    for got, want in zip(kept, snapshots, strict=True):
        _equal(got, want)  # nothing handed out was overwritten later
    assert not np.shares_memory(kept[-1][0], env.obs)
    assert kept[-1][0] is not kept[-2][0]


def test_copy_true_and_false_give_the_same_values():
    safe = _play(VecMazeEnv(SPEC, N, max_steps=5, autoreset_mode="same_step"), 20)
    fast_env = VecMazeEnv(SPEC, N, max_steps=5, autoreset_mode="same_step", copy=False)
    rng = np.random.default_rng(0)
    fast = [_snapshot(fast_env.reset(seed=0))]
    for _ in range(20):
        fast.append(_snapshot(fast_env.step(rng.integers(0, 4, N))))
    for a, b in zip(safe, fast, strict=True):
        _equal(a, b)


def test_copy_false_aliases_the_env_buffers():
    env = VecMazeEnv(SPEC, N, seed=0, copy=False, autoreset_mode="same_step")
    obs0, _ = env.reset()
    assert obs0 is env.obs
    before = obs0.copy()
    obs1, reward1, term1, trunc1, info1 = env.step(np.ones(N, np.int64))
    obs2, reward2, term2, trunc2, info2 = env.step(np.full(N, 2, np.int64))
    # the same buffers every call: what was kept shows the latest step
    assert obs1 is obs2 is obs0 and reward1 is reward2 and term1 is term2 and trunc1 is trunc2
    for key in INFO_KEYS:
        assert info1[key] is info2[key]
    assert info1["final_obs"] is info2["final_obs"]
    assert not np.array_equal(obs0, before)  # the agent moved: the kept array changed


def test_maze_env_copy():
    env = MazeEnv(SPEC)
    obs0, _ = env.reset(seed=0)
    kept = obs0.copy()
    env.step(1)
    env.step(2)
    np.testing.assert_array_equal(obs0, kept)
    fast = MazeEnv(SPEC, copy=False)
    a, _ = fast.reset(seed=0)
    b, *_ = fast.step(1)
    assert np.shares_memory(a, b)


def test_copy_must_be_a_flag():
    with pytest.raises(ValueError, match="copy: expected True or False"):
        VecMazeEnv(SPEC, 2, copy="yes")


def test_torch_backend_outputs_are_fresh_under_both_settings():
    torch = pytest.importorskip("torch")
    from fastmaze.torch_env import TorchVecMazeEnv

    for copy in (True, False):
        env = TorchVecMazeEnv(SPEC, N, device="cpu", max_steps=5, copy=copy)
        assert env.copy is copy
        kept, snapshots = [], []
        env.reset(seed=0)
        for _ in range(12):
            out = env.step(torch.randint(0, 4, (N,)))
            kept.append(out)
            snapshots.append([t.clone() for t in out[:4]])
        for got, want in zip(kept, snapshots, strict=True):
            for a, b in zip(got[:4], want, strict=True):
                assert torch.equal(a, b)
        assert kept[-1][0].data_ptr() != kept[-2][0].data_ptr()
