"""Stable-Baselines3 support (``pip install fastmaze[sb3]``): `SB3VecEnv`, the compiled
`fastmaze.VecMazeEnv` as an SB3 ``VecEnv``, so SB3's algorithms step the whole batch in C
instead of one Python env per worker.

SB3's conventions are kept: the env auto-resets (``"same_step"`` underneath), a terminal
step returns the next episode's first observation with the ended one in
``infos[i]["terminal_observation"]``, ``infos[i]["TimeLimit.truncated"]`` marks a time
limit, and ``infos[i]["episode"]`` (``r`` return, ``l`` length, ``t`` seconds since the
start, as SB3's Monitor writes it) feeds SB3's episode statistics. The per-env info of
`fastmaze.VecMazeEnv` (``reached_exit``, ``level_id``, ...) is in every ``infos[i]``.

For ``CnnPolicy`` use ``obs="rgb"`` (channel-first uint8 images, at least 36 pixels a side
for NatureCNN). `fastmaze.MazeEnv` under SB3's ``DummyVecEnv`` works too (the recipe in
``docs/integrations.md``); this class is the fast path.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from stable_baselines3.common.vec_env.base_vec_env import VecEnv

from fastmaze.env import INFO_KEYS, VecMazeEnv
from fastmaze.spec import AnySpec

__all__ = ["SB3VecEnv"]


class SB3VecEnv(VecEnv):
    """``num_envs`` maze envs as one SB3 ``VecEnv``; the arguments are those of
    `fastmaze.VecMazeEnv` (``autoreset_mode`` is fixed to ``"same_step"``; ``obs`` defaults
    to ``"rgb"`` for SB3's image policies). ``seed(s)`` restarts the level stream at seed s
    on the next `reset`."""

    def __init__(
        self,
        spec: AnySpec | None = None,
        num_envs: int = 1,
        seed: int = 0,
        obs: str = "rgb",
        **env_kwargs: Any,
    ) -> None:
        if "autoreset_mode" in env_kwargs:
            raise ValueError("SB3VecEnv: autoreset_mode is fixed to 'same_step' (SB3's auto-reset)")
        self.maze_env = VecMazeEnv(spec, num_envs, seed, obs, autoreset_mode="same_step",
                                   **env_kwargs)  # fmt: skip
        env = self.maze_env
        super().__init__(env.num_envs, env.single_observation_space, env.single_action_space)
        self._actions: np.ndarray | None = None
        self._start = time.perf_counter()

    def reset(self) -> np.ndarray:
        """Starts every env on the next levels (the stream restarted at the seed given to
        `seed`, if any); returns the observations [num_envs, ...]."""
        seed = self._seeds[0]
        obs, info = self.maze_env.reset(seed=seed)
        self.reset_infos = _split(info, self.num_envs)
        self._reset_seeds()
        self._reset_options()
        return obs

    def step_async(self, actions: np.ndarray) -> None:
        """Records the actions [num_envs] of the next `step_wait`."""
        self._actions = actions

    def step_wait(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[dict[str, Any]]]:
        """Steps every env; returns (obs, rewards float32, dones bool, infos)."""
        if self._actions is None:
            raise RuntimeError("step_async(actions) must come before step_wait()")
        obs, reward, terminated, truncated, info = self.maze_env.step(self._actions)
        self._actions = None
        dones = terminated | truncated
        infos = _split(info, self.num_envs)
        if dones.any():
            final, seconds = info["final_info"], round(time.perf_counter() - self._start, 6)
            for i in np.flatnonzero(dones).tolist():
                infos[i].update({k: final[k][i].item() for k in INFO_KEYS})
                infos[i]["terminal_observation"] = info["final_obs"][i]
                infos[i]["TimeLimit.truncated"] = bool(truncated[i])
                infos[i]["episode"] = {
                    "r": float(final["episode_return"][i]),
                    "l": int(final["episode_length"][i]),
                    "t": seconds,
                }
        return obs, reward, dones, infos

    def close(self) -> None:
        """Closes the underlying env."""
        self.maze_env.close()

    def _indices(self, indices: int | Iterable[int] | None) -> list[int]:
        if indices is None:
            return list(range(self.num_envs))
        return [indices] if isinstance(indices, int) else list(indices)

    def get_attr(self, attr_name: str, indices: int | Iterable[int] | None = None) -> list[Any]:
        """The attribute of the underlying `VecMazeEnv`, once per index."""
        value = getattr(self.maze_env, attr_name)
        return [value for _ in self._indices(indices)]

    def set_attr(
        self, attr_name: str, value: Any, indices: int | Iterable[int] | None = None
    ) -> None:
        """Sets an attribute of the underlying env (shared by all envs: every index)."""
        if self._indices(indices) != list(range(self.num_envs)):
            raise ValueError(f"set_attr({attr_name!r}): the envs share one object; set all")
        setattr(self.maze_env, attr_name, value)

    def env_method(
        self,
        method_name: str,
        *method_args: Any,
        indices: int | Iterable[int] | None = None,
        **method_kwargs: Any,
    ) -> list[Any]:
        """Calls a method of the underlying env once, its result repeated per index."""
        result = getattr(self.maze_env, method_name)(*method_args, **method_kwargs)
        return [result for _ in self._indices(indices)]

    def env_is_wrapped(
        self, wrapper_class: type, indices: int | Iterable[int] | None = None
    ) -> list[bool]:
        """No env is wrapped (the batch is one compiled env)."""
        return [False for _ in self._indices(indices)]

    def get_images(self) -> Sequence[np.ndarray | None]:
        """The tiled ``rgb_array`` frame of the first envs, once (``render_mode="rgb_array"``)."""
        return [self.maze_env.render()]


def _split(info: dict[str, Any], n: int) -> list[dict[str, Any]]:
    """Per-env dicts of Python scalars from the batched info arrays."""
    columns = {k: info[k].tolist() for k in INFO_KEYS}
    return [{k: v[i] for k, v in columns.items()} for i in range(n)]
