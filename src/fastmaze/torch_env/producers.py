"""Where the torch backend's pool levels come from: `HostLevels` (the C core and its oracles
on the host, into pinned buffers), `DeviceLevels` (`fastmaze.cuda` on the GPU), and
`choose_level_source` between them.

**Levels on the GPU.** With ``level_source="device"`` (the default "auto" picks it on a
CUDA device when `fastmaze.cuda` can run and the spec has no user rules) a block is
generated on the device instead: `fastmaze.cuda.generate` (the C core's bytes),
`fastmaze.cuda.oracles` (BFS, `fastmaze.solve`'s values) and tensor packing, all queued on
the side stream, in place of the two host buffers; the pool and refill rule are the same,
and no level data passes through the host. Otherwise (CPU, rules, no numba or driver) the
host path runs, with one warning saying why when CUDA was asked for.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from fastmaze.levels import Levels, generate_into
from fastmaze.solve import Oracles, solve
from fastmaze.spec import AnySpec
from fastmaze.torch_env.board import AMB, COLOR, DECOY, EXIT, OPT, START, pack, padded

if TYPE_CHECKING:
    from fastmaze.torch_env.env import TorchVecMazeEnv

LEVEL_SOURCES = ("auto", "host", "device")


def choose_level_source(requested: Any, device: torch.device, spec: AnySpec) -> tuple[str, str]:
    """("host" | "device", why not "device": "" when it is used or was not asked for).

    "auto" is "device" on a CUDA device when `fastmaze.cuda` can run there and the spec
    has no rules, off-path decoys or false exits, else "host"; "device" where that is
    impossible is a ValueError."""
    if requested not in LEVEL_SOURCES:
        raise ValueError(f"level_source: {requested!r}; expected one of {', '.join(LEVEL_SOURCES)}")
    if requested == "host":
        return "host", ""
    if device.type != "cuda":
        if requested == "device":
            raise ValueError(f"level_source='device' needs a CUDA device, got {device}")
        return "host", ""
    why = ""
    if spec.has_rules:
        why = "the spec has user rules (fastmaze.rules), which run on the host"
    elif any(s.decoy_placement != "anywhere" or s.false_exits for s, _ in spec.components):
        why = "off-path decoys and false exits are placed by the host core"
    else:
        import fastmaze.cuda

        avail = fastmaze.cuda.available()
        if not avail:
            why = f"fastmaze.cuda cannot run: {avail.reason}"
        elif avail.simulator:
            why = "Numba's CUDA simulator is on (NUMBA_ENABLE_CUDASIM=1), not the GPU"
    if why and requested == "device":
        raise ValueError(f"level_source='device': {why}")
    return ("host", why) if why else ("device", "")


class HostLevels:
    """Host side of the pool: generates blocks of levels with their oracles into two
    (pinned) buffers, sq uint8 [B, H·W] and meta int32 [B, 3], one block at a time.

    Public calls only: `fastmaze.levels.Levels.empty` staging arrays filled in place by
    `fastmaze.levels.generate_into` (level ids first_id + pos ..), and `fastmaze.solve` (into
    a reused `Oracles`) for ``optimal_length`` (its ``path_length``) and ``ambiguous``: the
    same BFS definitions as the native env's, checked level by level in the tests."""

    def __init__(self, env: TorchVecMazeEnv, block: int, pin: bool) -> None:
        self.env = env
        H, W = env.maze_spec.shape
        self.levels = Levels.empty(env.maze_spec, env.seed, np.zeros(block, np.int64))
        self.oracles: dict[int, Oracles] = {}  # by block length (a last partial block differs)
        self.arange = np.arange(block, dtype=np.int64)
        self.sq = [torch.zeros((block, padded(H * W)), dtype=torch.uint8) for _ in range(2)]
        self.meta = [torch.empty((block, 3), dtype=torch.int32) for _ in range(2)]
        if pin:
            self.sq = [t.pin_memory() for t in self.sq]
            self.meta = [t.pin_memory() for t in self.meta]
        self.copied: list[Any] = [None, None]  # CUDA event: the buffer's last upload is done

    def produce(self, buf: int, pos: int, count: int) -> tuple[int, int, int]:
        """Fills buffer ``buf`` with stream positions pos .. pos+count-1 (worker thread).
        Positions of one block never wrap: with num_levels=K, pos + count <= K."""
        if self.copied[buf] is not None:
            self.copied[buf].synchronize()
        env = self.env
        H, W = env.maze_spec.shape
        if self.levels.seed != env.seed:
            self.levels = Levels.empty(env.maze_spec, env.seed, self.levels.ids)
        lv = self.levels[:count]
        np.add(self.arange[:count], env.first_id + pos, out=lv.ids)
        threads = env.num_threads if count >= 512 else 1  # a team costs more than a few levels
        generate_into(env.maze_spec, env.seed, env.first_id + pos, lv, threads)
        threads = env.num_threads if count >= 64 else 1
        oracles = solve(lv, threads, out=self.oracles.get(count))
        self.oracles[count] = oracles
        sq = self.sq[buf][:count, : H * W].numpy()
        np.bitwise_and(lv.color.reshape(count, H * W), COLOR, out=sq)
        sq |= (lv.grid.reshape(count, H * W) != 0).view(np.uint8) << 5
        rows, k = np.nonzero(np.arange(lv.decoys.shape[1]) < lv.n_decoys[:, None])
        if len(rows):
            d = lv.decoys[rows, k]
            sq[rows, d[:, 0] * W + d[:, 1]] |= DECOY
        sq[self.arange[:count], lv.exit[:, 0] * W + lv.exit[:, 1]] |= EXIT
        meta = self.meta[buf][:count].numpy()
        meta[:, START] = lv.start[:, 0] * W + lv.start[:, 1]
        meta[:, OPT] = oracles.path_length
        meta[:, AMB] = oracles.ambiguous
        return buf, pos, count


class DeviceLevels:
    """Device side of the pool (``level_source="device"``): generates each block on the GPU
    with `fastmaze.cuda.generate` (level ids first_id + pos ..), computes ``optimal_length`` /
    ``ambiguous`` with `fastmaze.cuda.oracles`, and packs them (`pack`) into two device
    buffers, the same bytes as `HostLevels`. Everything is queued on the env's side
    stream, in order with the uploads that read the buffers: no host sync, no level data
    through the host. A level that could not be placed (``check=False``) is recorded in
    ``failed`` (device bool), raised by `TorchVecMazeEnv.check`.

    ``generate(spec, n, seed, start)`` and ``oracles(levels)`` replace the CUDA calls (tests:
    the same producer on CPU tensors)."""

    def __init__(
        self,
        env: TorchVecMazeEnv,
        block: int,
        generate: Any = None,
        oracles: Any = None,
    ) -> None:
        self.env = env
        H, W = env.maze_spec.shape
        dev = env.device
        self.sq = [torch.zeros((block, padded(H * W)), dtype=torch.uint8, device=dev)
                   for _ in range(2)]  # fmt: skip
        self.meta = [torch.zeros((block, 3), dtype=torch.int32, device=dev) for _ in range(2)]
        self.work = torch.zeros((block, H * W + 1), dtype=torch.uint8, device=dev)
        self.failed = torch.zeros((), dtype=torch.bool, device=dev)
        self.copied: list[Any] = [None, None]  # (stream order makes events unnecessary)
        import fastmaze.cuda  # (imports neither numba nor torch by itself)

        def cuda_generate(spec: AnySpec, n: int, seed: int, start: int) -> Any:
            return fastmaze.cuda.generate(spec, n, seed, start, device=dev, check=False)

        self.generate = cuda_generate if generate is None else generate
        self.oracles = fastmaze.cuda.oracles if oracles is None else oracles

    def produce(self, buf: int, pos: int, count: int) -> tuple[int, int, int]:
        """Queues the filling of buffer ``buf`` with positions pos .. pos+count-1 (which
        never wrap, as in `HostLevels.produce`)."""
        env = self.env
        with contextlib.ExitStack() as ctx:
            if env._cuda:  # (this may be the worker thread: set its device and stream)
                ctx.enter_context(torch.cuda.device(env.device))
                ctx.enter_context(torch.cuda.stream(env._side))
            lv = self.generate(env.maze_spec, count, env.seed, env.first_id + pos)
            path_length, ambiguous = self.oracles(lv)
            pack(lv.grid, lv.color, lv.start, lv.exit, lv.decoys, lv.n_decoys, path_length,
                  ambiguous, self.sq[buf], self.meta[buf], self.work)  # fmt: skip
            if getattr(lv, "failed", None) is not None:
                self.failed |= lv.failed.reshape(()) < count
        return buf, pos, count
