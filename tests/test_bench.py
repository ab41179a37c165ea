"""fastmaze bench: every workload runs (tiny), the timing arithmetic (fake clock), the JSON
report, the comparison, the peers path (a fake peer) and the command's bad arguments."""

from __future__ import annotations

import copy
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import fastmaze
from fastmaze.bench import peers, report, run, timing
from fastmaze.bench.timing import measure
from fastmaze.bench.workloads import WORKLOADS, Workload, register, select
from fastmaze.cli import main

TINY = {"scale": "tiny", "threads": [1], "progress": False, "command": "test"}


# -- every workload, tiny ---------------------------------------------------------------------


@pytest.mark.parametrize("name", list(WORKLOADS))
def test_every_workload_runs_tiny(name: str) -> None:
    w = WORKLOADS[name]
    why = w.requires()
    if why:
        pytest.skip(why)
    result = run.measure_workload(w, 1 if w.threaded else None, run.Options(**TINY))
    assert result["workload"] == name and result["unit"] == w.unit
    assert len(result["rates"]) == result["reps"] == 5
    assert 0 < result["min"] <= result["median"] <= result["max"]
    json.dumps(result)  # the result is JSON data


def test_quick_and_tiny_shrink_the_work() -> None:
    w = WORKLOADS["generate/backtracker/6x6"]
    full, quick, tiny = (w.arguments(s)["batch"] for s in ("full", "quick", "tiny"))
    assert full > quick > tiny
    step = WORKLOADS["step/symbolic/65536envs/copy=True"]
    assert step.arguments("full").get("episode_floor", True) is True  # an episode a repetition
    assert step.arguments("quick")["episode_floor"] is False
    assert step.arguments("full")["copy"] is True  # copy is always passed explicitly
    assert WORKLOADS["step/symbolic/65536envs/copy=False"].arguments("full")["copy"] is False


def test_quick_leaves_out_full_only_workloads() -> None:
    options = run.Options(workloads=["step/symbolic/65536envs"], **{**TINY, "scale": "quick"})
    doc = run.bench(options)
    assert doc["results"] == [] and len(doc["skipped"]) == 2
    assert all(s["reason"].startswith("full runs only") for s in doc["skipped"])
    assert "full runs only" in report.markdown(doc)


def test_select_names_groups_globs_and_unknown() -> None:
    assert [w.name for w in select(["generate/open/6x6"])] == ["generate/open/6x6"]
    assert {w.group for w in select(["step"])} == {"step"}
    assert {w.name.split("/")[-1] for w in select(["generate/*/6x6"])} == {"6x6"}
    assert len(select([])) == len(WORKLOADS)
    with pytest.raises(ValueError, match="unknown workload 'nope'"):
        select(["nope"])
    with pytest.raises(ValueError, match="registered already"):
        register(WORKLOADS["solve/6x6"])


# -- timing arithmetic with a fake clock --------------------------------------------------------


class FakeWork:
    """A clock and a call: each call advances the clock by the next scripted duration."""

    def __init__(self, durations: list[float]) -> None:
        self.now, self.durations, self.synced = 0.0, list(durations), 0

    def clock(self) -> float:
        return self.now

    def call(self) -> None:
        self.now += self.durations.pop(0)

    def sync(self) -> None:
        self.synced += 1


def test_measure_arithmetic() -> None:
    per_call = [0.125, 0.25, 0.125, 0.0625, 0.5]  # seconds per call in each repetition
    # warm-up 4 s (compilation), then one 0.125 s call sizes a repetition: ceil(0.3 / 0.125) = 3
    work = FakeWork([4.0, 0.125] + [d for d in per_call for _ in range(3)])
    m = measure(work.call, 100, reps=5, min_time=0.3, warmup=1, sync=work.sync, clock=work.clock)
    assert not work.durations  # every scripted call was made: warm-up, sizing, 5 x 3
    assert m["calls_per_rep"] == 3 and m["reps"] == 5 and m["units_per_call"] == 100
    assert m["warmup_s"] == 4.0  # compilation kept out of the figures
    assert m["rates"] == [800, 400, 800, 1600, 200]  # 100 units x 3 calls / (3 x seconds)
    assert (m["median"], m["min"], m["max"], m["q1"], m["q3"]) == (800, 200, 1600, 400, 800)
    assert work.synced == 1 + 1 + 5  # before the clock is read: warm-up, sizing, each rep


def test_measure_min_calls_capped_by_max_time() -> None:
    # min_time 0.1 alone needs 1 call of 0.125 s; min_calls 10 asks for 10, max_time 0.5 caps at 4
    work = FakeWork([0.125] * (2 + 5 * 4))
    m = measure(work.call, 1, reps=5, min_time=0.1, max_time=0.5, min_calls=10, clock=work.clock)
    assert m["calls_per_rep"] == 4 and not work.durations
    assert m["median"] == 8.0  # 1 unit per 0.125 s


def test_summarize_and_verdicts() -> None:
    s = timing.summarize([4, 1, 3, 2])
    assert s == {"median": 2.5, "min": 1, "max": 4, "q1": 1.75, "q3": 3.25}
    assert timing.summarize([7.0]) == dict.fromkeys(("median", "min", "max", "q1", "q3"), 7.0)
    with pytest.raises(ValueError):
        timing.summarize([])
    old = {"median": 100, "min": 90, "max": 110}
    assert timing.verdict({"median": 70, "min": 50, "max": 89}, old) == "slower"
    assert timing.verdict({"median": 120, "min": 111, "max": 130}, old) == "faster"
    assert timing.verdict({"median": 80, "min": 60, "max": 95}, old) == "same"
    assert timing.ratio(50.0, 100.0) == 0.5 and timing.ratio(None, 1.0) is None
    assert timing.ratio(1.0, 0.0) is None


# -- the report ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def doc() -> dict:
    options = run.Options(
        workloads=["generate/open/6x6", "solve/6x6"], **{**TINY, "threads": [1, 2]}
    )
    return run.bench(options)


def test_report_fields(doc: dict) -> None:
    assert doc["schema"] == "fastmaze-bench" and doc["schema_version"] == report.SCHEMA_VERSION
    assert [(r["workload"], r["threads"]) for r in doc["results"]] == [
        ("generate/open/6x6", 1), ("generate/open/6x6", 2), ("solve/6x6", 1), ("solve/6x6", 2)
    ]  # fmt: skip
    assert doc["machine"]["logical_cores"] >= 1 and doc["machine"]["cpu"]
    assert doc["versions"]["numpy"] and doc["versions"]["fastmaze"].startswith("0.")
    assert doc["timing"]["reps"] == 5 and doc["threads"] == [1, 2]
    text = report.markdown(doc)
    assert "`test`" in text and doc["machine"]["cpu"] in text  # command and machine printed
    r = doc["results"][0]
    assert report.figure(r) in text


def test_json_round_trip(doc: dict, tmp_path: Path) -> None:
    path = tmp_path / "run.json"
    report.save(doc, path)
    assert report.load(path) == doc


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d: d.pop("results"), "missing 'results'"),
        (lambda d: d.update(schema_version=99), "schema_version 99"),
        (lambda d: d.update(schema="other"), "not a fastmaze bench report"),
        (lambda d: d["results"][0].update(median="fast"), "median"),
        (lambda d: d["results"][0].update(min=1e30), "min <= q1"),
        (lambda d: d["results"][0]["rates"].pop(), "rates for 5 reps"),
        (lambda d: d["results"][0].update(median=float("nan")), "finite"),
    ],
)
def test_validate_rejects(doc: dict, change, message: str) -> None:
    bad = copy.deepcopy(doc)
    change(bad)
    with pytest.raises(ValueError, match=message):
        report.validate(bad)


def test_load_rejects_files(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        report.load(tmp_path / "a.json")
    (tmp_path / "b.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="not a fastmaze bench report"):
        report.load(tmp_path / "b.json")


def _scaled(doc: dict, factor: float) -> dict:
    out = copy.deepcopy(doc)
    for r in out["results"]:
        r["rates"] = [x * factor for x in r["rates"]]
        r.update(timing.summarize(r["rates"]))
    return out


def _steady(doc: dict) -> dict:
    """``doc`` with made-up repetitions whose spread is under 10%: the verdicts below depend
    on the arithmetic only, not on how busy the machine was."""
    out = copy.deepcopy(doc)
    for i, r in enumerate(out["results"]):
        r["rates"] = [1000.0 * (i + 1) * (1 + k / 100) for k in (3, 0, 4, 1, 2)]
        r.update(timing.summarize(r["rates"]))
    return out


def test_compare_ratios_and_flags(doc: dict) -> None:
    doc = _steady(doc)
    assert doc["results"][1]["median"] == 2040.0 and doc["results"][1]["min"] == 2000.0
    rows = report.compare(_scaled(doc, 2.0), doc)  # the old run was twice as fast
    assert [r["verdict"] for r in rows] == ["slower"] * 4
    assert all(r["ratio"] == pytest.approx(0.5) for r in rows)
    rows = report.compare(_scaled(doc, 0.25), doc)
    assert [r["verdict"] for r in rows] == ["faster"] * 4
    assert all(r["ratio"] == pytest.approx(4.0) for r in rows)
    assert [r["verdict"] for r in report.compare(doc, doc)] == ["same"] * 4
    old = copy.deepcopy(doc)
    old["results"] = old["results"][1:]
    old["results"][0]["params"] = {**old["results"][0]["params"], "batch": 1}
    rows = report.compare(old, doc)
    assert rows[0]["verdict"] == "new" and rows[0]["ratio"] is None
    assert "batch: 1 -> " in rows[1]["note"]
    text = report.markdown(doc, _scaled(doc, 2.0), "old.json")
    assert "**REGRESSION**" in text and "4 regression(s)" in text and "0.5×" in text
    assert "`old.json`" in text and f"Earlier run: {doc['created']}" in text


# -- peers ----------------------------------------------------------------------------------------


def peer_fake(units: int, timing: dict) -> dict:
    """A peer measurement for the tests (importable everywhere: stdlib only)."""
    out = measure(lambda: sum(range(1000)), units, **timing)
    return {**out, "version": "fakepeer 1.0"}


def test_peers_side_by_side_and_absent(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    here = peers.Family("fake-here", "json")  # importable in this interpreter
    absent = peers.Family("fake-absent", "fastmaze_no_such_peer_module")
    case = peers.Case(
        family="fake-here",
        workload="fake generation",
        unit="mazes/s",
        batch="10 / 16",
        peer_threads="1",
        peer=peer_fake,
        args={"units": 10},
        twin=peers.fm_generate,
        twin_args={"size": 4, "n": 16},
        notes="a fake",
    )
    other = peers.Case(**{**case.__dict__, "family": "fake-absent"})
    monkeypatch.setattr(peers, "FAMILIES", [here, absent])
    monkeypatch.setattr(peers, "CASES", [case, other])
    options = run.Options(workloads=["generate/open/6x6"], peers=True, venvs=tmp_path, **TINY)
    doc = run.bench(options)
    (row,) = doc["peers"]
    assert row["peer"] == "fakepeer 1.0" and row["workload"] == "fake generation"
    (fm,) = row["fastmaze"]
    assert fm["threads"] == 1 and fm["params"] == {"size": 4, "n": 16}
    assert fm["ratio"] == pytest.approx(fm["median"] / row["peer_result"]["median"])
    assert [r["workload"] for r in doc["results"]] == ["generate/open/6x6"]  # twin kept apart
    (skip,) = doc["peers_skipped"]
    assert skip["family"] == "fake-absent" and "pip install -r" in skip["install"]
    text = report.markdown(doc)
    assert "fakepeer 1.0" in text and report.times(fm["ratio"]) in text
    assert "fake-absent" in text and str(tmp_path / "fake-absent") in text
    report.validate(json.loads(json.dumps(doc)))


def test_peer_snippet_runs_in_another_interpreter() -> None:
    got = peers.run_peer(
        Path(sys.executable),
        peer_fake,
        {"units": 5, "timing": {"reps": 5, "min_time": 0.0}},
        timeout=120,
    )
    assert got["version"] == "fakepeer 1.0" and len(got["rates"]) == 5 and got["median"] > 0


def test_peer_cases_have_twins_and_requirements() -> None:
    for family in peers.FAMILIES:
        assert family.requirements.is_file(), family.requirements
    for case in peers.CASES:
        w = case.twin_workload()
        assert isinstance(w, Workload) and w.group == case.group
        assert case.family in {f.name for f in peers.FAMILIES}


# -- the command -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv, message",
    [
        (["bench", "no-such-workload"], "unknown workload"),
        (["bench", "--threads", "0"], "thread counts >= 1"),
        (["bench", "--threads", "1,x"], "thread counts >= 1"),
        (["bench", "--reps", "3"], "reps: 3"),
    ],
)
def test_bad_arguments(argv: list[str], message: str, capsys: pytest.CaptureFixture) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("content", ["{oops", '{"schema": "fastmaze-bench", "schema_version": 1}'])
def test_malformed_old_json(content: str, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    old = tmp_path / "old.json"
    old.write_text(content)
    assert main(["bench", "generate/open/6x6", "--compare", str(old), "--no-progress"]) == 2
    captured = capsys.readouterr()
    assert len(captured.err.strip().splitlines()) == 1 and str(old) in captured.err
    assert captured.out == ""  # rejected before anything ran


def test_command_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    js, md = tmp_path / "new" / "run.json", tmp_path / "run.md"  # a missing folder is made
    argv = ["bench", "generate/open/6x6", "--quick", "--threads", "1", "--no-progress"]
    assert main([*argv, "--json", str(js), "--markdown", str(md)]) == 0
    out = capsys.readouterr().out
    assert f"`fastmaze {' '.join(argv)} --json {js} --markdown {md}`" in out
    assert md.read_text() == out
    saved = report.load(js)
    assert saved["scale"] == "quick" and saved["threads"] == [1]
    faster = _scaled(saved, 1e6)  # an earlier run a million times faster: flagged, exit 0
    (tmp_path / "old.json").write_text(json.dumps(faster))
    assert main([*argv, "--compare", str(tmp_path / "old.json")]) == 0
    out = capsys.readouterr().out
    assert "**REGRESSION**" in out and "1 regression(s)" in out
    assert main(["bench", "--list"]) == 0
    assert "generate/backtracker/6x6" in capsys.readouterr().out


def test_cuda_workloads_run_under_the_simulator() -> None:
    """The cuda/ workloads' code, tiny, under Numba's CUDA simulator (a subprocess)."""
    pytest.importorskip("numba")
    code = (
        "from fastmaze.bench import workloads as w\n"
        "from fastmaze.bench.timing import measure\n"
        "for p, kw in ((w.prepare_cuda_generate, dict(size=3, algorithm='wilson', batch=4)),\n"
        "              (w.prepare_cuda_oracles, dict(size=3, loops=0.3, batch=4))):\n"
        "    pr = p(None, **kw)\n"
        "    m = measure(pr.call, pr.units, reps=5, min_time=0, max_time=0, sync=pr.sync)\n"
        "    assert m['median'] > 0 and pr.info['device'], (m, pr.info)\n"
        "print('ok')\n"
    )
    env = {**os.environ, "NUMBA_ENABLE_CUDASIM": "1", "PYTHONWARNINGS": "ignore"}
    env["PYTHONPATH"] = os.pathsep.join([str(Path(fastmaze.__file__).parent.parent), *sys.path])
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300
    )
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-2000:]


def test_peers_script_keeps_its_command_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """benchmarks/peers.py (a thin caller of fastmaze.bench): --quick, --out, --json, --venvs."""
    script = Path(__file__).resolve().parent.parent / "benchmarks" / "peers.py"
    if not script.exists():
        pytest.skip("runs from a source checkout only")
    spec = importlib.util.spec_from_file_location("peers_script", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out, js = tmp_path / "peers.md", tmp_path / "peers.json"
    argv = ["--quick", "--out", str(out), "--json", str(js), "--venvs", str(tmp_path / "venvs")]
    assert module.main(argv) == 0
    assert capsys.readouterr().out == ""  # the report went to --out
    text = out.read_text()
    assert "python benchmarks/peers.py --quick" in text and "Peers not measured" in text
    doc = report.load(js)
    assert {s["family"] for s in doc["peers_skipped"]} == {f.name for f in peers.FAMILIES}
    assert {r["workload"] for r in doc["results"]} == {
        "step/symbolic/32envs/copy=True", "step/symbolic/1024envs/copy=True"
    }  # fmt: skip
