"""TorchRL support (``pip install fastmaze[torchrl]``): `MazeTorchRLEnv`, a batched
``torchrl.envs.EnvBase`` over the torch backend (`fastmaze.torch_env.TorchVecMazeEnv`).

Everything stays on the env's device: actions are read from the input TensorDict and the
backend's output tensors are placed in the output TensorDict as they are (no numpy round
trip, no copy). The batch size is ``[num_envs]``; the specs are built from the env's
shapes::

    observation   uint8 [N, *single_obs_shape] (symbolic / egocentric planes 0..1, rgb 0..255)
    action        int64 [N], 0 up, 1 right, 2 down, 3 left (``Categorical(4)``; one-hot with
                  ``categorical_action_encoding=False``)
    reward        float32 [N, 1]
    done, terminated, truncated   bool [N, 1]
    info keys     reached_exit, reached_decoy, decoy_color, episode_return, episode_length,
                  level_id, optimal_length, ambiguous: [N], as `fastmaze.VecMazeEnv`'s info

Resets follow TorchRL's convention: the backend runs with ``autoreset_mode="disabled"`` and
``reset`` with a ``"_reset"`` mask (what collectors send after a done) starts new episodes
in those envs only, taking the next ids of the level stream in env order.

The native (compiled C) env needs no wrapper of its own: ``torchrl.envs.GymWrapper(
fastmaze.VecMazeEnv(spec, n, autoreset_mode="same_step"))`` works (``"same_step"`` or
``"disabled"``; TorchRL does not take ``"next_step"``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from tensordict import TensorDict, TensorDictBase
from torchrl.data import Binary, Bounded, Categorical, Composite, OneHot, Unbounded
from torchrl.envs import EnvBase

from fastmaze.env import _INFO_DTYPES, INFO_KEYS
from fastmaze.spec import AnySpec
from fastmaze.torch_env import TorchVecMazeEnv

__all__ = ["MazeTorchRLEnv"]


class MazeTorchRLEnv(EnvBase):
    """``num_envs`` maze envs as one batched TorchRL env, stepped on ``device``.

    ``spec``, ``num_envs``, ``seed``, ``obs`` and every keyword of ``env_kwargs`` are those
    of `fastmaze.torch_env.TorchVecMazeEnv` (``autoreset_mode`` is fixed to ``"disabled"``:
    TorchRL resets ended envs itself). ``device``: the env's device (default
    "cuda" if available, else "cpu"). ``categorical_action_encoding``: integer actions [N]
    (default) or one-hot [N, 4].
    """

    def __init__(
        self,
        spec: AnySpec | None = None,
        num_envs: int = 1,
        seed: int = 0,
        obs: str = "symbolic",
        *,
        device: Any = None,
        categorical_action_encoding: bool = True,
        **env_kwargs: Any,
    ) -> None:
        if "autoreset_mode" in env_kwargs:
            raise ValueError(
                "MazeTorchRLEnv: autoreset_mode is fixed to 'disabled' (TorchRL resets ended "
                "envs through reset)"
            )
        self.maze_env = TorchVecMazeEnv(
            spec, num_envs, seed, obs, device=device, autoreset_mode="disabled", **env_kwargs
        )
        env = self.maze_env
        super().__init__(device=env.device, batch_size=torch.Size([env.num_envs]))
        self.categorical = bool(categorical_action_encoding)
        self._make_specs()

    def _make_specs(self) -> None:
        env, n, dev = self.maze_env, self.maze_env.num_envs, self.maze_env.device
        high = 255 if env.obs_kind == "rgb" else 1
        observation: dict[str, Any] = {
            "observation": Bounded(0, high, (n, *env.single_obs_shape), dev, torch.uint8)
        }
        for key in INFO_KEYS:
            dtype = torch.from_numpy(np.zeros(0, _INFO_DTYPES[key])).dtype  # the info's dtype
            if dtype == torch.bool:
                observation[key] = Binary(n=None, shape=(n,), device=dev, dtype=torch.bool)
            else:
                observation[key] = Unbounded(shape=(n,), device=dev, dtype=dtype)
        self.observation_spec = Composite(observation, shape=(n,), device=dev)
        if self.categorical:
            self.action_spec = Categorical(4, shape=(n,), device=dev, dtype=torch.int64)
        else:
            self.action_spec = OneHot(4, shape=(n, 4), device=dev, dtype=torch.int64)
        self.reward_spec = Unbounded(shape=(n, 1), device=dev, dtype=torch.float32)
        flag = Categorical(2, shape=(n, 1), device=dev, dtype=torch.bool)
        self.done_spec = Composite(
            done=flag.clone(), terminated=flag.clone(), truncated=flag.clone(), shape=(n,)
        )

    def _output(self, obs: torch.Tensor, info: dict[str, Any], **flags: Any) -> TensorDict:
        out = {"observation": obs, **{k: info[k] for k in INFO_KEYS}}
        out.update({k: v.unsqueeze(-1) for k, v in flags.items()})
        return TensorDict(out, batch_size=self.batch_size, device=self.device)

    def _reset(self, tensordict: TensorDictBase | None = None, **kwargs: Any) -> TensorDict:
        mask = None if tensordict is None else tensordict.get("_reset", None)
        options = None if mask is None else {"reset_mask": mask.reshape(self.batch_size)}
        obs, info = self.maze_env.reset(options=options)
        env = self.maze_env
        return self._output(
            obs, info, done=env.terminations | env.truncations,
            terminated=env.terminations, truncated=env.truncations,
        )  # fmt: skip

    def _step(self, tensordict: TensorDictBase) -> TensorDict:
        action = tensordict.get("action")
        if not self.categorical:
            action = action.argmax(-1)
        obs, reward, terminated, truncated, info = self.maze_env.step(action)
        out = self._output(
            obs, info, done=terminated | truncated, terminated=terminated, truncated=truncated
        )
        out.set("reward", reward.unsqueeze(-1))
        return out

    def _set_seed(self, seed: int | None) -> None:
        """Restarts the level stream at ``seed`` (the backend's ``reset(seed=...)``)."""
        if seed is not None:
            self.maze_env.reset(seed=seed)

    def close(self, *, raise_if_closed: bool = True) -> None:
        """Closes the backend (stops its level thread)."""
        self.maze_env.close()
        super().close(raise_if_closed=raise_if_closed)
