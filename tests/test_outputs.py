"""copy=True: what a step or reset returns is the caller's and never changes afterwards,
whatever the caller keeps (`fastmaze.outputs.OutputRing`); copy=False returns the env's own
buffers and one info dict."""

from __future__ import annotations

import copy

import numpy as np
import pytest

import fastmaze
import fastmaze.examples
from fastmaze.env import AUTORESET_MODES, VecMazeEnv
from fastmaze.outputs import OutputRing

SPEC = fastmaze.MazeSpec(size=(4, 4), loops=0.3, n_decoys=1, n_distractors=1)


def _snapshot(out):
    return copy.deepcopy(out)


def _assert_same(a, b, where) -> None:
    if isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            _assert_same(a[k], b[k], (where, k))
    elif isinstance(a, tuple):
        for k, (x, y) in enumerate(zip(a, b, strict=True)):
            _assert_same(x, y, (where, k))
    else:
        assert a.dtype == b.dtype and np.array_equal(a, b), where


# (obs, n, user rules): a serial and a threaded step for every kind; with user rules (new
# levels made in Python after the step) the copy follows the step, for any kind or size.
CASES = [(obs, n, False) for obs in ("symbolic", "rgb", "egocentric", "compact") for n in (3, 2600)]
CASES += [("symbolic", 3, True), ("egocentric", 3, True)]


@pytest.mark.parametrize("mode", ["next_step", "same_step"])
@pytest.mark.parametrize(("obs", "n", "rules"), CASES)
def test_kept_outputs_never_change(obs, n, rules, mode) -> None:
    """Keeping every output, some of them only through a view, an info dict or one array of
    it: none of them changes, and each equals what a copy=False env returns. Without user
    rules the step copies its outputs inside its own parallel region."""
    spec = SPEC.replace(rules=(fastmaze.examples.paint_exit_neighbours_blue,)) if rules else SPEC
    env = VecMazeEnv(spec, n, obs=obs, autoreset_mode=mode, copy=True, max_steps=5)
    plain = VecMazeEnv(spec, n, obs=obs, autoreset_mode=mode, copy=False, max_steps=5)
    rng = np.random.default_rng(0)
    kept = [(env.reset(), _snapshot(plain.reset()))]
    views, arrays = [], []
    for t in range(12):
        a = rng.integers(0, 4, n)
        out, ref = env.step(a), _snapshot(plain.step(a))
        _assert_same(out, ref, ("fresh", t))
        if t % 4 == 0:
            kept.append((out, ref))  # everything
        elif t % 4 == 1:
            views.append((out[0][1:], ref[0][1:]))  # a view of the observations only
        elif t % 4 == 2:
            arrays.append((out[4]["episode_length"], ref[4]["episode_length"]))
        del out
    for k, (out, ref) in enumerate(kept + views + arrays):
        _assert_same(out, ref, ("kept", k))


def test_ring_reuses_what_nobody_holds() -> None:
    src = [np.arange(12, dtype=np.int32).reshape(6, 2), np.ones(6, np.bool_)]
    ring = OutputRing(src, threads=2)
    first = [id(a) for a in ring.slots[0]]
    ring.take(2)  # dropped at once
    ring.take(2)
    again = ring.take(2)
    assert [id(a) for a in again] == first  # slot 0 again, nothing allocated
    src[0] += 1
    kept = ring.take(2)  # slot 1, while slot 0's arrays are held as `again`
    ring.take(2)  # slot 0 is held: replaced, `again` untouched
    assert np.array_equal(again[0], np.arange(12).reshape(6, 2))
    assert np.array_equal(kept[0], src[0])
    with pytest.raises(ValueError, match="depth"):
        OutputRing(src, threads=1, depth=1)


@pytest.mark.parametrize("mode", AUTORESET_MODES)
def test_copy_false_returns_the_env_buffers(mode) -> None:
    env = VecMazeEnv(SPEC, 4, autoreset_mode=mode, copy=False, max_steps=100)
    assert env.reset()[0] is env.obs
    first = env.step(np.zeros(4, np.int64))
    env.reset(options={"reset_mask": np.ones(4, np.bool_)})  # disabled: whether or not ended
    second = env.step(np.zeros(4, np.int64))
    assert all(a is b for a, b in zip(first, second, strict=True))  # one info dict too
    assert second[4]["level_id"] is env.levels.ids
