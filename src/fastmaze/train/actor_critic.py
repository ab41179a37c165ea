"""The PPO agent: `ActorCritic`, a backbone of `fastmaze.train.models` with policy and value
heads, and `build_policy` to make one for a config and observation shape.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from fastmaze.train.models import make_model

if TYPE_CHECKING:
    from fastmaze.train.ppo import PPOConfig

NUM_ACTIONS = 4


class ActorCritic(nn.Module):
    """A backbone (`fastmaze.train.models.make_model`) with a policy head (logits [N, 4]) and
    a value head (value [N]). ``act`` makes it a `fastmaze.evaluate` policy.

    ``binary_obs`` (symbolic and egocentric observations, 0/1 planes): uint8 input is cast to
    float as is, because the backbones scale uint8 by 1/255, which suits rgb pixels only.
    """

    def __init__(self, backbone: nn.Module, binary_obs: bool = True) -> None:
        super().__init__()
        self.backbone = backbone
        self.binary_obs = binary_obs
        features = int(backbone.out_features)
        self.policy_head = nn.Linear(features, NUM_ACTIONS)
        self.value_head = nn.Linear(features, 1)
        nn.init.orthogonal_(self.policy_head.weight, gain=0.01)
        nn.init.zeros_(self.policy_head.bias)
        nn.init.orthogonal_(self.value_head.weight, gain=1.0)
        nn.init.zeros_(self.value_head.bias)

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """obs uint8/float [N, C, H, W] -> (logits float32 [N, 4], value float32 [N])."""
        if self.binary_obs and obs.dtype == torch.uint8:
            obs = obs.float()
        h = self.backbone(obs)
        return self.policy_head(h), self.value_head(h).squeeze(-1)

    @torch.no_grad()
    def act(self, obs: Any, greedy: bool = False, generator: torch.Generator | None = None) -> Any:
        """Actions int64 [N] for obs [N, C, H, W] (numpy or torch): the most likely action if
        ``greedy``, else a sample (from ``generator``, on the model's device; default the
        global RNG). numpy in, numpy out; a tensor in, a tensor on the model's device out."""
        device = next(self.parameters()).device
        is_numpy = isinstance(obs, np.ndarray)
        x = torch.from_numpy(np.ascontiguousarray(obs)) if is_numpy else obs
        logits, _ = self(x.to(device, non_blocking=True))
        if greedy:
            actions = logits.argmax(-1)
        else:
            actions = torch.multinomial(logits.softmax(-1), 1, generator=generator).squeeze(-1)
        return actions.cpu().numpy() if is_numpy else actions


def build_policy(cfg: PPOConfig, obs_shape: tuple[int, ...]) -> ActorCritic:
    """The model, initialised from ``cfg.seed`` without touching the global RNG."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        c, h, w = obs_shape
        return ActorCritic(
            make_model(cfg.model, c, h, w, **cfg.model_kwargs), binary_obs=cfg.obs != "rgb"
        )
