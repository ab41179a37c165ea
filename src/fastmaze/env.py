"""The native vector env: `VecMazeEnv`, a batch of maze envs stepped in C, and the arguments
and constants every backend shares (`configure`, `VectorBase`, `OBS_KINDS`, `INFO_KEYS`,
`draw`, ...). `fastmaze.make` chooses a backend (`make_vec`) and holds the one-env `MazeEnv`.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any, NoReturn

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode

from fastmaze import _core
from fastmaze.levels import Levels, default_threads, generate_into, level_generator
from fastmaze.outputs import OutputRing
from fastmaze.render import ascii, png_grid, rgb_lut
from fastmaze.spec import AnySpec, MazeSpec, Mixture
from fastmaze.validate import check_choice, check_int, check_number, fail, flag

OBS_KINDS = ("symbolic", "rgb", "egocentric", "compact")  # codes 0..3 in csrc/step.h
AUTORESET_MODES = ("next_step", "same_step", "disabled")  # codes 0, 1, 2 in csrc/step.h
RENDER_MODES = ("rgb_array", "ansi")
#: How many envs `VecMazeEnv.render` draws (the first ones, tiled).
RENDER_ENVS = 16
#: Frames per second a video of `render` frames plays at (``metadata["render_fps"]``).
RENDER_FPS = 8
ENV_ID = "fastmaze/Maze-v0"
INFO_KEYS = (
    "reached_exit",
    "reached_decoy",
    "decoy_color",
    "episode_return",
    "episode_length",
    "level_id",
    "optimal_length",
    "ambiguous",
)
_INFO_DTYPES = {
    "reached_exit": np.bool_,
    "reached_decoy": np.bool_,
    "decoy_color": np.uint8,
    "episode_return": np.float32,
    "episode_length": np.int32,
    "level_id": np.int64,
    "optimal_length": np.int32,
    "ambiguous": np.bool_,
}

#: The base class of every backend's vector env.
VectorBase: type = gym.vector.VectorEnv


def _autoreset_mode(value: Any) -> int:
    """Code of an autoreset mode: a name of `AUTORESET_MODES` or a gymnasium AutoresetMode."""
    if isinstance(value, AutoresetMode):
        value = {"NextStep": "next_step", "SameStep": "same_step", "Disabled": "disabled"}[
            value.value
        ]
    if not any(value == m for m in AUTORESET_MODES if isinstance(value, str)):
        expected = f"one of {', '.join(map(repr, AUTORESET_MODES))} or a gymnasium AutoresetMode"
        raise fail("autoreset_mode", expected, value)
    return AUTORESET_MODES.index(value)


def configure(
    env: Any,
    spec: AnySpec | None,
    num_envs: int,
    seed: int,
    obs: str,
    *,
    first_id: int,
    num_levels: int | None,
    autoreset_mode: Any,
    max_steps: int | None,
    step_penalty: float,
    terminate_on_decoy: bool,
    reveal_exit: bool,
    hide_colors: bool,
    pixels: int,
    radius: int,
    num_threads: int | None,
    copy: bool,
    render_mode: str | None = None,
) -> AnySpec:
    """Validates the arguments both backends share and sets them on ``env`` (the attributes
    ``maze_spec``, ``num_envs``, ``seed``, ... that `VecMazeEnv` documents); returns the spec."""
    spec = MazeSpec() if spec is None else spec
    if not isinstance(spec, (MazeSpec, Mixture)):
        raise ValueError(f"spec: expected a MazeSpec or Mixture, got {type(spec).__name__}")
    check_choice("obs", obs, OBS_KINDS)
    H, W = spec.shape
    env.maze_spec = spec
    env.num_envs = check_int("num_envs", num_envs, 1, 2**31 - 1)
    env.seed = check_int("seed", seed, 0, 2**64 - 1)
    env.first_id = check_int("first_id", first_id, 0, 2**62)
    env.num_levels = None if num_levels is None else check_int("num_levels", num_levels, 1, 2**62)
    env.obs_kind = obs
    env.autoreset = _autoreset_mode(autoreset_mode)
    env.max_steps = check_int(
        "max_steps", 4 * H * W if max_steps is None else max_steps, 1, 2**31 - 1
    )
    env.step_penalty = check_number("step_penalty", step_penalty)
    env.terminate_on_decoy = flag("terminate_on_decoy", terminate_on_decoy)
    env.reveal_exit = flag("reveal_exit", reveal_exit)
    env.hide_colors = flag("hide_colors", hide_colors)
    env.pixels = check_int("pixels", pixels, 1, 256)
    env.radius = check_int("radius", radius, 0, 1024)
    env.num_threads = check_int("num_threads", num_threads or default_threads(), 1, 4096)
    env.copy = flag("copy", copy)
    if render_mode is not None and render_mode not in RENDER_MODES:
        raise ValueError(
            f"render_mode: {render_mode!r}; expected None or one of {', '.join(RENDER_MODES)}"
        )
    env.render_mode = render_mode
    return spec


class VecMazeEnv(VectorBase):
    """``num_envs`` maze envs stepped together by the compiled core (C, GIL released, OpenMP).

    **Levels.** Levels come from the id stream of ``(spec, seed)``, starting at ``first_id``
    (use a disjoint range, e.g. ``first_id=10**9``, or another spec, for evaluation). A
    counter ``next_id`` starts at ``first_id``; every reset of an env takes the next id, and
    the envs reset in one call (`reset`, or the auto-resets of one `step`) take theirs in
    increasing env index. So the first reset plays ids first_id .. first_id+num_envs-1 on
    envs 0 .. num_envs-1, and the ids played are first_id, first_id+1, ... with no gaps or
    repeats. ``reset(seed=s)`` restarts the stream: seed := s, next_id := first_id.
    ``num_levels=K`` (Procgen-style finite training set): the k-th reset since the start (or
    the last ``reset(seed=...)``) plays id first_id + (k mod K) instead of first_id + k.

    **Backends.** This class is the native backend: it steps in C on numpy arrays.
    `fastmaze.torch_env.TorchVecMazeEnv` is the torch backend (same semantics, torch tensors
    on a device); ``fastmaze.make_vec(spec, ..., backend="native" | "torch")`` builds either.
    ``backend`` here accepts only "native"; ``device`` only None or "cpu".

    **Step.** ``actions``: integer [num_envs], 0 up, 1 right, 2 down, 3 left (row -1, col +1,
    row +1, col -1); a move into a wall leaves the agent in place. The reward of a step is,
    as float32 and summed in this order: ``-step_penalty``; +1 if the agent entered the exit;
    otherwise + ``proxy_reward[c]`` if it entered a square of colour c (a decoy or a
    distractor; the exit never pays it) for the first time this episode (once per colour per
    episode, moves only: staying put enters nothing). ``terminated``: the agent entered the
    exit, or a decoy square when ``terminate_on_decoy``. ``truncated``: not terminated and
    the episode has lasted ``max_steps`` steps (default 4·H·W).

    **Info** (numpy arrays [num_envs], describing each env's current episode up to this
    step; at a terminal step, the episode's outcome): ``reached_exit``, ``reached_decoy``
    (entered a decoy square at some step), ``decoy_color`` (colour code of the first decoy
    entered; 0 none or uncoloured), ``episode_return`` (float32), ``episode_length``
    (steps), ``level_id``, ``optimal_length`` (BFS steps start -> exit), ``ambiguous`` (a
    decoy lies on a shortest start -> exit path).

    **Auto-reset** (Gymnasium 1.x `AutoresetMode`, as `gymnasium.vector.SyncVectorEnv`):
    ``"next_step"`` (default): the step after a terminated/truncated one resets that env,
    ignores its action and returns reward 0, terminated = truncated = False, the new
    episode's first observation and info. ``"same_step"``: the terminal step itself returns
    the new episode's first observation and info; the ended episode's are in
    ``info["final_obs"]`` (a dense array [num_envs, ...], valid where
    ``info["_final_obs"]``) and ``info["final_info"]`` (dict of arrays, valid where
    ``info["_final_info"]``). ``"disabled"``: ended envs must be reset with
    ``reset(options={"reset_mask": mask})`` before the next step (else ValueError).

    **Observations** (uint8, batch-first, channel-first): ``"symbolic"`` [N, 2+P(+1), H, W]
    planes wall, agent, one per palette colour (`fastmaze.render.symbolic`), plus the exit
    if ``reveal_exit``; ``"rgb"`` [N, 3, H·pixels, W·pixels] (`fastmaze.render.rgb`);
    ``"egocentric"`` [N, 2+P(+1), 2r+1, 2r+1], the symbolic planes in the window of radius
    ``radius`` centred on the agent, squares outside the board being wall. ``hide_colors``
    zeroes the colour planes (draws colours as floor in rgb). ``"compact"`` (for training on
    a GPU, `fastmaze.train.compact`): int16 [N, 2], the agent's square (row, col); the rest
    of the symbolic observation is static per level and coded once per reset into
    ``level_table`` (uint8 [N, H, W], codes of `fastmaze.train.compact.CompactBoards`;
    ``same_step``: ``final_table`` holds the ended episodes' tables). ``level_table_version``
    counts the calls that rewrote rows of the table, ``level_table_rows`` lists the rows
    the last of them rewrote. The torch backend has no compact kind.

    **Copies** (``copy``). ``copy=True`` (the default, as Gymnasium's vector envs): every
    array (and dict) `step` and `reset` return is the caller's: it never changes after it is
    returned, so an observation kept in a list stays as it was. The copies go into a ring of
    preallocated output sets (`fastmaze.outputs.OutputRing`, two deep), made by the step's
    own parallel region once each thread's envs are final (specs with user rules: one
    parallel copy after the step); an output set still referred to when its turn comes
    again is left to its holder and replaced by a fresh one, so holding outputs is always
    safe and costs only an allocation. ``copy=False``: they return the env's own buffers
    (observations, rewards, flags, and one info dict of the env's info arrays), allocated
    once and overwritten by the next call, so ``obs1 is obs2`` after two steps: for a
    trainer that consumes each step before the next and wants no copy. Either way the
    observations are updated in place inside the env: a step rewrites only the squares the
    agent left and entered (egocentric: the window), a reset rewrites that env's board.

    **Rendering** (``render_mode``): ``"rgb_array"``: `render` returns a uint8
    [height, width, 3] image of the first `RENDER_ENVS` envs tiled row-major
    (`fastmaze.render.png_grid`'s layout, ``pixels`` per square, the agents where they
    stand); ``"ansi"``: their text pictures (`fastmaze.render.ascii`), one per env.
    """

    def __init__(
        self,
        spec: AnySpec | None = None,
        num_envs: int = 1,
        seed: int = 0,
        obs: str = "symbolic",
        backend: str = "native",
        *,
        first_id: int = 0,
        num_levels: int | None = None,
        device: Any = None,
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
    ) -> None:
        if backend != "native":
            raise ValueError(
                f"backend: {backend!r}; VecMazeEnv is the native backend. Build another with "
                f"fastmaze.make_vec(spec, num_envs, ..., backend={backend!r}) "
                "(backends: native, torch)"
            )
        if device is not None and str(device) != "cpu":
            raise ValueError(
                f"device: {device!r}; the native backend runs on the CPU (use "
                "fastmaze.make_vec(..., backend='torch', device=...) for another device)"
            )
        spec = configure(
            self, spec, num_envs, seed, obs, first_id=first_id, num_levels=num_levels,
            autoreset_mode=autoreset_mode, max_steps=max_steps, step_penalty=step_penalty,
            terminate_on_decoy=terminate_on_decoy, reveal_exit=reveal_exit,
            hide_colors=hide_colors, pixels=pixels, radius=radius, num_threads=num_threads,
            copy=copy, render_mode=render_mode,
        )  # fmt: skip
        self.proxy = self._proxy(proxy_reward)
        self._started = False  # a first full reset() gives every env its level
        self._stopped: str | None = None  # why, after a level that could not be placed
        self._next_id = self.first_id  # first_id + resets so far (before num_levels wraps)
        self._allocate()
        self._setup_gym()

    # -- construction ----------------------------------------------------------------------
    def _proxy(self, proxy_reward: Mapping[str, float] | None) -> np.ndarray:
        """float32 [P + 1]: proxy reward by colour code (code 0, no colour, pays nothing)."""
        out = np.zeros(len(self.maze_spec.palette) + 1, np.float32)
        if proxy_reward is not None and not isinstance(proxy_reward, Mapping):
            raise fail("proxy_reward", "a mapping colour name -> reward, or None", proxy_reward)
        for name, weight in (proxy_reward or {}).items():
            weight = check_number(f"proxy_reward[{name!r}]", weight)
            if name is None or name not in self.maze_spec.palette:
                raise ValueError(
                    f"proxy_reward: unknown colour {name!r}; the palette has "
                    f"{', '.join(self.maze_spec.palette)}"
                )
            out[self.maze_spec.color_code(name)] = weight
        return out

    @property
    def single_obs_shape(self) -> tuple[int, ...]:
        H, W = self.maze_spec.shape
        planes = 2 + len(self.maze_spec.palette) + self.reveal_exit
        if self.obs_kind == "compact":
            return (2,)
        if self.obs_kind == "rgb":
            return (3, H * self.pixels, W * self.pixels)
        if self.obs_kind == "egocentric":
            side = 2 * self.radius + 1
            return (planes, side, side)
        return (planes, H, W)

    def _allocate(self) -> None:
        n, spec = self.num_envs, self.maze_spec
        H, W = spec.shape
        zeros = np.zeros
        self.levels = Levels.empty(spec, self.seed, zeros(n, np.int64))
        # user rules run in Python: their levels are generated here, then copied in
        self._staging = Levels.empty(spec, self.seed, zeros(n if spec.has_rules else 0, np.int64))
        self._info = {k: zeros(n, _INFO_DTYPES[k]) for k in INFO_KEYS}
        self._info["level_id"] = self.levels.ids
        compact = self.obs_kind == "compact"
        self.obs = zeros((n, *self.single_obs_shape), np.int16 if compact else np.uint8)
        self.rewards = zeros(n, np.float32)
        self.terminations = zeros(n, np.bool_)
        self.truncations = zeros(n, np.bool_)
        self._pending = zeros(n, np.bool_)
        self._resetting = zeros(n, np.bool_)
        self._actions = zeros(n, np.int64)
        self._reset_idx = zeros(n, np.int64)
        self.level_table = zeros((n, H, W) if compact else (0, H, W), np.uint8)
        self.final_table = zeros((n if compact and self.autoreset == 1 else 0, H, W), np.uint8)
        self.level_table_version = 0
        self.level_table_rows = self._reset_idx[:0]
        self._arange = np.arange(n, dtype=np.int64)
        arrays = {name: getattr(self.levels, name) for name in Levels.ARRAYS if name != "ids"}
        arrays.update(self._info)
        arrays.update(
            agent=zeros((n, 2), np.int32),
            terrain=zeros((n, H, W), np.uint8),
            pending=self._pending.view(np.uint8),
            seen=zeros(n, np.uint32),
            reward=self.rewards,
            terminated=self.terminations.view(np.uint8),
            truncated=self.truncations.view(np.uint8),
            resetting=self._resetting.view(np.uint8),
            obs=self.obs.view(np.uint8),
            table=self.level_table,
            final_table=self.final_table,
            lut=rgb_lut(spec.palette),
            proxy=self.proxy,
            scratch=zeros((self.num_threads, 3 * H * W), np.int32),
            resets_of_thread=zeros(self.num_threads, np.int64),
            reset_idx=self._reset_idx,
        )
        for key in ("reached_exit", "reached_decoy", "ambiguous"):
            arrays[key] = self._info[key].view(np.uint8)
        self._final_info: dict[str, np.ndarray] = {}
        if self.autoreset == 1:
            self.final_obs = np.zeros_like(self.obs)
            arrays["final_obs"] = self.final_obs.view(np.uint8)
            self._final_info = {k: zeros(n, _INFO_DTYPES[k]) for k in INFO_KEYS}
            for key, value in self._final_info.items():
                arrays["final_" + key] = value.view(np.uint8) if value.dtype == np.bool_ else value
        self.agent = arrays["agent"]
        self._staging_arrays = {name: getattr(self._staging, name) for name in Levels.ARRAYS}
        config = {
            "H": H,
            "W": W,
            "n_colors": len(spec.palette),
            "max_decoys": spec.max_decoys,
            "obs_kind": OBS_KINDS.index(self.obs_kind),
            "reveal_exit": int(self.reveal_exit),
            "hide_colors": int(self.hide_colors),
            "pixels": self.pixels,
            "radius": self.radius,
            "max_steps": self.max_steps,
            "terminate_on_decoy": int(self.terminate_on_decoy),
            "autoreset": self.autoreset,
            "step_penalty": self.step_penalty,
            "threads": self.num_threads,
            "first_id": self.first_id,
            "num_levels": self.num_levels or 0,
        }
        # Without user rules the core draws every new level itself, inside the step.
        self._generator = level_generator(spec, self.num_threads)
        self._core = _core.EnvCore(arrays, config, self._generator)
        self._build_outputs()

    def _build_outputs(self) -> None:
        """The info dicts (built once, of the env's own arrays) and, with ``copy=True``, the
        ring of output sets they are copied into."""
        self._reset_info = dict(self._info)
        self._step_info = dict(self._info)
        if self.autoreset == 1:
            self._step_info.update(
                final_obs=self.final_obs,
                _final_obs=self._resetting,
                final_info=dict(self._final_info),
                _final_info=self._resetting,
            )
        # Sources of the outputs, in the order the ring copies them: what reset returns
        # comes first, so that reset copies only a prefix.
        self._sources = [self.obs, self.rewards, self.terminations, self.truncations]
        self._sources += list(self._info.values())
        self._reset_count = len(self._sources)
        if self.autoreset == 1:
            self._sources += [self._resetting, self.final_obs, *self._final_info.values()]
        self._ring = OutputRing(self._sources, self.num_threads) if self.copy else None

    def _setup_gym(self) -> None:
        from gymnasium.vector.utils import batch_space

        if self.obs_kind == "compact":  # the agent's square (row, col) on the board
            high, dtype = max(self.maze_spec.shape) - 1, np.int16
        else:
            high, dtype = (255 if self.obs_kind == "rgb" else 1), np.uint8
        self.single_observation_space = gym.spaces.Box(0, high, self.single_obs_shape, dtype)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.single_action_space = gym.spaces.Discrete(4)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        mode = (AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP, AutoresetMode.DISABLED)
        self.metadata = {
            "autoreset_mode": mode[self.autoreset],
            "render_modes": list(RENDER_MODES),
            "render_fps": RENDER_FPS,
        }

    @property
    def autoreset_mode(self) -> AutoresetMode:
        """The Gymnasium `AutoresetMode` (as ``metadata["autoreset_mode"]``; the attribute
        Gymnasium ≥ 1.1 vector envs have, read by wrappers such as TorchRL's GymWrapper)."""
        return self.metadata["autoreset_mode"]

    # -- the API ---------------------------------------------------------------------------
    @property
    def next_id(self) -> int:
        """The id the next reset of an env will play."""
        if self.num_levels is None:
            return self._next_id
        return self.first_id + (self._next_id - self.first_id) % self.num_levels

    def _load(self, idx: np.ndarray) -> None:
        """Envs idx (ascending) start the next len(idx) levels of the stream."""
        m = len(idx)
        if self._generator is not None:
            self._core.load_stream(idx, self.seed, self._next_id)
        else:
            self._load_staged(idx)
        self._next_id += m
        self._loaded(idx)

    def _load_staged(self, idx: np.ndarray) -> None:
        """`_load` for specs with user rules: generated in Python's staging levels, then
        copied in."""
        m = len(idx)
        s = self._staging
        ids = np.add(self._arange[:m], self._next_id, out=s.ids[:m])
        runs = [(0, m)]
        if self.num_levels is not None:  # ids wrap: one core call per contiguous run
            np.subtract(ids, self.first_id, out=ids)
            np.remainder(ids, self.num_levels, out=ids)
            np.add(ids, self.first_id, out=ids)
            cuts = [0, *(np.flatnonzero(np.diff(ids) != 1) + 1).tolist(), m]
            runs = list(itertools.pairwise(cuts))
        # a team's fork and join (~1 us) costs more than generating a few levels (~1 us each)
        threads = self.num_threads if m >= 32 else 1
        for lo, hi in runs:
            generate_into(self.maze_spec, self.seed, int(ids[lo]), s[lo:hi], threads)
        self._core.load(self._staging_arrays, ids, idx)

    def _loaded(self, idx: np.ndarray) -> None:
        """Envs idx have new levels: compact observations mark their level-table rows."""
        if self.obs_kind == "compact":
            self.level_table_version += 1
            self.level_table_rows = idx.copy()  # idx may be a view of a reused buffer

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Starts new episodes: every env, or those of ``options["reset_mask"]`` (bool
        [num_envs]). ``seed`` restarts the level stream (see the class docstring).
        Returns (obs, info)."""
        if seed is not None:
            self.seed = check_int("seed", seed, 0, 2**64 - 1)
            self._next_id = self.first_id
            self.levels = self.levels._with(seed=self.seed)  # the same arrays, the new seed
        mask = (options or {}).get("reset_mask")
        if mask is None:
            idx = self._arange
            self._started = True
        else:
            if not isinstance(mask, np.ndarray) or mask.dtype != np.bool_:
                raise ValueError("options['reset_mask']: expected a numpy bool array")
            if mask.shape != (self.num_envs,):
                raise ValueError(
                    f"options['reset_mask']: shape {mask.shape}, expected ({self.num_envs},)"
                )
            idx = np.flatnonzero(mask).astype(np.int64)
        if len(idx):
            try:
                self._load(idx)
            except RuntimeError as error:  # a level the spec cannot place
                self._stop(error)
        if mask is None:
            self._stopped = None
        self.rewards[idx] = 0
        self.terminations[idx] = False
        self.truncations[idx] = False
        if self._ring is None:
            return self.obs, dict(self._reset_info)
        out = self._ring.take(self._reset_count)
        return out[0], dict(zip(INFO_KEYS, out[4:], strict=True))

    def _int64_actions(self, actions: Any) -> tuple[np.ndarray, np.ndarray]:
        """(the actions as given, as an array; the same as int64 [num_envs] C-contiguous)."""
        arr = np.asarray(actions)
        if arr.shape != (self.num_envs,):
            raise ValueError(f"actions: shape {arr.shape}, expected ({self.num_envs},)")
        if arr.dtype.kind not in "iu":
            raise ValueError(f"actions: dtype {arr.dtype}, expected an integer dtype")
        # int64 casts keep 0..3 and map every other value outside it
        np.copyto(self._actions, arr, casting="unsafe")
        return arr, self._actions

    def step(
        self, actions: Any
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """One step of every env; returns (obs, reward float32, terminated bool,
        truncated bool, info), each batch-first [num_envs, ...]."""
        if not self._started:
            raise RuntimeError("call reset() before step(): no env has a level yet")
        if self._stopped:
            raise RuntimeError(self._stopped)
        if self.autoreset == 2 and self._pending.any():
            ended = np.flatnonzero(self._pending)[:8].tolist()
            raise ValueError(
                f"autoreset_mode='disabled': envs {ended} ended; reset them with "
                "reset(options={'reset_mask': mask}) before stepping"
            )
        given = actions
        # copy=True: the core copies the outputs into a claimed output set at the end of the
        # step, inside its parallel region; with user rules, new levels come later, and so
        # does the copy
        inline = self._ring is not None and self._generator is not None
        targets = self._ring.claim() if inline else None
        sources = self._sources if inline else None
        try:
            # int64 arrays are read in place, checked by the core; resets are drawn inside it
            m = self._core.step(actions, self.seed, self._next_id, sources, targets)
            if m is None:
                given, acts = self._int64_actions(actions)
                m = self._core.step(acts, self.seed, self._next_id, sources, targets)
            if m > 0 and self._generator is None:
                self._load(self._reset_idx[:m])
        except RuntimeError as error:  # a level the spec cannot place
            self._stop(error)
        if m < 0:
            bad = -1 - m
            raise ValueError(
                f"actions: {np.asarray(given)[bad]} at env {bad}; expected 0 up, 1 right, "
                "2 down, 3 left"
            )
        if m and self._generator is not None:
            self._next_id += m
            self._loaded(self._reset_idx[:m])
        if self._ring is None:
            return self.obs, self.rewards, self.terminations, self.truncations, self._step_info
        return self._copied_step(targets if inline else self._ring.take(len(self._sources)))

    def _stop(self, error: RuntimeError) -> NoReturn:
        """Raises ``error`` (a level that could not be placed: the envs it was meant for keep
        their old levels, the stream stops there); until a full `reset`, `step` raises too."""
        self._stopped = (
            f"{error}. The env stopped at that level: reset() it (with another seed to draw "
            "other levels)"
        )
        raise RuntimeError(self._stopped) from error

    def _copied_step(
        self, out: list[np.ndarray]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """The step's outputs from one output set of the ring (copy=True)."""
        k = self._reset_count
        info: dict[str, Any] = dict(zip(INFO_KEYS, out[4:k], strict=True))
        if self.autoreset == 1:
            mask = out[k]
            info["final_obs"] = out[k + 1]
            info["_final_obs"] = mask
            info["final_info"] = dict(zip(INFO_KEYS, out[k + 2 :], strict=True))
            info["_final_info"] = mask
        return out[0], out[1], out[2], out[3], info

    def render(self) -> np.ndarray | str | None:
        """The first `RENDER_ENVS` envs as they stand: an image uint8 [height, width, 3]
        (``render_mode="rgb_array"``), their text pictures (``"ansi"``), or None (no
        ``render_mode``)."""
        if not self._started:
            raise RuntimeError("call reset() before render(): no env has a level yet")
        k = min(self.num_envs, RENDER_ENVS)
        return draw(self.levels[:k], self.agent[:k], self.render_mode, self)

    def close(self, **kwargs: Any) -> None:
        """Nothing to release beyond the arrays."""
        self.closed = True

    def __repr__(self) -> str:
        return (
            f"VecMazeEnv(num_envs={self.num_envs}, obs={self.obs_kind!r}, "
            f"shape={self.maze_spec.shape}, autoreset={AUTORESET_MODES[self.autoreset]!r})"
        )


def draw(levels: Levels, agent: np.ndarray, mode: str | None, env: Any) -> np.ndarray | str | None:
    """What `render` returns for ``levels`` with the agents at ``agent`` (int [k, 2], board
    (row, col)), drawn with ``env``'s ``pixels`` and ``hide_colors``."""
    if mode is None:
        return None
    if mode == "rgb_array":
        return png_grid(levels, pixels=env.pixels, hide_colors=env.hide_colors, agent=agent)
    return "\n\n".join(
        ascii(levels, i, hide_colors=env.hide_colors, agent=tuple(agent[i]))
        for i in range(len(levels))
    )


def __getattr__(name: str) -> Any:
    """``MazeEnv`` and ``register_envs`` live in `fastmaze.make`; the old path still imports."""
    if name in ("MazeEnv", "register_envs"):
        from fastmaze import make

        return getattr(make, name)
    raise AttributeError(f"module 'fastmaze.env' has no attribute {name!r}")
