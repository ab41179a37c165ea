"""Generation throughput: complete levels per second from `fastmaze.generate`.

The ``generate/<algorithm>/<size>`` workloads of `fastmaze.bench.workloads` (the same code
as ``fastmaze bench generate``): a level is fully placed (carved maze, exit, start, one
decoy, green/red exit colour and decoy colour); each call is one `generate` into fresh
arrays (what users call), batches sized so a call takes roughly 0.1-0.3 s on a current x86
core. Run with ``python -m pytest benchmarks/ --benchmark-only``.
"""

from __future__ import annotations

import os
import platform

import pytest

from fastmaze.bench.workloads import WORKLOADS, Workload

THREADS = (1, 2)
GENERATE = [w for w in WORKLOADS.values() if w.group == "generate"]


@pytest.mark.parametrize("threads", THREADS, ids=lambda t: f"{t}thr")
@pytest.mark.parametrize("workload", GENERATE, ids=lambda w: w.name.split("/", 1)[1])
def test_generate_throughput(
    benchmark, timed, throughput_log, machine: str, workload: Workload, threads: int
):
    params = workload.params
    median = timed(workload.build(threads))
    if median is None:  # --benchmark-disable: ran once as a smoke test, no timings
        return
    size, batch = params["size"], params["batch"]
    info = {
        "levels_per_s": batch / median,
        "levels_per_s_best": batch / benchmark.stats.stats.min,
        "ns_per_cell": median / batch / (size * size) * 1e9,
        "threads": threads,
        "batch": batch,
        "size": f"{size}x{size}",
        "algorithm": params["algorithm"],
        "seconds_per_call": median,
        "machine": machine,
        "cpu_count": os.cpu_count(),
        "processor": platform.processor(),
    }
    benchmark.extra_info.update(info)
    throughput_log.append(info)
