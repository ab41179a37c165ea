"""Walk throughput: level-trajectories classified per second by `fastmaze.walk`.

The ``walk/<policy>/6x6`` workloads of `fastmaze.bench.workloads` (the same code as
``fastmaze bench walk``): 13x13 boards (6x6 cells, off-path conflict levels). Policies: the
oracle's action map (every walk reaches the exit, with ``path_length`` given as an
evaluation has it), a random uint8 action map (most walks stall or loop within a few steps)
and float32 scores [n, 4, H, W] (a model's output, argmax per visited square). Levels and
policies are built outside the timing. Target: >= 10 M level-trajectories/s with 2 threads
on the oracle map. Run with ``python -m pytest benchmarks/bench_walk.py --benchmark-only``.
"""

from __future__ import annotations

import os
import platform

import pytest

from fastmaze.bench.workloads import WORKLOADS, Workload

THREADS = (1, 2)
TARGET = 10_000_000  # level-trajectories/s, oracle map, 2 threads
WALK = [w for w in WORKLOADS.values() if w.group == "walk"]


@pytest.mark.parametrize("threads", THREADS, ids=lambda t: f"{t}thr")
@pytest.mark.parametrize("workload", WALK, ids=lambda w: w.params["policy"])
def test_walk_throughput(
    benchmark, timed, throughput_log, machine: str, workload: Workload, threads: int
):
    params = workload.params
    prepared = workload.build(threads)
    result = prepared.call()
    if params["policy"] == "oracle":
        assert (result.outcome == 1).all()
    median = timed(prepared)
    if median is None:  # --benchmark-disable: ran once as a smoke test, no timings
        return
    n, size = params["batch"], params["size"]
    info = {
        "kind": "walk",
        "walks_per_s": n / median,
        "walks_per_s_best": n / benchmark.stats.stats.min,
        "ns_per_walk": median / n * 1e9,
        "mean_steps": float(result.steps.mean()),
        "policy": params["policy"],
        "threads": threads,
        "batch": n,
        "size": f"{2 * size + 1}x{2 * size + 1}",
        "seconds_per_call": median,
        "target": TARGET if params["policy"] == "oracle" and threads == 2 else None,
        "machine": machine,
        "cpu_count": os.cpu_count(),
        "processor": platform.processor(),
    }
    benchmark.extra_info.update(info)
    throughput_log.append(info)
