"""Benchmark support: collects bench_*.py, times the shared workloads of `fastmaze.bench`
with pytest-benchmark (the `timed` fixture), gathers each benchmark's throughput and prints
tables of levels/s and env-steps/s at the end of the run, so the figures are visible without
reading JSON."""

from __future__ import annotations

import os
import platform
import time

import pytest

from fastmaze.bench.timing import calls_per_rep
from fastmaze.bench.workloads import Prepared

ROUNDS = 5
MIN_ROUND_S = 0.1  # a round (pytest-benchmark's repetition) lasts at least this long
MAX_ROUND_S = 2.0  # ... and spans the workload's min_calls (one episode) unless over this

_LOG = pytest.StashKey[list]()

# Targets for the default algorithm with 2 threads (benchmarks/README.md).
TARGETS = {"6x6": 2_000_000, "12x12": 300_000}
# Stepping targets, symbolic observations updated in place (copy=False), 2 threads, auto-reset
# on (benchmarks/README.md).
STEP_TARGETS = {1024: 30_000_000, 65536: 200_000_000}


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_LOG] = []


def pytest_collect_file(file_path, parent):
    """Collects bench_*.py here (pyproject's python_files only knows test_*.py)."""
    is_bench = file_path.suffix == ".py" and file_path.name.startswith("bench_")
    # a file named on the command line is collected by pytest itself already
    if is_bench and not parent.session.isinitpath(file_path):
        return pytest.Module.from_parent(parent, path=file_path)
    return None


@pytest.fixture(scope="session")
def machine() -> str:
    """CPU model (platform.processor(), else /proc/cpuinfo) and logical core count."""
    name = platform.processor()
    if not name and os.path.exists("/proc/cpuinfo"):
        with open("/proc/cpuinfo") as f:
            name = next(
                (ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), ""
            )
    return f"{name or platform.machine()}, {os.cpu_count()} logical cores"


@pytest.fixture
def timed(benchmark):
    """``timed(prepared)``: `time_prepared` with this test's ``benchmark``."""
    return lambda prepared: time_prepared(benchmark, prepared)


def time_prepared(benchmark, prepared: Prepared) -> float | None:
    """Times ``prepared.call`` with ``benchmark.pedantic``: the warm-up calls, then `ROUNDS`
    rounds of as many calls as `fastmaze.bench.timing.calls_per_rep` gives (one warm-up
    round more); closes ``prepared``. Seconds per call (median), None when the benchmark is
    disabled (``--benchmark-disable``: one call as a smoke test)."""
    try:
        if benchmark.disabled:
            benchmark(prepared.call)
            return None
        done = prepared.sync or (lambda: None)
        for _ in range(prepared.warmup):  # compilation, thread pools, first touch of buffers
            prepared.call()
        done()
        t0 = time.perf_counter()
        prepared.call()
        done()
        calls = calls_per_rep(
            time.perf_counter() - t0, MIN_ROUND_S, MAX_ROUND_S, prepared.min_calls
        )

        def call() -> None:
            prepared.call()
            if prepared.sync is not None:
                prepared.sync()

        benchmark.pedantic(call, rounds=ROUNDS, iterations=calls, warmup_rounds=1)
        return benchmark.stats.stats.median
    finally:
        if prepared.close is not None:
            prepared.close()


@pytest.fixture
def throughput_log(request: pytest.FixtureRequest) -> list:
    """A run-wide list; each benchmark appends its `extra_info` dict."""
    return request.config.stash[_LOG]


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    rows = config.stash.get(_LOG, [])
    _generation_table(terminalreporter, [r for r in rows if "levels_per_s" in r])
    _step_table(terminalreporter, [r for r in rows if r.get("kind") == "step"])


def _step_table(tr, rows: list[dict]) -> None:
    if not rows:
        return
    tr.write_sep("=", "fastmaze stepping throughput (env-steps/s, median of rounds, 13x13 boards)")
    tr.write_line(f"machine: {rows[0]['machine']}")
    threads = sorted({r["threads"] for r in rows})
    head = f"{'obs':<11} {'num_envs':>9} {'copy':>5}"
    tr.write_line(head + "".join(f" {f'{t} thr':>14}" for t in threads))
    by_key = {(r["obs"], r["num_envs"], r["copy"], r["threads"]): r for r in rows}
    for obs, n, copy in dict.fromkeys((r["obs"], r["num_envs"], r["copy"]) for r in rows):
        cells = [by_key.get((obs, n, copy, t)) for t in threads]
        line = f"{obs:<11} {n:>9,} {copy!s:>5}"
        line += "".join(f" {c['steps_per_s']:>14,.0f}" if c else f" {'-':>14}" for c in cells)
        tr.write_line(line)
    for n, target in STEP_TARGETS.items():
        r = by_key.get(("symbolic", n, False, 2))
        if r is not None:
            verdict = "meets" if r["steps_per_s"] >= target else "MISSES"
            tr.write_line(
                f"target symbolic, {n:,} envs, copy=False, 2 threads: {r['steps_per_s']:,.0f} "
                f"env-steps/s {verdict} >= {target:,}"
            )


def _generation_table(tr, rows: list[dict]) -> None:
    if not rows:
        return
    tr.write_sep("=", "fastmaze generation throughput (complete levels/s, median of rounds)")
    tr.write_line(f"machine: {rows[0]['machine']}")
    by_key = {(r["size"], r["algorithm"], r["threads"]): r for r in rows}
    threads = sorted({r["threads"] for r in rows})
    head = f"{'size':>6} {'algorithm':<12}" + "".join(
        f" {'batch':>8} {f'{t} thr levels/s':>16} {'ns/cell':>8}" for t in threads
    )
    if len(threads) > 1:
        head += f" {'speedup':>8}"
    tr.write_line(head)
    sizes = sorted({r["size"] for r in rows}, key=lambda s: int(s.split("x")[0]))
    algorithms = list(dict.fromkeys(r["algorithm"] for r in rows))
    for size in sizes:
        for alg in algorithms:
            cells = [by_key.get((size, alg, t)) for t in threads]
            if not any(cells):
                continue
            line = f"{size:>6} {alg:<12}"
            for r in cells:
                if r is None:
                    line += f" {'-':>8} {'-':>16} {'-':>8}"
                else:
                    line += f" {r['batch']:>8} {r['levels_per_s']:>16,.0f} {r['ns_per_cell']:>8.1f}"
            if len(threads) > 1 and all(cells):
                line += f" {cells[-1]['levels_per_s'] / cells[0]['levels_per_s']:>7.2f}x"
            tr.write_line(line)
    for size, target in TARGETS.items():
        r = by_key.get((size, "backtracker", 2))
        if r is not None:
            verdict = "meets" if r["levels_per_s"] >= target else "MISSES"
            tr.write_line(
                f"target {size}, backtracker, 2 threads: {r['levels_per_s']:,.0f} levels/s "
                f"{verdict} >= {target:,}"
            )
