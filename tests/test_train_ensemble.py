"""Seed ensembles: the id layout, the batched model against its members, member m of an
ensemble against member m trained alone (every task), checkpoints and exact resume."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import fastmaze as fm  # noqa: E402
from fastmaze.train import ensemble  # noqa: E402
from fastmaze.train.ensemble import Ensemble, member_results  # noqa: E402
from fastmaze.train.models import make_model  # noqa: E402
from fastmaze.train.stream import LevelStream, batch_ids  # noqa: E402
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


def test_batch_ids_layout_is_disjoint_and_solo_compatible() -> None:
    K, W, B = 3, 2, 4
    seen = set()
    for k in range(5):
        for r in range(W):
            block, _ = batch_ids(k, B, r, W, 7, members=K)
            for m in range(K):
                start, n = batch_ids(k, B, r, W, 7, member=m, members=K)
                assert start == block + m * B  # a rank's members of a step: one range
                seen |= set(range(start, start + n))
    assert seen == set(range(7, 7 + 5 * W * K * B))  # disjoint and covering
    assert batch_ids(4, B, 1, W, 7) == (7 + (4 * W + 1) * B, B)  # one member: as before


def test_stream_of_all_members_is_their_streams_side_by_side() -> None:
    K, B = 3, 5
    with LevelStream(SPEC, B, seed=2, members=K, threads=1, task="path") as every:
        whole = [every.next() for _ in range(2)]
        whole = [(b.ids.copy(), b.obs.clone(), b.target.clone()) for b in whole[:1]] + [
            (whole[1].ids, whole[1].obs, whole[1].target)
        ]
    for m in range(K):
        with LevelStream(SPEC, B, seed=2, members=K, member=m, threads=1, task="path") as one:
            for k in range(2):
                b = one.next()
                ids, obs, target = whole[k]
                rows = slice(m * B, (m + 1) * B)
                np.testing.assert_array_equal(b.ids, ids[rows])
                assert torch.equal(b.obs, obs[rows]) and torch.equal(b.target, target[rows])
    with pytest.raises(ValueError, match="member"):
        LevelStream(SPEC, B, members=2, member=2)


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


@pytest.mark.parametrize(
    "kw",
    [
        {"task": "exit"},
        {"task": "action", "model": "impala", "model_kwargs": {"channels": [4], "hidden": 8}},
        {"task": "path", "model": "recurrent", "model_kwargs": {"channels": 4, "iterations": 2}},
    ],
    ids=["exit", "action", "path"],
)
def test_member_is_the_solo_run_of_its_ids(kw) -> None:
    config = _config(ensemble=3, **kw)
    out = train_supervised(config)
    assert len(out["members"]) == 3 and out["steps"] == 3
    for m, got in enumerate(out["members"]):
        solo = train_supervised(replace(config, member=m))
        assert got["config"] == solo["config"]
        np.testing.assert_array_equal(got["batch_id_ranges"], solo["batch_id_ranges"])
        assert torch.equal(_flat(got["model"]), _flat(solo["model"]))  # bitwise (CPU)
        assert got["stream_stats"] == solo["stream_stats"]
        assert set(got["metrics"]) == set(solo["metrics"]) == {"train", "conflict"}
    flats = [_flat(r["model"]) for r in out["members"]]
    assert not torch.equal(flats[0], flats[1])  # own initialisation seeds
    spans = out["members"][0]["batch_id_ranges"], out["members"][1]["batch_id_ranges"]
    assert not set(spans[0].ravel()) & set(spans[1].ravel())  # own level ids


def test_vmapped_members_agree_with_solo_runs(monkeypatch) -> None:
    monkeypatch.setitem(ensemble.VECTORIZED, "cpu", True)
    kw = {"task": "path", "model": "recurrent", "model_kwargs": {"channels": 4, "iterations": 2}}
    config = _config(ensemble=2, **kw)
    for m, got in enumerate(train_supervised(config)["members"]):
        solo = train_supervised(replace(config, member=m))
        torch.testing.assert_close(_flat(got["model"]), _flat(solo["model"]), **TOL)


def test_member_zero_of_one_is_the_plain_run() -> None:
    config = _config()
    a, b = train_supervised(config), train_supervised(replace(config, member=0))
    assert torch.equal(_flat(a["model"]), _flat(b["model"]))
    assert [len(r) for r in member_results(config)] == [len(a)]


def test_ensemble_checkpoint_resumes_exactly(tmp_path) -> None:
    straight = train_supervised(_config(ensemble=2, steps=4))
    path = str(tmp_path / "ens.pt")
    train_supervised(_config(ensemble=2, steps=2, checkpoint=path))
    state = torch.load(path, weights_only=False)
    assert state["members"] == 2 and state["step"] == 2 and len(state["history"]) == 2
    resumed = train_supervised(_config(ensemble=2, steps=4, checkpoint=path))
    for a, b in zip(straight["members"], resumed["members"], strict=True):
        assert torch.equal(_flat(a["model"]), _flat(b["model"]))  # bitwise
        np.testing.assert_array_equal(a["batch_id_ranges"][-2:], b["batch_id_ranges"])
    with pytest.raises(ValueError, match="holds 2 members, this run 3"):
        train_supervised(_config(ensemble=3, steps=5, checkpoint=path))


def test_ensemble_config_checks() -> None:
    with pytest.raises(ValueError, match="ensemble: expected an integer >= 1"):
        _config(ensemble=0).resolved()
    with pytest.raises(ValueError, match=r"member: expected None or an integer in \[0, "):
        _config(ensemble=2, member=2).resolved()
