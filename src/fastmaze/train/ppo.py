"""PPO training (clipped surrogate, GAE): `PPOConfig` and the `train_ppo` loop (rollouts,
updates, metrics, evaluation, sync points), on one GPU/CPU or many via ``torchrun``.

The agent is `fastmaze.train.actor_critic.ActorCritic`, the env the trainer's view of either
backend (`fastmaze.train.rollout_env.RolloutEnv`), checkpoints for exact resume
`fastmaze.train.ppo_resume`.

>>> from fastmaze.train.ppo import PPOConfig, train_ppo
>>> result = train_ppo(fastmaze.presets.correlated(0.95), PPOConfig(total_env_steps=25_000_000))
>>> fastmaze.evaluate(result.policy.act, fastmaze.presets.conflict(), 10_000)

Defaults are the Procgen PPO hyper-parameters (Cobbe et al. 2020): γ 0.999, λ 0.95, lr 5e-4
(Adam, eps 1e-5), clip 0.2, entropy 0.01, value coefficient 0.5, gradient norm 0.5, 3 epochs
of 8 minibatches over 256-step rollouts of 64 envs per process. Rewards are not normalised
(fastmaze rewards are already O(1)).

**Data path.** Rollouts live in tensors preallocated on the training device; GAE runs
there. The env is the torch backend (`fastmaze.make_vec(backend="torch")`, state on the device)
when the tree has it and the device is not the CPU; otherwise the native backend, whose
buffers are read with `torch.from_numpy` (zero copy on the CPU; through one pinned buffer
and a non-blocking copy on CUDA). On the CPU the native C step beats tensor operations, which
is why "auto" picks it there. Envs run with ``autoreset_mode="same_step"``; a truncated
episode is bootstrapped with the value of its final observation (final observations are kept
with the rollout and evaluated in one batch at its end: no host sync per step). A rollout
step runs the model, the env and copies into the storage, nothing else; episode statistics
are reduced once per rollout. The trainer's phases carry ``torch.profiler`` labels
(``ppo.rollout.policy``, ``ppo.update.backward``, ...; `benchmarks/profile_ppo.py`), which
cost nothing unless a profiler runs.

**Env syncs and exact resume.** Every ``checkpoint_every`` updates (a *sync point*) the
trainer resets all envs: their episodes are cut (bootstrapped, like a time limit) and the
envs restart on the next ids of their level stream. The env state after a sync is a pure
function of ``(spec, seed, next_id)``, so a checkpoint written there (parameters, optimizer,
update counter, generator states, each rank's ``next_id``) lets `train_ppo(resume=...)`
continue bit for bit as if the run had not stopped: same levels, same actions, same
parameters. Syncs happen whether or not checkpoints are written, so a run's trajectory does
not depend on ``out_dir``. The final checkpoint of a run whose length is not a multiple of
``checkpoint_every`` is marked ``exact=False``: resuming from it inserts a sync there.

**Distributed.** Under ``torchrun`` each rank steps ``num_envs`` envs on its own disjoint
range of level ids (`fastmaze.train.distributed.id_range`), the model is wrapped in
DistributedDataParallel (gradients averaged, so parameters stay identical across ranks), and
the metrics are averaged over ranks; the main rank alone shows progress, evaluates and writes
checkpoints. ``total_env_steps`` counts the steps of all ranks.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.profiler import record_function

import fastmaze
from fastmaze.env import OBS_KINDS
from fastmaze.spec import AnySpec, MazeSpec, Mixture
from fastmaze.train.actor_critic import ActorCritic, build_policy
from fastmaze.train.checkpoint import load_checkpoint, save_checkpoint, set_rng_state
from fastmaze.train.distributed import Dist, all_reduce_mean, id_range, init_distributed
from fastmaze.train.models import MODELS
from fastmaze.train.ppo_resume import RESUMABLE_CHANGES, check_resume, checkpoint_state
from fastmaze.train.rollout_env import RolloutEnv
from fastmaze.validate import check_choice, check_int, check_number, fail, flag

__all__ = ["RESUMABLE_CHANGES", "ActorCritic", "PPOConfig", "PPOResult", "train_ppo"]

ENV_BACKENDS = ("auto", "native", "torch")
#: Level ids given to each rank: far more than any run consumes (one per episode start).
IDS_PER_RANK = 2**40


def _positive_int(name: str, value: Any, minimum: int = 1) -> int:
    return check_int(f"PPOConfig.{name}", value, minimum, 2**62)


def _number(name: str, value: Any, lo: float, hi: float, lo_open: bool = False) -> float:
    return check_number(f"PPOConfig.{name}", value, lo, hi, open_lo=lo_open)


@dataclass
class PPOConfig:
    """PPO hyper-parameters and run settings (validated on construction; ValueError).

    Steps are env steps; ``num_envs`` is per process (rank); ``total_env_steps`` counts all
    ranks and is rounded down to whole updates (one update = ``num_envs · num_steps`` steps
    per rank). ``*_every`` are in updates, 0 disables. ``checkpoint_every`` is also the env
    sync interval (module docstring). ``env_kwargs`` go to `VecMazeEnv` (``reveal_exit``,
    ``hide_colors``, ``terminate_on_decoy``, ``num_threads``, ...).
    """

    total_env_steps: int = 25_000_000
    num_envs: int = 64
    num_steps: int = 256
    gamma: float = 0.999
    gae_lambda: float = 0.95
    lr: float = 5e-4
    adam_eps: float = 1e-5
    anneal_lr: bool = False
    clip_coef: float = 0.2
    clip_value: bool = True
    ent_coef: float = 0.01
    vf_coef: float = 0.5
    max_grad_norm: float = 0.5
    update_epochs: int = 3
    num_minibatches: int = 8
    norm_adv: bool = True
    model: str = "impala"
    model_kwargs: dict[str, Any] = field(default_factory=dict)
    obs: str = "symbolic"
    seed: int = 0
    first_id: int = 0
    device: str | None = None
    env_backend: str = "auto"
    proxy_reward: dict[str, float] | None = None
    step_penalty: float = 0.0
    max_steps: int | None = None
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    eval_every: int = 0
    eval_episodes: int = 1000
    eval_first_id: int = 2**61
    eval_greedy: bool = False
    checkpoint_path: str | None = None
    checkpoint_every: int = 50

    def __post_init__(self) -> None:
        for name in ("total_env_steps", "num_envs", "num_steps", "update_epochs"):
            _positive_int(name, getattr(self, name))
        _positive_int("num_minibatches", self.num_minibatches)
        batch = self.num_envs * self.num_steps
        if batch % self.num_minibatches:
            raise ValueError(
                f"num_minibatches: {self.num_minibatches} does not divide the rollout batch "
                f"num_envs · num_steps = {batch}"
            )
        if self.total_env_steps < batch:
            raise ValueError(
                f"total_env_steps: {self.total_env_steps} is less than one rollout "
                f"(num_envs · num_steps = {batch})"
            )
        _number("gamma", self.gamma, 0.0, 1.0)
        _number("gae_lambda", self.gae_lambda, 0.0, 1.0)
        _number("lr", self.lr, 0.0, math.inf, lo_open=True)
        _number("adam_eps", self.adam_eps, 0.0, math.inf, lo_open=True)
        _number("clip_coef", self.clip_coef, 0.0, math.inf, lo_open=True)
        _number("ent_coef", self.ent_coef, 0.0, math.inf)
        _number("vf_coef", self.vf_coef, 0.0, math.inf)
        _number("max_grad_norm", self.max_grad_norm, 0.0, math.inf, lo_open=True)
        _number("step_penalty", self.step_penalty, -math.inf, math.inf)
        for name in ("anneal_lr", "clip_value", "norm_adv", "eval_greedy"):
            flag(f"PPOConfig.{name}", getattr(self, name))
        check_choice("PPOConfig.model", self.model, MODELS)
        check_choice("PPOConfig.obs", self.obs, OBS_KINDS)
        check_choice("PPOConfig.env_backend", self.env_backend, ENV_BACKENDS)
        for name in ("model_kwargs", "env_kwargs"):
            kwargs = getattr(self, name)
            if not isinstance(kwargs, Mapping) or not all(isinstance(k, str) for k in kwargs):
                raise fail(f"PPOConfig.{name}", "a dict of keyword arguments", kwargs)
        reserved = {
            "obs",
            "first_id",
            "autoreset_mode",
            "backend",
            "device",
            "seed",
            "num_envs",
            "proxy_reward",
            "step_penalty",
            "max_steps",
            "copy",  # the trainer maps the env's own (reused) buffers once
        }
        clash = reserved & set(self.env_kwargs)
        if clash:
            raise ValueError(
                f"env_kwargs: {sorted(clash)} are set by PPOConfig fields or by the trainer"
            )
        if self.proxy_reward is not None:
            if not isinstance(self.proxy_reward, Mapping):
                raise fail("PPOConfig.proxy_reward", "a dict colour -> reward", self.proxy_reward)
            for colour, reward in self.proxy_reward.items():
                _number(f"proxy_reward[{colour!r}]", reward, -math.inf, math.inf)
        if self.checkpoint_path is not None and not isinstance(self.checkpoint_path, str):
            raise fail("PPOConfig.checkpoint_path", "a path (str) or None", self.checkpoint_path)
        if self.max_steps is not None:
            _positive_int("max_steps", self.max_steps)
        _positive_int("seed", self.seed, 0)
        _positive_int("first_id", self.first_id, 0)
        _positive_int("eval_first_id", self.eval_first_id, 0)
        _positive_int("eval_every", self.eval_every, 0)
        _positive_int("eval_episodes", self.eval_episodes)
        _positive_int("checkpoint_every", self.checkpoint_every, 0)
        if self.device is not None:
            try:
                torch.device(self.device)
            except (RuntimeError, TypeError, ValueError):
                raise fail("PPOConfig.device", "a torch device name or None", self.device) from None

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python copy (JSON- and checkpoint-safe)."""
        return json.loads(json.dumps(dataclasses.asdict(self)))


@dataclass
class PPOResult:
    """A finished run: ``policy`` (the `ActorCritic`, unwrapped, on the training device),
    ``history`` (one dict per update; `train_ppo` lists the keys), ``timing`` (seconds:
    ``total``, ``env``, ``update``, ``eval``, plus ``env_fraction`` and ``env_steps_per_s``
    for this call), ``level_ids`` (half-open range of the ids this rank's envs played),
    ``checkpoint`` (path of the last checkpoint written, or None)."""

    policy: ActorCritic
    history: list[dict[str, Any]]
    timing: dict[str, float]
    level_ids: tuple[int, int]
    checkpoint: str | None = None


def train_ppo(
    spec: AnySpec,
    config: PPOConfig | None = None,
    *,
    out_dir: str | os.PathLike[str] | None = None,
    resume: str | os.PathLike[str] | None = None,
    progress: bool = True,
    eval_specs: Mapping[str, AnySpec] | None = None,
    callback: Callable[[int, ActorCritic, dict[str, Any]], None] | None = None,
) -> PPOResult:
    """Trains an `ActorCritic` with PPO on the level stream of ``(spec, config.seed)``.

    ``out_dir``: where ``checkpoint.pt`` (unless ``config.checkpoint_path``) and
    ``metrics.jsonl`` go (main rank). ``resume``: a checkpoint to continue from (module
    docstring); its config must equal ``config`` but for `RESUMABLE_CHANGES`.
    ``eval_specs``: name -> spec evaluated every ``config.eval_every`` updates with
    `fastmaze.evaluate` (default ``{"train": spec}``), on ids from ``config.eval_first_id``.
    ``callback(update, policy, metrics)``: called on every rank after each update.

    History keys: update, env_steps (all ranks), episodes, episode_return, episode_length,
    exit_rate, decoy_rate (of the episodes that ended in the rollout; NaN if none),
    env_steps_per_s, env_fraction, policy_loss, value_loss, entropy, approx_kl, clip_fraction,
    lr, and at evaluations ``eval/<name>/{exit,proxy,neither}``.
    """
    cfg = PPOConfig() if config is None else config
    if not isinstance(cfg, PPOConfig):
        raise ValueError(f"config: expected a PPOConfig, got {type(cfg).__name__}")
    if not isinstance(spec, (MazeSpec, Mixture)):
        raise ValueError(f"spec: expected a MazeSpec or Mixture, got {type(spec).__name__}")
    evals = {"train": spec} if eval_specs is None else dict(eval_specs)
    for name, s in evals.items():
        if not isinstance(s, (MazeSpec, Mixture)):
            raise ValueError(f"eval_specs[{name!r}]: expected a MazeSpec or Mixture")

    dist = init_distributed(cfg.device)
    device = dist.device
    world = dist.world_size
    batch = cfg.num_envs * cfg.num_steps
    num_updates = cfg.total_env_steps // (batch * world)
    if num_updates < 1:
        raise ValueError(
            f"total_env_steps: {cfg.total_env_steps} is less than one update of all "
            f"{world} ranks ({batch * world} steps)"
        )
    ckpt_path: Path | None = None
    if cfg.checkpoint_path is not None:
        ckpt_path = Path(cfg.checkpoint_path)
    elif out_dir is not None:
        ckpt_path = Path(out_dir) / "checkpoint.pt"
    metrics_path = Path(out_dir) / "metrics.jsonl" if out_dir is not None else None

    # -- state: fresh or from a checkpoint ---------------------------------------------------
    rank_first = id_range(cfg.first_id, IDS_PER_RANK * world, dist)[0]
    env_first = rank_first
    sample_gen = torch.Generator(device=device)
    sample_gen.manual_seed(cfg.seed * 1_000_003 + dist.rank)
    perm_gen = torch.Generator()
    perm_gen.manual_seed(cfg.seed * 1_000_003 + dist.rank + 500_000)
    start_update = 0
    history: list[dict[str, Any]] = []
    saved: dict[str, Any] | None = None
    if resume is not None:
        saved = load_checkpoint(resume, map_location="cpu")
        check_resume(saved, spec, cfg, world)
        mine = saved["ranks"][dist.rank]
        rank_first, env_first = mine["first_id"], mine["next_id"]
        sample_gen.set_state(mine["sample_gen"])
        perm_gen.set_state(mine["perm_gen"])
        set_rng_state(mine["rng"])
        start_update = saved["update"]
        history = list(saved["history"])
        if start_update > num_updates:
            raise ValueError(
                f"resume: the checkpoint is at update {start_update}, beyond this run's "
                f"{num_updates} updates (total_env_steps {cfg.total_env_steps})"
            )

    env = RolloutEnv(spec, cfg, env_first, device)
    obs_shape = tuple(env.env.single_obs_shape)
    policy = build_policy(cfg, obs_shape).to(device)
    # The fused kernel: one call per step instead of a loop of small ops per parameter.
    fused = device.type in ("cpu", "cuda")
    optimizer = torch.optim.Adam(policy.parameters(), lr=cfg.lr, eps=cfg.adam_eps, fused=fused)
    if saved is not None:
        policy.load_state_dict(saved["policy"])
        optimizer.load_state_dict(saved["optimizer"])
    trainer: nn.Module = policy
    if world > 1:
        from torch.nn.parallel import DistributedDataParallel

        ids = [device.index] if device.type == "cuda" else None
        trainer = DistributedDataParallel(policy, device_ids=ids)

    # -- rollout storage, on the device ------------------------------------------------------
    T, N = cfg.num_steps, cfg.num_envs
    obs_buf = torch.zeros((T, N, *obs_shape), dtype=torch.uint8, device=device)
    act_buf = torch.zeros((T, N), dtype=torch.int64, device=device)
    logp_buf = torch.zeros((T, N), device=device)
    val_buf = torch.zeros((T, N), device=device)
    rew_buf = torch.zeros((T, N), device=device)
    term_buf = torch.zeros((T, N), dtype=torch.bool, device=device)
    trunc_buf = torch.zeros((T, N), dtype=torch.bool, device=device)
    final_buf = torch.zeros((T, N, *obs_shape), dtype=torch.uint8, device=device)
    # the ended episodes' return, length, reached exit, reached decoy (valid where done)
    episode_buf = torch.zeros((4, T, N), dtype=torch.float64, device=device)
    adv_buf = torch.zeros((T, N), device=device)

    bar = None
    if progress and dist.is_main:
        from tqdm.auto import tqdm

        bar = tqdm(
            total=num_updates * batch * world,
            initial=start_update * batch * world,
            unit="step",
            unit_scale=True,
            desc="ppo",
        )
    timing = {"total": 0.0, "env": 0.0, "update": 0.0, "eval": 0.0}
    t_start = time.perf_counter()
    t0 = time.perf_counter()
    obs = env.reset()
    timing["env"] += time.perf_counter() - t0
    last_ckpt: str | None = None

    for update in range(start_update + 1, num_updates + 1):
        t_update = time.perf_counter()
        env_time = 0.0
        if cfg.anneal_lr:
            for group in optimizer.param_groups:
                group["lr"] = cfg.lr * (1.0 - (update - 1) / num_updates)
        phase = record_function if torch.autograd._profiler_enabled() else _no_phase

        # rollout: per step only the model, the env and copies into the rollout storage
        with torch.no_grad():
            for t in range(T):
                with phase("ppo.rollout.policy"):
                    obs_buf[t].copy_(obs)
                    logits, value = policy(obs)
                    action = torch.multinomial(logits.softmax(-1), 1, generator=sample_gen)[:, 0]
                    act_buf[t] = action
                    logp_buf[t] = logits.log_softmax(-1).gather(1, action[:, None])[:, 0]
                    val_buf[t] = value
                with phase("ppo.rollout.env"):
                    t0 = time.perf_counter()
                    (obs, reward, term, trunc, final_obs, *episode) = env.step(action)
                    env_time += time.perf_counter() - t0
                with phase("ppo.rollout.store"):
                    rew_buf[t] = reward
                    term_buf[t] = term
                    trunc_buf[t] = trunc
                    final_buf[t] = final_obs
                    for k, v in enumerate(episode):
                        episode_buf[k, t] = v
            with phase("ppo.rollout.policy"):
                _, next_value = policy(obs)
            with phase("ppo.rollout.store"):
                # a time limit is bootstrapped with V(final observation): one batch per rollout
                cut = trunc_buf.nonzero(as_tuple=True)
                if len(cut[0]):
                    _, v_final = policy(final_buf[cut])
                    rew_buf[cut] += cfg.gamma * v_final
                done = term_buf | trunc_buf
                d = done.double()
                stats = torch.cat((d.sum()[None], (episode_buf * d).sum(dim=(1, 2))))

            # GAE(λ): deltas for all steps at once, then the backward recursion
            with phase("ppo.gae"):
                live = 1.0 - done.float()
                nxt = torch.cat((val_buf[1:], next_value[None]))
                delta = rew_buf + cfg.gamma * nxt * live - val_buf
                decay = cfg.gamma * cfg.gae_lambda * live
                last = torch.zeros(N, device=device)
                for t in reversed(range(T)):
                    last = delta[t] + decay[t] * last
                    adv_buf[t] = last
                ret_buf = adv_buf + val_buf

        # update (index_select on flat rows: advanced indexing of uint8 obs is ~50x slower)
        b_obs = obs_buf.view(T * N, -1)
        flat = (act_buf, logp_buf, adv_buf, ret_buf, val_buf)
        b_rest = [x.view(-1) for x in flat]
        mb = T * N // cfg.num_minibatches
        losses = torch.zeros(5, device=device)  # pg, v, entropy, kl, clipfrac
        for _ in range(cfg.update_epochs):
            with phase("ppo.update.minibatch"):
                perm = torch.randperm(T * N, generator=perm_gen).to(device)
            for k in range(cfg.num_minibatches):
                with phase("ppo.update.minibatch"):
                    idx = perm[k * mb : (k + 1) * mb]
                    mb_obs = b_obs.index_select(0, idx).view(mb, *obs_shape)
                    mb_rest = [x.index_select(0, idx) for x in b_rest]
                with phase("ppo.update.forward"):
                    loss, parts = _ppo_loss(trainer, cfg, mb_obs, *mb_rest)
                with phase("ppo.update.backward"):
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                with phase("ppo.update.optimizer"):
                    nn.utils.clip_grad_norm_(policy.parameters(), cfg.max_grad_norm)
                    optimizer.step()
                    losses += parts
        losses /= cfg.update_epochs * cfg.num_minibatches

        # metrics (averaged over ranks; episode means weighted by episode counts)
        seconds = time.perf_counter() - t_update
        timing["env"] += env_time
        timing["update"] += seconds - env_time
        lr = optimizer.param_groups[0]["lr"]
        row = _update_row(update, batch, dist, stats, losses, seconds, env_time, lr)

        if cfg.eval_every and update % cfg.eval_every == 0 and dist.is_main:
            t0 = time.perf_counter()
            row.update(_evaluate(policy, evals, cfg, update, device))
            timing["eval"] += time.perf_counter() - t0
        history.append(row)
        if bar is not None:
            bar.update(batch * world)
            bar.set_postfix(
                ret=f"{row['episode_return']:.3f}",
                exit=f"{row['exit_rate']:.3f}",
                sps=f"{row['env_steps_per_s']:.0f}",
                refresh=False,
            )
        if metrics_path is not None and dist.is_main:
            metrics_path.parent.mkdir(parents=True, exist_ok=True)
            with metrics_path.open("a") as f:
                f.write(json.dumps(row) + "\n")
        if callback is not None:
            callback(update, policy, row)

        # sync point: checkpoint, then restart every env on the next ids of its stream
        sync = cfg.checkpoint_every > 0 and update % cfg.checkpoint_every == 0
        if ckpt_path is not None and (sync or update == num_updates):
            state = checkpoint_state(
                spec,
                cfg,
                update,
                policy,
                optimizer,
                history,
                env,
                rank_first,
                sample_gen,
                perm_gen,
                dist,
                exact=sync,
            )
            if dist.is_main:
                save_checkpoint(ckpt_path, state)
                last_ckpt = str(ckpt_path)
        if sync and update < num_updates:
            t0 = time.perf_counter()
            obs = env.reset()
            timing["env"] += time.perf_counter() - t0

    if bar is not None:
        bar.close()
    timing["total"] = time.perf_counter() - t_start
    steps = (num_updates - start_update) * batch * world
    timing["env_fraction"] = timing["env"] / timing["total"] if timing["total"] else 0.0
    timing["env_steps_per_s"] = steps / timing["total"] if timing["total"] else 0.0
    return PPOResult(policy, history, timing, (rank_first, env.next_id), last_ckpt)


def _update_row(
    update: int,
    batch: int,
    dist: Dist,
    stats: torch.Tensor,
    losses: torch.Tensor,
    seconds: float,
    env_time: float,
    lr: float,
) -> dict[str, Any]:
    """The history row of one update (`train_ppo` lists the keys), averaged over ranks:
    ``stats`` [5] float64 (episodes ended, their return, length, exit and decoy sums, this
    rank), ``losses`` [5] (policy, value, entropy, approximate KL, clip fraction, means),
    ``batch`` env steps per rank, ``seconds`` of the update of which ``env_time`` in the env."""
    world = dist.world_size
    n_ep, ret_sum, len_sum, exit_sum, decoy_sum = stats.tolist()
    if world > 1:
        n_ep, ret_sum, len_sum, exit_sum, decoy_sum = (
            all_reduce_mean(x, dist) for x in (n_ep, ret_sum, len_sum, exit_sum, decoy_sum)
        )
    pg, vl, ent, kl, cf = losses.tolist()
    row: dict[str, Any] = {
        "update": update,
        "env_steps": update * batch * world,
        "episodes": round(n_ep * world),
        "episode_return": ret_sum / n_ep if n_ep else float("nan"),
        "episode_length": len_sum / n_ep if n_ep else float("nan"),
        "exit_rate": exit_sum / n_ep if n_ep else float("nan"),
        "decoy_rate": decoy_sum / n_ep if n_ep else float("nan"),
        "env_steps_per_s": batch * world / seconds,
        "env_fraction": env_time / seconds,
        "policy_loss": pg,
        "value_loss": vl,
        "entropy": ent,
        "approx_kl": kl,
        "clip_fraction": cf,
        "lr": lr,
    }
    if world > 1:
        for key in (
            "policy_loss",
            "value_loss",
            "entropy",
            "approx_kl",
            "clip_fraction",
            "env_fraction",
        ):
            row[key] = all_reduce_mean(row[key], dist)
        row["env_steps_per_s"] = all_reduce_mean(row["env_steps_per_s"], dist) * world
    return row


def _no_phase(name: str) -> contextlib.nullcontext:
    """`record_function` when no profiler runs: an inactive label still costs ~15 µs."""
    return contextlib.nullcontext()


def _ppo_loss(
    trainer: nn.Module,
    cfg: PPOConfig,
    obs: torch.Tensor,
    act: torch.Tensor,
    logp_old: torch.Tensor,
    adv: torch.Tensor,
    ret: torch.Tensor,
    val: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The PPO loss of one minibatch (tensors [B], obs [B, C, H, W]) and, detached, its
    parts (policy loss, value loss, entropy, approximate KL, clip fraction) as one [5]."""
    logits, value = trainer(obs)
    logp_all = logits.log_softmax(-1)
    logp = logp_all.gather(1, act[:, None])[:, 0]
    entropy = -(logp_all.exp() * logp_all).sum(-1).mean()
    log_ratio = logp - logp_old
    ratio = log_ratio.exp()
    if cfg.norm_adv:
        adv = (adv - adv.mean()) / (adv.std() + 1e-8)
    pg_loss = torch.max(
        -adv * ratio, -adv * ratio.clamp(1 - cfg.clip_coef, 1 + cfg.clip_coef)
    ).mean()
    v_err = (value - ret) ** 2
    if cfg.clip_value:
        v_clip = val + (value - val).clamp(-cfg.clip_coef, cfg.clip_coef)
        v_err = torch.max(v_err, (v_clip - ret) ** 2)
    v_loss = 0.5 * v_err.mean()
    loss = pg_loss - cfg.ent_coef * entropy + cfg.vf_coef * v_loss
    with torch.no_grad():
        kl = ((ratio - 1) - log_ratio).mean()
        clipped = ((ratio - 1).abs() > cfg.clip_coef).float().mean()
        parts = torch.stack((pg_loss, v_loss, entropy, kl, clipped)).detach()
    return loss, parts


def _evaluate(
    policy: ActorCritic,
    evals: Mapping[str, AnySpec],
    cfg: PPOConfig,
    update: int,
    device: torch.device,
) -> dict[str, float]:
    """``eval/<name>/{exit,proxy,neither}`` rates; sampling from a generator seeded by
    (seed, update), so evaluation never moves the training RNG streams."""
    out: dict[str, float] = {}
    env_kwargs = {
        k: v
        for k, v in cfg.env_kwargs.items()
        if k in ("reveal_exit", "hide_colors", "pixels", "radius", "num_threads")
    }
    for name, spec in evals.items():
        gen = torch.Generator(device=device)
        gen.manual_seed(cfg.seed * 1_000_003 + update)
        ev = fastmaze.evaluate(
            lambda o, g=gen: policy.act(o, greedy=cfg.eval_greedy, generator=g),
            spec,
            cfg.eval_episodes,
            seed=cfg.seed,
            first_id=cfg.eval_first_id,
            obs=cfg.obs,
            max_steps=cfg.max_steps,
            **env_kwargs,
        )
        row = ev.rows()[0]
        for key in ("exit", "proxy", "neither"):
            out[f"eval/{name}/{key}"] = float(row[key][0])
    return out
