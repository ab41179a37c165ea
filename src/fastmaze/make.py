"""Choosing a backend: `make_vec` builds the vector env of a backend by name, `MazeEnv` is one
env on either backend, and `register_envs` registers both with Gymnasium.

The backends are classes with their own signatures: `fastmaze.env.VecMazeEnv` (native: C on
numpy arrays) and `fastmaze.torch_env.TorchVecMazeEnv` (torch tensors on a device; torch is
imported only when it is chosen). Gymnasium is optional: without it `make_vec` still works
and `MazeEnv` / `register_envs` raise ImportError.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from fastmaze.env import ENV_ID, VecMazeEnv
from fastmaze.spec import AnySpec
from fastmaze.validate import check_choice

if TYPE_CHECKING:
    from fastmaze.torch_env import TorchVecMazeEnv

try:
    import gymnasium as gym
except ImportError:  # gymnasium is optional
    gym = None

#: Backend names of `make_vec`.
BACKENDS = ("native", "torch")

_EnvBase: type = gym.Env if gym is not None else object


def make_vec(
    spec: AnySpec | None = None,
    num_envs: int = 1,
    seed: int = 0,
    obs: str = "symbolic",
    backend: str = "native",
    **kwargs: Any,
) -> VecMazeEnv | TorchVecMazeEnv:
    """``num_envs`` maze envs on a backend: ``"native"`` builds a `fastmaze.VecMazeEnv` (C on
    numpy arrays, the CPU), ``"torch"`` a `fastmaze.torch_env.TorchVecMazeEnv` (torch tensors
    on ``device``, default "cuda" if available). ``kwargs`` are the chosen class's keyword
    arguments (see its docstring; the semantics are the same on both backends)."""
    check_choice("backend", backend, BACKENDS)
    if backend == "native":
        return VecMazeEnv(spec, num_envs, seed, obs, **kwargs)
    from fastmaze.torch_env import TorchVecMazeEnv

    return TorchVecMazeEnv(spec, num_envs, seed, obs, **kwargs)


class MazeEnv(_EnvBase):
    """One maze env (gymnasium.Env): a `VecMazeEnv` of one env with autoreset disabled.

    Same arguments and rules as `VecMazeEnv`; returns one observation [C, H, W] (a copy),
    a float reward, bool flags and an info dict of Python scalars. Level k after
    ``reset(seed=s)`` is id first_id + k of (spec, s). ``backend="torch"`` (with ``device``)
    steps it on the torch backend (`make_vec`): the observation is then a torch tensor on that
    device, the rest as above.
    """

    metadata: dict[str, Any] = {"render_modes": []}  # noqa: RUF012

    def __init__(
        self, spec: AnySpec | None = None, seed: int = 0, obs: str = "symbolic", **kwargs: Any
    ):
        if gym is None:
            raise ImportError("MazeEnv needs gymnasium: pip install gymnasium")
        kwargs.setdefault("num_threads", 1)
        self._vec = make_vec(spec, 1, seed, obs, autoreset_mode="disabled", **kwargs)
        self.observation_space = self._vec.single_observation_space
        self.action_space = self._vec.single_action_space
        self._action: Any = np.zeros(1, np.int64)
        if not isinstance(self._vec, VecMazeEnv):  # the torch backend: actions as a tensor
            import torch

            self._action = torch.zeros(1, dtype=torch.int64, device=self._vec.device)
        self._started = False

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        obs, info = self._vec.reset(seed=seed)
        self._started = True
        return _copy(obs[0]), {k: v[0].item() for k, v in info.items()}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if not self._started:
            raise RuntimeError("call reset() before step()")
        if isinstance(action, (bool, np.bool_)) or not isinstance(action, (int, np.integer)):
            raise ValueError(f"action: expected an integer 0..3, got {action!r}")
        if not 0 <= int(action) <= 3:
            raise ValueError(f"action: {action}; expected 0 up, 1 right, 2 down, 3 left")
        self._action[0] = action
        obs, reward, terminated, truncated, info = self._vec.step(self._action)
        if terminated[0] or truncated[0]:
            self._started = False
        info = {k: v[0].item() for k, v in info.items()}
        return _copy(obs[0]), float(reward[0]), bool(terminated[0]), bool(truncated[0]), info


def _copy(a: Any) -> Any:
    """A copy of a numpy array or torch tensor."""
    return a.copy() if isinstance(a, np.ndarray) else a.clone()


def register_envs() -> None:
    """Registers ``fastmaze/Maze-v0`` (MazeEnv; make_vec as its vector entry point) with
    gymnasium, once, so that ``gymnasium.make`` and ``gymnasium.make_vec`` find it."""
    import gymnasium

    if ENV_ID not in gymnasium.registry:
        gymnasium.register(
            id=ENV_ID,
            entry_point="fastmaze.make:MazeEnv",
            vector_entry_point="fastmaze.make:make_vec",
        )
