"""The torch backend against the native one: same seed and actions, byte-equal observations,
exact rewards, flags and info, in every autoreset mode; level pool refills; num_levels;
validation of inputs."""

from __future__ import annotations

import subprocess
import sys
import warnings
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

import fastmaze
from fastmaze.env import INFO_KEYS, VecMazeEnv

torch = pytest.importorskip("torch")
gym = pytest.importorskip("gymnasium")

from fastmaze.torch_env import TorchVecMazeEnv  # noqa: E402
from fastmaze.torch_env.producers import (  # noqa: E402
    DeviceLevels,
    HostLevels,
    choose_level_source,
)

SPEC = fastmaze.MazeSpec(
    size=(4, 4),
    loops=0.3,
    exit_color={"green": 0.5, None: 0.5},
    n_decoys={1: 0.5, 2: 0.5},
    decoy_color={"green": 0.6, "red": 0.4},
    n_distractors=2,
    distractor_color={"green": 0.5, "blue": 0.5},
    palette=("red", "green", "blue"),
)
RULES = [
    {"max_steps": 30},
    {"proxy_reward": {"green": 0.5, "red": -0.25}, "step_penalty": 0.01, "max_steps": 40},
    {"terminate_on_decoy": True, "max_steps": 12, "reveal_exit": True},
    {"hide_colors": True, "proxy_reward": {"blue": 2.0}, "step_penalty": 0.125, "max_steps": 9},
]
MODES = ["next_step", "same_step", "disabled"]
OBS = {"symbolic": {}, "rgb": {"pixels": 3}, "egocentric": {"radius": 2}}
CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA is not available")
DEVICES = ["cpu", pytest.param("cuda", marks=CUDA)]


def _np(t: torch.Tensor) -> np.ndarray:
    return t.cpu().numpy()


def _same(ours: np.ndarray, theirs: torch.Tensor, where: str) -> None:
    mine = _np(theirs)
    assert mine.dtype == ours.dtype, (where, mine.dtype, ours.dtype)
    assert mine.shape == ours.shape and mine.tobytes() == ours.tobytes(), where


def _compare(
    device: str,
    mode: str,
    rules: dict,
    steps: int = 150,
    n: int = 5,
    pool_size: int = 9,
    block_size: int = 4,
    min_lag: int = 0,
    producer: Any = None,
    spec: Any = SPEC,
    level_source: str = "auto",
    **kwargs,
) -> tuple[int, TorchVecMazeEnv]:
    """Steps both backends with the same random actions; returns (episodes ended, env).
    ``producer(env)``: a pool producer replacing the env's (the stream then restarts)."""
    args = {**rules, **kwargs, "autoreset_mode": mode}
    native = VecMazeEnv(spec, n, seed=3, num_threads=1, **args)
    env = fastmaze.make_vec(
        spec, n, 3, backend="torch", device=device, pool_size=pool_size,
        block_size=block_size, level_source=level_source, **args,
    )  # fmt: skip
    assert isinstance(env, TorchVecMazeEnv)
    if producer is not None:
        env._host = producer(env)
        env._restart()
    env._min_lag = min_lag
    o1, i1 = native.reset()
    o2, i2 = env.reset()
    _same(o1, o2, "reset")
    for key in INFO_KEYS:
        _same(i1[key], i2[key], f"reset info[{key!r}]")
    rng = np.random.default_rng(7)
    ended = 0
    for t in range(steps):
        actions = rng.integers(0, 4, n)
        o1, r1, te1, tr1, i1 = native.step(actions)
        o2, r2, te2, tr2, i2 = env.step(torch.as_tensor(actions, device=env.device))
        where = f"{device}/{mode}/{rules} step {t}"
        _same(o1, o2, where + " obs")
        _same(r1, r2, where + " reward")
        _same(te1, te2, where + " terminated")
        _same(tr1, tr2, where + " truncated")
        for key in INFO_KEYS:
            _same(i1[key], i2[key], f"{where} info[{key!r}]")
        done = te1 | tr1
        ended += int(done.sum())
        if mode == "same_step":
            _same(i1["_final_obs"].view(bool), i2["_final_obs"], where + " _final_obs")
            _same(i1["_final_info"].view(bool), i2["_final_info"], where + " _final_info")
            for e in np.flatnonzero(done):
                _same(i1["final_obs"][e], i2["final_obs"][e], where + " final_obs")
                for key in INFO_KEYS:
                    _same(i1["final_info"][key][e], i2["final_info"][key][e], where + key)
        if mode == "disabled" and done.any():
            o1, i1 = native.reset(options={"reset_mask": done.copy()})
            mask = torch.as_tensor(done, device=env.device)
            o2, i2 = env.reset(options={"reset_mask": mask})
            _same(o1, o2, where + " reset obs")
            for key in INFO_KEYS:
                _same(i1[key], i2[key], f"{where} reset info[{key!r}]")
    assert env.next_id == native.next_id
    env.check()  # no invalid action, no ended env stepped
    env.close()
    return ended, env


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("obs", OBS)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("rules", range(len(RULES)))
def test_matches_native(device: str, obs: str, mode: str, rules: int) -> None:
    ended, env = _compare(device, mode, RULES[rules], obs=obs, **OBS[obs])
    assert ended > 10  # resets were exercised
    assert env._filled >= 3 * env.pool_size  # the ring was refilled several times


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("obs", OBS)
def test_false_exits_and_off_path_decoys_match_native(device: str, obs: str) -> None:
    spec = SPEC.replace(false_exits=3, decoy_placement="off_path", branch=2)
    ended, _ = _compare(device, "same_step", RULES[2], spec=spec, obs=obs, **OBS[obs])
    assert ended > 10


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize(
    ("obs", "params"),
    [
        ("rgb", {"pixels": 1}),  # no room for an inset: the agent fills its square
        ("rgb", {"pixels": 2}),
        ("rgb", {"pixels": 5, "hide_colors": True}),
        ("rgb", {"pixels": 8}),  # the default
        ("egocentric", {"radius": 0}),  # one square
        ("egocentric", {"radius": 1, "hide_colors": True}),
        ("egocentric", {"radius": 6, "reveal_exit": True}),  # wider than the 9 x 9 board
    ],
)
def test_obs_params_match_native(device: str, obs: str, params: dict) -> None:
    """Pixels per square, the agent's inset, radius (the window past the board is wall),
    hide_colors and reveal_exit, byte for byte."""
    rules = {"max_steps": 20, "proxy_reward": {"green": 1.0}}
    ended, env = _compare(device, "same_step", rules, steps=60, obs=obs, **params)
    assert ended > 5
    assert env.obs.shape == (5, *env.single_obs_shape)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("mode", ["next_step", "same_step"])
def test_lagging_counter_forces_sync_refills(device: str, mode: str) -> None:
    """When the host sees the device's reset counter only several calls late, its upper
    bound outruns a small pool: it must read the counter synchronously, never play a
    level that was not uploaded, and never overwrite one not yet played."""
    ended, env = _compare(device, mode, RULES[2], n=6, pool_size=10, block_size=3, min_lag=4)
    assert ended > 10
    assert env.sync_refills > 0


@pytest.mark.parametrize("device", DEVICES)
def test_default_pool(device: str) -> None:
    ended, env = _compare(device, "next_step", RULES[3], steps=60, n=8, pool_size=None,
                          block_size=None)  # fmt: skip
    assert env.pool_size == 65536 and env.block_size == 4096
    assert ended > 0 and env.sync_refills == 0


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("mode", MODES)
def test_num_levels_matches_native(device: str, mode: str) -> None:
    ended, env = _compare(device, mode, RULES[1], n=4, num_levels=7, first_id=100)
    assert ended > 10 and env.pool_size == 7


def test_num_levels_native_ids() -> None:
    """The k-th reset plays first_id + (k mod K): with more envs than levels, envs e and
    e + K start the same level."""
    K, n = 3, 8
    env = VecMazeEnv(SPEC, n, seed=5, first_id=10, num_levels=K)
    obs, info = env.reset()
    assert info["level_id"].tolist() == [10 + k % K for k in range(n)]
    for e in range(n - K):
        assert obs[e].tobytes() == obs[e + K].tobytes()
    assert env.next_id == 10 + n % K
    levels = fastmaze.generate(SPEC, K, seed=5, start=10)
    assert np.array_equal(obs[:K, 0], levels.grid)  # wall plane = the generated boards
    env.reset(options={"reset_mask": np.ones(n, bool)})
    assert info["level_id"].tolist() == [10 + (n + k) % K for k in range(n)]
    env.reset(seed=5)
    assert env.next_id == 10 + n % K and info["level_id"][0] == 10


def test_reset_seed_restarts_stream() -> None:
    native = VecMazeEnv(SPEC, 4, seed=1)
    env = fastmaze.make_vec(
        SPEC, 4, seed=1, backend="torch", device="cpu", pool_size=8, block_size=4
    )
    for seed in (1, 9, 1):
        for _ in range(3):
            o1, i1 = native.reset(seed=seed) if _ == 0 else native.reset()
            o2, i2 = env.reset(seed=seed) if _ == 0 else env.reset()
            _same(o1, o2, f"seed {seed}")
            _same(i1["level_id"], i2["level_id"], f"seed {seed} ids")
    assert env.next_id == native.next_id == 12


def test_outputs_are_fresh_tensors() -> None:
    env = fastmaze.make_vec(SPEC, 4, backend="torch", device="cpu", max_steps=3)
    obs, _ = env.reset()
    kept = obs.clone()
    for _ in range(4):
        out = env.step(torch.ones(4, dtype=torch.int64))
        assert torch.equal(obs, kept)  # an earlier result is never overwritten
        obs, kept = out[0], out[0].clone()
    assert obs.dtype == torch.uint8 and obs.shape == (4, 5, 9, 9)
    assert out[1].dtype == torch.float32 and out[2].dtype == torch.bool
    assert out[4]["level_id"].dtype == torch.int64


@pytest.mark.parametrize("obs", OBS)
def test_gymnasium_api(obs: str) -> None:
    native = VecMazeEnv(SPEC, 3, obs=obs, reveal_exit=True, autoreset_mode="same_step")
    env = fastmaze.make_vec(SPEC, 3, obs=obs, reveal_exit=True, autoreset_mode="same_step",
                     backend="torch", device=torch.device("cpu"))  # fmt: skip
    assert isinstance(env, gym.vector.VectorEnv)
    assert env.single_observation_space == native.single_observation_space
    assert env.observation_space == native.observation_space
    assert env.action_space == native.action_space
    assert env.metadata["autoreset_mode"] == native.metadata["autoreset_mode"]
    assert "torch" in repr(env) or "Torch" in repr(env)
    env.close()
    assert env.closed


def test_import_fastmaze_does_not_import_torch() -> None:
    code = "import sys, fastmaze; fastmaze.VecMazeEnv(num_envs=2).reset(); "
    code += "assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def _env(**kwargs) -> TorchVecMazeEnv:
    env = fastmaze.make_vec(SPEC, 4, backend="torch", device="cpu", **kwargs)
    env.reset()
    return env


@pytest.mark.parametrize(
    ("actions", "match"),
    [
        (np.zeros(4, np.int64), "torch tensor"),
        (torch.zeros(5, dtype=torch.int64), r"shape \(5,\), expected \(4,\)"),
        (torch.zeros((4, 1), dtype=torch.int64), r"shape \(4, 1\)"),
        (torch.zeros(4), "dtype torch.float32, expected an integer dtype"),
        (torch.zeros(4, dtype=torch.bool), "dtype torch.bool"),
        (torch.zeros(4, dtype=torch.int64, device="meta"), "device meta, expected cpu"),
    ],
)
def test_bad_actions(actions, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        _env().step(actions)


def test_action_values_debug_and_check() -> None:
    bad = torch.tensor([0, 1, 7, 2])
    with pytest.raises(ValueError, match="actions: 7 at env 2"):
        _env(debug=True).step(bad)
    env, ref = _env(), _env()
    obs = env.step(bad)[0]
    assert torch.equal(obs, ref.step(torch.tensor([0, 1, 3, 2]))[0])  # clamped
    with pytest.raises(ValueError, match=r"outside 0\.\.3"):
        env.check()
    env.check()  # the record was cleared
    env.step(torch.tensor([0, 1, 2, 3], dtype=torch.uint8))
    env.check()


def test_disabled_misuse() -> None:
    env = _env(autoreset_mode="disabled", max_steps=1, debug=True)
    env.step(torch.zeros(4, dtype=torch.int64))
    with pytest.raises(ValueError, match="disabled"):
        env.step(torch.zeros(4, dtype=torch.int64))
    env = _env(autoreset_mode="disabled", max_steps=1)
    env.step(torch.zeros(4, dtype=torch.int64))
    _, reward, terminated, truncated, info = env.step(torch.ones(4, dtype=torch.int64))
    assert not terminated.any() and not truncated.any() and (reward == 0).all()
    assert (info["episode_length"] == 1).all()  # left in place
    with pytest.raises(ValueError, match="ended env was stepped"):
        env.check()


def test_make_vec_chooses_the_backend_class() -> None:
    """One function chooses; each backend is a class with its real signature."""
    import inspect

    assert type(fastmaze.make_vec(SPEC, 2)) is VecMazeEnv
    env = fastmaze.make_vec(SPEC, 2, 1, "rgb", backend="torch", device="cpu", pool_size=8)
    assert type(env) is TorchVecMazeEnv and (env.seed, env.obs_kind, env.pool_size) == (1, "rgb", 8)
    for cls in (VecMazeEnv, TorchVecMazeEnv):
        params = inspect.signature(cls).parameters
        assert list(params)[:4] == ["spec", "num_envs", "seed", "obs"]
        assert "first_id" in params and "kwargs" not in params
    vec = gym.make_vec("fastmaze/Maze-v0", num_envs=3, spec=SPEC, backend="torch", device="cpu")
    assert type(vec.unwrapped) is TorchVecMazeEnv and vec.num_envs == 3


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="pool_size"):
        fastmaze.make_vec(SPEC, 8, backend="torch", device="cpu", pool_size=10, block_size=4)
    with pytest.raises(ValueError, match="obs"):
        fastmaze.make_vec(SPEC, 2, obs="pixels", backend="torch", device="cpu")
    with pytest.raises(ValueError, match="device"):
        fastmaze.make_vec(SPEC, 2, backend="torch", device="tpu")
    with pytest.raises(ValueError, match="native backend runs on the CPU"):
        VecMazeEnv(SPEC, 2, device="cuda")
    with pytest.raises(ValueError, match=r"VecMazeEnv is the native backend.*make_vec"):
        VecMazeEnv(SPEC, 2, backend="torch", device="cpu")
    with pytest.raises(ValueError, match="backend: expected one of 'native', 'torch', got 'jax'"):
        fastmaze.make_vec(SPEC, 2, backend="jax")
    with pytest.raises(ValueError, match="proxy_reward"):
        fastmaze.make_vec(SPEC, 2, backend="torch", device="cpu", proxy_reward={"purple": 1.0})
    env = _env()
    with pytest.raises(ValueError, match="reset_mask"):
        env.reset(options={"reset_mask": np.ones(4, bool)})
    with pytest.raises(ValueError, match="reset_mask"):
        env.reset(options={"reset_mask": torch.ones(4, dtype=torch.int64)})


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error when CUDA is absent")
def test_cuda_absent_error() -> None:
    with pytest.raises(ValueError, match="CUDA is not available"):
        fastmaze.make_vec(SPEC, 2, backend="torch", device="cuda")


@pytest.mark.parametrize("loops", [0.0, 0.6])
def test_solve_oracles_match_native_info(loops: float) -> None:
    """The torch backend takes optimal_length / ambiguous from `fastmaze.solve`; the native
    env computes them with its own BFS in C. They agree level by level (ambiguous levels
    included, which needs loops)."""
    spec = fastmaze.MazeSpec(
        size=(5, 5), loops=loops, n_decoys={1: 0.5, 3: 0.5}, decoy_color={"green": 1.0},
        n_distractors=1, distractor_color={"blue": 1.0}, palette=("red", "green", "blue"),
    )  # fmt: skip
    n = 2000
    _, info = VecMazeEnv(spec, n, seed=4, first_id=50, num_threads=1).reset()
    oracles = fastmaze.solve(fastmaze.generate(spec, n, seed=4, start=50, threads=1), 1)
    assert np.array_equal(oracles.path_length, info["optimal_length"])
    assert np.array_equal(oracles.ambiguous, info["ambiguous"])
    assert loops == 0 or info["ambiguous"].any()


def test_host_levels_use_no_native_env() -> None:
    """Level production goes through public calls, not a private native env."""
    env = fastmaze.make_vec(SPEC, 4, backend="torch", device="cpu", pool_size=16, block_size=4)
    assert not any(isinstance(v, VecMazeEnv) for v in vars(env._host).values())
    env.close()


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("obs", OBS)
def test_single_env_torch_backend(device: str, obs: str) -> None:
    """MazeEnv passes backend / device through: same observations, rewards, flags and info
    as the native MazeEnv, the observation as a tensor."""
    args = {"obs": obs, "max_steps": 15, "proxy_reward": {"green": 0.5}, **OBS[obs]}
    native = fastmaze.MazeEnv(SPEC, seed=2, **args)
    env = fastmaze.MazeEnv(SPEC, seed=2, backend="torch", device=device, **args)
    rng = np.random.default_rng(1)
    episodes = 0
    while episodes < 4:
        (o1, i1), (o2, i2) = native.reset(), env.reset()
        assert isinstance(o2, torch.Tensor) and o2.device.type == device and i1 == i2
        _same(o1, o2, "reset")
        done = False
        while not done:
            a = int(rng.integers(0, 4))
            (o1, *rest1), (o2, *rest2) = native.step(a), env.step(a)
            _same(o1, o2, "step")
            assert rest1 == rest2
            done = rest1[1] or rest1[2]
        episodes += 1
    with pytest.raises(RuntimeError, match="reset"):
        env.step(0)


# -- levels generated on the device (level_source="device") ----------------------------------
LEVEL_ARRAYS = ("grid", "color", "start", "exit", "decoys", "n_decoys", "component")
PACK_SPECS = {
    "decoys-0..3": fastmaze.MazeSpec(
        size=(5, 6), loops=0.2, n_decoys={0: 0.25, 1: 0.25, 2: 0.25, 3: 0.25},
        exit_color={"green": 0.5, None: 0.5}, decoy_color="green",
    ),
    "open-no-decoys": fastmaze.MazeSpec(size=(3, 7), algorithm="open", n_decoys=0),
    "odd-squares": fastmaze.MazeSpec(size=(2, 2), n_decoys=1, n_distractors=1),
    "test-spec": SPEC,
}  # fmt: skip


def cpu_generate(spec: Any, n: int, seed: int, start: int) -> SimpleNamespace:
    """`fastmaze.cuda.generate`'s stand-in on the CPU: the core's levels as torch tensors."""
    lv = fastmaze.generate(spec, n, seed, start)
    arrays = {k: torch.from_numpy(getattr(lv, k)) for k in LEVEL_ARRAYS}
    return SimpleNamespace(**arrays, failed=torch.tensor([n]), host=lv)


def cpu_oracles(lv: SimpleNamespace) -> tuple[torch.Tensor, torch.Tensor]:
    """`fastmaze.cuda.oracles`'s stand-in on the CPU (`fastmaze.solve`)."""
    o = fastmaze.solve(lv.host, 1)
    return torch.from_numpy(o.path_length), torch.from_numpy(o.ambiguous)


def cpu_device_levels(env: TorchVecMazeEnv) -> DeviceLevels:
    return DeviceLevels(env, env.block_size, cpu_generate, cpu_oracles)


@pytest.mark.parametrize("name", list(PACK_SPECS))
def test_device_packing_matches_host(name: str) -> None:
    """`_pack` (the device producer's packing, on CPU tensors) writes the host producer's
    bytes, padding included."""
    spec = PACK_SPECS[name]
    env = TorchVecMazeEnv(spec, 3, seed=9, device="cpu", first_id=40, pool_size=80,
                          block_size=37, level_source="host")  # fmt: skip
    host, dev = HostLevels(env, 37, False), cpu_device_levels(env)
    for buf, (pos, count) in enumerate([(0, 37), (37, 11)]):
        host.produce(buf, pos, count)
        dev.produce(buf, pos, count)
        assert torch.equal(host.sq[buf][:count], dev.sq[buf][:count]), (name, pos)
        assert torch.equal(host.meta[buf][:count], dev.meta[buf][:count]), (name, pos)
    assert not bool(dev.failed)
    env.close()


@pytest.mark.parametrize("mode", MODES)
def test_device_producer_matches_native(mode: str) -> None:
    """The device producer's pool wiring (blocks, refills, packing), with the CUDA calls
    replaced by their CPU equivalents, steps as the native env."""
    for rules in RULES[:2]:
        ended, env = _compare("cpu", mode, rules, producer=cpu_device_levels)
        assert ended > 10 and isinstance(env._host, DeviceLevels)
    _compare("cpu", mode, RULES[0], producer=cpu_device_levels, num_levels=7, block_size=3)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("source", ["host", "device"])
@CUDA
def test_cuda_level_sources_match_native(mode: str, source: str) -> None:
    import fastmaze.cuda

    if source == "device" and not fastmaze.cuda.available():
        pytest.skip(f"fastmaze.cuda cannot run: {fastmaze.cuda.available().reason}")
    for rules in RULES[:3]:
        ended, env = _compare("cuda", mode, rules, level_source=source)
        assert ended > 10 and env.level_source == source
        assert isinstance(env._host, DeviceLevels if source == "device" else HostLevels)
    _compare("cuda", mode, RULES[0], level_source=source, num_levels=7, block_size=3)
    _compare("cuda", mode, RULES[1], level_source=source, min_lag=3, pool_size=12)


@CUDA
def test_cuda_auto_source_warns_once_with_rules() -> None:
    import fastmaze.examples as ex

    spec = SPEC.replace(rules=(ex.paint_exit_neighbours_blue,))
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        env = TorchVecMazeEnv(spec, 4, device="cuda")
    ours = [w for w in seen if "generates its levels on the host" in str(w.message)]
    assert len(ours) == 1 and "rules" in str(ours[0].message)
    assert env.level_source == "host"
    env.close()


def test_level_source_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    import fastmaze.cuda
    import fastmaze.examples as ex

    cpu, gpu = torch.device("cpu"), torch.device("cuda", 0)
    ruled = SPEC.replace(rules=(ex.paint_exit_neighbours_blue,))
    assert choose_level_source("auto", cpu, SPEC) == ("host", "")
    assert choose_level_source("host", gpu, SPEC) == ("host", "")
    with pytest.raises(ValueError, match="level_source"):
        choose_level_source("gpu", cpu, SPEC)
    with pytest.raises(ValueError, match="CUDA device"):
        choose_level_source("device", cpu, SPEC)
    source, why = choose_level_source("auto", gpu, ruled)
    assert source == "host" and "rules" in why
    with pytest.raises(ValueError, match="rules"):
        choose_level_source("device", gpu, ruled)
    no = fastmaze.cuda.Availability(False, "numba is not installed (test)")
    monkeypatch.setattr(fastmaze.cuda, "available", lambda: no)
    assert choose_level_source("auto", gpu, SPEC) == (
        "host",
        "fastmaze.cuda cannot run: " + no.reason,
    )
    with pytest.raises(ValueError, match="numba is not installed"):
        choose_level_source("device", gpu, SPEC)
    sim = fastmaze.cuda.Availability(True, "simulator", True)
    monkeypatch.setattr(fastmaze.cuda, "available", lambda: sim)
    assert "simulator" in choose_level_source("auto", gpu, SPEC)[1]
    yes = fastmaze.cuda.Availability(True, "CUDA device test")
    monkeypatch.setattr(fastmaze.cuda, "available", lambda: yes)
    assert choose_level_source("auto", gpu, SPEC) == ("device", "")
    assert choose_level_source("device", gpu, SPEC) == ("device", "")


def test_bad_level_source() -> None:
    with pytest.raises(ValueError, match="level_source"):
        TorchVecMazeEnv(SPEC, 2, device="cpu", level_source="gpu")
    with pytest.raises(ValueError, match="CUDA device"):
        TorchVecMazeEnv(SPEC, 2, device="cpu", level_source="device")


@pytest.mark.parametrize("device", DEVICES)
def test_spec_rules_match_native(device: str) -> None:
    """User rules run in the host producer, as in the native env (and fastmaze.generate)."""
    pytest.importorskip("numba")
    import fastmaze.examples as ex

    spec = SPEC.replace(
        rules=(fastmaze.with_probability(ex.paint_exit_neighbours_blue, 0.5),),
        palette=("red", "green", "blue"),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # cuda: "levels on the host"
        ended, env = _compare(device, "next_step", RULES[0], spec=spec)
    assert ended > 10 and env.level_source == "host"


def test_uncoloured_decoys_count_on_both_backends() -> None:
    spec = fastmaze.MazeSpec(size=(4, 4), n_decoys=1)  # decoy_color None: no colour
    kwargs = {"terminate_on_decoy": True, "autoreset_mode": "next_step"}
    native = fastmaze.VecMazeEnv(spec, 64, 3, **kwargs)
    torch_env = fastmaze.make_vec(spec, 64, 3, backend="torch", device="cpu", **kwargs)
    native.reset()
    torch_env.reset()
    actions = np.random.default_rng(3).integers(0, 4, (150, 64))
    reached = 0
    for a in actions:
        _, _, term_n, _, info_n = native.step(a)
        _, _, term_t, _, info_t = torch_env.step(torch.from_numpy(a))
        np.testing.assert_array_equal(term_n, term_t.numpy())
        np.testing.assert_array_equal(info_n["reached_decoy"], info_t["reached_decoy"].numpy())
        reached += int(info_n["reached_decoy"].sum())
    assert reached > 0


def test_host_only_placement_fills_the_pool_from_the_host() -> None:
    cuda = torch.device("cuda")
    for spec in (fastmaze.conflict(), SPEC.replace(false_exits=1)):
        source, why = choose_level_source("auto", cuda, spec)
        assert source == "host" and "host core" in why
        with pytest.raises(ValueError, match="placed by the host core"):
            choose_level_source("device", cuda, spec)
