"""Seed ensembles: K independent models of one configuration trained at once, in one
process, as one batched model.

`Ensemble` stacks the members' parameters (`torch.func.stack_module_state`: every
parameter gets a leading member axis [K, ...]) and runs them through one parameter-less
copy of the model (`torch.func.functional_call`), for every model of
`fastmaze.train.models` and every task head unchanged. One Adam over the stacked
parameters *is* K independent Adams: every Adam operation is elementwise, so member m's
moments and updates depend on member m's gradients alone (the step count is shared, and
equal for all). The loss is the sum of the members' mean losses, so member m's gradient
is its own loss's. One stream call makes the K·B levels of a step (one contiguous id
range, `fastmaze.train.stream.batch_ids`), one backward and one optimizer step serve all
members.

**Two ways to run the members, chosen by device (`VECTORIZED`).** On CUDA the members
are vmap'd (`torch.vmap` over `functional_call`): vmap lowers the batched convolutions to
grouped ones, one kernel launch for all K members instead of K. On the CPU the members
run one after another on slices of the stacked parameters: the kernels are then exactly
those of a solo run (bitwise the same training), while a grouped convolution (oneDNN)
sums its products in another order than an ungrouped one, so vmap'd members drift from
their solo runs in the last bits (~1e-7 relative per forward pass), and Adam turns a
gradient that is zero up to rounding (the exit task's score bias: a softmax ignores a
common shift) into updates of size ``lr`` of either sign. `benchmarks/bench_ensemble.py`
measures both ways against K sequential solo runs, so the choice per device rests on figures.

**Exactness.** Member m of an ensemble trains on the same levels (ids of member m), from
the same initialisation (torch seed ``seed + m``) and with the same optimizer as
``SupervisedConfig(..., member=m)`` trained alone: bitwise on the CPU (asserted in
`tests/test_train_ensemble.py`); vmap'd, within float rounding grown over training (the
test asserts 1e-4 after a few steps of the path task, whose every gradient is real).

**DDP.** Under ``torchrun`` the stacked model is wrapped in `DistributedDataParallel`;
each rank draws its own share of every member's ids (the id layout is (batch, rank,
member)), and the gradients of every member are averaged over ranks.
"""

from __future__ import annotations

import copy
import math
import os
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.func import functional_call, stack_module_state

from fastmaze.train.checkpoint import load_checkpoint, rng_state, save_checkpoint, set_rng_state
from fastmaze.train.distributed import Dist, all_reduce_mean, init_distributed
from fastmaze.train.stream import LevelStream

__all__ = ["VECTORIZED", "Ensemble", "member_results", "train_supervised_ensemble"]


#: Whether `Ensemble` vmaps its members, by device type (others: vmap). On the CPU the
#: members run one by one on slices of the stacked parameters, bitwise their solo runs.
VECTORIZED = {"cpu": False, "cuda": True}


def _key(name: str) -> str:
    return name.replace(".", "__")


class Ensemble(nn.Module):
    """K models of one architecture as one module, parameters stacked [K, ...].
    ``forward(x)``: x [K, B, ...] (member m's inputs at x[m]) -> [K, B, ...] (member m's
    outputs), vmap'd when ``vectorized`` (None: per `VECTORIZED` for the input's device),
    else member by member on slices of the stacked parameters. `member` returns member m
    as an ordinary module (a copy of its parameters); ``len(ensemble)`` is K."""

    def __init__(self, models: Sequence[nn.Module], vectorized: bool | None = None) -> None:
        super().__init__()
        self.vectorized = vectorized
        if len(models) < 1:
            raise ValueError("Ensemble: expected at least one model")
        if any(type(m) is not type(models[0]) for m in models):
            raise ValueError("Ensemble: every member must be the same kind of model")
        params, buffers = stack_module_state(list(models))
        self.names = list(params)
        self.buffer_names = list(buffers)
        for name, p in params.items():
            self.register_parameter(_key(name), nn.Parameter(p.detach().clone()))
        for name, b in buffers.items():
            self.register_buffer(_key(name), b.clone())
        self.k = len(models)
        # The architecture without storage: functional_call supplies every tensor.
        self._template = [copy.deepcopy(models[0]).to("meta")]

    def __len__(self) -> int:
        return self.k

    @property
    def template(self) -> nn.Module:
        """The members' architecture (meta tensors; attributes such as ``iterations``)."""
        return self._template[0]

    def _stacked(self) -> tuple[dict[str, Tensor], dict[str, Tensor]]:
        p = {n: getattr(self, _key(n)) for n in self.names}
        b = {n: getattr(self, _key(n)) for n in self.buffer_names}
        return p, b

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[0] != self.k:
            raise ValueError(
                f"Ensemble: input has {x.shape[0]} members on axis 0, expected {self.k}"
            )
        template = self.template

        def one(p: dict[str, Tensor], b: dict[str, Tensor], xm: Tensor) -> Tensor:
            return functional_call(template, (p, b), (xm,))

        p, b = self._stacked()
        if self.vectorized is None:
            vectorized = VECTORIZED.get(x.device.type, True)
        else:
            vectorized = self.vectorized
        if vectorized:
            return torch.vmap(one)(p, b, x)
        return torch.stack(
            [
                one({n: t[m] for n, t in p.items()}, {n: t[m] for n, t in b.items()}, x[m])
                for m in range(self.k)
            ]
        )

    def member(self, m: int) -> nn.Module:
        """Member m as a standalone module (its own copy of the parameters, same device)."""
        if not 0 <= m < self.k:
            raise ValueError(f"member: {m!r}; expected 0 <= m < {self.k}")
        p, b = self._stacked()
        module = copy.deepcopy(self.template).to_empty(device=next(self.parameters()).device)
        state = {n: t[m].detach().clone() for n, t in {**p, **b}.items()}
        module.load_state_dict(state)
        return module


def _models(c: Any, device: torch.device) -> list[nn.Module]:
    from fastmaze.train.supervised import build_model

    out = []
    for m in range(c.ensemble):
        torch.manual_seed(c.seed + m)  # as `train_supervised` with member=m
        out.append(build_model(c).to(device))
    return out


def train_supervised_ensemble(config: Any, dist: Dist | None = None) -> dict[str, Any]:
    """Trains the ``config.ensemble`` members of a `SupervisedConfig` at once (``member``
    must be None). Returns {"members": K results, each as `train_supervised` returns for
    ``replace(config, member=m)``, "config", "steps", "samples_per_s" (levels per second,
    all members), "wall_s"}. Called by `train_supervised` for ensemble > 1."""
    from fastmaze.train.supervised import _evaluate_all, logits_loss, stream_statistics

    c = config.resolved()
    if c.member is not None:
        raise ValueError("train_supervised_ensemble: member must be None (all members)")
    K, B = c.ensemble, c.batch
    dist = dist or init_distributed(c.device)
    device = dist.device
    model = Ensemble(_models(c, device)).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=c.lr, weight_decay=c.weight_decay)
    step, histories = 0, [[] for _ in range(K)]
    if c.checkpoint and c.resume and os.path.exists(c.checkpoint):
        state = load_checkpoint(c.checkpoint, map_location=device)
        if state.get("members") != K:
            raise ValueError(
                f"resume: {c.checkpoint} holds {state.get('members', 1)} members, this run {K}"
            )
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        step, histories = state["step"], state["history"]
        set_rng_state(state["rng"])
    wrapped: nn.Module = model
    if dist.world_size > 1:
        from torch.nn.parallel import DistributedDataParallel

        wrapped = DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None
        )
    stream = LevelStream(
        c.spec,
        B,
        seed=c.seed,
        task=c.task,
        cue=c.cue,
        pixels=c.pixels,
        rank=dist.rank,
        world_size=dist.world_size,
        start_batch=step,
        prefetch=c.prefetch,
        threads=c.threads,
        members=K,
    )
    bar = None
    if c.progress and dist.is_main:
        from tqdm.auto import tqdm

        bar = tqdm(total=c.steps, initial=step, unit="step", desc=f"ensemble of {K}", leave=False)

    def save() -> None:
        if c.checkpoint and dist.is_main:
            save_checkpoint(
                c.checkpoint,
                {
                    "members": K,
                    "model": model.state_dict(),
                    "optimizer": opt.state_dict(),
                    "step": step,
                    "stream_position": stream.position,
                    "rng": rng_state(),
                    "history": histories,
                    "config": c.to_dict(),
                },
            )

    t0, first_step, seen = time.perf_counter(), step, []
    try:
        while step < c.steps:
            batch = stream.next_on(device)
            ids = batch.ids.reshape(K, B)
            seen.append(ids[:, [0, -1]])
            logits = wrapped(batch.obs.view(K, B, *batch.obs.shape[1:]))
            parts = [logits_loss(logits[m], _member_batch(batch, m, B), c.task) for m in range(K)]
            loss = torch.stack([p[0] for p in parts])
            opt.zero_grad(set_to_none=True)
            loss.sum().backward()
            opt.step()
            step += 1
            if bar is not None:
                bar.update(1)
                if step % 20 == 0 or step == c.steps:
                    bar.set_postfix(loss=f"{loss.mean().item():.3f}")
            if c.eval_every and step % c.eval_every == 0 and step < c.steps:
                for m in range(K):
                    record = {"step": step, "loss": all_reduce_mean(loss[m], dist)}
                    if dist.is_main:
                        record["eval"] = _evaluate_all(
                            model.member(m), c, c.eval_episodes_periodic, device
                        )
                    histories[m].append(record)
            if c.checkpoint_every and step % c.checkpoint_every == 0:
                save()
        train_s = time.perf_counter() - t0
        save()
    finally:
        stream.close()
        if bar is not None:
            bar.close()
    done = step - first_step
    trained_on = step * B * dist.world_size * K
    realised = (
        stream_statistics(c.spec, c.seed, trained_on, cue_color=c.cue_color, threads=c.threads)
        if dist.is_main and trained_on and c.cue_color in c.spec.palette
        else {}
    )
    spans = np.array(seen, dtype=np.int64).reshape(-1, K, 2)
    members = []
    for m in range(K):
        solo = model.member(m)
        metrics = _evaluate_all(solo, c, c.eval_episodes, device) if dist.is_main else {}
        members.append(
            {
                "config": replace(c, member=m).to_dict(),
                "metrics": metrics,
                "history": histories[m],
                "stream_stats": realised,
                "model": solo,
                "steps": step,
                "batch_id_ranges": spans[:, m],
                "samples_per_s": done * B * dist.world_size / train_s if done else math.nan,
                "stream_samples_per_s": stream.samples_per_s / K,
                "wall_s": time.perf_counter() - t0,
            }
        )
    return {
        "config": c.to_dict(),
        "members": members,
        "steps": step,
        "samples_per_s": done * B * K * dist.world_size / train_s if done else math.nan,
        "wall_s": time.perf_counter() - t0,
    }


def _member_batch(batch: Any, m: int, B: int) -> Any:
    """Member m's rows of an ensemble batch (``target`` and ``mask``; views)."""
    rows = slice(m * B, (m + 1) * B)
    return replace(batch, obs=batch.obs[rows], target=batch.target[rows], mask=batch.mask[rows])


def member_results(config: Any) -> list[dict[str, Any]]:
    """The K member results of ``config`` (a `SupervisedConfig`): one ensemble run when
    ``config.ensemble`` > 1, else the one solo run in a list."""
    from fastmaze.train.supervised import train_supervised

    if config.ensemble > 1 and config.member is None:
        return train_supervised_ensemble(config)["members"]
    return [train_supervised(config)]
