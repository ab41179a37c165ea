"""Experiment presets behind ``fastmaze experiment [NAME] [--out DIR] [--set key=value ...]``.

Each preset is a sweep over a grid of runs with every field overridable (``--set
rhos=[0.9,1.0] --set steps=500``; values are JSON, else strings). A run of a preset writes
to its results folder: ``config.json`` (the resolved config), ``runs.jsonl`` and
``runs.csv`` (one row per run), PNG plots (rates with 95% Wilson bands, heatmaps), and
prints a summary table.

- ``shortcut-map`` (supervised, the default): exit-square prediction trained at exit-green
  correlation ρ, for each cue availability ("channel", "rgb", "hidden") and model size;
  the proxy-pick rate on the conflict set (a pick of the green decoy) per cell.
- ``exit-colour`` (PPO): the randomised-fraction family, colours independent of role on a
  fraction p ∈ {0, 0.02, 0.1, 0.5} of training levels, the rest fully correlated (exit
  always green, decoys never) × seeds; proxy: a green square entered first, on the
  informative levels of the conflict set.
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

import csv
import importlib
import itertools
import json
import math
import os
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
    decorrelated,
    region_proxy,
    region_squares,
)
from fastmaze.spec import Mixture

__all__ = ["DEFAULT", "PRESETS", "Experiment", "parse_overrides", "resolve", "run_experiment"]

DEFAULT = "shortcut-map"
CUE = "green"  # the colour cue of the colour experiments


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
def _maze(cfg: dict[str, Any]) -> dict[str, Any]:
    return {"size": tuple(cfg["size"]), "algorithm": cfg["algorithm"]}


def _shortcut_cell(cfg: dict[str, Any], cell: dict[str, Any]) -> dict[str, Any]:
    from fastmaze.train.supervised import SupervisedConfig, train_supervised

    model = dict(cell["model"])
    name = model.pop("name", "fcn")
    sc = SupervisedConfig(
        spec=correlated(cell["rho"], **_maze(cfg)),
        cue=cell["cue"],
        pixels=cfg["pixels"],
        model=name,
        model_kwargs=model,
        steps=cfg["steps"],
        batch=cfg["batch"],
        lr=cfg["lr"],
        seed=cell["seed"],
        device=cfg["device"],
        eval_episodes=cfg["eval_episodes"],
        threads=cfg["threads"],
        progress=cfg["progress"],
    )
    r = train_supervised(sc)
    m = r["metrics"]
    row = {"train_exit": m["train"]["exit"]["rate"]}
    for k in ("exit", "proxy", "other"):
        c = m["conflict"][k]
        row.update({k: c["rate"], f"{k}_lo": c["lo"], f"{k}_hi": c["hi"]})
    row["proxy_prob"] = m["conflict"]["proxy_prob"]
    row["exit_prob"] = m["conflict"]["exit_prob"]
    row["episodes"] = m["conflict"]["episodes"]
    row["samples_per_s"] = r["samples_per_s"]
    row["stream_samples_per_s"] = r["stream_samples_per_s"]
    return row


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


def _randomized(p: float, **maze: Any) -> Mixture:
    """The randomised-fraction stream: colours independent of role (`decorrelated`) on a
    fraction ``p`` of levels, the rest fully correlated (`correlated` (1): the exit always the
    cue, decoys never)."""
    return Mixture.of((correlated(1.0, **maze), 1.0 - p), (decorrelated(**maze), float(p)))


def _ppo_cell(
    cfg: dict[str, Any],
    train: Any,
    test: Any,
    proxy: Proxy,
    seed: int,
    cue: str | None = CUE,
    region: Any = None,
    **extra: Any,
) -> dict:
    """Trains PPO on ``train``, checks it trained (`ppo_report.training_record`), records
    its stream, and evaluates the sampled policy on ``test`` with ``proxy``."""
    import dataclasses

    import torch

    import fastmaze
    from fastmaze.train import ppo_report

    ppo = _ppo()
    fields = {**cfg["ppo"], "seed": seed, **extra}
    if cfg.get("device") is not None:
        fields.setdefault("device", cfg["device"])
    unknown = set(fields) - {f.name for f in dataclasses.fields(ppo.PPOConfig)}
    if unknown:
        raise ValueError(f"ppo: {', '.join(sorted(unknown))} not a field of PPOConfig")
    threshold = cfg["train_threshold"]
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)):
        raise ValueError(f"train_threshold: expected an exit rate in [0, 1], got {threshold!r}")
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"train_threshold: {threshold}; expected an exit rate in [0, 1]")
    config = ppo.PPOConfig(**fields)
    out = ppo.train_ppo(train, config, progress=cfg["progress"])
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
    result = ppo_report.evaluation_row(test_eval)
    result.update(ppo_report.training_record(out.history, threshold, train_eval, warmup))
    result.update(ppo_report.stream_record(train, seed, out.level_ids, cue, region))
    last = out.history[-1] if out.history else {}
    result["env_steps"] = last.get("env_steps", 0)
    result["env_steps_per_s"] = out.timing["env_steps_per_s"]
    result["train_metrics"] = json.loads(json.dumps(last, default=str))
    return result


def _exit_colour_cell(cfg: dict[str, Any], cell: dict[str, Any]) -> dict[str, Any]:
    maze = _maze(cfg)
    return _ppo_cell(
        cfg, _randomized(cell["p"], **maze), conflict(**maze), cue_proxy(CUE), cell["seed"]
    )


def _corner_cell(cfg: dict[str, Any], cell: dict[str, Any]) -> dict[str, Any]:
    train = corner(cell["k"], corner=cfg["corner"], **_maze(cfg))
    test = train.replace(exit_region=None)
    return _ppo_cell(
        cfg, train, test, region_proxy(train), cell["seed"], cue=None, region=region_squares(train)
    )


def _joint_cell(cfg: dict[str, Any], cell: dict[str, Any]) -> dict[str, Any]:
    return _ppo_cell(
        cfg,
        correlated(cell["rho"], **_maze(cfg)),
        conflict(**_maze(cfg)),
        cue_proxy(CUE),
        cell["seed"],
        proxy_reward={CUE: cell["w"]},
    )


_MAZE = {
    "size": [4, 4],
    "algorithm": "kruskal",
    "eval_episodes": 10_000,
    "device": None,
    "threads": None,
    "progress": True,
}


def _ppo_defaults(steps: int) -> dict[str, Any]:
    """PPO settings of a preset; ``steps`` per run, sized from measured learning curves (the
    README's budget) to pass ``train_threshold`` on 4×4 mazes."""
    return {
        "ppo": {"total_env_steps": steps, "model": "impala"},
        "train_threshold": 0.9,  # training exit rate below it: the run is flagged undertrained
        "train_eval_episodes": 2_000,  # fresh training levels that measure it
    }


PRESETS: dict[str, Experiment] = {
    e.name: e
    for e in (
        Experiment(
            "shortcut-map",
            "supervised exit-square prediction: proxy-pick rate on the conflict set over "
            "rho x cue availability x model size",
            "supervised",
            {
                **_MAZE,
                "rhos": [0.8, 0.95, 1.0],
                "cues": ["channel", "hidden"],
                "models": [{"name": "fcn", "channels": 32, "depth": 4}],
                "seeds": [0, 1],
                "steps": 200,
                "batch": 128,
                "lr": 2e-3,
                "pixels": 2,
            },
            ("rhos", "cues", "models", "seeds"),
            _shortcut_cell,
        ),
        Experiment(
            "exit-colour",
            "PPO: randomised fraction p of training levels (colours independent of role, the "
            "rest exit always green); green entered first on the conflict set",
            "ppo",
            {**_MAZE, **_ppo_defaults(4_000_000), "ps": [0.0, 0.02, 0.1, 0.5], "seeds": [0, 1, 2]},
            ("ps", "seeds"),
            _exit_colour_cell,
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
        ),
    )
}
_AXIS_KEY = {
    "rhos": "rho",
    "ps": "p",
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
    """The preset's defaults with ``overrides`` applied (unknown keys are an error)."""
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
    cfg["experiment"] = name
    return cfg


def _label(value: Any) -> str:
    if isinstance(value, dict):
        v = dict(value)
        name = v.pop("name", "")
        return name + "(" + ",".join(f"{k}={x}" for k, x in v.items()) + ")"
    return str(value)


# -- outputs ----------------------------------------------------------------------------------
def _write_rows(out: Path, rows: list[dict[str, Any]]) -> None:
    with open(out / "runs.jsonl", "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
    keys = list(dict.fromkeys(k for r in rows for k in r if not isinstance(r[k], dict)))
    with open(out / "runs.csv", "w", newline="") as f:
        w = csv.DictWriter(f, keys, extrasaction="ignore")
        w.writeheader()
        w.writerows([{k: _label(v) if k == "model" else v for k, v in r.items()} for r in rows])


def _aggregate(rows: list[dict[str, Any]], by: Sequence[str], rate: str) -> dict[tuple, dict]:
    """Pooled over seeds: {key: {"rate", "lo", "hi", "n"}} with a Wilson interval on the
    pooled counts (each run evaluates its own episodes)."""
    from fastmaze.stats import wilson

    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault(tuple(_label(r[k]) for k in by), []).append(r)
    out = {}
    for key, rs in groups.items():
        n = sum(r["episodes"] for r in rs)
        k = sum(round(r[rate] * r["episodes"]) for r in rs)
        lo, hi = wilson(k, n, 0.95)
        out[key] = {"rate": k / n, "lo": float(lo), "hi": float(hi), "n": n, "runs": len(rs)}
    return out


def _plots(out: Path, name: str, rows: list[dict[str, Any]]) -> list[Path]:
    if PRESETS[name].kind == "ppo":
        from fastmaze.train import ppo_report

        x, series = _PPO_PLOT[name]
        return ppo_report.plots(out, name, rows, x, series)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    if name == "shortcut-map":
        series = ("cue", "model")
        agg = _aggregate(rows, (*series, "rho"), "proxy")
        fig, ax = plt.subplots(figsize=(6, 4))
        for s in sorted({k[:-1] for k in agg}):
            pts = sorted((float(k[-1]), v) for k, v in agg.items() if k[:-1] == s)
            x = [p for p, _ in pts]
            ax.plot(x, [v["rate"] for _, v in pts], "o-", label=" ".join(s) or "proxy")
            ax.fill_between(x, [v["lo"] for _, v in pts], [v["hi"] for _, v in pts], alpha=0.2)
        ax.set(
            xlabel="rho = P(exit green) in training",
            ylabel="proxy-pick rate (conflict set)",
            ylim=(-0.02, 1.02),
            title=f"{name}: green-decoy picks, 95% Wilson bands",
        )
        ax.legend(fontsize=7)
        fig.tight_layout()
        paths.append(out / "proxy_vs_rho.png")
        fig.savefig(paths[-1], dpi=120)
        plt.close(fig)
        if series:
            from fastmaze.train.ppo_report import heatmap

            rows_keys = sorted({k[:-1] for k in agg})
            cols = sorted({float(k[-1]) for k in agg})
            grid = np.full((len(rows_keys), len(cols)), np.nan)
            for (*s, rho), v in agg.items():
                grid[rows_keys.index(tuple(s)), cols.index(float(rho))] = v["rate"]
            text = np.vectorize(lambda v: f"{v:.2f}", otypes=[object])(grid)
            labels = [" ".join(r) for r in rows_keys]
            title = f"{name}: proxy-pick rate"
            paths.append(heatmap(out / "heatmap.png", grid, labels, cols, text, "rho", "", title))
    return paths


#: The x axis and the series of each PPO preset's plots.
_PPO_PLOT = {"exit-colour": ("p", ()), "corner": ("k", ()), "joint-failure": ("rho", ("w",))}


def _table(name: str, rows: list[dict[str, Any]]) -> str:
    axes = [_AXIS_KEY[a] for a in PRESETS[name].axes if _AXIS_KEY[a] != "seed"]
    if PRESETS[name].kind == "ppo":
        from fastmaze.train import ppo_report

        return ppo_report.table(rows, axes)
    rate = "proxy"
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


# -- running ----------------------------------------------------------------------------------
def run_experiment(
    name: str | None = None,
    out: str | os.PathLike | None = None,
    overrides: dict[str, Any] | None = None,
    *,
    echo: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Runs every cell of preset ``name`` (default `DEFAULT`) and writes the results folder
    ``out`` (default ``results/NAME``). Returns {"out", "rows", "plots", "table", "wall_s"}."""
    name = name or DEFAULT
    cfg = resolve(name, overrides)
    exp = PRESETS[name]
    if exp.kind == "ppo":
        _ppo()  # fail before writing anything
    folder = Path(out) if out is not None else Path("results") / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(cfg, indent=2) + "\n")
    cells = list(itertools.product(*(cfg[a] for a in exp.axes)))
    echo(f"experiment {name}: {len(cells)} runs -> {folder}")
    rows, t0 = [], time.perf_counter()
    for i, values in enumerate(cells):
        cell = {_AXIS_KEY[a]: v for a, v in zip(exp.axes, values, strict=True)}
        t = time.perf_counter()
        row = {**cell, **exp.run_one(cfg, cell), "run_s": time.perf_counter() - t}
        rows.append(row)
        shown = " ".join(f"{k}={_label(v)}" for k, v in cell.items())
        rate = row.get("proxy", math.nan)
        trained = ""
        if "undertrained" in row:
            flag = ", undertrained" if row["undertrained"] else ""
            trained = f", train exit {row['train_exit']:.3f}{flag}"
        echo(
            f"  [{i + 1}/{len(cells)}] {shown}: exit {row['exit']:.3f} proxy {rate:.3f}"
            f"{trained} ({row['run_s']:.1f} s)"
        )
        _write_rows(folder, rows)
    plots = _plots(folder, name, rows)
    table = _table(name, rows)
    wall = time.perf_counter() - t0
    echo("")
    echo(table)
    if name == "shortcut-map" and rows and "samples_per_s" in rows[0]:
        echo(
            f"training {np.mean([r['samples_per_s'] for r in rows]):,.0f} samples/s; stream "
            f"alone {np.mean([r['stream_samples_per_s'] for r in rows]):,.0f} samples/s"
        )
    echo(f"{len(rows)} runs in {wall:.1f} s; plots: {', '.join(str(p) for p in plots)}")
    return {"out": folder, "rows": rows, "plots": plots, "table": table, "wall_s": wall}


def list_presets() -> str:
    """One line per preset."""
    return "\n".join(f"{n:<14} {e.kind:<10} {e.description}" for n, e in PRESETS.items())
