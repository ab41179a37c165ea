"""Supervised training: models, the stream's targets and ids, the path loss on ties,
learning (exit square and path task), realised stream statistics, exact resume."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import fastmaze as fm  # noqa: E402
from fastmaze.train.checkpoint import load_checkpoint  # noqa: E402
from fastmaze.train.models import ConvNet, ImpalaCNN, RecurrentConvNet, make_model  # noqa: E402
from fastmaze.train.stream import LevelStream, batch_ids  # noqa: E402
from fastmaze.train.supervised import (  # noqa: E402
    SupervisedConfig,
    build_model,
    evaluation_iterations,
    path_loss,
    stream_statistics,
    train_supervised,
)

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
    with pytest.raises(ValueError, match="unknown keyword size; expected channels, depth"):
        make_model("fcn", 3, 9, 9, size=3)


def test_recurrent_model_iterates_with_shared_weights() -> None:
    torch.manual_seed(0)  # weights and inputs fixed: no unit may happen to be dead everywhere
    x = torch.rand(3, 10, 9, 9)
    net = make_model("recurrent", 10, 9, 9, channels=6, iterations=2)
    assert isinstance(net, RecurrentConvNet)
    assert net.features(x).shape == (3, 6, 9, 9) and net.square_logits(x).shape == (3, 81)
    assert net(x).shape == (3, net.out_features)
    # The same parameters at any depth: more iterations change the output, not the weights.
    n_params = sum(p.numel() for p in net.parameters())
    deeper = net.features(x, iterations=5)
    assert sum(p.numel() for p in net.parameters()) == n_params
    assert not torch.allclose(deeper, net.features(x))
    net.iterations = 5
    torch.testing.assert_close(net.features(x), deeper)
    # Receptive field: 2·block_depth squares per iteration (plus the stem's one): a change
    # at one corner reaches the far corner of a 9 × 9 board only after enough iterations.
    y = x.clone()
    y[:, :, 0, 0] += 1
    for t, reaches in ((1, False), (4, True)):
        moved = (net.features(y, iterations=t) - net.features(x, iterations=t)).abs()
        assert bool(moved[:, :, 8, 8].max() > 0) == reaches, t
    with pytest.raises(ValueError, match="iterations"):
        net.features(x, iterations=0)
    with pytest.raises(ValueError, match="iterations must be an integer >= 1"):
        make_model("recurrent", 10, 9, 9, iterations=0)


@pytest.mark.parametrize("task", ["exit", "action", "path"])
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
                elif task == "path":
                    want_t = fm.solve(lv).optimal_actions.reshape(n, -1)
                    assert b.target.dtype == torch.uint8 and b.action_map is None
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


def test_path_loss_on_ties() -> None:
    """Any optimal action is right: −log of the softmax mass on the optimal set, averaged
    over the squares that have one; squares without are left out."""
    logits = torch.tensor(
        [[[1.0, 0.0, 5.0], [2.0, 0.0, -5.0], [0.0, 3.0, 0.0], [-1.0, 0.0, 0.0]]],
        requires_grad=True,
    )  # [1, 4 actions, 3 squares]
    optimal = torch.tensor([[0b0101, 0b1110, 0]], dtype=torch.uint8)  # {0, 2}, {1, 2, 3}, none
    loss, acc = path_loss(logits, optimal)
    p = torch.softmax(logits.detach(), 1)[0]
    want = -(torch.log(p[0, 0] + p[2, 0]) + torch.log(p[1, 1] + p[2, 1] + p[3, 1])) / 2
    torch.testing.assert_close(loss, want)
    # square 0: argmax 1 (not optimal); square 1: argmax 2 (optimal); square 2 left out
    assert acc.item() == pytest.approx(0.5)
    loss.backward()
    assert torch.all(logits.grad[0, :, 2] == 0)  # the left-out square gets no gradient
    # A tie among optimal actions costs nothing once they hold all the mass.
    sure = torch.tensor([[[9.0], [-20.0], [9.0], [-20.0]]])
    loss, acc = path_loss(sure, torch.tensor([[0b0101]], dtype=torch.uint8))
    assert loss.item() == pytest.approx(0.0, abs=1e-6) and acc.item() == 1.0
    # No square with an optimal action at all: zero loss, no NaN.
    loss, _ = path_loss(torch.zeros(2, 4, 5), torch.zeros(2, 5, dtype=torch.uint8))
    assert loss.item() == 0.0


def test_path_task_learns_far_above_a_random_policy_map(tmp_path) -> None:
    config = _config(
        tmp_path,
        spec=fm.randomized(0.0, size=(3, 3)),
        task="path",
        steps=350,
        lr=1e-2,
        eval_episodes=1000,
        model_kwargs={"channels": 16, "depth": 6},
    )
    result = train_supervised(config)
    train = result["metrics"]["train"]
    chance = train["random_exit"]["rate"]
    exit_rate = train["exit"]["rate"]
    assert chance < 0.1
    assert exit_rate >= 0.4 and exit_rate >= chance + 0.3, (exit_rate, chance)
    assert train["exit"]["lo"] > train["random_exit"]["hi"]
    assert train["square_accuracy"] > 0.7
    # ambiguous levels counted apart; the four outcomes partition the rest
    counted = train["counted"]
    assert counted + train["ambiguous"]["count"] == 1000
    assert sum(train[k]["count"] for k in ("exit", "proxy", "other", "neither")) == counted
    conflict = result["metrics"]["conflict"]
    assert conflict["ambiguous"]["count"] == 0  # off-path decoys only
    assert conflict["counted"] == 1000


def test_evaluate_path_scores_the_oracle_map_perfectly(monkeypatch) -> None:
    """With the oracle's own action map as the policy, every counted level ends at the
    exit in the fewest steps; ambiguous levels are counted apart, never as proxy."""
    from fastmaze.train import supervised

    def oracle_map(model, levels, **_):
        best = fm.solve(levels).optimal_action
        return np.where(best == fm.NO_ACTION, 0, best).astype(np.uint8)

    monkeypatch.setattr(supervised, "policy_map", oracle_map)
    for spec in (fm.conflict(size=(3, 3)), fm.correlated(1.0, size=(3, 3))):
        r = supervised.evaluate_path(None, spec, 500, seed=2)
        assert r["exit"]["rate"] == 1.0 and r["optimal"]["rate"] == 1.0, r
        assert r["excess_mean"] == 0.0 and r["square_accuracy"] == 1.0
        assert r["proxy"]["count"] == r["other"]["count"] == r["neither"]["count"] == 0
        assert r["counted"] + r["ambiguous"]["count"] == 500
        assert r["random_exit"]["rate"] < 0.2
    assert r["ambiguous"]["count"] > 0  # the training spec's decoys may lie on the path
    assert supervised.evaluate_path(None, fm.conflict(size=(3, 3)), 50)["ambiguous"]["rate"] == 0


def test_path_task_needs_a_fully_convolutional_model() -> None:
    with pytest.raises(ValueError, match="task 'path' needs a fully convolutional model"):
        SupervisedConfig(task="path", model="impala").resolved()
    with pytest.raises(ValueError, match="eval_iterations: only the 'recurrent' model"):
        SupervisedConfig(task="path", eval_iterations=3).resolved()
    with pytest.raises(ValueError, match=r"eval_iterations: expected an integer in 1\.\..*got 0"):
        SupervisedConfig(task="path", model="recurrent", eval_iterations=0).resolved()


def test_evaluation_iterations_are_set_and_restored() -> None:
    c = SupervisedConfig(
        spec=SPEC, task="path", model="recurrent", model_kwargs={"channels": 4, "iterations": 2}
    ).resolved()
    model = build_model(c)
    x = torch.from_numpy(fm.generate(SPEC, 3).symbolic())
    assert model(x).shape == (3, 4, 7, 7)
    with evaluation_iterations(model, 6):
        assert model.body.iterations == 6
        longer = model(x)
    assert model.body.iterations == 2
    torch.testing.assert_close(longer, model.body.score(model.body.features(x, 6)))


def test_stream_statistics_are_those_of_the_stream() -> None:
    spec = fm.randomized(0.5, size=(3, 3))
    st = stream_statistics(spec, 4, 3000)
    want = fm.generate(spec, 3000, 4).stats().color("green")
    assert st["levels"] == 3000 and st["cue"] == "green"
    assert st["phi"]["value"] == want.phi and st["phi"]["lo"] == want.phi_lo
    assert st["p_cue_given_exit"]["value"] == want.exit
    assert st["p_exit_given_cue"]["value"] == want.given and st["mi_bits"]["value"] == want.mi
    assert st["p_exit_given_cue"]["value"] < 1 and st["phi"]["value"] < 1
    full = stream_statistics(fm.randomized(0.0, size=(3, 3)), 0, 2000)
    assert full["p_cue_given_exit"]["value"] == 1.0 and full["p_exit_given_cue"]["value"] == 1.0
    with pytest.raises(ValueError, match="cue_color"):
        stream_statistics(spec, 0, 10, cue_color="mauve")


@pytest.mark.parametrize(
    "task, model, kwargs",
    [
        ("exit", "fcn", {"channels": 8, "depth": 2}),
        ("path", "recurrent", {"channels": 8, "iterations": 2}),
    ],
)
def test_resume_is_exact(tmp_path, task, model, kwargs) -> None:
    kw = dict(steps=8, eval_episodes=10, task=task, model=model, model_kwargs=kwargs)
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
    assert resumed["metrics"] == straight["metrics"]
    # the realised statistics cover the whole stream, first half included
    assert resumed["stream_stats"] == straight["stream_stats"]
    assert straight["stream_stats"]["levels"] == 8 * 64
