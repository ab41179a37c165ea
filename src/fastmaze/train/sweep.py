"""Resumable sweeps: an experiment's runs as units of work, run in this process or as Ray
tasks, every finished run appended to the results folder's ``runs.jsonl`` as it completes.

A run is identified by `run_id`: a digest of its resolved config (the preset's fields, the
cell's axis values and its seed; not the keys in `EXECUTION_KEYS`, which say how a run is
executed, not what it computes). A rerun of the same sweep skips every run whose id is
already in ``runs.jsonl``; runs that failed or whose process was killed are reported and run
on the next invocation.

``runs.jsonl`` is written by one process only, the one driving the sweep (Ray workers hand
their rows back to it): it holds an exclusive ``flock`` on the file for the whole sweep, so
a second sweep into the same folder is refused instead of interleaving. Each row is one line
written with a single ``write`` on an ``O_APPEND`` descriptor, then ``fsync``: a line is
either whole on disk or, if the machine dies mid-write, a torn last line without its newline,
which the next sweep cuts off (that run is simply run again). The driver appends a row only
if its id is not yet in the file, so no run is ever written twice.

Units: the runs of one cell that differ only in their seed are grouped, ``ensemble`` seeds
to a unit (`units`), so that a trainer that trains K seeds at once (a seed ensemble, each
member the same training as its seed's run alone) gets them together; a unit is one Ray
task. Ray resources per unit come from the config:
``cpus_per_run`` (CPUs reserved per unit, default 1, so a local instance runs as many units
at once as it has cores) and ``gpus_per_run`` (a GPU fraction per unit, default 0; 0.25
puts four units on one GPU; set ``device`` to "cuda" with it).
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "EXECUTION_KEYS",
    "Failure",
    "Journal",
    "Unit",
    "run_id",
    "run_ray",
    "run_serial",
    "units",
]

#: Config keys that say how runs are executed, not what they compute: left out of `run_id`.
EXECUTION_KEYS = ("progress", "threads", "ensemble", "cpus_per_run", "gpus_per_run")

#: ``run_one(cfg, cell) -> row`` trains one run; ``run_group(cfg, cells) -> rows`` trains the
#: runs of one cell that differ only in their seed, together (one row per cell, in order).
RunOne = Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]]
RunGroup = Callable[[dict[str, Any], list[dict[str, Any]]], list[dict[str, Any]]]


def run_id(cfg: dict[str, Any], axes: Sequence[str], cell: dict[str, Any]) -> str:
    """The stable id (16 hex digits) of the run of ``cell`` in sweep ``cfg`` (whose swept
    keys ``axes`` hold lists): a SHA-256 of the resolved fields and the cell's values (its
    seed among them), keys sorted; `EXECUTION_KEYS` and the other values of the swept lists
    left out."""
    fixed = {k: v for k, v in cfg.items() if k not in axes and k not in EXECUTION_KEYS}
    text = json.dumps({"config": fixed, "cell": cell}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass
class Unit:
    """Runs one task trains: ``cells`` (one run, or seeds of one cell trained
    as an ensemble), their ``ids`` and their ``positions`` in the grid."""

    cells: list[dict[str, Any]]
    ids: list[str]
    positions: list[int]


@dataclass
class Failure:
    """A unit that raised, or whose process died: its cells and the error as text."""

    unit: Unit
    error: str
    detail: str = field(default="", repr=False)  # the traceback, where there is one


def units(cells: Sequence[dict[str, Any]], ids: Sequence[str], ensemble: int) -> list[Unit]:
    """``cells`` (grid order) and their ids as units: cells equal but for ``seed`` grouped,
    at most ``ensemble`` to a unit, in the order of their first cell; ``positions`` index
    ``cells``."""
    groups: dict[str, list[int]] = {}
    for i, cell in enumerate(cells):
        rest = json.dumps({k: v for k, v in cell.items() if k != "seed"}, sort_keys=True)
        groups.setdefault(rest, []).append(i)
    out = [
        Unit([cells[i] for i in run], [ids[i] for i in run], run)
        for group in groups.values()
        for run in (group[j : j + ensemble] for j in range(0, len(group), ensemble))
    ]
    return sorted(out, key=lambda u: u.positions[0])


def run_unit(
    run_one: RunOne, run_group: RunGroup | None, cfg: dict[str, Any], unit: Unit
) -> list[dict[str, Any]]:
    """The rows of ``unit``: each cell's values, what its run measured, ``run_id`` and
    ``run_s`` (seconds; a group's time shared evenly among its runs)."""
    t = time.perf_counter()
    if run_group is not None and len(unit.cells) > 1:
        results = run_group(cfg, unit.cells)
        share = (time.perf_counter() - t) / len(unit.cells)
        return [
            {**c, **r, "run_id": i, "run_s": share}
            for c, r, i in zip(unit.cells, results, unit.ids, strict=True)
        ]
    rows = []
    for cell, id_ in zip(unit.cells, unit.ids, strict=True):
        t = time.perf_counter()
        row = run_one(cfg, cell)
        rows.append({**cell, **row, "run_id": id_, "run_s": time.perf_counter() - t})
    return rows


Outcome = tuple[Unit, "list[dict[str, Any]] | Failure"]


def run_serial(
    run_one: RunOne, run_group: RunGroup | None, cfg: dict[str, Any], todo: Sequence[Unit]
) -> Iterator[Outcome]:
    """Runs the units one after another in this process; yields (unit, rows or Failure) as
    each finishes. An exception fails its unit and the sweep goes on."""
    for unit in todo:
        try:
            yield unit, run_unit(run_one, run_group, cfg, unit)
        except Exception as e:  # a failed run is reported and retried next time
            yield unit, Failure(unit, f"{type(e).__name__}: {e}", traceback.format_exc())


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise RuntimeError(
            "--ray needs Ray: pip install 'fastmaze[ray]' (or pip install 'ray[default]')"
        ) from None
    return ray


def run_ray(
    run_one: RunOne,
    run_group: RunGroup | None,
    cfg: dict[str, Any],
    todo: Sequence[Unit],
    address: str | None = None,
) -> Iterator[Outcome]:
    """Runs each unit as a Ray task; yields (unit, rows or Failure) in the order they
    finish. ``address``: None starts a local instance (every core; stopped at the end), else
    the address of a running cluster (``ray start --head`` prints it; "auto" finds one on
    this machine). In a process where Ray is already initialised, that instance is used.
    Each task reserves ``cpus_per_run`` CPUs and ``gpus_per_run`` GPUs (config keys). A task
    is not retried in the same sweep: a killed worker fails its unit, the next sweep reruns
    it. A config whose ``threads`` is None gets ``cpus_per_run`` threads per task (levels do
    not depend on the thread count)."""
    ray = _ray()
    started = not ray.is_initialized()
    if started:
        ray.init(address=address or "local", include_dashboard=False, log_to_driver=True)
    try:
        task = ray.remote(run_unit).options(
            num_cpus=cfg.get("cpus_per_run", 1),
            num_gpus=cfg.get("gpus_per_run", 0),
            max_retries=0,
        )
        if "threads" in cfg and cfg["threads"] is None:
            cfg = {**cfg, "threads": max(1, int(cfg.get("cpus_per_run", 1)))}
        cfg_ref = ray.put(cfg)
        pending = {task.remote(run_one, run_group, cfg_ref, u): u for u in todo}
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            unit = pending.pop(ready[0])
            try:
                yield unit, ray.get(ready[0])
            except ray.exceptions.RayTaskError as e:  # the run raised
                cause = getattr(e, "cause", None)
                cause = cause if isinstance(cause, BaseException) else e
                yield unit, Failure(unit, f"{type(cause).__name__}: {cause}", str(e))
            except ray.exceptions.RayError as e:  # the worker died, the node was lost
                text = " ".join(str(e).split())
                yield unit, Failure(unit, f"{type(e).__name__}: {text[:300]}", str(e))
    finally:
        if started:
            ray.shutdown()


class Journal:
    """``runs.jsonl`` of one sweep, held open (and locked) while the sweep runs: the rows
    already there (`rows`), and `append` for each new one. Use as a context manager."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self._fd: int | None = None
        self._rows: list[dict[str, Any]] = []
        self.repaired = 0  # bytes of a torn last line cut off on opening

    def __enter__(self) -> Journal:
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            os.close(fd)
            if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise RuntimeError(
                    f"{self.path}: another sweep is writing to this results folder; wait for "
                    "it to finish or choose another --out"
                ) from None
            raise
        self._fd = fd
        self._rows = self._load()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            os.close(self._fd)  # releases the lock
            self._fd = None

    def _load(self) -> list[dict[str, Any]]:
        data = self.path.read_bytes()
        end = data.rfind(b"\n") + 1
        if end < len(data):  # a torn last line: its run is run again
            self.repaired = len(data) - end
            os.ftruncate(self._fd, end)  # type: ignore[arg-type]
            os.fsync(self._fd)  # type: ignore[arg-type]
        rows = []
        for n, line in enumerate(data[:end].splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise ValueError(f"{self.path}, line {n}: not a JSON row ({e})") from None
            if not isinstance(row, dict):
                raise ValueError(f"{self.path}, line {n}: expected a JSON object per line")
            rows.append(row)
        return rows

    def rows(self) -> list[dict[str, Any]]:
        """The rows on disk when the journal was opened, then those appended, in order."""
        return list(self._rows)

    def append(self, row: dict[str, Any]) -> None:
        """Writes ``row`` as one line (one ``write``, then ``fsync``)."""
        if self._fd is None:
            raise RuntimeError("Journal.append outside its with-block")
        data = (json.dumps(row) + "\n").encode()
        view = memoryview(data)
        while view:  # one write unless the kernel takes less (then the rest, still appended)
            view = view[os.write(self._fd, view) :]
        os.fsync(self._fd)
        self._rows.append(row)
