"""Stepping throughput: env-steps per second of `fastmaze.VecMazeEnv` with random actions.

The ``step/<obs>/<N>envs/copy=<bool>`` workloads of `fastmaze.bench.workloads` (the same
code as ``fastmaze bench step``): 13×13 boards (6×6 cells, `fastmaze.correlated(0.95)`),
auto-reset on (next-step; levels generated inline by the core), the default max_steps,
actions drawn before the timing; Python's per-call overhead counts. A round spans one
episode limit where that takes at most 2 s. Run with
``python -m pytest benchmarks/bench_env.py --benchmark-only``.
"""

from __future__ import annotations

import os

import pytest

from fastmaze.bench.workloads import WORKLOADS, Workload

THREADS = (1, 2)
STEP = [w for w in WORKLOADS.values() if w.group == "step"]


@pytest.mark.parametrize("threads", THREADS, ids=lambda t: f"{t}thr")
@pytest.mark.parametrize("workload", STEP, ids=lambda w: w.name.split("/", 1)[1])
def test_step_throughput(
    benchmark, timed, throughput_log, machine: str, workload: Workload, threads: int
):
    params = workload.params
    median = timed(workload.build(threads))
    if median is None:
        return
    num_envs = params["num_envs"]
    info = {
        "kind": "step",
        "steps_per_s": num_envs / median,
        "num_envs": num_envs,
        "obs": params["obs"],
        "copy": params["copy"],
        "threads": threads,
        "steps_per_round": benchmark.stats.iterations,
        "board": "13x13",
        "machine": machine,
        "cpu_count": os.cpu_count(),
    }
    benchmark.extra_info.update(info)
    throughput_log.append(info)
