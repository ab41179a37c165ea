"""Storage: round trips, memory mapping, and every way a file can be wrong."""

import json
import os
import struct
import zlib

import numpy as np
import pytest

import fastmaze
from fastmaze import io
from fastmaze.levels import Levels

SPEC_A = fastmaze.MazeSpec(
    size=(5, 7),
    algorithm="kruskal",
    exit_color={"green": 0.95, None: 0.05},
    n_decoys={0: 0.25, 2: 0.75},
    decoy_color="red",
)
SPEC_B = SPEC_A.replace(algorithm="wilson", exit_color="blue", n_decoys=1, loops=0.2)
PREAMBLE = struct.Struct("<8sIQI")


def assert_same(a: Levels, b: Levels) -> None:
    assert a.spec == b.spec
    assert a.seed == b.seed
    for name in Levels.ARRAYS:
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype and x.shape == y.shape, name
        assert x.tobytes() == y.tobytes(), name


@pytest.fixture
def saved(tmp_path):
    levels = fastmaze.generate(SPEC_A, 300, seed=11, start=1000)
    path = tmp_path / "levels.fmz"
    io.save(levels, path)
    return levels, path


@pytest.mark.parametrize("mmap", [True, False])
def test_round_trip_spec(saved, mmap):
    levels, path = saved
    loaded = io.load(path, mmap=mmap)
    assert_same(levels, loaded)
    assert isinstance(loaded.spec, fastmaze.MazeSpec)
    for name in Levels.ARRAYS:
        arr = getattr(loaded, name)
        assert isinstance(arr, np.memmap) == mmap
        assert arr.flags.writeable != mmap
        if mmap:
            assert arr.offset % 64 == 0


def test_round_trip_mixture_and_big_seed(tmp_path):
    mixture = fastmaze.Mixture.of((SPEC_A, 0.5), (SPEC_B, 0.5))
    levels = fastmaze.generate(mixture, 200, seed=2**64 - 1)
    assert set(np.unique(levels.component)) == {0, 1}
    io.save(levels, tmp_path / "mix.fmz")
    for mmap in (True, False):
        loaded = io.load(tmp_path / "mix.fmz", mmap=mmap)
        assert isinstance(loaded.spec, fastmaze.Mixture)
        assert_same(levels, loaded)


def test_round_trip_empty_batch(tmp_path):
    empty = fastmaze.generate(SPEC_A, 0, seed=5)
    io.save(empty, tmp_path / "empty.fmz")
    for mmap in (True, False):
        loaded = io.load(tmp_path / "empty.fmz", mmap=mmap)
        assert len(loaded) == 0
        assert loaded.grid.shape == (0, 11, 15) and loaded.decoys.shape == (0, 2, 2)
        assert_same(empty, loaded)


def test_round_trip_of_a_slice_keeps_its_ids(saved, tmp_path):
    levels, _ = saved
    part = levels[10:300:7]  # strided, non-contiguous ids
    io.save(part, tmp_path / "part.fmz")
    loaded = io.load(tmp_path / "part.fmz")
    assert_same(part, loaded)
    np.testing.assert_array_equal(loaded.ids, np.arange(1010, 1300, 7))


def test_save_is_atomic(saved, monkeypatch):
    levels, path = saved
    before = path.read_bytes()

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        io.save(levels[:5], path)
    assert path.read_bytes() == before
    assert os.listdir(path.parent) == [path.name]  # no temporary file left behind
    monkeypatch.undo()
    io.save(levels[:5], path)  # overwrites in place
    assert len(io.load(path)) == 5
    assert os.listdir(path.parent) == [path.name]


# -- bad files -------------------------------------------------------------------------------


def read_header(path):
    data = path.read_bytes()
    _, _, length, _ = PREAMBLE.unpack(data[: PREAMBLE.size])
    return data, json.loads(data[PREAMBLE.size : PREAMBLE.size + length]), length


def rewrite_header(path, meta, fix_crc=True):
    """Replaces the JSON header in place (padded to its old length, arrays unmoved)."""
    data, _, length = read_header(path)
    text = json.dumps(meta).encode()
    assert len(text) <= length
    text = text.ljust(length)
    magic, version, _, crc = PREAMBLE.unpack(data[: PREAMBLE.size])
    crc = zlib.crc32(text) if fix_crc else crc
    head = PREAMBLE.pack(magic, version, length, crc)
    path.write_bytes(head + text + data[PREAMBLE.size + length :])


def test_not_a_fastmaze_file(tmp_path):
    for content in (b"", b"FAST", b"hello world, this is not a maze file at all"):
        path = tmp_path / "other.bin"
        path.write_bytes(content)
        with pytest.raises(ValueError, match="not a fastmaze file"):
            io.load(path)
    with pytest.raises(FileNotFoundError):
        io.load(tmp_path / "missing.fmz")


def test_truncated_file(saved):
    _, path = saved
    data = path.read_bytes()
    for size in (len(data) - 1, len(data) // 2, 30, 12):
        path.write_bytes(data[:size])
        with pytest.raises(ValueError, match="truncated"):
            io.load(path)


def test_tampered_data(saved):
    levels, path = saved
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF  # last byte of the last array (component)
    path.write_bytes(bytes(data))
    for mmap in (True, False):
        with pytest.raises(ValueError, match=r"array component was modified.*checksum"):
            io.load(path, mmap=mmap)
    loaded = io.load(path, verify=False)
    assert loaded.component[-1] == levels.component[-1] ^ 0xFF


def test_tampered_header(saved):
    _, path = saved
    _, meta, _ = read_header(path)
    meta["seed"] = 12
    rewrite_header(path, meta, fix_crc=False)
    with pytest.raises(ValueError, match=r"header was modified.*checksum"):
        io.load(path)
    rewrite_header(path, meta)  # a consistent edit of the header is accepted
    assert io.load(path).seed == 12
    data, _, length = read_header(path)
    broken = b"{not json".ljust(length)
    head = data[:8] + struct.pack("<IQI", 1, length, zlib.crc32(broken))
    path.write_bytes(head + broken + data[PREAMBLE.size + length :])
    with pytest.raises(ValueError, match="not valid JSON"):
        io.load(path)


def test_wrong_format_version(saved):
    _, path = saved
    data = bytearray(path.read_bytes())
    data[8:12] = struct.pack("<I", 99)
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"format version 99; this fastmaze reads version 1"):
        io.load(path)


def entry(meta, name):
    return next(e for e in meta["arrays"] if e["name"] == name)


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda m: entry(m, "n_decoys").update(name="n_decoyz"), "unknown arrays n_decoyz"),
        (lambda m: entry(m, "start").update(dtype="<i8"), "array start: dtype '<i8'"),
        (lambda m: entry(m, "grid").update(shape=[300, 11, 14]), r"grid: shape \[300, 11, 14\]"),
        (lambda m: entry(m, "exit").update(offset=entry(m, "exit")["offset"] + 4), "aligned"),
        (lambda m: m.update(n=299), "shape"),
        (lambda m: m["spec"].update(algorithm="maze"), "spec does not load"),
        (lambda m: m.update(seed=-1), "seed"),
        (lambda m: m["arrays"].pop(), "lacks component"),
    ],
)
def test_bad_header_fields(saved, edit, message):
    _, path = saved
    _, meta, _ = read_header(path)
    edit(meta)
    rewrite_header(path, meta)
    with pytest.raises(ValueError, match=message):
        io.load(path)
