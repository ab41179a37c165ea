"""Stepping throughput: env-steps per second of `fastmaze.VecMazeEnv` with random actions.

13×13 boards (6×6 cells), auto-reset on (next-step, the default; levels generated inline by
the core), the default max_steps. A round is ``STEPS`` calls of ``env.step`` with actions
drawn before the timing; the Python overhead of a call counts. Run with
``python -m pytest benchmarks/bench_env.py --benchmark-only``.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

import fastmaze

NUM_ENVS = (32, 1024, 65536)
THREADS = (1, 2)
OBS = ("symbolic", "rgb", "egocentric")
ROUNDS = 5


def steps_per_round(num_envs: int, obs: str) -> int:
    """Calls per round: about 2-20 million env-steps (fewer for the heavy rgb images)."""
    budget = 2_000_000 if obs == "rgb" else 20_000_000
    return max(10, min(2000, budget // num_envs))


@pytest.mark.parametrize("threads", THREADS, ids=lambda t: f"{t}thr")
@pytest.mark.parametrize("obs", OBS)
@pytest.mark.parametrize("num_envs", NUM_ENVS, ids=lambda n: f"{n}envs")
def test_step_throughput(
    benchmark, throughput_log, machine: str, num_envs: int, obs: str, threads: int
):
    if obs == "rgb" and num_envs > 1024:
        pytest.skip("rgb at 65,536 envs needs 2.8 GB of observations; measured up to 1,024")
    env = fastmaze.VecMazeEnv(
        fastmaze.correlated(0.95), num_envs, seed=0, obs=obs, num_threads=threads, pixels=4
    )
    env.reset()
    steps = steps_per_round(num_envs, obs)
    actions = np.random.default_rng(0).integers(0, 4, (steps, num_envs), dtype=np.int64)

    def run() -> None:
        for a in actions:
            env.step(a)

    run()  # warm-up: thread pool, pages of the buffers
    benchmark.pedantic(run, rounds=ROUNDS, iterations=1, warmup_rounds=0)
    if benchmark.disabled:
        return
    median = benchmark.stats.stats.median
    info = {
        "kind": "step",
        "steps_per_s": steps * num_envs / median,
        "num_envs": num_envs,
        "obs": obs,
        "threads": threads,
        "steps_per_round": steps,
        "board": "13x13",
        "machine": machine,
        "cpu_count": os.cpu_count(),
    }
    benchmark.extra_info.update(info)
    throughput_log.append(info)
