"""Experiment presets behind ``fastmaze experiment [NAME] [--out DIR] [--set key=value ...]``.

Each preset is a sweep over a grid of runs with every field overridable (``--set
ps=[0,0.1] --set steps=500``; values are JSON, else strings). Every value is checked
before anything runs (type and range, then each run's full config and model are built
once), so a bad ``--set`` is one clear error, not a crash minutes later. A run of a preset
writes to its results folder: ``config.json`` (the resolved config), ``runs.jsonl`` and
``runs.csv`` (one row per run), PNG plots (rates with 95% Wilson bands, heatmaps), and
prints a summary table.

Sweeps are resumable (`fastmaze.train.sweep`): each finished run is appended to
``runs.jsonl`` as it completes, a rerun of the same command skips the runs already there
(identified by a digest of their resolved config) and reruns those that failed or were
killed; ``runs.csv``, the plots and the table are rebuilt from ``runs.jsonl`` at the end.
``ray=...`` (``fastmaze experiment NAME --ray [ADDRESS]``) runs the cells as Ray tasks, on
a local instance or a cluster, each reserving ``cpus_per_run`` CPUs and ``gpus_per_run``
GPUs; the rows are those of a serial run with the same seeds. Presets (supervised and PPO)
train up to ``ensemble`` (default 16) seeds of a cell at once as one seed ensemble, each
member the same training as its seed's run alone (``--set ensemble=1``: one run after
another).

- ``trajectory`` (supervised, the default): the path task (the model outputs a policy map;
  its greedy walk is the trajectory) trained on the randomised-fraction family
  ``randomized(p)`` for each p × cue availability × model × seed, evaluated on the
  off-path conflict set (the exit never green, one green decoy off every shortest path)
  and on held-out training levels: exit / proxy / other / neither rates, excess steps, the
  ambiguous fraction, and the realised statistics of each run's own training stream (P(cue |
  exit), P(exit | cue), phi, MI). Plots: rates against p and against the realised phi, and
  a few conflict levels with the model's trajectory drawn on them.
- ``shortcut-map`` (supervised): the capability map: task ("exit": pick the exit square;
  "path": the trajectory) × ``correlated(rho)`` × ``false_exits`` × cue availability
  ("channel", "rgb", "hidden") × model (depth, width, recurrent iterations).
- ``exit-colour`` (PPO): the randomised-fraction family ``randomized(p)``, colours
  independent of role on a fraction p ∈ {0, 0.02, 0.1, 0.5} of training levels, the rest
  fully correlated (exit always green, decoys never) × seeds; proxy: a green square entered
  first, on the informative levels of the conflict set.
- ``corner`` (PPO): the exit next to a k × k corner region in training, anywhere at test;
  proxy: the training exit region (the squares next to where training exits open) entered
  first, on the informative test levels (exit outside the region, region off the path).
- ``joint-failure`` (PPO): a proxy reward w for entering green × ρ, a heatmap of the
  green-first rate on the informative levels of the conflict set.

PPO presets call ``fastmaze.train.ppo.train_ppo(spec, config)``; each run is checked to have
trained (its exit rate on fresh training levels reaches ``train_threshold``, else it is
flagged undertrained) and records its stream's realised statistics
(`fastmaze.train.ppo_report`).
"""

from __future__ import annotations

import importlib
import itertools
import json
import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fastmaze.evaluate import Proxy
from fastmaze.presets import (
    conflict,
    corner,
    correlated,
    cue_proxy,
    randomized,
    region_proxy,
    region_squares,
)
from fastmaze.spec import ALGORITHMS, CORNERS, spec_to_dict
from fastmaze.train import reports, sweep
from fastmaze.train.stream import CUES

__all__ = [
    "DEFAULT",
    "PRESETS",
    "Experiment",
    "check_config",
    "parse_overrides",
    "resolve",
    "run_experiment",
]

DEFAULT = "trajectory"
#: Conflict levels per path-task run whose trajectories are kept (and drawn).
TRAJECTORIES = 4
#: The cue colour of every preset: the proxy is a decoy of this colour.
CUE_COLOR = "green"


@dataclass(frozen=True)
class Experiment:
    """A preset: its defaults (every key overridable) and the function running one cell."""

    name: str
    description: str
    kind: str  # "supervised" or "ppo"
    defaults: dict[str, Any]
    axes: tuple[str, ...]  # config keys swept (lists); the grid is their product
    run_one: sweep.RunOne
    #: Trains the runs of one cell that differ only in their seed together (one row per
    #: cell, in order); None: one run after another with `run_one`.
    run_group: sweep.RunGroup | None = None


# -- running one cell -------------------------------------------------------------------------
def _maze(cfg: dict[str, Any], false_exits: int = 0) -> dict[str, Any]:
    return {"size": tuple(cfg["size"]), "algorithm": cfg["algorithm"], "false_exits": false_exits}


def _interactive() -> bool:
    """Progress bars only on a terminal; a log gets one line per run."""
    return sys.stderr.isatty()


def _supervised_config(cfg: dict[str, Any], cell: dict[str, Any]) -> Any:
    """The `SupervisedConfig` of one cell of a supervised preset."""
    from fastmaze.train.supervised import SupervisedConfig

    model = dict(cell["model"])
    name = model.pop("name", "fcn")
    eval_iterations = model.pop("eval_iterations", None)
    maze = _maze(cfg, cell.get("false_exits", 0))
    if "p" in cell:
        train = randomized(cell["p"], cue=CUE_COLOR, **maze)
    else:
        train = correlated(cell["rho"], cue=CUE_COLOR, **maze)
    return SupervisedConfig(
        spec=train,
        test_specs={"conflict": conflict(cue=CUE_COLOR, **maze)},
        task=cell.get("task", "path"),
        cue=cell["cue"],
        cue_color=CUE_COLOR,
        pixels=cfg["pixels"],
        model=name,
        model_kwargs=model,
        eval_iterations=eval_iterations,
        steps=cfg["steps"],
        batch=cfg["batch"],
        lr=cfg["lr"],
        seed=cell["seed"],
        device=cfg["device"],
        eval_episodes=cfg["eval_episodes"],
        threads=cfg["threads"],
        progress=cfg["progress"] and _interactive(),
    )


def _rates(row: dict[str, Any], prefix: str, ev: dict[str, Any], names: Sequence[str]) -> None:
    for k in names:
        r = ev[k]
        row.update({prefix + k: r["rate"], f"{prefix}{k}_lo": r["lo"], f"{prefix}{k}_hi": r["hi"]})


_STREAM_STATS = ("p_cue_given_exit", "p_exit_given_cue", "phi", "mi_bits")


def _supervised_cell(cfg: dict[str, Any], cell: dict[str, Any]) -> dict[str, Any]:
    """Trains one cell; its row (`_supervised_row`)."""
    from fastmaze.train.supervised import train_supervised

    sc = _supervised_config(cfg, cell)
    return _supervised_row(sc, train_supervised(sc))


def _supervised_group(cfg: dict[str, Any], cells: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Trains cells equal but for their seed as one seed ensemble
    (`fastmaze.train.ensemble.train_supervised_ensemble`: each member is the same training
    as its seed's run alone); their rows (`_supervised_row`), in order."""
    from fastmaze.train.ensemble import train_supervised_ensemble

    results = train_supervised_ensemble(
        _supervised_config(cfg, cells[0]), [c["seed"] for c in cells]
    )
    return [
        _supervised_row(_supervised_config(cfg, cell), r)
        for cell, r in zip(cells, results, strict=True)
    ]


def _supervised_row(sc: Any, r: dict[str, Any]) -> dict[str, Any]:
    """The row of a run of ``sc`` (or of one member of an ensemble) that returned ``r``:
    conflict-set rates (bare names), held-out training-level rates (``train_`` prefix), the
    realised statistics of the training stream and, for the path task, the first
    `TRAJECTORIES` conflict trajectories."""
    m, task = r["metrics"], sc.task
    test, train = m["conflict"], m["train"]
    names = ("exit", "proxy", "other", "neither") if task == "path" else ("exit", "proxy", "other")
    row: dict[str, Any] = {}
    _rates(row, "", test, names)
    _rates(row, "train_", train, names)
    # Rates are over the levels counted (ambiguous ones apart for the path task).
    row["episodes"] = test.get("counted", test["episodes"])
    row["train_episodes"] = train.get("counted", train["episodes"])
    row["levels"] = test["episodes"]
    if task == "path":
        row["ambiguous"] = test["ambiguous"]["rate"]
        row["train_ambiguous"] = train["ambiguous"]["rate"]
        for k in ("excess_mean", "square_accuracy"):
            row[k], row[f"train_{k}"] = test[k], train[k]
        row["optimal"] = test["optimal"]["rate"]
        row["train_random_exit"] = train["random_exit"]["rate"]
        row.update(_trajectories(r["model"], sc))
    else:
        row["proxy_prob"] = test["proxy_prob"]
        row["exit_prob"] = test["exit_prob"]
    st = r["stream_stats"]
    row["stats_levels"] = st.get("levels", 0)
    for k in _STREAM_STATS:
        e = st.get(k, {})
        for suffix, key in (("", "value"), ("_lo", "lo"), ("_hi", "hi"), ("_req", "requested")):
            row[k + suffix] = e.get(key, math.nan)
    row["samples_per_s"] = r["samples_per_s"]
    row["stream_samples_per_s"] = r["stream_samples_per_s"]
    return row


def _trajectories(model: Any, sc: Any) -> dict[str, Any]:
    """The model's greedy walks on the first `TRAJECTORIES` conflict levels of its run."""
    import fastmaze
    from fastmaze.train.supervised import EVAL_FIRST_ID, evaluation_iterations, policy_map

    levels = fastmaze.generate(sc.test_specs["conflict"], TRAJECTORIES, sc.seed, EVAL_FIRST_ID)
    with evaluation_iterations(model, sc.eval_iterations):
        actions = policy_map(model, levels, cue=sc.cue, pixels=sc.pixels)
    outcome = fastmaze.walk(levels, actions, cue=CUE_COLOR).outcome
    return {
        "trajectory_spec": spec_to_dict(sc.test_specs["conflict"]),
        "trajectory_first_id": EVAL_FIRST_ID,
        "trajectories": [
            [list(sq) for sq in fastmaze.walk_path(levels, actions, i, cue=CUE_COLOR)]
            for i in range(len(levels))
        ],
        "trajectory_outcomes": [fastmaze.OUTCOMES[o] for o in outcome],
    }


def _ppo() -> Any:
    try:
        return importlib.import_module("fastmaze.train.ppo")
    except ImportError as e:
        if "fastmaze.train.ppo" not in str(e):
            raise
        raise RuntimeError(
            "this experiment trains with PPO: it needs fastmaze.train.ppo (train_ppo(spec, "
            "config)), which is not part of this build yet"
        ) from None


def _ppo_config(cfg: dict[str, Any], cell: dict[str, Any]) -> Any:
    """The `PPOConfig` of one cell of a PPO preset (``ppo`` fields, the cell's seed and, for
    joint-failure, its proxy reward)."""
    import dataclasses

    ppo = _ppo()
    fields = {**cfg["ppo"], "seed": cell["seed"]}
    if "w" in cell:
        fields["proxy_reward"] = {CUE_COLOR: cell["w"]}
    if cfg.get("device") is not None:
        fields.setdefault("device", cfg["device"])
    known = [f.name for f in dataclasses.fields(ppo.PPOConfig)]
    unknown = sorted(set(fields) - set(known))
    if unknown:
        raise ValueError(
            f"--set ppo: {', '.join(unknown)} not a field of PPOConfig; fields: {', '.join(known)}"
        )
    return ppo.PPOConfig(**fields)


def _ppo_cell(
    cfg: dict[str, Any],
    cell: dict[str, Any],
    train: Any,
    test: Any,
    proxy: Proxy,
    cue: str | None = CUE_COLOR,
    region: Any = None,
    out: Any = None,
) -> dict:
    """Trains PPO on ``train`` (or takes its result ``out``, a member of an ensemble),
    checks it trained (`ppo_report.training_record`), records its stream, and evaluates
    the sampled policy on ``test`` with ``proxy``."""
    import torch

    import fastmaze
    from fastmaze.train import ppo_report

    config = _ppo_config(cfg, cell)
    seed = cell["seed"]
    if out is None:
        out = _ppo().train_ppo(train, config, progress=cfg["progress"] and _interactive())
    device = next(out.policy.parameters()).device
    env_kwargs = {
        k: v
        for k, v in config.env_kwargs.items()
        if k in ("reveal_exit", "hide_colors", "pixels", "radius", "num_threads")
    }
    # episodes end as in training (a decoy ends one only if it did there)
    decoy_ends = config.env_kwargs.get("terminate_on_decoy", False)
    env_kwargs.update(obs=config.obs, max_steps=config.max_steps, terminate_on_decoy=decoy_ends)

    def run(spec: Any, episodes: int, first_id: int, **kw: Any) -> Any:
        gen = torch.Generator(device=device)
        gen.manual_seed(seed)
        act = lambda o: out.policy.act(o, generator=gen)  # noqa: E731
        return fastmaze.evaluate(act, spec, episodes, seed=seed, first_id=first_id, **kw)

    train_eval = run(train, cfg["train_eval_episodes"], 2**41, **env_kwargs)
    test_eval = run(test, cfg["eval_episodes"], 2**40, proxy=proxy, **env_kwargs)
    H, W = train.shape
    warmup = (config.max_steps or 4 * H * W) * config.num_envs
    threshold = cfg["train_threshold"]
    result = ppo_report.evaluation_row(test_eval)
    result.update(ppo_report.training_record(out.history, threshold, train_eval, warmup))
    result.update(ppo_report.stream_record(train, seed, out.level_ids, cue, region))
    last = out.history[-1] if out.history else {}
    result["env_steps"] = last.get("env_steps", 0)
    result["env_steps_per_s"] = out.timing["env_steps_per_s"]
    result["train_metrics"] = json.loads(json.dumps(last, default=str))
    return result


def _ppo_group(cfg: dict[str, Any], cells: list[dict[str, Any]], specs: dict) -> list[dict]:
    """Trains cells equal but for their seed as one PPO seed ensemble
    (`fastmaze.train.ppo_ensemble.train_ppo_ensemble`: each member is the same training as
    its seed's run alone); their rows (`_ppo_cell` of each member), in order."""
    from fastmaze.train.ppo_ensemble import train_ppo_ensemble

    seeds = [c["seed"] for c in cells]
    progress = cfg["progress"] and _interactive()
    outs = train_ppo_ensemble(specs["train"], _ppo_config(cfg, cells[0]), seeds, progress=progress)
    return [_ppo_cell(cfg, c, **specs, out=o) for c, o in zip(cells, outs, strict=True)]


def _exit_colour_specs(cfg: dict[str, Any], cell: dict[str, Any]) -> dict[str, Any]:
    maze = _maze(cfg)
    train = randomized(cell["p"], cue=CUE_COLOR, **maze)
    return {"train": train, "test": conflict(cue=CUE_COLOR, **maze), "proxy": cue_proxy(CUE_COLOR)}


def _corner_specs(cfg: dict[str, Any], cell: dict[str, Any]) -> dict[str, Any]:
    train = corner(cell["k"], corner=cfg["corner"], **_maze(cfg))
    test = train.replace(exit_region=None)
    proxy, region = region_proxy(train), region_squares(train)
    return {"train": train, "test": test, "proxy": proxy, "cue": None, "region": region}


def _joint_specs(cfg: dict[str, Any], cell: dict[str, Any]) -> dict[str, Any]:
    maze = _maze(cfg)
    train = correlated(cell["rho"], cue=CUE_COLOR, **maze)
    return {"train": train, "test": conflict(cue=CUE_COLOR, **maze), "proxy": cue_proxy(CUE_COLOR)}


def _exit_colour_cell(cfg: dict[str, Any], cell: dict[str, Any]) -> dict[str, Any]:
    return _ppo_cell(cfg, cell, **_exit_colour_specs(cfg, cell))


def _exit_colour_group(cfg: dict[str, Any], cells: list[dict[str, Any]]) -> list[dict]:
    return _ppo_group(cfg, cells, _exit_colour_specs(cfg, cells[0]))


def _corner_cell(cfg: dict[str, Any], cell: dict[str, Any]) -> dict[str, Any]:
    return _ppo_cell(cfg, cell, **_corner_specs(cfg, cell))


def _corner_group(cfg: dict[str, Any], cells: list[dict[str, Any]]) -> list[dict]:
    return _ppo_group(cfg, cells, _corner_specs(cfg, cells[0]))


def _joint_cell(cfg: dict[str, Any], cell: dict[str, Any]) -> dict[str, Any]:
    return _ppo_cell(cfg, cell, **_joint_specs(cfg, cell))


def _joint_group(cfg: dict[str, Any], cells: list[dict[str, Any]]) -> list[dict]:
    return _ppo_group(cfg, cells, _joint_specs(cfg, cells[0]))


_MAZE = {
    "size": [4, 4],
    "algorithm": "kruskal",
    "eval_episodes": 10_000,
    "device": None,
    "threads": None,
    "progress": True,
    "cpus_per_run": 1,
    "gpus_per_run": 0,
}
# ``ensemble``: at most this many seeds of a cell train at once, as one seed
# ensemble (1: one run after another).
_SUPERVISED = {"steps": 200, "batch": 128, "lr": 2e-3, "pixels": 2, "ensemble": 16}


def _ppo_defaults(steps: int) -> dict[str, Any]:
    """PPO settings of a preset; ``steps`` per run, sized from measured learning curves (the
    README's budget) to pass ``train_threshold`` on 4×4 mazes."""
    return {
        "ppo": {"total_env_steps": steps, "model": "impala"},
        "train_threshold": 0.9,  # training exit rate below it: the run is flagged undertrained
        "train_eval_episodes": 2_000,  # fresh training levels that measure it
        "ensemble": 16,  # at most this many seeds of a cell train at once (1: one by one)
    }


PRESETS: dict[str, Experiment] = {
    e.name: e
    for e in (
        Experiment(
            "trajectory",
            "supervised path task: where the trajectories go on the off-path conflict set, "
            "over the randomised fraction p x cue availability x model",
            "supervised",
            {
                **_MAZE,
                **_SUPERVISED,
                "ps": [0.0, 0.02, 0.1, 0.5],
                "cues": ["channel", "hidden"],
                "size": [3, 3],
                "models": [{"name": "recurrent", "channels": 32, "iterations": 4}],
                "seeds": [0, 1],
                "steps": 500,
                "batch": 64,
                "eval_episodes": 5_000,
            },
            ("ps", "cues", "models", "seeds"),
            _supervised_cell,
            _supervised_group,
        ),
        Experiment(
            "shortcut-map",
            "supervised capability map: proxy rate on the conflict set over task x rho x "
            "false exits x cue availability x model (depth, width, recurrent iterations)",
            "supervised",
            {
                **_MAZE,
                **_SUPERVISED,
                "tasks": ["exit"],
                "rhos": [0.8, 0.95, 1.0],
                "false_exits": [0],
                "cues": ["channel", "hidden"],
                "models": [{"name": "fcn", "channels": 32, "depth": 4}],
                "seeds": [0, 1],
            },
            ("tasks", "rhos", "false_exits", "cues", "models", "seeds"),
            _supervised_cell,
            _supervised_group,
        ),
        Experiment(
            "exit-colour",
            "PPO: randomised fraction p of training levels (colours independent of role, the "
            "rest exit always green); green entered first on the conflict set",
            "ppo",
            {**_MAZE, **_ppo_defaults(4_000_000), "ps": [0.0, 0.02, 0.1, 0.5], "seeds": [0, 1, 2]},
            ("ps", "seeds"),
            _exit_colour_cell,
            _exit_colour_group,
        ),
        Experiment(
            "corner",
            "PPO: exit next to a k x k corner region in training, anywhere at test; the "
            "training exit region entered first on the informative levels",
            "ppo",
            {
                **_MAZE,
                **_ppo_defaults(2_000_000),
                "ks": [1, 2, 3],
                "corner": "top_right",
                "seeds": [0, 1, 2],
            },
            ("ks", "seeds"),
            _corner_cell,
            _corner_group,
        ),
        Experiment(
            "joint-failure",
            "PPO: proxy reward w for green x correlation rho; green entered first on the "
            "conflict set",
            "ppo",
            {
                **_MAZE,
                **_ppo_defaults(4_000_000),
                "ws": [0.0, 0.1, 0.3],
                "rhos": [0.5, 0.9, 1.0],
                "seeds": [0],
            },
            ("ws", "rhos", "seeds"),
            _joint_cell,
            _joint_group,
        ),
    )
}
_AXIS_KEY = {
    "ps": "p",
    "rhos": "rho",
    "tasks": "task",
    "false_exits": "false_exits",
    "cues": "cue",
    "models": "model",
    "seeds": "seed",
    "ks": "k",
    "ws": "w",
}


# -- configuration ----------------------------------------------------------------------------
def parse_overrides(items: Sequence[str]) -> dict[str, Any]:
    """``key=value`` strings to a dict; values parsed as JSON, else kept as strings.
    Dotted keys set nested fields (``ppo.total_env_steps=1000``)."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--set {item!r}: expected key=value")
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            value = text
        target = out
        *parents, last = key.split(".")
        for p in parents:
            target = target.setdefault(p, {})
        target[last] = value
    return out


def resolve(name: str, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """The preset's defaults with ``overrides`` applied, every value checked
    (`check_config`); unknown keys and bad values are a ValueError naming the key and what
    would be right."""
    if name not in PRESETS:
        raise ValueError(f"experiment: unknown {name!r}; expected one of {', '.join(PRESETS)}")
    cfg = json.loads(json.dumps(PRESETS[name].defaults))
    for key, value in (overrides or {}).items():
        if key not in cfg:
            raise ValueError(
                f"--set {key}: not a field of {name}; fields: {', '.join(sorted(cfg))}"
            )
        if isinstance(cfg[key], dict) and isinstance(value, dict):
            cfg[key].update(value)
        else:
            cfg[key] = value
    for axis in PRESETS[name].axes:
        if not isinstance(cfg[axis], list) or not cfg[axis]:
            cfg[axis] = [cfg[axis]]
    check_config(name, cfg)
    cfg["experiment"] = name
    return cfg


# -- checking values --------------------------------------------------------------------------
# A check is (test, what a right value is); axes apply it to every element of their list.
_Check = tuple[Callable[[Any], bool], str]


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _int_at_least(lo: int) -> _Check:
    return (lambda v: _is_int(v) and v >= lo), f"an integer >= {lo}"


def _choice(options: Sequence[str]) -> _Check:
    return (lambda v: isinstance(v, str) and v in options), "one of " + ", ".join(options)


def _optional(rule: _Check) -> _Check:
    return (lambda v: v is None or rule[0](v)), f"null or {rule[1]}"


_PROBABILITY: _Check = (lambda v: _is_number(v) and 0 <= v <= 1, "a number in [0, 1]")
# Keyword -> rule of the model entries of ``models`` (make_model checks the rest).
_MODEL_KEYS: dict[str, dict[str, _Check]] = {
    "fcn": {"channels": _int_at_least(1), "depth": _int_at_least(1)},
    "recurrent": {
        "channels": _int_at_least(1),
        "iterations": _int_at_least(1),
        "block_depth": _int_at_least(1),
        "eval_iterations": _int_at_least(1),
    },
    "impala": {
        "channels": (
            lambda v: isinstance(v, list) and bool(v) and all(_is_int(c) and c >= 1 for c in v),
            "a non-empty list of integers >= 1",
        ),
        "hidden": _int_at_least(1),
    },
}


def _model_problem(v: Any) -> str | None:
    """What is wrong with one entry of ``models`` (None: nothing)."""
    if not isinstance(v, dict):
        return f'expected a model object such as {{"name": "fcn", "depth": 4}}, got {v!r}'
    name = v.get("name", "fcn")
    if name not in _MODEL_KEYS:
        return f"model name {name!r}; expected one of {', '.join(_MODEL_KEYS)}"
    keys = _MODEL_KEYS[name]
    for key, value in v.items():
        if key == "name":
            continue
        if key not in keys:
            return f"{name} has no {key!r}; its keys: name, {', '.join(keys)}"
        test, what = keys[key]
        if not test(value):
            return f"{name} {key}: expected {what}, got {value!r}"
    return None


_RULES: dict[str, _Check] = {
    "size": (
        lambda v: (
            isinstance(v, list) and len(v) == 2 and all(_is_int(x) and 2 <= x <= 127 for x in v)
        ),
        "[rows, cols], two integers in 2..127",
    ),
    "algorithm": _choice(ALGORITHMS),
    "eval_episodes": _int_at_least(1),
    "device": (lambda v: v is None or (isinstance(v, str) and bool(v)), "null or a torch device"),
    "threads": _optional(_int_at_least(1)),
    "progress": (lambda v: isinstance(v, bool), "true or false"),
    "steps": _int_at_least(1),
    "batch": _int_at_least(1),
    "lr": (lambda v: _is_number(v) and v > 0, "a number > 0"),
    "pixels": _int_at_least(1),
    "ps": _PROBABILITY,
    "rhos": _PROBABILITY,
    "tasks": _choice(("exit", "path")),
    "false_exits": _int_at_least(0),
    "cues": _choice(CUES),
    "seeds": _int_at_least(0),
    "ks": _int_at_least(1),
    "ws": (_is_number, "a finite number"),
    "corner": _choice(CORNERS),
    "ppo": (lambda v: isinstance(v, dict), "an object of PPOConfig fields"),
    "cpus_per_run": ((lambda v: _is_number(v) and v > 0), "a number of CPUs > 0"),
    "gpus_per_run": ((lambda v: _is_number(v) and v >= 0), "a GPU fraction >= 0"),
    "ensemble": _int_at_least(1),
    "train_threshold": _PROBABILITY,
    "train_eval_episodes": _int_at_least(1),
}


def check_config(name: str, cfg: dict[str, Any]) -> None:
    """Raises ValueError, naming the key and what would be right, unless every value of
    ``cfg`` (preset ``name``, axes already lists) has the right type and range. Runs of a
    valid config can still be refused by their own config classes (`run_experiment` builds
    each one before training any)."""
    axes = PRESETS[name].axes
    for key, value in cfg.items():
        if key == "experiment":
            continue
        if key == "models":
            for entry in value:
                problem = _model_problem(entry)
                if problem:
                    raise ValueError(f"--set models: {problem}")
            continue
        if key not in _RULES:
            raise ValueError(f"{name}: no check for field {key!r}")  # a preset without a rule
        test, what = _RULES[key]
        for item in value if key in axes else [value]:
            if not test(item):
                each = " (each element of the list)" if key in axes else ""
                raise ValueError(f"--set {key}: expected {what}{each}, got {item!r}")


def _cells(name: str, cfg: dict[str, Any]) -> list[dict[str, Any]]:
    axes = PRESETS[name].axes
    return [
        {_AXIS_KEY[a]: v for a, v in zip(axes, values, strict=True)}
        for values in itertools.product(*(cfg[a] for a in axes))
    ]


def _build_all(name: str, cfg: dict[str, Any], cells: list[dict[str, Any]]) -> None:
    """Builds every run's config (and, for supervised runs, its model) once, so that what
    the config classes and models refuse is refused before the first run trains."""
    exp = PRESETS[name]
    for cell in cells:
        try:
            if exp.kind == "ppo":
                _ppo_config(cfg, cell)
                continue
            from fastmaze.train.supervised import build_model

            build_model(_supervised_config(cfg, cell).resolved())
        except (TypeError, ValueError) as e:
            raise ValueError(f"run {_shown(cell)}: {e}") from None


def _swept(name: str, cfg: dict[str, Any]) -> list[str]:
    """Cell keys of the preset's axes other than the seed that take more than one value
    (the series of plots and the rows of tables); the first axis always."""
    axes = [a for a in PRESETS[name].axes if a != "seeds"]
    return [_AXIS_KEY[a] for i, a in enumerate(axes) if i == 0 or len(cfg[a]) > 1]


# -- running ----------------------------------------------------------------------------------
def run_experiment(
    name: str | None = None,
    out: str | os.PathLike | None = None,
    overrides: dict[str, Any] | None = None,
    *,
    ray: bool | str | None = None,
    echo: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Runs every cell of preset ``name`` (default `DEFAULT`) not yet in the results folder
    ``out`` (default ``results/NAME``) and rebuilds its rows, plots and table. Every value,
    every run's config and model are checked before the first run trains (ValueError).

    ``ray``: None or False runs the cells here, one after another; True (or "local") as Ray
    tasks on a local instance started for the sweep (every core); any other string is the
    address of a running Ray cluster. Each finished run is appended to ``runs.jsonl`` at
    once; runs already there are skipped, failed ones reported (their error) and left for
    the next invocation. Prints one line per run (progress bars only on a terminal), then
    the table. Returns {"out", "rows" (grid order), "ran" (runs trained now), "failed"
    (`sweep.Failure` per failed unit), "plots", "table", "wall_s"}."""
    name = name or DEFAULT
    cfg = resolve(name, overrides)
    exp = PRESETS[name]
    if exp.kind == "ppo":
        _ppo()  # fail before writing anything
    if ray:
        sweep._ray()
    cells = _cells(name, cfg)
    _build_all(name, cfg, cells)
    ids = [sweep.run_id(cfg, exp.axes, c) for c in cells]
    if len(set(ids)) < len(ids):
        twice = next(c for i, c in enumerate(cells) if ids.index(ids[i]) != i)
        raise ValueError(f"the grid holds the run {_shown(twice)} twice; list each value once")
    folder = Path(out) if out is not None else Path("results") / name
    folder.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with sweep.Journal(folder / "runs.jsonl") as journal:
        (folder / "config.json").write_text(json.dumps(cfg, indent=2) + "\n")
        wanted = set(ids)
        done = {r["run_id"]: r for r in journal.rows() if r.get("run_id") in wanted}
        left = [i for i, id_ in enumerate(ids) if id_ not in done]
        ensemble = cfg.get("ensemble", 1) if exp.run_group is not None else 1
        todo = sweep.units([cells[i] for i in left], [ids[i] for i in left], ensemble)
        n_todo = len(left)
        where = "" if not ray else " as Ray tasks"
        echo(
            f"experiment {name}: {len(cells)} runs -> {folder}"
            + (f" ({len(done)} already in runs.jsonl)" if done else "")
            + (f"; running {n_todo}{where}" if todo else "; nothing to run")
        )
        if journal.repaired:
            echo(f"  runs.jsonl: a torn last line ({journal.repaired} bytes) cut off")
        if not todo:
            outcomes = iter(())
        elif ray:
            address = None if ray is True or ray == "local" else str(ray)
            outcomes = sweep.run_ray(exp.run_one, exp.run_group, cfg, todo, address)
        else:
            outcomes = sweep.run_serial(exp.run_one, exp.run_group, cfg, todo)
        ran, failed = 0, []
        for _, result in outcomes:
            if isinstance(result, sweep.Failure):
                failed.append(result)
                shown = "; ".join(_shown(c) for c in result.unit.cells)
                echo(f"  FAILED {shown}: {result.error}")
                continue
            for row in result:
                if row["run_id"] in done:  # never written twice
                    continue
                journal.append(row)
                done[row["run_id"]] = row
                ran += 1
                cell = cells[ids.index(row["run_id"])]
                echo(reports.run_line(len(done) - 1, len(cells), cell, row))
    rows = [done[i] for i in ids if i in done]
    reports.write_csv(folder, rows)
    swept = _swept(name, cfg)
    plots = reports.plots(folder, name, swept, rows) if rows else []
    table = reports.table(name, exp.kind, swept, rows) if rows else "(no finished runs)"
    wall = time.perf_counter() - t0
    echo("")
    echo(table)
    if exp.kind == "supervised" and rows:
        chance = [r["train_random_exit"] for r in rows if "train_random_exit" in r]
        if chance:
            echo(
                f"a uniformly random policy map reaches the exit on {np.mean(chance):.3f} of "
                "held-out training levels (the chance level of 'train exit')"
            )
        echo(
            f"training {np.mean([r['samples_per_s'] for r in rows]):,.0f} samples/s; stream "
            f"alone {np.mean([r['stream_samples_per_s'] for r in rows]):,.0f} samples/s"
        )
    echo(
        f"{len(rows)} of {len(cells)} runs done ({ran} now) in {wall:.1f} s; plots: "
        + (", ".join(str(p) for p in plots) or "none")
    )
    if failed:
        n = sum(len(f.unit.cells) for f in failed)
        echo(f"{n} runs failed (errors above); run the same command again to retry them")
    return {
        "out": folder,
        "rows": rows,
        "ran": ran,
        "failed": failed,
        "plots": plots,
        "table": table,
        "wall_s": wall,
    }


def _shown(cell: dict[str, Any]) -> str:
    return " ".join(f"{k}={reports.label(v)}" for k, v in cell.items())


def list_presets() -> str:
    """One line per preset."""
    return "\n".join(f"{n:<14} {e.kind:<10} {e.description}" for n, e in PRESETS.items())
