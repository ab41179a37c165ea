"""Throughput of user features and rules (fastmaze.rules); compile time kept out (warm-up).

Run: ``python benchmarks/bench_rules.py [n]`` — prints machine, threads and batch size."""

from __future__ import annotations

import os
import platform
import sys
import time
from collections.abc import Callable

import numpy as np

import fastmaze as fm
from fastmaze import examples as ex


def best(fn: Callable[[], object], repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main(n: int = 1_000_000) -> None:
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, n={n} 6x6")
    spec = fm.MazeSpec(size=(6, 6), n_decoys=1)
    levels = fm.generate(spec, n, seed=0)
    for f in (ex.exit_next_to_dead_end, ex.exit_corridor_length, ex.decoy_near_start,
              ex.steps_to_exit):  # fmt: skip
        levels[:1000].compute(f)  # compile / load from cache
        for threads in (1, 2):
            t = best(lambda f=f, threads=threads: levels.compute(f, threads=threads))
            print(f"feature {f.name:24s} threads={threads}: {n / t / 1e6:7.2f} M levels/s")
    ruled = spec.replace(rules=(ex.move_exit_next_to_dead_end,))
    fm.generate(ruled, 1000)
    for threads in (1, 2):
        t0 = best(lambda threads=threads: fm.generate(spec, n, threads=threads))
        t1 = best(lambda threads=threads: fm.generate(ruled, n, threads=threads))
        print(
            f"generate threads={threads}: no rule {n / t0 / 1e6:.2f} M levels/s, "
            f"move_exit_next_to_dead_end {n / t1 / 1e6:.2f} M levels/s (rule + invariant check)"
        )
    assert np.all(fm.generate(ruled, 100).exit[:, 0] >= 0)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
