"""The compiled vector env against the pure-Python reference (tests/reference_env.py), run
under gymnasium's SyncVectorEnv; determinism; the gymnasium API; bad input."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fastmaze
from fastmaze.env import INFO_KEYS, VecMazeEnv
from fastmaze.make import MazeEnv, register_envs

gym = pytest.importorskip("gymnasium")
PACKAGE_ROOT = str(Path(fastmaze.__file__).resolve().parents[1])  # the fastmaze under test


def _reference():
    path = Path(__file__).with_name("reference_env.py")
    spec = importlib.util.spec_from_file_location("reference_env", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["reference_env"] = module
    spec.loader.exec_module(module)
    return module


ref = _reference()

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

# Rules exercised, cycled over the (obs, autoreset) cases.
RULES = [
    {"max_steps": 30},
    {"proxy_reward": {"green": 0.5, "red": -0.25}, "step_penalty": 0.01, "max_steps": 40},
    {"terminate_on_decoy": True, "max_steps": 12, "reveal_exit": True},
    {"hide_colors": True, "proxy_reward": {"blue": 2.0}, "max_steps": 20},
]
OBS = {"symbolic": {}, "rgb": {"pixels": 3}, "egocentric": {"radius": 2}}


def _assert_info(ours: dict, theirs: dict, where: str) -> None:
    for key in INFO_KEYS:
        assert np.array_equal(ours[key], theirs[key]), f"{where}: info[{key!r}]"


def _compare(obs_kind: str, mode: str, rules: dict, steps: int = 120, n: int = 5) -> int:
    """Steps both envs with the same random actions; returns how many episodes ended."""
    kwargs = {**OBS[obs_kind], **rules}
    ours = VecMazeEnv(SPEC, n, seed=3, obs=obs_kind, autoreset_mode=mode, num_threads=2, **kwargs)
    theirs, stream = ref.make_ref_vec(SPEC, n, seed=3, autoreset_mode=mode, obs=obs_kind, **kwargs)
    o1, i1 = ours.reset()
    o2, i2 = theirs.reset()
    assert o1.tobytes() == o2.tobytes()
    _assert_info(i1, i2, "reset")
    rng = np.random.default_rng(7)
    ended = 0
    for t in range(steps):
        actions = rng.integers(0, 4, n)
        o1, r1, te1, tr1, i1 = ours.step(actions)
        o2, r2, te2, tr2, i2 = theirs.step(actions)
        where = f"{obs_kind}/{mode}/{rules} step {t}"
        assert o1.dtype == np.uint8 and o1.shape == o2.shape, where
        assert o1.tobytes() == o2.tobytes(), where
        assert r1.dtype == np.float32 and np.array_equal(r1.astype(np.float64), r2), where
        assert np.array_equal(te1, te2) and np.array_equal(tr1, tr2), where
        _assert_info(i1, i2, where)
        done = te1 | tr1
        ended += int(done.sum())
        if mode == "same_step":
            assert np.array_equal(i1["_final_obs"], done), where
            assert np.array_equal(i2.get("_final_obs", np.zeros(n, bool)), done), where
            for e in np.flatnonzero(done):
                assert i1["final_obs"][e].tobytes() == i2["final_obs"][e].tobytes(), where
                for key in INFO_KEYS:
                    assert i1["final_info"][key][e] == i2["final_info"][key][e], (where, key)
        if mode == "disabled" and done.any():
            o1, i1 = ours.reset(options={"reset_mask": done.copy()})
            o2, i2 = theirs.reset(options={"reset_mask": done.copy()})
            for e in np.flatnonzero(done):
                assert o1[e].tobytes() == o2[e].tobytes(), where
                for key in INFO_KEYS:
                    assert i1[key][e] == i2[key][e], (where, key)
    assert ours.next_id == stream.next_id
    return ended


@pytest.mark.parametrize("mode", ["next_step", "same_step", "disabled"])
@pytest.mark.parametrize("obs_kind", list(OBS))
def test_matches_reference(obs_kind: str, mode: str) -> None:
    k = list(OBS).index(obs_kind) + 3 * ["next_step", "same_step", "disabled"].index(mode)
    for rules in (RULES[k % len(RULES)], RULES[(k + 1) % len(RULES)]):
        assert _compare(obs_kind, mode, rules) > 0  # episodes ended: resets were exercised


def test_outcomes_are_exercised() -> None:
    """The comparison covers exits, decoys, proxy rewards and truncation."""
    env = VecMazeEnv(SPEC, 64, obs="symbolic", proxy_reward={"green": 0.5}, max_steps=40)
    env.reset()
    rng = np.random.default_rng(0)
    seen = {"exit": 0, "decoy": 0, "proxy": 0, "truncated": 0, "ambiguous": 0}
    for _ in range(200):
        _, reward, terminated, truncated, info = env.step(rng.integers(0, 4, 64))
        seen["exit"] += int(info["reached_exit"].sum())
        seen["decoy"] += int(info["reached_decoy"].sum())
        seen["proxy"] += int((reward == 0.5).sum())
        seen["truncated"] += int(truncated.sum())
        seen["ambiguous"] += int(info["ambiguous"].sum())
        assert np.array_equal(terminated, info["reached_exit"] & terminated)
    assert all(v > 0 for v in seen.values()), seen


def _run(n: int, threads: int, obs_kind: str = "symbolic", steps: int = 25) -> bytes:
    env = VecMazeEnv(SPEC, n, seed=11, obs=obs_kind, num_threads=threads, max_steps=10)
    out = [env.reset()[0].tobytes()]
    rng = np.random.default_rng(1)
    for _ in range(steps):
        obs, reward, terminated, truncated, info = env.step(rng.integers(0, 4, n))
        out += [obs.tobytes(), reward.tobytes(), terminated.tobytes(), truncated.tobytes()]
        out += [info[k].tobytes() for k in INFO_KEYS]
    return b"".join(out)


def test_deterministic_across_runs_and_threads() -> None:
    n = 2500  # above the core's threshold for using a thread team
    one = _run(n, 1)
    assert one == _run(n, 1)
    assert one == _run(n, 2)
    assert _run(300, 1, "egocentric") == _run(300, 2, "egocentric")


def test_level_ids() -> None:
    env = VecMazeEnv(SPEC, 4, seed=5, first_id=10**9, max_steps=3)
    _, info = env.reset()
    assert info["level_id"].tolist() == [10**9 + e for e in range(4)]
    levels = fastmaze.generate(SPEC, 4, seed=5, start=10**9)
    assert np.array_equal(env.levels.grid, levels.grid)
    for _ in range(4):  # step 3 truncates all, step 4 resets them (next_step)
        _, _, _, _, info = env.step(np.zeros(4, np.int64))
    assert info["level_id"].tolist() == [10**9 + 4 + e for e in range(4)]
    _, info = env.reset(seed=5)
    assert info["level_id"].tolist() == [10**9 + e for e in range(4)]
    mask = np.array([False, True, False, True])
    _, info = env.reset(options={"reset_mask": mask})
    assert info["level_id"].tolist() == [10**9, 10**9 + 4, 10**9 + 2, 10**9 + 5]


@pytest.mark.parametrize("pixels", [1, 2, 4, 5, 8, 9])
@pytest.mark.parametrize("hide_colors", [False, True])
def test_incremental_rgb_equals_a_full_drawing(pixels: int, hide_colors: bool) -> None:
    """Each rgb step redraws only the two squares of a move (pixel sizes with and without
    their own specialised code): the image always equals `fastmaze.render.rgb` of the boards
    with the agents where they stand."""
    env = VecMazeEnv(SPEC, 16, seed=2, obs="rgb", pixels=pixels, hide_colors=hide_colors)
    obs, _ = env.reset()
    rng = np.random.default_rng(3)
    for t in range(60):
        want = fastmaze.render.rgb(
            env.levels, pixels=pixels, agent=env.agent, hide_colors=hide_colors
        )
        assert np.array_equal(obs, want), f"step {t}"
        obs, *_ = env.step(rng.integers(0, 4, 16))


@pytest.mark.parametrize("threads", [1, 2])
def test_auto_resets_drawn_in_the_step_are_the_stream(threads: int) -> None:
    """Auto-resets drawn inside the step's parallel region (a team of threads above the
    core's threshold) give env e of a batch-wide reset level id next_id + e, the bytes of
    `generate`."""
    n = 4096
    env = VecMazeEnv(SPEC, n, seed=9, num_threads=threads, max_steps=1)
    env.reset()
    for _ in range(2):  # step 1 truncates every env, step 2 resets them all (next_step)
        _, _, _, _, info = env.step(np.zeros(n, np.int64))
    assert np.array_equal(info["level_id"], np.arange(n, 2 * n))
    want = fastmaze.generate(SPEC, n, seed=9, start=n)
    for field in ("grid", "color", "start", "exit", "decoys", "n_decoys", "component"):
        assert np.array_equal(getattr(env.levels, field), getattr(want, field)), field
    oracles = fastmaze.solve(want)
    assert np.array_equal(info["optimal_length"], oracles.path_length)
    assert np.array_equal(info["ambiguous"], oracles.ambiguous)


@settings(max_examples=25, deadline=None)
@given(
    size=st.integers(2, 9),
    loops=st.sampled_from([0.0, 0.2, 1.0]),
    n_decoys=st.integers(0, 20),
    seed=st.integers(0, 2**32 - 1),
)
def test_reset_oracles_match_solve(size: int, loops: float, n_decoys: int, seed: int) -> None:
    """Each reset's optimal_length and ambiguous flag (the env's own BFS and walk down it)
    equal `fastmaze.solve`'s, braided mazes and many decoys included."""
    n_decoys = min(n_decoys, size * size - 2)
    spec = fastmaze.MazeSpec(size=(size, size), loops=loops, n_decoys=n_decoys)
    env = VecMazeEnv(spec, 64, seed=seed, max_steps=1)
    _, info = env.reset()
    oracles = fastmaze.solve(fastmaze.generate(spec, 64, seed=seed))
    assert np.array_equal(info["optimal_length"], oracles.path_length)
    assert np.array_equal(info["ambiguous"], oracles.ambiguous)
    for _ in range(2):  # the next 64 levels, drawn inside the step
        _, _, _, _, info = env.step(np.zeros(64, np.int64))
    oracles = fastmaze.solve(fastmaze.generate(spec, 64, seed=seed, start=64))
    assert np.array_equal(info["optimal_length"], oracles.path_length)
    assert np.array_equal(info["ambiguous"], oracles.ambiguous)


# Every draw of some of its levels fails: off-path decoys that must part 4 steps before
# either goal, on 3x3 cells with a false exit.
UNPLACEABLE = fastmaze.MazeSpec(
    size=(3, 3), n_decoys=2, decoy_placement="off_path", branch=4, false_exits=1
)


def _unplaceable_ids(seed: int, n: int) -> list[int]:
    bad = []
    for i in range(n):
        try:
            fastmaze.generate(UNPLACEABLE, 1, seed=seed, start=i)
        except RuntimeError:
            bad.append(i)
    return bad


@pytest.mark.parametrize("copy", [False, True])
@pytest.mark.parametrize("n", [1, 600])
def test_a_level_that_cannot_be_placed_at_reset_is_an_error(n: int, copy: bool) -> None:
    """The first reset of an env whose slots hold nothing yet: a clear error naming the
    lowest id that failed (a team of threads for 600 envs), then step refuses to go on."""
    first = _unplaceable_ids(0, 1000)[0]
    env = VecMazeEnv(UNPLACEABLE, n, seed=0, first_id=0 if n > first else first, copy=copy)
    with pytest.raises(RuntimeError, match=f"level {first} could not be placed"):
        env.reset()
    with pytest.raises(RuntimeError, match=r"reset\(\) it"):
        env.step(np.zeros(n, np.int64))


@pytest.mark.parametrize("copy", [False, True])
def test_a_level_that_cannot_be_placed_at_an_auto_reset_stops_the_env(copy: bool) -> None:
    """An auto-reset inside the step that cannot place its level: the error names it, the
    env keeps its old level, every later step raises until a full reset."""
    first = _unplaceable_ids(0, 1000)[0]
    env = VecMazeEnv(UNPLACEABLE, 1, seed=0, first_id=first - 1, max_steps=1, copy=copy)
    _, info = env.reset()
    assert info["level_id"][0] == first - 1
    grid = env.levels.grid.copy()
    env.step(np.zeros(1, np.int64))  # truncated: the next step resets it
    with pytest.raises(RuntimeError, match=f"level {first} could not be placed"):
        env.step(np.zeros(1, np.int64))
    assert np.array_equal(env.levels.grid, grid) and env.levels.ids[0] == first - 1
    with pytest.raises(RuntimeError, match=f"level {first} could not be placed"):
        env.step(np.zeros(1, np.int64))
    seed = next(s for s in range(1, 50) if not _unplaceable_ids(s, 4))
    env.reset(seed=seed)  # another seed: other levels, the env goes on
    env.step(np.zeros(1, np.int64))


def test_next_step_autoreset_ignores_action() -> None:
    env = VecMazeEnv(SPEC, 3, max_steps=2)
    start = env.reset()[0].copy()
    env.step(np.array([0, 1, 2]))
    _, _, _, truncated, _ = env.step(np.array([0, 1, 2]))
    assert truncated.all()
    obs, reward, terminated, truncated, info = env.step(np.array([3, 3, 3]))
    assert not terminated.any() and not truncated.any() and (reward == 0).all()
    assert (info["episode_length"] == 0).all() and info["level_id"].tolist() == [3, 4, 5]
    fresh = VecMazeEnv(SPEC, 6)
    assert obs.tobytes() == fresh.reset()[0][3:].tobytes()
    assert start.tobytes() == fresh.reset(seed=0)[0][:3].tobytes()


def test_gymnasium_api() -> None:
    from gymnasium.utils.env_checker import check_env
    from gymnasium.vector import AutoresetMode

    for obs_kind in OBS:
        check_env(MazeEnv(SPEC, obs=obs_kind), skip_render_check=True)
    register_envs()
    register_envs()  # idempotent
    single = gym.make("fastmaze/Maze-v0", spec=SPEC)
    obs, _ = single.reset(seed=1)
    assert single.observation_space.contains(obs)
    vec = gym.make_vec("fastmaze/Maze-v0", num_envs=3, spec=SPEC, obs="egocentric")
    assert isinstance(vec.unwrapped, VecMazeEnv)
    obs, _ = vec.reset(seed=2)
    assert vec.observation_space.contains(obs)
    assert vec.single_action_space == gym.spaces.Discrete(4)
    assert vec.action_space.shape == (3,)
    assert vec.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP
    obs, *_ = vec.step(vec.action_space.sample())
    assert vec.observation_space.contains(obs)
    same = VecMazeEnv(SPEC, 2, autoreset_mode=AutoresetMode.SAME_STEP)
    assert same.metadata["autoreset_mode"] == AutoresetMode.SAME_STEP


@pytest.mark.parametrize(
    "actions",
    [
        np.zeros(3, np.int64),  # wrong shape
        np.zeros((4, 1), np.int64),
        np.zeros(4, np.float32),  # wrong dtype
        np.zeros(4, np.bool_),
        np.array([0, 1, 4, 0]),  # out of range
        np.array([0, -1, 0, 0]),
        np.array([0, 2**40, 0, 0]),
        np.array([0, 0, 0, 2**64 - 1], np.uint64),
        np.array([0, 0, 256, 0], np.int32),
    ],
)
def test_bad_actions(actions: np.ndarray) -> None:
    env = VecMazeEnv(SPEC, 4)
    env.reset()
    before = env.obs.copy()
    with pytest.raises(ValueError, match="actions"):
        env.step(actions)
    assert np.array_equal(env.obs, before)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="obs"):
        VecMazeEnv(SPEC, 2, obs="pixels")
    with pytest.raises(ValueError, match="backend"):
        VecMazeEnv(SPEC, 2, backend="jax")
    with pytest.raises(ValueError, match="autoreset_mode"):
        VecMazeEnv(SPEC, 2, autoreset_mode="sometimes")
    with pytest.raises(ValueError, match="num_envs"):
        VecMazeEnv(SPEC, 0)
    with pytest.raises(ValueError, match="proxy_reward"):
        VecMazeEnv(SPEC, 2, proxy_reward={"purple": 1.0})
    for value in (float("nan"), float("inf"), "1"):
        with pytest.raises(ValueError, match="step_penalty"):
            VecMazeEnv(SPEC, 2, step_penalty=value)
    with pytest.raises(ValueError, match="finite"):
        VecMazeEnv(SPEC, 2, proxy_reward={"green": float("nan")})
    env = VecMazeEnv(SPEC, 2)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(np.zeros(2, np.int64))
    with pytest.raises(ValueError, match="reset_mask"):
        env.reset(options={"reset_mask": np.ones(3, bool)})
    with pytest.raises(ValueError, match="reset_mask"):
        env.reset(options={"reset_mask": [True, False]})
    disabled = VecMazeEnv(SPEC, 2, autoreset_mode="disabled", max_steps=1)
    disabled.reset()
    disabled.step(np.zeros(2, np.int64))
    with pytest.raises(ValueError, match="disabled"):
        disabled.step(np.zeros(2, np.int64))
    single = MazeEnv(SPEC)
    single.reset()
    with pytest.raises(ValueError, match="action"):
        single.step(4)


def test_every_env_steps_when_openmp_grants_fewer_threads() -> None:
    code = (
        "import sys, numpy as np, fastmaze as fm\n"
        "env = fm.VecMazeEnv(fm.MazeSpec(), 4096, 0, num_threads=int(sys.argv[1]))\n"
        "env.reset()\n"
        "for a in np.random.default_rng(0).integers(0, 4, (5, 4096)): env.step(a)\n"
        "print(env.agent.tobytes().hex(), env._info['episode_length'].tobytes().hex())\n"
    )
    env = dict(os.environ, OMP_THREAD_LIMIT="2", PYTHONPATH=PACKAGE_ROOT)
    runs = [
        subprocess.run([sys.executable, "-c", code, t], env=env, capture_output=True, text=True)
        for t in ("4", "1")  # asks for 4 threads, is granted 2; against 1 thread
    ]
    assert all(r.returncode == 0 for r in runs), runs[0].stderr + runs[1].stderr
    assert runs[0].stdout == runs[1].stdout


def test_read_only_actions_are_accepted() -> None:
    env = VecMazeEnv(SPEC, 4)
    env.reset()
    actions = np.zeros(4, np.int64)
    actions.flags.writeable = False
    env.step(actions)


def test_single_env_and_registration_keep_their_old_import_path() -> None:
    import fastmaze.env

    assert fastmaze.env.MazeEnv is MazeEnv and fastmaze.env.register_envs is register_envs
    with pytest.raises(AttributeError, match="no attribute 'TorchVecMazeEnv'"):
        fastmaze.env.TorchVecMazeEnv  # noqa: B018
