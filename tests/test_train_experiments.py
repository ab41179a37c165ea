"""Experiment presets run in tiny configurations and write their results folder; ``--set``
values are checked before anything runs."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

import fastmaze as fm  # noqa: E402
from fastmaze.cli import main  # noqa: E402
from fastmaze.spec import spec_from_dict  # noqa: E402
from fastmaze.train import experiments as ex  # noqa: E402

torch.set_num_threads(1)
HAS_PPO = importlib.util.find_spec("fastmaze.train.ppo") is not None
TINY = {"size": [3, 3], "eval_episodes": 200, "threads": 1, "progress": False, "seeds": [0]}
TINY_PPO = {
    "total_env_steps": 512,
    "num_envs": 8,
    "num_steps": 32,
    "model": "fcn",
    "model_kwargs": {"channels": 4, "depth": 1},
    "max_steps": 20,
}


TINY_PATH = {
    **TINY,
    "steps": 4,
    "batch": 16,
    "models": [{"name": "recurrent", "channels": 4, "iterations": 2, "eval_iterations": 3}],
}
HAS_FALSE_EXITS = "false_exits" in fm.MazeSpec.__dataclass_fields__


def test_trajectory_tiny(tmp_path: Path) -> None:
    over = {**TINY_PATH, "ps": [0.0, 0.5], "cues": ["channel", "hidden"]}
    lines: list[str] = []
    r = ex.run_experiment("trajectory", tmp_path, over, echo=lines.append)
    assert len(r["rows"]) == 4
    rows = [json.loads(x) for x in (tmp_path / "runs.jsonl").read_text().splitlines()]
    for row in rows:
        rates = [row[k] for k in ("exit", "proxy", "other", "neither")]
        assert sum(rates) == pytest.approx(1.0) and row["episodes"] == 200
        assert row["ambiguous"] == 0.0  # off-path conflict decoys
        assert row["exit_lo"] <= row["exit"] <= row["exit_hi"]
        assert 0 <= row["train_exit"] <= 1 and 0 <= row["train_random_exit"] <= 1
        assert row["stats_levels"] == 4 * 16
        assert len(row["trajectories"]) == ex.TRAJECTORIES
        assert all(tuple(t[0]) for t in row["trajectories"])
        assert set(row["trajectory_outcomes"]) <= set(fm.OUTCOMES)
        assert spec_from_dict(row["trajectory_spec"]).decoy_placement == "off_path"
    # the realised statistics of each run's own training stream
    full, half = rows[0], rows[2]
    assert (full["p"], half["p"]) == (0.0, 0.5)
    assert full["phi"] == 1.0 and full["p_exit_given_cue"] == 1.0
    assert half["phi"] < 1.0 and half["phi_lo"] <= half["phi"] <= half["phi_hi"]
    assert half["p_exit_given_cue"] < 1.0 and half["mi_bits"] < full["mi_bits"]
    for png in ("rates_vs_p.png", "rates_vs_phi.png", "trajectories.png"):
        assert (tmp_path / png).stat().st_size > 0
    header = r["table"].splitlines()[0]
    for column in ("exit [95% CI]", "proxy", "other", "neither", "phi", "ambig.", "train exit"):
        assert column in header
    assert len(r["table"].splitlines()) == 5  # header + 2 p x 2 cues
    assert sum(line.startswith("  [") for line in lines) == 4  # one line per run
    csv_head = (tmp_path / "runs.csv").read_text().splitlines()[0]
    assert "trajectories" not in csv_head and "phi" in csv_head


def test_trajectory_log_is_line_per_run(tmp_path: Path, capsys) -> None:
    """Run through the command line with stderr not a terminal: no progress bars."""
    sets = ["--set", "ps=0.1", "--set", "cues=hidden"]
    for key, value in {**TINY_PATH, "progress": True}.items():
        sets += ["--set", f"{key}={json.dumps(value)}"]
    assert main(["experiment", "--out", str(tmp_path), *sets]) == 0
    out, err = capsys.readouterr()
    assert "\r" not in err and "\r" not in out
    assert "experiment trajectory: 1 runs" in out and "[1/1] p=0.1 cue=hidden" in out
    assert (tmp_path / "trajectories.png").exists()


def test_shortcut_map_tiny(tmp_path: Path) -> None:
    over = {
        **TINY,
        "rhos": [0.9, 1.0],
        "cues": ["channel", "rgb", "hidden"],
        "steps": 5,
        "batch": 16,
        "models": [
            {"name": "fcn", "channels": 4, "depth": 2},
            {"name": "impala", "channels": [4], "hidden": 8},
        ],
    }
    lines: list[str] = []
    r = ex.run_experiment("shortcut-map", tmp_path, over, echo=lines.append)
    assert len(r["rows"]) == 2 * 3 * 2
    cfg = json.loads((tmp_path / "config.json").read_text())
    assert cfg["rhos"] == [0.9, 1.0] and cfg["experiment"] == "shortcut-map"
    assert cfg["tasks"] == ["exit"] and cfg["false_exits"] == [0]
    rows = [json.loads(x) for x in (tmp_path / "runs.jsonl").read_text().splitlines()]
    assert len(rows) == 12 and all(0 <= x["proxy"] <= 1 for x in rows)
    assert (tmp_path / "runs.csv").read_text().count("\n") == 13
    assert (tmp_path / "proxy_vs_rho.png").stat().st_size > 0
    assert (tmp_path / "heatmap.png").stat().st_size > 0
    assert "proxy [95% CI]" in r["table"] and "plots:" in lines[-1]


def test_shortcut_map_capability_axes(tmp_path: Path) -> None:
    """Task, false exits, depth / width / recurrent iterations and cue availability."""
    over = {
        **TINY,
        "tasks": ["exit", "path"],
        "rhos": [1.0],
        "false_exits": [0, 1] if HAS_FALSE_EXITS else [0],
        "cues": ["channel", "hidden"],
        "steps": 3,
        "batch": 8,
        "models": [
            {"name": "fcn", "channels": 4, "depth": 1},
            {"name": "recurrent", "channels": 4, "iterations": 2},
        ],
    }
    r = ex.run_experiment("shortcut-map", tmp_path, over, echo=lambda s: None)
    runs = 2 * (2 if HAS_FALSE_EXITS else 1) * 2 * 2
    assert len(r["rows"]) == runs
    path_rows = [x for x in r["rows"] if x["task"] == "path"]
    assert all("neither" in x and "trajectories" in x for x in path_rows)
    assert all("neither" not in x for x in r["rows"] if x["task"] == "exit")
    swept = "task false_exits cue model" if HAS_FALSE_EXITS else "task cue model"
    assert r["table"].splitlines()[0].startswith(swept)  # rho is one value: not a column
    assert (tmp_path / "trajectories.png").exists() and (tmp_path / "heatmap.png").exists()


@pytest.mark.parametrize("name", ["exit-colour", "corner", "joint-failure"])
def test_ppo_presets(name: str, tmp_path: Path) -> None:
    if not HAS_PPO:
        with pytest.raises(RuntimeError, match=r"fastmaze\.train\.ppo"):
            ex.run_experiment(name, tmp_path, TINY, echo=lambda s: None)
        pytest.skip(
            "fastmaze.train.ppo is not in this tree yet (merged later); checked the "
            "clear error instead"
        )
    axis = {
        "exit-colour": {"ps": [0.5]},
        "corner": {"ks": [1]},
        "joint-failure": {"rhos": [1.0], "ws": [0.1]},
    }[name]
    over = {**TINY, **axis, "ppo": TINY_PPO, "train_eval_episodes": 100}
    lines: list[str] = []
    r = ex.run_experiment(name, tmp_path, over, echo=lines.append)
    assert len(r["rows"]) == 1 and (tmp_path / "runs.csv").exists() and r["plots"]
    row = r["rows"][0]
    proxy = "region first" if name == "corner" else "green first"
    assert row["proxy_name"] == proxy and proxy in r["table"]
    # the proxy rate with its interval, on the informative levels, counted apart
    assert row["proxy_lo"] <= row["proxy"] <= row["proxy_hi"]
    assert row["exit_lo"] <= row["exit"] <= row["exit_hi"]
    assert 0 < row["episodes"] <= row["episodes_all"] == TINY["eval_episodes"]
    assert row["ambiguous_fraction"] == pytest.approx(1 - row["episodes"] / row["episodes_all"])
    if name == "corner":  # exits in the region, region on the path: counted apart
        assert row["episodes"] < row["episodes_all"]
    total = row["exit"] + row["proxy"] + row["neither"]
    assert total == pytest.approx(1.0)
    # trained before tested: 512 steps are far too few, and the run says so
    assert row["undertrained"] is True and row["train_threshold"] == 0.9
    assert 0 <= row["train_exit"] < 0.9 and row["steps_to_threshold"] is None
    assert "undertrained 1/1" in r["table"] and "undertrained" in lines[1]
    # the realised statistics of the stream it trained on
    assert row["stats_levels"] > 0 and -1 <= row["phi"] <= 1 and row["mi_bits"] >= 0
    assert 0 <= row["p_cue_given_exit"] <= 1
    assert row["env_steps"] == 512
    csv_head = (tmp_path / "runs.csv").read_text().splitlines()[0].split(",")
    assert {"proxy_lo", "undertrained", "phi", "train_exit"} <= set(csv_head)


def test_ppo_seed_ensemble_rows_are_the_solo_rows(tmp_path: Path) -> None:
    """A PPO preset's seeds train as one ensemble by default; each member is its seed's run
    alone (bitwise on the CPU), so the rows equal those of ``ensemble=1``."""
    if not HAS_PPO:
        pytest.skip("fastmaze.train.ppo is not in this tree yet")
    over = {**TINY, "ps": [0.5], "seeds": [0, 1], "ppo": TINY_PPO, "train_eval_episodes": 50}
    runs = [
        ex.run_experiment("exit-colour", tmp_path / str(k), {**over, "ensemble": k}, echo=len)
        for k in (16, 1)
    ]
    timing = ("env_steps_per_s", "env_fraction", "run_s")

    def measured(row: dict) -> dict:
        row = {k: v for k, v in row.items() if k not in timing}
        row["train_metrics"] = {k: v for k, v in row["train_metrics"].items() if k not in timing}
        return row

    rows = [[measured(r) for r in x["rows"]] for x in runs]
    assert [r["seed"] for r in rows[0]] == [0, 1] and repr(rows[0]) == repr(rows[1])


def test_corner_region_proxy_is_measured(tmp_path: Path) -> None:
    if not HAS_PPO:
        pytest.skip("fastmaze.train.ppo is not in this tree yet")
    over = {**TINY, "size": [4, 4], "ks": [2], "ppo": TINY_PPO, "train_eval_episodes": 50}
    row = ex.run_experiment("corner", tmp_path, over, echo=lambda s: None)["rows"][0]
    # a k = 2 region in a 4 x 4 maze: exits there and paths through it are ambiguous
    assert row["proxy_name"] == "region first" and 0.3 < row["ambiguous_fraction"] < 0.9
    assert row["p_cue_given_exit"] == 1.0  # every training exit opens by the region
    assert row["proxy_lo"] <= row["proxy"] <= row["proxy_hi"]


def test_training_record_windows_and_threshold() -> None:
    import fastmaze
    from fastmaze.train.ppo_report import training_record

    history = [
        {"env_steps": 100 * (u + 1), "episodes": 10, "exit_rate": r}
        for u, r in enumerate([1.0, 0.2, 0.4, 0.6, 0.8, 0.9, 1.0, 0.9, 0.95, 0.95, 0.95, 0.92])
    ]
    ev = fastmaze.evaluate("oracle", fastmaze.MazeSpec(size=(3, 3)), 50, num_threads=1)
    rec = training_record(history, 0.9, ev, warmup_steps=200)
    assert rec["train_exit"] == 1.0 and rec["undertrained"] is False
    # 12 updates: a window of 2; the trailing rates from update 2 (200 steps) are
    # 0.6 0.3 0.5 0.7 0.85 0.95 0.95 0.925 0.95 0.95 0.935; the first update's 1.0 is warm-up
    assert rec["train_exit_rollout"] == pytest.approx(0.935)
    assert rec["steps_to_threshold"] == 700 and rec["steps_to_final"] == 700
    random = fastmaze.evaluate("random", fastmaze.MazeSpec(size=(3, 3)), 50, max_steps=3)
    assert training_record(history, 0.9, random, 200)["undertrained"] is True
    empty = training_record([], 0.5, ev, 0)
    assert empty["steps_to_final"] is None and empty["undertrained"] is False


def test_the_randomised_fraction_stream_is_recorded() -> None:
    from fastmaze.train.ppo_report import stream_record

    train = fm.randomized(0.5, size=(4, 4))
    rec = stream_record(train, 0, (0, 20_000), "green")
    assert rec["stats_levels"] == 20_000
    # P(cue | exit) = 1 - p + p / K with K = 8 palette colours
    assert rec["p_cue_given_exit_req"] == pytest.approx(0.5 + 0.5 / 8)
    assert rec["p_cue_given_exit"] == pytest.approx(0.5 + 0.5 / 8, abs=0.01)
    assert abs(rec["phi"] - rec["phi_req"]) < 0.02
    corr = stream_record(fm.randomized(0.0, size=(4, 4)), 0, (0, 1000), "green")
    assert corr["p_cue_given_exit"] == 1.0 and corr["p_exit_given_cue"] == 1.0


def test_train_threshold_is_checked(tmp_path: Path) -> None:
    if not HAS_PPO:
        pytest.skip("fastmaze.train.ppo is not in this tree yet")
    over = {**TINY, "ks": [1], "ppo": TINY_PPO, "train_threshold": 1.5}
    with pytest.raises(ValueError, match="train_threshold"):
        ex.run_experiment("corner", tmp_path, over, echo=lambda s: None)


def test_overrides_and_errors() -> None:
    over = ex.parse_overrides(["rhos=[0.5,1]", "cues=channel", "ppo.total_env_steps=10"])
    assert over == {"rhos": [0.5, 1], "cues": "channel", "ppo": {"total_env_steps": 10}}
    cfg = ex.resolve("shortcut-map", {"cues": "rgb"})
    assert cfg["cues"] == ["rgb"]
    with pytest.raises(ValueError, match="not a field"):
        ex.resolve("shortcut-map", {"nope": 1})
    with pytest.raises(ValueError, match="unknown"):
        ex.resolve("nope")


def test_every_preset_field_has_a_check() -> None:
    for name, exp in ex.PRESETS.items():
        ex.resolve(name)  # the defaults pass their own checks
        for key in exp.defaults:
            assert key in ex._RULES or key == "models", (name, key)


@pytest.mark.parametrize(
    "name, setting, fragment",
    [
        ("trajectory", "steps=abc", "--set steps: expected an integer >= 1, got 'abc'"),
        ("trajectory", "steps=-5", "--set steps: expected an integer >= 1, got -5"),
        ("trajectory", "steps=2.5", "--set steps: expected an integer >= 1, got 2.5"),
        ("trajectory", "eval_episodes=0", "--set eval_episodes: expected an integer >= 1"),
        ("trajectory", "batch=true", "--set batch: expected an integer >= 1, got True"),
        ("trajectory", "lr=0", "--set lr: expected a number > 0"),
        ("trajectory", "ps=[0.1,2]", "--set ps: expected a number in [0, 1] (each element"),
        ("trajectory", "cues=smell", "--set cues: expected one of channel, rgb, hidden"),
        ("trajectory", "size=[1,4]", "--set size: expected [rows, cols], two integers"),
        ("trajectory", "threads=0", "--set threads: expected null or an integer >= 1"),
        ("trajectory", "progress=maybe", "--set progress: expected true or false"),
        ("trajectory", "algorithm=dfs", "--set algorithm: expected one of backtracker"),
        ("trajectory", 'models=[{"name":"mlp"}]', "model name 'mlp'; expected one of"),
        ("trajectory", 'models=[{"depth":0}]', "fcn depth: expected an integer >= 1, got 0"),
        ("trajectory", 'models=[{"name":"fcn","iterations":3}]', "fcn has no 'iterations'"),
        ("trajectory", "seeds=[-1]", "--set seeds: expected an integer >= 0"),
        # refused when each run's config is built, still before any run trains
        ("trajectory", 'models=[{"name":"impala"}]', "needs a fully convolutional model"),
        ("shortcut-map", "tasks=action", "--set tasks: expected one of exit, path"),
        ("shortcut-map", "false_exits=[-1]", "--set false_exits: expected an integer >= 0"),
        ("shortcut-map", "rhos=1.5", "--set rhos: expected a number in [0, 1]"),
    ],
)
def test_bad_set_refused_up_front(tmp_path: Path, capsys, name, setting, fragment) -> None:
    out = tmp_path / "results"
    assert main(["experiment", name, "--out", str(out), "--set", setting]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("fastmaze: error: "), captured.err
    assert fragment in lines[0], lines[0]
    assert "Traceback" not in captured.err and captured.out == ""
    assert not out.exists()  # nothing ran, nothing written


def test_cli_list_and_bad_set(capsys) -> None:
    assert main(["experiment", "--list"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in ex.PRESETS)
    assert main(["experiment", "shortcut-map", "--set", "bogus=1"]) == 2


def test_default_matches_readme() -> None:
    """The README's description of `fastmaze experiment` is the embedded default."""
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    cfg = ex.resolve(ex.DEFAULT)
    m = re.search(
        r"`fastmaze experiment` runs `(\S+)`: p (\[[^\]]*\]) x cues (\[[^\]]*\]) "
        r"x models (\[.*?\]) x seeds (\[[^\]]*\]) on (\d+)x(\d+) (\w+) mazes, "
        r"(\d+) steps of (\d+) levels, (\S+) conflict levels per run",
        readme,
    )
    assert m, "README lacks the default experiment's description"
    assert m[1] == ex.DEFAULT
    assert json.loads(m[2]) == cfg["ps"] and json.loads(m[3]) == cfg["cues"]
    assert json.loads(m[4]) == cfg["models"] and json.loads(m[5]) == cfg["seeds"]
    assert [int(m[6]), int(m[7])] == cfg["size"] and m[8] == cfg["algorithm"]
    assert int(m[9]) == cfg["steps"] and int(m[10]) == cfg["batch"]
    assert int(m[11].replace(",", "")) == cfg["eval_episodes"]


def test_default_is_an_honest_trajectory_sweep() -> None:
    """The embedded default: the trajectory preset, >= 2 seeds per cell, >= 5,000 conflict
    levels per run, the p axis and both cue availabilities of the experiment."""
    cfg = ex.resolve(ex.DEFAULT)
    assert ex.DEFAULT == "trajectory" and main.__module__ == "fastmaze.cli"
    assert cfg["ps"] == [0.0, 0.02, 0.1, 0.5] and cfg["cues"] == ["channel", "hidden"]
    assert len(cfg["seeds"]) >= 2 and cfg["eval_episodes"] >= 5_000
