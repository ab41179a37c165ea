"""Experiment presets behind ``fastmaze experiment [NAME] [--out DIR] [--set key=value ...]``.

Each preset is a sweep over a grid of runs with every field overridable (``--set
rhos=[0.9,1.0] --set steps=500``; values are JSON, else strings). A run of a preset writes
to its results folder: ``config.json`` (the resolved config), ``runs.jsonl`` and
``runs.csv`` (one row per run), PNG plots (rates with 95% Wilson bands, heatmaps), and
prints a summary table. ``--set tensorboard=DIR`` also writes each run's TensorBoard
scalars to ``DIR/NNN <cell>`` (`fastmaze.train.logger`).

- ``shortcut-map`` (supervised, the default): exit-square prediction trained at exit-green
  correlation ρ, for each cue availability ("channel", "rgb", "hidden") and model size;
  the proxy-pick rate on the conflict set (a pick of the green decoy) per cell.
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
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fastmaze.presets import conflict, corner, correlated

__all__ = ["DEFAULT", "PRESETS", "Experiment", "parse_overrides", "resolve", "run_experiment"]

DEFAULT = "shortcut-map"


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
        tensorboard=cfg["tensorboard"],
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


def _ppo_cell(cfg: dict[str, Any], spec: Any, test: Any, seed: int, **extra: Any) -> dict:
    """Trains PPO on ``spec`` and evaluates the sampled policy on ``test``."""
    import dataclasses

    import fastmaze

    ppo = _ppo()
    fields = {**cfg["ppo"], "seed": seed, **extra}
    if cfg.get("device") is not None:
        fields.setdefault("device", cfg["device"])
    if cfg.get("tensorboard") is not None:
        fields.setdefault("tensorboard", cfg["tensorboard"])
    unknown = set(fields) - {f.name for f in dataclasses.fields(ppo.PPOConfig)}
    if unknown:
        raise ValueError(f"ppo: {', '.join(sorted(unknown))} not a field of PPOConfig")
    out = ppo.train_ppo(spec, ppo.PPOConfig(**fields), progress=cfg["progress"])
    ev = fastmaze.evaluate(out.policy.act, test, cfg["eval_episodes"], seed=seed, first_id=2**40)
    row = ev.rows()[0]
    result: dict[str, Any] = {"episodes": row["episodes"]}
    for k in ("exit", "proxy", "neither"):
        result.update({k: row[k][0], f"{k}_lo": row[k][1], f"{k}_hi": row[k][2]})
    last = out.history[-1] if out.history else {}
    result["train_metrics"] = json.loads(json.dumps(last, default=str))
    return result


def _exit_colour_cell(cfg: dict[str, Any], cell: dict[str, Any]) -> dict[str, Any]:
    return _ppo_cell(
        cfg, correlated(cell["rho"], **_maze(cfg)), conflict(**_maze(cfg)), cell["seed"]
    )


def _corner_cell(cfg: dict[str, Any], cell: dict[str, Any]) -> dict[str, Any]:
    train = corner(cell["k"], corner=cfg["corner"], **_maze(cfg))
    test = train.replace(exit_region=None)
    return _ppo_cell(cfg, train, test, cell["seed"])


def _joint_cell(cfg: dict[str, Any], cell: dict[str, Any]) -> dict[str, Any]:
    return _ppo_cell(
        cfg,
        correlated(cell["rho"], **_maze(cfg)),
        conflict(**_maze(cfg)),
        cell["seed"],
        proxy_reward={"green": cell["w"]},
    )


_MAZE = {
    "size": [4, 4],
    "algorithm": "kruskal",
    "eval_episodes": 10_000,
    "device": None,
    "threads": None,
    "progress": True,
    "tensorboard": None,  # a folder: TensorBoard scalars of each run in a subfolder of it
}
_PPO = {"ppo": {"total_env_steps": 2_000_000, "model": "impala"}}
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
_AXIS_KEY = {"rhos": "rho", "cues": "cue", "models": "model", "seeds": "seed", "ks": "k", "ws": "w"}


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
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    if name in ("shortcut-map", "exit-colour", "joint-failure"):
        series = {"shortcut-map": ("cue", "model"), "exit-colour": (), "joint-failure": ("w",)}[
            name
        ]
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
            ax.set(xlabel="rho", title=f"{name}: proxy-pick rate")
            fig.colorbar(im)
            fig.tight_layout()
            paths.append(out / "heatmap.png")
            fig.savefig(paths[-1], dpi=120)
            plt.close(fig)
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
        fig.tight_layout()
        paths.append(out / "exit_vs_k.png")
        fig.savefig(paths[-1], dpi=120)
        plt.close(fig)
    return paths


def _table(name: str, rows: list[dict[str, Any]]) -> str:
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
        shown = " ".join(f"{k}={_label(v)}" for k, v in cell.items())
        run_cfg = dict(cfg)
        if cfg["tensorboard"] is not None:
            run_cfg["tensorboard"] = str(Path(cfg["tensorboard"]) / f"{i:03d} {shown}")
        row = {**cell, **exp.run_one(run_cfg, cell), "run_s": time.perf_counter() - t}
        rows.append(row)
        rate = row.get("proxy", math.nan)
        echo(
            f"  [{i + 1}/{len(cells)}] {shown}: exit {row['exit']:.3f} proxy {rate:.3f} "
            f"({row['run_s']:.1f} s)"
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
