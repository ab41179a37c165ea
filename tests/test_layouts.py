"""Tests of fastmaze.layouts: shared layouts between batches, confirmed byte for byte."""

from __future__ import annotations

import numpy as np
import pytest

from fastmaze import MazeSpec, generate
from fastmaze.layouts import assert_disjoint, shared_layouts
from fastmaze.levels import Levels

BIG = MazeSpec(size=(6, 6), algorithm="wilson")
TINY = MazeSpec(size=(2, 2))  # 4 spanning trees × 8 exits: collisions are certain


def brute_force(a: Levels, b: Levels) -> np.ndarray:
    same = (a.grid[:, None] == b.grid[None]).all(axis=(2, 3))
    return np.argwhere(same).astype(np.int64)


def test_identical_batches_share_every_level():
    a = generate(BIG, 500, seed=1)
    b = generate(BIG, 500, seed=1)
    pairs = shared_layouts(a, b)
    assert pairs.dtype == np.int64 and pairs.shape == (500, 2)
    assert np.array_equal(pairs, np.repeat(np.arange(500), 2).reshape(500, 2))
    with pytest.raises(ValueError, match="a id 0 = b id 0, a id 1 = b id 1"):
        assert_disjoint(a, b)


def test_tiny_mazes_collide_across_disjoint_id_ranges():
    a = generate(TINY, 300, seed=0, start=0)
    b = generate(TINY, 200, seed=0, start=1000)
    pairs = shared_layouts(a, b)
    expected = brute_force(a, b)
    assert len(expected) > 1000
    assert np.array_equal(pairs, expected)
    assert (a.grid[pairs[:, 0]] == b.grid[pairs[:, 1]]).all()
    i, j = expected[0]
    with pytest.raises(ValueError, match=f"a id {a.ids[i]} = b id {b.ids[j]}"):
        assert_disjoint(a, b)


def test_hash_collisions_are_rejected(monkeypatch):
    """With every hash equal, only the byte comparison separates layouts."""
    a = generate(TINY, 120, seed=3)
    b = generate(TINY, 90, seed=4, start=500)
    monkeypatch.setattr(
        Levels, "layout_hash", lambda self, threads=None: np.zeros(len(self), np.uint64)
    )
    assert np.array_equal(shared_layouts(a, b), brute_force(a, b))
    c = generate(BIG, 50, seed=0)
    d = generate(BIG, 60, seed=0, start=50)
    assert shared_layouts(c, d).shape == (0, 2)
    assert_disjoint(c, d)


def test_disjoint_batches_and_degenerate_inputs():
    a = generate(BIG, 2000, seed=7)
    b = generate(BIG, 500, seed=7, start=2000)
    assert shared_layouts(a, b).shape == (0, 2)
    assert_disjoint(a, b)
    assert shared_layouts(a[:0], b).shape == (0, 2)
    assert shared_layouts(a, generate(TINY, 10)).shape == (0, 2)  # other board shape
    assert_disjoint(a, b[:0])
    # Colours and objects do not matter, walls and the exit opening do.
    recoloured = generate(BIG.replace(exit_color="green", n_decoys=2), 100, seed=7)
    assert len(shared_layouts(a[:100], recoloured)) == 100
