"""The torch backend of `fastmaze.VecMazeEnv`: every env's state on a torch device, a step
made of a fixed number of tensor operations (no Python loop over envs, no host sync).

Build it with ``VecMazeEnv(spec, n, backend="torch", device="cuda")`` (or this class). The
semantics (rules, rewards, flags, info, level ids, auto-reset modes) are those of the native
`VecMazeEnv`, documented there once; a test steps both and compares every byte.

**Level pool.** Levels are generated on the host by the compiled core
(`fastmaze.levels.generate_into` into reused `Levels` arrays; `fastmaze.solve` for
``optimal_length`` / ``ambiguous``), packed into (pinned, with CUDA) host buffers and copied
to a pool on the device: a ring of ``pool_size`` slots, refilled in blocks of ``block_size``
levels. Stream position k (the k-th reset since the stream (re)started) lives in slot
k mod pool_size. A background thread generates the next block into the other of two host
buffers while the device consumes the pool (double buffering); the copy runs with
``non_blocking=True`` on a side CUDA stream, and the step's stream waits on it.

The device keeps the reset counter k (a tensor); a step's resets take positions
k + cumsum(reset mask) - 1 (envs in increasing index), as the native backend does. The host
knows k only with a lag (a non-blocking copy read when its CUDA event completes) and bounds
it from above by adding num_envs per call since. **Refill rule:** before a call that may
reset up to num_envs envs, the pool must hold every position up to that bound; the host
uploads blocks whose slots are free (all their former positions below the known k). If the
bound outruns what can be uploaded (the device is many calls ahead of the last counter read
the host has seen, so it cannot tell which slots were consumed), the host reads k
synchronously (one device sync) and refills. Levels are never wrong: a slot is overwritten
only once its position is known to be consumed, and a position is played only after it was
uploaded. The defaults (pool_size = max(4·num_envs, 65,536), block_size ≤ pool_size/4)
keep that sync rare. With ``num_levels=K`` the pool holds the K levels of the training
set, uploaded once per stream start; position k plays slot k mod K, id first_id + k mod K.

**Levels on the GPU.** With ``level_source="device"`` (the default "auto" picks it on a
CUDA device when `fastmaze.cuda` can run and the spec has no user rules) a block is
generated on the device instead: `fastmaze.cuda.generate` (the C core's bytes),
`fastmaze.cuda.oracles` (BFS, `fastmaze.solve`'s values) and tensor packing, all queued on
the side stream, in place of the two host buffers; the pool and refill rule are the same,
and no level data passes through the host. Otherwise (CPU, rules, no numba or driver) the
host path runs, with one warning saying why when CUDA was asked for.

**Invalid actions.** ``step`` checks the shape, dtype and device of ``actions`` (no sync).
Values outside 0..3 are not checked on the hot path: they are clamped into 0..3 and recorded
in a device flag; `check()` syncs and raises ValueError if any were seen (and for a step of
an ended env in ``autoreset_mode="disabled"``, which then leaves that env in place, reward
0, both flags False). ``debug=True`` checks both at every step, with a sync, and raises
before stepping, as the native backend does.

**Outputs** are fresh tensors each call (never overwritten later), on the env's device:
obs uint8 [N, *single_obs_shape], reward float32 [N], terminated / truncated bool [N], info of
tensors [N] (dtypes as the native info; ``same_step`` adds final_obs / final_info and their
masks). Every observation kind of the native backend (symbolic, rgb, egocentric) is drawn
whole from the boards each call, byte for byte as the native one draws it.

**On the CPU** a fresh observation batch of many envs is a fresh large allocation, whose
pages the kernel faults in (and zeroes) at every step: at 65,536 envs that costs more than
drawing it. ``THP_MEM_ALLOC_ENABLE=1`` in the environment before Python starts (PyTorch's
CPU allocator then asks for transparent huge pages) made symbolic steps ~2-3x faster there;
it changes nothing on CUDA, whose caching allocator reuses blocks.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import warnings
from collections import deque
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from fastmaze.env import (
    AUTORESET_MODES,
    INFO_KEYS,
    RENDER_ENVS,
    VecMazeEnv,
    _flag,
    _VectorBase,
    configure,
    draw,
)
from fastmaze.levels import Levels, _check_int, generate_into
from fastmaze.render import _lut
from fastmaze.solve import Oracles, solve
from fastmaze.spec import AnySpec

# A square of a level on the device, one uint8: colour code | DECOY | WALL | EXIT.
COLOR, DECOY, WALL, EXIT = 15, 16, 32, 64
# meta columns of a level: start (flat square index), optimal_length, ambiguous.
_START, _OPT, _AMB = range(3)


def _padded(squares: int) -> int:
    """Bytes of one board row on the device: H·W rounded up to 8, so that whole boards are
    gathered and selected as int64 words (several times faster than bytes on the CPU)."""
    return -(-squares // 8) * 8


_NEXT_STEP, _SAME_STEP, _DISABLED = range(3)
_BAD_ACTION, _ENDED_STEPPED = 1, 2

_TORCH_DTYPES = {
    "reached_exit": torch.bool,
    "reached_decoy": torch.bool,
    "decoy_color": torch.uint8,
    "episode_return": torch.float32,
    "episode_length": torch.int32,
    "level_id": torch.int64,
    "optimal_length": torch.int32,
    "ambiguous": torch.bool,
}


def _device(device: Any) -> torch.device:
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"device: {device!r} is not a torch device ({err})") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device: {device!r}, but CUDA is not available here")
        if dev.index is None:
            dev = torch.device("cuda", torch.cuda.current_device())
    return dev


#: Where the pool's levels come from (the ``level_source`` argument).
LEVEL_SOURCES = ("auto", "host", "device")


def _level_source(requested: Any, device: torch.device, spec: AnySpec) -> tuple[str, str]:
    """("host" | "device", why not "device": "" when it is used or was not asked for).

    "auto" is "device" on a CUDA device when `fastmaze.cuda` can run there and the spec
    has no rules, else "host"; "device" where that is impossible is a ValueError."""
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


def _pack(
    grid: torch.Tensor,
    color: torch.Tensor,
    start: torch.Tensor,
    exit_: torch.Tensor,
    decoys: torch.Tensor,
    n_decoys: torch.Tensor,
    path_length: torch.Tensor,
    ambiguous: torch.Tensor,
    sq: torch.Tensor,
    meta: torch.Tensor,
    work: torch.Tensor,
) -> None:
    """Packs n levels (tensors of `fastmaze.Levels`' dtypes, all on one device) into pool
    rows: ``sq`` uint8 [n, >= H·W] (bytes past H·W untouched) and ``meta`` int32 [n, 3], the
    bytes `_HostLevels.produce` writes. ``work``: uint8 [>= n, H·W + 1] scratch (its last
    column takes the unused decoy slots). Tensor operations only, no host sync."""
    n, H, W = grid.shape
    HW = H * W
    v = work[:n, : HW + 1]
    v[:, :HW].copy_(torch.bitwise_and(color.reshape(n, HW), COLOR))
    v[:, :HW] |= (grid.reshape(n, HW) != 0).to(torch.uint8) << 5  # WALL
    v[:, HW] = 0
    D = decoys.shape[1]
    if D:
        used = torch.arange(D, device=grid.device) < n_decoys.unsqueeze(1)
        at = torch.where(used, (decoys[..., 0] * W + decoys[..., 1]).long(), HW)
        v.scatter_(1, at, v.gather(1, at) | DECOY)
    at = (exit_[:, 0] * W + exit_[:, 1]).long().unsqueeze(1)
    v.scatter_(1, at, v.gather(1, at) | EXIT)
    sq[:n, :HW].copy_(v[:, :HW])
    meta[:n, _START] = start[:, 0] * W + start[:, 1]
    meta[:n, _OPT] = path_length
    meta[:n, _AMB] = ambiguous.to(torch.int32)


class _HostLevels:
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
        self.sq = [torch.zeros((block, _padded(H * W)), dtype=torch.uint8) for _ in range(2)]
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
        meta[:, _START] = lv.start[:, 0] * W + lv.start[:, 1]
        meta[:, _OPT] = oracles.path_length
        meta[:, _AMB] = oracles.ambiguous
        return buf, pos, count


class _DeviceLevels:
    """Device side of the pool (``level_source="device"``): generates each block on the GPU
    with `fastmaze.cuda.generate` (level ids first_id + pos ..), computes ``optimal_length`` /
    ``ambiguous`` with `fastmaze.cuda.oracles`, and packs them (`_pack`) into two device
    buffers, the same bytes as `_HostLevels`. Everything is queued on the env's side
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
        self.sq = [torch.zeros((block, _padded(H * W)), dtype=torch.uint8, device=dev)
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
        never wrap, as in `_HostLevels.produce`)."""
        env = self.env
        with contextlib.ExitStack() as ctx:
            if env._cuda:  # (this may be the worker thread: set its device and stream)
                ctx.enter_context(torch.cuda.device(env.device))
                ctx.enter_context(torch.cuda.stream(env._side))
            lv = self.generate(env.maze_spec, count, env.seed, env.first_id + pos)
            path_length, ambiguous = self.oracles(lv)
            _pack(lv.grid, lv.color, lv.start, lv.exit, lv.decoys, lv.n_decoys, path_length,
                  ambiguous, self.sq[buf], self.meta[buf], self.work)  # fmt: skip
            if getattr(lv, "failed", None) is not None:
                self.failed |= lv.failed.reshape(()) < count
        return buf, pos, count


class TorchVecMazeEnv(_VectorBase):
    """``num_envs`` maze envs stepped with torch tensor operations on ``device``.

    Same arguments and semantics as `fastmaze.VecMazeEnv` (see its docstring), plus:
    ``device`` (default "cuda" if available, else "cpu"), ``pool_size`` / ``block_size``
    (the device level pool and its refill unit, in levels; module docstring), ``debug``
    (check action values and disabled-mode misuse at every step, with a host sync).
    ``level_source``: where pool levels are generated, "host" (C core, then uploaded),
    "device" (`fastmaze.cuda` kernels on the env's CUDA device; a ValueError where they
    cannot run) or "auto" (the default: "device" on a CUDA device when `fastmaze.cuda` can
    run there and the spec has no user rules, else "host", with a warning saying why when
    the device is CUDA); the levels are the same bytes either way.
    ``num_threads``: host threads generating levels. Outputs are fresh tensors every call
    whatever ``copy`` says (there is no buffer to alias). ``actions`` may be a tensor on the
    env's device, or a numpy array or list (copied to the device once, as is a numpy
    ``reset_mask``). ``render_mode``: as `fastmaze.VecMazeEnv` (`render` copies the first
    `fastmaze.env.RENDER_ENVS` boards to the host: a sync).
    """

    def __init__(
        self,
        spec: AnySpec | None = None,
        num_envs: int = 1,
        seed: int = 0,
        obs: str = "symbolic",
        *,
        device: Any = None,
        first_id: int = 0,
        num_levels: int | None = None,
        autoreset_mode: Any = "next_step",
        max_steps: int | None = None,
        step_penalty: float = 0.0,
        proxy_reward: Mapping[str, float] | None = None,
        terminate_on_decoy: bool = False,
        reveal_exit: bool = False,
        hide_colors: bool = False,
        pixels: int = 8,
        radius: int = 2,
        num_threads: int | None = None,
        copy: bool = True,
        render_mode: str | None = None,
        pool_size: int | None = None,
        block_size: int | None = None,
        debug: bool = False,
        level_source: str = "auto",
    ) -> None:
        spec = configure(
            self, spec, num_envs, seed, obs, first_id=first_id, num_levels=num_levels,
            autoreset_mode=autoreset_mode, max_steps=max_steps, step_penalty=step_penalty,
            terminate_on_decoy=terminate_on_decoy, reveal_exit=reveal_exit,
            hide_colors=hide_colors, pixels=pixels, radius=radius, num_threads=num_threads,
            copy=copy, render_mode=render_mode,
        )  # fmt: skip
        if len(spec.palette) > COLOR:
            raise ValueError(f"spec: the torch backend supports at most {COLOR} colours")
        self.device = _device(
            ("cuda" if torch.cuda.is_available() else "cpu") if device is None else device
        )
        self.debug = _flag("debug", debug)
        self._started = False  # a first full reset() gives every env its level
        self._sizes(pool_size, block_size)
        # The native constructor validates proxy_reward and builds the table by colour code.
        self._proxy_np = VecMazeEnv._proxy(self, proxy_reward)  # validates proxy_reward
        self._cuda = self.device.type == "cuda"
        self._side = torch.cuda.Stream(self.device) if self._cuda else None
        self.level_source, why = _level_source(level_source, self.device, spec)
        if why:
            warnings.warn(
                f"fastmaze: the torch backend on {self.device} generates its levels on the host "
                f"(C core, uploaded to the device), not on the GPU: {why}. Pass "
                "level_source='host' to choose that explicitly.",
                RuntimeWarning,
                stacklevel=2,
            )
        self._host: _HostLevels | _DeviceLevels
        if self.level_source == "device":
            self._host = _DeviceLevels(self, self.block_size)
        else:
            self._host = _HostLevels(self, self.block_size, self._cuda)
        self._allocate()
        self._setup_gym()
        self._executor = concurrent.futures.ThreadPoolExecutor(1, "fastmaze-levels")
        self.sync_refills = 0  # times the refill rule had to read the counter synchronously
        self._min_lag = 0  # tests: counter reads become visible only this many calls later
        self._restart()

    # -- construction ----------------------------------------------------------------------
    def _sizes(self, pool_size: int | None, block_size: int | None) -> None:
        n = self.num_envs
        if self.num_levels is not None:
            self.pool_size = self.num_levels
            default_block = min(self.num_levels, 65536)
        else:
            self.pool_size = (
                max(4 * n, 65536)
                if pool_size is None
                else _check_int("pool_size", pool_size, 2, 2**40)
            )
            default_block = max(1, min(max(4096, n), self.pool_size // 4))
        self.block_size = (
            default_block
            if block_size is None
            else _check_int("block_size", block_size, 1, self.pool_size)
        )
        if self.num_levels is None and self.pool_size < n + self.block_size:
            raise ValueError(
                f"pool_size: {self.pool_size} levels; the streaming pool needs at least "
                f"num_envs + block_size = {n} + {self.block_size}"
            )

    @property
    def single_obs_shape(self) -> tuple[int, ...]:
        return VecMazeEnv.single_obs_shape.fget(self)  # the same shapes by definition

    def _allocate(self) -> None:
        n, dev = self.num_envs, self.device
        H, W = self.maze_spec.shape
        zeros = torch.zeros
        # Boards (uint8 squares, rows padded to 8 bytes): the pool's, and each env's as int64
        # words (self._sq) with a byte view (self._sq8) for lookups and drawing.
        self._pool_sq = zeros((self.pool_size, _padded(H * W)), dtype=torch.uint8, device=dev)
        self._pool_meta = zeros((self.pool_size, 3), dtype=torch.int32, device=dev)
        self._sq = zeros((n, _padded(H * W) // 8), dtype=torch.int64, device=dev)
        self._pos = zeros(n, dtype=torch.int64, device=dev)  # agent, flat square index
        self._seen = zeros(n, dtype=torch.int64, device=dev)
        self._pending = zeros(n, dtype=torch.bool, device=dev)
        self._info = {k: zeros(n, dtype=_TORCH_DTYPES[k], device=dev) for k in INFO_KEYS}
        self.obs = zeros((n, *self.single_obs_shape), dtype=torch.uint8, device=dev)
        self.rewards = zeros(n, dtype=torch.float32, device=dev)
        self.terminations = zeros(n, dtype=torch.bool, device=dev)
        self.truncations = zeros(n, dtype=torch.bool, device=dev)
        self._k = zeros((), dtype=torch.int64, device=dev)  # resets since the stream start
        self._errors = zeros((), dtype=torch.int64, device=dev)
        # Typed scalars for torch.where: no conversion of a Python number at every call.
        self._zero = {t: zeros((), dtype=t, device=dev) for t in _TORCH_DTYPES.values()}
        self._one = torch.ones((), dtype=torch.float32, device=dev)
        self._offset = torch.tensor([-W, 1, W, -1], dtype=torch.int64, device=dev)  # by action
        self._proxy = torch.from_numpy(self._proxy_np).to(dev)
        self._base = torch.tensor(
            np.float32(0.0) - np.float32(self.step_penalty), dtype=torch.float32, device=dev
        )
        self._drawing_tables()
        self._reads: list[torch.Tensor] = [torch.zeros((), dtype=torch.int64) for _ in range(8)]
        if self.device.type == "cuda":
            self._reads = [t.pin_memory() for t in self._reads]

    def _drawing_tables(self) -> None:
        """Tables and index offsets of the drawing: what a square byte (colour | DECOY | WALL
        | EXIT) shows, as the native renderers decide it (csrc/render.c, csrc/step.c)."""
        n, dev, spec = self.num_envs, self.device, self.maze_spec
        H, W = spec.shape
        P = len(spec.palette)
        per_env = int(np.prod(self.single_obs_shape))
        env_at = torch.arange(n, dtype=torch.int64, device=dev) * per_env
        byte = np.arange(256)
        wall, code = (byte & WALL) != 0, byte & COLOR
        shown = (code >= 1) & (code <= P) & (not self.hide_colors)  # a colour is drawn
        if self.obs_kind == "symbolic":
            self._agent_at = env_at + H * W  # the agent plane
            self._scratch = torch.empty((n, H * W), dtype=torch.uint8, device=dev)
            self._codes = torch.arange(1, P + 1, dtype=torch.uint8, device=dev).view(1, P, 1)
        elif self.obs_kind == "rgb":
            px = self.pixels
            entry = np.where(wall, P + 1, np.where(shown, code, 0))  # of render._lut's rows
            lut = _lut(spec.palette)
            self._rgb_lut = torch.from_numpy(lut[entry]).to(dev)  # [256, 3]
            # The agent: an AGENT_RGB square inset by (px + 1) // 4 in its square.
            inset = (px + 1) // 4
            side, width = px - 2 * inset, W * px
            ch, i, j = np.meshgrid(np.arange(3), np.arange(side), np.arange(side), indexing="ij")
            offs = ch * H * px * width + (inset + i) * width + inset + j
            self._inset = torch.from_numpy(offs.reshape(-1).astype(np.int64)).to(dev)
            self._inset_rgb = torch.from_numpy(lut[P + 2][ch.reshape(-1)]).to(dev)
            self._env_at = env_at
        else:
            r, C = self.radius, self.single_obs_shape[0]
            d = np.arange(-r, r + 1)
            self._ego_dr = torch.from_numpy(np.repeat(d, 2 * r + 1)).to(dev)  # window i·S + j
            self._ego_dc = torch.from_numpy(np.tile(d, 2 * r + 1)).to(dev)
            table = np.zeros((256, C), np.uint8)
            table[:, 0] = wall
            for c in range(1, P + 1):
                table[:, 1 + c] = shown & (code == c)
            if self.reveal_exit:
                table[:, C - 1] = (byte & EXIT) != 0
            self._ego_lut = torch.from_numpy(table).to(dev)
            self._wall = torch.tensor(WALL, dtype=torch.uint8, device=dev)

    _setup_gym = VecMazeEnv._setup_gym  # the same spaces and metadata by definition

    # -- the level pool --------------------------------------------------------------------
    def _restart(self) -> None:
        """(Re)starts the stream at position 0 (first_id) with ``self.seed``."""
        future = getattr(self, "_future", None)
        if future is not None:
            future.result()
        if self._cuda:  # uploads on the side stream must not race queued reads of the pool
            self._side.wait_stream(torch.cuda.current_stream(self.device))
        self._k.zero_()
        self._filled = 0  # positions 0 .. _filled-1 were uploaded
        self._k_lo = 0  # a position below it is consumed: the counter, as last read
        self._calls = 0  # consuming calls since the start
        self._bound = 0  # sum of num_envs over those calls: k <= _k_lo + _bound - _bound_lo
        self._bound_lo = 0
        self._inflight: deque = deque()  # (read buffer, CUDA event, _bound at read, call)
        self._buf = 0
        self._future = None
        if self.num_levels is not None:
            while self._filled < self.num_levels:
                self._upload(self._produce_now())
        else:
            self._prefetch()

    def _next_count(self) -> int:
        if self.num_levels is not None:
            return min(self.block_size, self.num_levels - self._filled)
        return self.block_size

    def _produce_now(self) -> tuple[int, int, int]:
        return self._host.produce(self._buf, self._filled, self._next_count())

    def _prefetch(self) -> None:
        """Starts generating the next block in the background (streaming pool only)."""
        if self.num_levels is None and self._future is None:
            self._future = self._executor.submit(
                self._host.produce, self._buf, self._filled, self._next_count()
            )

    def _upload(self, block: tuple[int, int, int]) -> None:
        """Copies a produced block into its ring slots (side stream with CUDA)."""
        buf, pos, count = block
        assert pos == self._filled
        R = self.pool_size
        parts = []
        lo = pos % R
        first = min(count, R - lo)
        parts.append((lo, 0, first))
        if first < count:
            parts.append((0, first, count - first))
        sq, meta = self._host.sq[buf], self._host.meta[buf]
        if self._cuda:
            with torch.cuda.stream(self._side):
                for slot, off, m in parts:
                    self._pool_sq[slot : slot + m].copy_(sq[off : off + m], non_blocking=True)
                    self._pool_meta[slot : slot + m].copy_(meta[off : off + m], non_blocking=True)
                event = torch.cuda.Event()
                event.record(self._side)
            torch.cuda.current_stream(self.device).wait_event(event)
            self._host.copied[buf] = event
        else:
            for slot, off, m in parts:
                self._pool_sq[slot : slot + m].copy_(sq[off : off + m])
                self._pool_meta[slot : slot + m].copy_(meta[off : off + m])
        self._filled += count
        self._buf = 1 - buf

    def _poll(self) -> None:
        """Takes in the counter reads that have arrived (without waiting)."""
        while self._inflight:
            value, event, bound, call = self._inflight[0]
            ready = self._calls - call >= self._min_lag and (event is None or event.query())
            if not ready:
                break
            self._inflight.popleft()
            self._k_lo, self._bound_lo = int(value), bound

    def _read_counter(self) -> None:
        """Queues a non-blocking copy of the counter to the host."""
        if len(self._inflight) == len(self._reads):
            return
        value = self._reads[self._calls % len(self._reads)]
        value.copy_(self._k, non_blocking=self._cuda)
        event = None
        if self._cuda:
            event = torch.cuda.Event()
            event.record(torch.cuda.current_stream(self.device))
        self._inflight.append((value, event, self._bound, self._calls))

    def _room(self) -> bool:
        """Whether the next block's slots only held positions known to be consumed."""
        return self._filled + self._next_count() <= self._k_lo + self.pool_size

    def _ensure(self, resets: int) -> None:
        """Makes the pool hold every position a call resetting up to ``resets`` envs may
        take (the refill rule of the module docstring)."""
        if self.num_levels is not None:
            return
        self._poll()
        need = self._k_lo + (self._bound - self._bound_lo) + resets
        while self._filled < need:
            if not self._room():  # the host cannot tell which slots are free: sync once
                self.sync_refills += 1
                self._inflight.clear()
                self._k_lo, self._bound_lo = int(self._k), self._bound
                need = self._k_lo + resets
                continue
            block = self._future.result() if self._future is not None else self._produce_now()
            self._future = None
            self._upload(block)
            self._prefetch()

    def _top_up(self) -> None:
        """After a call: uploads the prefetched block if it is ready and has room."""
        if self.num_levels is not None:
            return
        self._poll()
        while self._future is not None and self._future.done() and self._room():
            block = self._future.result()
            self._future = None
            self._upload(block)
            self._prefetch()

    def _consumed(self, resets: int) -> None:
        self._calls += 1
        self._bound += resets
        self._read_counter()
        self._top_up()

    # -- one step's tensor work ------------------------------------------------------------
    def _render(self, sq: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
        """uint8 [N, *single_obs_shape]: the observations of boards sq (int64 words of the
        padded uint8 [N, H·W] boards) with the agents at pos [N] (flat square index)."""
        if self.obs_kind == "rgb":
            return self._render_rgb(sq, pos)
        if self.obs_kind == "egocentric":
            return self._render_ego(sq, pos)
        return self._render_symbolic(sq, pos)

    def _render_rgb(self, sq: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
        """uint8 [N, 3, H·px, W·px]: each square's colour (a 256-entry table of the square
        byte) spread over px pixels of one image row, that row copied down px times (whole
        rows: several times faster on the CPU than one copy broadcasting both ways), then
        the agent's inset square written at precomputed offsets."""
        n, (H, W), px = sq.shape[0], self.maze_spec.shape, self.pixels
        rgb = self._rgb_lut[sq.view(torch.uint8)[:, : H * W].long()]  # [N, H·W, 3]
        rgb = rgb.view(n, H, W, 3).permute(0, 3, 1, 2).unsqueeze(4)  # [N, 3, H, W, 1]
        row = rgb.expand(n, 3, H, W, px).reshape(n, 3, H, 1, W * px)
        out = torch.empty((n, 3, H, px, W * px), dtype=torch.uint8, device=self.device)
        out.copy_(row.expand_as(out))
        row = torch.div(pos, W, rounding_mode="floor")
        corner = self._env_at + row * (px * px * W) + (pos - row * W) * px
        out.view(-1)[corner.unsqueeze(1) + self._inset] = self._inset_rgb
        return out.view(n, 3, H * px, W * px)

    def _render_ego(self, sq: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
        """uint8 [N, C, S, S], S = 2·radius + 1: the window's squares gathered from the
        boards (wall outside them), their planes from a 256-entry table, the agent at the
        centre."""
        n, (H, W), r = sq.shape[0], self.maze_spec.shape, self.radius
        S, C = 2 * r + 1, self.single_obs_shape[0]
        row = torch.div(pos, W, rounding_mode="floor")
        rows = row.unsqueeze(1) + self._ego_dr  # [N, S·S]
        cols = (pos - row * W).unsqueeze(1) + self._ego_dc
        inside = (rows >= 0) & (rows < H) & (cols >= 0) & (cols < W)
        at = rows.clamp_(0, H - 1).mul_(W).add_(cols.clamp_(0, W - 1))
        square = torch.where(inside, sq.view(torch.uint8).gather(1, at), self._wall)
        planes = self._ego_lut[square.long()]  # [N, S·S, C]
        planes[:, r * S + r, 1] = 1  # the agent, at the centre
        return planes.view(n, S, S, C).permute(0, 3, 1, 2).contiguous()

    def _render_symbolic(self, sq: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
        """uint8 [N, C, H, W]: the symbolic planes of boards sq, agent at pos [N].

        Outputs are fresh tensors, so a step writes a whole observation anyway: drawing it
        from the boards costs no more than copying the last one and updating the two squares
        the agent left and entered. Each plane group is one op writing uint8 (no bool casts):
        the wall bit through a reused scratch board, every colour plane in one broadcast
        comparison against the codes 1..P."""
        n, HW = sq.shape[0], self.maze_spec.shape[0] * self.maze_spec.shape[1]
        sq = sq.view(torch.uint8)[:, :HW]
        C, P = self.single_obs_shape[0], len(self.maze_spec.palette)
        out = torch.empty((n, C, HW), dtype=torch.uint8, device=self.device)
        bits = self._scratch
        torch.ne(torch.bitwise_and(sq, WALL, out=bits), 0, out=out[:, 0])
        out[:, 1].zero_()
        if self.hide_colors:
            out[:, 2 : 2 + P].zero_()
        elif P:
            code = torch.bitwise_and(sq, COLOR, out=bits).unsqueeze(1)
            torch.eq(code, self._codes, out=out[:, 2 : 2 + P])
        if self.reveal_exit:
            torch.ne(torch.bitwise_and(sq, EXIT, out=bits), 0, out=out[:, -1])
        out.view(-1)[self._agent_at + pos] = 1
        return out.view(n, *self.single_obs_shape)

    def _load(self, res: torch.Tensor, info: dict[str, torch.Tensor]) -> None:
        """Envs of mask ``res`` [N] start the next levels of the stream, in env order:
        updates the state and ``info`` (the dict)."""
        k = self._k + torch.cumsum(res, 0) - 1
        self._k = self._k + res.sum()
        R = self.pool_size
        slot = torch.remainder(k, R)
        meta = torch.index_select(self._pool_meta, 0, slot)
        fresh = torch.index_select(self._pool_sq.view(torch.int64), 0, slot)
        self._sq = torch.where(res.unsqueeze(1), fresh, self._sq)
        self._pos = torch.where(res, meta[:, _START].long(), self._pos)
        ids = self.first_id + (k if self.num_levels is None else torch.remainder(k, R))
        zero = self._zero
        info["level_id"] = torch.where(res, ids, info["level_id"])
        info["optimal_length"] = torch.where(res, meta[:, _OPT], info["optimal_length"])
        info["ambiguous"] = torch.where(res, meta[:, _AMB] != 0, info["ambiguous"])
        info["reached_exit"] = info["reached_exit"] & ~res
        info["reached_decoy"] = info["reached_decoy"] & ~res
        info["decoy_color"] = torch.where(res, zero[torch.uint8], info["decoy_color"])
        info["episode_return"] = torch.where(res, zero[torch.float32], info["episode_return"])
        info["episode_length"] = torch.where(res, zero[torch.int32], info["episode_length"])
        self._seen = torch.where(res, zero[torch.int64], self._seen)
        self._pending = self._pending & ~res

    # -- the API ---------------------------------------------------------------------------
    @property
    def next_id(self) -> int:
        """The id the next reset of an env will play (reads the device counter: a sync)."""
        k = int(self._k)
        return self.first_id + (k if self.num_levels is None else k % self.num_levels)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[torch.Tensor, dict[str, Any]]:
        """Starts new episodes: every env, or those of ``options["reset_mask"]`` (bool
        tensor [num_envs] on the env's device). ``seed`` restarts the level stream.
        Returns (obs, info)."""
        if seed is not None:
            self.seed = _check_int("seed", seed, 0, 2**64 - 1)
            self._restart()
        mask = (options or {}).get("reset_mask")
        if mask is None:
            res = torch.ones(self.num_envs, dtype=torch.bool, device=self.device)
            self._started = True
        else:
            res = self._check_tensor("options['reset_mask']", mask, (torch.bool,), "bool")
        self._ensure(self.num_envs)
        info = dict(self._info)
        self._load(res, info)
        self._consumed(self.num_envs)
        self.obs, self._info = self._render(self._sq, self._pos), info
        self.rewards = torch.where(res, self._zero[torch.float32], self.rewards)
        self.terminations = self.terminations & ~res
        self.truncations = self.truncations & ~res
        return self.obs, dict(self._info)

    def _check_tensor(
        self, what: str, value: Any, dtypes: tuple[torch.dtype, ...] | None, expected: str
    ) -> torch.Tensor:
        if isinstance(value, (np.ndarray, list, tuple)):  # one copy to the device
            value = torch.as_tensor(np.asarray(value), device=self.device)
        if not isinstance(value, torch.Tensor):
            raise ValueError(
                f"{what}: expected a torch tensor of {expected} [{self.num_envs}] on "
                f"{self.device} (or a numpy array or list), got {type(value).__name__}"
            )
        if tuple(value.shape) != (self.num_envs,):
            raise ValueError(f"{what}: shape {tuple(value.shape)}, expected ({self.num_envs},)")
        bad_dtype = (
            value.dtype not in dtypes
            if dtypes is not None
            else (value.dtype == torch.bool or value.dtype.is_floating_point or value.is_complex())
        )
        if bad_dtype:
            raise ValueError(f"{what}: dtype {value.dtype}, expected {expected}")
        if value.device != self.device:
            raise ValueError(
                f"{what}: on device {value.device}, expected {self.device} (the env's device)"
            )
        return value

    def _check_actions(self, actions: Any) -> torch.Tensor:
        a = self._check_tensor("actions", actions, None, "an integer dtype").long()
        clamped = a.clamp(0, 3)
        bad = clamped != a
        if self.debug and bool(bad.any()):
            e = int(bad.int().argmax())
            raise ValueError(
                f"actions: {int(a[e])} at env {e}; expected 0 up, 1 right, 2 down, 3 left"
            )
        self._errors.bitwise_or_(bad.any())  # True is _BAD_ACTION (1)
        return clamped

    def check(self) -> None:
        """Raises ValueError if an action outside 0..3 was given, or an ended env was stepped
        with autoreset disabled, since the last check (a device sync); clears the record.
        With levels generated on the device, RuntimeError if one could not be placed."""
        errors = int(self._errors)
        self._errors.zero_()
        if isinstance(self._host, _DeviceLevels):
            if self._cuda:
                self._side.synchronize()
            if bool(self._host.failed):
                self._host.failed.zero_()
                raise RuntimeError("a level of the device level pool could not be placed")
        if errors & _BAD_ACTION:
            raise ValueError("actions: a value outside 0..3 was given (it was clamped)")
        if errors & _ENDED_STEPPED:
            raise ValueError(
                "autoreset_mode='disabled': an ended env was stepped without "
                "reset(options={'reset_mask': mask}) (it was left in place)"
            )

    def step(
        self, actions: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, dict[str, Any]]:
        """One step of every env. ``actions``: integer tensor [num_envs] on the env's device.
        Returns (obs uint8 [N, *single_obs_shape], reward float32 [N], terminated bool [N],
        truncated bool [N], info dict of tensors [N]), fresh tensors on the device."""
        if not self._started:
            raise RuntimeError("call reset() before step(): no env has a level yet")
        a = self._check_actions(actions)
        mode, W = self.autoreset, self.maze_spec.shape[1]
        H = self.maze_spec.shape[0]
        pending = self._pending
        if mode == _DISABLED:
            if self.debug and bool(pending.any()):
                ended = torch.nonzero(pending)[:8, 0].tolist()
                raise ValueError(
                    f"autoreset_mode='disabled': envs {ended} ended; reset them with "
                    "reset(options={'reset_mask': mask}) before stepping"
                )
            self._errors |= pending.any().long() * _ENDED_STEPPED
        act = ~pending  # next_step: pending envs reset instead; disabled: they stay put
        self._ensure(0 if mode == _DISABLED else self.num_envs)
        info = dict(self._info)
        # move: an acting agent is never on the outer ring (entering the exit ends the
        # episode, and an ended env does not act), so its 4 neighbours are on the board and
        # a move is a flat offset; the clamp only keeps a non-acting env's lookup in memory
        # (as csrc/step.c's symbolic step).
        pos = self._pos
        t = (pos + self._offset[a]).clamp_(0, H * W - 1)
        st = self._sq.view(torch.uint8).gather(1, t.unsqueeze(1)).squeeze(1)
        open_ = act & ((st & WALL) == 0)
        new = torch.where(open_, t, pos)
        # enter
        is_exit = open_ & ((st & EXIT) != 0)
        code = (st & COLOR).long()
        bit = torch.bitwise_left_shift(torch.ones_like(code), code)
        colored = (code >= 1) & (code <= len(self.maze_spec.palette))
        first = open_ & ~is_exit & colored & ((self._seen & bit) == 0)
        self._seen = torch.where(first, self._seen | bit, self._seen)
        zero = self._zero[torch.float32]
        gain = torch.where(
            is_exit,
            self._one,
            torch.where(first, self._proxy[code.clamp(max=len(self.maze_spec.palette))], zero),
        )
        decoy = open_ & ~is_exit & ((st & DECOY) != 0)
        info["decoy_color"] = torch.where(
            decoy & ~info["reached_decoy"], code.to(torch.uint8), info["decoy_color"]
        )
        info["reached_decoy"] = info["reached_decoy"] | decoy
        info["reached_exit"] = info["reached_exit"] | is_exit
        terminated = (is_exit | decoy) if self.terminate_on_decoy else is_exit
        reward = torch.where(act, self._base + gain, zero)
        info["episode_length"] = info["episode_length"] + act.int()
        info["episode_return"] = torch.where(
            act, info["episode_return"] + reward, info["episode_return"]
        )
        truncated = act & ~terminated & (info["episode_length"] >= self.max_steps)
        ended = terminated | truncated
        self._pos = new
        out_info: dict[str, Any]
        if mode == _NEXT_STEP:
            self._pending = ended
            self._load(pending, info)
            self._consumed(self.num_envs)
            out_info = dict(info)
        elif mode == _SAME_STEP:
            final_obs, final_info = self._render(self._sq, new), dict(info)
            self._load(ended, info)
            self._consumed(self.num_envs)
            out_info = dict(info)
            out_info.update(
                final_obs=final_obs, _final_obs=ended, final_info=final_info, _final_info=ended
            )
        else:
            self._pending = pending | ended
            out_info = dict(info)
        obs = self._render(self._sq, self._pos)
        self.obs, self._info = obs, info
        self.rewards, self.terminations, self.truncations = reward, terminated, truncated
        return obs, reward, terminated, truncated, out_info

    def render(self) -> np.ndarray | str | None:
        """As `fastmaze.VecMazeEnv.render`: the first `RENDER_ENVS` envs as they stand, from
        their boards copied to the host (a device sync)."""
        if not self._started:
            raise RuntimeError("call reset() before render(): no env has a level yet")
        if self.render_mode is None:
            return None
        k, (H, W) = min(self.num_envs, RENDER_ENVS), self.maze_spec.shape
        sq = self._sq.view(torch.uint8)[:k, : H * W].cpu().numpy().reshape(k, H, W)
        levels = Levels.empty(self.maze_spec, self.seed, self._info["level_id"][:k].cpu().numpy())
        levels.grid[:] = (sq & WALL) != 0
        levels.color[:] = sq & COLOR
        exit_at = (sq & EXIT).reshape(k, H * W).argmax(1)
        levels.exit[:] = np.stack([exit_at // W, exit_at % W], 1)
        pos = self._pos[:k].cpu().numpy()
        levels.start[:] = agent = np.stack([pos // W, pos % W], 1).astype(np.int32)
        levels.decoys[:], levels.n_decoys[:], levels.component[:] = -1, 0, 0
        return draw(levels, agent, self.render_mode, self)

    def close(self, **kwargs: Any) -> None:
        """Stops the level thread."""
        if getattr(self, "_executor", None) is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
        self.closed = True

    def __repr__(self) -> str:
        return (
            f"TorchVecMazeEnv(num_envs={self.num_envs}, obs={self.obs_kind!r}, "
            f"shape={self.maze_spec.shape}, device={str(self.device)!r}, "
            f"autoreset={AUTORESET_MODES[self.autoreset]!r})"
        )
