"""Resumable sweeps: run ids, the ``runs.jsonl`` journal (one line per run, torn lines cut,
one writer), serial resume after a failed run, and the same sweep as Ray tasks (same rows
as the serial sweep; a worker killed mid-run finishes on rerun, every run exactly once)."""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")

from fastmaze.cli import main  # noqa: E402
from fastmaze.train import experiments as ex  # noqa: E402
from fastmaze.train import sweep  # noqa: E402

torch.set_num_threads(1)
# Four runs: 2 p x 2 seeds of a tiny trajectory sweep.
TINY = {
    "size": [3, 3],
    "eval_episodes": 100,
    "threads": 1,
    "progress": False,
    "steps": 3,
    "batch": 8,
    "ps": [0.0, 0.5],
    "cues": ["channel"],
    "seeds": [0, 1],
    "models": [{"name": "recurrent", "channels": 4, "iterations": 2}],
}
TIMING = ("run_s", "samples_per_s", "stream_samples_per_s")


def _lines(folder: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in (folder / "runs.jsonl").read_text().splitlines()]


def _measured(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if k not in TIMING} for r in rows]


def _quiet(_: str) -> None:
    pass


def _with_fault(monkeypatch: pytest.MonkeyPatch, fault: Any) -> None:
    """The trajectory preset with ``fault(cells)`` called before each unit trains."""
    traj = ex.PRESETS["trajectory"]
    one, group = traj.run_one, traj.run_group

    def run_one(cfg: dict, cell: dict) -> dict:
        fault([cell])
        return one(cfg, cell)

    def run_group(cfg: dict, cells: list[dict]) -> list[dict]:
        fault(cells)
        return group(cfg, cells)

    faulty = dataclasses.replace(traj, run_one=run_one, run_group=run_group)
    monkeypatch.setitem(ex.PRESETS, "trajectory", faulty)


# -- run ids and units ------------------------------------------------------------------------
def test_run_id_is_the_resolved_config_not_how_it_runs() -> None:
    cfg = ex.resolve("trajectory", TINY)
    axes = ex.PRESETS["trajectory"].axes
    cell = ex._cells("trajectory", cfg)[0]
    base = sweep.run_id(cfg, axes, cell)
    assert len(base) == 16 and base == sweep.run_id(json.loads(json.dumps(cfg)), axes, cell)
    how = {"progress": True, "threads": 2, "cpus_per_run": 2, "gpus_per_run": 0.5, "ensemble": 1}
    how["ps"] = [0.0]  # another grid holding the same cell
    assert sweep.run_id(ex.resolve("trajectory", {**TINY, **how}), axes, cell) == base
    for change in ({"steps": 4}, {"lr": 1e-3}, {"size": [4, 4]}):
        assert sweep.run_id(ex.resolve("trajectory", {**TINY, **change}), axes, cell) != base
    assert sweep.run_id(cfg, axes, {**cell, "seed": 7}) != base


def test_units_group_the_seeds_of_one_cell() -> None:
    cells = [{"p": p, "seed": s} for p in (0.0, 0.5) for s in (0, 1, 2)]
    ids = [str(i) for i in range(6)]
    assert [u.positions for u in sweep.units(cells, ids, 1)] == [[i] for i in range(6)]
    assert [u.ids for u in sweep.units(cells, ids, 2)] == [["0", "1"], ["2"], ["3", "4"], ["5"]]
    grouped = sweep.units(cells, ids, 16)
    assert [[c["seed"] for c in u.cells] for u in grouped] == [[0, 1, 2], [0, 1, 2]]
    mixed = [{"p": 0.0, "seed": 0}, {"p": 0.5, "seed": 0}, {"p": 0.0, "seed": 9}]
    assert [u.positions for u in sweep.units(mixed, ids[:3], 16)] == [[0, 2], [1]]


def test_unit_of_a_group_calls_run_group_once() -> None:
    calls: list[int] = []

    def group(cfg: dict, cells: list[dict]) -> list[dict]:
        calls.append(len(cells))
        return [{"exit": c["seed"] / 10} for c in cells]

    unit = sweep.Unit([{"p": 0.0, "seed": 0}, {"p": 0.0, "seed": 1}], ["a", "b"], [0, 1])
    rows = sweep.run_unit(lambda cfg, c: {"exit": -1.0}, group, {}, unit)
    assert calls == [2] and [r["exit"] for r in rows] == [0.0, 0.1]
    assert [r["run_id"] for r in rows] == ["a", "b"] and all(r["run_s"] >= 0 for r in rows)


# -- the journal ------------------------------------------------------------------------------
def test_journal_appends_whole_lines_and_cuts_a_torn_one(tmp_path: Path) -> None:
    path = tmp_path / "runs.jsonl"
    with sweep.Journal(path) as j:
        assert j.rows() == []
        j.append({"run_id": "a", "exit": float("nan")})
        j.append({"run_id": "b", "trajectories": [[0, 1]]})
    with open(path, "ab") as f:
        f.write(b'{"run_id": "c", "ex')  # a machine dying mid-write
    with sweep.Journal(path) as j:
        assert [r["run_id"] for r in j.rows()] == ["a", "b"] and j.repaired > 0
        j.append({"run_id": "c"})
    assert [r["run_id"] for r in _lines(tmp_path)] == ["a", "b", "c"]


def test_journal_has_one_writer(tmp_path: Path) -> None:
    with sweep.Journal(tmp_path / "runs.jsonl"):
        with pytest.raises(RuntimeError, match="another sweep is writing"):
            sweep.Journal(tmp_path / "runs.jsonl").__enter__()
    with sweep.Journal(tmp_path / "runs.jsonl"):  # released on exit
        pass


def test_journal_refuses_a_line_that_is_not_a_row(tmp_path: Path) -> None:
    (tmp_path / "runs.jsonl").write_text('{"run_id": "a"}\n[1, 2]\n')
    with pytest.raises(ValueError, match="line 2: expected a JSON object"):
        sweep.Journal(tmp_path / "runs.jsonl").__enter__()


# -- serial resume ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def serial(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The tiny sweep run serially in one go, each cell's seeds as one ensemble (the
    preset's default): the reference rows."""
    return ex.run_experiment("trajectory", tmp_path_factory.mktemp("serial"), TINY, echo=_quiet)


@pytest.fixture(scope="module")
def solo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The same sweep with ``ensemble=1``: one run after another."""
    folder = tmp_path_factory.mktemp("solo")
    return ex.run_experiment("trajectory", folder, {**TINY, "ensemble": 1}, echo=_quiet)


def test_ensemble_rows_are_the_solo_rows(serial: dict, solo: dict) -> None:
    """Each member of a cell's seed ensemble is the run of its seed alone (bitwise on the
    CPU), so both sweeps give the same rows under the same run ids."""
    assert [(r["p"], r["seed"]) for r in serial["rows"]] == [(0.0, 0), (0.0, 1), (0.5, 0), (0.5, 1)]
    assert _measured(serial["rows"]) == _measured(solo["rows"])
    assert serial["table"] == solo["table"]


def test_serial_sweep_resumes_after_a_failed_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, solo: dict, capsys
) -> None:
    attempts: list[dict] = []

    def flaky(cells: list[dict]) -> None:
        attempts.extend(cells)
        if cells[0]["p"] == 0.5 and cells[0]["seed"] == 0 and attempts.count(cells[0]) == 1:
            raise OSError("disk on fire")

    _with_fault(monkeypatch, flaky)
    one = {**TINY, "ensemble": 1}
    sets = [a for k, v in one.items() for a in ("--set", f"{k}={json.dumps(v)}")]
    assert main(["experiment", "--out", str(tmp_path), *sets]) == 1
    out = capsys.readouterr()
    assert "FAILED p=0.5 cue=channel" in out.out and "OSError: disk on fire" in out.out
    assert "1 runs failed" in out.err
    assert len(_lines(tmp_path)) == 3 and len(attempts) == 4
    assert len((tmp_path / "runs.csv").read_text().splitlines()) == 1 + 3

    assert main(["experiment", "--out", str(tmp_path), *sets]) == 0
    assert len(attempts) == 5 and attempts[-1]["p"] == 0.5  # only the failed run again
    assert "(3 already in runs.jsonl); running 1" in capsys.readouterr().out
    r = ex.run_experiment("trajectory", tmp_path, one, echo=_quiet)  # nothing left to run
    assert r["ran"] == 0 and len(attempts) == 5
    ids = [x["run_id"] for x in _lines(tmp_path)]
    assert len(ids) == len(set(ids)) == 4
    assert _measured(r["rows"]) == _measured(solo["rows"])  # grid order, field by field
    assert r["table"] == solo["table"]
    assert (tmp_path / "runs.csv").read_text().splitlines()[0] == (
        (solo["out"] / "runs.csv").read_text().splitlines()[0]
    )


def test_a_run_listed_twice_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"holds the run p=0\.0 .* seed=0 twice"):
        ex.run_experiment("trajectory", tmp_path / "r", {**TINY, "seeds": [0, 0]}, echo=_quiet)
    assert not (tmp_path / "r").exists()


def test_a_changed_config_runs_again_and_keeps_the_old_rows(tmp_path: Path) -> None:
    ex.run_experiment("trajectory", tmp_path, {**TINY, "ps": [0.0], "seeds": [0]}, echo=_quiet)
    r = ex.run_experiment(
        "trajectory", tmp_path, {**TINY, "ps": [0.0], "seeds": [0], "steps": 2}, echo=_quiet
    )
    assert r["ran"] == 1 and len(r["rows"]) == 1 and len(_lines(tmp_path)) == 2


# -- Ray --------------------------------------------------------------------------------------
def test_cli_ray_option() -> None:
    from fastmaze.cli import build_parser

    parse = build_parser().parse_args
    assert parse(["experiment"]).ray is None
    assert parse(["experiment", "--ray"]).ray == "local"
    assert parse(["experiment", "corner", "--ray", "10.0.0.1:6379"]).ray == "10.0.0.1:6379"


def test_ray_missing_is_one_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray fails
    out = tmp_path / "results"
    with pytest.raises(RuntimeError, match=r"--ray needs Ray: pip install 'fastmaze\[ray\]'"):
        ex.run_experiment("trajectory", out, TINY, ray=True, echo=_quiet)
    assert not out.exists()  # refused before anything is written


@pytest.fixture(scope="module")
def ray_instance() -> Any:
    """One local Ray instance (2 CPUs) for this module's Ray tests."""
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    # The killing cell below lives in this test module, which workers cannot import.
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    yield ray
    ray.shutdown()


def _dies_once(folder: Path, cells: list[dict]) -> None:
    """A unit holding the run p=0.5, seed=1 kills its own worker process on its first
    attempt (a marker file in ``folder`` records the attempt)."""
    if any(c["p"] == 0.5 and c["seed"] == 1 for c in cells):
        marker = folder / "attempted"
        if not marker.exists():
            marker.touch()
            os.kill(os.getpid(), signal.SIGKILL)


def test_ray_sweep_gives_the_serial_rows(tmp_path: Path, ray_instance: Any, serial: dict) -> None:
    r = ex.run_experiment("trajectory", tmp_path, TINY, ray=True, echo=_quiet)
    assert r["ran"] == 4 and not r["failed"]
    assert _measured(r["rows"]) == _measured(serial["rows"])
    assert r["table"] == serial["table"]
    assert [p.name for p in r["plots"]] == [p.name for p in serial["plots"]]
    assert sorted(x["run_id"] for x in _lines(tmp_path)) == sorted(
        x["run_id"] for x in serial["rows"]
    )


def test_ray_sweep_with_a_killed_worker_finishes_on_rerun(
    tmp_path: Path, ray_instance: Any, monkeypatch: pytest.MonkeyPatch, serial: dict
) -> None:
    _with_fault(monkeypatch, functools.partial(_dies_once, tmp_path))
    lines: list[str] = []
    first = ex.run_experiment("trajectory", tmp_path, TINY, ray=True, echo=lines.append)
    assert (tmp_path / "attempted").exists()
    assert len(first["failed"]) == 1  # the unit of p=0.5 (seeds 0 and 1, one ensemble)
    assert [c["seed"] for c in first["failed"][0].unit.cells] == [0, 1]
    assert any(line.startswith("  FAILED p=0.5") for line in lines)
    assert len(first["rows"]) == 2 == len(_lines(tmp_path))
    second = ex.run_experiment("trajectory", tmp_path, TINY, ray=True, echo=_quiet)
    assert second["ran"] == 2 and not second["failed"]
    ids = [x["run_id"] for x in _lines(tmp_path)]
    assert len(ids) == len(set(ids)) == 4  # every run exactly once
    assert _measured(second["rows"]) == _measured(serial["rows"])
