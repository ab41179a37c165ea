"""PPO trainer: learning a trivial maze, bitwise-exact resume, DDP over two gloo processes,
config validation. Small models, one thread; the whole file runs in well under 90 s."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import fastmaze  # noqa: E402
import fastmaze.make  # noqa: E402
from fastmaze.train.ppo import ActorCritic, PPOConfig, PPOResult, train_ppo  # noqa: E402

PACKAGE_ROOT = str(Path(fastmaze.__file__).resolve().parents[1])  # the fastmaze under test
SPEC = fastmaze.MazeSpec(size=(2, 2))
MAX_STEPS = 10  # a random walk finds the exit of a 2 x 2 maze within 10 steps ~24% of the time
SMALL_MODEL = {"model": "impala", "model_kwargs": {"channels": (8,), "hidden": 32}}
TIMING_KEYS = ("env_steps_per_s", "env_fraction")


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def tiny(**overrides: Any) -> PPOConfig:
    """A config of 8 envs x 16 steps per update (128 steps), 2 minibatches."""
    fields: dict[str, Any] = dict(
        total_env_steps=4 * 128,
        num_envs=8,
        num_steps=16,
        num_minibatches=2,
        max_steps=MAX_STEPS,
        gamma=0.99,
        env_kwargs={"num_threads": 1},
        checkpoint_every=2,
        **SMALL_MODEL,
    )
    fields.update(overrides)
    return PPOConfig(**fields)


def _without_timing(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in row.items() if k not in TIMING_KEYS} for row in history]


def _same(a: Any, b: Any) -> bool:
    """Bitwise equality of nested checkpoint states (tensors compared exactly)."""
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a == b or (a != a and b != b)  # NaN == NaN here


# -- learning ------------------------------------------------------------------------------
def test_learns_a_trivial_maze_far_above_random() -> None:
    random_rate = fastmaze.evaluate("random", SPEC, 1000, max_steps=MAX_STEPS, num_threads=1)
    random_exit = random_rate.rows()[0]["exit"][0]
    cfg = PPOConfig(
        total_env_steps=96 * 1024,
        num_envs=32,
        num_steps=32,
        num_minibatches=4,
        lr=2e-3,
        gamma=0.99,
        ent_coef=0.0,  # seeds 0 / 3: sampled exit rate 0.97 / 0.95 (0.90 / 0.88 with 0.01)
        max_steps=MAX_STEPS,
        env_kwargs={"num_threads": 1},
        eval_every=48,
        eval_episodes=200,
        seed=0,
        model="impala",
        model_kwargs={"channels": (16,), "hidden": 64},
    )
    result = train_ppo(SPEC, cfg, progress=False)
    assert isinstance(result, PPOResult) and isinstance(result.policy, ActorCritic)
    ev = fastmaze.evaluate(result.policy.act, SPEC, 1000, max_steps=MAX_STEPS, num_threads=1)
    exit_rate = ev.rows()[0]["exit"][0]
    assert random_exit < 0.4
    assert exit_rate >= 0.9, (exit_rate, random_exit)
    assert exit_rate >= random_exit + 0.5

    history = result.history
    assert [row["update"] for row in history] == list(range(1, 97))
    assert history[-1]["env_steps"] == 96 * 1024
    for key in (
        "episode_return",
        "exit_rate",
        "env_steps_per_s",
        "policy_loss",
        "value_loss",
        "entropy",
        "approx_kl",
        "clip_fraction",
        "env_fraction",
    ):
        assert np.isfinite(history[-1][key]), key
    assert history[-1]["exit_rate"] > history[0]["exit_rate"]
    assert {"eval/train/exit", "eval/train/proxy", "eval/train/neither"} <= history[47].keys()
    assert "eval/train/exit" not in history[46]
    timing = result.timing
    assert 0 < timing["env"] < timing["total"] and 0 < timing["env_fraction"] < 1
    assert timing["env_steps_per_s"] > 0


def test_act_takes_numpy_or_torch_and_returns_int64() -> None:
    result = train_ppo(SPEC, tiny(total_env_steps=128), progress=False)
    env = fastmaze.VecMazeEnv(SPEC, 5, seed=3, num_threads=1)
    obs, _ = env.reset()
    a = result.policy.act(obs)
    assert isinstance(a, np.ndarray) and a.dtype == np.int64 and a.shape == (5,)
    assert a.min() >= 0 and a.max() <= 3
    t = result.policy.act(torch.from_numpy(obs), greedy=True)
    assert isinstance(t, torch.Tensor) and t.dtype == torch.int64
    assert np.array_equal(t.numpy(), result.policy.act(obs, greedy=True))
    g1, g2 = torch.Generator().manual_seed(1), torch.Generator().manual_seed(1)
    same = result.policy.act(obs, generator=g1), result.policy.act(obs, generator=g2)
    assert np.array_equal(*same)


# -- exact resume --------------------------------------------------------------------------
def test_resume_is_bitwise_identical_to_an_uninterrupted_run(tmp_path: Path) -> None:
    extra = {"eval_every": 1, "eval_episodes": 16}
    straight = train_ppo(SPEC, tiny(**extra), out_dir=tmp_path / "a", progress=False)
    first = train_ppo(
        SPEC, tiny(total_env_steps=2 * 128, **extra), out_dir=tmp_path / "b", progress=False
    )
    ckpt = tmp_path / "b" / "checkpoint.pt"
    assert first.checkpoint == str(ckpt) and ckpt.exists()
    resumed = train_ppo(SPEC, tiny(**extra), out_dir=tmp_path / "b", resume=ckpt, progress=False)

    a, b = straight.policy.state_dict(), resumed.policy.state_dict()
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert _same(_without_timing(straight.history), _without_timing(resumed.history))
    assert straight.level_ids == resumed.level_ids
    # the optimizer and generator states of the two final checkpoints agree too
    sa = torch.load(tmp_path / "a" / "checkpoint.pt", weights_only=False)
    sb = torch.load(ckpt, weights_only=False)
    assert sa["update"] == sb["update"] == 4 and sa["exact"] and sb["exact"]
    assert _same(sa["optimizer"], sb["optimizer"])
    for key in ("next_id", "first_id", "sample_gen", "perm_gen"):
        assert _same(sa["ranks"][0][key], sb["ranks"][0][key]), key
    lines = (tmp_path / "b" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["update"] for line in lines] == [1, 2, 3, 4]


def test_env_syncs_restart_envs_on_fresh_ids() -> None:
    # 4 updates x 16 steps of 8 envs with max_steps 10: >= 8 ids per sync, none reused
    no_sync = train_ppo(SPEC, tiny(checkpoint_every=0), progress=False)
    synced = train_ppo(SPEC, tiny(checkpoint_every=1), progress=False)
    assert synced.level_ids[0] == no_sync.level_ids[0] == 0
    assert synced.level_ids[1] >= 8 * 4  # the first reset and 3 syncs (none after the last)
    a, b = no_sync.policy.state_dict(), synced.policy.state_dict()
    assert not all(torch.equal(a[k], b[k]) for k in a)  # syncs are part of the trajectory


def test_resume_rejects_another_config_or_spec(tmp_path: Path) -> None:
    train_ppo(SPEC, tiny(total_env_steps=2 * 128), out_dir=tmp_path, progress=False)
    ckpt = tmp_path / "checkpoint.pt"
    with pytest.raises(ValueError, match="lr"):
        train_ppo(SPEC, tiny(lr=1e-3), resume=ckpt, progress=False)
    with pytest.raises(ValueError, match="trained on"):
        train_ppo(fastmaze.MazeSpec(size=(3, 2)), tiny(), resume=ckpt, progress=False)
    with pytest.raises(ValueError, match="beyond"):
        train_ppo(SPEC, tiny(total_env_steps=128), resume=ckpt, progress=False)


# -- distributed ---------------------------------------------------------------------------
WORKER = textwrap.dedent(
    """
    import hashlib, json, os, sys
    import torch
    torch.set_num_threads(1)
    import fastmaze
    from fastmaze.train.ppo import PPOConfig, train_ppo

    hashes = []

    def record(update, policy, row):
        flat = torch.cat([p.detach().flatten() for p in policy.parameters()])
        hashes.append(hashlib.sha256(flat.numpy().tobytes()).hexdigest())

    cfg = PPOConfig(total_env_steps=2 * 3 * 128, num_envs=8, num_steps=16, num_minibatches=2,
                    max_steps=10, gamma=0.99, env_kwargs={"num_threads": 1},
                    checkpoint_every=2, model="impala",
                    model_kwargs={"channels": (8,), "hidden": 32})
    r = train_ppo(fastmaze.MazeSpec(size=(2, 2)), cfg, progress=False, callback=record,
                  out_dir=sys.argv[1])
    with open(os.path.join(sys.argv[1], f"rank{os.environ['RANK']}.json"), "w") as f:
        json.dump({"hashes": hashes, "level_ids": list(r.level_ids),
                   "history": r.history}, f)
    torch.distributed.barrier()  # both ranks done before either tears its group down
    torch.distributed.destroy_process_group()
    # Skip interpreter teardown: torch's thread pools have been seen to abort the process
    # there ("terminate called without an active exception"), after all work is done.
    os._exit(0)
    """
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_ddp_two_gloo_ranks(tmp_path: Path) -> None:
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    port = str(_free_port())
    procs = []
    for rank in range(2):
        env = dict(
            os.environ,
            MASTER_ADDR="127.0.0.1",
            MASTER_PORT=port,
            RANK=str(rank),
            WORLD_SIZE="2",
            LOCAL_RANK=str(rank),
            OMP_NUM_THREADS="1",
            PYTHONPATH=os.pathsep.join([PACKAGE_ROOT, os.environ.get("PYTHONPATH", "")]),
        )
        procs.append(
            subprocess.Popen(
                [sys.executable, str(script), str(tmp_path)],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
        )
    for p in procs:
        out, _ = p.communicate(timeout=120)
        assert p.returncode == 0, out.decode()[-3000:]
    r0, r1 = (json.loads((tmp_path / f"rank{r}.json").read_text()) for r in range(2))
    assert len(r0["hashes"]) == 3
    assert r0["hashes"] == r1["hashes"]  # identical parameters after every update
    (a0, b0), (a1, b1) = r0["level_ids"], r1["level_ids"]
    assert b0 - a0 >= 8 and b1 - a1 >= 8
    assert b0 <= a1 or b1 <= a0  # disjoint level ids
    assert _same(_without_timing(r0["history"]), _without_timing(r1["history"]))  # all-reduced
    assert r0["history"][-1]["env_steps"] == 2 * 3 * 128
    ckpt = torch.load(tmp_path / "checkpoint.pt", weights_only=False)
    assert ckpt["world_size"] == 2 and len(ckpt["ranks"]) == 2


# -- validation ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"num_envs": 0}, "num_envs"),
        ({"num_steps": 1.5}, "num_steps"),
        ({"num_minibatches": 3}, "divide"),
        ({"total_env_steps": 100}, "one rollout"),
        ({"gamma": 1.5}, "gamma"),
        ({"gae_lambda": -0.1}, "gae_lambda"),
        ({"lr": 0.0}, "lr"),
        ({"clip_coef": float("nan")}, "clip_coef"),
        ({"max_grad_norm": True}, "max_grad_norm"),
        ({"update_epochs": 0}, "update_epochs"),
        ({"model": "resnet"}, "model"),
        ({"obs": "pixels"}, "obs"),
        ({"env_backend": "jax"}, "env_backend"),
        ({"env_kwargs": {"first_id": 3}}, "env_kwargs"),
        ({"env_kwargs": {"max_steps": 3}}, "env_kwargs"),
        ({"env_kwargs": {"copy": True}}, "env_kwargs"),
        ({"max_steps": 0}, "max_steps"),
        ({"seed": -1}, "seed"),
        ({"eval_every": -1}, "eval_every"),
        ({"checkpoint_every": 1.0}, "checkpoint_every"),
        ({"norm_adv": 1}, "norm_adv"),
        ({"device": "nonsense"}, "device"),
        ({"proxy_reward": 1.0}, "proxy_reward"),
    ],
)
def test_config_validation(overrides: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        tiny(**overrides)


def test_train_ppo_validation() -> None:
    with pytest.raises(ValueError, match="spec"):
        train_ppo("maze", tiny(), progress=False)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="config"):
        train_ppo(SPEC, {"lr": 1.0}, progress=False)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="eval_specs"):
        train_ppo(SPEC, tiny(), eval_specs={"x": 3}, progress=False)  # type: ignore[dict-item]
    if "torch" not in fastmaze.make.BACKENDS:
        with pytest.raises(ValueError, match="env_backend"):
            train_ppo(SPEC, tiny(env_backend="torch"), progress=False)


def test_defaults_are_the_published_ones() -> None:
    c = PPOConfig()
    assert (c.gamma, c.gae_lambda, c.lr, c.clip_coef, c.ent_coef, c.vf_coef) == (
        0.999,
        0.95,
        5e-4,
        0.2,
        0.01,
        0.5,
    )
    assert (c.max_grad_norm, c.update_epochs, c.num_minibatches, c.num_steps, c.num_envs) == (
        0.5,
        3,
        8,
        256,
        64,
    )
    assert c.model == "impala" and c.obs == "symbolic"


def test_phases_are_labelled_for_the_profiler() -> None:
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        train_ppo(SPEC, tiny(total_env_steps=128, checkpoint_every=0), progress=False)
    names = {e.name for e in prof.events()}
    phases = {
        "ppo.rollout.policy",
        "ppo.rollout.env",
        "ppo.rollout.store",
        "ppo.gae",
        "ppo.update.minibatch",
        "ppo.update.forward",
        "ppo.update.backward",
        "ppo.update.optimizer",
    }
    assert phases <= names, phases - names


def test_a_rollout_of_time_limits_only_is_deterministic() -> None:
    # With a 1-step limit nearly every step truncates an episode: the bootstrap (one batch of
    # final observations per rollout) runs on most of the rollout, the same every time.
    cfg = tiny(max_steps=1, total_env_steps=256, checkpoint_every=0)
    a = train_ppo(SPEC, cfg, progress=False)
    b = train_ppo(SPEC, cfg, progress=False)
    assert _without_timing(a.history) == _without_timing(b.history)
    assert all(row["episode_length"] == 1.0 for row in a.history)
    assert all(row["exit_rate"] < 1.0 for row in a.history)
