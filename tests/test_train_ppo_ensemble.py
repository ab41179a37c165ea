"""PPO seed ensembles: each member is its seed's solo run (bitwise on the CPU), a resumed
ensemble continues exactly, bad seeds and foreign checkpoints are refused, DDP over two
gloo processes."""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")

import fastmaze  # noqa: E402
from fastmaze.train import ensemble  # noqa: E402
from fastmaze.train.ppo import PPOConfig, train_ppo  # noqa: E402
from fastmaze.train.ppo_ensemble import train_ppo_ensemble  # noqa: E402

PACKAGE_ROOT = str(Path(fastmaze.__file__).resolve().parents[1])  # the fastmaze under test
SPEC = fastmaze.MazeSpec(size=(2, 2))
TIMING_KEYS = ("env_steps_per_s", "env_fraction")


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def tiny(**overrides: Any) -> PPOConfig:
    """8 envs x 16 steps per update, 2 minibatches, a small IMPALA net (as test_train_ppo)."""
    fields: dict[str, Any] = dict(
        total_env_steps=3 * 128,
        num_envs=8,
        num_steps=16,
        num_minibatches=2,
        max_steps=10,
        gamma=0.99,
        env_kwargs={"num_threads": 1},
        checkpoint_every=2,
        model="impala",
        model_kwargs={"channels": (4,), "hidden": 16},
    )
    fields.update(overrides)
    return PPOConfig(**fields)


def _history(h: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in row.items() if k not in TIMING_KEYS} for row in h]


def _same_state(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def _same_history(a: list, b: list) -> bool:
    return repr(_history(a)) == repr(_history(b))  # NaN equal to NaN


def test_members_are_the_solo_runs_of_their_seeds() -> None:
    config = tiny(eval_every=3, eval_episodes=8, checkpoint_every=1)
    members = train_ppo_ensemble(SPEC, config, [3, 0], progress=False)
    for seed, got in zip((3, 0), members, strict=True):
        solo = train_ppo(SPEC, dataclasses.replace(config, seed=seed), progress=False)
        assert _same_state(got.policy, solo.policy)  # bitwise
        assert _same_history(got.history, solo.history)
        assert got.level_ids == solo.level_ids
        assert "eval/train/exit" in got.history[-1]
    assert not _same_state(members[0].policy, members[1].policy)


@pytest.mark.parametrize("model", ["impala", "fcn", "recurrent"])
def test_vmapped_members_agree_with_solo_runs(model: str, monkeypatch) -> None:
    """The CUDA path (members vmap'd), run on the CPU: grouped convolutions round apart
    from the solo run's (`fastmaze.train.ensemble`), so agreement within float rounding."""
    monkeypatch.setitem(ensemble.VECTORIZED, "cpu", True)
    kwargs = {"impala": {"channels": (4,), "hidden": 16}, "fcn": {"channels": 4, "depth": 2}}
    config = tiny(total_env_steps=128, model=model, model_kwargs=kwargs.get(model, {}))
    if model == "recurrent":
        config = dataclasses.replace(config, model_kwargs={"channels": 4, "iterations": 2})
    got = train_ppo_ensemble(SPEC, config, [3, 0], progress=False)[0]
    solo = train_ppo(SPEC, dataclasses.replace(config, seed=3), progress=False)
    a, b = got.policy.state_dict(), solo.policy.state_dict()
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=1e-4, atol=1e-5)


def test_resumed_ensemble_continues_exactly(tmp_path: Path) -> None:
    straight = train_ppo_ensemble(SPEC, tiny(total_env_steps=4 * 128), [1, 2], progress=False)
    ckpt = tmp_path / "ens.pt"
    first = train_ppo_ensemble(
        SPEC, tiny(total_env_steps=2 * 128, checkpoint_path=str(ckpt)), [1, 2], progress=False
    )
    assert first[0].checkpoint == str(ckpt)
    resumed = train_ppo_ensemble(
        SPEC, tiny(total_env_steps=4 * 128), [1, 2], resume=str(ckpt), progress=False
    )
    for a, b in zip(straight, resumed, strict=True):
        assert _same_state(a.policy, b.policy)
        assert _same_history(a.history, b.history)
        assert a.level_ids == b.level_ids
    with pytest.raises(ValueError, match=r"holds seeds \[1, 2\], this run \[1, 3\]"):
        train_ppo_ensemble(SPEC, tiny(), [1, 3], resume=str(ckpt), progress=False)
    with pytest.raises(ValueError, match="not a fastmaze PPO ensemble checkpoint"):
        solo = tmp_path / "solo"
        train_ppo(SPEC, tiny(total_env_steps=128), out_dir=solo, progress=False)
        train_ppo_ensemble(SPEC, tiny(), [1, 2], resume=str(solo / "checkpoint.pt"))


@pytest.mark.parametrize("seeds", [[], [1, 1], [0, -1], [0.5]])
def test_bad_seeds(seeds) -> None:
    with pytest.raises(ValueError, match="distinct integers >= 0"):
        train_ppo_ensemble(SPEC, tiny(), seeds, progress=False)


# One rank of a 2-process gloo job: an ensemble of seeds 0 and 1, then seed 1 alone.
WORKER = """
import dataclasses, hashlib, json, os, sys
import torch
import fastmaze
from fastmaze.train.ppo import PPOConfig, train_ppo
from fastmaze.train.ppo_ensemble import train_ppo_ensemble

torch.set_num_threads(1)
config = PPOConfig(
    total_env_steps=2 * 2 * 128, num_envs=8, num_steps=16, num_minibatches=2, max_steps=10,
    env_kwargs={"num_threads": 1}, checkpoint_every=2, model="impala",
    model_kwargs={"channels": (4,), "hidden": 16},
    checkpoint_path=os.path.join(sys.argv[1], "ens.pt"),
)
spec = fastmaze.MazeSpec(size=(2, 2))
members = train_ppo_ensemble(spec, config, [0, 1], progress=False)
alone = train_ppo(spec, dataclasses.replace(config, seed=1, checkpoint_path=None), progress=False)

def digest(policy):
    flat = torch.cat([p.detach().flatten() for p in policy.parameters()])
    return hashlib.sha256(flat.numpy().tobytes()).hexdigest()

out = {"hashes": [digest(r.policy) for r in members + [alone]],
       "level_ids": [list(r.level_ids) for r in members + [alone]]}
with open(os.path.join(sys.argv[1], f"rank{os.environ['RANK']}.json"), "w") as f:
    json.dump(out, f)
import torch.distributed as tdist
tdist.destroy_process_group()
os._exit(0)
"""


def test_ddp_two_gloo_ranks(tmp_path: Path) -> None:
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = str(s.getsockname()[1])
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), str(tmp_path)],
            env=dict(
                os.environ,
                MASTER_ADDR="127.0.0.1",
                MASTER_PORT=port,
                RANK=str(rank),
                WORLD_SIZE="2",
                LOCAL_RANK=str(rank),
                OMP_NUM_THREADS="1",
                PYTHONPATH=os.pathsep.join([PACKAGE_ROOT, os.environ.get("PYTHONPATH", "")]),
            ),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for rank in range(2)
    ]
    for p in procs:
        out, _ = p.communicate(timeout=120)
        assert p.returncode == 0, out.decode()[-3000:]
    r0, r1 = (json.loads((tmp_path / f"rank{r}.json").read_text()) for r in range(2))
    assert r0["hashes"] == r1["hashes"]  # the ranks agree on every member
    assert r0["hashes"][2] == r0["hashes"][1] != r0["hashes"][0]  # seed 1 alone is member 1
    for m in range(2):  # the ranks split every member's ids
        (a0, b0), (a1, b1) = r0["level_ids"][m], r1["level_ids"][m]
        assert b0 > a0 and b1 > a1 and (b0 <= a1 or b1 <= a0)
    ckpt = torch.load(tmp_path / "ens.pt", weights_only=False)
    assert ckpt["seeds"] == [0, 1] and ckpt["world_size"] == 2 and len(ckpt["ranks"]) == 2
