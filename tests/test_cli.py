"""Command line, run in-process through `main` on small batches."""

import json
import os
import subprocess
import sys
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest

import fastmaze
from fastmaze import cli, io
from fastmaze.levels import Levels
from fastmaze.spec import spec_to_dict

PACKAGE_ROOT = str(Path(fastmaze.__file__).resolve().parents[1])


def run(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code, err, *fragments):
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("fastmaze: error: "), err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0]


def test_generate_saves_what_generate_returns(capsys, tmp_path):
    out_file = tmp_path / "run.fmz"
    code, out, err = run(
        capsys,
        "generate",
        "--n",
        "300",
        "--seed",
        "4",
        "--start",
        "50",
        "--threads",
        "2",
        "--chunk",
        "100",
        "--out",
        str(out_file),
    )
    assert code == 0, err
    assert "n=300 levels" in out and "levels/s on 2 threads" in out and "ids 50..349" in out
    assert f"saved {out_file}" in out
    assert "generate" in err and "300/300" in err  # the tqdm bar
    loaded = io.load(out_file)
    want = fastmaze.generate(cli.default_spec(), 300, seed=4, start=50)
    assert loaded.spec == cli.default_spec()
    for name in Levels.ARRAYS:
        np.testing.assert_array_equal(getattr(loaded, name), getattr(want, name))


def test_default_spec_is_the_green_exit_setting():
    spec = cli.default_spec()
    assert spec.size == (6, 6) and spec.algorithm == "kruskal"
    assert spec == fastmaze.correlated(0.95, algorithm="kruskal")
    assert dict(spec.exit_color)["green"] == 0.95
    assert spec.n_decoys == ((1, 1.0),) and "green" not in dict(spec.decoy_color)


def test_no_arguments_generates_the_default_batch(capsys, monkeypatch):
    monkeypatch.setattr(cli, "DEFAULT_N", 2000)  # the real default is a million
    code, out, err = run(capsys)
    assert code == 0, err
    assert "n=2,000 levels (6x6 cells" in out and "levels/s" in out
    assert "saved" not in out


def test_stats_are_printed_or_noted(capsys, monkeypatch):
    def missing(self):
        raise ImportError("no fastmaze.stats")

    monkeypatch.setattr(Levels, "stats", missing)
    code, out, _ = run(capsys, "generate", "--n", "10", "--no-progress")
    assert code == 0
    assert "stats: not available" in out
    monkeypatch.setattr(Levels, "stats", lambda self: "REALISED STATS")
    code, out, _ = run(capsys, "generate", "--n", "10", "--no-progress")
    assert code == 0 and "REALISED STATS" in out


def test_generate_from_a_spec_file_with_overrides(capsys, tmp_path):
    a = fastmaze.MazeSpec(size=(4, 4), exit_color="blue")
    mixture = fastmaze.Mixture.of((a, 0.5), (a.replace(exit_color="red"), 0.5))
    spec_file = tmp_path / "mix.json"
    spec_file.write_text(json.dumps(spec_to_dict(mixture)))
    out_file = tmp_path / "mix.fmz"
    code, out, err = run(
        capsys,
        "generate",
        "--spec",
        str(spec_file),
        "--size",
        "3",
        "5",
        "--algorithm",
        "prim",
        "--loops",
        "0.5",
        "--n",
        "64",
        "--no-progress",
        "--out",
        str(out_file),
    )
    assert code == 0, err
    assert "(3x5 cells" in out
    loaded = io.load(out_file)
    assert isinstance(loaded.spec, fastmaze.Mixture)
    for spec, weight in loaded.spec.components:
        assert (spec.size, spec.algorithm, spec.loops, weight) == ((3, 5), "prim", 0.5, 0.5)
    assert loaded.grid.shape == (64, 7, 11)


def test_show_ascii_and_png(capsys, tmp_path):
    levels = fastmaze.generate(cli.default_spec(), 20, seed=1)
    path = tmp_path / "l.fmz"
    io.save(levels, path)
    code, out, err = run(capsys, "show", str(path))
    assert code == 0, err
    assert "20 levels of 6x6 cells" in out
    lines = out.splitlines()
    board = lines[2:15]
    r, c = levels.exit[0]
    assert board[r][c] == "E"
    code, out, _ = run(capsys, "show", str(path), "--index", "3", "-1", "--hide-colors")
    assert code == 0
    assert "level 3 (index 3)" in out and "level 19 (index 19)" in out
    assert "r red" not in out
    png = tmp_path / "l.png"
    code, out, _ = run(
        capsys, "show", str(path), "--png", str(png), "--index", "0", "1", "2", "--pixels", "2"
    )
    assert code == 0
    # 3 levels on 2 columns of 26-pixel boards, 2 pixels apart: 54 x 54.
    assert "wrote" in out and "54x54 pixels" in out
    assert matplotlib.image.imread(png).shape[:2] == (54, 54)


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (
            ["generate", "--size", "1", "4", "--n", "5"],
            "size: expected rows in 2..127 cells, got 1",
        ),
        (["generate", "--n", "-3"], "--n"),
        (["generate", "--algorithm", "maze"], "invalid choice"),
        (["generate", "--bogus"], "unrecognized arguments: --bogus"),
        (["frobnicate"], "invalid choice"),
        (["show"], "required: FILE"),
    ],
)
def test_bad_arguments(capsys, argv, fragment):
    code, _, err = run(capsys, *argv)
    assert_one_line_error(code, err, fragment)


def test_bad_files(capsys, tmp_path):
    code, _, err = run(capsys, "show", str(tmp_path / "missing.fmz"))
    assert_one_line_error(code, err, "No such file", "missing.fmz")
    junk = tmp_path / "junk.fmz"
    junk.write_text("not a maze")
    code, _, err = run(capsys, "show", str(junk))
    assert_one_line_error(code, err, "not a fastmaze file")
    bad_spec = tmp_path / "spec.json"
    bad_spec.write_text("{oops")
    code, _, err = run(capsys, "generate", "--spec", str(bad_spec), "--n", "5")
    assert_one_line_error(code, err, "not valid JSON")
    good = tmp_path / "good.fmz"
    io.save(fastmaze.generate(cli.default_spec(), 4), good)
    code, _, err = run(capsys, "show", str(good), "--index", "4")
    assert_one_line_error(code, err, "index 4 out of range for 4 levels")


def test_python_dash_m(tmp_path):
    missing = tmp_path / "missing.fmz"
    for argv, code in ((["--version"], 0), (["show", str(missing)], 2)):
        result = subprocess.run(
            [sys.executable, "-m", "fastmaze", *argv],
            cwd=tmp_path,
            env={**os.environ, "PYTHONPATH": PACKAGE_ROOT},  # the fastmaze this test imports
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == code, result.stderr
        assert "Traceback" not in result.stderr
    assert result.stderr.startswith("fastmaze: error:")


@pytest.mark.parametrize(
    ("edit", "fragment"),
    [
        ({"exit_sides": 3}, "exit_sides: expected a side"),
        ({"palette": None}, "palette: expected a sequence"),
        ({"size": {"rows": 4}}, "size: expected (rows, cols)"),
        ({"loops": "0.5"}, "loops: expected a fraction"),
        ({"rules": [{"rule": "os:system", "p": 1.0}]}, "rule os:system cannot be restored"),
        ({"kind": "mixture", "components": [[{}, None]]}, "weight: expected a finite number"),
        ({"kind": "mixture", "components": 3}, "Mixture: expected"),
    ],
)
def test_generate_with_a_bad_spec_file_prints_one_line(capsys, tmp_path, edit, fragment):
    spec = {"kind": "spec", **fastmaze.MazeSpec().to_dict(), **edit}
    if spec["kind"] == "mixture":
        spec = {"kind": "mixture", "components": edit["components"]}
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec))
    code, _, err = run(capsys, "generate", "--spec", str(path), "--n", "4", "--out",
                       str(tmp_path / "x.fmz"))  # fmt: skip
    assert_one_line_error(code, err, fragment)
