"""Experiment presets behind ``fastmaze experiment [NAME] [--out DIR] [--set key=value ...]``.

Each preset is a sweep over a grid of runs with every field overridable (``--set
ps=[0,0.1] --set steps=500``; values are JSON, else strings). Every value is checked
before anything runs (type and range, then each run's full config and model are built
once), so a bad ``--set`` is one clear error, not a crash minutes later. A run of a preset
writes to its results folder: ``config.json`` (the resolved config), ``runs.jsonl`` and
``runs.csv`` (one row per run), PNG plots (rates with 95% Wilson bands, heatmaps), and
prints a summary table.

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
- ``exit-colour`` (PPO): ρ ∈ {0.5, 0.8, 0.9, 0.95, 0.98, 0.99, 1.0} × seeds, evaluated
  on the conflict set.
- ``corner`` (PPO): the exit next to a k × k corner region in training; evaluated with
  the exit anywhere.
- ``joint-failure`` (PPO): a proxy reward w for entering green × ρ, a heatmap of the
  proxy rate on the conflict set.

PPO presets call ``fastmaze.train.ppo.train_ppo(spec, config)``.
"""

from __future__ import annotations

import csv
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

from fastmaze.presets import conflict, corner, correlated, randomized
from fastmaze.spec import ALGORITHMS, CORNERS
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
    run_one: Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]]


# -- running one cell -------------------------------------------------------------------------
def _maze(cfg: dict[str, Any], false_exits: int = 0) -> dict[str, Any]:
    maze: dict[str, Any] = {"size": tuple(cfg["size"]), "algorithm": cfg["algorithm"]}
    if false_exits:  # only where asked, so that specs without the field stay as they were
        maze["false_exits"] = false_exits
    return maze


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
    """Trains one cell; its row: conflict-set rates (bare names), held-out training-level
    rates (``train_`` prefix), the realised statistics of the training stream and, for the
    path task, the first `TRAJECTORIES` conflict trajectories."""
    from fastmaze.train.supervised import train_supervised

    sc = _supervised_config(cfg, cell)
    r = train_supervised(sc)
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


def _ppo_cell(cfg: dict[str, Any], cell: dict[str, Any], spec: Any, test: Any) -> dict:
    """Trains PPO on ``spec`` and evaluates the sampled policy on ``test``."""
    import fastmaze

    progress = cfg["progress"] and _interactive()
    out = _ppo().train_ppo(spec, _ppo_config(cfg, cell), progress=progress)
    ev = fastmaze.evaluate(
        out.policy.act, test, cfg["eval_episodes"], seed=cell["seed"], first_id=2**40
    )
    row = ev.rows()[0]
    result: dict[str, Any] = {"episodes": row["episodes"]}
    for k in ("exit", "proxy", "neither"):
        result.update({k: row[k][0], f"{k}_lo": row[k][1], f"{k}_hi": row[k][2]})
    last = out.history[-1] if out.history else {}
    result["train_metrics"] = json.loads(json.dumps(last, default=str))
    return result


def _exit_colour_cell(cfg: dict[str, Any], cell: dict[str, Any]) -> dict[str, Any]:
    return _ppo_cell(cfg, cell, correlated(cell["rho"], **_maze(cfg)), conflict(**_maze(cfg)))


def _corner_cell(cfg: dict[str, Any], cell: dict[str, Any]) -> dict[str, Any]:
    train = corner(cell["k"], corner=cfg["corner"], **_maze(cfg))
    return _ppo_cell(cfg, cell, train, train.replace(exit_region=None))


def _joint_cell(cfg: dict[str, Any], cell: dict[str, Any]) -> dict[str, Any]:
    return _ppo_cell(cfg, cell, correlated(cell["rho"], **_maze(cfg)), conflict(**_maze(cfg)))


_MAZE = {
    "size": [4, 4],
    "algorithm": "kruskal",
    "eval_episodes": 10_000,
    "device": None,
    "threads": None,
    "progress": True,
}
_SUPERVISED = {"steps": 200, "batch": 128, "lr": 2e-3, "pixels": 2}
_PPO = {"ppo": {"total_env_steps": 2_000_000, "model": "impala"}}
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
        ),
        Experiment(
            "exit-colour",
            "PPO: correlation sweep of exit colour, evaluated on the conflict set",
            "ppo",
            {**_MAZE, **_PPO, "rhos": [0.5, 0.8, 0.9, 0.95, 0.98, 0.99, 1.0], "seeds": [0, 1, 2]},
            ("rhos", "seeds"),
            _exit_colour_cell,
        ),
        Experiment(
            "corner",
            "PPO: exit next to a k x k corner region in training, anywhere at test",
            "ppo",
            {**_MAZE, **_PPO, "ks": [1, 2, 3, 4], "corner": "top_right", "seeds": [0, 1, 2]},
            ("ks", "seeds"),
            _corner_cell,
        ),
        Experiment(
            "joint-failure",
            "PPO: proxy reward w for green x correlation rho, proxy rate on the conflict set",
            "ppo",
            {**_MAZE, **_PPO, "ws": [0.0, 0.1, 0.3], "rhos": [0.5, 0.9, 1.0], "seeds": [0]},
            ("ws", "rhos", "seeds"),
            _joint_cell,
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
# A rule is (test, what a right value is); axes apply it to every element of their list.
Rule = tuple[Callable[[Any], bool], str]


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _int_at_least(lo: int) -> Rule:
    return (lambda v: _is_int(v) and v >= lo), f"an integer >= {lo}"


def _choice(options: Sequence[str]) -> Rule:
    return (lambda v: isinstance(v, str) and v in options), "one of " + ", ".join(options)


def _optional(rule: Rule) -> Rule:
    return (lambda v: v is None or rule[0](v)), f"null or {rule[1]}"


_PROBABILITY: Rule = (lambda v: _is_number(v) and 0 <= v <= 1, "a number in [0, 1]")
# Keyword -> rule of the model entries of ``models`` (make_model checks the rest).
_MODEL_KEYS: dict[str, dict[str, Rule]] = {
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


_RULES: dict[str, Rule] = {
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
            shown = " ".join(f"{k}={_label(v)}" for k, v in cell.items())
            raise ValueError(f"run {shown}: {e}") from None


def _label(value: Any) -> str:
    if isinstance(value, dict):
        v = dict(value)
        name = v.pop("name", "")
        return name + "(" + ",".join(f"{k}={x}" for k, x in v.items()) + ")"
    return str(value)


# -- outputs ----------------------------------------------------------------------------------
def _write_rows(out: Path, rows: list[dict[str, Any]]) -> None:
    """``runs.jsonl`` (everything) and ``runs.csv`` (the scalar columns)."""
    with open(out / "runs.jsonl", "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
    keys = list(dict.fromkeys(k for r in rows for k in r if not isinstance(r[k], (dict, list))))
    with open(out / "runs.csv", "w", newline="") as f:
        w = csv.DictWriter(f, keys, extrasaction="ignore")
        w.writeheader()
        w.writerows([{k: _label(v) if k == "model" else v for k, v in r.items()} for r in rows])


def _aggregate(
    rows: list[dict[str, Any]], by: Sequence[str], rate: str, n_key: str = "episodes"
) -> dict[tuple, dict]:
    """Pooled over seeds: {key: {"rate", "lo", "hi", "n", "runs"}} with a Wilson interval on
    the pooled counts (each run evaluates its own levels; ``n_key`` names how many). Rows
    without ``rate`` are left out."""
    from fastmaze.stats import wilson

    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        if rate in r:
            groups.setdefault(tuple(_label(r[k]) for k in by), []).append(r)
    out = {}
    for key, rs in groups.items():
        n = sum(r[n_key] for r in rs)
        k = sum(round(r[rate] * r[n_key]) for r in rs if r[n_key])
        lo, hi = wilson(k, n, 0.95)
        rate_ = k / n if n else math.nan
        out[key] = {"rate": rate_, "lo": float(lo), "hi": float(hi), "n": n, "runs": len(rs)}
    return out


def _mean_by(rows: list[dict[str, Any]], by: Sequence[str], key: str) -> dict[tuple, float]:
    """Mean of ``key`` over the rows of each group (NaN-free rows only)."""
    groups: dict[tuple, list[float]] = {}
    for r in rows:
        v = r.get(key)
        if v is not None and not (isinstance(v, float) and math.isnan(v)):
            groups.setdefault(tuple(_label(r[k]) for k in by), []).append(float(v))
    return {k: float(np.mean(v)) for k, v in groups.items()}


def _swept(name: str, cfg: dict[str, Any]) -> list[str]:
    """Cell keys of the preset's axes other than the seed that take more than one value
    (the series of plots and the rows of tables); the first axis always."""
    axes = [a for a in PRESETS[name].axes if a != "seeds"]
    return [_AXIS_KEY[a] for i, a in enumerate(axes) if i == 0 or len(cfg[a]) > 1]


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    _pyplot().close(fig)
    return path


def _rate_panels(
    out: Path,
    rows: list[dict[str, Any]],
    series: Sequence[str],
    x_key: str,
    x_of: Callable[[tuple], float | None],
    xlabel: str,
    filename: str,
    symlog: bool,
) -> Path:
    """Exit and proxy rates (conflict set) against an x value per cell, one line per series,
    95% Wilson bands on the seed-pooled counts."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    by = (*series, x_key)
    for ax, rate in zip(axes, ("exit", "proxy"), strict=True):
        agg = _aggregate(rows, by, rate)
        for s in sorted({k[:-1] for k in agg}):
            pts = sorted(
                (x, v) for k, v in agg.items() if k[:-1] == s and (x := x_of(k)) is not None
            )
            if not pts:
                continue
            x = [p for p, _ in pts]
            label = " ".join(s) or rate
            ax.plot(x, [v["rate"] for _, v in pts], "o-", label=label)
            ax.fill_between(x, [v["lo"] for _, v in pts], [v["hi"] for _, v in pts], alpha=0.2)
        if symlog:  # p = 0 and small fractions side by side
            ticks = sorted({float(k[-1]) for k in agg})
            ax.set_xscale("symlog", linthresh=0.01)
            ax.set_xlim(-0.002, 1.0)
            ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
        ax.set(xlabel=xlabel, ylabel=f"{rate} rate (conflict set)", ylim=(-0.02, 1.02))
        ax.set_title(f"{rate}: first object reached, 95% Wilson bands", fontsize=9)
        ax.legend(fontsize=7)
    return _save(fig, out / filename)


def _trajectory_figure(
    out: Path, cfg: dict[str, Any], rows: list[dict[str, Any]], keys: Sequence[str]
) -> Path | None:
    """A few conflict levels per cell (cells told apart by ``keys``; the first seed of
    each, at most 8 cells) with the model's greedy trajectory drawn on them; the title of
    each says where it went."""
    import fastmaze

    first: dict[tuple, dict] = {}
    for r in rows:
        if r.get("trajectories"):
            first.setdefault(tuple(_label(r[k]) for k in keys), r)
    cells = list(first.values())[:8]
    if not cells:
        return None
    plt = _pyplot()
    cols = max(len(r["trajectories"]) for r in cells)
    fig, axes = plt.subplots(
        len(cells), cols, figsize=(2.2 * cols, 2.4 * len(cells)), squeeze=False
    )
    pixels = 8
    for i, r in enumerate(cells):
        spec = conflict(cue=CUE_COLOR, **_maze(cfg, r.get("false_exits", 0)))
        n = len(r["trajectories"])
        levels = fastmaze.generate(spec, n, r["seed"], r["trajectory_first_id"])
        images = fastmaze.render.rgb(levels, pixels=pixels).transpose(0, 2, 3, 1)
        label = " ".join(f"{k}={_label(r[k])}" for k in keys)
        for j in range(cols):
            ax = axes[i, j]
            ax.axis("off")
            if j >= n:
                continue
            ax.imshow(images[j])
            path = np.array(r["trajectories"][j], dtype=float) * pixels + pixels / 2
            ax.plot(path[:, 1], path[:, 0], "-", color="white", lw=1.5)
            ax.plot(path[:1, 1], path[:1, 0], "o", color="white", ms=4)
            ax.set_title(f"{label}\n{r['trajectory_outcomes'][j]}", fontsize=7)
    fig.suptitle("conflict levels: the model's greedy trajectory (white, from the dot)", fontsize=9)
    return _save(fig, out / "trajectories.png")


def _plots(out: Path, name: str, cfg: dict[str, Any], rows: list[dict[str, Any]]) -> list[Path]:
    plt = _pyplot()
    paths: list[Path] = []
    if name == "trajectory":
        series = [k for k in _swept(name, cfg) if k != "p"]
        paths.append(
            _rate_panels(
                out, rows, series, "p", lambda k: float(k[-1]),
                "p = randomised fraction of training levels", "rates_vs_p.png", True,
            )
        )  # fmt: skip
        phi = _mean_by(rows, (*series, "p"), "phi")
        paths.append(
            _rate_panels(
                out, rows, series, "p", phi.get,
                "realised phi(cue, exit) of the training stream", "rates_vs_phi.png", False,
            )
        )  # fmt: skip
        figure = _trajectory_figure(out, cfg, rows, _swept(name, cfg))
        if figure is not None:
            paths.append(figure)
    elif name in ("shortcut-map", "exit-colour", "joint-failure"):
        swept = _swept(name, cfg)
        series = tuple(k for k in swept if k != "rho")
        agg = _aggregate(rows, (*series, "rho"), "proxy")
        fig, ax = plt.subplots(figsize=(6, 4))
        for s in sorted({k[:-1] for k in agg}):
            pts = sorted((float(k[-1]), v) for k, v in agg.items() if k[:-1] == s)
            x = [p for p, _ in pts]
            ax.plot(x, [v["rate"] for _, v in pts], "o-", label=" ".join(s) or "proxy")
            ax.fill_between(x, [v["lo"] for _, v in pts], [v["hi"] for _, v in pts], alpha=0.2)
        ax.set(
            xlabel="rho = P(exit green) in training",
            ylabel="proxy rate (conflict set)",
            ylim=(-0.02, 1.02),
            title=f"{name}: green decoy reached or picked, 95% Wilson bands",
        )
        ax.legend(fontsize=7)
        paths.append(_save(fig, out / "proxy_vs_rho.png"))
        if series:
            rows_keys = sorted({k[:-1] for k in agg})
            cols = sorted({float(k[-1]) for k in agg})
            grid = np.full((len(rows_keys), len(cols)), np.nan)
            for (*s, rho), v in agg.items():
                grid[rows_keys.index(tuple(s)), cols.index(float(rho))] = v["rate"]
            fig, ax = plt.subplots(figsize=(1.2 * len(cols) + 3, 0.5 * len(rows_keys) + 2))
            im = ax.imshow(grid, vmin=0, vmax=1, cmap="viridis", aspect="auto")
            ax.set_xticks(range(len(cols)), [str(c) for c in cols])
            ax.set_yticks(range(len(rows_keys)), [" ".join(r) for r in rows_keys], fontsize=7)
            for i, j in itertools.product(range(len(rows_keys)), range(len(cols))):
                ax.text(j, i, f"{grid[i, j]:.2f}", ha="center", va="center", color="w")
            ax.set(xlabel="rho", title=f"{name}: proxy rate")
            fig.colorbar(im)
            paths.append(_save(fig, out / "heatmap.png"))
        if name == "shortcut-map":
            figure = _trajectory_figure(out, cfg, rows, _swept(name, cfg))
            if figure is not None:
                paths.append(figure)
    else:  # corner
        agg = _aggregate(rows, ("k",), "exit")
        ks = sorted(agg, key=lambda k: int(k[0]))
        fig, ax = plt.subplots(figsize=(6, 4))
        x = [int(k[0]) for k in ks]
        ax.plot(x, [agg[k]["rate"] for k in ks], "o-")
        ax.fill_between(x, [agg[k]["lo"] for k in ks], [agg[k]["hi"] for k in ks], alpha=0.2)
        ax.set(
            xlabel="corner region k (cells)", ylabel="exit rate, exit anywhere", ylim=(-0.02, 1.02)
        )
        paths.append(_save(fig, out / "exit_vs_k.png"))
    return paths


def _interval(v: dict[str, Any] | None) -> str:
    if v is None or math.isnan(v["rate"]):
        return f"{'-':>21}"
    return f"{v['rate']:.3f} [{v['lo']:.3f},{v['hi']:.3f}]"


def _supervised_table(name: str, cfg: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    """Per cell (seeds pooled): conflict-set rates with 95% Wilson intervals, the realised
    phi of the training streams (mean over runs), the ambiguous fraction of the conflict set
    and the exit rate on held-out training levels."""
    by = _swept(name, cfg)
    rates = ("exit", "proxy", "other", "neither")
    agg = {k: _aggregate(rows, by, k) for k in rates}
    train = _aggregate(rows, by, "train_exit", "train_episodes")
    phi = _mean_by(rows, by, "phi")
    levels = {
        key: (
            sum(r["levels"] for r in g),
            sum(r.get("ambiguous", math.nan) * r["levels"] for r in g),
        )
        for key, g in _groups(rows, by).items()
    }
    width = max([len(" ".join(k)) for k in agg["exit"]] + [len(" ".join(by))]) + 2
    head = f"{' '.join(by):<{width}}{'runs':>4} {'levels':>7}  " + "  ".join(
        f"{k + ' [95% CI]':<21}" for k in rates
    )
    lines = [head + f"  {'phi':>6}  {'ambig.':>6}  {'train exit':>10}"]
    for key in sorted(agg["exit"], key=lambda k: tuple(_sortable(x) for x in k)):
        n, amb = levels[key]
        ambiguous = amb / n if n else math.nan
        line = f"{' '.join(key):<{width}}{agg['exit'][key]['runs']:>4} {n:>7}  " + "  ".join(
            _interval(agg[k].get(key)) for k in rates
        )
        line += f"  {phi.get(key, math.nan):>6.3f}  {_num(ambiguous, 6)}  "
        line += f"{train[key]['rate']:>10.3f}" if key in train else f"{'-':>10}"
        lines.append(line)
    return "\n".join(lines)


def _num(x: float, width: int) -> str:
    return f"{'-':>{width}}" if math.isnan(x) else f"{x:>{width}.3f}"


def _groups(rows: list[dict[str, Any]], by: Sequence[str]) -> dict[tuple, list[dict]]:
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault(tuple(_label(r[k]) for k in by), []).append(r)
    return groups


def _table(name: str, cfg: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    if PRESETS[name].kind == "supervised":
        return _supervised_table(name, cfg, rows)
    axes = [_AXIS_KEY[a] for a in PRESETS[name].axes if _AXIS_KEY[a] != "seed"]
    rate = "exit" if name == "corner" else "proxy"
    agg = _aggregate(rows, axes, rate)
    other = _aggregate(rows, axes, "exit") if rate == "proxy" else None
    width = max([len(" ".join(k)) for k in agg] + [len(" ".join(axes))]) + 2
    head = f"{' '.join(axes):<{width}}{'runs':>5} {'episodes':>9}  {rate + ' rate [95% CI]':>24}"
    lines = [head + ("  exit rate" if other else "")]
    for key in sorted(agg, key=lambda k: tuple(_sortable(x) for x in k)):
        v = agg[key]
        line = (
            f"{' '.join(key):<{width}}{v['runs']:>5} {v['n']:>9}  "
            f"{v['rate']:>8.3f} [{v['lo']:.3f}, {v['hi']:.3f}]"
        )
        if other:
            line += f"  {other[key]['rate']:9.3f}"
        lines.append(line)
    return "\n".join(lines)


def _sortable(x: str) -> Any:
    try:
        return (0, float(x), "")
    except ValueError:
        return (1, 0.0, x)


def _run_line(i: int, total: int, cell: dict[str, Any], row: dict[str, Any]) -> str:
    shown = " ".join(f"{k}={_label(v)}" for k, v in cell.items())
    parts = [f"exit {row['exit']:.3f}", f"proxy {row.get('proxy', math.nan):.3f}"]
    if "neither" in row:
        parts.append(f"neither {row['neither']:.3f}")
    if "train_exit" in row:
        parts.append(f"| train exit {row['train_exit']:.3f}")
    if not math.isnan(row.get("phi", math.nan)):
        parts.append(f"phi {row['phi']:.3f}")
    return f"  [{i + 1}/{total}] {shown}: {' '.join(parts)} ({row['run_s']:.1f} s)"


# -- running ----------------------------------------------------------------------------------
def run_experiment(
    name: str | None = None,
    out: str | os.PathLike | None = None,
    overrides: dict[str, Any] | None = None,
    *,
    echo: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Runs every cell of preset ``name`` (default `DEFAULT`) and writes the results folder
    ``out`` (default ``results/NAME``). Every value, every run's config and model are
    checked before the first run trains (ValueError). Prints one line per run (progress
    bars only on a terminal), then the table. Returns {"out", "rows", "plots", "table",
    "wall_s"}."""
    name = name or DEFAULT
    cfg = resolve(name, overrides)
    exp = PRESETS[name]
    if exp.kind == "ppo":
        _ppo()  # fail before writing anything
    cells = _cells(name, cfg)
    _build_all(name, cfg, cells)
    folder = Path(out) if out is not None else Path("results") / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(cfg, indent=2) + "\n")
    echo(f"experiment {name}: {len(cells)} runs -> {folder}")
    rows, t0 = [], time.perf_counter()
    for i, cell in enumerate(cells):
        t = time.perf_counter()
        row = {**cell, **exp.run_one(cfg, cell), "run_s": time.perf_counter() - t}
        rows.append(row)
        echo(_run_line(i, len(cells), cell, row))
        _write_rows(folder, rows)
    plots = _plots(folder, name, cfg, rows)
    table = _table(name, cfg, rows)
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
    echo(f"{len(rows)} runs in {wall:.1f} s; plots: {', '.join(str(p) for p in plots)}")
    return {"out": folder, "rows": rows, "plots": plots, "table": table, "wall_s": wall}


def list_presets() -> str:
    """One line per preset."""
    return "\n".join(f"{n:<14} {e.kind:<10} {e.description}" for n, e in PRESETS.items())
