"""PPO end to end on the CPU: env-steps/s and the fraction of time spent in the environment.

Run: ``python benchmarks/bench_train.py`` — 3 PPO updates (64 envs × 256 steps) of
`fastmaze.correlated(0.95)` with a small fully-convolutional net and the IMPALA CNN."""

from __future__ import annotations

import os
import platform

import torch

import fastmaze as fm
from fastmaze.train.ppo import PPOConfig, train_ppo

MODELS = (("fcn", {"channels": 16, "depth": 2}), ("impala", {}))


def main() -> None:
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads")  # fmt: skip
    for model, kwargs in MODELS:
        config = PPOConfig(
            total_env_steps=64 * 256 * 3,
            num_envs=64,
            num_steps=256,
            model=model,
            model_kwargs=kwargs,
            device="cpu",
            checkpoint_every=0,
        )
        timing = train_ppo(fm.correlated(0.95), config, progress=False).timing
        print(
            f"PPO {model} {kwargs}: {timing['env_steps_per_s']:,.0f} env-steps/s end to end, "
            f"environment {timing['env_fraction']:.2%} of the time, {timing['total']:.1f} s"
        )


if __name__ == "__main__":
    main()
