"""User features and rules (fastmaze.rules): hand-built boards, invariants, determinism,
conditioning, bad input, the JIT-disabled path and the one-place-for-JIT-flags lint."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import fastmaze as fm
from fastmaze import examples as ex
from fastmaze.rng.numpy_port import mix64_int as _mix64_int
from fastmaze.rules import INVARIANTS, applies, apply_rules

PACKAGE = Path(fm.__file__).resolve().parent  # the fastmaze under test
MASK = (1 << 64) - 1

#   #####      S start (1, 1); E exit (3, 4); the decoy is set per test
#   #S..#
#   #.###
#   #...E
#   #####
BOARD = np.array(
    [[1, 1, 1, 1, 1], [1, 0, 0, 0, 1], [1, 0, 1, 1, 1], [1, 0, 0, 0, 0], [1, 1, 1, 1, 1]],
    np.uint8,
)
SMALL = fm.MazeSpec(size=(2, 2), n_decoys=1)


def board(decoy: tuple[int, int] = (1, 3), exit_top: bool = False, seed: int = 0) -> fm.Levels:
    """One hand-built 2x2 level; ``exit_top`` moves the exit to (0, 3)."""
    lv = fm.Levels.empty(SMALL, seed, np.array([5], np.int64))
    lv.grid[0] = BOARD
    lv.color[0] = 0
    lv.start[0] = (1, 1)
    lv.exit[0] = (3, 4)
    if exit_top:
        lv.grid[0, 3, 4], lv.grid[0, 0, 3] = 1, 0
        lv.exit[0] = (0, 3)
    lv.decoys[0, 0] = decoy
    lv.n_decoys[0] = 1
    lv.component[0] = 0
    return lv


def run_rules(spec: fm.MazeSpec, lv: fm.Levels) -> None:
    apply_rules(spec, lv.seed, *(getattr(lv, a) for a in fm.Levels.ARRAYS), 1)


@fm.feature
def exit_is_green(grid, color, start, exit, decoys, n_decoys):
    return color[exit[0], exit[1]] == 2


@fm.feature
def returns_tuple(grid, color, start, exit, decoys, n_decoys):
    return exit[0], exit[1]


@fm.rule
def close_exit(grid, color, start, exit, decoys, n_decoys, rng):
    grid[exit[0], exit[1]] = 1


@fm.rule
def bad_colour(grid, color, start, exit, decoys, n_decoys, rng):
    color[start[0], start[1]] = 200


@fm.rule
def blue_exit(grid, color, start, exit, decoys, n_decoys, rng):
    color[exit[0], exit[1]] = 3


# -- hand-computed features and rules --------------------------------------------------------
def test_features_on_a_hand_built_board() -> None:
    lv = board()
    assert lv.compute(ex.exit_next_to_dead_end).tolist() == [True]
    assert lv.compute(ex.exit_corridor_length).tolist() == [3]  # (3,3), (3,2), (3,1)
    assert lv.compute(ex.decoy_near_start).tolist() == [True]  # (1,3) is 2 steps away
    assert lv.compute(ex.steps_to_exit).tolist() == [5]
    assert board(decoy=(3, 3)).compute(ex.decoy_near_start).tolist() == [False]  # 4 steps
    top = board(exit_top=True)
    assert top.compute(ex.exit_next_to_dead_end).tolist() == [True]
    assert top.compute(ex.exit_corridor_length).tolist() == [1]
    assert top.compute(ex.steps_to_exit).tolist() == [3]
    assert lv.compute(ex.exit_corridor_length).dtype == np.int64
    assert lv.compute(ex.decoy_near_start).dtype == np.bool_


def test_paint_rule_on_a_hand_built_board() -> None:
    lv = board()
    run_rules(SMALL.replace(rules=(ex.paint_exit_neighbours_blue,)), lv)
    painted = sorted(map(tuple, np.argwhere(lv.color[0] == ex.BLUE).tolist()))
    assert painted == [(3, 2), (3, 3)]
    np.testing.assert_array_equal(lv.grid[0], BOARD)


def test_move_rule_draws_from_the_level_stream() -> None:
    """Dead-end cells: (1,3) (opened by (0,3) and (1,4)) and (3,3) ((3,4), (4,3)), in
    candidate order top, right, bottom, left; the pick is fm_below(stream 16, 4)."""
    candidates = [(0, 3), (1, 4), (3, 4), (4, 3)]
    for seed in range(6):
        lv = board(seed=seed)
        run_rules(SMALL.replace(rules=(ex.move_exit_next_to_dead_end,)), lv)
        key = _mix64_int(seed ^ ((16 * 0xD1B54A32D192ED03) & MASK))
        s = _mix64_int((key + 5 * 0x9E3779B97F4A7C15) & MASK)
        draw = _mix64_int((s + 0x9E3779B97F4A7C15) & MASK)
        want = candidates[((draw & 0xFFFFFFFF) * 4) >> 32]
        assert tuple(lv.exit[0].tolist()) == want
        ring = np.ones((5, 5), bool)
        ring[1:-1, 1:-1] = False
        assert (lv.grid[0][ring] == 0).sum() == 1 and lv.grid[0][want] == 0


def test_rng_mirrors_the_core() -> None:
    from fastmaze.twins import twin_below

    ids = np.arange(50, 250)
    states = fm.rng.for_levels(9, ids, 3)  # FM_STREAM_TWIN: twin_below's stream
    got = [fm.rng.below(states[i], 1000) for i in range(len(ids))]
    np.testing.assert_array_equal(got, twin_below(9, ids, np.full(len(ids), 1000)))


# -- generation with rules -------------------------------------------------------------------
SPEC = fm.correlated(0.9).replace(
    rules=(fm.with_probability(ex.move_exit_next_to_dead_end, 0.5), ex.paint_exit_neighbours_blue)
)


def test_invariants_and_conditioned_shortcut() -> None:
    lv = fm.generate(SPEC, 2000, seed=3)
    base = fm.generate(SPEC.replace(rules=()), 2000, seed=3)
    np.testing.assert_array_equal(lv.start, base.start)
    fm.solve(lv)  # start, exit, decoys on floor
    assert (fm.solve(lv).path_length > 0).all()
    rate = base.compute(ex.exit_next_to_dead_end).mean()
    got = lv.compute(ex.exit_next_to_dead_end).mean()
    assert abs(got - (0.5 + 0.5 * rate)) < 0.03
    H, W = lv.shape
    ring = np.ones((H, W), bool)
    ring[1:-1, 1:-1] = False
    assert ((lv.grid[:, ring] == 0).sum(axis=1) == 1).all()


def test_determinism_across_batches_chunks_threads_and_env() -> None:
    a = fm.generate(SPEC, 1500, seed=7, threads=2)
    b = fm.generate(SPEC, 1000, seed=7, start=500, chunk=333, threads=1)
    for name in ("grid", "color", "start", "exit", "decoys"):
        np.testing.assert_array_equal(getattr(a, name)[500:], getattr(b, name))
    v2 = a.compute(ex.exit_corridor_length, threads=2)
    np.testing.assert_array_equal(v2[500:], b.compute(ex.exit_corridor_length, threads=1))
    env = fm.VecMazeEnv(SPEC, num_envs=16, seed=7)
    env.reset()
    np.testing.assert_array_equal(env.levels.grid, a.grid[:16])
    np.testing.assert_array_equal(env.levels.exit, a.exit[:16])


@pytest.mark.parametrize("p", [0.1, 0.37, 0.9])
def test_realised_probability_within_one_point(p: float) -> None:
    for first in (0, 123_457, 10**12):
        ids = np.arange(first, first + 20_000)
        for k in (0, 1):
            hit = applies(11, ids, k, p).reshape(-1, 1000).mean(axis=1)
            assert np.abs(hit - p).max() <= 0.01
    spec = fm.MazeSpec(rules=(fm.with_probability(blue_exit, p),))
    lv = fm.generate(spec, 3000, seed=2, start=777)
    blue = lv.color[np.arange(3000), lv.exit[:, 0], lv.exit[:, 1]] == 3
    assert np.abs(blue.reshape(3, 1000).mean(axis=1) - p).max() <= 0.01


def test_broken_rule_is_reported_with_level_ids() -> None:
    spec = fm.MazeSpec(rules=(fm.with_probability(close_exit, 0.5),))
    first = int(np.flatnonzero(applies(0, np.arange(100, 200), 0, 0.5))[0]) + 100
    with pytest.raises(ValueError, match=rf"close_exit broke .* level id\(s\) {first}, ") as e:
        fm.generate(spec, 100, seed=0, start=100)
    assert INVARIANTS[3] in str(e.value)
    with pytest.raises(ValueError, match=r"bad_colour .* colour code is outside the palette"):
        fm.generate(fm.MazeSpec(rules=(bad_colour,)), 10)


# -- stats, evaluate, serialisation ----------------------------------------------------------
def test_stats_and_evaluate_report_features() -> None:
    lv = fm.generate(fm.correlated(0.8), 2000, seed=1)
    st = lv.stats(features=[exit_is_green, ex.exit_corridor_length])
    row = st.features[0]
    assert row.name == "exit_is_green" and row.corr == pytest.approx(1.0)
    assert abs(row.mean - 0.8) < 0.01 and row.mean_lo < row.mean < row.mean_hi
    assert "exit_corridor_length" in str(st)
    ev = fm.evaluate("oracle", fm.conflict(), 200, features=[ex.decoy_near_start])
    groups = {r["group"]: r["episodes"] for r in ev.rows()}
    assert groups["decoy_near_start"] + groups["not decoy_near_start"] == 200
    with pytest.raises(ValueError, match="boolean features"):
        fm.evaluate("oracle", fm.conflict(), 10, features=[ex.exit_corridor_length])


def test_spec_serialisation() -> None:
    d = SPEC.to_dict()
    digest = ex.move_exit_next_to_dead_end.digest
    assert d["rules"][0] == {
        "rule": "fastmaze.examples:move_exit_next_to_dead_end",
        "p": 0.5,
        "digest": digest,
    }
    assert fm.MazeSpec.from_dict(json.loads(json.dumps(d))) == SPEC
    assert hash(SPEC) == hash(fm.MazeSpec.from_dict(d))
    assert "rules" not in fm.MazeSpec().to_dict()  # digests of rule-free specs unchanged
    assert SPEC.digest() != SPEC.replace(rules=()).digest()
    d["rules"] = [{"rule": "no_such_module:r", "p": 1.0}]
    with pytest.raises(ValueError, match="cannot be re-imported"):
        fm.MazeSpec.from_dict(d)


# -- bad input -------------------------------------------------------------------------------
def test_bad_input() -> None:
    lv = board()
    with pytest.raises(ValueError, match="must return one number"):
        lv.compute(returns_tuple)
    with pytest.raises(ValueError, match=r"decorated with @fastmaze\.feature"):
        lv.compute(lambda *a: 1)
    with pytest.raises(ValueError, match="a feature takes"):
        fm.feature(lambda grid: 1)
    with pytest.raises(ValueError, match="a rule takes"):
        fm.rule(lambda grid, color: None)
    with pytest.raises(ValueError, match=r"not a fastmaze rule .*decorate it"):
        fm.MazeSpec(rules=(lambda *a: None,))
    with pytest.raises(ValueError, match="not a fastmaze rule"):
        fm.MazeSpec(rules=(ex.exit_corridor_length,))
    with pytest.raises(ValueError, match="probability"):
        fm.with_probability(blue_exit, 1.5)


# -- JIT disabled, numba missing, flags in one place -----------------------------------------
SCRIPT = """
import json, numpy as np, fastmaze as fm
from fastmaze import examples as ex
spec = fm.correlated(0.9).replace(
    rules=(fm.with_probability(ex.move_exit_next_to_dead_end, 0.5), ex.paint_exit_neighbours_blue))
lv = fm.generate(spec, 60, seed=4)
print(json.dumps([lv.exit.tolist(), int(lv.color.sum()),
                  lv.compute(ex.exit_corridor_length).tolist(),
                  lv.compute(ex.decoy_near_start).tolist()]))
"""


def test_runs_with_jit_disabled() -> None:
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1"}
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, check=True
    )
    lv = fm.generate(SPEC, 60, seed=4)
    want = [
        lv.exit.tolist(),
        int(lv.color.sum()),
        lv.compute(ex.exit_corridor_length).tolist(),
        lv.compute(ex.decoy_near_start).tolist(),
    ]
    assert json.loads(out.stdout) == want


def test_import_without_numba() -> None:
    code = (
        "import sys; sys.modules['numba'] = None\n"
        "import fastmaze as fm; fm.generate(fm.MazeSpec(), 4)\n"
        "try:\n    fm.feature(lambda grid, color, start, exit, decoys, n_decoys: 1)\n"
        "except ImportError as e:\n    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "fastmaze[numba]" in out.stdout


def test_no_kernel_hard_codes_jit_flags() -> None:
    # Package modules take their decorators from fastmaze.jit; the CUDA kernels are built
    # with a decorator made from fastmaze.cuda.config, so there only literal flags count.
    anything = re.compile(r"njit\(|numba\.jit\b|@jit\(|@jit$|(cache|fastmath|parallel)\s*=")
    literal_flags = re.compile(r"(cache|fastmath|parallel|nogil|error_model)\s*=")
    files = [(p, anything) for p in PACKAGE.glob("*.py") if p.name != "jit.py"]
    files += [(p, literal_flags) for p in (PACKAGE / "cuda").glob("*.py") if p.name != "config.py"]
    offenders = [
        f"{path.relative_to(PACKAGE)}:{n}"
        for path, pattern in sorted(files)
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if pattern.search(line)
    ]
    assert not offenders, f"JIT flags belong in jit.py / cuda/config.py: {offenders}"
