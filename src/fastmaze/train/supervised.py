"""Supervised training on fresh levels: predict the exit square, imitate the oracle's first
action, or output the whole path (a policy map over the board).

``train_supervised(SupervisedConfig(...))`` trains a model on a `LevelStream`, evaluates it
periodically and at the end on held-out ids of the training spec and on test specs (by
default the *conflict* set: the exit never green, one green decoy), checkpoints every
``checkpoint_every`` steps so a stopped run resumes exactly, and runs data-parallel under
``torchrun`` (each rank draws disjoint level ids).

Exit-square prediction scores every *floor* square of the board (the exit is the floor
square in the outer wall; decoys are interior floor squares), so a model that learned
"green" rather than "the exit" can show it: on the conflict set a pick of the green decoy
counts as *proxy*, a pick of the exit as *exit*, anything else as *other*.

The path task (``task="path"``) scores the 4 actions at every board square (the *policy
map*, [N, 4, H, W]); the target is the oracle's optimal action set at each floor square
and the loss `path_loss`. The model's trajectory is the greedy walk on its policy map from
the start (`fastmaze.walk`); its outcome is the first object it enters: the exit, a decoy
of the cue colour (*proxy*), another decoy (*other*), or *neither* (a loop, a stall, the
step limit).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

import fastmaze
from fastmaze.presets import conflict, correlated
from fastmaze.render import rgb, symbolic
from fastmaze.spec import AnySpec, MazeSpec, Mixture, spec_from_dict, spec_to_dict
from fastmaze.stats import wilson
from fastmaze.train.checkpoint import load_checkpoint, rng_state, save_checkpoint, set_rng_state
from fastmaze.train.distributed import Dist, all_reduce_mean, init_distributed
from fastmaze.train.models import MODELS, make_model
from fastmaze.train.stream import CUES, TASKS, LevelStream
from fastmaze.validate import check_choice, check_int, check_number, fail, flag

__all__ = [
    "EVAL_FIRST_ID",
    "SquareModel",
    "SupervisedConfig",
    "build_model",
    "evaluate_action",
    "evaluate_exit",
    "evaluate_path",
    "evaluation_iterations",
    "logits_loss",
    "path_loss",
    "policy_map",
    "stream_statistics",
    "train_supervised",
]

#: Most training-stream levels `stream_statistics` measures (the first ones of the stream).
STATS_LEVELS = 1 << 18

#: First level id of evaluation sets: training draws ids from 0 upwards, far below.
EVAL_FIRST_ID = 2**40


@dataclass
class SupervisedConfig:
    """Everything a supervised run depends on (JSON-able through `to_dict`).

    - ``spec``: the training spec (default `correlated(1.0)` on 4×4 Kruskal mazes);
      ``test_specs``: name -> spec evaluated besides held-out training levels (default: the
      conflict set of the same size, algorithm, loops, false exits and palette).
    - ``task``: "exit" (predict the exit square), "action" (the oracle's action at the
      start) or "path" (a policy map: the optimal actions at every square; needs a fully
      convolutional model). ``cue``: "channel" (one-hot colour planes), "rgb" (images,
      ``pixels`` per square) or "hidden" (colour planes zeroed). ``cue_color``: the colour
      counted as proxy.
    - ``model``: "fcn", "recurrent" or "impala", ``model_kwargs`` for `make_model` (fcn:
      channels, depth; recurrent: channels, iterations, block_depth; impala: channels,
      hidden). ``eval_iterations``: the recurrent model's iterations at evaluation (None:
      as trained), to let it think longer (or shorter) than in training.
    - ``steps`` of ``batch`` levels (per rank), Adam with ``lr`` and ``weight_decay``;
      ``seed`` seeds the levels (stream and evaluation) and torch.
    - ``ensemble``: K > 1 trains the K runs of seeds ``seed``, ``seed + 1``, ..,
      ``seed + K - 1`` at once, as one batched model (`fastmaze.train.ensemble`): each
      member has its own initialisation, levels, Adam state and metrics, and is the same
      training as the run of its seed alone.
    - ``eval_every`` steps (0: only at the end) on ``eval_episodes_periodic`` levels per set;
      final evaluation on ``eval_episodes`` (>= 10,000 by default) levels per set.
    - ``checkpoint`` path, written every ``checkpoint_every`` steps (0: never) and at the
      end; ``resume``: continue from it if it exists.
    - ``device``: None = cuda when available, else cpu; ``threads``: core threads of the
      stream (None: all cores); ``prefetch`` batches; ``progress``: tqdm bar.
    """

    spec: Any = None
    test_specs: dict[str, Any] | None = None
    task: str = "exit"
    cue: str = "channel"
    cue_color: str = "green"
    pixels: int = 2
    model: str = "fcn"
    model_kwargs: dict[str, Any] = field(default_factory=dict)
    eval_iterations: int | None = None
    steps: int = 1000
    batch: int = 128
    lr: float = 2e-3
    weight_decay: float = 0.0
    seed: int = 0
    ensemble: int = 1
    device: str | None = None
    eval_every: int = 0
    eval_episodes: int = 10_000
    eval_episodes_periodic: int = 2_000
    checkpoint: str | None = None
    checkpoint_every: int = 0
    resume: bool = True
    threads: int | None = None
    prefetch: int = 2
    progress: bool = True

    def __post_init__(self) -> None:
        self.check()

    def check(self) -> None:
        """Raises ValueError naming the first field of a wrong type or out of range."""
        name = "SupervisedConfig."
        if not (self.spec is None or isinstance(self.spec, (MazeSpec, Mixture, dict))):
            raise fail(name + "spec", "a MazeSpec, Mixture, spec dict or None", self.spec)
        tests = self.test_specs
        if tests is not None and (
            not isinstance(tests, dict)
            or not all(isinstance(k, str) for k in tests)
            or not all(isinstance(v, (MazeSpec, Mixture, dict)) for v in tests.values())
        ):
            raise fail(name + "test_specs", "a dict name -> spec, or None", tests)
        check_choice(name + "task", self.task, TASKS)
        check_choice(name + "cue", self.cue, CUES)
        check_choice(name + "cue_color", self.cue_color, fastmaze.COLORS)
        check_int(name + "pixels", self.pixels, 1, 256)
        check_choice(name + "model", self.model, MODELS)
        kwargs = self.model_kwargs
        if not isinstance(kwargs, dict) or not all(isinstance(k, str) for k in kwargs):
            raise fail(name + "model_kwargs", "a dict of keyword arguments", kwargs)
        if self.eval_iterations is not None:
            check_int(name + "eval_iterations", self.eval_iterations, 1, 2**20)
        check_int(name + "steps", self.steps, 1, 2**62)
        check_int(name + "batch", self.batch, 1, 2**31 - 1)
        check_number(name + "lr", self.lr, 0.0, math.inf, open_lo=True)
        check_number(name + "weight_decay", self.weight_decay, 0.0)
        check_int(name + "seed", self.seed, 0, 2**64 - 1)
        check_int(name + "ensemble", self.ensemble, 1, 2**16)
        if self.device is not None and not isinstance(self.device, str):
            raise fail(name + "device", "a torch device name or None", self.device)
        check_int(name + "eval_every", self.eval_every, 0, 2**62)
        check_int(name + "eval_episodes", self.eval_episodes, 1, 2**40)
        check_int(name + "eval_episodes_periodic", self.eval_episodes_periodic, 1, 2**40)
        if self.checkpoint is not None and not isinstance(self.checkpoint, str):
            raise fail(name + "checkpoint", "a path (str) or None", self.checkpoint)
        check_int(name + "checkpoint_every", self.checkpoint_every, 0, 2**62)
        flag(name + "resume", self.resume)
        if self.threads is not None:
            check_int(name + "threads", self.threads, 1, 4096)
        check_int(name + "prefetch", self.prefetch, 1, 1024)
        flag(name + "progress", self.progress)

    def resolved(self) -> SupervisedConfig:
        """A copy with defaults filled in (spec, test specs) and fields checked."""
        self.check()
        if self.task == "path" and self.model not in ("fcn", "recurrent"):
            raise ValueError(
                f"model: {self.model!r} cannot output a policy map; task 'path' needs a fully "
                "convolutional model, 'fcn' or 'recurrent'"
            )
        if self.eval_iterations is not None:
            if self.model != "recurrent":
                raise ValueError(
                    f"eval_iterations: only the 'recurrent' model iterates, got model "
                    f"{self.model!r}; leave eval_iterations None"
                )
        spec = self.spec
        if spec is None:
            spec = correlated(1.0, size=(4, 4), algorithm="kruskal")
        elif isinstance(spec, dict):
            spec = spec_from_dict(spec)
        tests = self.test_specs
        if tests is None:
            base = spec.components[0][0] if isinstance(spec, Mixture) else spec
            tests = {
                "conflict": conflict(
                    cue=self.cue_color,
                    size=base.size,
                    palette=base.palette,
                    algorithm=base.algorithm,
                    loops=base.loops,
                    false_exits=base.false_exits,
                )
            }
        tests = {k: spec_from_dict(v) if isinstance(v, dict) else v for k, v in tests.items()}
        return replace(self, spec=spec, test_specs=tests)

    def to_dict(self) -> dict[str, Any]:
        c = self.resolved()
        d = asdict(replace(c, spec=None, test_specs=None))
        d["spec"] = spec_to_dict(c.spec)
        d["test_specs"] = {k: spec_to_dict(v) for k, v in c.test_specs.items()}
        return d


class SquareModel(nn.Module):
    """A body from `make_model` with a head: per-square logits [N, H·W] (task "exit": the
    fully convolutional body's own 1×1 scorer, or a linear layer over the body's features
    for IMPALA), action logits [N, 4] (task "action"), or a policy map [N, 4, H, W] (task
    "path": the body's 1×1 scorer with 4 outputs, one per action)."""

    def __init__(self, body: nn.Module, task: str, squares: int) -> None:
        super().__init__()
        self.body, self.task = body, task
        self.head: nn.Module | None = None
        if task == "path":
            body.score = nn.Conv2d(body.channels, 4, 1)  # every parameter used (DDP)
        elif not (task == "exit" and hasattr(body, "square_logits")):
            self.head = nn.Linear(body.out_features, squares if task == "exit" else 4)

    def forward(self, x: Tensor) -> Tensor:
        if self.task == "path":
            return self.body.score(self.body.features(x))
        if self.head is None:
            return self.body.square_logits(x)
        return self.head(self.body(x))


def build_model(config: SupervisedConfig) -> SquareModel:
    """The model of a resolved config, for its spec's board and cue."""
    H, W = config.spec.shape
    P = len(config.spec.palette)
    kwargs = dict(config.model_kwargs)
    if config.cue == "rgb":
        c, h, w = 3, H * config.pixels, W * config.pixels
        if config.model == "fcn":
            kwargs.setdefault("pixels", config.pixels)
    else:
        c, h, w = 2 + P, H, W
    if config.model == "impala" and "channels" in kwargs:
        kwargs["channels"] = tuple(kwargs["channels"])
    return SquareModel(make_model(config.model, c, h, w, **kwargs), config.task, H * W)


def path_loss(logits: Tensor, optimal: Tensor) -> tuple[Tensor, Tensor]:
    """Loss and accuracy of a policy map against optimal action sets.

    ``logits`` float [B, 4, H, W] (or [B, 4, H·W]); ``optimal`` uint8 [B, H·W], bit a set
    iff action a is optimal at that square (0: no optimal action, the square is left out).
    Any optimal action is right: loss = −log Σ_{a optimal} softmax(logits)_a, averaged over
    the squares that have an optimal action; accuracy = the fraction of them whose argmax
    action is optimal.
    """
    logits = logits.flatten(2).float()
    bits = optimal.reshape(len(optimal), 1, -1).to(torch.int32)
    shifts = torch.arange(4, device=logits.device, dtype=torch.int32).view(1, 4, 1)
    allowed = ((bits >> shifts) & 1).bool()  # [B, 4, S]
    counted = allowed.any(1)  # [B, S]
    lowest = torch.finfo(logits.dtype).min
    per_square = torch.logsumexp(logits, 1) - torch.logsumexp(
        logits.masked_fill(~allowed, lowest), 1
    )
    squares = counted.sum().clamp(min=1)
    loss = torch.where(counted, per_square, torch.zeros_like(per_square)).sum() / squares
    hit = allowed.gather(1, logits.argmax(1, keepdim=True)).squeeze(1) & counted
    return loss, hit.sum() / squares


def _loss(model: nn.Module, batch: Any, task: str) -> tuple[Tensor, Tensor]:
    """(mean cross-entropy, accuracy) of a batch; exit logits masked to floor squares."""
    return logits_loss(model(batch.obs), batch, task)


def logits_loss(logits: Tensor, batch: Any, task: str) -> tuple[Tensor, Tensor]:
    """(mean loss, accuracy) of a model's ``logits`` on ``batch`` (``target``, ``mask``)."""
    if task == "path":
        return path_loss(logits, batch.target)
    if task == "exit":
        logits = logits.masked_fill(~batch.mask, -1e9)
    loss = nn.functional.cross_entropy(logits, batch.target)
    acc = (logits.argmax(1) == batch.target).float().mean()
    return loss, acc


def _observe(levels: fastmaze.Levels, cue: str, pixels: int) -> np.ndarray:
    if cue == "rgb":
        return rgb(levels, pixels=pixels)
    return symbolic(levels, hide_colors=cue == "hidden")


def _rate(k: int, n: int) -> dict[str, float]:
    lo, hi = wilson(k, n, 0.95)
    return {"rate": k / n if n else math.nan, "lo": float(lo), "hi": float(hi), "count": k}


@torch.no_grad()
def evaluate_exit(
    model: nn.Module,
    spec: AnySpec,
    episodes: int,
    *,
    cue: str = "channel",
    pixels: int = 2,
    seed: int = 0,
    first_id: int = EVAL_FIRST_ID,
    cue_color: str = "green",
    device: torch.device | str = "cpu",
    batch: int = 2048,
) -> dict[str, Any]:
    """Exit-square picks on levels ``first_id ..`` of ``(spec, seed)``: argmax of the
    model's logits over floor squares. Returns {"episodes", "exit", "proxy", "other"}, each
    {"rate", "lo", "hi", "count"} with 95% Wilson bounds: *exit* picked the exit, *proxy*
    a decoy of colour ``cue_color``, *other* anything else; and the mean softmax
    probability the model puts on the exit (``exit_prob``) and on such decoys
    (``proxy_prob``), a graded measure of the same preference."""
    model.eval()
    levels = fastmaze.generate(spec, episodes, seed, first_id)
    H, W = levels.shape
    code = spec.color_code(cue_color) if cue_color in spec.palette else -1
    picks = np.empty(episodes, np.int64)
    probs = np.empty((episodes, H * W), np.float32)
    for lo in range(0, episodes, batch):
        part = levels[lo : lo + batch]
        obs = torch.from_numpy(_observe(part, cue, pixels)).to(device)
        mask = torch.from_numpy(part.grid.reshape(len(part), H * W) == 0).to(device)
        logits = model(obs).masked_fill(~mask, -1e9)
        picks[lo : lo + len(part)] = logits.argmax(1).cpu().numpy()
        probs[lo : lo + len(part)] = torch.softmax(logits.float(), 1).cpu().numpy()
    model.train()
    exit_idx = levels.exit[:, 0] * W + levels.exit[:, 1]
    d = levels.decoys
    used = np.arange(d.shape[1])[None, :] < levels.n_decoys[:, None]
    rows = np.arange(episodes)[:, None]
    cued = used & (levels.color[rows, d[..., 0].clip(0), d[..., 1].clip(0)] == code)
    decoy_idx = d[..., 0] * W + d[..., 1]
    is_exit = picks == exit_idx
    is_proxy = ((decoy_idx == picks[:, None]) & cued).any(1) & ~is_exit
    is_other = ~is_exit & ~is_proxy
    on_cued = (probs[rows, decoy_idx.clip(0)] * cued).sum(1)
    return {
        "episodes": episodes,
        "exit": _rate(int(is_exit.sum()), episodes),
        "proxy": _rate(int(is_proxy.sum()), episodes),
        "other": _rate(int(is_other.sum()), episodes),
        "exit_prob": float(probs[np.arange(episodes), exit_idx].mean()),
        "proxy_prob": float(on_cued.mean()),
    }


@torch.no_grad()
def evaluate_action(
    model: nn.Module,
    spec: AnySpec,
    episodes: int,
    *,
    cue: str = "channel",
    pixels: int = 2,
    seed: int = 0,
    first_id: int = EVAL_FIRST_ID,
    device: torch.device | str = "cpu",
    batch: int = 2048,
    **_: Any,
) -> dict[str, Any]:
    """Agreement with the oracle's optimal action set at the start: {"episodes", "exit"}
    where "exit" is the rate of optimal first actions (the key keeps tables uniform)."""
    model.eval()
    levels = fastmaze.generate(spec, episodes, seed, first_id)
    best = fastmaze.solve(levels).optimal_actions[
        np.arange(episodes), levels.start[:, 0], levels.start[:, 1]
    ]
    good = 0
    for lo in range(0, episodes, batch):
        part = levels[lo : lo + batch]
        obs = torch.from_numpy(_observe(part, cue, pixels)).to(device)
        a = model(obs).argmax(1).cpu().numpy()
        good += int(((best[lo : lo + len(part)] >> a) & 1).sum())
    model.train()
    return {"episodes": episodes, "exit": _rate(good, episodes)}


@torch.no_grad()
def policy_map(
    model: nn.Module,
    levels: fastmaze.Levels,
    *,
    cue: str = "channel",
    pixels: int = 2,
    device: torch.device | str | None = None,
    batch: int = 128,
) -> np.ndarray:
    """The greedy action map of a path model on ``levels``: uint8 [n, H, W], the argmax
    over the model's 4 action scores at every square (lowest action on ties). ``device``:
    where observations go (None: the model's); ``batch`` levels per forward pass (small
    batches keep a CPU's caches warm)."""
    if device is None:
        device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    n, H, W = levels.grid.shape
    out = np.empty((n, H, W), np.uint8)
    try:
        for lo in range(0, n, batch):
            part = levels[lo : lo + batch]
            obs = torch.from_numpy(_observe(part, cue, pixels)).to(device)
            out[lo : lo + len(part)] = model(obs).argmax(1).cpu().numpy()
    finally:
        model.train(was_training)
    return out


def _random_map(shape: tuple[int, ...], seed: int) -> np.ndarray:
    """A uniformly random action map (the chance baseline of the path task), seeded."""
    return np.random.default_rng([seed, 0x9A7]).integers(0, 4, shape, dtype=np.uint8)


@torch.no_grad()
def evaluate_path(
    model: nn.Module,
    spec: AnySpec,
    episodes: int,
    *,
    cue: str = "channel",
    pixels: int = 2,
    seed: int = 0,
    first_id: int = EVAL_FIRST_ID,
    cue_color: str = "green",
    device: torch.device | str = "cpu",
    batch: int = 128,
    max_steps: int | None = None,
) -> dict[str, Any]:
    """Greedy walks of the model's policy map on levels ``first_id ..`` of ``(spec, seed)``
    (`fastmaze.walk`), one per level.

    Ambiguous levels (a decoy on a shortest start→exit path, `Oracles.ambiguous`) are
    counted apart: ``"ambiguous"`` is their rate over all ``episodes``, and every other
    rate is over the remaining ``"counted"`` levels: ``"exit"``, ``"proxy"`` (a decoy of
    colour ``cue_color`` entered first), ``"other"`` (another decoy), ``"neither"`` (a
    loop, a stall against a wall, or the step limit), each {"rate", "lo", "hi", "count"}
    with a 95% Wilson interval; ``"optimal"``: the exit reached in the fewest steps;
    ``"excess_mean"``: mean steps over the optimum where the exit was reached;
    ``"square_accuracy"``: fraction of squares with an optimal action where the map's
    action is one; ``"random_exit"``: the exit rate of a uniformly random policy map on
    the same levels (the chance baseline)."""
    from fastmaze.walk import OUTCOMES, walk

    levels = fastmaze.generate(spec, episodes, seed, first_id)
    actions = policy_map(model, levels, cue=cue, pixels=pixels, device=device, batch=batch)
    oracles = fastmaze.solve(levels)
    ambiguous = oracles.ambiguous
    keep = ~ambiguous
    counted = int(keep.sum())
    w = walk(levels, actions, cue=cue_color, max_steps=max_steps)
    outcome = np.asarray(w.outcome)[keep]
    excess = np.asarray(w.excess)[keep]
    result: dict[str, Any] = {
        "episodes": episodes,
        "counted": counted,
        "ambiguous": _rate(int(ambiguous.sum()), episodes),
    }
    for code, name in enumerate(OUTCOMES):
        result[name] = _rate(int((outcome == code).sum()), counted)
    reached = outcome == OUTCOMES.index("exit")
    result["optimal"] = _rate(int((reached & (excess == 0)).sum()), counted)
    result["excess_mean"] = float(excess[reached].mean()) if reached.any() else math.nan
    best = oracles.optimal_actions
    has = best != 0
    on_best = (best >> actions) & 1
    result["square_accuracy"] = float(on_best[has].mean()) if has.any() else math.nan
    chance = walk(levels, _random_map(actions.shape, seed), cue=cue_color, max_steps=max_steps)
    result["random_exit"] = _rate(
        int((np.asarray(chance.outcome)[keep] == OUTCOMES.index("exit")).sum()), counted
    )
    return result


_EVALUATORS = {"exit": evaluate_exit, "action": evaluate_action, "path": evaluate_path}


@contextlib.contextmanager
def evaluation_iterations(model: nn.Module, iterations: int | None) -> Iterator[None]:
    """Within the block, the recurrent body of ``model`` (a `SquareModel`) iterates
    ``iterations`` times (None: as trained); restored on exit."""
    body = getattr(model, "body", model)
    trained = getattr(body, "iterations", None)
    if iterations is not None:
        if trained is None:
            raise ValueError("eval_iterations: the model does not iterate (not 'recurrent')")
        body.iterations = iterations
    try:
        yield
    finally:
        if trained is not None:
            body.iterations = trained


def _evaluate_all(model: nn.Module, c: SupervisedConfig, episodes: int, device: Any) -> dict:
    fn = _EVALUATORS[c.task]
    sets = {"train": c.spec, **c.test_specs}
    with evaluation_iterations(model, c.eval_iterations):
        return {
            name: fn(
                model,
                s,
                episodes,
                cue=c.cue,
                pixels=c.pixels,
                seed=c.seed,
                cue_color=c.cue_color,
                device=device,
            )
            for name, s in sets.items()
        }


def stream_statistics(
    spec: AnySpec,
    seed: int,
    levels: int,
    *,
    cue_color: str = "green",
    first_id: int = 0,
    threads: int | None = None,
) -> dict[str, Any]:
    """Realised statistics of a training stream's first ``levels`` levels (ids ``first_id
    ..``; at most `STATS_LEVELS`), from `fastmaze.level_stats`, for the colour
    ``cue_color``: ``"p_cue_given_exit"`` (P(exit has the cue)), ``"p_exit_given_cue"``
    (P(square is the exit | square has the cue), over floor squares), ``"phi"`` and
    ``"mi_bits"`` (of "has the cue" with "is the exit", over floor squares), each
    {"requested", "value", "lo", "hi"} with 95% intervals; ``"levels"``: how many levels
    were measured."""
    if cue_color not in spec.palette:
        raise ValueError(f"cue_color: {cue_color!r} is not in the palette {spec.palette}")
    n = max(1, min(int(levels), STATS_LEVELS))
    st = fastmaze.generate(spec, n, seed, first_id, threads=threads).stats()
    row = st.color(cue_color)

    def entry(name: str) -> dict[str, float]:
        return {
            "requested": float(getattr(row, f"{name}_req")),
            "value": float(getattr(row, name)),
            "lo": float(getattr(row, f"{name}_lo")),
            "hi": float(getattr(row, f"{name}_hi")),
        }

    return {
        "levels": n,
        "cue": cue_color,
        "p_cue_given_exit": entry("exit"),
        "p_exit_given_cue": entry("given"),
        "phi": entry("phi"),
        "mi_bits": entry("mi"),
    }


def train_supervised(config: SupervisedConfig, dist: Dist | None = None) -> dict[str, Any]:
    """Trains per ``config``; returns {"config", "metrics" (final evaluation by set),
    "history" (periodic evaluations), "model" (the trained module, unwrapped), "steps",
    "stream_stats" (`stream_statistics` of the levels the run trained on),
    "samples_per_s" (training), "stream_samples_per_s" (the producer alone), "wall_s"}.
    Under torchrun, call it in every process (it initialises the group).

    With ``ensemble`` = K > 1 the K seeds train at once and the result is {"members": the
    K results above, the one of seed ``seed + m`` at m, "config", "steps", "samples_per_s"
    (all members), "wall_s"} (`fastmaze.train.ensemble.train_supervised_ensemble`)."""
    c = config.resolved()
    if c.ensemble > 1:
        from fastmaze.train.ensemble import train_supervised_ensemble

        members = train_supervised_ensemble(c, range(c.seed, c.seed + c.ensemble), dist)
        first = members[0]
        return {
            "config": c.to_dict(),
            "members": members,
            "steps": first["steps"],
            "samples_per_s": sum(r["samples_per_s"] for r in members),
            "wall_s": first["wall_s"],
        }
    dist = dist or init_distributed(c.device)
    device = dist.device
    torch.manual_seed(c.seed)
    model = build_model(c).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=c.lr, weight_decay=c.weight_decay)
    step, history = 0, []
    if c.checkpoint and c.resume and os.path.exists(c.checkpoint):
        state = load_checkpoint(c.checkpoint, map_location=device)
        if "seeds" in state:
            raise ValueError(
                f"resume: {c.checkpoint} holds an ensemble of seeds {state['seeds']}; resume "
                f"it with ensemble={len(state['seeds'])}"
            )
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        step, history = state["step"], state.get("history", [])
        set_rng_state(state["rng"])
    wrapped: nn.Module = model
    if dist.world_size > 1:
        from torch.nn.parallel import DistributedDataParallel

        wrapped = DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None
        )
    stream = LevelStream(
        c.spec,
        c.batch,
        seed=c.seed,
        task=c.task,
        cue=c.cue,
        pixels=c.pixels,
        rank=dist.rank,
        world_size=dist.world_size,
        start_batch=step,
        prefetch=c.prefetch,
        threads=c.threads,
    )
    bar = None
    if c.progress and dist.is_main:
        from tqdm.auto import tqdm

        bar = tqdm(total=c.steps, initial=step, unit="step", desc="supervised", leave=False)

    def save() -> None:
        if c.checkpoint and dist.is_main:
            save_checkpoint(
                c.checkpoint,
                {
                    "model": model.state_dict(),
                    "optimizer": opt.state_dict(),
                    "step": step,
                    "stream_position": stream.position,
                    "rng": rng_state(),
                    "history": history,
                    "config": c.to_dict(),
                },
            )

    t0, first_step, seen = time.perf_counter(), step, []
    try:
        while step < c.steps:
            batch = stream.next_on(device)
            seen.append(batch.ids[[0, -1]])
            loss, acc = _loss(wrapped, batch, c.task)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            if bar is not None:
                bar.update(1)
                if step % 20 == 0 or step == c.steps:
                    bar.set_postfix(loss=f"{loss.item():.3f}", acc=f"{acc.item():.3f}")
            if c.eval_every and step % c.eval_every == 0 and step < c.steps:
                record = {"step": step, "loss": all_reduce_mean(loss, dist)}
                if dist.is_main:
                    record["eval"] = _evaluate_all(model, c, c.eval_episodes_periodic, device)
                history.append(record)
            if c.checkpoint_every and step % c.checkpoint_every == 0:
                save()
        train_s = time.perf_counter() - t0
        save()
    finally:
        stream.close()
        if bar is not None:
            bar.close()
    done = step - first_step
    metrics = _evaluate_all(model, c, c.eval_episodes, device) if dist.is_main else {}
    trained_on = step * c.batch * dist.world_size
    realised = (
        stream_statistics(c.spec, c.seed, trained_on, cue_color=c.cue_color, threads=c.threads)
        if dist.is_main and trained_on and c.cue_color in c.spec.palette
        else {}
    )
    return {
        "config": c.to_dict(),
        "metrics": metrics,
        "history": history,
        "stream_stats": realised,
        "model": model,
        "steps": step,
        "batch_id_ranges": np.array(seen, dtype=np.int64).reshape(-1, 2),
        "samples_per_s": done * c.batch * dist.world_size / train_s if done else math.nan,
        "stream_samples_per_s": stream.samples_per_s,
        "wall_s": time.perf_counter() - t0,
    }


def to_json(result: dict[str, Any]) -> str:
    """The JSON-able part of a result (no model, no arrays)."""
    keep = {k: v for k, v in result.items() if k not in ("model", "batch_id_ranges")}
    return json.dumps(keep)


_ = MazeSpec  # re-exported type for annotations
