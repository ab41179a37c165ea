"""Saving and loading batches of levels: one self-describing, memory-mappable file.

Layout (all integers little-endian)::

    magic     8 bytes  b"FASTMAZE"
    version   uint32   FORMAT_VERSION
    length    uint64   bytes of the JSON header
    crc       uint32   zlib.crc32 of the JSON header
    header    JSON     format, fastmaze version, spec (spec_to_dict), seed, n, ids range,
                       and the array table: name, dtype, shape, offset, nbytes, crc32
    arrays    raw C-order bytes, each starting at a multiple of 64 bytes

`load` checks every field before it trusts it, and maps the arrays read-only by default, so
a batch larger than memory can be opened at once.
"""

from __future__ import annotations

import json
import os
import struct
import tempfile
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

__all__ = ["FORMAT_VERSION", "MAGIC", "load", "save"]


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


def save(levels: Levels, path: str | os.PathLike) -> None:
    """Writes ``levels`` to ``path`` atomically (a temporary file in the same folder, then
    a rename), so a reader never sees half a file."""
    arrays = {}
    for name, (dtype, _) in ARRAY_LAYOUT.items():
        arrays[name] = np.ascontiguousarray(getattr(levels, name), dtype=np.dtype(dtype))
    text, table = _header(levels, arrays)
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
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
    return ValueError(f"{path}: {why}")


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
    if _PREAMBLE.size + length > size:
        raise _bad(
            path,
            f"truncated: the header needs {_PREAMBLE.size + length} bytes, the file has {size}",
        )
    text = f.read(length)
    if zlib.crc32(text) != crc:
        raise _bad(path, "the header was modified or corrupted (checksum mismatch)")
    try:
        meta = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise _bad(path, f"the header is not valid JSON ({e})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_VERSION:
        raise _bad(path, "the header does not declare this format version")
    return meta


def _int(path: Path, what: str, value: Any, lo: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < lo:
        raise _bad(path, f"bad header: {what} is {value!r}; expected an integer >= {lo}")
    return value


def _check_table(path: Path, meta: dict, spec: Any, size: int) -> dict[str, dict]:
    """The array table by name, every entry checked against the layout and the file size."""
    n = _int(path, "n", meta.get("n"))
    H, W = spec.shape
    dims = {"H": H, "W": W, "D": spec.max_decoys}
    table = meta.get("arrays")
    if not isinstance(table, list) or not all(isinstance(e, dict) for e in table):
        raise _bad(path, "bad header: the array table is not a list of entries")
    entries = {e.get("name"): e for e in table}
    unknown = sorted(str(name) for name in entries if name not in ARRAY_LAYOUT)
    if unknown:
        raise _bad(path, f"unknown arrays {', '.join(unknown)}; expected {', '.join(ARRAY_LAYOUT)}")
    missing = [name for name in ARRAY_LAYOUT if name not in entries]
    if missing or len(entries) != len(table):
        raise _bad(path, f"the array table lacks {', '.join(missing) or 'nothing'} or repeats one")
    for name, (dtype, per_level) in ARRAY_LAYOUT.items():
        e = entries[name]
        if e.get("dtype") != dtype:
            raise _bad(path, f"array {name}: dtype {e.get('dtype')!r}; expected {dtype!r}")
        shape = [n, *(dims.get(d, d) for d in per_level)]
        if e.get("shape") != shape:
            raise _bad(path, f"array {name}: shape {e.get('shape')}; expected {shape}")
        nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
        if _int(path, f"{name}.nbytes", e.get("nbytes")) != nbytes:
            raise _bad(path, f"array {name}: nbytes {e['nbytes']}; expected {nbytes}")
        offset = _int(path, f"{name}.offset", e.get("offset"), _PREAMBLE.size)
        if offset % ALIGN:
            raise _bad(path, f"array {name}: offset {offset} is not {ALIGN}-byte aligned")
        if offset + nbytes > size:
            raise _bad(
                path, f"truncated: array {name} ends at byte {offset + nbytes}, the file has {size}"
            )
        _int(path, f"{name}.crc32", e.get("crc32"))
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


def load(path: str | os.PathLike, *, mmap: bool = True, verify: bool = True) -> Levels:
    """Reads a file written by `save`.

    With ``mmap`` the arrays are read-only `np.memmap` views of the file (nothing is read
    until used); without it they are ordinary in-memory arrays. ``verify`` checks each
    array's CRC-32 (reading the whole file). Raises ValueError, naming the file and the
    problem, for anything that is not an intact fastmaze file of this format version.
    """
    from fastmaze.levels import Levels

    path = Path(path)
    size = path.stat().st_size
    with open(path, "rb") as f:
        meta = _read_header(path, f, size)
        try:
            spec = spec_from_dict(meta["spec"])
        except (KeyError, TypeError, ValueError) as e:
            raise _bad(path, f"bad header: the spec does not load ({e})") from None
        seed = _int(path, "seed", meta.get("seed"))
        entries = _check_table(path, meta, spec, size)
        arrays = {name: _read_array(path, f, entries[name], mmap) for name in ARRAY_LAYOUT}
    if verify:
        for name, arr in arrays.items():
            if _crc(arr) != entries[name]["crc32"]:
                raise _bad(path, f"array {name} was modified or corrupted (checksum mismatch)")
    return Levels(spec=spec, seed=seed, **arrays)
