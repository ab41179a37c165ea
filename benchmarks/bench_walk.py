"""Walk throughput: level-trajectories classified per second by `fastmaze.walk`.

13x13 boards (6x6 cells, off-path conflict levels). Policies: the oracle's action map (uint8,
every walk reaches the exit, with ``path_length`` given as an evaluation has it), a random
action map (most walks stall or loop within a few steps) and float32 scores [n, 4, H, W] (a
model's output, argmax per visited square). Levels and policies are built once outside the
timing; each round is one `walk` call. Target: >= 10 M level-trajectories/s with 2 threads
on the oracle map. Run with
``python -m pytest benchmarks/bench_walk.py --benchmark-only``.
"""

from __future__ import annotations

import os
import platform

import numpy as np
import pytest

import fastmaze as fm

SIZE = 6  # cells: 13 x 13 squares
THREADS = (1, 2)
BATCH = {"oracle": 262_144, "random": 262_144, "scores": 65_536}
ROUNDS = 5
TARGET = 10_000_000  # level-trajectories/s, oracle map, 2 threads


@pytest.fixture(scope="module")
def workload() -> dict:
    levels = fm.generate(fm.conflict(size=SIZE), max(BATCH.values()), seed=0)
    oracles = fm.solve(levels)
    rng = np.random.default_rng(0)
    n, H, W = levels.grid.shape
    return {
        "levels": levels,
        "path_length": oracles.path_length,
        "oracle": oracles.optimal_action,
        "random": rng.integers(0, 4, size=(n, H, W), dtype=np.uint8),
        "scores": rng.normal(size=(BATCH["scores"], 4, H, W)).astype(np.float32),
    }


@pytest.mark.parametrize("threads", THREADS, ids=lambda t: f"{t}thr")
@pytest.mark.parametrize("policy", list(BATCH))
def test_walk_throughput(
    benchmark, throughput_log, machine: str, workload: dict, policy: str, threads: int
):
    n = BATCH[policy]
    levels = workload["levels"][:n]
    pol = workload[policy][:n]
    lengths = workload["path_length"][:n]
    fm.walk(levels, pol, threads=threads, path_length=lengths)  # warm-up: OpenMP pool, pages
    result = benchmark.pedantic(
        lambda: fm.walk(levels, pol, threads=threads, path_length=lengths),
        rounds=ROUNDS,
        iterations=1,
        warmup_rounds=1,
    )
    if policy == "oracle":
        assert (result.outcome == 1).all()
    if benchmark.disabled:  # --benchmark-disable: ran once as a smoke test, no timings
        return
    stats = benchmark.stats.stats
    info = {
        "kind": "walk",
        "walks_per_s": n / stats.median,
        "walks_per_s_best": n / stats.min,
        "ns_per_walk": stats.median / n * 1e9,
        "mean_steps": float(result.steps.mean()),
        "policy": policy,
        "threads": threads,
        "batch": n,
        "size": f"{2 * SIZE + 1}x{2 * SIZE + 1}",
        "seconds_per_call": stats.median,
        "target": TARGET if policy == "oracle" and threads == 2 else None,
        "machine": machine,
        "cpu_count": os.cpu_count(),
        "processor": platform.processor(),
    }
    benchmark.extra_info.update(info)
    throughput_log.append(info)
