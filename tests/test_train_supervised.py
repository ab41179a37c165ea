"""Supervised training: the stream's targets and ids, learning, exact resume."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import fastmaze as fm  # noqa: E402
from fastmaze.train.checkpoint import load_checkpoint  # noqa: E402
from fastmaze.train.models import ConvNet, ImpalaCNN, make_model  # noqa: E402
from fastmaze.train.stream import LevelStream, batch_ids  # noqa: E402
from fastmaze.train.supervised import SupervisedConfig, train_supervised  # noqa: E402

torch.set_num_threads(1)
SPEC = fm.correlated(0.9, size=(3, 3), algorithm="kruskal")


def test_models_shapes() -> None:
    x = torch.zeros(5, 10, 9, 9, dtype=torch.uint8)
    imp = ImpalaCNN(10, 9, 9)
    assert imp(x).shape == (5, 256) and imp.out_features == 256
    fcn = make_model("fcn", 10, 9, 9, channels=8, depth=3)
    assert isinstance(fcn, ConvNet)
    assert fcn.features(x).shape == (5, 8, 9, 9)
    assert fcn(x).shape == (5, fcn.out_features)
    assert fcn.square_logits(x).shape == (5, 81)
    rgb = make_model("fcn", 3, 18, 18, channels=8, depth=2, pixels=2)
    assert rgb.features(torch.zeros(2, 3, 18, 18)).shape == (2, 8, 9, 9)
    with pytest.raises(ValueError, match="model: expected one of"):
        make_model("mlp", 3, 9, 9)


@pytest.mark.parametrize("task", ["exit", "action"])
@pytest.mark.parametrize("cue", ["channel", "hidden", "rgb"])
def test_stream_targets_and_ids(task: str, cue: str) -> None:
    B = 64
    seen = []
    for rank in (0, 1):
        with LevelStream(
            SPEC, B, seed=3, task=task, cue=cue, rank=rank, world_size=2, threads=1
        ) as s:
            for k in range(3):
                b = s.next()
                assert b.index == k and s.position == k + 1
                start, n = batch_ids(k, B, rank, 2)
                lv = fm.generate(SPEC, n, 3, start)
                np.testing.assert_array_equal(b.ids, lv.ids)
                W = lv.shape[1]
                if cue == "rgb":
                    want = fm.render.rgb(lv, pixels=2)
                else:
                    want = fm.render.symbolic(lv, hide_colors=cue == "hidden")
                np.testing.assert_array_equal(b.obs.numpy(), want)
                np.testing.assert_array_equal(b.mask.numpy(), lv.grid.reshape(n, -1) == 0)
                if task == "exit":
                    want_t = lv.exit[:, 0] * W + lv.exit[:, 1]
                else:
                    o = fm.solve(lv)
                    want_t = o.optimal_action[np.arange(n), lv.start[:, 0], lv.start[:, 1]]
                    amap = np.where(o.optimal_action == fm.NO_ACTION, -1, o.optimal_action)
                    np.testing.assert_array_equal(b.action_map.numpy(), amap.reshape(n, -1))
                np.testing.assert_array_equal(b.target.numpy(), want_t)
                seen.append(b.ids)
    ids = np.concatenate(seen)
    assert len(np.unique(ids)) == len(ids) == 2 * 3 * B


def test_stream_resumes_at_position() -> None:
    with LevelStream(SPEC, 16, threads=1) as a:
        batches = [a.next().ids for _ in range(4)]
    with LevelStream(SPEC, 16, start_batch=2, threads=1) as b:
        np.testing.assert_array_equal(b.next().ids, batches[2])


def _config(tmp_path, **kw) -> SupervisedConfig:
    base = dict(
        spec=SPEC,
        steps=60,
        batch=64,
        seed=0,
        progress=False,
        threads=1,
        device="cpu",
        eval_episodes=2000,
        model_kwargs={"channels": 16, "depth": 3},
    )
    base.update(kw)
    return SupervisedConfig(**base)


def test_learns_exit_far_above_chance(tmp_path) -> None:
    result = train_supervised(_config(tmp_path))
    floor = (fm.generate(SPEC, 100).grid == 0).sum(axis=(1, 2)).mean()
    acc = result["metrics"]["train"]["exit"]["rate"]
    assert acc >= 0.9, f"accuracy {acc} (chance ~{1 / floor:.3f})"
    assert result["metrics"]["train"]["episodes"] == 2000
    assert result["samples_per_s"] > 0 and result["stream_samples_per_s"] > 0
    conflict = result["metrics"]["conflict"]
    total = sum(conflict[k]["count"] for k in ("exit", "proxy", "other"))
    assert total == 2000
    assert conflict["proxy"]["lo"] <= conflict["proxy"]["rate"] <= conflict["proxy"]["hi"]


def test_resume_is_exact(tmp_path) -> None:
    kw = dict(steps=8, eval_episodes=10, model_kwargs={"channels": 8, "depth": 2})
    straight = train_supervised(_config(tmp_path, **kw))
    ckpt = tmp_path / "run.pt"
    half = train_supervised(
        _config(tmp_path, checkpoint=str(ckpt), checkpoint_every=4, **{**kw, "steps": 4})
    )
    assert half["steps"] == 4 and load_checkpoint(ckpt)["stream_position"] == 4
    resumed = train_supervised(_config(tmp_path, checkpoint=str(ckpt), **kw))
    assert resumed["steps"] == 8
    np.testing.assert_array_equal(resumed["batch_id_ranges"][0], straight["batch_id_ranges"][4])
    a = straight["model"].state_dict()
    b = resumed["model"].state_dict()
    for k in a:
        assert torch.equal(a[k], b[k]), k
