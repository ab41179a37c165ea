"""Saving and loading batches of levels: one self-describing, memory-mappable file.

Layout (all integers little-endian)::

    magic     8 bytes  b"FASTMAZE"
    version   uint32   FORMAT_VERSION
    length    uint64   bytes of the JSON header
    crc       uint32   zlib.crc32 of the JSON header
    header    JSON     format, fastmaze version, spec (spec_to_dict), seed, n, ids range,
                       and the array table: name, dtype, shape, offset, nbytes, crc32
    arrays    raw C-order bytes, each starting at a multiple of 64 bytes

`load` checks the header's whole structure before it trusts any of it, never imports what it
names (user rules come from the caller), and maps the arrays read-only by default, so a
batch larger than memory can be opened at once.
"""

from __future__ import annotations

import copy
import itertools
import json
import math
import os
import secrets
import socket
import struct
import warnings
import zlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from fastmaze.spec import spec_from_dict, spec_to_dict

if TYPE_CHECKING:
    from fastmaze.levels import Levels

MAGIC = b"FASTMAZE"
FORMAT_VERSION = 1
ALIGN = 64
_PREAMBLE = struct.Struct("<8sIQI")  # magic, version, header length, header crc32
#: The arrays of a file, their on-disk dtypes and the shape of one level's entry
#: ("H", "W", "D" stand for the board height, width and the spec's max_decoys).
ARRAY_LAYOUT: dict[str, tuple[str, tuple]] = {
    "ids": ("<i8", ()),
    "grid": ("|u1", ("H", "W")),
    "color": ("|u1", ("H", "W")),
    "start": ("<i4", (2,)),
    "exit": ("<i4", (2,)),
    "decoys": ("<i4", ("D", 2)),
    "n_decoys": ("<i4", ()),
    "component": ("|u1", ()),
}

__all__ = ["FORMAT_VERSION", "MAGIC", "UnrestoredRulesWarning", "load", "save"]


def _aligned(offset: int) -> int:
    return -(-offset // ALIGN) * ALIGN


def _crc(arr: np.ndarray) -> int:
    return zlib.crc32(memoryview(arr).cast("B")) if arr.size else 0


def _ids_info(ids: np.ndarray) -> dict[str, Any]:
    if ids.size == 0:
        return {"first": None, "last": None, "contiguous": True}
    first, last = int(ids[0]), int(ids[-1])
    contiguous = last - first + 1 == ids.size and bool(np.all(np.diff(ids) == 1))
    return {"first": first, "last": last, "contiguous": contiguous}


def _header(levels: Levels, arrays: dict[str, np.ndarray]) -> tuple[bytes, list[dict]]:
    """The JSON header and the array table, offsets counted from the file start."""
    from fastmaze import __version__

    table = [
        {
            "name": name,
            "dtype": arr.dtype.str,
            "shape": list(arr.shape),
            "nbytes": int(arr.nbytes),
            "crc32": _crc(arr),
        }
        for name, arr in arrays.items()
    ]
    meta = {
        "format": FORMAT_VERSION,
        "fastmaze": __version__,
        "spec": spec_to_dict(levels.spec),
        "spec_digest": levels.spec.digest(),
        "seed": int(levels.seed),
        "n": len(levels),
        "ids": _ids_info(arrays["ids"]),
        "arrays": table,
    }
    # The offsets depend on the header's own length: move the data down until it fits.
    data_start = 0
    while True:
        offset = data_start
        for entry in table:
            entry["offset"] = offset
            offset = _aligned(offset + entry["nbytes"])
        text = json.dumps(meta).encode()
        needed = _aligned(_PREAMBLE.size + len(text))
        if needed <= data_start:
            return text, table
        data_start = needed


#: Bounds on a header before it is parsed: its size in bytes and its JSON nesting depth (a
#: saved spec takes about 1 KiB, a mixture of the most components (64) 60 KiB, 7 levels deep).
MAX_HEADER_BYTES = 1 << 20
MAX_HEADER_DEPTH = 32
_HEADER_KEYS = {"format", "fastmaze", "spec", "spec_digest", "seed", "n", "ids", "arrays"}
_ENTRY_KEYS = {"name", "dtype", "shape", "offset", "nbytes", "crc32"}
_MAX_ID = 2**63 - 1


class UnrestoredRulesWarning(UserWarning):
    """`load` read a file whose spec records user rules the caller did not pass: the batch
    loads without them (see `Levels.unrestored_rules`)."""


def _temp_prefix(path: Path) -> str:
    return f".{path.name}.{socket.gethostname()}."


def _alive(pid: int) -> bool:
    """Whether process ``pid`` runs on this machine (assumed so where it cannot be asked
    safely: on Windows signal 0 is CTRL_C_EVENT)."""
    if os.name == "nt":
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def _remove_stale_temporaries(path: Path) -> None:
    """Removes temporaries of ``path`` left by saves on this machine whose process is gone
    (killed mid-write); a save still running keeps its own."""
    prefix = _temp_prefix(path)
    try:
        names = os.listdir(path.parent)
    except OSError:
        return
    for name in names:
        if not (name.startswith(prefix) and name.endswith(".tmp")):
            continue
        pid = name[len(prefix) :].split("-", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            try:
                os.unlink(path.parent / name)
            except OSError:
                pass


def save(levels: Levels, path: str | os.PathLike) -> None:
    """Writes ``levels`` to ``path`` atomically (a temporary file in the same folder, then
    a rename), so a reader never sees half a file. The file gets the mode the process's
    umask gives a new file (as ``open(path, "w")``); temporaries that a save killed
    mid-write left beside ``path`` on this machine are removed first. A batch loaded
    without its rules (`Levels.unrestored_rules`) is refused: its spec would misdescribe
    the levels."""
    if levels.unrestored_rules:
        names = ", ".join(sorted({r.get("rule", "?") for r in levels.unrestored_rules}))
        raise ValueError(
            f"levels: loaded without their rules ({names}), so their spec is incomplete; "
            "load them with fastmaze.load(path, rules=[...]) to save them"
        )
    arrays = {}
    for name, (dtype, _) in ARRAY_LAYOUT.items():
        arrays[name] = np.ascontiguousarray(getattr(levels, name), dtype=np.dtype(dtype))
    text, table = _header(levels, arrays)
    path = Path(path)
    _remove_stale_temporaries(path)
    tmp = path.parent / f"{_temp_prefix(path)}{os.getpid()}-{secrets.token_hex(4)}.tmp"
    # 0o666 & ~umask, like any new file: the folder's users can read what is saved there.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(_PREAMBLE.pack(MAGIC, FORMAT_VERSION, len(text), zlib.crc32(text)))
            f.write(text)
            for entry in table:
                f.write(b"\0" * (entry["offset"] - f.tell()))
                arr = arrays[entry["name"]]
                if arr.size:
                    f.write(memoryview(arr).cast("B"))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _bad(path: Path, why: str) -> ValueError:
    """The one error for a file that is not an intact fastmaze file of this version."""
    return ValueError(f"{path}: {why}")


def _depth(text: bytes) -> int:
    """Deepest nesting of JSON arrays and objects in ``text``, brackets inside strings
    ignored; linear time and no recursion, whatever the bytes."""
    b = np.frombuffer(text, np.uint8)
    if not b.size:
        return 0
    # Backslashes right before each byte: a quote after an odd number of them is escaped.
    i = np.arange(b.size)
    last_other = np.maximum.accumulate(np.where(b != ord("\\"), i, -1))
    run = np.concatenate(([0], i[:-1] - last_other[:-1]))
    quote = (b == ord('"')) & (run % 2 == 0)
    outside = np.cumsum(quote) % 2 == 0
    steps = np.isin(b, (ord("["), ord("{"))).astype(np.int64)
    steps -= np.isin(b, (ord("]"), ord("}")))
    return int(np.cumsum(steps * outside).max(initial=0))


def _read_header(path: Path, f: Any, size: int) -> dict[str, Any]:
    raw = f.read(_PREAMBLE.size)
    if len(raw) < len(MAGIC) or raw[: len(MAGIC)] != MAGIC:
        raise _bad(path, "not a fastmaze file (it does not start with the fastmaze magic)")
    if len(raw) < _PREAMBLE.size:
        raise _bad(path, f"truncated: {size} bytes, shorter than the fixed preamble")
    _, version, length, crc = _PREAMBLE.unpack(raw)
    if version != FORMAT_VERSION:
        raise _bad(
            path,
            f"fastmaze file format version {version}; this fastmaze reads version "
            f"{FORMAT_VERSION} (save it again with a matching fastmaze)",
        )
    if length > MAX_HEADER_BYTES:
        raise _bad(path, f"bad header: {length} bytes; at most {MAX_HEADER_BYTES} are read")
    if _PREAMBLE.size + length > size:
        raise _bad(
            path,
            f"truncated: the header needs {_PREAMBLE.size + length} bytes, the file has {size}",
        )
    text = f.read(length)
    if zlib.crc32(text) != crc:
        raise _bad(path, "the header was modified or corrupted (checksum mismatch)")
    if _depth(text) > MAX_HEADER_DEPTH:
        raise _bad(path, f"bad header: JSON nested deeper than {MAX_HEADER_DEPTH} levels")
    try:
        meta = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise _bad(path, f"the header is not valid JSON ({e})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_VERSION:
        raise _bad(path, "the header does not declare this format version")
    if set(meta) != _HEADER_KEYS:
        extra, lacking = sorted(set(meta) - _HEADER_KEYS), sorted(_HEADER_KEYS - set(meta))
        raise _bad(path, f"bad header: unknown fields {extra}, missing fields {lacking}")
    for key, kind in (("fastmaze", str), ("spec", dict), ("spec_digest", str), ("ids", dict)):
        if not isinstance(meta[key], kind):
            raise _bad(path, f"bad header: {key} is {meta[key]!r}; expected a {kind.__name__}")
    meta["_data_start"] = _PREAMBLE.size + length
    return meta


def _int(path: Path, what: str, value: Any, lo: int = 0, hi: int = _MAX_ID) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise _bad(path, f"bad header: {what} is {value!r}; expected an integer in {lo}..{hi}")
    return value


def _check_table(path: Path, meta: dict, spec: Any, size: int) -> dict[str, dict]:
    """The array table by name, every entry checked against the layout and the file size."""
    n = _int(path, "n", meta["n"])
    H, W = spec.shape
    dims = {"H": H, "W": W, "D": spec.max_decoys}
    table = meta["arrays"]
    if not isinstance(table, list) or not all(isinstance(e, dict) for e in table):
        raise _bad(path, "bad header: the array table is not a list of entries")
    for e in table:
        if set(e) != _ENTRY_KEYS or not isinstance(e["name"], str):
            raise _bad(path, f"bad header: array entry {str(e)[:200]}; expected the fields "
                       f"{', '.join(sorted(_ENTRY_KEYS))} and a name")  # fmt: skip
    entries = {e["name"]: e for e in table}
    unknown = sorted(name for name in entries if name not in ARRAY_LAYOUT)
    if unknown:
        raise _bad(path, f"unknown arrays {', '.join(unknown)}; expected {', '.join(ARRAY_LAYOUT)}")
    missing = [name for name in ARRAY_LAYOUT if name not in entries]
    if missing or len(entries) != len(table):
        raise _bad(path, f"the array table lacks {', '.join(missing) or 'nothing'} or repeats one")
    extents = []
    for name, (dtype, per_level) in ARRAY_LAYOUT.items():
        e = entries[name]
        if e["dtype"] != dtype:
            raise _bad(path, f"array {name}: dtype {e['dtype']!r}; expected {dtype!r}")
        shape = [n, *(dims.get(d, d) for d in per_level)]
        if e["shape"] != shape or not all(type(d) is int for d in e["shape"]):
            raise _bad(path, f"array {name}: shape {e['shape']}; expected {shape}")
        nbytes = math.prod(shape) * np.dtype(dtype).itemsize
        if _int(path, f"{name}.nbytes", e["nbytes"]) != nbytes:
            raise _bad(path, f"array {name}: nbytes {e['nbytes']}; expected {nbytes}")
        offset = _int(path, f"{name}.offset", e["offset"], meta["_data_start"])
        if offset % ALIGN:
            raise _bad(path, f"array {name}: offset {offset} is not {ALIGN}-byte aligned")
        if offset + nbytes > size:
            raise _bad(
                path, f"truncated: array {name} ends at byte {offset + nbytes}, the file has {size}"
            )
        _int(path, f"{name}.crc32", e["crc32"], 0, 2**32 - 1)
        if nbytes:
            extents.append((offset, offset + nbytes, name))
    extents.sort()
    for (_, end, a), (begin, _, b) in itertools.pairwise(extents):
        if begin < end:
            raise _bad(path, f"bad header: arrays {a} and {b} overlap in the file")
    return entries


def _read_array(path: Path, f: Any, entry: dict, mmap: bool) -> np.ndarray:
    dtype, shape = np.dtype(entry["dtype"]), tuple(entry["shape"])
    if entry["nbytes"] == 0:
        arr = np.empty(shape, dtype)
    elif mmap:
        return np.memmap(path, dtype=dtype, mode="r", offset=entry["offset"], shape=shape)
    else:
        f.seek(entry["offset"])
        arr = np.empty(shape, dtype)
        if f.readinto(memoryview(arr).cast("B")) != entry["nbytes"]:
            raise _bad(path, f"truncated while reading array {entry['name']}")
    if mmap:
        arr.flags.writeable = False
    return arr


def _recorded_rules(d: dict) -> tuple[list[dict], list[dict]]:
    """(the spec dicts of a header's spec, one per component; the rule records in them,
    each with its ``component``). Structure errors are left to `spec_from_dict`."""
    if d.get("kind") == "mixture":
        comps = d.get("components")
        specs = [c[0] for c in comps if isinstance(c, list) and c and isinstance(c[0], dict)] \
            if isinstance(comps, list) else []  # fmt: skip
    else:
        specs = [d]
    records = []
    for k, s in enumerate(specs):
        rules = s.get("rules", [])
        for r in rules if isinstance(rules, list) else []:
            records.append({**r, "component": k} if isinstance(r, dict) else {"rule": r})
    return specs, records


def _spec(path: Path, meta: dict, rules: Any) -> tuple[Any, tuple[dict, ...]]:
    """The header's spec, and the rule records it was loaded without. Nothing named in the
    file is imported: rules come only from the caller's ``rules``."""
    from fastmaze.rules import check_rules

    given = None if rules is None else check_rules(rules)
    bare = copy.deepcopy(meta["spec"])
    specs, records = _recorded_rules(bare)
    for s in specs:
        s.pop("rules", None)
    try:  # the structure first, rules aside
        spec = spec_from_dict(bare, rules=())
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise _bad(path, f"bad header: the spec does not load ({e})") from None
    if not records:
        if spec.digest() != meta["spec_digest"]:
            raise _bad(path, "bad header: spec_digest does not match the spec")
        return spec, ()
    if given is None:
        return spec, tuple(records)
    try:
        return spec_from_dict(meta["spec"], rules=given), ()
    except ValueError as e:  # a recorded rule the caller did not pass, or a changed one
        raise ValueError(f"{path}: {e}") from None


def load(
    path: str | os.PathLike, *, mmap: bool = True, verify: bool = True, rules: Any = None
) -> Levels:
    """Reads a file written by `save`.

    With ``mmap`` the arrays are read-only `np.memmap` views of the file (nothing is read
    until used); without it they are ordinary in-memory arrays. ``verify`` checks each
    array's CRC-32 (reading the whole file). Raises ValueError, naming the file and the
    problem, for anything that is not an intact fastmaze file of this format version: the
    header's structure, names, dtypes, shapes, extents and ranges are all checked first.

    A file is data: loading never imports anything it names. User rules the spec records
    (`fastmaze.rules`) are restored from ``rules``, the caller's `fastmaze.rule` objects,
    matched by name and source digest (ValueError if one is missing or its source changed).
    Without ``rules`` the batch loads with its spec stripped of them, an
    `UnrestoredRulesWarning` is issued and ``levels.unrestored_rules`` lists them.
    """
    from fastmaze.levels import Levels

    path = Path(path)
    size = path.stat().st_size
    with open(path, "rb") as f:
        meta = _read_header(path, f, size)
        spec, unrestored = _spec(path, meta, rules)
        seed = _int(path, "seed", meta["seed"], 0, 2**64 - 1)
        entries = _check_table(path, meta, spec, size)
        arrays = {name: _read_array(path, f, entries[name], mmap) for name in ARRAY_LAYOUT}
    if verify:
        for name, arr in arrays.items():
            if _crc(arr) != entries[name]["crc32"]:
                raise _bad(path, f"array {name} was modified or corrupted (checksum mismatch)")
    ids = arrays["ids"]
    if ids.size and (int(ids.min()) < 0 or int(ids.max()) > _MAX_ID - 1):
        raise _bad(path, f"array ids: values outside 0..{_MAX_ID - 1}")
    if _ids_info(ids) != meta["ids"]:
        raise _bad(path, f"bad header: ids {meta['ids']!r} do not describe the ids array")
    if unrestored:
        names = ", ".join(sorted({str(r.get("rule")) for r in unrestored}))
        warnings.warn(
            f"{path}: loaded without the rules its spec records ({names}); nothing named in "
            "a file is imported. Pass them to restore them: fastmaze.load(path, rules=[...])",
            UnrestoredRulesWarning,
            stacklevel=2,
        )
    return Levels(spec=spec, seed=seed, unrestored_rules=unrestored, **arrays)
