"""Presets: what each correlation knob fixes, measured back from generated streams."""

from __future__ import annotations

import math

import numpy as np
import pytest

import fastmaze as fm


def _phi_mi(n11: float, n10: float, n01: float, n00: float) -> tuple[float, float]:
    """Phi and mutual information (bits) of a 2×2 table, written out by hand."""
    n = n11 + n10 + n01 + n00
    r1, r0, c1, c0 = n11 + n10, n01 + n00, n11 + n01, n10 + n00
    phi = (n11 * n00 - n10 * n01) / math.sqrt(r1 * r0 * c1 * c0)
    mi = sum(
        x / n * math.log2(x * n / (r * c))
        for x, r, c in ((n11, r1, c1), (n10, r1, c0), (n01, r0, c1), (n00, r0, c0))
        if x > 0
    )
    return phi, mi


def _analytic(p: float, K: int, D: int, floor: int) -> dict[str, float]:
    """P(cue | exit), P(exit | cue), phi and MI per level of randomized(p)."""
    cue_exit = 1 - p + p / K
    cue_decoys = p * D / K
    phi, mi = _phi_mi(cue_exit, cue_decoys, 1 - cue_exit, floor - 1 - cue_decoys)
    return {"exit": cue_exit, "given": cue_exit / (cue_exit + cue_decoys), "phi": phi, "mi": mi}


@pytest.mark.parametrize("p", [0.0, 0.02, 0.1, 0.5, 1.0])
def test_randomized_realises_its_analytic_statistics(p: float) -> None:
    spec = fm.randomized(p, size=(5, 5))
    assert isinstance(spec, fm.Mixture)
    levels = fm.generate(spec, 20_000, seed=3)
    row = levels.stats().color("green")
    want = _analytic(p, K=len(spec.palette), D=1, floor=2 * 5 * 5)
    for key in ("exit", "given", "phi", "mi"):
        assert getattr(row, f"{key}_req") == pytest.approx(want[key], rel=1e-9, abs=1e-12)
    assert row.exit == pytest.approx(want["exit"], abs=0.01)
    assert row.given == pytest.approx(want["given"], abs=0.02)
    assert row.phi == pytest.approx(want["phi"], abs=0.02)
    assert row.mi == pytest.approx(want["mi"], rel=0.05, abs=1e-3)
    if 0 < p < 1:  # the realised values also fall inside their own intervals' reach
        assert row.given_lo <= want["given"] <= row.given_hi


def test_randomized_components_and_roles() -> None:
    spec = fm.randomized(0.25, size=4, algorithm="kruskal")
    correlated, randomised = (s for s, _ in spec.components)
    assert [w for _, w in spec.components] == [0.75, 0.25]
    assert correlated == fm.correlated(1.0, size=4, algorithm="kruskal")
    # one placement for both components: where decoys lie must not reveal the component
    assert randomised == fm.decorrelated(size=4, algorithm="kruskal", decoy_placement="anywhere")
    assert fm.randomized(0.1, decoy_placement="off_path").components[0][0].decoy_placement == (
        "off_path"
    )
    levels = fm.generate(spec, 4000, seed=1)
    green = spec.color_code("green")
    i = np.arange(len(levels))
    exit_green = levels.color[i, levels.exit[:, 0], levels.exit[:, 1]] == green
    decoy_green = levels.color[i, levels.decoys[:, 0, 0], levels.decoys[:, 0, 1]] == green
    fixed = levels.component == 0
    assert exit_green[fixed].all() and not decoy_green[fixed].any()
    assert 0.2 < decoy_green[~fixed].mean() * 8 < 2.0  # about 1/8 of randomised decoys
    assert abs(fixed.mean() - 0.75) < 0.01


def test_correlated_never_puts_the_cue_off_the_exit() -> None:
    """correlated(rho) fixes P(cue | exit) = rho; P(exit | cue) stays 1 at every rho > 0."""
    for rho in (0.3, 0.8):
        row = fm.generate(fm.correlated(rho, size=4), 5000, seed=2).stats().color("green")
        assert row.exit == pytest.approx(rho, abs=0.01)
        assert row.given == 1.0 and row.given_req == 1.0


def test_evaluation_presets_place_decoys_off_the_path() -> None:
    for spec in (fm.conflict(size=5), fm.decorrelated(size=5)):
        assert spec.decoy_placement == "off_path"
        assert not fm.solve(fm.generate(spec, 2000, seed=7)).ambiguous.any()
    assert fm.conflict(decoy_placement="anywhere").decoy_placement == "anywhere"
    assert fm.correlated(0.9).decoy_placement == "anywhere"


@pytest.mark.parametrize("bad", [-0.1, 1.5, "0.5", True, math.nan])
def test_randomized_refuses_bad_fractions(bad: object) -> None:
    with pytest.raises(ValueError, match="p:"):
        fm.randomized(bad)  # type: ignore[arg-type]


def test_randomized_refuses_unknown_cue() -> None:
    with pytest.raises(ValueError, match="cue"):
        fm.randomized(0.1, cue="black")
