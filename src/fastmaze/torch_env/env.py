"""`TorchVecMazeEnv`, the torch backend's vector env: its arguments, device state, resets
and step (a fixed number of tensor operations, no Python loop over envs, no host sync), and
the Gymnasium spaces it shares with the native `fastmaze.VecMazeEnv`.

Build it with ``fastmaze.make_vec(spec, n, backend="torch", device="cuda")`` (or this class).
The semantics (rules, rewards, flags, info, level ids, auto-reset modes) are those of the
native `VecMazeEnv`, documented there once; a test steps both and compares every byte.

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
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from fastmaze.env import (
    AUTORESET_MODES,
    INFO_KEYS,
    VecMazeEnv,
    VectorBase,
    configure,
)
from fastmaze.spec import AnySpec
from fastmaze.torch_env.board import AMB, COLOR, DECOY, EXIT, OPT, START, WALL, padded
from fastmaze.torch_env.draw import Drawing
from fastmaze.torch_env.pool import LevelPool
from fastmaze.torch_env.producers import DeviceLevels, HostLevels, choose_level_source
from fastmaze.validate import check_int, flag

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


class TorchVecMazeEnv(LevelPool, Drawing, VectorBase):
    """``num_envs`` maze envs stepped with torch tensor operations on ``device``.

    Same arguments and semantics as `fastmaze.VecMazeEnv` (see its docstring), plus:
    ``device`` (default "cuda" if available, else "cpu"), ``pool_size`` / ``block_size``
    (the device level pool and its refill unit, in levels; `fastmaze.torch_env.pool`), ``debug``
    (check action values and disabled-mode misuse at every step, with a host sync).
    ``level_source``: where pool levels are generated, "host" (C core, then uploaded),
    "device" (`fastmaze.cuda` kernels on the env's CUDA device; a ValueError where they
    cannot run) or "auto" (the default: "device" on a CUDA device when `fastmaze.cuda` can
    run there and the spec has no user rules, else "host", with a warning saying why when
    the device is CUDA); the levels are the same bytes either way.
    ``num_threads``: host threads generating levels. ``copy`` is accepted for compatibility:
    outputs are always fresh tensors.
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
        copy: bool = False,
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
            copy=copy,
        )  # fmt: skip
        if len(spec.palette) > COLOR:
            raise ValueError(f"spec: the torch backend supports at most {COLOR} colours")
        self.device = _device(
            ("cuda" if torch.cuda.is_available() else "cpu") if device is None else device
        )
        self.debug = flag("debug", debug)
        self._started = False  # a first full reset() gives every env its level
        self._sizes(pool_size, block_size)
        # The native constructor validates proxy_reward and builds the table by colour code.
        self._proxy_np = VecMazeEnv._proxy(self, proxy_reward)  # validates proxy_reward
        self._cuda = self.device.type == "cuda"
        self._side = torch.cuda.Stream(self.device) if self._cuda else None
        self.level_source, why = choose_level_source(level_source, self.device, spec)
        if why:
            warnings.warn(
                f"fastmaze: the torch backend on {self.device} generates its levels on the host "
                f"(C core, uploaded to the device), not on the GPU: {why}. Pass "
                "level_source='host' to choose that explicitly.",
                RuntimeWarning,
                stacklevel=2,
            )
        self._host: HostLevels | DeviceLevels
        if self.level_source == "device":
            self._host = DeviceLevels(self, self.block_size)
        else:
            self._host = HostLevels(self, self.block_size, self._cuda)
        self._allocate()
        self._setup_gym()
        self._executor = concurrent.futures.ThreadPoolExecutor(1, "fastmaze-levels")
        self.sync_refills = 0  # times the refill rule had to read the counter synchronously
        self._min_lag = 0  # tests: counter reads become visible only this many calls later
        self._restart()

    # -- construction ----------------------------------------------------------------------
    @property
    def single_obs_shape(self) -> tuple[int, ...]:
        return VecMazeEnv.single_obs_shape.fget(self)  # the same shapes by definition

    def _allocate(self) -> None:
        n, dev = self.num_envs, self.device
        H, W = self.maze_spec.shape
        zeros = torch.zeros
        # Boards (uint8 squares, rows padded to 8 bytes): the pool's, and each env's as int64
        # words (self._sq) with a byte view (self._sq8) for lookups and drawing.
        self._pool_sq = zeros((self.pool_size, padded(H * W)), dtype=torch.uint8, device=dev)
        self._pool_meta = zeros((self.pool_size, 3), dtype=torch.int32, device=dev)
        self._sq = zeros((n, padded(H * W) // 8), dtype=torch.int64, device=dev)
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

    _setup_gym = VecMazeEnv._setup_gym  # the same spaces and metadata by definition

    # -- one step's tensor work ------------------------------------------------------------
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
        self._pos = torch.where(res, meta[:, START].long(), self._pos)
        ids = self.first_id + (k if self.num_levels is None else torch.remainder(k, R))
        zero = self._zero
        info["level_id"] = torch.where(res, ids, info["level_id"])
        info["optimal_length"] = torch.where(res, meta[:, OPT], info["optimal_length"])
        info["ambiguous"] = torch.where(res, meta[:, AMB] != 0, info["ambiguous"])
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
            self.seed = check_int("seed", seed, 0, 2**64 - 1)
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
        if not isinstance(value, torch.Tensor):
            raise ValueError(
                f"{what}: expected a torch tensor of {expected} [{self.num_envs}] on "
                f"{self.device}, got {type(value).__name__}"
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
        if isinstance(self._host, DeviceLevels):
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
