"""Exact resume of PPO runs: what a checkpoint holds (`checkpoint_state`, every rank's
generators and level-stream position) and what a resumed run must match (`check_resume`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import torch

from fastmaze.spec import AnySpec
from fastmaze.train.checkpoint import rng_state
from fastmaze.train.distributed import Dist

if TYPE_CHECKING:
    from fastmaze.train.actor_critic import ActorCritic
    from fastmaze.train.ppo import PPOConfig
    from fastmaze.train.rollout_env import RolloutEnv

#: Config fields a resumed run may change without breaking exactness (the rest must match).
RESUMABLE_CHANGES = (
    "total_env_steps",
    "device",
    "eval_every",
    "eval_episodes",
    "eval_greedy",
    "checkpoint_path",
)


def broadcast_objects(obj: Any, dist: Dist) -> list[Any]:
    """Every rank's ``obj``, in rank order."""
    if dist.world_size == 1:
        return [obj]
    import torch.distributed as tdist

    out: list[Any] = [None] * dist.world_size
    tdist.all_gather_object(out, obj)
    return out


def checkpoint_state(
    spec: AnySpec,
    cfg: PPOConfig,
    update: int,
    policy: ActorCritic,
    optimizer: torch.optim.Optimizer,
    history: list[dict[str, Any]],
    env: RolloutEnv,
    rank_first: int,
    sample_gen: torch.Generator,
    perm_gen: torch.Generator,
    dist: Dist,
    exact: bool,
) -> dict[str, Any]:
    """Everything a resume needs; per-rank parts gathered from every rank (a collective)."""
    mine = {
        "first_id": rank_first,
        "next_id": env.next_id,
        "sample_gen": sample_gen.get_state(),
        "perm_gen": perm_gen.get_state(),
        "rng": rng_state(),
    }
    return {
        "format": "fastmaze.ppo/1",
        "spec": repr(spec),
        "config": cfg.to_dict(),
        "world_size": dist.world_size,
        "update": update,
        "exact": exact,
        "policy": policy.state_dict(),
        "optimizer": optimizer.state_dict(),
        "history": history,
        "ranks": broadcast_objects(mine, dist),
    }


def check_resume(
    saved: Mapping[str, Any],
    spec: AnySpec,
    cfg: PPOConfig,
    world: int,
    kind: str = "fastmaze.ppo/1",
) -> None:
    """A ValueError unless ``saved`` (a checkpoint of format ``kind``) can be resumed by a
    run of ``spec`` and ``cfg`` on ``world`` ranks."""
    if saved.get("format") != kind:
        what = "PPO ensemble" if kind != "fastmaze.ppo/1" else "PPO"
        raise ValueError(f"resume: not a fastmaze {what} checkpoint")
    if saved["spec"] != repr(spec):
        raise ValueError(f"resume: the checkpoint was trained on {saved['spec']}, not {spec!r}")
    if saved["world_size"] != world:
        raise ValueError(
            f"resume: the checkpoint has {saved['world_size']} ranks, this run {world}"
        )
    now = cfg.to_dict()
    diff = sorted(k for k in now if k not in RESUMABLE_CHANGES and now[k] != saved["config"].get(k))
    if diff:
        raise ValueError(f"resume: config differs from the checkpoint's in {diff}")
