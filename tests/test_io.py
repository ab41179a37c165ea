"""Storage: round trips, memory mapping, and every way a file can be wrong."""

import json
import os
import struct
import subprocess
import sys
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


# -- forged headers: every field checked before use, one error type, nothing imported --------


def forge(path, edit):
    """Rewrites ``path`` with ``edit(meta)`` applied to its header, the arrays moved down as
    far as the new header needs (the edit sees the shifted offsets). The string "DEEP"
    becomes JSON nested 10^5 deep, which Python cannot build as an object."""
    data, original, _ = read_header(path)
    old = {e["name"]: (e["offset"], e["nbytes"]) for e in original["arrays"]}
    shift = 0
    while True:
        meta = json.loads(json.dumps(original))
        for e in meta["arrays"]:
            e["offset"] += shift
        edit(meta)
        text = json.dumps(meta).encode().replace(b'"DEEP"', b"[" * 10**5 + b"]" * 10**5)
        if PREAMBLE.size + len(text) <= min(o for o, _ in old.values()) + shift:
            break
        shift += 64 * (1 + len(text) // 64)
    out = bytearray(PREAMBLE.pack(b"FASTMAZE", 1, len(text), zlib.crc32(text)) + text)
    for offset, nbytes in sorted(old.values()):
        out += b"\0" * (offset + shift - len(out)) + data[offset : offset + nbytes]
    path.write_bytes(bytes(out))


FORGED = [
    (lambda m: entry(m, "grid").update(name=["grid"]), "array entry"),
    (lambda m: m.update(seed=2**64), r"seed is 18446744073709551616; expected an integer in"),
    (lambda m: m.update(seed=1.5), "seed is 1.5"),
    (lambda m: m.update(n=True), "n is True"),
    (lambda m: entry(m, "color").update(offset=entry(m, "grid")["offset"]), "overlap"),
    (lambda m: entry(m, "grid").update(offset=0), r"grid\.offset is 0"),
    (lambda m: entry(m, "grid").update(crc32=2**40), "grid.crc32"),
    (lambda m: entry(m, "grid").update(shape=[300.0, 11, 15]), "grid: shape"),
    (lambda m: entry(m, "grid").update(extra=1), "array entry"),
    (lambda m: entry(m, "grid").update(dtype=["|u1"]), "grid: dtype"),
    (lambda m: m["arrays"].append(m["arrays"][0]), "repeats one"),
    (lambda m: m.update(arrays={"grid": 1}), "not a list of entries"),
    (lambda m: m.update(surprise=1), r"unknown fields \['surprise'\]"),
    (lambda m: m.pop("ids"), r"missing fields \['ids'\]"),
    (lambda m: m.update(ids={"first": 0, "last": 299, "contiguous": True}), "ids"),
    (lambda m: m.update(spec=[1, 2]), "spec is"),
    (lambda m: m["spec"].update(size={"rows": 5}), "spec does not load"),
    (lambda m: m["spec"].update(palette=None), "spec does not load"),
    (lambda m: m["spec"].update(exit_sides=3), "spec does not load"),
    (lambda m: m["spec"].update(kind="mixture"), "spec does not load"),
    (lambda m: m["spec"].update(loops=0.5), "spec_digest does not match"),
    (lambda m: m.update(spec_digest=7), "spec_digest is 7"),
    (lambda m: m.update(fastmaze=None), "fastmaze is None"),
    (lambda m: m.update(deep="DEEP"), "nested deeper"),  # 10^5 brackets: RecursionError
]


@pytest.mark.parametrize(("edit", "message"), FORGED, ids=lambda v: str(v)[:30])
def test_forged_header_is_refused_with_one_error_type(saved, edit, message):
    _, path = saved
    forge(path, edit)
    with pytest.raises(ValueError, match=message) as err:
        io.load(path)
    assert type(err.value) is ValueError and str(path) in str(err.value)


def test_forged_negative_ids_are_refused(saved):
    levels, path = saved
    bad = levels._with(ids=levels.ids - 2000)  # the header follows: only the values are wrong
    io.save(bad, path)
    with pytest.raises(ValueError, match="array ids: values outside"):
        io.load(path)


def test_oversized_header_is_refused_before_it_is_read(saved):
    _, path = saved
    data = bytearray(path.read_bytes())
    data[12:20] = struct.pack("<Q", io.MAX_HEADER_BYTES + 1)
    path.write_bytes(bytes(data) + b"\0" * (io.MAX_HEADER_BYTES + 1))
    with pytest.raises(ValueError, match="at most"):
        io.load(path)


PROBE = "fastmaze_probe_{}"


@pytest.fixture
def probe_module(tmp_path, monkeypatch):
    """A module on sys.path that leaves a mark if anyone imports it."""
    name = PROBE.format(os.getpid())
    mark = tmp_path / "imported"
    (tmp_path / f"{name}.py").write_text(
        f"open({str(mark)!r}, 'w').close()\nimport fastmaze\n"
        "@fastmaze.rule\ndef r(grid, color, start, exit, decoys, n_decoys, rng):\n    pass\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name, mark
    sys.modules.pop(name, None)


@pytest.mark.parametrize("mixture", [False, True])
def test_loading_never_imports_a_rule_named_in_the_file(saved, probe_module, mixture):
    name, mark = probe_module
    _, path = saved

    def edit(meta):
        spec = meta["spec"]
        spec["rules"] = [{"rule": f"{name}:r", "p": 1.0, "digest": "0" * 16}]
        if mixture:
            kind = spec.pop("kind")
            meta["spec"] = {"kind": "mixture", "components": [[spec, 1.0]]}
            assert kind == "spec"

    forge(path, edit)
    before = set(sys.modules)
    with pytest.warns(io.UnrestoredRulesWarning, match=f"{name}:r"):
        loaded = io.load(path)
    assert name not in sys.modules and set(sys.modules) <= before | {"numba"}
    assert not mark.exists()
    assert [r["rule"] for r in loaded.unrestored_rules] == [f"{name}:r"]
    assert not loaded.spec.has_rules
    with pytest.raises(ValueError, match="cannot be restored: no rule named"):
        io.load(path, rules=[ex_rule()])
    assert name not in sys.modules and not mark.exists()
    with pytest.raises(ValueError, match="loaded without their rules"):
        io.save(loaded, path.with_name("again.fmz"))


def ex_rule():
    from fastmaze import examples

    return examples.paint_exit_neighbours_blue


def test_rules_are_restored_only_from_the_callers(tmp_path):
    from fastmaze import examples as ex

    rule = fastmaze.with_probability(ex.paint_exit_neighbours_blue, 0.5)
    spec = SPEC_A.replace(rules=(rule,))
    levels = fastmaze.generate(spec, 50, seed=2)
    path = tmp_path / "ruled.fmz"
    io.save(levels, path)
    loaded = io.load(path, rules=[ex.paint_exit_neighbours_blue])
    assert loaded.spec == spec and not loaded.unrestored_rules
    assert_same(levels, loaded)
    with pytest.warns(io.UnrestoredRulesWarning):
        bare = io.load(path)
    assert bare.spec == SPEC_A and bare.unrestored_rules[0]["p"] == 0.5
    np.testing.assert_array_equal(bare.color, levels.color)  # the data are the same

    def changed(meta):
        meta["spec"]["rules"][0]["digest"] = "f" * 16

    forge(path, changed)
    with pytest.raises(ValueError, match="source changed"):
        io.load(path, rules=[ex.paint_exit_neighbours_blue])


# -- saves: the umask, and temporaries stranded by a killed save -----------------------------


@pytest.mark.parametrize("umask", [0o022, 0o002, 0o077])
def test_save_honours_the_umask(tmp_path, umask):
    levels = fastmaze.generate(SPEC_A, 3)
    old = os.umask(umask)
    try:
        io.save(levels, tmp_path / "a.fmz")
    finally:
        os.umask(old)
    assert (tmp_path / "a.fmz").stat().st_mode & 0o777 == 0o666 & ~umask


KILLED_SAVE = """
import os, sys, time
import fastmaze
from fastmaze import io
levels = fastmaze.generate(fastmaze.MazeSpec(size=20), 2000)
def stall(fd):
    print("writing", flush=True)
    time.sleep(60)
os.fsync = stall
io.save(levels, sys.argv[1])
"""


def test_a_save_killed_mid_write_leaves_no_debris_after_the_next(tmp_path):
    path = tmp_path / "levels.fmz"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED_SAVE, str(path)], stdout=subprocess.PIPE, env=env
    )
    try:
        assert proc.stdout.readline().strip() == b"writing"
    finally:
        proc.kill()
        proc.wait()
    stranded = [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert len(stranded) == 1 and stranded[0].stat().st_size > 1 << 20
    other = tmp_path / ".other.fmz.host.1.tmp"  # not a temporary of this target: kept
    other.write_bytes(b"x")
    io.save(fastmaze.generate(SPEC_A, 4), path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [other.name, path.name]
    assert len(io.load(path)) == 4


def test_a_running_saves_temporary_is_kept(tmp_path):
    """Only temporaries of dead processes are removed: a live writer keeps its file."""
    path = tmp_path / "levels.fmz"
    live = tmp_path / f"{io._temp_prefix(path)}1-abcd.tmp"  # pid 1 is always alive
    live.write_bytes(b"x")
    io.save(fastmaze.generate(SPEC_A, 2), path)
    assert live.exists()


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        (b"", 0),
        (b"[]", 1),
        (b'{"a": [1, {"b": "[[["}]}', 3),
        (b'["\\\\", [[]]]', 3),  # an escaped backslash ends the string
        (b'["\\"[[", []]', 2),  # an escaped quote does not
    ],
)
def test_header_depth_ignores_brackets_in_strings(text, depth):
    assert io._depth(text) == depth
