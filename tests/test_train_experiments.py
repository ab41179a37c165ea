"""Experiment presets run in tiny configurations and write their results folder."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from fastmaze.cli import main  # noqa: E402
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
    rows = [json.loads(x) for x in (tmp_path / "runs.jsonl").read_text().splitlines()]
    assert len(rows) == 12 and all(0 <= x["proxy"] <= 1 for x in rows)
    assert (tmp_path / "runs.csv").read_text().count("\n") == 13
    assert (tmp_path / "proxy_vs_rho.png").stat().st_size > 0
    assert (tmp_path / "heatmap.png").stat().st_size > 0
    assert "proxy rate" in r["table"] and "plots:" in lines[-1]


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
    assert 0 < row["episodes"] < row["episodes_all"] == TINY["eval_episodes"]
    assert row["ambiguous_fraction"] == pytest.approx(1 - row["episodes"] / row["episodes_all"])
    total = row["exit"] + row["proxy"] + row["neither"]
    assert total == pytest.approx(1.0)
    # trained before tested: 512 steps are far too few, and the run says so
    assert row["undertrained"] is True and row["train_threshold"] == 0.9
    assert 0 <= row["train_exit"] < 0.9 and row["steps_to_threshold"] is None
    assert "undertrained 1/1" in r["table"] and "undertrained" in lines[1]
    # the realised statistics of the stream it trained on
    assert row["stream_levels"] > 0 and -1 <= row["stream_phi"] <= 1 and row["stream_mi"] >= 0
    assert 0 <= row["stream_p_cue_given_exit"] <= 1
    assert row["env_steps"] == 512
    csv_head = (tmp_path / "runs.csv").read_text().splitlines()[0].split(",")
    assert {"proxy_lo", "undertrained", "stream_phi", "train_exit"} <= set(csv_head)


def test_corner_region_proxy_is_measured(tmp_path: Path) -> None:
    if not HAS_PPO:
        pytest.skip("fastmaze.train.ppo is not in this tree yet")
    over = {**TINY, "size": [4, 4], "ks": [2], "ppo": TINY_PPO, "train_eval_episodes": 50}
    row = ex.run_experiment("corner", tmp_path, over, echo=lambda s: None)["rows"][0]
    # a k = 2 region in a 4 x 4 maze: exits there and paths through it are ambiguous
    assert row["proxy_name"] == "region first" and 0.3 < row["ambiguous_fraction"] < 0.9
    assert row["stream_p_cue_given_exit"] == 1.0  # every training exit opens by the region
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

    train = ex._randomized(0.5, size=(4, 4))
    rec = stream_record(train, 0, (0, 20_000), "green")
    assert rec["stream_levels"] == 20_000
    # P(cue | exit) = 1 - p + p / K with K = 8 palette colours
    assert rec["stream_p_cue_given_exit_req"] == pytest.approx(0.5 + 0.5 / 8)
    assert rec["stream_p_cue_given_exit"] == pytest.approx(0.5 + 0.5 / 8, abs=0.01)
    assert abs(rec["stream_phi"] - rec["stream_phi_req"]) < 0.02
    corr = stream_record(ex._randomized(0.0, size=(4, 4)), 0, (0, 1000), "green")
    assert corr["stream_p_cue_given_exit"] == 1.0 and corr["stream_p_exit_given_cue"] == 1.0


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
        r"`fastmaze experiment` runs `(\S+)`: rho (\[[^\]]*\]) x cues (\[[^\]]*\]) "
        r"x models (\[.*?\]) x seeds (\[[^\]]*\]) on (\d+)x(\d+) (\w+) mazes, "
        r"(\d+) steps of (\d+) levels, (\S+) conflict levels per run",
        readme,
    )
    assert m, "README lacks the default experiment's description"
    assert m[1] == ex.DEFAULT
    assert json.loads(m[2]) == cfg["rhos"] and json.loads(m[3]) == cfg["cues"]
    assert json.loads(m[4]) == cfg["models"] and json.loads(m[5]) == cfg["seeds"]
    assert [int(m[6]), int(m[7])] == cfg["size"] and m[8] == cfg["algorithm"]
    assert int(m[9]) == cfg["steps"] and int(m[10]) == cfg["batch"]
    assert int(m[11].replace(",", "")) == cfg["eval_episodes"]
