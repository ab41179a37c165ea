"""PPO seed ensembles: the PPO runs of one configuration with K seeds, trained at once.

`train_ppo_ensemble(spec, config, seeds)` returns one `PPOResult` per seed, each the run
`train_ppo(spec, replace(config, seed=s))` would give (bitwise on the CPU, where the
members run one by one; `fastmaze.train.ensemble`). The K policies are one `Ensemble` of
`ActorCritic`s with one fused Adam over all members' tensors (K independent Adams); each
member keeps its own sampling and minibatch generators, its own gradient-norm clipping and
its own metrics; rollout storage and GAE are shared tensors with a member axis.

**Envs.** Each member steps its own vector env of ``num_envs`` envs, its seed's stream at a
solo run's ids, K calls per rollout step. One shared vector env of K·``num_envs`` envs
cannot give that: it hands out level ids from one counter in the order episodes end across
all members, so a member's levels would depend on the others' behaviour, and no member
would be the run of its seed.

**Checkpoints and DDP.** As `train_ppo`: every ``checkpoint_every`` updates is a sync point
(all members' envs restart on the next ids of their streams), the checkpoint holds every
member (parameters, optimizer, generators, each env's next id, histories) and a resumed
ensemble continues bit for bit. Under ``torchrun`` the stacked model is wrapped in
DistributedDataParallel and each rank steps every member's envs on its own id range.
"""

from __future__ import annotations

import copy
import dataclasses
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from fastmaze.spec import AnySpec, MazeSpec, Mixture
from fastmaze.train.actor_critic import build_policy
from fastmaze.train.checkpoint import load_checkpoint, rng_state, save_checkpoint, set_rng_state
from fastmaze.train.distributed import id_range, init_distributed
from fastmaze.train.ensemble import Ensemble
from fastmaze.train.ppo import (
    IDS_PER_RANK,
    PPOConfig,
    PPOResult,
    _evaluate,
    _ppo_loss,
    _update_row,
)
from fastmaze.train.ppo_resume import broadcast_objects, check_resume
from fastmaze.train.rollout_env import RolloutEnv

__all__ = ["train_ppo_ensemble"]

FORMAT = "fastmaze.ppo-ensemble/1"


def _seeds(seeds: Sequence[int]) -> list[int]:
    seeds = list(seeds)
    bad = [s for s in seeds if isinstance(s, bool) or not isinstance(s, (int, np.integer))]
    if bad or any(s < 0 for s in seeds) or not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds: expected one or more distinct integers >= 0, got {seeds!r}")
    return [int(s) for s in seeds]


def train_ppo_ensemble(
    spec: AnySpec,
    config: PPOConfig,
    seeds: Sequence[int],
    *,
    resume: str | None = None,
    progress: bool = True,
    eval_specs: Mapping[str, AnySpec] | None = None,
) -> list[PPOResult]:
    """Trains the PPO runs of ``config`` with each of ``seeds`` at once; one `PPOResult` per
    seed, in order (``timing`` is the ensemble's, shared). ``config.checkpoint_path``: the
    one checkpoint of all members; ``resume``: a checkpoint of this ensemble to continue
    from. ``eval_specs`` as `train_ppo`."""
    if not isinstance(config, PPOConfig):
        raise ValueError(f"config: expected a PPOConfig, got {type(config).__name__}")
    if not isinstance(spec, (MazeSpec, Mixture)):
        raise ValueError(f"spec: expected a MazeSpec or Mixture, got {type(spec).__name__}")
    seeds = _seeds(seeds)
    evals = {"train": spec} if eval_specs is None else dict(eval_specs)
    cfg = config
    solos = [dataclasses.replace(cfg, seed=s) for s in seeds]
    K = len(solos)
    dist = init_distributed(cfg.device)
    device, world = dist.device, dist.world_size
    T, N = cfg.num_steps, cfg.num_envs
    batch = N * T
    num_updates = cfg.total_env_steps // (batch * world)
    if num_updates < 1:
        raise ValueError(
            f"total_env_steps: {cfg.total_env_steps} is less than one update of all "
            f"{world} ranks ({batch * world} steps)"
        )
    ckpt_path = Path(cfg.checkpoint_path) if cfg.checkpoint_path is not None else None

    # -- state: fresh or from a checkpoint (generators seeded as `train_ppo` seeds them) ----
    rank_first = id_range(cfg.first_id, IDS_PER_RANK * world, dist)[0]
    env_first = [rank_first] * K
    sample_gens, perm_gens = [], []
    for s in seeds:
        sample_gens.append(torch.Generator(device=device))
        sample_gens[-1].manual_seed(s * 1_000_003 + dist.rank)
        perm_gens.append(torch.Generator())
        perm_gens[-1].manual_seed(s * 1_000_003 + dist.rank + 500_000)
    start_update = 0
    histories: list[list[dict[str, Any]]] = [[] for _ in range(K)]
    saved: dict[str, Any] | None = None
    if resume is not None:
        saved = load_checkpoint(resume, map_location="cpu")
        check_resume(saved, spec, cfg, world, FORMAT)
        if saved["seeds"] != seeds:
            raise ValueError(
                f"resume: the checkpoint holds seeds {saved['seeds']}, this run {seeds}"
            )
        mine = saved["ranks"][dist.rank]
        rank_first = mine["first_id"]
        env_first = mine["next_ids"]
        for g, state in zip(sample_gens, mine["sample_gens"], strict=True):
            g.set_state(state)
        for g, state in zip(perm_gens, mine["perm_gens"], strict=True):
            g.set_state(state)
        set_rng_state(mine["rng"])
        start_update = saved["update"]
        histories = [list(h) for h in saved["histories"]]
        if start_update > num_updates:
            raise ValueError(
                f"resume: the checkpoint is at update {start_update}, beyond this run's "
                f"{num_updates} updates (total_env_steps {cfg.total_env_steps})"
            )

    envs = [RolloutEnv(spec, c, first, device) for c, first in zip(solos, env_first, strict=True)]
    obs_shape = tuple(envs[0].env.single_obs_shape)
    model = Ensemble([build_policy(c, obs_shape).to(device) for c in solos]).to(device)
    fused = device.type in ("cpu", "cuda")  # as `train_ppo`
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr, eps=cfg.adam_eps, fused=fused)
    if saved is not None:
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
    trainer: torch.nn.Module = model
    if world > 1:
        from torch.nn.parallel import DistributedDataParallel

        ids = [device.index] if device.type == "cuda" else None
        trainer = DistributedDataParallel(model, device_ids=ids)

    # -- rollout storage, member-major (member m's slices are laid out as a solo run's) ----
    obs_buf = torch.zeros((K, T, N, *obs_shape), dtype=torch.uint8, device=device)
    act_buf = torch.zeros((K, T, N), dtype=torch.int64, device=device)
    logp_buf = torch.zeros((K, T, N), device=device)
    val_buf = torch.zeros((K, T, N), device=device)
    rew_buf = torch.zeros((K, T, N), device=device)
    term_buf = torch.zeros((K, T, N), dtype=torch.bool, device=device)
    trunc_buf = torch.zeros((K, T, N), dtype=torch.bool, device=device)
    final_buf = torch.zeros((K, T, N, *obs_shape), dtype=torch.uint8, device=device)
    episode_buf = torch.zeros((K, 4, T, N), dtype=torch.float64, device=device)
    adv_buf = torch.zeros((K, T, N), device=device)

    bar = None
    if progress and dist.is_main:
        from tqdm.auto import tqdm

        bar = tqdm(
            total=num_updates * batch * world * K,
            initial=start_update * batch * world * K,
            unit="step",
            unit_scale=True,
            desc=f"ppo, {K} seeds",
        )
    timing = {"total": 0.0, "env": 0.0, "update": 0.0, "eval": 0.0}
    t_start = time.perf_counter()
    t0 = time.perf_counter()
    obs = [env.reset() for env in envs]
    timing["env"] += time.perf_counter() - t0
    last_ckpt: str | None = None

    for update in range(start_update + 1, num_updates + 1):
        t_update = time.perf_counter()
        env_time = 0.0
        if cfg.anneal_lr:
            for group in optimizer.param_groups:
                group["lr"] = cfg.lr * (1.0 - (update - 1) / num_updates)

        with torch.no_grad():
            for t in range(T):
                x = torch.stack(obs)
                obs_buf[:, t].copy_(x)
                logits, value = model(x)
                val_buf[:, t] = value
                actions = []
                for m in range(K):
                    probs = logits[m].softmax(-1)
                    a = torch.multinomial(probs, 1, generator=sample_gens[m])[:, 0]
                    act_buf[m, t] = a
                    logp_buf[m, t] = logits[m].log_softmax(-1).gather(1, a[:, None])[:, 0]
                    actions.append(a)
                t0 = time.perf_counter()
                steps = [env.step(a) for env, a in zip(envs, actions, strict=True)]
                env_time += time.perf_counter() - t0
                obs = []
                for m, (o, reward, term, trunc, final_obs, *episode) in enumerate(steps):
                    obs.append(o)
                    rew_buf[m, t] = reward
                    term_buf[m, t] = term
                    trunc_buf[m, t] = trunc
                    final_buf[m, t] = final_obs
                    for k, v in enumerate(episode):
                        episode_buf[m, k, t] = v
            _, next_value = model(torch.stack(obs))
            stats = []
            for m in range(K):  # a time limit is bootstrapped with V(final observation)
                cut = trunc_buf[m].nonzero(as_tuple=True)
                if len(cut[0]):
                    _, v_final = model.call(m, final_buf[m][cut])
                    rew_buf[m][cut] += cfg.gamma * v_final
                d = (term_buf[m] | trunc_buf[m]).double()
                stats.append(torch.cat((d.sum()[None], (episode_buf[m] * d).sum(dim=(1, 2)))))
            live = 1.0 - (term_buf | trunc_buf).float()
            nxt = torch.cat((val_buf[:, 1:], next_value[:, None]), dim=1)
            delta = rew_buf + cfg.gamma * nxt * live - val_buf
            decay = cfg.gamma * cfg.gae_lambda * live
            last = torch.zeros((K, N), device=device)
            for t in reversed(range(T)):
                last = delta[:, t] + decay[:, t] * last
                adv_buf[:, t] = last
            ret_buf = adv_buf + val_buf

        flat = [
            [x[m].reshape(-1) for x in (act_buf, logp_buf, adv_buf, ret_buf, val_buf)]
            for m in range(K)
        ]
        b_obs = obs_buf.view(K, T * N, -1)
        mb = T * N // cfg.num_minibatches
        losses = torch.zeros((K, 5), device=device)
        for _ in range(cfg.update_epochs):
            perms = [torch.randperm(T * N, generator=g).to(device) for g in perm_gens]
            for k in range(cfg.num_minibatches):
                idx = [p[k * mb : (k + 1) * mb] for p in perms]
                mb_obs = torch.stack(
                    [b_obs[m].index_select(0, idx[m]).view(mb, *obs_shape) for m in range(K)]
                )
                out_logits, out_value = trainer(mb_obs)
                total = 0.0
                for m in range(K):
                    rest = [x.index_select(0, idx[m]) for x in flat[m]]
                    outputs = (out_logits[m], out_value[m])
                    loss, parts = _ppo_loss(lambda _, o=outputs: o, cfg, mb_obs[m], *rest)
                    total = total + loss
                    losses[m] += parts
                optimizer.zero_grad(set_to_none=True)
                total.backward()
                for member in model.members:  # each member's own gradient-norm clipping
                    torch.nn.utils.clip_grad_norm_(member.parameters(), cfg.max_grad_norm)
                optimizer.step()
        losses /= cfg.update_epochs * cfg.num_minibatches

        seconds = time.perf_counter() - t_update
        timing["env"] += env_time
        timing["update"] += seconds - env_time
        lr = optimizer.param_groups[0]["lr"]
        for m in range(K):
            row = _update_row(update, batch, dist, stats[m], losses[m], seconds, env_time, lr)
            if cfg.eval_every and update % cfg.eval_every == 0 and dist.is_main:
                t0 = time.perf_counter()
                row.update(_evaluate(model.member(m), evals, solos[m], update, device))
                timing["eval"] += time.perf_counter() - t0
            histories[m].append(row)
        if bar is not None:
            bar.update(batch * world * K)

        sync = cfg.checkpoint_every > 0 and update % cfg.checkpoint_every == 0
        if ckpt_path is not None and (sync or update == num_updates):
            mine = {
                "first_id": rank_first,
                "next_ids": [env.next_id for env in envs],
                "sample_gens": [g.get_state() for g in sample_gens],
                "perm_gens": [g.get_state() for g in perm_gens],
                "rng": rng_state(),
            }
            state = {
                "format": FORMAT,
                "seeds": seeds,
                "spec": repr(spec),
                "config": cfg.to_dict(),
                "world_size": world,
                "update": update,
                "exact": sync,
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "histories": histories,
                "ranks": broadcast_objects(mine, dist),
            }
            if dist.is_main:
                save_checkpoint(ckpt_path, state)
                last_ckpt = str(ckpt_path)
        if sync and update < num_updates:
            t0 = time.perf_counter()
            obs = [env.reset() for env in envs]
            timing["env"] += time.perf_counter() - t0

    if bar is not None:
        bar.close()
    timing["total"] = time.perf_counter() - t_start
    steps = (num_updates - start_update) * batch * world
    timing["env_fraction"] = timing["env"] / timing["total"] if timing["total"] else 0.0
    timing["env_steps_per_s"] = steps / timing["total"] if timing["total"] else 0.0
    return [
        PPOResult(
            model.member(m),
            histories[m],
            copy.deepcopy(timing),
            (rank_first, envs[m].next_id),
            last_ckpt,
        )
        for m in range(K)
    ]
