"""Running the benchmark: the selected workloads at each thread count, the peers beside
their twins, the report document, the comparison with an earlier run."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastmaze.bench import machine, report
from fastmaze.bench.timing import measure
from fastmaze.bench.workloads import Workload, select

# Repetitions and their length per scale (``reps`` >= 5; min/max seconds per repetition).
SETTINGS: dict[str, dict[str, Any]] = {
    "full": {"reps": 7, "min_time": 0.2, "max_time": 2.0},
    "quick": {"reps": 5, "min_time": 0.02, "max_time": 0.25},
    "tiny": {"reps": 5, "min_time": 0.0, "max_time": 0.0},
}
WARMUP_CALLS = 1  # at least; a workload may ask for more (`Prepared.warmup`)
MIN_REPS = 5


def default_threads() -> list[int]:
    """1 and every core (`fastmaze.default_threads`)."""
    from fastmaze.levels import default_threads as every_core

    return sorted({1, every_core()})


@dataclass
class Options:
    """What to run. ``workloads``: patterns (`fastmaze.bench.workloads.select`); ``threads``:
    thread counts (default `default_threads`); ``scale``: "full", "quick" or "tiny" (tests);
    ``reps`` overrides the repetitions (>= 5); ``peers``: measure the peer libraries beside
    their twins (those matching the selected groups, or all with ``all_peers``), from this
    interpreter or the venvs under ``venvs``; ``families`` limits the peer families;
    ``command`` is recorded as the command line; ``clock`` is the timer (tests)."""

    workloads: Sequence[str] = ()
    threads: Sequence[int] | None = None
    scale: str = "full"
    reps: int | None = None
    peers: bool = False
    all_peers: bool = False
    venvs: Path = Path(".peer-venvs")
    families: Sequence[str] | None = None
    progress: bool = True
    command: str = ""
    clock: Callable[[], float] | None = None
    settings: dict[str, Any] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        if self.scale not in SETTINGS:
            raise ValueError(f"scale: {self.scale!r}; expected one of {', '.join(SETTINGS)}")
        threads = list(default_threads() if self.threads is None else self.threads)
        if not threads or any(
            isinstance(t, bool) or not isinstance(t, int) or t < 1 for t in threads
        ):
            raise ValueError(f"threads: {self.threads!r}; expected positive integers, e.g. 1,2")
        self.threads = sorted(set(threads))
        if self.reps is not None and (isinstance(self.reps, bool) or self.reps < MIN_REPS):
            raise ValueError(f"reps: {self.reps!r}; expected an integer >= {MIN_REPS}")
        self.settings = {**SETTINGS[self.scale], **({"reps": self.reps} if self.reps else {})}


def measure_workload(w: Workload, threads: int | None, options: Options) -> dict[str, Any]:
    """One result of the report: ``w`` prepared at ``options.scale`` and timed."""
    prepared = w.build(threads, options.scale)
    try:
        m = measure(
            prepared.call,
            prepared.units,
            sync=prepared.sync,
            min_calls=prepared.min_calls,
            warmup=max(WARMUP_CALLS, prepared.warmup),
            clock=options.clock,
            **options.settings,
        )
    finally:
        if prepared.close is not None:
            prepared.close()
    return {
        "workload": w.name,
        "group": w.group,
        "unit": w.unit,
        "threads": threads,
        "params": w.arguments(options.scale),
        "info": {
            **prepared.info,
            **({"warmup_calls": prepared.warmup} if prepared.warmup > 1 else {}),
        },
        **m,
    }


def _bar(total: int, enabled: bool) -> Any:
    from tqdm.auto import tqdm

    return tqdm(
        total=total, desc="fastmaze bench", unit="figure", disable=not enabled, file=sys.stderr
    )


def bench(options: Options) -> dict[str, Any]:
    """Runs what ``options`` selects; the report document (schema: `fastmaze.bench`)."""
    chosen = select(options.workloads)
    started, t0 = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), time.perf_counter()
    load_before = machine.load_average()
    runnable, skipped = [], []
    for w in chosen:
        why = (w.full_only if options.scale == "quick" else "") or w.requires()
        if why:
            skipped.append({"workload": w.name, "reason": why})
        else:
            runnable.append(w)
    tasks = [(w, t) for w in runnable for t in (options.threads if w.threaded else [None])]
    results: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []

    def run(w: Workload, threads: int | None) -> None:
        try:
            results.append(measure_workload(w, threads, options))
        except Exception as e:  # one failing workload must not hide the others' figures
            failed.append(
                {"workload": w.name, "threads": threads, "error": f"{type(e).__name__}: {e}"}
            )

    bar = _bar(len(tasks), options.progress)
    for w, threads in tasks:
        bar.set_postfix_str(f"{w.name}, {f'{threads} thr.' if threads else 'device'}", False)
        run(w, threads)
        bar.update()
    bar.close()

    peer_rows, peers_skipped = [], []
    if options.peers:
        from fastmaze.bench import peers

        groups = {w.group for w in chosen}
        cases = [
            c
            for c in peers.CASES
            if options.all_peers or not options.workloads or c.group in groups
        ]
        families = [f for f in peers.FAMILIES if not options.families or f.name in options.families]

        def twin(w: Workload) -> list[dict[str, Any]]:
            before = len(results)
            for threads in options.threads:
                run(w, threads)
            return results[before:]

        peer_rows, peers_skipped = peers.measure_peers(
            cases, families, options.venvs, options.settings, options.scale != "full", twin
        )
        twins = {r["twin"] for r in peer_rows}
        results = [r for r in results if r["workload"] not in twins]  # they live in the rows

    doc = {
        "schema": report.SCHEMA,
        "schema_version": report.SCHEMA_VERSION,
        "created": started,
        "command": options.command,
        "scale": options.scale,
        "threads": list(options.threads),
        "timing": {
            "reps": options.settings["reps"],
            "min_time_s": options.settings["min_time"],
            "max_time_s": options.settings["max_time"],
            "warmup_calls": WARMUP_CALLS,
        },
        "machine": machine.machine(),
        "versions": machine.versions(),
        "load_average": {"before": load_before, "after": machine.load_average()},
        "duration_s": time.perf_counter() - t0,
        "results": results,
        "skipped": skipped,
        "failed": failed,
        "peers": peer_rows,
        "peers_skipped": peers_skipped,
    }
    return report.validate(doc)


def main(
    options: Options,
    json_path: Path | None = None,
    markdown_path: Path | None = None,
    compare_path: Path | None = None,
    out: Any = None,
) -> int:
    """Runs the benchmark, prints the Markdown report (to ``out``, default stdout) and
    writes the files asked for (their folders made where missing). ``compare_path`` is read
    (and validated) before anything runs. Returns 0, or 1 where a workload failed (a
    regression is never a failure)."""
    old = report.load(compare_path) if compare_path is not None else None
    doc = bench(options)
    text = report.markdown(doc, old, str(compare_path or ""))
    (out or sys.stdout).write(text)
    if json_path is not None:
        Path(json_path).parent.mkdir(parents=True, exist_ok=True)
        report.save(doc, json_path)
    if markdown_path is not None:
        Path(markdown_path).parent.mkdir(parents=True, exist_ok=True)
        Path(markdown_path).write_text(text)
    return 1 if doc["failed"] else 0


def listing() -> str:
    """Every workload: name, unit, whether it runs here, what it measures."""
    from fastmaze.bench.workloads import WORKLOADS

    lines = []
    for w in WORKLOADS.values():
        why = w.requires()
        lines.append(
            f"{w.name:<44} {w.unit:<12} {w.description}" + (f" [skipped: {why}]" if why else "")
        )
    return "\n".join(lines)
