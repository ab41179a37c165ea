"""Seed ensembles: the runs of one configuration with K seeds, trained at once in one
process as one batched model.

Member m is the run of ``seeds[m]``: initialised from that torch seed, trained on the
level stream of ``(spec, seeds[m])`` at the ids a solo run draws (`LevelStream` with
``seeds``: one stream call makes the K·B levels of a step, one buffer, rendered and
labelled at once), with its own Adam state, evaluated on its seed's evaluation levels. So
an ensemble of seeds (0, 1, 2) computes what three solo runs compute, and a sweep may group
a cell's seeds into ensembles or not without changing a result. Distinct seeds give the
members disjoint levels (a level is a pure function of (spec, seed, id)); under
``torchrun`` the ranks split the ids of every member as they split a solo run's.

`Ensemble` holds the K members (each its own module with its own parameter tensors) and
runs them as one: ``forward`` takes [K, B, ...] and returns [K, B, ...], for every model of
`fastmaze.train.models`, every task head and the PPO actor-critic unchanged. One Adam over
all members' tensors is K independent Adams (Adam treats every tensor apart, and each
member's tensors are exactly a solo run's, so even the fused kernel's vector/tail split
is the same). The loss is the sum of the members' mean losses, so member m's gradient is
its own loss's; one stream call, one backward and one optimizer step serve all members.

**Two ways to run the members, chosen by device (`VECTORIZED`).** On CUDA the members are
vmap'd: their parameters are stacked [K, ...] each step (a differentiable ``torch.stack``;
`torch.func.stack_module_state` makes detached copies, which suits inference only) and
`torch.vmap` runs `torch.func.functional_call` over them, which lowers the batched
convolutions to grouped ones: one kernel launch for all K members instead of K. On the
CPU the members run one after another, each exactly its own module: the kernels are then
those of a solo run, so the training is bitwise the same, while a grouped convolution
(oneDNN) sums its products in another order than an ungrouped one: vmap'd members drift
from their solo runs in the last bits (~1e-7 relative per forward pass), and Adam turns a
gradient that is zero up to rounding (the exit task's score bias: a softmax ignores a
common shift) into updates of size ``lr`` of either sign. `benchmarks/bench_ensemble.py`
measures both ways against K sequential solo runs, so the choice per device rests on
figures.

**Exactness** (`tests/test_train_ensemble.py`): on the CPU, member m's parameters,
metrics, level ids and stream statistics equal the solo run's of its seed bitwise, for
every task; vmap'd, the parameters agree within 1e-4 after a few steps of the path task
(whose every gradient is a real one), float rounding grown over training.

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
from torch.func import functional_call

from fastmaze.train.checkpoint import load_checkpoint, rng_state, save_checkpoint, set_rng_state
from fastmaze.train.distributed import Dist, all_reduce_mean, init_distributed
from fastmaze.train.stream import LevelStream

__all__ = ["VECTORIZED", "Ensemble", "train_supervised_ensemble"]


#: Whether `Ensemble` vmaps its members, by device type (others: vmap). On the CPU the
#: members run one by one, each exactly its own module.
VECTORIZED = {"cpu": False, "cuda": True}


class Ensemble(nn.Module):
    """K models of one architecture as one module (``members``, a ModuleList: each member
    keeps its own parameter tensors). ``forward(x)``: x [K, B, ...] (member m's inputs at
    x[m]) -> [K, B, ...] (member m's outputs; a tuple of such for models returning
    tuples), vmap'd over the members' parameters stacked [K, ...] when ``vectorized``
    (None: per `VECTORIZED` for the input's device), else member by member (`call`).
    `member` returns a copy of member m; ``len(ensemble)`` is K."""

    def __init__(self, models: Sequence[nn.Module], vectorized: bool | None = None) -> None:
        super().__init__()
        if len(models) < 1:
            raise ValueError("Ensemble: expected at least one model")
        if any(type(m) is not type(models[0]) for m in models):
            raise ValueError("Ensemble: every member must be the same kind of model")
        self.members = nn.ModuleList(models)
        self.vectorized = vectorized
        # The architecture without storage, for functional_call on the vmap path.
        self._template = [copy.deepcopy(models[0]).to("meta")]

    def __len__(self) -> int:
        return len(self.members)

    def _stacked(self) -> tuple[dict[str, Tensor], dict[str, Tensor]]:
        """Every parameter and buffer stacked over members, [K, ...], differentiably, so
        gradients reach each member's own tensors."""
        named = [dict(m.named_parameters()) for m in self.members]
        bufs = [dict(m.named_buffers()) for m in self.members]
        p = {n: torch.stack([d[n] for d in named]) for n in named[0]}
        b = {n: torch.stack([d[n] for d in bufs]) for n in bufs[0]}
        return p, b

    def forward(self, x: Tensor) -> Any:
        k = len(self.members)
        if x.shape[0] != k:
            raise ValueError(f"Ensemble: input has {x.shape[0]} members on axis 0, expected {k}")
        vectorized = self.vectorized
        if vectorized is None:
            vectorized = VECTORIZED.get(x.device.type, True)
        if vectorized:
            template = self._template[0]

            def one(p: dict[str, Tensor], b: dict[str, Tensor], xm: Tensor) -> Any:
                return functional_call(template, (p, b), (xm,))

            return torch.vmap(one)(*self._stacked(), x)
        outs = [self.call(m, x[m]) for m in range(k)]
        if isinstance(outs[0], tuple):  # e.g. an actor-critic's (logits, value)
            return tuple(torch.stack(parts) for parts in zip(*outs, strict=True))
        return torch.stack(outs)

    def call(self, m: int, x: Tensor) -> Any:
        """Member m alone on ``x`` (its own batch, any size)."""
        return self.members[m](x)

    def member(self, m: int) -> nn.Module:
        """A copy of member m (its own parameters, same device), as an ordinary module."""
        if not 0 <= m < len(self.members):
            raise ValueError(f"member: {m!r}; expected 0 <= m < {len(self.members)}")
        return copy.deepcopy(self.members[m])


def _members(c: Any, seeds: Sequence[int]) -> list[Any]:
    """The solo config of each seed (``ensemble`` 1): what each member's run is."""
    seeds = list(seeds)
    bad = [s for s in seeds if isinstance(s, bool) or not isinstance(s, (int, np.integer))]
    if bad or any(s < 0 for s in seeds):
        raise ValueError(f"seeds: expected integers >= 0, got {seeds!r}")
    out = [replace(c, seed=int(s), ensemble=1) for s in seeds]
    if not out or len({m.seed for m in out}) != len(out):
        raise ValueError(f"seeds: expected one or more distinct seeds, got {list(seeds)!r}")
    return out


def train_supervised_ensemble(
    config: Any, seeds: Sequence[int], dist: Dist | None = None
) -> list[dict[str, Any]]:
    """Trains the runs of ``config`` (a `SupervisedConfig`) with each of ``seeds`` at once;
    returns one result per seed, in order, each what `train_supervised` returns for
    ``replace(config, seed=s, ensemble=1)`` (bitwise so on the CPU; module docstring), with
    ``samples_per_s`` the member's own levels per second of the ensemble's training.

    ``config.checkpoint`` holds all members (and the seeds); a resumed ensemble continues
    exactly. Under torchrun, call it in every process."""
    from fastmaze.train.supervised import _evaluate_all, build_model, logits_loss, stream_statistics

    c = config.resolved()
    solos = _members(c, seeds)
    seeds = [m.seed for m in solos]
    K, B = len(solos), c.batch
    dist = dist or init_distributed(c.device)
    device = dist.device
    models = []
    for m in solos:
        torch.manual_seed(m.seed)  # as `train_supervised` of that seed
        models.append(build_model(m).to(device))
    model = Ensemble(models).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=c.lr, weight_decay=c.weight_decay)
    step, histories = 0, [[] for _ in range(K)]
    if c.checkpoint and c.resume and os.path.exists(c.checkpoint):
        state = load_checkpoint(c.checkpoint, map_location=device)
        if state.get("seeds") != seeds:
            raise ValueError(
                f"resume: {c.checkpoint} holds the members of seeds "
                f"{state.get('seeds', [state.get('config', {}).get('seed')])}, this run {seeds}"
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
        seeds=seeds,
        task=c.task,
        cue=c.cue,
        pixels=c.pixels,
        rank=dist.rank,
        world_size=dist.world_size,
        start_batch=step,
        prefetch=c.prefetch,
        threads=c.threads,
    )
    bar = None
    if c.progress and dist.is_main:
        from tqdm.auto import tqdm

        bar = tqdm(total=c.steps, initial=step, unit="step", desc=f"{K} seeds", leave=False)

    def save() -> None:
        if c.checkpoint and dist.is_main:
            save_checkpoint(
                c.checkpoint,
                {
                    "seeds": seeds,
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
            seen.append(batch.ids.reshape(K, B)[:, [0, -1]])
            logits = wrapped(batch.obs.view(K, B, *batch.obs.shape[1:]))
            loss = torch.stack(
                [logits_loss(logits[m], _rows(batch, m, B), c.task)[0] for m in range(K)]
            )
            opt.zero_grad(set_to_none=True)
            loss.sum().backward()
            opt.step()
            step += 1
            if bar is not None:
                bar.update(1)
                if step % 20 == 0 or step == c.steps:
                    bar.set_postfix(loss=f"{loss.mean().item():.3f}")
            if c.eval_every and step % c.eval_every == 0 and step < c.steps:
                for m, solo in enumerate(solos):
                    record = {"step": step, "loss": all_reduce_mean(loss[m], dist)}
                    if dist.is_main:
                        record["eval"] = _evaluate_all(
                            model.member(m), solo, c.eval_episodes_periodic, device
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
    trained_on = step * B * dist.world_size
    spans = np.array(seen, dtype=np.int64).reshape(-1, K, 2)
    results = []
    for m, solo in enumerate(solos):
        member = model.member(m)
        main = dist.is_main
        realised = (
            stream_statistics(
                c.spec, solo.seed, trained_on, cue_color=c.cue_color, threads=c.threads
            )
            if main and trained_on and c.cue_color in c.spec.palette
            else {}
        )
        results.append(
            {
                "config": solo.to_dict(),
                "metrics": _evaluate_all(member, solo, c.eval_episodes, device) if main else {},
                "history": histories[m],
                "stream_stats": realised,
                "model": member,
                "steps": step,
                "batch_id_ranges": spans[:, m],
                "samples_per_s": done * B * dist.world_size / train_s if done else math.nan,
                "stream_samples_per_s": stream.samples_per_s,
                "wall_s": time.perf_counter() - t0,
            }
        )
    return results


def _rows(batch: Any, m: int, B: int) -> Any:
    """Member m's rows of an ensemble batch (views)."""
    rows = slice(m * B, (m + 1) * B)
    return replace(batch, obs=batch.obs[rows], target=batch.target[rows], mask=batch.mask[rows])
