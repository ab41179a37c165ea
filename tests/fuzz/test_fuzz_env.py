"""The two step backends over random specs, settings and action streams: byte-equal
observations and exact rewards, flags and info at every step; and actions of every dtype
and shape refused with a ValueError (or accepted, when they are valid) by both."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import fastmaze as fm
from fastmaze.env import INFO_KEYS
from tests.fuzz.scale import fuzz
from tests.test_generate import specs

torch = pytest.importorskip("torch")


def _same(ours: np.ndarray, theirs, where: str) -> None:
    mine = theirs.cpu().numpy()
    assert mine.dtype == ours.dtype and mine.shape == ours.shape, where
    assert mine.tobytes() == ours.tobytes(), where


SETTINGS = st.fixed_dictionaries(
    {
        "obs": st.sampled_from(["symbolic", "rgb", "egocentric"]),
        "autoreset_mode": st.sampled_from(["next_step", "same_step"]),
        "max_steps": st.integers(1, 40),
        "terminate_on_decoy": st.booleans(),
        "reveal_exit": st.booleans(),
        "hide_colors": st.booleans(),
        "step_penalty": st.sampled_from([0.0, 0.01, 0.125]),
        "pixels": st.integers(1, 3),
        "radius": st.integers(0, 4),
        "num_levels": st.one_of(st.none(), st.integers(1, 7)),
    }
)


@fuzz(12)
@given(
    spec=specs().filter(lambda s: s.rows * s.cols <= 100),
    settings=SETTINGS,
    seed=st.integers(0, 2**64 - 1),
    n=st.integers(1, 6),
    data=st.data(),
)
def test_native_and_torch_backends_agree(spec, settings, seed, n, data) -> None:
    proxy = {c: 0.5 for c in spec.palette[:2]}
    native = fm.VecMazeEnv(spec, n, seed, num_threads=1, proxy_reward=proxy, **settings)
    pool = {} if settings["num_levels"] else {"pool_size": 2 * n + 3, "block_size": n + 1}
    other = fm.make_vec(spec, n, seed, backend="torch", device="cpu", proxy_reward=proxy,
                          **pool, **settings)  # fmt: skip
    o1, i1 = native.reset()
    o2, i2 = other.reset()
    _same(o1, o2, "reset")
    steps = data.draw(st.integers(1, 60), label="steps")
    actions = data.draw(hnp.arrays(np.int64, (steps, n), elements=st.integers(0, 3)))
    for t, a in enumerate(actions):
        o1, r1, te1, tr1, i1 = native.step(a)
        o2, r2, te2, tr2, i2 = other.step(torch.as_tensor(a))
        for name, x, y in (("obs", o1, o2), ("reward", r1, r2), ("term", te1, te2),
                           ("trunc", tr1, tr2)):  # fmt: skip
            _same(x, y, f"step {t} {name}")
        for key in INFO_KEYS:
            _same(i1[key], i2[key], f"step {t} info[{key!r}]")
    assert native.next_id == other.next_id
    other.check()


BAD_DTYPES = [np.float32, np.float64, np.bool_, np.complex64, np.str_, np.object_, "V8", "M8[s]"]
INT_DTYPES = [np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32, np.int64, np.uint64]


@fuzz(30)
@given(
    dtype=st.sampled_from(INT_DTYPES + BAD_DTYPES),
    shape=st.one_of(st.just((3,)), hnp.array_shapes(min_dims=0, max_dims=3, max_side=4)),
    data=st.data(),
)
def test_bad_actions_of_every_dtype_and_shape(dtype, shape, data) -> None:
    env = fm.VecMazeEnv(fm.MazeSpec(size=3), 3, num_threads=1)
    env.reset()
    dtype = np.dtype(dtype)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        elements = st.one_of(st.integers(0, 3), st.integers(int(info.min), int(info.max)))
        actions = data.draw(hnp.arrays(dtype, shape, elements=elements))
    else:
        actions = np.zeros(shape, dtype)
    valid = dtype.kind in "iu" and shape == (3,) and bool(((actions >= 0) & (actions <= 3)).all())
    before = env.agent.copy()
    if valid:
        env.step(actions)
        return
    with pytest.raises(ValueError, match="actions"):
        env.step(actions)
    np.testing.assert_array_equal(env.agent, before)  # a refused step changes nothing
    if dtype.kind not in "biufc" or dtype in (np.uint16, np.uint32, np.uint64):
        return  # no torch tensor of this dtype
    # debug=True: the torch backend checks action values at every step (a sync), as native.
    torch_env = fm.make_vec(fm.MazeSpec(size=3), 3, backend="torch", device="cpu", debug=True)
    torch_env.reset()
    with pytest.raises(ValueError, match="actions"):
        torch_env.step(torch.as_tensor(actions))
