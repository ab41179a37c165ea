"""Seed ensembles against sequential solo runs: training samples/s per member.

Run: ``python benchmarks/bench_ensemble.py`` — for K ∈ {1, 4, 16} seeds of each default
supervised model (the fully convolutional net on the exit task, the recurrent net on the
path task; `SupervisedConfig` defaults, 4×4 Kruskal mazes), trains the K seeds as one
ensemble (both ways of running members, `fastmaze.train.ensemble.VECTORIZED`) and as K
solo runs one after another, and prints samples/s per member (each member's levels per
second of wall time while all K train) and the ensemble's speed-up over the sequential
runs; then the same for PPO (the default IMPALA policy and rollout, env steps/s per
member, `train_ppo_ensemble` against `train_ppo`). ``--tiny`` checks that everything
runs in seconds (figures meaningless); ``--device cuda`` measures on a GPU.

`cuda_ensemble` is the GPU check's entry ("an ensemble of 16 on CUDA"): it measures one
ensemble of 16 against 16 sequential runs and reports how far member 0 is from the solo
run of its seed.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from dataclasses import replace
from typing import Any

import torch

import fastmaze as fm
from fastmaze.train import ensemble
from fastmaze.train.ppo import PPOConfig, train_ppo
from fastmaze.train.ppo_ensemble import train_ppo_ensemble
from fastmaze.train.supervised import SupervisedConfig, train_supervised

MODELS = (("fcn", "exit", {}), ("recurrent", "path", {}))
TINY = {"steps": 2, "batch": 8, "model_kwargs": {"channels": 4}}


def _config(model: str, task: str, kwargs: dict, device: str, tiny: bool, **kw: Any):
    c = SupervisedConfig(
        model=model,
        task=task,
        model_kwargs=kwargs,
        device=device,
        progress=False,
        eval_episodes=16,
        steps=kw.pop("steps", 50),
        batch=kw.pop("batch", 128),
        **kw,
    )
    if tiny:
        c = replace(c, **{**TINY, "model_kwargs": {**kwargs, **TINY["model_kwargs"]}})
        if model == "recurrent":
            c.model_kwargs["iterations"] = 2
    return c


def _flat(model: torch.nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().flatten().cpu() for p in model.parameters()])


def measure(config: SupervisedConfig, k: int, vectorized: bool | None = None) -> dict[str, Any]:
    """One row: K seeds of ``config`` as an ensemble (members run per ``vectorized``; None:
    the device's default) and as K sequential solo runs. Samples/s count training levels
    (the loops' own ``samples_per_s``; evaluation left out); ``max_abs_diff``: largest
    parameter difference of member 0 against the solo run of its seed."""
    device_type = torch.device(config.device or "cpu").type
    default = ensemble.VECTORIZED.get(device_type, True)
    ensemble.VECTORIZED[device_type] = default if vectorized is None else vectorized
    try:
        t = time.perf_counter()
        members = (
            ensemble.train_supervised_ensemble(config, range(k)) if k > 1 else None
        )  # K = 1: the solo run is the ensemble
    finally:
        ensemble.VECTORIZED[device_type] = default
    solos = [train_supervised(replace(config, seed=s)) for s in range(k)]
    members = members or solos[:1]
    seq_s = sum(config.batch * r["steps"] / r["samples_per_s"] for r in solos)
    ens_s = config.batch * members[0]["steps"] / members[0]["samples_per_s"]
    return {
        "model": config.model,
        "task": config.task,
        "unit": "samples/s",
        "members": k,
        "vmap": ensemble.VECTORIZED.get(device_type, True) if vectorized is None else vectorized,
        "ensemble_per_member": members[0]["samples_per_s"],
        "sequential_per_member": config.batch * config.steps / seq_s,
        "speedup": seq_s / ens_s,
        "max_abs_diff": float((_flat(members[0]["model"]) - _flat(solos[0]["model"])).abs().max()),
        "wall_s": time.perf_counter() - t,
    }


def measure_ppo(config: PPOConfig, k: int) -> dict[str, Any]:
    """One row for PPO: K seeds of ``config`` as `train_ppo_ensemble` and as K sequential
    `train_ppo` runs; env steps/s per member (each member's steps per second of wall time
    while all K train) and the speed-up."""
    spec = fm.correlated(0.95, size=(4, 4), algorithm="kruskal")
    t = time.perf_counter()
    members = train_ppo_ensemble(spec, config, range(k), progress=False) if k > 1 else None
    solos = [train_ppo(spec, replace(config, seed=s), progress=False) for s in range(k)]
    members = members or solos[:1]
    seq_s = sum(r.timing["total"] for r in solos)
    ens_s = members[0].timing["total"]
    steps = members[0].history[-1]["env_steps"]
    diff = (_flat(members[0].policy) - _flat(solos[0].policy)).abs().max()
    return {
        "model": f"ppo {config.model}",
        "task": "env",
        "unit": "env steps/s",
        "members": k,
        "vmap": ensemble.VECTORIZED.get(torch.device(config.device or "cpu").type, True),
        "ensemble_per_member": steps / ens_s,
        "sequential_per_member": steps / seq_s,
        "speedup": seq_s / ens_s,
        "max_abs_diff": float(diff),
        "wall_s": time.perf_counter() - t,
    }


def cuda_ensemble(k: int = 16, steps: int = 50, batch: int = 128) -> dict[str, Any] | None:
    """An ensemble of ``k`` of the default recurrent path-task model on CUDA against ``k``
    sequential runs (`measure`, vmap'd members); None without a CUDA device."""
    if not torch.cuda.is_available():
        return None
    config = _config("recurrent", "path", {}, "cuda", False, steps=steps, batch=batch)
    return measure(config, k, vectorized=True)


def _print(row: dict[str, Any]) -> None:
    print(
        f"{row['model']:>9} {row['task']:>4}  K={row['members']:<3} "
        f"{'vmap' if row['vmap'] else 'loop'}  ensemble {row['ensemble_per_member']:>10,.0f}"
        f"  sequential {row['sequential_per_member']:>10,.0f} {row['unit']} per member  "
        f"speed-up {row['speedup']:.2f}x  member 0 vs solo {row['max_abs_diff']:.1e}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ks", default="1,4,16", help="ensemble sizes (comma-separated)")
    parser.add_argument("--steps", type=int, default=50, help="training steps per run")
    parser.add_argument("--batch", type=int, default=128, help="levels per member per step")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--tiny", action="store_true", help="a seconds-long smoke run")
    args = parser.parse_args()
    ks = [int(k) for k in args.ks.split(",")]
    if args.tiny and args.ks == "1,4,16":
        ks = [1, 2]
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {args.device}, "
        f"batch {args.batch if not args.tiny else TINY['batch']} per member"
    )
    for model, task, kwargs in MODELS:
        config = _config(
            model, task, kwargs, args.device, args.tiny, steps=args.steps, batch=args.batch
        )
        for k in ks:
            for vectorized in (False, True) if k > 1 else (None,):
                _print(measure(config, k, vectorized))
    ppo = PPOConfig(  # the default model and rollout (64 envs x 256 steps), 2 updates
        total_env_steps=2 * 64 * 256, device=args.device, checkpoint_every=0
    )
    if args.tiny:
        ppo = replace(ppo, total_env_steps=8 * 16, num_envs=8, num_steps=16, num_minibatches=2)
        ppo = replace(ppo, model_kwargs={"channels": (4,), "hidden": 16})
    for k in ks:
        _print(measure_ppo(ppo, k))


if __name__ == "__main__":
    main()
