"""The results of an experiment: its rows written out (``runs.jsonl``, ``runs.csv``), rates
pooled over seeds with Wilson intervals, the PNG plots and the summary table.

Rows are dicts, one per run: the cell's axis values (``p``, ``rho``, ``cue``, ``model``,
``seed``, ...) and what the run measured (rates with ``_lo`` / ``_hi`` bounds over
``episodes`` levels, ``train_`` rates over ``train_episodes``, realised stream statistics,
and for the path task the first conflict trajectories with ``trajectory_spec``).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from fastmaze.spec import spec_from_dict

__all__ = [
    "aggregate",
    "heatmap",
    "label",
    "mean_by",
    "plots",
    "run_line",
    "table",
    "write_csv",
]


def label(value: Any) -> str:
    """An axis value as text: a model dict as ``name(key=value,...)``."""
    if isinstance(value, dict):
        v = dict(value)
        name = v.pop("name", "")
        return name + "(" + ",".join(f"{k}={x}" for k, x in v.items()) + ")"
    return str(value)


def write_csv(out: Path, rows: list[dict[str, Any]]) -> None:
    """``runs.csv``: the scalar columns of ``rows`` (``runs.jsonl`` holds everything)."""
    keys = list(dict.fromkeys(k for r in rows for k in r if not isinstance(r[k], (dict, list))))
    with open(out / "runs.csv", "w", newline="") as f:
        w = csv.DictWriter(f, keys, extrasaction="ignore")
        w.writeheader()
        w.writerows([{k: label(v) if k == "model" else v for k, v in r.items()} for r in rows])


def aggregate(
    rows: list[dict[str, Any]], by: Sequence[str], rate: str, n_key: str = "episodes"
) -> dict[tuple, dict]:
    """Pooled over seeds: {key: {"rate", "lo", "hi", "n", "runs"}} with a Wilson interval on
    the pooled counts (each run evaluates its own levels; ``n_key`` names how many). Rows
    without ``rate`` are left out."""
    from fastmaze.stats import wilson

    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        if rate in r:
            groups.setdefault(tuple(label(r[k]) for k in by), []).append(r)
    out = {}
    for key, rs in groups.items():
        n = sum(r[n_key] for r in rs)
        k = sum(round(r[rate] * r[n_key]) for r in rs if r[n_key])
        lo, hi = wilson(k, n, 0.95)
        rate_ = k / n if n else math.nan
        out[key] = {"rate": rate_, "lo": float(lo), "hi": float(hi), "n": n, "runs": len(rs)}
    return out


def mean_by(rows: list[dict[str, Any]], by: Sequence[str], key: str) -> dict[tuple, float]:
    """Mean of ``key`` over the rows of each group (NaN-free rows only)."""
    groups: dict[tuple, list[float]] = {}
    for r in rows:
        v = r.get(key)
        if v is not None and not (isinstance(v, float) and math.isnan(v)):
            groups.setdefault(tuple(label(r[k]) for k in by), []).append(float(v))
    return {k: float(np.mean(v)) for k, v in groups.items()}


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
        agg = aggregate(rows, by, rate)
        for s in sorted({k[:-1] for k in agg}):
            pts = sorted(
                (x, v) for k, v in agg.items() if k[:-1] == s and (x := x_of(k)) is not None
            )
            if not pts:
                continue
            x = [p for p, _ in pts]
            ax.plot(x, [v["rate"] for _, v in pts], "o-", label=" ".join(s) or rate)
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


def _trajectory_figure(out: Path, rows: list[dict[str, Any]], keys: Sequence[str]) -> Path | None:
    """A few conflict levels per cell (cells told apart by ``keys``; the first seed of
    each, at most 8 cells) with the model's greedy trajectory drawn on them; the title of
    each says where it went."""
    import fastmaze

    first: dict[tuple, dict] = {}
    for r in rows:
        if r.get("trajectories"):
            first.setdefault(tuple(label(r[k]) for k in keys), r)
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
        spec = spec_from_dict(r["trajectory_spec"])
        n = len(r["trajectories"])
        levels = fastmaze.generate(spec, n, r["seed"], r["trajectory_first_id"])
        images = fastmaze.render.rgb(levels, pixels=pixels).transpose(0, 2, 3, 1)
        cell = " ".join(f"{k}={label(r[k])}" for k in keys)
        for j in range(cols):
            ax = axes[i, j]
            ax.axis("off")
            if j >= n:
                continue
            ax.imshow(images[j])
            path = np.array(r["trajectories"][j], dtype=float) * pixels + pixels / 2
            ax.plot(path[:, 1], path[:, 0], "-", color="white", lw=1.5)
            ax.plot(path[:1, 1], path[:1, 0], "o", color="white", ms=4)
            ax.set_title(f"{cell}\n{r['trajectory_outcomes'][j]}", fontsize=7)
    fig.suptitle("conflict levels: the model's greedy trajectory (white, from the dot)", fontsize=9)
    return _save(fig, out / "trajectories.png")


def plots(out: Path, name: str, swept: Sequence[str], rows: list[dict[str, Any]]) -> list[Path]:
    """The PNG plots of preset ``name`` in ``out``; ``swept``: the cell keys that vary
    (series and rows), seeds left out. Returns their paths."""
    if name in PPO_PLOTS:
        from fastmaze.train import ppo_report

        x = PPO_PLOTS[name]
        return ppo_report.plots(out, name, rows, x, [k for k in swept if k != x])
    plt = _pyplot()
    paths: list[Path] = []
    if name == "trajectory":
        series = [k for k in swept if k != "p"]
        paths.append(
            _rate_panels(
                out, rows, series, "p", lambda k: float(k[-1]),
                "p = randomised fraction of training levels", "rates_vs_p.png", True,
            )
        )  # fmt: skip
        phi = mean_by(rows, (*series, "p"), "phi")
        paths.append(
            _rate_panels(
                out, rows, series, "p", phi.get,
                "realised phi(cue, exit) of the training stream", "rates_vs_phi.png", False,
            )
        )  # fmt: skip
        figure = _trajectory_figure(out, rows, swept)
        if figure is not None:
            paths.append(figure)
    elif name == "shortcut-map":
        series = tuple(k for k in swept if k != "rho")
        agg = aggregate(rows, (*series, "rho"), "proxy")
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
            text = np.vectorize(lambda v: f"{v:.2f}", otypes=[object])(grid)
            labels = [" ".join(r) for r in rows_keys]
            title = f"{name}: proxy rate"
            paths.append(heatmap(out / "heatmap.png", grid, labels, cols, text, "rho", "", title))
        figure = _trajectory_figure(out, rows, swept)
        if figure is not None:
            paths.append(figure)
    return paths


#: The x axis of each PPO preset's plots (`fastmaze.train.ppo_report.plots`).
PPO_PLOTS = {"exit-colour": "p", "corner": "k", "joint-failure": "rho"}


def heatmap(
    path: Path,
    grid: np.ndarray,
    rows: Sequence[str],
    cols: Sequence[Any],
    text: np.ndarray,
    xlabel: str,
    ylabel: str,
    title: str,
) -> Path:
    """Writes a PNG of the rates ``grid`` [len(rows), len(cols)] (0..1, NaN blank), each cell
    labelled with ``text`` (same shape); returns ``path``."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(1.2 * len(cols) + 3, 0.5 * len(rows) + 2))
    im = ax.imshow(grid, vmin=0, vmax=1, cmap="viridis", aspect="auto")
    ax.set_xticks(range(len(cols)), [str(c) for c in cols])
    ax.set_yticks(range(len(rows)), list(rows), fontsize=7)
    for (i, j), text_ij in np.ndenumerate(text):
        ax.text(j, i, text_ij, ha="center", va="center", color="w", fontsize=7)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    fig.colorbar(im)
    return _save(fig, path)


def _interval(v: dict[str, Any] | None) -> str:
    if v is None or math.isnan(v["rate"]):
        return f"{'-':>21}"
    return f"{v['rate']:.3f} [{v['lo']:.3f},{v['hi']:.3f}]"


def _supervised_table(by: Sequence[str], rows: list[dict[str, Any]]) -> str:
    """Per cell (seeds pooled): conflict-set rates with 95% Wilson intervals, the realised
    phi of the training streams (mean over runs), the ambiguous fraction of the conflict set
    and the exit rate on held-out training levels."""
    rates = ("exit", "proxy", "other", "neither")
    agg = {k: aggregate(rows, by, k) for k in rates}
    train = aggregate(rows, by, "train_exit", "train_episodes")
    phi = mean_by(rows, by, "phi")
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
        groups.setdefault(tuple(label(r[k]) for k in by), []).append(r)
    return groups


def table(name: str, kind: str, swept: Sequence[str], rows: list[dict[str, Any]]) -> str:
    """The summary table of preset ``name`` (of ``kind`` "supervised" or "ppo") over the
    cell keys ``swept``, seeds pooled."""
    if kind == "supervised":
        return _supervised_table(swept, rows)
    from fastmaze.train import ppo_report

    return ppo_report.table(rows, list(swept))


def _sortable(x: str) -> Any:
    try:
        return (0, float(x), "")
    except ValueError:
        return (1, 0.0, x)


def run_line(i: int, total: int, cell: dict[str, Any], row: dict[str, Any]) -> str:
    """The one log line of run ``i`` of ``total``: its cell and main rates."""
    shown = " ".join(f"{k}={label(v)}" for k, v in cell.items())
    parts = [f"exit {row['exit']:.3f}", f"proxy {row.get('proxy', math.nan):.3f}"]
    if "neither" in row:
        parts.append(f"neither {row['neither']:.3f}")
    if "train_exit" in row:
        parts.append(f"| train exit {row['train_exit']:.3f}")
    if not math.isnan(row.get("phi", math.nan)):
        parts.append(f"phi {row['phi']:.3f}")
    if row.get("undertrained"):
        parts.append("undertrained")
    return f"  [{i + 1}/{total}] {shown}: {' '.join(parts)} ({row['run_s']:.1f} s)"
