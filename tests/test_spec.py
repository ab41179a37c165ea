"""Tests of `MazeSpec` and `Mixture`: validation, exit candidates, serialisation."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import fastmaze
from fastmaze import MazeSpec, Mixture, uniform
from fastmaze.spec import spec_from_dict, spec_to_dict

# -- exit candidates against a hand computation ---------------------------------------------------


def test_exit_candidates_everywhere() -> None:
    # 3 x 4 cells: a 7 x 9 board; one candidate next to every border cell, no corners.
    got = MazeSpec(size=(3, 4)).exit_candidates()
    top = [(0, 1), (0, 3), (0, 5), (0, 7)]
    right = [(1, 8), (3, 8), (5, 8)]
    bottom = [(6, 1), (6, 3), (6, 5), (6, 7)]
    left = [(1, 0), (3, 0), (5, 0)]
    assert len(got) == len(set(got)) == 14
    assert set(got) == set(top + right + bottom + left)


def test_exit_candidates_one_side() -> None:
    got = MazeSpec(size=(4, 2), exit_sides="right").exit_candidates()
    assert sorted(got) == [(1, 4), (3, 4), (5, 4), (7, 4)]


def test_exit_candidates_region_in_a_corner() -> None:
    # 4 x 5 cells (9 x 11 board), the 2 x 2 region at the bottom left: cells (2..3, 0..1).
    spec = MazeSpec(
        size=(4, 5), exit_region=2, exit_corner="bottom_left", exit_sides=("top", "bottom", "left")
    )
    # bottom: cells (3, 0), (3, 1); left: cells (2, 0), (3, 0); top: row 0 is outside.
    assert sorted(spec.exit_candidates()) == [(5, 0), (7, 0), (8, 1), (8, 3)]


def test_exit_candidates_region_of_one_cell() -> None:
    # The top-right cell of 3 x 3 is square (1, 5): it opens up (0, 5) or right (1, 6).
    spec = MazeSpec(size=(3, 3), exit_region=1, exit_corner="top_right")
    assert sorted(spec.exit_candidates()) == [(0, 5), (1, 6)]


def test_exit_candidates_region_wider_than_the_board() -> None:
    # 2 x 5 cells, region 3 at the top left covers both rows: the bottom side qualifies too.
    spec = MazeSpec(size=(2, 5), exit_region=3, exit_corner="top_left", exit_sides="bottom")
    assert sorted(spec.exit_candidates()) == [(4, 1), (4, 3), (4, 5)]


# -- normalisation --------------------------------------------------------------------------------


def test_normalised_fields() -> None:
    spec = MazeSpec(size=5, exit_sides=("left", "top"), exit_color="green", n_decoys=2)
    assert spec.size == (5, 5) and spec.shape == (11, 11)
    assert spec.exit_sides == ("top", "left")
    assert spec.exit_color == (("green", 1.0),)
    assert spec.n_decoys == ((2, 1.0),) and spec.max_decoys == 2
    assert spec == MazeSpec(
        size=(5, 5), exit_sides=["top", "left"], exit_color={"green": 1.0}, n_decoys={2: 1.0}
    )
    assert MazeSpec(exit_color={"none": 0.5, "red": 0.5}).exit_color == ((None, 0.5), ("red", 0.5))


def test_color_codes_follow_the_palette() -> None:
    spec = MazeSpec(palette=("blue", "green"))
    assert spec.color_code(None) == 0
    assert spec.color_code("blue") == 1 and spec.color_code("green") == 2
    with pytest.raises(ValueError, match="unknown colour 'red'"):
        spec.color_code("red")


def test_uniform() -> None:
    assert uniform(["red", "green"]) == {"red": 0.5, "green": 0.5}
    with pytest.raises(ValueError, match="at least one colour"):
        uniform([])


# -- serialisation --------------------------------------------------------------------------------

SPECS = [
    MazeSpec(),
    MazeSpec(size=(3, 7), algorithm="wilson", loops=0.25),
    MazeSpec(size=(3, 7), algorithm="wilson", loops=0.3),
    MazeSpec(start="top_left", exit_sides=("bottom",)),
    MazeSpec(min_distance=5),
    MazeSpec(exit_region=2, exit_corner="bottom_right"),
    MazeSpec(exit_region=2, exit_corner="top_right"),
    MazeSpec(exit_color={"green": 0.9, "red": 0.1}),
    MazeSpec(exit_color={"green": 0.95, "red": 0.05}),
    MazeSpec(exit_color={"green": 0.9, None: 0.1}),
    MazeSpec(n_decoys={1: 0.5, 2: 0.5}, decoy_color=uniform(["red", "green", "blue"])),
    MazeSpec(n_distractors=3, distractor_color="yellow"),
    MazeSpec(palette=("green", "red"), exit_color="green"),
    MazeSpec(palette=("red", "green"), exit_color="green"),
]


@pytest.mark.parametrize("spec", SPECS, ids=range(len(SPECS)))
def test_dict_round_trip(spec: MazeSpec) -> None:
    d = spec.to_dict()
    assert MazeSpec.from_dict(d) == spec
    # Through JSON text too (lists for tuples, null for None).
    again = MazeSpec.from_dict(json.loads(json.dumps(d)))
    assert again == spec and again.digest() == spec.digest()
    assert spec_from_dict(json.loads(json.dumps(spec_to_dict(spec)))) == spec


def test_mixture_round_trip() -> None:
    mix = Mixture.of((SPECS[7], 0.98), (SPECS[8], 0.02))
    d = json.loads(json.dumps(mix.to_dict()))
    assert Mixture.from_dict(d) == mix
    assert spec_from_dict(json.loads(json.dumps(spec_to_dict(mix)))) == mix
    assert Mixture.from_dict(d).digest() == mix.digest()


def test_digests_differ_between_specs() -> None:
    digests = [s.digest() for s in SPECS]
    assert len(set(digests)) == len(SPECS)
    assert all(len(d) == 16 and int(d, 16) >= 0 for d in digests)
    mix = Mixture.of((SPECS[7], 0.5), (SPECS[8], 0.5))
    assert mix.digest() not in digests
    assert mix.digest() != Mixture.of((SPECS[7], 0.6), (SPECS[8], 0.4)).digest()
    # A single spec and the one-component mixture of it are different objects, different names.
    assert Mixture.of((SPECS[0], 1.0)).digest() != SPECS[0].digest()


def test_digest_is_stable_across_processes() -> None:
    """The digest names files and caches: no hash randomisation, no dict-order dependence."""
    root = str(Path(fastmaze.__file__).resolve().parent.parent)
    code = (
        "import json, sys; from fastmaze.spec import spec_from_dict; "
        "print(spec_from_dict(json.loads(sys.argv[1])).digest())"
    )
    spec = SPECS[10]
    out = set()
    for hash_seed in ("0", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        env["PYTHONPATH"] = os.pathsep.join([root, env.get("PYTHONPATH", "")])
        res = subprocess.run(
            [sys.executable, "-c", code, json.dumps(spec_to_dict(spec))],
            env=env,
            cwd=root,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        out.add(res.stdout.strip())
    assert out == {spec.digest()}
    assert spec.digest() == spec.digest() == MazeSpec.from_dict(spec.to_dict()).digest()


def test_replace() -> None:
    spec = MazeSpec(size=(4, 4), exit_color="green", n_decoys=1)
    bigger = spec.replace(size=(8, 9))
    assert bigger.size == (8, 9) and bigger.exit_color == spec.exit_color
    assert bigger.n_decoys == spec.n_decoys and spec.size == (4, 4)
    assert spec.replace() == spec
    assert spec.replace(exit_color={"green": 0.5, "red": 0.5}).exit_color == (
        ("green", 0.5),
        ("red", 0.5),
    )
    # Validated again.
    with pytest.raises(ValueError, match="size"):
        spec.replace(size=1)
    with pytest.raises(ValueError, match="min_distance needs start='random'"):
        spec.replace(min_distance=3, start="top_left")
    with pytest.raises(ValueError, match="unknown MazeSpec fields: colour"):
        spec.replace(colour="green")


# -- bad input ----------------------------------------------------------------------------------

BAD_SPECS = [
    ({"size": 1}, r"size: expected rows in 2\.\.127 cells, got 1$"),
    ({"size": 128}, r"size: expected rows in 2\.\.127 cells, got 128$"),
    ({"size": (6, 128)}, r"size: expected cols in 2\.\.127 cells, got 128"),
    ({"size": (0, 6)}, r"size: expected rows in .*, got 0"),
    ({"size": (2.5, 6)}, r"size: expected \(rows, cols\)"),
    ({"size": 6.5}, r"size: expected \(rows, cols\)"),
    ({"size": "66"}, r"size: expected \(rows, cols\)"),
    ({"size": (6, 6, 6)}, r"size: expected \(rows, cols\)"),
    ({"size": (True, 6)}, r"size: expected \(rows, cols\)"),
    ({"size": None}, r"size: expected \(rows, cols\)"),
    ({"algorithm": "eller"}, r"algorithm: expected one of 'backtracker', .*, got 'eller'"),
    ({"loops": -0.1}, r"loops: -0\.1 is not a fraction in \[0, 1\]"),
    ({"loops": 1.5}, r"loops: 1\.5 is not a fraction"),
    ({"loops": float("nan")}, r"loops: nan is not a fraction"),
    ({"loops": "0.5"}, r"loops: expected a fraction"),
    ({"loops": True}, r"loops: expected a fraction"),
    ({"exit_color": {"green": 0.5, "red": 0.4}}, r"exit_color: probabilities sum to 0\.9"),
    ({"exit_color": {"green": 0.7, "red": 0.7}}, r"exit_color: probabilities sum to 1\.4"),
    (
        {"exit_color": {"green": 1.5, "red": -0.5}},
        r"exit_color: probability of 'green': expected a finite number in \[0, 1\], got 1\.5",
    ),
    (
        {"decoy_color": {"green": -0.2, "red": 1.2}},
        r"decoy_color: probability of 'green': expected .*, got -0\.2",
    ),
    (
        {"exit_color": {"green": float("nan")}},
        r"exit_color: probability of 'green': expected .*, got nan",
    ),
    ({"exit_color": {"green": "1"}}, r"exit_color: probability of 'green': expected .*, got '1'"),
    ({"exit_color": {}}, r"exit_color: the distribution is empty"),
    ({"exit_color": "chartreuse"}, r"exit_color: unknown colour 'chartreuse'"),
    ({"decoy_color": {"green": 0.5, "teal": 0.5}}, r"decoy_color: unknown colour 'teal'"),
    ({"distractor_color": 3}, r"distractor_color: expected a colour name, None, or a mapping"),
    ({"exit_color": {None: 0.5, "none": 0.5}}, r"exit_color: a colour is listed twice"),
    (
        {"palette": ("green", "chartreuse")},
        r"palette: expected a sequence of distinct names from red, .*, got",
    ),
    (
        {"palette": ("green", "green")},
        r"palette: expected a sequence of distinct names from red, .*, got",
    ),
    ({"palette": ()}, r"palette: expected a sequence of distinct names from red, .*, got"),
    ({"n_decoys": -1}, r"n_decoys: counts must be non-negative integers, got -1"),
    ({"n_decoys": 1.5}, r"n_decoys: counts must be non-negative integers, got 1\.5"),
    ({"n_decoys": {1: 0.5, 2: 0.6}}, r"n_decoys: probabilities sum to 1\.1"),
    ({"n_distractors": True}, r"n_distractors: counts must be non-negative integers"),
    ({"size": 3, "n_decoys": 5, "n_distractors": 4}, r"up to 9 objects plus the start need 10"),
    ({"size": 2, "n_decoys": {0: 0.9, 4: 0.1}}, r"up to 4 objects plus the start need 5 .* has 4"),
    ({"size": 2, "n_decoys": 2, "n_distractors": {0: 0.5, 2: 0.5}}, r"need 5 distinct cells"),
    (
        {"min_distance": 17},
        r"min_distance: 17 steps cannot be guaranteed on a 6x6 maze; at most 16",
    ),
    ({"size": (3, 9), "min_distance": 14}, r"min_distance: 14 .* 3x9 maze; at most 13"),
    ({"min_distance": -1}, r"min_distance: expected a non-negative integer, got -1"),
    ({"min_distance": 2.0}, r"min_distance: expected a non-negative integer"),
    ({"min_distance": 3, "start": "top_left"}, r"min_distance needs start='random'"),
    ({"start": "middle"}, r"start: expected one of 'random', .*, got 'middle'"),
    ({"exit_sides": ()}, r"exit_sides: expected a side or distinct sides from .*, got tuple \(\)"),
    ({"exit_sides": ("up",)}, r"exit_sides: expected a side .*, got tuple \('up',\)"),
    ({"exit_sides": ("top", "top")}, r"exit_sides: expected a side or distinct sides"),
    ({"exit_corner": "centre"}, r"exit_corner: expected one of .*, got 'centre'"),
    ({"exit_region": 0}, r"exit_region: expected an integer in 1\.\.6, got 0"),
    ({"exit_region": 7}, r"exit_region: expected an integer in 1\.\.6, got 7"),
    ({"exit_region": 1.0}, r"exit_region: expected an integer in 1\.\.6, got 1\.0"),
    (
        {"exit_region": 1, "exit_corner": "top_right", "exit_sides": ("bottom", "left")},
        r"no border square fits exit_sides=\('bottom', 'left'\) with exit_region=1 at top_right",
    ),
    (
        {"exit_region": 2, "exit_corner": "bottom_left", "exit_sides": "top"},
        r"no border square fits",
    ),
]


@pytest.mark.parametrize(("kwargs", "match"), BAD_SPECS, ids=lambda v: repr(v)[:50])
def test_bad_spec_raises_value_error(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        MazeSpec(**kwargs)


def test_largest_min_distance_and_objects_accepted() -> None:
    """The limits in the messages above are themselves valid."""
    assert MazeSpec(min_distance=16).min_distance == 16
    assert MazeSpec(size=(3, 9), min_distance=13).min_distance == 13
    assert MazeSpec(size=2, n_decoys=2, n_distractors=1).max_decoys == 2
    assert MazeSpec(size=(127, 2), exit_region=127).exit_region == 127


def test_from_dict_rejects_unknown_fields() -> None:
    d = MazeSpec().to_dict()
    d["colour"] = "green"
    with pytest.raises(ValueError, match="unknown MazeSpec fields: colour"):
        MazeSpec.from_dict(d)
    with pytest.raises(ValueError, match="spec kind: expected 'spec' or 'mixture', got 'maze'"):
        spec_from_dict({"kind": "maze"})


BAD_MIXTURES = [
    (
        lambda: Mixture.of((MazeSpec(size=6), 0.5), (MazeSpec(size=7), 0.5)),
        r"Mixture: all components must share size and palette",
    ),
    (
        lambda: Mixture.of((MazeSpec(), 0.5), (MazeSpec(palette=("red", "green")), 0.5)),
        r"Mixture: all components must share size and palette",
    ),
    (lambda: Mixture.of((MazeSpec(), 0.5), (MazeSpec(), 0.4)), r"Mixture weights: .* sum to 0\.9"),
    (
        lambda: Mixture.of((MazeSpec(), 1.5), (MazeSpec(), -0.5)),
        r"components\[0\] weight: expected a finite number in \[0, 1\], got 1\.5",
    ),
    (
        lambda: Mixture.of(),
        r"Mixture.components: expected a non-empty sequence of \(spec, weight\), got tuple \(\)",
    ),
    (
        lambda: Mixture.of(("spec", 1.0)),
        r"Mixture.components\[0\] spec: expected a MazeSpec, got 'spec'",
    ),
]


@pytest.mark.parametrize(("make", "match"), BAD_MIXTURES, ids=range(len(BAD_MIXTURES)))
def test_bad_mixture_raises_value_error(make, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make()


def test_mixture_properties() -> None:
    a = MazeSpec(size=(4, 5), n_decoys=1)
    b = MazeSpec(size=(4, 5), n_decoys={0: 0.5, 3: 0.5})
    mix = Mixture.of((a, 0.25), (b, 0.75))
    assert mix.size == (4, 5) and mix.shape == (9, 11)
    assert mix.max_decoys == 3 and mix.palette == a.palette
    assert mix.components == ((a, 0.25), (b, 0.75))
    assert a.components == ((a, 1.0),)
