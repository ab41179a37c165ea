"""What the PPO experiments record of each run, and the table and plots that show them.

A run is trained before it is tested: its training exit rate (the sampled policy on fresh
levels of its own training stream) must reach ``train_threshold``, or the run is flagged
*undertrained* wherever it is shown, because its test behaviour then says nothing about what
it learned. Every run also records the realised statistics of its training stream (the
levels it played) and is evaluated on the informative levels of its test set with the
preset's proxy (`fastmaze.evaluate`, ``proxy=``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from fastmaze.evaluate import Evaluation
from fastmaze.levels import generate
from fastmaze.spec import AnySpec
from fastmaze.stats import phi_mi, wilson
from fastmaze.train.reports import heatmap

__all__ = [
    "evaluation_row",
    "plots",
    "pooled",
    "stream_record",
    "table",
    "training_record",
]

#: Levels of a training stream measured at most (the first ones the run played).
MAX_STREAM_LEVELS = 1_000_000


def training_record(
    history: Sequence[dict[str, Any]],
    threshold: float,
    train_eval: Evaluation,
    warmup_steps: int,
) -> dict[str, Any]:
    """The run's training outcome.

    - ``train_exit`` (with ``_lo``, ``_hi``): exit rate of the final sampled policy on fresh
      levels of the training stream (``train_eval``); ``undertrained``: it is below
      ``threshold`` (or NaN).
    - ``train_exit_rollout``: exit rate of the episodes that ended in the last tenth of the
      updates (at least one), pooled, as the rollouts saw it.
    - ``steps_to_final`` / ``steps_to_threshold``: env-steps at the first update where that
      trailing rate (the same window) reached ``train_exit_rollout`` / ``threshold`` (None if
      never). Updates before ``warmup_steps`` env-steps (pass max_steps × envs: one
      ``max_steps`` episode per env) are skipped: until then no episode can have been
      truncated, so only exits end episodes and the rate is biased upwards.
    """
    row = train_eval.row("all")
    rate, lo, hi = row["exit"]
    out: dict[str, Any] = {
        "train_exit": rate,
        "train_exit_lo": lo,
        "train_exit_hi": hi,
        "train_episodes": row["episodes"],
        "train_threshold": float(threshold),
        "undertrained": not rate >= threshold,
        "train_exit_rollout": math.nan,
        "steps_to_final": None,
        "steps_to_threshold": None,
    }
    if not history:
        return out
    episodes = np.array([r["episodes"] for r in history], np.float64)
    exits = np.array(
        [r["exit_rate"] * r["episodes"] if r["episodes"] else 0.0 for r in history], np.float64
    )
    steps = [int(r["env_steps"]) for r in history]
    window = max(1, math.ceil(len(history) / 10))
    c_ep = np.concatenate(([0.0], np.cumsum(episodes)))
    c_ex = np.concatenate(([0.0], np.cumsum(exits)))
    end = np.arange(1, len(history) + 1)
    begin = np.maximum(end - window, 0)
    n = c_ep[end] - c_ep[begin]
    with np.errstate(divide="ignore", invalid="ignore"):
        trailing = np.where(n > 0, (c_ex[end] - c_ex[begin]) / n, np.nan)
    out["train_exit_rollout"] = float(trailing[-1])
    warm = np.array([s >= warmup_steps for s in steps])
    for key, level in (("steps_to_final", trailing[-1]), ("steps_to_threshold", threshold)):
        hit = np.flatnonzero(warm & (trailing >= level))
        out[key] = steps[hit[0]] if len(hit) else None
    return out


def stream_record(
    train: AnySpec, seed: int, level_ids: tuple[int, int], cue: str | None, region: Any = None
) -> dict[str, Any]:
    """Realised statistics of the levels a run trained on (ids ``level_ids``, half-open, of
    ``(train, seed)``; the first `MAX_STREAM_LEVELS` of them, ``stats_levels``), with the
    keys of the supervised rows.

    With a colour ``cue`` (`fastmaze.Levels.stats`): ``phi``, ``mi_bits`` between "a floor
    square has the cue" and "it is the exit", ``p_cue_given_exit`` (P(exit has the cue)),
    ``p_exit_given_cue`` (P(square is the exit | it has the cue)), each beside its requested
    value (``*_req``). With a ``region`` (bool [H, W], the
    corner experiment's region squares): the same quantities for "a floor square is a region
    square" against "it is the floor square next to the exit" (no requested values).
    """
    first, stop = level_ids
    n = int(min(max(stop - first, 0), MAX_STREAM_LEVELS))
    out: dict[str, Any] = {"stats_levels": n, "stats_first_id": int(first)}
    if n == 0:
        return out
    levels = generate(train, n, seed, start=first)
    if cue is not None:
        row = levels.stats().color(cue)
        out.update(
            phi=row.phi,
            phi_req=row.phi_req,
            mi_bits=row.mi,
            mi_bits_req=row.mi_req,
            p_cue_given_exit=row.exit,
            p_cue_given_exit_req=row.exit_req,
            p_exit_given_cue=row.given,
            p_exit_given_cue_req=row.given_req,
        )
    if region is not None:
        H, W = levels.shape
        floor = levels.grid == 0
        floor[np.arange(n), levels.exit[:, 0], levels.exit[:, 1]] = False  # cells only
        inner = np.clip(levels.exit, 1, [H - 2, W - 2])
        is_target = np.zeros_like(floor)
        is_target[np.arange(n), inner[:, 0], inner[:, 1]] = True
        cue_sq = floor & region[None]
        n11 = float((cue_sq & is_target).sum())
        n10 = float(cue_sq.sum()) - n11
        n01 = float((floor & is_target).sum()) - n11
        n00 = float(floor.sum()) - n11 - n10 - n01
        phi, mi = phi_mi(np.array([[n11, n10, n01, n00]]))
        out.update(
            phi=float(phi[0]),
            mi_bits=float(mi[0]),
            p_cue_given_exit=n11 / n,
            p_exit_given_cue=n11 / (n11 + n10) if n11 + n10 else math.nan,
        )
    return out


def evaluation_row(ev: Evaluation) -> dict[str, Any]:
    """The test outcome of a run: rates with intervals on the informative (unambiguous)
    levels, ``episodes`` of them, ``episodes_all`` played, ``ambiguous_fraction``, and the
    rates over all levels as ``all_*``."""
    informative, every = ev.row("unambiguous"), ev.row("all")
    out: dict[str, Any] = {
        "proxy_name": ev.proxy_name,
        "episodes": informative["episodes"],
        "episodes_all": every["episodes"],
        "ambiguous_fraction": float(ev.ambiguous.mean()),
    }
    for k in ("exit", "proxy", "neither"):
        out.update(
            {k: informative[k][0], f"{k}_lo": informative[k][1], f"{k}_hi": informative[k][2]}
        )
        out[f"all_{k}"] = every[k][0]
    return out


# -- showing them ---------------------------------------------------------------------------
def pooled(rows: Sequence[dict[str, Any]], by: Sequence[str]) -> dict[tuple[str, ...], dict]:
    """Runs grouped by the values of ``by`` (seeds pooled): per group ``runs``, ``n``
    (informative episodes), ``exit`` and ``proxy`` as (rate, lo, hi) with 95% Wilson
    intervals on the pooled counts, ``ambiguous`` (mean fraction), ``train_exit`` (mean),
    ``undertrained`` (runs flagged), ``phi`` (mean realised stream phi, NaN if none)."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault(tuple(str(r[k]) for k in by), []).append(r)
    out = {}
    for key, rs in groups.items():
        n = sum(r["episodes"] for r in rs)
        g: dict[str, Any] = {"runs": len(rs), "n": n}
        for rate in ("exit", "proxy"):
            k = sum(round(r[rate] * r["episodes"]) for r in rs if r["episodes"])
            lo, hi = wilson(k, n, 0.95)
            g[rate] = (k / n if n else math.nan, float(lo), float(hi))
        g["ambiguous"] = float(np.mean([r["ambiguous_fraction"] for r in rs]))
        g["train_exit"] = float(np.mean([r["train_exit"] for r in rs]))
        g["undertrained"] = sum(bool(r["undertrained"]) for r in rs)
        phis = [r["phi"] for r in rs if r.get("phi") is not None]
        g["phi"] = float(np.mean(phis)) if phis else math.nan
        out[key] = g
    return out


def _order(key: tuple[str, ...]) -> tuple:
    def one(x: str) -> tuple:
        try:
            return (0, float(x), "")
        except ValueError:
            return (1, 0.0, x)

    return tuple(one(x) for x in key)


def table(rows: Sequence[dict[str, Any]], axes: Sequence[str]) -> str:
    """The summary table of a PPO experiment, one line per cell (seeds pooled)."""
    agg = pooled(rows, axes)
    proxy = rows[0]["proxy_name"] if rows else "proxy"
    width = max([len(" ".join(k)) for k in agg] + [len(" ".join(axes))]) + 2
    head = (
        f"{' '.join(axes):<{width}}{'runs':>5} {'informative':>11}  "
        f"{proxy + ' [95% CI]':>24}  {'exit [95% CI]':>24}  {'ambiguous':>9}  "
        f"{'train exit':>10}  {'phi':>6}  flag"
    )
    lines = [head]
    for key in sorted(agg, key=_order):
        g = agg[key]
        cells = [
            f"{g[r][0]:.3f} [{g[r][1]:.3f}, {g[r][2]:.3f}]".rjust(24) for r in ("proxy", "exit")
        ]
        flag = f"undertrained {g['undertrained']}/{g['runs']}" if g["undertrained"] else ""
        lines.append(
            f"{' '.join(key):<{width}}{g['runs']:>5} {g['n']:>11,}  {cells[0]}  {cells[1]}  "
            f"{g['ambiguous']:>9.3f}  {g['train_exit']:>10.3f}  {g['phi']:>6.3f}  {flag}"
        )
    threshold = rows[0]["train_threshold"] if rows else math.nan
    lines.append(
        f"rates on the informative test levels; train exit: the sampled policy on fresh "
        f"training levels; undertrained: train exit < {threshold:g}"
    )
    return "\n".join(lines)


def plots(
    out: Path, name: str, rows: Sequence[dict[str, Any]], x: str, series: Sequence[str] = ()
) -> list[Path]:
    """PNGs of a PPO experiment: proxy and exit rates (informative levels, 95% Wilson bands)
    against axis ``x``, one line per value of ``series``; groups with an undertrained run are
    drawn with hollow markers and labelled; with ``series``, a heatmap of the proxy rate."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    agg = pooled(rows, (*series, x))
    proxy = rows[0]["proxy_name"] if rows else "proxy"
    paths = []
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for si, s in enumerate(sorted({k[:-1] for k in agg}, key=_order)):
        pts = sorted((float(k[-1]), g) for k, g in agg.items() if k[:-1] == s)
        xs = [p for p, _ in pts]
        label = " ".join(f"{a}={v}" for a, v in zip(series, s, strict=True))
        for rate, style in (("proxy", "-"), ("exit", ":")):
            color = f"C{2 * si + (rate == 'exit')}"
            ys = [g[rate][0] for _, g in pts]
            ax.plot(
                xs, ys, style, color=color, label=f"{proxy if rate == 'proxy' else rate} {label}"
            )
            ax.fill_between(
                xs,
                [g[rate][1] for _, g in pts],
                [g[rate][2] for _, g in pts],
                color=color,
                alpha=0.15,
            )
            for xv, (_, g), y in zip(xs, pts, ys, strict=True):
                hollow = g["undertrained"] > 0
                ax.plot(xv, y, "o", color=color, mfc="none" if hollow else color)
                if hollow and rate == "proxy":
                    ax.annotate("undertrained", (xv, y), fontsize=6, xytext=(3, 3),
                                textcoords="offset points")  # fmt: skip
    ax.set(
        xlabel=x,
        ylabel="rate on informative test levels",
        ylim=(-0.02, 1.02),
        title=f"{name}: {proxy} vs exit (hollow: undertrained)",
    )
    ax.legend(fontsize=7)
    fig.tight_layout()
    paths.append(out / f"rates_vs_{x}.png")
    fig.savefig(paths[-1], dpi=120)
    plt.close(fig)
    if series:
        keys = sorted({k[:-1] for k in agg}, key=_order)
        cols = sorted({k[-1] for k in agg}, key=lambda v: float(v))
        grid = np.full((len(keys), len(cols)), np.nan)
        text = np.full(grid.shape, "", dtype=object)
        for (*s, v), g in agg.items():
            i, j = keys.index(tuple(s)), cols.index(v)
            grid[i, j] = g["proxy"][0]
            text[i, j] = f"{g['proxy'][0]:.2f}" + ("\n(undertrained)" if g["undertrained"] else "")
        rows_ = [" ".join(k) for k in keys]
        title = f"{name}: {proxy} rate"
        paths.append(
            heatmap(out / "heatmap.png", grid, rows_, cols, text, x, " ".join(series), title)
        )
    return paths
