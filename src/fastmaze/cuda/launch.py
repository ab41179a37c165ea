"""Host side of level generation on the GPU: packs a spec into device tables, holds the
per-thread scratch, launches the kernel of `fastmaze.cuda.kernels`, and returns the levels
as device tensors.

Backends: torch CUDA tensors when torch has CUDA (the kernel writes into them through
``__cuda_array_interface__``, on torch's current stream); numba device arrays otherwise
(a GPU with a CPU-only torch, or Numba's CUDA simulator, ``NUMBA_ENABLE_CUDASIM=1``).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from fastmaze.cuda import config
from fastmaze.cuda.kernels import (
    ALGORITHMS_WITH_TREES,
    DISTS,
    SP_ALGORITHM,
    SP_COLUMNS,
    SP_M_LOOPS,
    SP_MIN_DISTANCE,
    SP_N_EXITS,
    SP_START_CORNER,
    SP_TAKE,
    UNVISITED,
)
from fastmaze.levels import MAX_ID, Levels, _components
from fastmaze.spec import MAX_CATEGORIES, MazeSpec, Mixture
from fastmaze.validate import check_int

SIDE_TOP, SIDE_RIGHT, SIDE_BOTTOM, SIDE_LEFT = 1, 2, 4, 8
OUTPUTS = ("grid", "color", "start", "exit", "decoys", "n_decoys", "component")


# -- packing a spec -------------------------------------------------------------------------
def _geometry(rows: int, cols: int) -> dict[str, Any]:
    """geometry_init of csrc/generate.c."""
    H, W = 2 * rows + 1, 2 * cols + 1
    Wp = W + 2
    padded = (H + 2) * Wp
    cells, edges = [], []
    template = np.ones(padded, np.uint8)
    for i in range(rows):
        for j in range(cols):
            p = (2 * i + 2) * Wp + 2 * j + 2
            cells.append(p)
            template[p] = UNVISITED
            if j + 1 < cols:
                edges.append((p + 1) << 1)
            if i + 1 < rows:
                edges.append(((p + Wp) << 1) | 1)
    return {
        "rows": rows,
        "cols": cols,
        "H": H,
        "W": W,
        "Wp": Wp,
        "padded": padded,
        "n_cells": rows * cols,
        "n_edges": len(edges),
        "cells": np.array(cells, np.int32),
        "edges": np.array(edges, np.int32),
        "template": template,
    }


def _exit_candidates(g: dict, p: dict) -> list[int]:
    """fm_exit_candidates of csrc/place.c, from a spec's compiled params."""
    R, C, Wp, H, W = g["rows"], g["cols"], g["Wp"], g["H"], g["W"]
    k, corner, sides = p["exit_region"], p["exit_corner"], p["exit_sides"]

    def in_region(i: int, j: int) -> bool:
        if k <= 0:
            return True
        top, bottom, left, right = i < k, i >= R - k, j < k, j >= C - k
        return (top and left, top and right, bottom and right, bottom and left)[corner]

    out = []
    out += [Wp + 2 * j + 2 for j in range(C) if sides & SIDE_TOP and in_region(0, j)]
    out += [(2 * i + 2) * Wp + W for i in range(R) if sides & SIDE_RIGHT and in_region(i, C - 1)]
    out += [H * Wp + 2 * j + 2 for j in range(C) if sides & SIDE_BOTTOM and in_region(R - 1, j)]
    out += [(2 * i + 2) * Wp + 1 for i in range(R) if sides & SIDE_LEFT and in_region(i, 0)]
    return out


def _pack(spec: MazeSpec | Mixture) -> dict[str, Any]:
    """Everything the kernel reads besides the outputs and scratch, as numpy arrays / ints."""
    params, (mix_val, mix_cdf) = _components(spec)
    g = _geometry(params[0]["rows"], params[0]["cols"])
    S = len(params)
    per_spec = 2 * (g["rows"] + g["cols"])
    sp = np.zeros((S, SP_COLUMNS), np.int32)
    exits = np.zeros((S, per_spec), np.int32)
    dn = np.zeros((S, len(DISTS)), np.int32)
    dval = np.zeros((S, len(DISTS), MAX_CATEGORIES), np.int32)
    dcdf = np.zeros((S, len(DISTS), MAX_CATEGORIES), np.uint64)
    # Inner walls standing after any of the spanning-tree carvings: every perfect maze has
    # n_cells - 1 passages. The rounding of loops * m is done here, in Python's IEEE
    # doubles as in C, so that no device FMA contraction can change it.
    m_loops = g["n_edges"] - g["n_cells"] + 1
    for c, p in enumerate(params):
        cand = _exit_candidates(g, p)
        sp[c, SP_ALGORITHM] = p["algorithm"]
        tree = p["algorithm"] in ALGORITHMS_WITH_TREES
        sp[c, SP_TAKE] = int(p["loops"] * m_loops + 0.5) if p["loops"] > 0 and tree else -1
        sp[c, SP_M_LOOPS] = m_loops
        sp[c, SP_START_CORNER] = p["start_corner"]
        sp[c, SP_MIN_DISTANCE] = p["min_distance"]
        sp[c, SP_N_EXITS] = len(cand)
        exits[c, : len(cand)] = cand
        for j, name in enumerate(DISTS):
            values, cdf = p[name]
            dn[c, j] = len(values)
            dval[c, j, : len(values)] = values
            dcdf[c, j, : len(cdf)] = np.array(cdf, dtype=np.uint64)
    mix_v = np.zeros(MAX_CATEGORIES, np.int32)
    mix_c = np.zeros(MAX_CATEGORIES, np.uint64)
    mix_v[: len(mix_val)] = mix_val
    mix_c[: len(mix_cdf)] = np.array(mix_cdf, dtype=np.uint64)
    return {
        "geometry": g,
        "tables": {
            "cells": g["cells"],
            "edges": g["edges"],
            "template": g["template"],
            "sp": sp,
            "exits": exits,
            "dn": dn,
            "dval": dval,
            "dcdf": dcdf,
            "mix_val": mix_v,
            "mix_cdf": mix_c,
        },
        "mix_n": len(mix_val),
        "max_decoys": spec.max_decoys,
    }


def _scratch_shapes(g: dict) -> dict[str, tuple[int, np.dtype]]:
    """Per-thread scratch lengths and dtypes (fm_scratch)."""
    return {
        "board": (g["padded"], np.dtype(np.uint8)),
        "dirs": (g["padded"], np.dtype(np.uint8)),
        "stack": (g["padded"], np.dtype(np.int32)),
        "aux": (g["padded"], np.dtype(np.int32)),
        "work": (g["n_edges"] + 1, np.dtype(np.int32)),
        "perm": (g["n_cells"], np.dtype(np.int32)),
        "undo": (g["n_cells"] + 1, np.dtype(np.int32)),
    }


def _args(n: int, first_id: int, seed: int, packed: dict, tables: dict, out: dict,
          scratch: dict, failed: Any) -> tuple:  # fmt: skip
    """The kernel's (and the CPU driver's) arguments, in order."""
    g = packed["geometry"]
    return (
        np.int64(n),
        np.int64(first_id),
        np.uint64(seed),
        *(np.int64(g[k]) for k in ("rows", "cols", "H", "W", "Wp", "padded", "n_cells")),
        np.int64(g["n_edges"]),
        *(tables[k] for k in ("cells", "edges", "template", "sp", "exits")),
        *(tables[k] for k in ("dn", "dval", "dcdf")),
        np.int64(packed["mix_n"]),
        tables["mix_val"],
        tables["mix_cdf"],
        np.int64(packed["max_decoys"]),
        *(out[k] for k in OUTPUTS),
        *(scratch[k] for k in ("board", "dirs", "stack", "aux", "work", "perm", "undo")),
        failed,
    )


def _check(spec: Any, n: Any, seed: Any, start: Any) -> tuple[int, int, int]:
    if not isinstance(spec, (MazeSpec, Mixture)):
        raise ValueError(f"spec: expected a MazeSpec or Mixture, got {type(spec).__name__}")
    if spec.has_rules:
        raise ValueError(
            "spec: has user rules (fastmaze.rules), which run on the host; generate it with "
            "fastmaze.generate"
        )
    for s, _ in spec.components:
        if s.decoy_placement != "anywhere" or s.false_exits:
            raise ValueError(
                "spec: off-path decoys (decoy_placement='off_path') and false_exits are "
                "placed by the host core only; generate it with fastmaze.generate (the torch "
                "backend: level_source='host')"
            )
    n = check_int("n", n, 0, MAX_ID)
    seed = check_int("seed", seed, 0, 2**64 - 1)
    start = check_int("start", start, 0, MAX_ID - n)
    return n, seed, start


# -- results --------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class DeviceLevels:
    """Levels ``start .. start+n-1`` of ``(spec, seed)`` on the device: the arrays of
    `fastmaze.Levels` (same names, dtypes and shapes) as torch CUDA tensors, or numba device
    arrays where torch has no CUDA. ``ids`` is int64 on the same device (numpy under numba).
    ``failed``: int64 [1] on the device, the lowest batch index of a level that could not be
    placed, or n (read it after ``generate(..., check=False)``; None when n == 0).
    """

    spec: MazeSpec | Mixture
    seed: int
    ids: Any
    grid: Any
    color: Any
    start: Any
    exit: Any
    decoys: Any
    n_decoys: Any
    component: Any
    failed: Any = None

    def __len__(self) -> int:
        return int(self.grid.shape[0])

    def as_dict(self) -> dict[str, Any]:
        """{name: array} of ids and the seven level arrays."""
        return {k: getattr(self, k) for k in ("ids", *OUTPUTS)}

    def to_host(self) -> Levels:
        """A `fastmaze.Levels` of numpy copies (one device sync)."""

        def host(a: Any) -> np.ndarray:
            if isinstance(a, np.ndarray):
                return a
            if hasattr(a, "copy_to_host"):
                return a.copy_to_host()
            return a.cpu().numpy()

        return Levels(
            spec=self.spec, seed=self.seed, **{k: host(v) for k, v in self.as_dict().items()}
        )


# -- the kernel and device state -------------------------------------------------------------
_lock = threading.Lock()
_kernel: Any = None
_cache: dict[Any, Any] = {}  # device tables per (device, spec); scratch per (device, stream)
_CACHE_TABLES = 16


def _get_kernel() -> Any:
    global _kernel
    with _lock:
        if _kernel is None:
            from numba import cuda

            from fastmaze.cuda.kernels import build_kernel

            _, _kernel = build_kernel(cuda.jit(**config.DEVICE_JIT), cuda.jit(**config.KERNEL_JIT))
        return _kernel


def _use_torch() -> bool:
    from numba import config as nconfig

    if nconfig.ENABLE_CUDASIM:
        return False
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def _device_index(device: Any) -> int:
    """The CUDA device index of "cuda", "cuda:k", k or a torch.device."""
    if isinstance(device, (int, np.integer)) and not isinstance(device, bool):
        return int(device)
    text = str(device)
    kind, _, index = text.partition(":")
    if kind != "cuda" or (index and not index.isdigit()):
        raise ValueError(f"device: expected 'cuda', 'cuda:k' or an index, got {device!r}")
    if index:
        return int(index)
    if _use_torch():
        import torch

        return torch.cuda.current_device()
    return 0


def _threads(n: int, g: dict, threads: int | None, sm_count: int) -> int:
    """Device threads of one launch: enough to fill the GPU, within the scratch budget."""
    tpb = config.THREADS_PER_BLOCK
    per_thread = sum(length * dt.itemsize for length, dt in _scratch_shapes(g).values())
    if threads is None:
        cap = min(sm_count * config.THREADS_PER_SM, config.SCRATCH_BUDGET // per_thread)
        threads = max(tpb, cap // tpb * tpb)
    return max(1, min(n, threads))


class _Torch:
    """Allocation on a torch CUDA device, launches on torch's current stream."""

    def __init__(self, index: int) -> None:
        import torch
        from numba import cuda

        self.torch, self.cuda = torch, cuda
        self.device = torch.device("cuda", index)
        self.stream = torch.cuda.current_stream(self.device)
        self.key = ("torch", index, self.stream.cuda_stream)
        self.sm_count = torch.cuda.get_device_properties(self.device).multi_processor_count

    def context(self) -> Any:
        return self.cuda.gpus[self.device.index]

    def launch_stream(self) -> Any:
        return self.cuda.external_stream(self.stream.cuda_stream)

    def empty(self, shape: tuple, dtype: Any) -> Any:
        dt = getattr(self.torch, np.dtype(dtype).name)
        return self.torch.empty(shape, dtype=dt, device=self.device)

    def upload(self, a: np.ndarray) -> Any:
        # Constant tables go through numba (synchronous copy, cached per spec): torch's
        # array interface does not reliably describe uint64 tensors.
        return self.cuda.to_device(np.ascontiguousarray(a))

    def view(self, t: Any) -> Any:
        """A numba view of a tensor, without numba's sync on the tensor's stream (the kernel
        runs on that same stream); numba arrays pass through."""
        if isinstance(t, self.torch.Tensor):
            return self.cuda.as_cuda_array(t, sync=False)
        return t

    def ids(self, start: int, n: int) -> Any:
        return self.torch.arange(start, start + n, dtype=self.torch.int64, device=self.device)

    def full_failed(self, n: int) -> Any:
        return self.torch.full((1,), n, dtype=self.torch.int64, device=self.device)

    def read(self, t: Any) -> int:
        return int(t.item())


class _Numba:
    """Allocation with numba device arrays (GPU without torch CUDA, or the simulator)."""

    def __init__(self, index: int) -> None:
        from numba import cuda

        self.cuda = cuda
        self.index = index
        self.key = ("numba", index, 0)
        with self.context() as gpu:
            self.sm_count = int(getattr(gpu, "MULTIPROCESSOR_COUNT", 1) or 1)

    def context(self) -> Any:
        return self.cuda.gpus[self.index]

    def launch_stream(self) -> Any:
        return 0

    def empty(self, shape: tuple, dtype: Any) -> Any:
        return self.cuda.device_array(shape, dtype=dtype)

    def upload(self, a: np.ndarray) -> Any:
        return self.cuda.to_device(np.ascontiguousarray(a))

    def view(self, a: Any) -> Any:
        return a

    def ids(self, start: int, n: int) -> Any:
        return np.arange(start, start + n, dtype=np.int64)

    def full_failed(self, n: int) -> Any:
        return self.cuda.to_device(np.array([n], np.int64))

    def read(self, a: Any) -> int:
        return int(a.copy_to_host()[0])


def _tables(be: Any, spec: Any, packed: dict) -> dict:
    key = (be.key[:2], "tables", spec)
    with _lock:
        hit = _cache.get(key)
    if hit is None:
        hit = {k: be.upload(v) for k, v in packed["tables"].items()}
        with _lock:
            stale = [k for k in _cache if k[1] == "tables"]
            for k in stale[: max(0, len(stale) - _CACHE_TABLES + 1)]:
                del _cache[k]
            _cache[key] = hit
    return hit


def _scratch(be: Any, g: dict, threads: int) -> dict:
    """Preallocated per-thread scratch, reused by later calls on the same device and stream
    (calls on one stream run in order, so they never share it at the same time)."""
    key = (be.key, "scratch", g["rows"], g["cols"])
    with _lock:
        hit = _cache.get(key)
    if hit is None or hit[0] < threads:
        arrays = {
            k: be.empty((length, threads), dt) for k, (length, dt) in _scratch_shapes(g).items()
        }
        hit = (threads, arrays)
        with _lock:
            _cache[key] = hit
    return hit[1]


def generate(
    spec: MazeSpec | Mixture,
    n: int,
    seed: int = 0,
    start: int = 0,
    device: Any = "cuda",
    *,
    threads: int | None = None,
    check: bool = True,
) -> DeviceLevels:
    """Generates levels ``start .. start+n-1`` of ``(spec, seed)`` on a CUDA device.

    The bytes are those of `fastmaze.generate` (the C core) for the same (spec, seed, id).
    ``threads``: device threads of the launch (default: enough to fill the GPU within
    ``config.SCRATCH_BUDGET``); each handles levels t, t + threads, ... . ``check``: read
    back whether every level could be placed (one sync; raises RuntimeError like the core).
    """
    n, seed, start = _check(spec, n, seed, start)
    if threads is not None:
        threads = check_int("threads", threads, 1, 2**31 - 1)
    index = _device_index(device)
    be: Any = _Torch(index) if _use_torch() else _Numba(index)
    packed = _pack(spec)
    g = packed["geometry"]
    H, W, D = g["H"], g["W"], packed["max_decoys"]
    with be.context():
        out = {
            "grid": be.empty((n, H, W), np.uint8),
            "color": be.empty((n, H, W), np.uint8),
            "start": be.empty((n, 2), np.int32),
            "exit": be.empty((n, 2), np.int32),
            "decoys": be.empty((n, D, 2), np.int32),
            "n_decoys": be.empty((n,), np.int32),
            "component": be.empty((n,), np.uint8),
        }
        ids = be.ids(start, n)
        failed = None
        if n:
            T = _threads(n, g, threads, be.sm_count)
            tables = _tables(be, spec, packed)
            scratch = _scratch(be, g, T)
            failed = be.full_failed(n)
            views = {k: be.view(v) for k, v in out.items()}
            if D == 0:  # no zero-size arrays into the kernel: a dummy it never writes
                views["decoys"] = be.view(be.empty((1, 1, 2), np.int32))
            args = _args(n, start, seed, packed, {k: be.view(v) for k, v in tables.items()},
                         views, {k: be.view(v) for k, v in scratch.items()},
                         be.view(failed))  # fmt: skip
            tpb = config.THREADS_PER_BLOCK
            _get_kernel()[(T + tpb - 1) // tpb, tpb, be.launch_stream()](*args)
            if check:
                bad = be.read(failed)
                if bad < n:
                    raise RuntimeError(f"level {start + bad} could not be placed")
    return DeviceLevels(spec=spec, seed=seed, ids=ids, failed=failed, **out)


# -- the same device code on the CPU (tests) -----------------------------------------------
_cpu: Any = None


def _generate_cpu(spec: MazeSpec | Mixture, n: int, seed: int = 0, start: int = 0) -> Levels:
    """The device code compiled by ``numba.njit`` and run serially on the CPU: the same
    source and Numba's same integer typing as the kernel, at compiled speed (tests)."""
    global _cpu
    n, seed, start = _check(spec, n, seed, start)
    with _lock:
        if _cpu is None:
            import numba

            from fastmaze.cuda.kernels import build_cpu

            _cpu = build_cpu(numba.njit(**config.CPU_JIT))
    packed = _pack(spec)
    g = packed["geometry"]
    levels = Levels.empty(spec, seed, np.arange(start, start + n, dtype=np.int64))
    out = {k: getattr(levels, k) for k in OUTPUTS}
    if packed["max_decoys"] == 0:
        out["decoys"] = np.empty((1, 1, 2), np.int32)
    scratch = {k: np.zeros((length, 1), dt) for k, (length, dt) in _scratch_shapes(g).items()}
    failed = np.array([n], np.int64)
    if n:
        _cpu(*_args(n, start, seed, packed, packed["tables"], out, scratch, failed))
    if failed[0] < n:
        raise RuntimeError(f"level {start + failed[0]} could not be placed")
    return levels


def per_thread_bytes(spec: MazeSpec | Mixture) -> int:
    """Device scratch of one thread for this spec's board size, in bytes."""
    g = _geometry(*spec.components[0][0].size)
    return sum(length * dt.itemsize for length, dt in _scratch_shapes(g).values())


__all__ = ["DeviceLevels", "generate", "per_thread_bytes"]
