"""Throughput on a CUDA GPU: the ``cuda/generate/...`` and ``cuda/oracles/...`` workloads of
`fastmaze.bench.workloads` (the same code as ``fastmaze bench cuda``), at 65,536 and
1,048,576 levels.

- `fastmaze.cuda.generate`: complete levels per second (kernel, output allocation and the
  placement check; the levels stay on the device), 13×13 and 25×25 boards (6×6 and 12×12
  cells), backtracker and Wilson; the spec is `fastmaze.bench.workloads.bench_spec`'s.
- `fastmaze.cuda.oracles` (``path_length`` and ``ambiguous``) on levels already on the
  device, three decoys, perfect mazes and mazes with loops.

Skips without a GPU (and under Numba's CUDA simulator). The card's name is recorded in each
benchmark's ``extra_info`` (``card``); run with
``python -m pytest benchmarks/bench_cuda.py --benchmark-only``.
"""

from __future__ import annotations

import pytest

from fastmaze.bench.workloads import WORKLOADS, Workload

BATCHES = (65_536, 1_048_576)
CUDA = [w for w in WORKLOADS.values() if w.group == "cuda"]


@pytest.mark.parametrize("batch", BATCHES, ids=lambda n: f"{n}lv")
@pytest.mark.parametrize("workload", CUDA, ids=lambda w: w.name.split("/", 1)[1])
def test_cuda_throughput(benchmark, timed, workload: Workload, batch: int):
    why = workload.requires()
    if why:
        pytest.skip(why)
    prepared = workload.prepare(threads=None, **{**workload.params, "batch": batch})
    card = prepared.info["device"]
    median = timed(prepared)
    if median is None:
        return
    size = workload.params["size"]
    benchmark.extra_info.update(
        {
            "card": card,
            "workload": workload.name,
            "board": f"{2 * size + 1}x{2 * size + 1}",
            "cells": f"{size}x{size}",
            **{k: v for k, v in workload.params.items() if k in ("algorithm", "loops")},
            "batch": batch,
            "levels_per_s": batch / median,
            "levels_per_s_best": batch / benchmark.stats.stats.min,
            "seconds_per_call": median,
        }
    )
    print(f"\n{card}: {workload.name}, {batch:,} levels: {batch / median:,.0f} levels/s")
