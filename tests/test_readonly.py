"""Every public function that takes levels works on a loaded, memory-mapped (read-only) batch
and gives the same answer as on the in-memory batch it was saved from."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import fastmaze as fm
from fastmaze import render, rules
from fastmaze.levels import Levels

SPEC = fm.MazeSpec(
    size=(5, 6),
    exit_color={"green": 0.5, "red": 0.5},
    n_decoys={0: 0.3, 1: 0.4, 2: 0.3},
    decoy_color={"green": 0.5, "blue": 0.5},
    n_distractors=1,
    distractor_color="yellow",
    exit_region=2,
    exit_sides=("top", "right"),
)


@rules.feature
def exit_on_top(grid, color, start, exit, decoys, n_decoys):
    return exit[0] == 0


@pytest.fixture(scope="module")
def batches(tmp_path_factory: pytest.TempPathFactory) -> tuple[Levels, Levels]:
    levels = fm.generate(SPEC, 40, seed=3)
    path = tmp_path_factory.mktemp("readonly") / "levels.fmz"
    fm.save(levels, path)
    loaded = fm.load(path)
    assert all(not getattr(loaded, a).flags.writeable for a in Levels.ARRAYS)
    assert isinstance(loaded.grid, np.memmap)
    return levels, loaded


def _same(a: Any, b: Any) -> None:
    if isinstance(a, np.ndarray):
        np.testing.assert_array_equal(a, b)
    elif isinstance(a, tuple):
        for x, y in zip(a, b, strict=True):
            _same(x, y)
    elif isinstance(a, Levels):
        for name in Levels.ARRAYS:
            np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    elif isinstance(a, fm.Oracles):
        for name in a.__dataclass_fields__:
            np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    elif isinstance(a, fm.Rollout):
        for name in a.__dataclass_fields__:
            np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    elif isinstance(a, fm.Stats):
        assert json.dumps(a.to_dict()) == json.dumps(b.to_dict())  # NaN-safe
    else:
        assert a == b


def _actions(n: int) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 4, (n, 12))


CALLS: dict[str, Callable[[Levels], Any]] = {
    "Levels.layout_hash": lambda lv: lv.layout_hash(),
    "Levels.__getitem__": lambda lv: lv[np.arange(0, 40, 3)],
    "Levels.compute": lambda lv: lv.compute(exit_on_top),
    "Levels.stats": lambda lv: lv.stats(),
    "level_stats": lambda lv: fm.level_stats(lv, features=[exit_on_top]),
    "solve": lambda lv: fm.solve(lv),
    "shortest_paths": lambda lv: fm.shortest_paths(lv),
    "render.symbolic": lambda lv: render.symbolic(lv, reveal_exit=True),
    "render.rgb": lambda lv: render.rgb(lv, pixels=2),
    "render.ascii": lambda lv: render.ascii(lv, 7),
    "render.png_grid": lambda lv: render.png_grid(lv, [0, 5], pixels=2),
    "Levels.symbolic": lambda lv: lv.symbolic(),
    "Levels.rgb": lambda lv: lv.rgb(pixels=1),
    "Levels.ascii": lambda lv: lv.ascii(3),
    "swap_colors": lambda lv: fm.swap_colors(lv),
    "remove_cue": lambda lv: fm.remove_cue(lv, "green"),
    "move_exit": lambda lv: fm.move_exit(lv),
    "rollout": lambda lv: fm.rollout(lv, _actions(len(lv))),
    "shared_layouts": lambda lv: fm.shared_layouts(lv, lv[:10]),
}


@pytest.mark.parametrize("name", list(CALLS))
def test_public_function_accepts_a_loaded_batch(name: str, batches) -> None:
    levels, loaded = batches
    _same(CALLS[name](levels), CALLS[name](loaded))


def test_assert_disjoint_on_loaded_batches(batches, tmp_path: Path) -> None:
    levels, loaded = batches
    other = fm.generate(SPEC, 40, seed=4)
    fm.save(other, tmp_path / "other.fmz")
    fm.assert_disjoint(loaded, fm.load(tmp_path / "other.fmz"))  # no overlap: no error
    with pytest.raises(fm.OverlapError, match="share layouts") as err:
        fm.assert_disjoint(loaded, levels)
    assert err.value.pairs.shape[1] == 2 and len(err.value.pairs)


def test_save_png_and_save_from_a_loaded_batch(batches, tmp_path: Path) -> None:
    _, loaded = batches
    render.save_png(loaded, tmp_path / "a.png", [0, 1])
    loaded.save_png(tmp_path / "b.png", [0, 1])
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()
    fm.save(loaded, tmp_path / "again.fmz")
    _same(fm.load(tmp_path / "again.fmz"), loaded)


def test_twins_of_a_loaded_batch_are_the_callers(batches) -> None:
    """A twin of a read-only batch is an ordinary writeable batch: what is handed over is
    the caller's to change."""
    _, loaded = batches
    twin = fm.swap_colors(loaded)
    assert twin.color.flags.writeable
    twin.color[0, 0, 0] = 1
