"""Shortest-path oracles on the GPU: ``path_length`` and ``ambiguous`` of every level, by
breadth-first search, one level per thread, equal to those of `fastmaze.solve`.

- ``path_length``: int32 [n], BFS steps from the start to the exit, -1 if unreachable.
- ``ambiguous``: bool [n], some decoy d (of the first ``n_decoys``) reachable from the start
  with dist(start, d) + dist(d, exit) == dist(start, exit), the exit being reachable.

Per level: one BFS from the exit (distances ``de``) that stops when it dequeues the start,
then, if the exit is reachable and the level has decoys, one BFS from the start (``ds``)
that stops expanding at distance ``path_length``. A decoy on a shortest path lies within
``path_length`` of both ends, so its two distances are final by then; the others are
either final or unreached, and fail the test either way. Boards are
loaded *padded* (one ring of wall around the board, width ``Wp = W + 2``), as in
``csrc/solve.c``, so a move is a flat offset and never leaves the array. Distances are int32
(no overflow on any board), integer arithmetic only; the kernel allocates nothing: its
scratch comes in as 1-D views of preallocated ``[padded, threads]`` global arrays.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import numpy as np
from numba import cuda  # a module global: the simulator swaps it in kernels

from fastmaze.cuda import config

#: Distance marks of a loaded board: a floor square not reached (yet), a wall.
FLOOR, WALL = -1, -2
SCRATCH = ("de", "ds", "queue")  # per-thread int32 arrays of `padded` entries


def build(jit: Callable) -> SimpleNamespace:
    """The per-level device functions compiled with ``jit`` (``numba.cuda.jit(device=True)``
    or ``numba.njit``)."""

    @jit
    def load(grid, k, H, W, Wp, d):
        """Board k of grid into d (padded): WALL on walls and the ring, FLOOR elsewhere."""
        for r in range(H + 2):
            for c in range(Wp):
                p = r * Wp + c
                if r == 0 or r > H or c == 0 or c > W:
                    d[p] = WALL
                elif grid[k, r - 1, c - 1] != 0:
                    d[p] = WALL
                else:
                    d[p] = FLOOR

    @jit
    def square(r, c, H, W, Wp):
        """Padded index of board square (r, c); -1 off the board."""
        if r < 0 or r >= H or c < 0 or c >= W:
            return -1
        return (r + 1) * Wp + c + 1

    @jit
    def bfs(d, source, Wp, limit, target, queue):
        """Distances from ``source`` (a FLOOR square) over loaded board d, expanding only
        squares nearer than ``limit`` (-1: no limit), and stopping when square ``target``
        (-1: none) is dequeued. Squares at most ``limit`` away, or at most as far as
        ``target``, then hold their final distance; farther ones may still read FLOOR."""
        d[source] = 0
        queue[0] = source
        head = 0
        tail = 1
        while head < tail:
            v = np.int64(queue[head])
            head += 1
            dv = np.int64(d[v])
            if v == target or (limit >= 0 and dv >= limit):
                break
            for i in range(4):
                if i == 0:
                    u = v - Wp
                elif i == 1:
                    u = v + 1
                elif i == 2:
                    u = v + Wp
                else:
                    u = v - 1
                if d[u] == FLOOR:
                    d[u] = dv + 1
                    queue[tail] = u
                    tail += 1

    @jit
    def distance(d, r, c, H, W, Wp):
        """Steps to board square (r, c) in d; -1 off the board, on a wall or unreached."""
        p = square(r, c, H, W, Wp)
        if p < 0:
            return -1
        v = np.int64(d[p])
        return v if v >= 0 else -1

    @jit
    def level(k, H, W, Wp, D, grid, start, exit_, decoys, n_decoys, path_length, ambiguous,
              de, ds, queue):  # fmt: skip
        """path_length[k] and ambiguous[k] of level k."""
        sr = np.int64(start[k, 0])
        sc = np.int64(start[k, 1])
        load(grid, k, H, W, Wp, de)
        p = square(np.int64(exit_[k, 0]), np.int64(exit_[k, 1]), H, W, Wp)
        if p >= 0 and de[p] == FLOOR:
            bfs(de, p, Wp, -1, square(sr, sc, H, W, Wp), queue)
        length = distance(de, sr, sc, H, W, Wp)
        path_length[k] = length
        n_dec = np.int64(n_decoys[k])
        if n_dec > D:
            n_dec = D
        amb = False
        if length >= 0 and n_dec > 0:
            load(grid, k, H, W, Wp, ds)
            bfs(ds, square(sr, sc, H, W, Wp), Wp, length, -1, queue)
            for t in range(n_dec):
                r = np.int64(decoys[k, t, 0])
                c = np.int64(decoys[k, t, 1])
                to_decoy = distance(ds, r, c, H, W, Wp)
                to_exit = distance(de, r, c, H, W, Wp)
                if to_decoy >= 0 and to_exit >= 0 and to_decoy + to_exit == length:
                    amb = True
        ambiguous[k] = amb

    return SimpleNamespace(load=load, square=square, bfs=bfs, distance=distance, level=level)


def build_kernel(jit_device: Callable, jit_kernel: Callable) -> tuple[Callable, Callable]:
    """(the Python kernel function, the jitted kernel) for numba.cuda: a grid-stride loop,
    level k on thread k mod threads, scratch column t of the ``[padded, threads]`` arrays."""
    level = build(jit_device).level

    def oracles_kernel(n, H, W, Wp, D, grid, start, exit_, decoys, n_decoys, path_length,
                       ambiguous, s_de, s_ds, s_queue):  # fmt: skip
        t = cuda.grid(1)
        T = cuda.gridsize(1)
        if t >= n:
            return
        de = s_de[:, t]
        ds = s_ds[:, t]
        queue = s_queue[:, t]
        k = t
        while k < n:
            level(k, H, W, Wp, D, grid, start, exit_, decoys, n_decoys, path_length,
                  ambiguous, de, ds, queue)  # fmt: skip
            k += T

    return oracles_kernel, jit_kernel(oracles_kernel)


def build_cpu(jit: Callable) -> Callable:
    """A serial CPU driver of the same device code (``numba.njit``), for the tests."""
    level = build(jit).level

    @jit
    def oracles_cpu(n, H, W, Wp, D, grid, start, exit_, decoys, n_decoys, path_length,
                    ambiguous, s_de, s_ds, s_queue):  # fmt: skip
        for k in range(n):
            level(k, H, W, Wp, D, grid, start, exit_, decoys, n_decoys, path_length,
                  ambiguous, s_de[:, 0], s_ds[:, 0], s_queue[:, 0])  # fmt: skip

    return oracles_cpu


# -- host side --------------------------------------------------------------------------------
_lock = threading.Lock()
_kernel: Any = None
_cpu: Any = None
_scratch_cache: dict[Any, tuple[int, dict]] = {}


def _get_kernel() -> Any:
    global _kernel
    with _lock:
        if _kernel is None:
            _, _kernel = build_kernel(cuda.jit(**config.DEVICE_JIT), cuda.jit(**config.KERNEL_JIT))
        return _kernel


def per_thread_bytes(H: int, W: int) -> int:
    """Device scratch of one thread for H × W boards, in bytes."""
    return len(SCRATCH) * 4 * (H + 2) * (W + 2)


def _threads(n: int, H: int, W: int, threads: int | None, sm_count: int) -> int:
    tpb = config.THREADS_PER_BLOCK
    if threads is None:
        cap = min(sm_count * config.THREADS_PER_SM, config.SCRATCH_BUDGET // per_thread_bytes(H, W))
        threads = max(tpb, cap // tpb * tpb)
    return max(1, min(n, threads))


def _scratch(be: Any, padded: int, threads: int) -> dict:
    """Preallocated per-thread scratch, reused by later calls on the same device and stream."""
    key = (be.key, padded)
    with _lock:
        hit = _scratch_cache.get(key)
    if hit is None or hit[0] < threads:
        hit = (threads, {k: be.empty((padded, threads), np.int32) for k in SCRATCH})
        with _lock:
            _scratch_cache[key] = hit
    return hit[1]


def _backend(levels: Any, device: Any) -> Any:
    from fastmaze.cuda import launch

    if launch._use_torch():
        index = levels.grid.device.index if device is None else launch._device_index(device)
        return launch._Torch(index)
    return launch._Numba(0 if device is None else launch._device_index(device))


def _shapes(levels: Any) -> tuple[int, int, int, int]:
    """(n, H, W, D) of a level batch, its arrays' shapes checked."""
    n, H, W = (int(s) for s in levels.grid.shape)
    D = int(levels.decoys.shape[1])
    want = {"start": (n, 2), "exit": (n, 2), "decoys": (n, D, 2), "n_decoys": (n,)}
    for name, shape in want.items():
        got = tuple(int(s) for s in getattr(levels, name).shape)
        if got != shape:
            raise ValueError(f"levels.{name}: shape {got}, expected {shape}")
    return n, H, W, D


def oracles(levels: Any, device: Any = None, *, threads: int | None = None) -> tuple[Any, Any]:
    """``(path_length int32 [n], ambiguous bool [n])`` of device levels (a
    `fastmaze.cuda.DeviceLevels`, or any object with its ``grid``, ``start``, ``exit``,
    ``decoys`` and ``n_decoys`` arrays on the device), as device arrays of the same kind
    (torch CUDA tensors, or numba device arrays), launched on torch's current stream with
    no sync. Equal to `fastmaze.solve`'s ``path_length`` and ``ambiguous`` for valid levels
    (start, exit and decoys on floor squares; `fastmaze.solve` checks that, this does not).
    """
    from fastmaze.validate import check_int

    n, H, W, D = _shapes(levels)
    if threads is not None:
        threads = check_int("threads", threads, 1, 2**31 - 1)
    be = _backend(levels, device)
    Wp, padded = W + 2, (H + 2) * (W + 2)
    with be.context():
        path_length = be.empty((n,), np.int32)
        ambiguous = be.empty((n,), np.bool_)
        if n:
            T = _threads(n, H, W, threads, be.sm_count)
            scratch = _scratch(be, padded, T)
            decoys = levels.decoys if D else be.empty((n, 1, 2), np.int32)
            args = (np.int64(n), np.int64(H), np.int64(W), np.int64(Wp), np.int64(D),
                    *(be.view(a) for a in (levels.grid, levels.start, levels.exit, decoys,
                                           levels.n_decoys, path_length, ambiguous)),
                    *(be.view(scratch[k]) for k in SCRATCH))  # fmt: skip
            tpb = config.THREADS_PER_BLOCK
            _get_kernel()[(T + tpb - 1) // tpb, tpb, be.launch_stream()](*args)
    return path_length, ambiguous


def _oracles_cpu(levels: Any) -> tuple[np.ndarray, np.ndarray]:
    """The device code compiled by ``numba.njit``, run serially on host levels (tests)."""
    global _cpu
    with _lock:
        if _cpu is None:
            import numba

            _cpu = build_cpu(numba.njit(**config.CPU_JIT))
    n, H, W, D = _shapes(levels)
    padded = (H + 2) * (W + 2)
    path_length = np.empty(n, np.int32)
    ambiguous = np.empty(n, np.bool_)
    scratch = [np.empty((padded, 1), np.int32) for _ in SCRATCH]
    decoys = levels.decoys if D else np.empty((n, 1, 2), np.int32)
    if n:
        _cpu(n, H, W, W + 2, D, levels.grid, levels.start, levels.exit, decoys,
             levels.n_decoys, path_length, ambiguous, *scratch)  # fmt: skip
    return path_length, ambiguous


__all__ = ["oracles", "per_thread_bytes"]
