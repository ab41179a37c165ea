"""Realised feature–reward statistics of a batch of levels, beside what the spec requested.

`level_stats` (also `Levels.stats()`) measures, per colour code (``"none"`` and each palette
colour), how the colour of a floor square goes with being the exit, and puts every realised
value beside the value its spec (or mixture) implies:

- ``P(exit has colour c)`` over levels;
- ``P(square is the exit | square has colour c)`` over floor squares;
- the phi coefficient and the mutual information (bits) between the indicators "floor square
  has colour c" and "floor square is the exit", over all floor squares of all levels;
- the decoy colour and decoy count distributions and, for a `Mixture`, the component
  fractions.

Requested values come from expected counts per level (see `expected_table`); realised ones
from the batch, with intervals at the requested confidence: Wilson score intervals for
proportions, a delete-a-block jackknife for phi and MI.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from statistics import NormalDist
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from fastmaze.spec import AnySpec, MazeSpec, Mixture

if TYPE_CHECKING:
    from fastmaze.levels import Levels

#: Square budget of one vectorised pass (levels are processed in chunks of this many squares).
_CHUNK_SQUARES = 1 << 22


class ColorRow(NamedTuple):
    """Statistics of one colour code; ``*_req`` requested, bare name realised, ``*_lo`` /
    ``*_hi`` the realised value's interval. Colour ``"none"`` is code 0 (no colour)."""

    color: str
    exit_req: float  #: P(exit has colour c), mixture-weighted spec probability
    exit: float  #: realised fraction of levels whose exit has colour c
    exit_lo: float
    exit_hi: float
    exits: int  #: levels whose exit has colour c
    given_req: float  #: P(square is the exit | square has colour c), ratio of expected counts
    given: float  #: realised, over floor squares (NaN if no floor square has colour c)
    given_lo: float
    given_hi: float
    squares: int  #: floor squares with colour c, the exit included
    phi_req: float  #: phi of the expected 2×2 table
    phi: float  #: phi of the pooled realised 2×2 table
    phi_lo: float
    phi_hi: float
    mi_req: float  #: mutual information (bits) of the expected 2×2 table
    mi: float  #: mutual information (bits) of the pooled realised 2×2 table
    mi_lo: float
    mi_hi: float


class ShareRow(NamedTuple):
    """One category of a distribution: requested probability, realised fraction with its
    Wilson interval, and the realised count."""

    label: str | int
    requested: float
    realised: float
    lo: float
    hi: float
    count: int


class FeatureRow(NamedTuple):
    """A user feature (`fastmaze.feature`) over levels: its mean with a normal interval, and
    its Pearson correlation with "the exit has the cue colour" (point-biserial; phi for a
    boolean feature) with a Fisher-z interval; NaN where a variable is constant."""

    name: str
    mean: float
    mean_lo: float
    mean_hi: float
    cue: str
    corr: float
    corr_lo: float
    corr_hi: float


def feature_rows(
    levels: Levels, features: Any, cue: str, confidence: float
) -> tuple[FeatureRow, ...]:
    """One `FeatureRow` per feature of ``features``, computed on ``levels``."""
    y = levels.color[np.arange(len(levels)), levels.exit[:, 0], levels.exit[:, 1]]
    y = (y == levels.spec.color_code(cue)).astype(np.float64)
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    n = len(levels)
    rows = []
    for f in features:
        x = levels.compute(f).astype(np.float64)
        mean = float(x.mean()) if n else math.nan
        half = z * float(x.std(ddof=1)) / math.sqrt(n) if n > 1 else math.nan
        with np.errstate(divide="ignore", invalid="ignore"):
            r = (
                float(np.corrcoef(x, y)[0, 1])
                if n > 1 and x.std() > 0 and y.std() > 0
                else math.nan
            )
            se = 1 / math.sqrt(n - 3) if n > 3 else math.nan
            fz = math.atanh(max(min(r, 1 - 1e-15), -1 + 1e-15)) if not math.isnan(r) else math.nan
        rows.append(
            FeatureRow(
                f.name, mean, mean - half, mean + half, cue,
                r, math.tanh(fz - z * se), math.tanh(fz + z * se),
            )
        )  # fmt: skip
    return tuple(rows)


@dataclass(frozen=True, eq=False)
class Stats:
    """Requested and realised statistics of a batch; build it with `level_stats`.

    - ``n``: levels; ``confidence``: level of every interval; ``blocks``: jackknife blocks
      used for phi and MI (``min(blocks, n)``; below 2 the intervals are NaN).
    - ``floor_req`` / ``floor``: floor squares per level (the exit included), expected by the
      spec / realised mean.
    - ``colors``: one `ColorRow` per colour code, ``"none"`` first, then the palette.
    - ``decoy_colors``: `ShareRow` per colour code, over all decoys of the batch.
    - ``decoy_counts``: `ShareRow` per decoy count 0..max, over levels.
    - ``components``: `ShareRow` per mixture component (empty for a plain `MazeSpec`).
    - ``features``: `FeatureRow` per user feature asked for (``features=``).
    """

    n: int
    confidence: float
    blocks: int
    floor_req: float
    floor: float
    colors: tuple[ColorRow, ...]
    decoy_colors: tuple[ShareRow, ...]
    decoy_counts: tuple[ShareRow, ...]
    components: tuple[ShareRow, ...]
    features: tuple[FeatureRow, ...] = ()

    def color(self, name: str | None) -> ColorRow:
        """The row of a colour name (``None`` or ``"none"`` for no colour)."""
        key = "none" if name is None else name
        for row in self.colors:
            if row.color == key:
                return row
        names = ", ".join(r.color for r in self.colors)
        raise ValueError(f"unknown colour {name!r}; the rows are {names}")

    def to_dict(self) -> dict[str, Any]:
        """Plain Python types (tables as lists of dicts); NaN stays ``float('nan')``."""
        return {
            "n": self.n,
            "confidence": self.confidence,
            "blocks": self.blocks,
            "floor_req": self.floor_req,
            "floor": self.floor,
            "colors": [r._asdict() for r in self.colors],
            "decoy_colors": [r._asdict() for r in self.decoy_colors],
            "decoy_counts": [r._asdict() for r in self.decoy_counts],
            "components": [r._asdict() for r in self.components],
            "features": [r._asdict() for r in self.features],
        }

    def __str__(self) -> str:
        pct = f"{100 * self.confidence:g}%"
        lines = [
            f"fastmaze stats: {self.n} levels; {pct} intervals (Wilson for proportions, "
            f"delete-a-block jackknife over {self.blocks} blocks for phi and MI)",
            f"floor squares per level: requested {_num(self.floor_req)}, "
            f"realised {_num(self.floor)}",
            "(rows neither requested nor seen are left out)",
            "",
        ]
        seen = [r for r in self.colors if r.exit_req > 0 or r.exits > 0 or r.squares > 0]
        lines += _table(
            "exit colour and reward, per colour c",
            ["colour", "P(exit=c) req", "real", "interval", "P(exit|c) req", "real", "interval"],
            [
                [
                    r.color,
                    _num(r.exit_req),
                    _num(r.exit),
                    _iv(r.exit_lo, r.exit_hi),
                    _num(r.given_req),
                    _num(r.given),
                    _iv(r.given_lo, r.given_hi),
                ]
                for r in seen
            ],
        )
        lines += _table(
            "association of 'square has colour c' with 'square is the exit', floor squares",
            ["colour", "phi req", "real", "interval", "MI bits req", "real", "interval"],
            [
                [
                    r.color,
                    _num(r.phi_req),
                    _num(r.phi),
                    _iv(r.phi_lo, r.phi_hi),
                    _num(r.mi_req),
                    _num(r.mi),
                    _iv(r.mi_lo, r.mi_hi),
                ]
                for r in seen
            ],
        )
        for title, head, rows in (
            ("decoy colours, over decoys", "colour", self.decoy_colors),
            ("decoy counts, over levels", "decoys", self.decoy_counts),
            ("mixture components, over levels", "component", self.components),
        ):
            kept = [r for r in rows if r.requested > 0 or r.count > 0]
            if kept:
                lines += _table(
                    title,
                    [head, "requested", "realised", "interval", "count"],
                    [
                        [
                            str(r.label),
                            _num(r.requested),
                            _num(r.realised),
                            _iv(r.lo, r.hi),
                            str(r.count),
                        ]
                        for r in kept
                    ],
                )
        if self.features:
            lines += _table(
                f"features, over levels (correlation with 'exit is {self.features[0].cue}')",
                ["feature", "mean", "interval", "corr", "interval"],
                [
                    [r.name, _num(r.mean), _iv(r.mean_lo, r.mean_hi), _num(r.corr),
                     _iv(r.corr_lo, r.corr_hi)]
                    for r in self.features
                ],
            )  # fmt: skip
        return "\n".join(lines).rstrip()


def _num(x: float) -> str:
    return "nan" if math.isnan(x) else f"{x:.4f}"


def _iv(lo: float, hi: float) -> str:
    return "" if math.isnan(lo) else f"[{lo:.4f}, {hi:.4f}]"


def _table(title: str, header: list[str], rows: list[list[str]]) -> list[str]:
    """Aligned text table: first column left-aligned, the others right-aligned."""
    widths = [max(len(r[k]) for r in [header, *rows]) for k in range(len(header))]

    def line(cells: list[str]) -> str:
        parts = [cells[0].ljust(widths[0])]
        parts += [c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True)]
        return "  ".join(parts).rstrip()

    return [title, line(header), *(line(r) for r in rows), ""]


# -- interval helpers ---------------------------------------------------------------------------
def wilson(x: np.ndarray, n: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of a binomial proportion x/n, elementwise; NaN where n == 0."""
    x = np.asarray(x, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = x / n
        denom = 1 + z * z / n
        centre = (p + z * z / (2 * n)) / denom
        half = z / denom * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
        # the bounds are exactly 0 at x = 0 and 1 at x = n; rounding would leave 1e-19 off
        lo = np.where(n > 0, np.where(x == 0, 0.0, np.clip(centre - half, 0.0, 1.0)), np.nan)
        hi = np.where(n > 0, np.where(x == n, 1.0, np.clip(centre + half, 0.0, 1.0)), np.nan)
    return lo, hi


def t_quantile(confidence: float, df: int) -> float:
    """Two-sided Student-t quantile: the t with P(|T| < t) = confidence for ``df`` degrees of
    freedom (exact series of Abramowitz & Stegun 26.7.3–4, inverted by bisection)."""
    if df < 1:
        raise ValueError(f"df: expected >= 1, got {df}")

    def inside(t: float) -> float:
        theta = math.atan(t / math.sqrt(df))
        s, c = math.sin(theta), math.cos(theta)
        if df % 2:
            term, acc = c, c if df > 1 else 0.0
            for k in range(3, df, 2):  # ratio (k - 1) / k: 2/3, 4/5, ...
                term *= c * c * (k - 1) / k
                acc += term
            return 2 / math.pi * (theta + s * acc)
        term, acc = 1.0, 1.0
        for k in range(2, df, 2):  # ratio (k - 1) / k: 1/2, 3/4, ...
            term *= c * c * (k - 1) / k
            acc += term
        return s * acc

    lo, hi = 0.0, 1.0
    while inside(hi) < confidence:
        hi *= 2
    for _ in range(200):
        mid = (lo + hi) / 2
        if inside(mid) < confidence:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def phi_mi(table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Phi coefficient and mutual information (bits) of 2×2 tables.

    ``table``: float [..., 4] counts ``(n11, n10, n01, n00)``, first index the colour
    indicator (1 = has colour c), second the exit indicator (1 = is the exit). Phi is NaN when
    a margin is empty; MI is 0 there (a constant indicator carries no information) and NaN
    for an empty table.
    """
    t = np.asarray(table, dtype=np.float64)
    n11, n10, n01, n00 = np.moveaxis(t, -1, 0)
    total = n11 + n10 + n01 + n00
    row1, row0 = n11 + n10, n01 + n00
    col1, col0 = n11 + n01, n10 + n00
    with np.errstate(divide="ignore", invalid="ignore"):
        denom = np.sqrt(row1 * row0 * col1 * col0)
        phi = np.where(denom > 0, (n11 * n00 - n10 * n01) / denom, np.nan)
        mi = np.zeros_like(total)
        for cell, r, c in (
            (n11, row1, col1),
            (n10, row1, col0),
            (n01, row0, col1),
            (n00, row0, col0),
        ):
            term = cell / total * np.log2(cell * total / (r * c))
            mi = mi + np.where(cell > 0, term, 0.0)
        mi = np.where(total > 0, np.maximum(mi, 0.0), np.nan)
    return phi, mi


def _jackknife(
    total: np.ndarray, per_block: np.ndarray, confidence: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Delete-a-block jackknife intervals of phi and MI.

    ``total``: [K, 4] pooled tables; ``per_block``: [B, K, 4] tables of each block. Returns
    (phi_lo, phi_hi, mi_lo, mi_hi), each [K]: estimate ± t_{B-1} · se with
    se² = (B-1)/B · Σ_b (θ_(-b) − mean θ_(-b))², clipped to [-1, 1] (phi) or [0, ∞) (MI).
    NaN where B < 2 or a leave-one-out statistic is undefined.
    """
    phi, mi = phi_mi(total)
    B = per_block.shape[0]
    nan = np.full(total.shape[0], np.nan)
    if B < 2:
        return nan, nan.copy(), nan.copy(), nan.copy()
    loo_phi, loo_mi = phi_mi(total[None] - per_block)
    t = t_quantile(confidence, B - 1)
    out = []
    for est, loo, lo_clip, hi_clip in ((phi, loo_phi, -1.0, 1.0), (mi, loo_mi, 0.0, np.inf)):
        se = np.sqrt((B - 1) / B * np.sum((loo - loo.mean(axis=0)) ** 2, axis=0))
        out += [np.clip(est - t * se, lo_clip, hi_clip), np.clip(est + t * se, lo_clip, hi_clip)]
    return out[0], out[1], out[2], out[3]


# -- requested values ---------------------------------------------------------------------------
def expected_floor(spec: MazeSpec) -> float:
    """Floor squares per level implied by a spec, the exit included (it is the same for every
    level): a perfect maze has rows·cols cells and rows·cols − 1 opened walls; loops open
    round(loops · m) of the m inner walls left standing; an open maze has the whole interior,
    (2·rows − 1)·(2·cols − 1) squares. False exits add their openings; the walls that seal
    them off vary per level and are not subtracted (the realised ``floor`` counts them)."""
    rows, cols = spec.size
    if spec.algorithm == "open":
        return float((2 * rows - 1) * (2 * cols - 1) + 1 + spec.false_exits)
    cells = rows * cols
    standing = rows * (cols - 1) + (rows - 1) * cols - (cells - 1)
    removed = math.floor(spec.loops * standing + 0.5) if spec.loops > 0 else 0
    return float(2 * cells - 1 + removed + 1 + spec.false_exits)


def _probs(dist: tuple, spec: MazeSpec, size: int) -> np.ndarray:
    out = np.zeros(size)
    for name, p in dist:
        out[spec.color_code(name)] += p
    return out


def _mean_count(dist: tuple) -> float:
    return math.fsum(c * p for c, p in dist)


def expected_table(spec: AnySpec) -> tuple[np.ndarray, float]:
    """Expected 2×2 tables per level and expected floor squares per level.

    Returns ``(table, floor)``: ``table`` float [K+1, 4], per colour code k (0 = none), the
    expected counts per level ``(n11, n10, n01, n00)`` of floor squares by (has colour k, is
    the exit), mixture-weighted: n11 = P(exit has k); n10 = E[decoys]·P(decoy has k) +
    E[distractors]·P(distractor has k) for k ≥ 1, and for k = 0 the uncoloured non-exit
    floor squares, floor − 1 − E[coloured decoys] − E[coloured distractors].
    """
    K = len(spec.palette)
    table = np.zeros((K + 1, 4))
    floor = 0.0
    for s, w in spec.components:
        f = expected_floor(s)
        e_dec, e_dis = _mean_count(s.n_decoys), _mean_count(s.n_distractors)
        p_exit = _probs(s.exit_color, s, K + 1)
        p_dec = _probs(s.decoy_color, s, K + 1)
        p_dis = _probs(s.distractor_color, s, K + 1)
        n10 = e_dec * p_dec + e_dis * p_dis
        n10[0] = f - 1 - e_dec * (1 - p_dec[0]) - e_dis * (1 - p_dis[0])
        n01 = 1 - p_exit
        n00 = f - p_exit - n10 - n01
        table += w * np.stack([p_exit, n10, n01, n00], axis=1)
        floor += w * f
    return table, floor


def _requested_decoys(spec: AnySpec) -> tuple[np.ndarray, np.ndarray]:
    """(colour probabilities [K+1] over decoys, count probabilities [max+1] over levels)."""
    K = len(spec.palette)
    colors = np.zeros(K + 1)
    counts = np.zeros(spec.max_decoys + 1)
    for s, w in spec.components:
        e_dec = _mean_count(s.n_decoys)
        colors += w * e_dec * _probs(s.decoy_color, s, K + 1)
        for c, p in s.n_decoys:
            counts[c] += w * p
    total = colors.sum()
    return (colors / total if total > 0 else colors), counts


# -- realised counts ----------------------------------------------------------------------------
def _chunks(n: int, squares: int) -> Iterator[slice]:
    step = max(1, _CHUNK_SQUARES // max(squares, 1))
    for lo in range(0, n, step):
        yield slice(lo, min(lo + step, n))


def _per_level(levels: Levels, K: int) -> tuple[np.ndarray, np.ndarray]:
    """(floor squares per colour code, int64 [n, K+1]; exit colour code, int64 [n], -1 where
    the exit square is not floor)."""
    n = len(levels)
    H, W = levels.shape
    counts = np.zeros((n, K + 1), np.int64)
    for sl in _chunks(n, H * W):
        grid, color = levels.grid[sl], levels.color[sl]
        m = grid.shape[0]
        if color.size and int(color.max()) > K:
            raise ValueError(
                f"colour codes up to {int(color.max())} in levels.color; the palette has {K}"
            )
        codes = np.where(grid == 0, color, K + 1).reshape(m, -1).astype(np.intp)
        codes += (np.arange(m, dtype=np.intp) * (K + 2))[:, None]
        counts[sl] = np.bincount(codes.ravel(), minlength=m * (K + 2)).reshape(m, K + 2)[:, :-1]
    rows, cols = levels.exit[:, 0], levels.exit[:, 1]
    idx = np.arange(n)
    exit_code = levels.color[idx, rows, cols].astype(np.int64)
    exit_code[levels.grid[idx, rows, cols] != 0] = -1
    return counts, exit_code


def _block_starts(n: int, blocks: int) -> np.ndarray:
    """Starts of ``blocks`` contiguous, near-equal blocks of n levels."""
    return np.array([b * n // blocks for b in range(blocks)], dtype=np.intp)


def _share_rows(
    labels: list, requested: np.ndarray, counts: np.ndarray, total: int, confidence: float
) -> tuple[ShareRow, ...]:
    with np.errstate(divide="ignore", invalid="ignore"):
        realised = counts / total if total > 0 else np.full(len(counts), np.nan)
    lo, hi = wilson(counts, np.full(len(counts), total), confidence)
    return tuple(
        ShareRow(lab, float(q), float(r), float(a), float(b), int(c))
        for lab, q, r, a, b, c in zip(labels, requested, realised, lo, hi, counts, strict=True)
    )


def level_stats(
    levels: Levels,
    *,
    confidence: float = 0.95,
    blocks: int = 20,
    features: Any = (),
    cue: str = "green",
) -> Stats:
    """Realised feature–reward statistics of a batch beside what its spec requested.

    Realised values pool all levels: ``P(exit has c)`` = levels whose exit has colour c / n;
    ``P(exit | c)`` = exits of colour c / floor squares of colour c; phi and MI are those of
    the pooled 2×2 table of floor squares by (has colour c, is the exit). Requested values
    are the same quantities of the expected per-level table (`expected_table`); for P(exit | c)
    that is the ratio of expected counts, p_exit(c) / (p_exit(c) + E[decoys]·p_decoy(c) +
    E[distractors]·p_distractor(c)), mixture-weighted.

    Intervals (``confidence``): Wilson score intervals for proportions. They treat levels
    (or squares, or decoys) as independent draws; the core stratifies factors over level
    ids, so realised fractions vary far less than binomially and these intervals are
    conservative for them. Squares of one level are not independent (one exit per level,
    objects on distinct cells, colours drawn per level), so phi and MI get a delete-a-block
    jackknife over ``blocks`` contiguous blocks of levels instead: estimate ± t_{B−1}·se.
    With fewer than 2 levels, or a colour never seen, intervals are NaN.

    ``features``: user features (`fastmaze.feature`) to report as `FeatureRow`: mean and
    correlation with "the exit has colour ``cue``" (a palette colour).
    """
    if isinstance(confidence, bool) or not isinstance(confidence, (int, float)):
        raise ValueError(f"confidence: expected a number in (0, 1), got {confidence!r}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence: {confidence} is not in (0, 1)")
    if isinstance(blocks, bool) or not isinstance(blocks, (int, np.integer)) or blocks < 2:
        raise ValueError(f"blocks: expected an integer >= 2, got {blocks!r}")
    spec = levels.spec
    K = len(spec.palette)
    names = ["none", *spec.palette]
    n = len(levels)

    req_table, floor_req = expected_table(spec)
    req_phi, req_mi = phi_mi(req_table)
    with np.errstate(divide="ignore", invalid="ignore"):
        req_given = req_table[:, 0] / (req_table[:, 0] + req_table[:, 1])

    counts, exit_code = _per_level(levels, K)
    B = min(int(blocks), n)
    starts = _block_starts(n, max(B, 1)) if n else np.zeros(0, np.intp)
    block_of = np.repeat(np.arange(len(starts)), np.diff(np.append(starts, n)))
    on_floor = exit_code >= 0
    # Per block: colour-k exits, colour-k floor squares, floor squares, exits.
    blk_exit = np.bincount(
        block_of[on_floor] * (K + 1) + exit_code[on_floor], minlength=len(starts) * (K + 1)
    ).reshape(len(starts), K + 1)
    blk_sq = np.add.reduceat(counts, starts, axis=0) if n else np.zeros((0, K + 1), np.int64)
    blk_floor = blk_sq.sum(axis=1)
    blk_exits = blk_exit.sum(axis=1)
    # 2×2 tables per block and colour: (n11, n10, n01, n00).
    n11 = blk_exit
    n10 = blk_sq - blk_exit
    n01 = blk_exits[:, None] - blk_exit
    n00 = blk_floor[:, None] - blk_exits[:, None] - n10
    per_block = np.stack([n11, n10, n01, n00], axis=2).astype(np.float64)
    total = per_block.sum(axis=0)
    phi, mi = phi_mi(total)
    phi_lo, phi_hi, mi_lo, mi_hi = _jackknife(
        total, per_block if B >= 2 else per_block[:0], confidence
    )

    exits = total[:, 0].astype(np.int64)
    squares = (total[:, 0] + total[:, 1]).astype(np.int64)
    with np.errstate(divide="ignore", invalid="ignore"):
        exit_real = exits / n if n else np.full(K + 1, np.nan)
        given = np.where(squares > 0, exits / np.maximum(squares, 1), np.nan)
    exit_lo, exit_hi = wilson(exits, np.full(K + 1, n), confidence)
    given_lo, given_hi = wilson(exits, squares, confidence)
    exit_req = req_table[:, 0]
    colors = tuple(
        ColorRow(
            names[k],
            *(float(v[k]) for v in (exit_req, exit_real, exit_lo, exit_hi)),
            int(exits[k]),
            *(float(v[k]) for v in (req_given, given, given_lo, given_hi)),
            int(squares[k]),
            *(float(v[k]) for v in (req_phi, phi, phi_lo, phi_hi)),
            *(float(v[k]) for v in (req_mi, mi, mi_lo, mi_hi)),
        )
        for k in range(K + 1)
    )

    req_dcol, req_dcount = _requested_decoys(spec)
    D = levels.decoys.shape[1]
    valid = np.arange(D)[None, :] < levels.n_decoys[:, None]
    which = np.broadcast_to(np.arange(n)[:, None], (n, D))[valid]
    pos = levels.decoys[valid]
    dcodes = levels.color[which, pos[:, 0], pos[:, 1]].astype(np.int64)
    decoy_colors = _share_rows(
        names, req_dcol, np.bincount(dcodes, minlength=K + 1), len(dcodes), confidence
    )
    realised_counts = np.bincount(levels.n_decoys.astype(np.int64), minlength=len(req_dcount))
    req_dcount = np.append(req_dcount, np.zeros(len(realised_counts) - len(req_dcount)))
    decoy_counts = _share_rows(
        list(range(len(req_dcount))), req_dcount, realised_counts, n, confidence
    )
    components: tuple[ShareRow, ...] = ()
    if isinstance(spec, Mixture):
        weights = np.array([w for _, w in spec.components])
        realised_comp = np.bincount(levels.component.astype(np.int64), minlength=len(weights))
        components = _share_rows(
            list(range(len(weights))), weights, realised_comp[: len(weights)], n, confidence
        )

    return Stats(
        n=n,
        confidence=float(confidence),
        blocks=B,
        floor_req=float(floor_req),
        floor=float(blk_floor.sum() / n) if n else math.nan,
        colors=colors,
        decoy_colors=decoy_colors,
        decoy_counts=decoy_counts,
        components=components,
        features=feature_rows(levels, features, cue, confidence) if features else (),
    )
