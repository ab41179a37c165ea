"""Where PPO's time goes on the CPU, phase by phase, end to end.

Run: ``PYTHONPATH=src python benchmarks/profile_ppo.py [--model fcn] [--updates 3]
[--threads 2]``. Trains `fastmaze.train.ppo.train_ppo` on the corner experiment's 4×4
training stream (64 envs × 256 steps per update, the Procgen defaults) under
``torch.profiler`` and reports, per phase of the trainer (its ``record_function`` labels
``ppo.*``), the wall-clock time per update and its share of the run:

- ``ppo.rollout.policy``: the model's forward pass on the envs' observations, sampling, and
  the rollout storage of obs, actions, log-probs and values;
- ``ppo.rollout.env``: `VecMazeEnv.step` (the C step) and mapping its buffers as tensors;
- ``ppo.rollout.store``: rewards, dones and episode statistics into the rollout storage;
- ``ppo.gae``: advantages and returns;
- ``ppo.update.minibatch``: the permutation and the gather of each minibatch;
- ``ppo.update.forward`` / ``ppo.update.backward`` / ``ppo.update.optimizer``: the loss,
  its gradients, gradient clipping and the Adam step; ``ppo.update.metrics``: loss logging.

A one-update run first (one-off imports and allocations) is left out of the figures; then
the same run is timed without the profiler (end-to-end env-steps/s) and with it (phases).
Besides the phases, the model's own compute (convolutions, linear layers, activations and
their gradients: the ``aten::`` operators of the network) is summed over all phases.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import time
from collections import defaultdict

import torch
from torch.profiler import ProfilerActivity, profile

import fastmaze as fm
from fastmaze.train.ppo import PPOConfig, train_ppo

MODELS = {
    "fcn": ("fcn", {"channels": 32, "depth": 4}),  # the fcn of make_model's defaults
    "fcn-small": ("fcn", {"channels": 16, "depth": 2}),  # benchmarks/bench_train.py's
    "impala": ("impala", {}),  # the PPO presets' default
}
#: Operators of the network itself: forward and the autograd nodes of its backward.
MODEL_OPS = ("conv", "linear", "addmm", "mm", "relu", "threshold", "max_pool", "mean", "amax")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", choices=sorted(MODELS), default="fcn")
    ap.add_argument("--updates", type=int, default=3, help="timed updates (after one warm-up)")
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    ap.add_argument("--envs", type=int, default=64)
    ap.add_argument("--steps", type=int, default=256)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    name, kwargs = MODELS[args.model]
    spec = fm.corner(1, size=(4, 4), algorithm="kruskal")
    batch = args.envs * args.steps
    config = PPOConfig(
        total_env_steps=batch * args.updates,
        num_envs=args.envs,
        num_steps=args.steps,
        model=name,
        model_kwargs=kwargs,
        device="cpu",
        checkpoint_every=0,
        env_kwargs={"num_threads": 1},
    )
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch "
        f"{torch.__version__}, {args.threads} threads; PPO {args.model} {kwargs}, "
        f"{args.envs} envs x {args.steps} steps, {args.updates} timed updates (+1 warm-up)"
    )
    warm = dataclasses.replace(config, total_env_steps=batch)
    train_ppo(spec, warm, progress=False)  # one-off imports and allocations, not timed
    t0 = time.perf_counter()
    train_ppo(spec, config, progress=False)
    wall = time.perf_counter() - t0
    print(
        f"end to end, no profiler: {batch * args.updates / wall:,.0f} env-steps/s, "
        f"{wall / args.updates:.2f} s per update"
    )
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        t0 = time.perf_counter()
        train_ppo(spec, config, progress=False)
        wall = time.perf_counter() - t0
    print(f"under the profiler: {wall / args.updates:.2f} s per update; shares of that time")

    events = prof.events()
    phases: dict[str, float] = defaultdict(float)
    model = 0.0
    for e in events:
        if e.name.startswith("ppo."):
            phases[e.name] += e.cpu_time_total
        elif e.name.startswith("aten::") and any(k in e.name for k in MODEL_OPS):
            model += e.self_cpu_time_total
    total_us = wall * 1e6
    print(f"{'phase':24s} {'ms / update':>12s} {'share':>7s}")
    for name_, us in sorted(phases.items(), key=lambda kv: -kv[1]):
        print(f"{name_:24s} {us / 1e3 / args.updates:12.1f} {us / total_us:7.1%}")
    rest = total_us - sum(phases.values())
    print(f"{'outside the phases':24s} {rest / 1e3 / args.updates:12.1f} {rest / total_us:7.1%}")
    print(
        f"{'model compute (aten)':24s} {model / 1e3 / args.updates:12.1f} {model / total_us:7.1%}"
        "  (network operators, forward and backward, within the phases)"
    )


if __name__ == "__main__":
    main()
