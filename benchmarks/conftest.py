"""Benchmark support: collects bench_*.py, gathers each benchmark's throughput and prints a
table of levels/s at the end of the run, so the figures are visible without reading JSON."""

from __future__ import annotations

import pytest

_LOG = pytest.StashKey[list]()

# Targets for the default algorithm with 2 threads (benchmarks/README.md).
TARGETS = {"6x6": 2_000_000, "12x12": 300_000}


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_LOG] = []


def pytest_collect_file(file_path, parent):
    """Collects bench_*.py here (pyproject's python_files only knows test_*.py)."""
    if file_path.suffix == ".py" and file_path.name.startswith("bench_"):
        return pytest.Module.from_parent(parent, path=file_path)
    return None


@pytest.fixture
def throughput_log(request: pytest.FixtureRequest) -> list:
    """A run-wide list; each benchmark appends its `extra_info` dict."""
    return request.config.stash[_LOG]


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    rows = config.stash.get(_LOG, [])
    if not rows:
        return
    tr = terminalreporter
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
