"""Tests of fastmaze.stats: exact values on hand-built batches, requested values from specs,
and the generator's stratification claim measured through `level_stats`."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from fastmaze import MazeSpec, Mixture, generate, uniform
from fastmaze.levels import Levels
from fastmaze.stats import expected_floor, level_stats, phi_mi, t_quantile, wilson

Z95 = 1.959963984540054
PALETTE = ("red", "green", "blue")
RED, GREEN, BLUE = 1, 2, 3

# A 2×2-cell perfect maze (5×5 board): 4 cells + 3 opened walls + the exit = 8 floor squares.
BOARD = np.array(
    [
        [1, 0, 1, 1, 1],
        [1, 0, 0, 0, 1],
        [1, 1, 1, 0, 1],
        [1, 0, 0, 0, 1],
        [1, 1, 1, 1, 1],
    ],
    np.uint8,
)
EXIT, START, DECOY, OTHER = (0, 1), (3, 1), (1, 3), (3, 3)


def hand_built() -> Levels:
    """Four levels on BOARD with known colours:

    level 0: exit green, decoy red; level 1: exit red, decoy green, a blue distractor;
    level 2: exit green, decoy green; level 3: exit uncoloured, decoy blue.
    """
    spec = MazeSpec(
        size=(2, 2),
        palette=PALETTE,
        exit_color={"green": 0.5, "red": 0.5},
        n_decoys=1,
        decoy_color=uniform(PALETTE),
        n_distractors={0: 0.5, 1: 0.5},
        distractor_color="blue",
    )
    n = 4
    color = np.zeros((n, 5, 5), np.uint8)
    for k, (exit_c, decoy_c) in enumerate([(GREEN, RED), (RED, GREEN), (GREEN, GREEN), (0, BLUE)]):
        color[k][EXIT] = exit_c
        color[k][DECOY] = decoy_c
    color[1][OTHER] = BLUE
    return Levels(
        spec=spec,
        seed=0,
        ids=np.arange(n, dtype=np.int64),
        grid=np.repeat(BOARD[None], n, axis=0),
        color=color,
        start=np.tile(np.array(START, np.int32), (n, 1)),
        exit=np.tile(np.array(EXIT, np.int32), (n, 1)),
        decoys=np.tile(np.array(DECOY, np.int32), (n, 1, 1)),
        n_decoys=np.ones(n, np.int32),
        component=np.zeros(n, np.uint8),
    )


# Pooled 2×2 tables (colour & exit, colour & not exit, no colour & exit, neither) of hand_built:
# 32 floor squares, 4 exits.
TABLES = {
    "green": (2, 2, 2, 26),
    "red": (1, 1, 3, 27),
    "blue": (0, 2, 4, 26),
    "none": (1, 23, 3, 5),
}


def closed_phi(a: float, b: float, c: float, d: float) -> float:
    return (a * d - b * c) / math.sqrt((a + b) * (c + d) * (a + c) * (b + d))


def closed_mi(a: float, b: float, c: float, d: float) -> float:
    """I(X;Y) = H(X) + H(Y) − H(X,Y), in bits."""

    def h(*ps: float) -> float:
        return -sum(p * math.log2(p) for p in ps if p > 0)

    n = a + b + c + d
    return h((a + b) / n, (c + d) / n) + h((a + c) / n, (b + d) / n) - h(a / n, b / n, c / n, d / n)


def closed_wilson(x: float, n: float, z: float = Z95) -> tuple[float, float]:
    p = x / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


# -- exact values on a hand-built batch ---------------------------------------------------------
def test_hand_built_counts_and_proportions():
    s = level_stats(hand_built(), blocks=4)
    assert s.n == 4 and s.floor == 8.0 and s.floor_req == 8.0
    assert [r.color for r in s.colors] == ["none", *PALETTE]
    for name, (a, b, _, _) in TABLES.items():
        row = s.color(name)
        assert row.exits == a and row.squares == a + b
        assert row.exit == a / 4
        assert (row.exit_lo, row.exit_hi) == pytest.approx(closed_wilson(a, 4))
        assert row.given == pytest.approx(a / (a + b))
        assert (row.given_lo, row.given_hi) == pytest.approx(closed_wilson(a, a + b))
    assert s.color(None) == s.color("none")


def test_hand_built_phi_and_mutual_information():
    s = level_stats(hand_built(), blocks=4)
    assert s.color("green").phi == pytest.approx(3 / 7)  # (2·26 − 2·2) / sqrt(4·28·4·28)
    for name, t in TABLES.items():
        row = s.color(name)
        assert row.phi == pytest.approx(closed_phi(*t), abs=1e-12)
        assert row.mi == pytest.approx(closed_mi(*t), abs=1e-12)
        assert row.mi_lo <= row.mi <= row.mi_hi and row.phi_lo <= row.phi <= row.phi_hi


def test_hand_built_jackknife_by_hand():
    """blocks=4 puts each level in its own block: the interval is phi ± t_{3} · se over the
    four leave-one-level-out tables."""
    levels = hand_built()
    s = level_stats(levels, blocks=4)
    # Per-level tables of green: levels 0 and 2 have a green exit; levels 1 and 2 a green decoy.
    per_level = np.array([(1, 0, 0, 7), (0, 1, 1, 6), (1, 1, 0, 6), (0, 0, 1, 7)], float)
    total = per_level.sum(axis=0)
    assert tuple(total) == TABLES["green"]
    loo = [closed_phi(*(total - row)) for row in per_level]
    se = math.sqrt(3 / 4 * sum((v - np.mean(loo)) ** 2 for v in loo))
    t3 = 3.182446305284263  # Student t, 3 d.f., two-sided 95%
    phi = 3 / 7
    row = s.color("green")
    assert row.phi_lo == pytest.approx(max(-1.0, phi - t3 * se))
    assert row.phi_hi == pytest.approx(min(1.0, phi + t3 * se))
    loo_mi = [closed_mi(*(total - r)) for r in per_level]
    se_mi = math.sqrt(3 / 4 * sum((v - np.mean(loo_mi)) ** 2 for v in loo_mi))
    mi = closed_mi(*total)
    assert row.mi_lo == pytest.approx(max(0.0, mi - t3 * se_mi))
    assert row.mi_hi == pytest.approx(mi + t3 * se_mi)


def test_hand_built_decoys_and_requested():
    s = level_stats(hand_built())
    decoys = {r.label: r for r in s.decoy_colors}
    assert [decoys[c].count for c in ("none", *PALETTE)] == [0, 1, 2, 1]
    assert decoys["green"].realised == 0.5 and decoys["green"].requested == pytest.approx(1 / 3)
    assert [(r.label, r.requested, r.realised) for r in s.decoy_counts] == [
        (0, 0.0, 0.0),
        (1, 1.0, 1.0),
    ]
    assert s.components == ()
    # Requested: floor 8, one decoy (1/3 each colour), 0.5 blue distractors per level.
    green = s.color("green")
    assert green.exit_req == 0.5
    assert green.given_req == pytest.approx(0.5 / (0.5 + 1 / 3))
    assert green.phi_req == pytest.approx(closed_phi(0.5, 1 / 3, 0.5, 8 - 0.5 - 1 / 3 - 0.5))
    blue = s.color("blue")
    assert blue.exit_req == 0 and blue.given_req == 0
    assert blue.mi_req == pytest.approx(closed_mi(0, 1 / 3 + 0.5, 1, 8 - 1 - 1 / 3 - 0.5))
    none = s.color("none")  # uncoloured non-exit floor squares: 8 − 1 − 1 − 0.5
    assert none.given_req == 0 and none.phi_req == pytest.approx(closed_phi(0, 5.5, 1, 1.5))


def test_wilson_and_t_quantile_reference_values():
    lo, hi = wilson(np.array([0, 2, 4]), np.array([4, 4, 4]), 0.95)
    for k, x in enumerate([0, 2, 4]):
        assert (lo[k], hi[k]) == pytest.approx(closed_wilson(x, 4))
    lo, hi = wilson(np.array([0]), np.array([0]), 0.95)
    assert np.isnan(lo[0]) and np.isnan(hi[0])
    # Student t two-sided quantiles (tables / scipy.stats.t.ppf).
    for conf, df, ref in [
        (0.95, 1, 12.706204736),
        (0.95, 2, 4.302652730),
        (0.95, 3, 3.182446305),
        (0.95, 19, 2.093024054),
        (0.99, 19, 2.860934606),
        (0.90, 100, 1.660234326),
    ]:
        assert t_quantile(conf, df) == pytest.approx(ref, rel=1e-8)


def test_phi_mi_degenerate_tables():
    phi, mi = phi_mi(np.array([[0, 0, 4, 28], [0, 0, 0, 0], [4, 0, 0, 28]], float))
    assert np.isnan(phi[0]) and mi[0] == 0  # nothing has the colour: MI 0, phi undefined
    assert np.isnan(phi[1]) and np.isnan(mi[1])  # empty table
    assert phi[2] == pytest.approx(1.0) and mi[2] == pytest.approx(closed_mi(4, 0, 0, 28))


# -- requested values ---------------------------------------------------------------------------
def test_requested_values_of_a_mixture():
    a = MazeSpec(
        size=(3, 3),
        exit_color={"green": 0.9, "red": 0.1},
        n_decoys={1: 0.5, 2: 0.5},
        decoy_color={"green": 0.2, "red": 0.8},
        n_distractors=2,
        distractor_color="blue",
    )
    b = MazeSpec(size=(3, 3), algorithm="open", exit_color="red")
    mix = Mixture.of((a, 0.75), (b, 0.25))
    assert expected_floor(a) == 18 and expected_floor(b) == 26
    s = level_stats(generate(mix, 0))
    assert s.floor_req == pytest.approx(0.75 * 18 + 0.25 * 26)  # 20
    green, red, blue = s.color("green"), s.color("red"), s.color("blue")
    assert green.exit_req == pytest.approx(0.675) and red.exit_req == pytest.approx(0.325)
    # P(exit | c) = p_exit / (p_exit + E[decoys]·p_decoy + E[distractors]·p_distractor).
    assert green.given_req == pytest.approx(0.675 / (0.675 + 0.75 * 1.5 * 0.2))
    assert red.given_req == pytest.approx(0.325 / (0.325 + 0.75 * 1.5 * 0.8))
    assert blue.given_req == 0
    t_green = (0.675, 0.225, 0.325, 20 - 0.675 - 0.225 - 0.325)
    assert green.phi_req == pytest.approx(closed_phi(*t_green))
    assert green.mi_req == pytest.approx(closed_mi(*t_green))
    decoys = {r.label: r.requested for r in s.decoy_colors}
    assert decoys["green"] == pytest.approx(0.2) and decoys["red"] == pytest.approx(0.8)
    assert [r.requested for r in s.decoy_counts] == pytest.approx([0.25, 0.375, 0.375])
    assert [(r.label, r.requested) for r in s.components] == [(0, 0.75), (1, 0.25)]
    assert all(math.isnan(r.realised) for r in s.components)


@pytest.mark.parametrize(
    "spec",
    [
        MazeSpec(size=(4, 5)),
        MazeSpec(size=(4, 5), algorithm="wilson", loops=0.3),
        MazeSpec(size=(3, 3), algorithm="kruskal", loops=1.0),
        MazeSpec(size=(4, 3), algorithm="prim", loops=0.55),
        MazeSpec(size=(4, 5), algorithm="open"),
    ],
)
def test_expected_floor_matches_the_generator_exactly(spec):
    levels = generate(spec, 50, seed=3)
    floor = (levels.grid == 0).sum(axis=(1, 2))
    assert (floor == expected_floor(spec)).all()
    assert level_stats(levels).floor == level_stats(levels).floor_req


# -- generated batches ------------------------------------------------------------------------
def test_generated_exit_colour_and_intervals():
    spec = MazeSpec(
        size=(6, 6),
        exit_color={"green": 0.95, "red": 0.05},
        n_decoys=2,
        decoy_color={"green": 0.5, "red": 0.5},
        n_distractors=1,
        distractor_color={"blue": 0.5, None: 0.5},
    )
    s = generate(spec, 20_000, seed=11).stats()
    green = s.color("green")
    assert abs(green.exit - 0.95) < 0.01
    for row in s.colors:
        for est, lo, hi in [
            (row.exit, row.exit_lo, row.exit_hi),
            (row.given, row.given_lo, row.given_hi),
            (row.phi, row.phi_lo, row.phi_hi),
            (row.mi, row.mi_lo, row.mi_hi),
        ]:
            if not math.isnan(lo):
                assert lo <= est <= hi
    # A large batch recovers what the spec implies.
    for row in (green, s.color("red"), s.color("blue")):
        assert row.given == pytest.approx(row.given_req, abs=0.01)
        assert row.phi_lo <= row.phi_req <= row.phi_hi
        assert row.mi_lo <= row.mi_req <= row.mi_hi
    assert s.color("yellow").squares == 0 and math.isnan(s.color("yellow").given)
    assert math.isnan(s.color("yellow").phi) and s.color("yellow").mi == 0
    text = str(s)
    assert "green" in text and "yellow" not in text
    assert json.loads(json.dumps(s.to_dict()).replace("NaN", "null"))["n"] == 20_000


MIX = Mixture.of(
    (
        MazeSpec(
            size=(4, 4),
            exit_color={"green": 0.95, "red": 0.05},
            n_decoys={0: 0.2, 1: 0.5, 2: 0.3},
            decoy_color="green",
        ),
        0.7,
    ),
    (
        MazeSpec(
            size=(4, 4),
            algorithm="kruskal",
            exit_color={"red": 0.5, "blue": 0.5},
            n_decoys={1: 0.6, 3: 0.4},
            decoy_color="red",
        ),
        0.3,
    ),
)


@pytest.mark.parametrize("spec", [MIX, MIX.components[0][0]], ids=["mixture", "spec"])
@pytest.mark.parametrize("seed", [0, 1, 2**40 + 3])
@pytest.mark.parametrize(
    ("start", "n"), [(0, 1000), (12_345, 1000), (10**12 + 7, 1000), (0, 10_000), (987_654, 10_000)]
)
def test_stratification_within_one_point(spec, seed, start, n):
    """DESIGN/spec claim: any run of >= 1,000 ids realises exit colours, decoy counts and
    mixture components within one percentage point."""
    s = generate(spec, n, seed=seed, start=start).stats()
    for row in s.colors:
        assert abs(row.exit - row.exit_req) <= 0.01, row
    for row in s.decoy_counts + s.components:
        assert abs(row.realised - row.requested) <= 0.01, row
    assert len(s.components) == (2 if spec is MIX else 0)


def test_decoy_colours_within_one_point_with_random_counts():
    spec = MazeSpec(
        size=(6, 6),
        n_decoys={0: 0.2, 1: 0.5, 2: 0.3},
        decoy_color={"red": 0.3, "green": 0.5, "blue": 0.2},
    )
    s = generate(spec, 1000, seed=7).stats()
    for row in s.decoy_colors:
        assert abs(row.realised - row.requested) <= 0.01, row


def test_mixture_exit_colour_within_one_point_hard_window():
    a = MazeSpec(
        size=(2, 2), exit_color={"green": 0.95, "red": 0.05}, n_decoys={0: 0.2, 1: 0.5, 2: 0.3}
    )
    b = MazeSpec(size=(2, 2), exit_color={"red": 0.5, "blue": 0.5}, n_decoys={1: 0.6, 3: 0.4})
    s = generate(Mixture.of((a, 0.7), (b, 0.3)), 1000, seed=3, start=118_696).stats()
    for row in s.colors:
        assert abs(row.exit - row.exit_req) <= 0.01, row


# -- edge cases ---------------------------------------------------------------------------------
@pytest.mark.parametrize("n", [0, 1])
def test_tiny_batches(n):
    spec = MazeSpec(size=(3, 3), exit_color={"green": 0.6, "red": 0.4}, n_decoys={0: 0.5, 2: 0.5})
    s = generate(MIX if n else spec, n, seed=1).stats()
    assert s.n == n
    for row in s.colors:
        assert all(math.isnan(v) for v in (row.phi_lo, row.phi_hi, row.mi_lo, row.mi_hi))
        assert not math.isnan(row.exit_req)
    if n == 0:
        assert math.isnan(s.floor) and all(math.isnan(r.exit) for r in s.colors)
    else:
        assert sum(r.exits for r in s.colors) == 1
        assert all(0 <= r.exit_lo <= r.exit <= r.exit_hi <= 1 for r in s.colors)
    assert str(s) and s.to_dict()["n"] == n


def test_spec_without_colours():
    s = generate(MazeSpec(size=(3, 3)), 200, seed=0).stats()
    none = s.color("none")
    assert none.exit == none.exit_req == 1.0
    assert none.given == pytest.approx(1 / 18) and none.given_req == pytest.approx(1 / 18)
    assert math.isnan(none.phi) and none.mi == 0  # every square is uncoloured
    for row in s.colors[1:]:
        assert row.exits == row.squares == 0 and row.exit == 0 and math.isnan(row.given)
    assert s.decoy_colors[0].requested == 0 and all(r.count == 0 for r in s.decoy_colors)
    assert "none" in str(s)


def test_bad_arguments():
    levels = generate(MazeSpec(size=(3, 3)), 5)
    for kw in ({"confidence": 1.0}, {"confidence": 0}, {"confidence": "high"}, {"blocks": 1}):
        with pytest.raises(ValueError):
            level_stats(levels, **kw)
    with pytest.raises(ValueError, match="unknown colour"):
        levels.stats().color("chartreuse")
