"""Seed ensembles: the stream of K seeds, the batched model against its members, member m
of an ensemble against the solo run of its seed (every task), checkpoints, exact resume."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import fastmaze as fm  # noqa: E402
from fastmaze.train import ensemble  # noqa: E402
from fastmaze.train.ensemble import Ensemble, train_supervised_ensemble  # noqa: E402
from fastmaze.train.models import make_model  # noqa: E402
from fastmaze.train.stream import LevelStream  # noqa: E402
from fastmaze.train.supervised import SupervisedConfig, train_supervised  # noqa: E402

torch.set_num_threads(1)
SPEC = fm.correlated(0.9, size=(3, 3), algorithm="kruskal")
# vmap'd convolutions are grouped convolutions, which sum in another order than the solo
# model's (see fastmaze.train.ensemble): agreement to float rounding, grown over a few steps.
TOL = {"rtol": 1e-4, "atol": 1e-5}


def _config(**kw) -> SupervisedConfig:
    base = dict(
        spec=SPEC,
        steps=3,
        batch=8,
        seed=5,
        progress=False,
        threads=1,
        eval_episodes=64,
        model_kwargs={"channels": 4, "depth": 2},
    )
    return SupervisedConfig(**{**base, **kw})


def _flat(model: torch.nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in model.parameters()])


def test_stream_of_seeds_is_their_streams_side_by_side() -> None:
    seeds, B = (4, 9, 2), 5
    with LevelStream(SPEC, B, seeds=seeds, task="path", rank=1, world_size=2) as every:
        got = []
        for _ in range(2):
            b = every.next()
            got.append((b.ids.copy(), b.obs.clone(), b.target.clone(), b.mask.clone()))
    for m, seed in enumerate(seeds):
        with LevelStream(SPEC, B, seed=seed, threads=1, task="path", rank=1, world_size=2) as one:
            for k in range(2):
                b = one.next()
                ids, obs, target, mask = got[k]
                rows = slice(m * B, (m + 1) * B)
                np.testing.assert_array_equal(b.ids, ids[rows])
                assert torch.equal(b.obs, obs[rows]) and torch.equal(b.target, target[rows])
                assert torch.equal(b.mask, mask[rows])
    assert not torch.equal(got[0][1][:B], got[0][1][B : 2 * B])  # own levels
    with pytest.raises(ValueError, match="distinct seeds"):
        LevelStream(SPEC, B, seeds=[1, 1])


def test_ensemble_forward_matches_members() -> None:
    models = []
    for m in range(3):
        torch.manual_seed(m)
        models.append(make_model("recurrent", 5, 3, 3, channels=4, iterations=2))
    ens = Ensemble(models)
    x = torch.rand(3, 6, 5, 3, 3)
    out, batched = ens(x), Ensemble(models, vectorized=True)(x)
    for m in range(3):
        assert torch.equal(out[m], models[m](x[m]))
        torch.testing.assert_close(batched[m], models[m](x[m]), **TOL)
        assert torch.equal(_flat(ens.member(m)), _flat(models[m]))
    with pytest.raises(ValueError, match="members on axis 0"):
        ens(x[:2])


def _same_result(got: dict, solo: dict, exact: bool = True) -> None:
    assert got["config"] == solo["config"]
    np.testing.assert_array_equal(got["batch_id_ranges"], solo["batch_id_ranges"])
    if exact:
        assert torch.equal(_flat(got["model"]), _flat(solo["model"]))  # bitwise (CPU)
        assert json.dumps(got["metrics"]) == json.dumps(solo["metrics"])  # NaN == NaN
    else:
        torch.testing.assert_close(_flat(got["model"]), _flat(solo["model"]), **TOL)
    assert got["stream_stats"] == solo["stream_stats"] and got["stream_stats"]
    assert got["steps"] == solo["steps"]
    if exact:
        assert json.dumps(got["history"]) == json.dumps(solo["history"])


@pytest.mark.parametrize(
    "kw",
    [
        {"task": "exit"},
        {"task": "action", "model": "impala", "model_kwargs": {"channels": [4], "hidden": 8}},
        {"task": "path", "model": "recurrent", "model_kwargs": {"channels": 4, "iterations": 2}},
        {"task": "exit", "cue": "rgb", "eval_every": 2},
    ],
    ids=["exit", "action", "path", "rgb-periodic-eval"],
)
def test_member_is_the_solo_run_of_its_seed(kw) -> None:
    config = _config(ensemble=3, **kw)
    out = train_supervised(config)
    assert len(out["members"]) == 3 and out["steps"] == 3
    for m, got in enumerate(out["members"]):
        _same_result(got, train_supervised(replace(config, seed=config.seed + m, ensemble=1)))
        assert set(got["metrics"]) == {"train", "conflict"}
        if config.eval_every:
            assert got["history"] and got["history"][0]["step"] == 2
    flats = [_flat(r["model"]) for r in out["members"]]
    assert not torch.equal(flats[0], flats[1])  # own initialisation seeds


def test_any_distinct_seeds_and_their_checks() -> None:
    config = _config()
    got = train_supervised_ensemble(config, [7, 3])
    _same_result(got[1], train_supervised(replace(config, seed=3)))
    with pytest.raises(ValueError, match="distinct seeds"):
        train_supervised_ensemble(config, [3, 3])
    with pytest.raises(ValueError, match="distinct seeds"):
        train_supervised_ensemble(config, [])
    with pytest.raises(ValueError, match="integers >= 0"):
        train_supervised_ensemble(config, [1, 2.5])


def test_vmapped_members_agree_with_solo_runs(monkeypatch) -> None:
    monkeypatch.setitem(ensemble.VECTORIZED, "cpu", True)
    kw = {"task": "path", "model": "recurrent", "model_kwargs": {"channels": 4, "iterations": 2}}
    config = _config(**kw)
    for seed, got in zip((5, 6), train_supervised_ensemble(config, [5, 6]), strict=True):
        _same_result(got, train_supervised(replace(config, seed=seed)), exact=False)


def test_ensemble_checkpoint_resumes_exactly(tmp_path) -> None:
    straight = train_supervised(_config(ensemble=2, steps=4))
    path = str(tmp_path / "ens.pt")
    train_supervised(_config(ensemble=2, steps=2, checkpoint=path))
    state = torch.load(path, weights_only=False)
    assert state["seeds"] == [5, 6] and state["step"] == 2 and len(state["history"]) == 2
    resumed = train_supervised(_config(ensemble=2, steps=4, checkpoint=path))
    for a, b in zip(straight["members"], resumed["members"], strict=True):
        assert torch.equal(_flat(a["model"]), _flat(b["model"]))  # bitwise
        np.testing.assert_array_equal(a["batch_id_ranges"][-2:], b["batch_id_ranges"])
    with pytest.raises(ValueError, match=r"seeds \[5, 6\], this run \[5, 6, 7\]"):
        train_supervised(_config(ensemble=3, steps=5, checkpoint=path))
    with pytest.raises(ValueError, match=r"an ensemble of seeds \[5, 6\]; resume it with"):
        train_supervised(_config(steps=5, checkpoint=path))
    solo = str(tmp_path / "solo.pt")
    train_supervised(_config(steps=1, checkpoint=solo))
    with pytest.raises(ValueError, match=r"of seeds \[5\], this run \[5, 6\]"):
        train_supervised(_config(ensemble=2, steps=2, checkpoint=solo))


def test_ensemble_config_checks() -> None:
    with pytest.raises(ValueError, match=r"SupervisedConfig\.ensemble: expected an integer"):
        _config(ensemble=0)
