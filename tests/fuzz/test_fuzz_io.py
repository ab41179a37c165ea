"""Damaged and forged level files: `fastmaze.load` either refuses them with its one error
type (ValueError naming the file) or returns exactly the levels that were saved; it never
raises anything else and never imports anything."""

from __future__ import annotations

import json
import struct
import sys
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fastmaze as fm
from fastmaze import io
from tests.fuzz.scale import fuzz

PREAMBLE = struct.Struct("<8sIQI")
SPEC = fm.MazeSpec(
    size=(3, 4), exit_color={"green": 0.5, "red": 0.5}, n_decoys={0: 0.5, 2: 0.5},
    decoy_color="red",
)  # fmt: skip
LEVELS = fm.generate(SPEC, 7, seed=5, start=40)


@pytest.fixture(scope="module")
def original(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("fuzz_io") / "levels.fmz"
    io.save(LEVELS, path)
    return path.read_bytes()


def _load_or_refuse(path: Path, mmap: bool = False) -> fm.Levels | None:
    modules = set(sys.modules)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", io.UnrestoredRulesWarning)
            levels = io.load(path, mmap=mmap)
    except ValueError as err:
        assert type(err) is ValueError and str(path) in str(err)
        levels = None
    assert set(sys.modules) == modules, "loading a file imported a module"
    return levels


def _assert_intact(levels: fm.Levels) -> None:
    assert levels.spec == SPEC and levels.seed == 5
    for name in fm.Levels.ARRAYS:
        assert getattr(levels, name).tobytes() == getattr(LEVELS, name).tobytes(), name


@fuzz(60)
@given(data=st.data(), mmap=st.booleans())
def test_damaged_files_are_refused_or_intact(original, tmp_path_factory, data, mmap) -> None:
    raw = bytearray(original)
    kind = data.draw(st.sampled_from(["flip", "truncate", "append", "splice"]))
    if kind == "flip":
        for at in data.draw(st.lists(st.integers(0, len(raw) - 1), min_size=1, max_size=4)):
            raw[at] ^= data.draw(st.integers(1, 255))
    elif kind == "truncate":
        raw = raw[: data.draw(st.integers(0, len(raw) - 1))]
    elif kind == "append":
        raw += data.draw(st.binary(min_size=1, max_size=200))
    else:
        at = data.draw(st.integers(0, len(raw)))
        raw[at : at + data.draw(st.integers(0, 64))] = data.draw(st.binary(max_size=64))
    path = tmp_path_factory.mktemp("damaged") / "levels.fmz"
    path.write_bytes(bytes(raw))
    levels = _load_or_refuse(path, mmap)
    if levels is not None:
        _assert_intact(levels)  # the damage missed everything that matters (e.g. padding)


SCALARS = (
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=8)
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=8,
)


def _nodes(obj, path=()):
    yield path
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _nodes(v, (*path, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _nodes(v, (*path, i))


def _forge(raw: bytes, meta: dict) -> bytes:
    """The file with its header replaced by ``meta`` (a valid checksum): the arrays stay in
    place if the new header fits before them, else the header overwrites their start."""
    _, _, length, _ = PREAMBLE.unpack(raw[: PREAMBLE.size])
    text = json.dumps(meta).encode().ljust(length)
    body = raw[PREAMBLE.size + len(text) :]
    return PREAMBLE.pack(b"FASTMAZE", 1, len(text), zlib.crc32(text)) + text + body


@fuzz(80)
@given(data=st.data())
def test_forged_headers_are_refused_with_one_error_type(original, tmp_path_factory, data):
    _, _, length, _ = PREAMBLE.unpack(original[: PREAMBLE.size])
    meta = json.loads(original[PREAMBLE.size : PREAMBLE.size + length])
    for _ in range(data.draw(st.integers(1, 3))):
        nodes = list(_nodes(meta))
        where = data.draw(st.sampled_from(nodes[1:]))
        parent = meta
        for key in where[:-1]:
            parent = parent[key]
        action = data.draw(st.sampled_from(["replace", "delete", "rule"]))
        if action == "delete" and isinstance(parent, dict):
            del parent[where[-1]]
        elif action == "rule":  # a rule naming a module that must never be imported
            parent[where[-1]] = [{"rule": "fastmaze_fuzz_never_imported:r", "p": 1.0}]
        else:
            parent[where[-1]] = data.draw(JSON)
    path = tmp_path_factory.mktemp("forged") / "levels.fmz"
    path.write_bytes(_forge(original, meta))
    levels = _load_or_refuse(path)
    assert "fastmaze_fuzz_never_imported" not in sys.modules
    if levels is not None:
        assert len(levels) == len(LEVELS)
        np.testing.assert_array_equal(levels.ids, LEVELS.ids)
