"""Generation throughput: complete levels per second from `fastmaze.generate`.

A level is fully placed: carved maze, exit, start, one decoy, green/red exit colour and
decoy colour. Each round is one `generate` call into fresh arrays (what users call); the
batch is sized so a round takes roughly 0.1-0.3 s on a current x86 core. Run with
``python -m pytest benchmarks/ --benchmark-only``.
"""

from __future__ import annotations

import os
import platform

import pytest

import fastmaze
from fastmaze import MazeSpec
from fastmaze.spec import ALGORITHMS

SIZES = (6, 12, 24)
THREADS = (1, 2)
# Levels per round, per board size and algorithm. "open" skips carving and is memory-bound,
# so its batch is capped by memory (a round is ~2 x 170 MB at most) and it runs several
# calls per round instead.
BATCH = {
    6: {"backtracker": 262_144, "kruskal": 262_144, "prim": 262_144, "wilson": 131_072},
    12: {"backtracker": 65_536, "kruskal": 32_768, "prim": 32_768, "wilson": 32_768},
    24: {"backtracker": 16_384, "kruskal": 8_192, "prim": 16_384, "wilson": 8_192},
}
OPEN_BATCH = {6: 524_288, 12: 131_072, 24: 32_768}
OPEN_ITERATIONS = {6: 2, 12: 4, 24: 8}
ROUNDS = 5


def bench_spec(size: int, algorithm: str) -> MazeSpec:
    return MazeSpec(
        size=(size, size),
        algorithm=algorithm,
        exit_color={"green": 0.9, "red": 0.1},
        n_decoys=1,
        decoy_color={"green": 0.5, "red": 0.5},
    )


@pytest.mark.parametrize("threads", THREADS, ids=lambda t: f"{t}thr")
@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s}x{s}")
def test_generate_throughput(
    benchmark, throughput_log, machine: str, size: int, algorithm: str, threads: int
):
    spec = bench_spec(size, algorithm)
    if algorithm == "open":
        batch, iterations = OPEN_BATCH[size], OPEN_ITERATIONS[size]
    else:
        batch, iterations = BATCH[size][algorithm], 1
    # Warm-up outside the timing: OpenMP thread pool, first-touch of the allocator's pages.
    warm = fastmaze.generate(spec, min(batch, 4096), seed=1, threads=threads)
    assert warm.grid.shape == (min(batch, 4096), *spec.shape)

    seed = iter(range(10**6))
    levels = benchmark.pedantic(
        lambda: fastmaze.generate(spec, batch, seed=next(seed), threads=threads),
        rounds=ROUNDS,
        iterations=iterations,
        warmup_rounds=1,
    )
    assert len(levels) == batch
    if benchmark.disabled:  # --benchmark-disable: ran once as a smoke test, no timings
        return
    stats = benchmark.stats.stats  # seconds per call (per iteration)
    info = {
        "levels_per_s": batch / stats.median,
        "levels_per_s_best": batch / stats.min,
        "ns_per_cell": stats.median / batch / (size * size) * 1e9,
        "threads": threads,
        "batch": batch,
        "size": f"{size}x{size}",
        "algorithm": algorithm,
        "seconds_per_call": stats.median,
        "machine": machine,
        "cpu_count": os.cpu_count(),
        "processor": platform.processor(),
    }
    benchmark.extra_info.update(info)
    throughput_log.append(info)
