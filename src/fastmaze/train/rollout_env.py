"""The PPO trainer's vector env: either backend (`fastmaze.make_vec`), its outputs as tensors
on the training device, and the choice of backend for a config (`use_torch_backend`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch

from fastmaze.make import make_vec
from fastmaze.spec import AnySpec

if TYPE_CHECKING:
    from fastmaze.train.ppo import PPOConfig


class RolloutEnv:
    """A `VecMazeEnv` whose outputs are tensors on ``device``; ``step`` takes actions as a
    tensor on ``device``. Outputs are views of buffers overwritten by the next call."""

    def __init__(self, spec: AnySpec, cfg: PPOConfig, first_id: int, device: torch.device) -> None:
        kwargs: dict[str, Any] = dict(cfg.env_kwargs)
        kwargs.update(
            obs=cfg.obs,
            first_id=first_id,
            autoreset_mode="same_step",
            max_steps=cfg.max_steps,
            step_penalty=cfg.step_penalty,
            proxy_reward=cfg.proxy_reward,
        )
        self.device = device
        self.torch_backend = use_torch_backend(cfg, device)
        if self.torch_backend:
            kwargs.update(backend="torch", device=device)
        self.env = make_vec(spec, cfg.num_envs, cfg.seed, **kwargs)
        self._views: dict[int, tuple[torch.Tensor, torch.Tensor | None]] = {}

    def _tensor(self, a: Any) -> torch.Tensor:
        """A device tensor of ``a`` (a tensor, or an env-owned numpy buffer)."""
        if isinstance(a, torch.Tensor):
            return a.to(self.device, non_blocking=True)
        # The native env returns the same buffers every call: map each once.
        key = a.__array_interface__["data"][0]
        hit = self._views.get(key)
        if hit is None or hit[0].shape != a.shape:
            host = torch.from_numpy(a)
            if self.device.type == "cpu":
                hit = (host, None)
            else:  # one pinned staging buffer per env buffer, then an async upload
                pinned = torch.empty(host.shape, dtype=host.dtype).pin_memory()
                hit = (pinned, torch.empty(host.shape, dtype=host.dtype, device=self.device))
            self._views[key] = hit
        host_t, dev = hit
        if dev is None:
            return host_t
        # Safe to overwrite the pinned buffer: every rollout step syncs on the actions before
        # the env writes again, so the previous upload has finished.
        host_t.numpy()[...] = a
        return dev.copy_(host_t, non_blocking=True)

    @property
    def next_id(self) -> int:
        return int(self.env.next_id)

    def reset(self) -> torch.Tensor:
        obs, _ = self.env.reset()
        return self._tensor(obs)

    def step(self, actions: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """-> obs, reward f32, terminated bool, truncated bool, final_obs, and the ended
        episodes' return f32, length i32, reached_exit bool, reached_decoy bool [N]."""
        if self.torch_backend:
            a: Any = actions
        else:
            a = actions.cpu().numpy()
        obs, reward, terminated, truncated, info = self.env.step(a)
        final = info["final_info"]
        t = self._tensor
        return (
            t(obs),
            t(reward),
            t(terminated),
            t(truncated),
            t(info["final_obs"]),
            t(final["episode_return"]),
            t(final["episode_length"]),
            t(final["reached_exit"]),
            t(final["reached_decoy"]),
        )


def torch_backend_available() -> bool:
    import fastmaze.make

    return "torch" in getattr(fastmaze.make, "BACKENDS", ())


def use_torch_backend(cfg: PPOConfig, device: torch.device) -> bool:
    if cfg.env_backend == "torch":
        if not torch_backend_available():
            raise ValueError("env_backend='torch': this fastmaze has no torch backend")
        return True
    if cfg.env_backend == "native":
        return False
    # auto: the torch backend on accelerators (no host round trip); the C step on the CPU.
    return torch_backend_available() and device.type != "cpu" and cfg.obs == "symbolic"
