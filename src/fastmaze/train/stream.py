"""A prefetching stream of fresh, labelled levels for supervised training.

A background thread generates levels with `fastmaze.generate` (the core releases the GIL),
renders them into preallocated (pinned, when CUDA is available) buffers and computes the
targets, while the trainer works on the previous batch.

**Ids.** Batch k of rank r (of ``world_size``) holds ids
``first_id + (k·world_size + r)·batch_size + j`` for j < batch_size: disjoint across ranks
and batches, and a pure function of (k, r), so a resumed stream (``start_batch=k``) yields
exactly the batches a straight run would.

**Seed ensembles** (``seeds``): a batch holds the K·``batch_size`` levels of K level
streams of one step, member-major: rows m·B .. (m+1)·B - 1 are batch k of ``(spec,
seeds[m])``, the same ids as above, so member m's rows are exactly the batch a stream of
``seed=seeds[m]`` alone would yield. Distinct seeds make the members' levels disjoint
(a level is a pure function of (spec, seed, id)); ranks split the ids of every member.

**Observations** (``cue``): ``"channel"`` one-hot planes (wall, agent, one per palette
colour; `fastmaze.render.symbolic`), ``"hidden"`` the same with the colour planes zero,
``"rgb"`` images of ``pixels`` × ``pixels`` per square (`fastmaze.render.rgb`).

**Targets** (``task``): ``"exit"``: the exit's square index r·W + c (int64 [B]) among the
candidate squares ``mask`` (bool [B, H·W], the floor squares); ``"action"``: the oracle's
optimal action at the start (int64 [B], lowest optimal action, `fastmaze.solve`) and
``action_map`` (int64 [B, H·W], the optimal action of every square, -1 where none);
``"path"``: the oracle's optimal action *set* at every square (uint8 [B, H·W], bit a set
iff action a brings the exit one step closer, `Oracles.optimal_actions`; 0 on walls, on
the exit and where the exit is unreachable), the target of a policy map over the board.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

import fastmaze
from fastmaze.levels import MAX_ID, default_threads, generate_into
from fastmaze.render import rgb, symbolic
from fastmaze.solve import NO_ACTION, solve
from fastmaze.spec import AnySpec
from fastmaze.validate import check_int, fail

__all__ = ["CUES", "TASKS", "Batch", "LevelStream", "batch_ids"]

CUES = ("channel", "rgb", "hidden")
TASKS = ("exit", "action", "path")


def _distinct_seeds(seeds: Sequence[int]) -> tuple[int, ...]:
    out = tuple(check_int("seeds", s, 0, 2**64 - 1) for s in seeds)
    if not out or len(set(out)) != len(out):
        raise ValueError(f"seeds: expected one or more distinct seeds, got {list(seeds)!r}")
    return out


def batch_ids(k: int, batch_size: int, rank: int = 0, world_size: int = 1, first_id: int = 0):
    """(start, n) of the ids of batch k of rank ``rank``: see the module docstring."""
    return first_id + (k * world_size + rank) * batch_size, batch_size


@dataclass
class Batch:
    """One batch; tensors on the stream's buffers (valid until the next ``next()``) or,
    after `LevelStream.next_on`, on the device.

    - ``obs``: uint8 [B, C, H', W'] (H' = H or H·pixels);
    - ``target``: int64 [B] (exit square index, or optimal action at the start), or for
      task "path" uint8 [B, H·W], the optimal-action bits of every square;
    - ``mask``: bool [B, H·W], candidate squares (floor);
    - ``action_map``: int64 [B, H·W] or None (task "action");
    - ``ids``: int64 [B] level ids (numpy, a copy); ``index``: the batch number k.
    """

    obs: Tensor
    target: Tensor
    mask: Tensor
    action_map: Tensor | None
    ids: np.ndarray
    index: int


class _Slot:
    """Preallocated buffers of one batch."""

    def __init__(self, shapes: dict[str, tuple[tuple[int, ...], torch.dtype]], pin: bool):
        self.t = {k: torch.empty(s, dtype=d, pin_memory=pin) for k, (s, d) in shapes.items()}
        self.np = {k: v.numpy() for k, v in self.t.items()}
        self.ids = np.empty(shapes["target"][0][0], np.int64)
        self.index = -1
        self.event: Any = None  # CUDA event of the last device copy from this slot


class LevelStream:
    """Iterator over `Batch`es of ``batch_size`` fresh levels of ``(spec, seed)``, made by a
    background thread ``prefetch`` batches ahead; with ``seeds`` (K distinct seeds,
    ``seed`` unused), batches of K·``batch_size`` levels, one block per seed (module
    docstring). ``position`` is the index of the next batch `next` returns (save it in
    checkpoints; pass it back as ``start_batch``).
    ``samples_per_s`` is the producer's throughput (levels generated, rendered and labelled
    per second of its own work)."""

    def __init__(
        self,
        spec: AnySpec,
        batch_size: int,
        *,
        seed: int = 0,
        task: str = "exit",
        cue: str = "channel",
        pixels: int = 2,
        first_id: int = 0,
        rank: int = 0,
        world_size: int = 1,
        start_batch: int = 0,
        prefetch: int = 2,
        pin: bool | None = None,
        threads: int | None = None,
        seeds: Sequence[int] | None = None,
    ) -> None:
        if task not in TASKS:
            raise fail("task", f"one of {', '.join(TASKS)}", task)
        if cue not in CUES:
            raise fail("cue", f"one of {', '.join(CUES)}", cue)
        if batch_size < 1 or prefetch < 1 or not 0 <= rank < world_size:
            raise ValueError("batch_size, prefetch must be >= 1 and 0 <= rank < world_size")
        self.seeds = (int(seed),) if seeds is None else _distinct_seeds(seeds)
        self.per_member = int(batch_size)
        batch_size = self.per_member * len(self.seeds)
        self.spec, self.batch_size, self.seed = spec, int(batch_size), self.seeds[0]
        self.task, self.cue, self.pixels = task, cue, int(pixels)
        self.first_id, self.rank, self.world_size = int(first_id), int(rank), int(world_size)
        self.threads = threads
        self.position = int(start_batch)
        self.pin = torch.cuda.is_available() if pin is None else bool(pin)
        H, W = spec.shape
        B, P = self.batch_size, len(spec.palette)
        self.obs_shape = (3, H * pixels, W * pixels) if cue == "rgb" else (2 + P, H, W)
        shapes = {
            "obs": ((B, *self.obs_shape), torch.uint8),
            "target": ((B, H * W), torch.uint8) if task == "path" else ((B,), torch.int64),
            "mask": ((B, H * W), torch.bool),
        }
        if task == "action":
            shapes["action_map"] = ((B, H * W), torch.int64)
        self._slots = [_Slot(shapes, self.pin) for _ in range(prefetch + 2)]
        self._free: queue.Queue[_Slot] = queue.Queue()
        for s in self._slots:
            self._free.put(s)
        self._ready: queue.Queue[Any] = queue.Queue()
        self._held: _Slot | None = None
        self._oracles: Any = None
        self._stop = threading.Event()
        self.produced = 0
        self.busy_s = 0.0
        self._thread = threading.Thread(target=self._run, name="fastmaze-stream", daemon=True)
        self._thread.start()

    # -- producer ----------------------------------------------------------------------------
    def fill(self, slot: _Slot, k: int) -> None:
        """Generates, renders and labels batch k into ``slot`` (the producer's work)."""
        start, b = batch_ids(k, self.per_member, self.rank, self.world_size, self.first_id)
        if len(self.seeds) == 1:
            levels = fastmaze.generate(self.spec, b, self.seed, start, threads=self.threads)
        else:  # one buffer, one core call per member's seed; rendered and solved at once
            check_int("start", start, 0, MAX_ID - b)
            ids = np.tile(np.arange(start, start + b, dtype=np.int64), len(self.seeds))
            levels = fastmaze.Levels.empty(self.spec, self.seed, ids)
            threads = default_threads() if self.threads is None else self.threads
            for m, s in enumerate(self.seeds):
                generate_into(self.spec, s, start, levels[m * b : (m + 1) * b], threads)
        n = len(levels)
        a = slot.np
        if self.cue == "rgb":
            rgb(levels, pixels=self.pixels, out=a["obs"], threads=self.threads)
        else:
            symbolic(levels, hide_colors=self.cue == "hidden", out=a["obs"], threads=self.threads)
        H, W = levels.shape
        np.equal(levels.grid.reshape(n, H * W), 0, out=a["mask"])
        if self.task == "exit":
            np.add(levels.exit[:, 0] * W, levels.exit[:, 1], out=a["target"])
        elif self.task == "path":
            self._oracles = solve(levels, self.threads, out=self._oracles)
            np.copyto(a["target"], self._oracles.optimal_actions.reshape(n, H * W))
        else:
            self._oracles = solve(levels, self.threads, out=self._oracles)
            best = self._oracles.optimal_action.reshape(n, H * W)
            np.copyto(a["action_map"], np.where(best == NO_ACTION, -1, best))
            a["target"][:] = a["action_map"][
                np.arange(n), levels.start[:, 0] * W + levels.start[:, 1]
            ]
        slot.ids[:] = levels.ids
        slot.index = k

    def _run(self) -> None:
        k = self.position
        try:
            while not self._stop.is_set():
                slot = self._free.get()
                if slot is None or self._stop.is_set():
                    return
                if slot.event is not None:
                    slot.event.synchronize()  # its last device copy has finished
                    slot.event = None
                t0 = time.perf_counter()
                self.fill(slot, k)
                self.busy_s += time.perf_counter() - t0
                self.produced += self.batch_size
                self._ready.put(slot)
                k += 1
        except BaseException as e:  # surfaces in the consumer
            self._ready.put(e)

    # -- consumer ----------------------------------------------------------------------------
    def __iter__(self) -> LevelStream:
        return self

    def __next__(self) -> Batch:
        return self.next()

    def next(self) -> Batch:
        """The next batch, on the stream's (pinned) buffers, valid until the next call."""
        if self._held is not None:
            self._free.put(self._held)
            self._held = None
        item = self._ready.get()
        if isinstance(item, BaseException):
            raise RuntimeError("the level stream's producer failed") from item
        self._held = item
        self.position = item.index + 1
        t = item.t
        return Batch(
            t["obs"], t["target"], t["mask"], t.get("action_map"), item.ids.copy(), item.index
        )

    def next_on(self, device: torch.device | str) -> Batch:
        """The next batch copied to ``device`` (``non_blocking`` from pinned memory)."""
        b = self.next()
        device = torch.device(device)
        if device.type == "cpu":
            return b
        nb = self.pin
        moved = Batch(
            b.obs.to(device, non_blocking=nb),
            b.target.to(device, non_blocking=nb),
            b.mask.to(device, non_blocking=nb),
            None if b.action_map is None else b.action_map.to(device, non_blocking=nb),
            b.ids,
            b.index,
        )
        if device.type == "cuda" and self._held is not None:
            self._held.event = torch.cuda.Event()
            self._held.event.record()
        return moved

    @property
    def samples_per_s(self) -> float:
        return self.produced / self.busy_s if self.busy_s > 0 else float("nan")

    def close(self) -> None:
        """Stops the producer thread."""
        self._stop.set()
        self._free.put(None)  # type: ignore[arg-type]
        self._thread.join(timeout=10)

    def __enter__(self) -> LevelStream:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self._stop.set()
            self._free.put(None)  # type: ignore[arg-type]
        except Exception:
            pass
