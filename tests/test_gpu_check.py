"""The logic of ``benchmarks/gpu_check.py``, on the CPU: the table, the section it replaces
in the results file, the exit status on a mismatch or a crashed check, and the path of a
machine without a CUDA device."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_check.py"
spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
gc = importlib.util.module_from_spec(spec)
sys.modules.setdefault("gpu_check", gc)  # (dataclasses look their module up)
spec.loader.exec_module(gc)

INFO = {
    "card": "NVIDIA Test Card",
    "driver": "555.42",
    "torch": "2.13.0",
    "cuda": "12.8",
    "numba": "0.61",
    "python": "3.11.7",
}


def _fake_equal(spec: Any, n: int, seed: int) -> list[str]:
    return []


def _fake_mismatch(spec: Any, n: int, seed: int) -> list[str]:
    return ["grid", "exit"] if spec.size == (12, 12) else []


def test_table_names_the_machine_and_every_check() -> None:
    rows = [
        gc.Row("a | b", "1 levels/s"),
        gc.Row("eq", "byte-equal", True, 2.0),
        gc.Row("bad", "MISMATCH in grid", False),
    ]
    text = gc.markdown_table(INFO, rows, "2026-01-01 00:00 UTC")
    assert text.startswith(gc.BEGIN) and text.rstrip().endswith(gc.END)
    for word in ("NVIDIA Test Card", "driver 555.42", "torch 2.13.0", "CUDA 12.8"):
        assert word in text
    lines = [x for x in text.splitlines() if x.startswith("| ")]
    assert lines[0] == "| check | result | status | seconds |" and len(lines) == 4
    assert lines[1] == "| a \\| b | 1 levels/s |  | 0.0 |"  # a pipe in a cell escaped
    assert "| pass | 2.0 |" in lines[2] and "**FAIL**" in lines[3]


def test_section_appended_once_then_replaced() -> None:
    doc = "# Measured results\n\nsome figures\n"
    first = gc.replace_section(doc, f"{gc.BEGIN}\nold\n{gc.END}\n")
    assert first.startswith(doc) and first.count(gc.BEGIN) == 1
    tail = first + "\n## Later section\n"
    second = gc.replace_section(tail, f"{gc.BEGIN}\nnew\n{gc.END}\n")
    assert second.count(gc.BEGIN) == second.count(gc.END) == 1
    assert "old" not in second and "new" in second
    assert second.startswith(doc) and second.endswith("## Later section\n")
    assert gc.replace_section("", "S\n") == "S\n"


def test_mismatch_exits_nonzero_and_is_written(tmp_path: Path, capsys) -> None:
    results = tmp_path / "RESULTS.md"
    results.write_text("# Measured results\n")
    checks = [lambda: gc.equality(_fake_mismatch)]
    assert gc.main(["--results", str(results)], probe=lambda: INFO, checks=checks) == 1
    text = results.read_text()
    assert "MISMATCH in grid, exit" in text and "25x25" in text and "**FAIL**" in text
    assert "byte-equal" in text  # the 13x13 comparison passed
    assert "FAILED" in capsys.readouterr().err
    checks = [lambda: gc.equality(_fake_equal)]
    assert gc.main(["--results", str(results)], probe=lambda: INFO, checks=checks) == 0
    text = results.read_text()
    assert "MISMATCH" not in text and text.count(gc.BEGIN) == 1
    assert text.startswith("# Measured results\n")


def test_a_crashing_check_fails_and_the_others_run(tmp_path: Path) -> None:
    def crash() -> gc.Row:
        raise RuntimeError("kernel launch failed")

    ran: list[str] = []

    def fine() -> gc.Row:
        ran.append("fine")
        return gc.Row("fine", "1 levels/s")

    results = tmp_path / "RESULTS.md"
    assert gc.run([crash, fine], results, INFO) == 1 and ran == ["fine"]
    assert "error: RuntimeError: kernel launch failed" in results.read_text()


def test_ensemble_row_without_the_function(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "fastmaze.train.ensemble", None)  # import fails
    row = gc.ensemble()
    assert row.result == gc.NOT_AVAILABLE and row.ok is None


def test_measurements_run_on_the_cpu_at_a_tiny_size() -> None:
    """The stepping, supervised and ensemble checks (their calls into fastmaze) on the CPU,
    tiny: what the GPU run measures is the same code at its sizes."""
    pytest.importorskip("torch")
    tiny = {"device": "cpu", "steps": 2, "batch": 8, "eval_episodes": 50, "threads": 1}
    rows = [*gc.stepping((16,), "cpu"), gc.supervised(**tiny), gc.ensemble(2, **tiny)]
    assert [r.ok for r in rows] == [None] * 3
    assert "env steps/s" in rows[0].result and "16 envs" in rows[0].check
    assert "samples/s training" in rows[1].result
    assert rows[2].check.startswith("seed ensemble of 2") and "per member" in rows[2].result


def test_no_device_prints_and_exits_zero(tmp_path: Path, capsys) -> None:
    results = tmp_path / "RESULTS.md"
    assert gc.main(["--results", str(results)], probe=lambda: None) == 0
    assert "no CUDA device" in capsys.readouterr().out and not results.exists()


@pytest.mark.skipif(
    importlib.util.find_spec("torch") is None, reason="the script asks torch for the device"
)
def test_script_on_this_machine(tmp_path: Path) -> None:
    """Run as CI runs it: on a machine without CUDA it says so and exits 0."""
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA device: the check would run in full")
    results = tmp_path / "RESULTS.md"
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--results", str(results)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0 and "no CUDA device" in proc.stdout, proc.stderr
    assert not results.exists()
