"""Generation and the oracles over random specs, mixtures, seeds and id ranges: every level
keeps the spec's invariants, the BFS oracles match the slow reference, and level bytes do
not depend on the batch or the thread count."""

from __future__ import annotations

import numpy as np
from hypothesis import assume, given
from hypothesis import strategies as st

import fastmaze as fm
from fastmaze.levels import MAX_ID
from fastmaze.spec import ALGORITHMS
from tests.fuzz.scale import fuzz
from tests.test_generate import check_batch, color_dists, specs
from tests.test_solve import assert_matches_reference

SEEDS = st.one_of(st.integers(0, 2**64 - 1), st.sampled_from([0, 1, 2**63, 2**64 - 1]))
FIRST = st.one_of(st.integers(0, 10**6), st.integers(MAX_ID - 10**6, MAX_ID - 64))


def small(spec: fm.MazeSpec) -> bool:
    return spec.rows * spec.cols <= 400  # the pure-Python checks stay fast


@st.composite
def mixtures(draw: st.DrawFn) -> fm.Mixture:
    first = draw(specs())
    k = draw(st.integers(1, 3))
    palette = first.palette
    comps = [first] + [
        first.replace(
            algorithm=draw(st.sampled_from(ALGORITHMS)),
            loops=draw(st.floats(0.0, 1.0)),
            exit_color=draw(color_dists(palette)),
            decoy_color=draw(color_dists(palette)),
            distractor_color=draw(color_dists(palette)),
        )
        for _ in range(k - 1)
    ]
    weights = draw(st.lists(st.integers(1, 9), min_size=k, max_size=k))
    return fm.Mixture(tuple((s, w / sum(weights)) for s, w in zip(comps, weights, strict=True)))


@fuzz(25)
@given(spec=st.one_of(specs(), mixtures()), seed=SEEDS, first=FIRST, n=st.integers(1, 5))
def test_generated_levels_keep_their_invariants(spec, seed, first, n) -> None:
    if spec.size[0] * spec.size[1] > 1000:
        n = 1
    levels = fm.generate(spec, n, seed=seed, start=first, threads=2)
    check_batch(levels, spec)
    one_by_one = [fm.generate(spec, 1, seed=seed, start=first + i, threads=1) for i in range(n)]
    for name in fm.Levels.ARRAYS:
        joined = np.concatenate([getattr(lv, name) for lv in one_by_one])
        assert joined.tobytes() == getattr(levels, name).tobytes(), name


@fuzz(10)
@given(spec=specs(), seed=SEEDS, first=FIRST, n=st.integers(1, 3))
def test_oracles_match_the_reference(spec, seed, first, n) -> None:
    assume(small(spec))
    levels = fm.generate(spec, n, seed=seed, start=first)
    assert_matches_reference(levels, fm.solve(levels, threads=2))
