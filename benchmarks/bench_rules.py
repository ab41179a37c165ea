"""Throughput of user features and rules (fastmaze.rules, Numba); compile time kept out.

Run: ``python benchmarks/bench_rules.py [fastmaze bench options]`` (e.g. ``--quick``): the
``feature/...`` and ``rule/...`` workloads of `fastmaze.bench.workloads` beside plain 6×6
generation, i.e. ``fastmaze bench feature rule generate/backtracker/6x6``; the report gives
machine, threads and batch sizes."""

from __future__ import annotations

import sys

from fastmaze.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", "feature", "rule", "generate/backtracker/6x6", *sys.argv[1:]]))
