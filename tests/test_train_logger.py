"""TensorBoard scalars (``tensorboard=DIR``) beside the JSONL/CSV record."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("tensorboard")

from tensorboard.backend.event_processing.event_accumulator import (  # noqa: E402
    EventAccumulator,
)

from fastmaze.cli import main  # noqa: E402
from fastmaze.train.logger import ScalarLog, flatten  # noqa: E402


def scalars(folder: Path) -> dict[str, list[tuple[int, float]]]:
    acc = EventAccumulator(str(folder))
    acc.Reload()
    return {t: [(e.step, e.value) for e in acc.Scalars(t)] for t in acc.Tags()["scalars"]}


def test_flatten_keeps_numbers_and_joins_nested_keys():
    metrics = {
        "loss": 0.5,
        "ok": True,
        "n": np.int64(3),
        "t": torch.tensor(2.0),
        "eval": {"conflict": {"exit": 0.25, "name": "x"}, "rows": [1, 2]},
        "none": None,
    }
    assert dict(flatten(metrics, "train")) == {
        "train/loss": 0.5,
        "train/ok": 1.0,
        "train/n": 3.0,
        "train/t": 2.0,
        "train/eval/conflict/exit": 0.25,
    }


def test_scalar_log_writes_event_files(tmp_path):
    with ScalarLog(tmp_path / "run") as log:
        for step in range(3):
            log.scalars({"loss": 1.0 / (step + 1), "eval": {"exit": step / 2}}, step)
    got = scalars(tmp_path / "run")
    assert [s for s, _ in got["loss"]] == [0, 1, 2]
    assert np.allclose([v for _, v in got["loss"]], [1.0, 0.5, 1 / 3])
    assert [v for _, v in got["eval/exit"]] == [0.0, 0.5, 1.0]


def test_no_folder_is_a_no_op(tmp_path):
    log = ScalarLog(None)
    log.scalars({"loss": 1.0}, 0)
    log.close()
    with pytest.raises(ValueError, match="tensorboard: expected a folder"):
        ScalarLog("")


def test_experiment_set_tensorboard(tmp_path, capsys):
    board = tmp_path / "tb"
    argv = [
        "experiment", "shortcut-map", "--out", str(tmp_path / "out"),
        "--set", "size=[3,3]", "--set", "eval_episodes=50", "--set", "threads=1",
        "--set", "progress=false", "--set", "seeds=[0]", "--set", "rhos=[1.0]",
        "--set", "cues=[\"channel\"]", "--set", "steps=40", "--set", "batch=8",
        "--set", 'models=[{"name":"fcn","channels":4,"depth":1}]', "--set", f"tensorboard={board}",
    ]  # fmt: skip
    assert main(argv) == 0, capsys.readouterr().err
    (run,) = sorted(board.iterdir())
    assert "rho=1.0" in run.name and "cue=channel" in run.name and "seed=0" in run.name
    got = scalars(run)
    assert [s for s, _ in got["train/loss"]] == [20, 40]
    assert 0 <= got["final/conflict/proxy/rate"][0][1] <= 1
    assert (tmp_path / "out" / "runs.jsonl").exists()  # the record stays


def test_ppo_tensorboard_beside_metrics_jsonl(tmp_path):
    import json

    import fastmaze
    from fastmaze.train.ppo import PPOConfig, train_ppo

    cfg = PPOConfig(
        total_env_steps=3 * 8 * 16, num_envs=8, num_steps=16, num_minibatches=2, max_steps=10,
        model="fcn", model_kwargs={"channels": 4, "depth": 1}, env_kwargs={"num_threads": 1},
        tensorboard=str(tmp_path / "tb"),
    )  # fmt: skip
    result = train_ppo(fastmaze.MazeSpec(size=(2, 2)), cfg, out_dir=tmp_path, progress=False)
    rows = [json.loads(x) for x in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert len(rows) == len(result.history) == 3  # the record is still written
    got = scalars(tmp_path / "tb")
    assert [s for s, _ in got["policy_loss"]] == [128, 256, 384]
    assert np.allclose([v for _, v in got["policy_loss"]], [r["policy_loss"] for r in rows])
    assert "exit_rate" in got and "env_steps_per_s" in got
