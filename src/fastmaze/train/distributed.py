"""Data-parallel helpers for runs under ``torchrun`` (fastmaze adds no launcher).

Each rank draws its own disjoint level ids, so no data is shared between processes.
"""

from __future__ import annotations

import atexit
import os
from dataclasses import dataclass

import torch
import torch.distributed as tdist
from torch import Tensor

__all__ = ["Dist", "all_reduce_mean", "id_range", "init_distributed"]


@dataclass(frozen=True)
class Dist:
    """This process's place in the job."""

    rank: int
    world_size: int
    local_rank: int
    device: torch.device
    is_main: bool


def init_distributed(device: str | None = None) -> Dist:
    """Reads torchrun's RANK, WORLD_SIZE, LOCAL_RANK (world size 1 without them) and, for
    more than one process, initialises the default process group: nccl on CUDA, gloo on
    the CPU. ``device`` defaults to ``cuda:LOCAL_RANK`` when CUDA is available, else cpu."""
    rank = int(os.environ.get("RANK", 0))
    world = int(os.environ.get("WORLD_SIZE", 1))
    local = int(os.environ.get("LOCAL_RANK", 0))
    if device is None:
        device = f"cuda:{local}" if torch.cuda.is_available() else "cpu"
    dev = torch.device(device)
    if dev.type == "cuda" and dev.index is None:
        dev = torch.device("cuda", local)
    if dev.type == "cuda":
        torch.cuda.set_device(dev)
    if world > 1 and not tdist.is_initialized():
        tdist.init_process_group("nccl" if dev.type == "cuda" else "gloo")
        # A group left alive at interpreter exit can abort the process from its threads.
        atexit.register(_destroy_group)
    return Dist(rank=rank, world_size=world, local_rank=local, device=dev, is_main=rank == 0)


def _destroy_group() -> None:
    if tdist.is_initialized():
        tdist.destroy_process_group()


def id_range(first_id: int, count: int, dist: Dist) -> tuple[int, int]:
    """(start, n): this rank's share of ids first_id .. first_id+count-1, contiguous,
    disjoint across ranks and covering the range (the first count % world ranks get one
    more)."""
    base, extra = divmod(count, dist.world_size)
    start = first_id + dist.rank * base + min(dist.rank, extra)
    return start, base + (dist.rank < extra)


def all_reduce_mean(x: Tensor | float, dist: Dist) -> float:
    """The mean of a scalar over ranks (the value itself with one process)."""
    value = float(x.detach().float().mean()) if isinstance(x, Tensor) else float(x)
    if dist.world_size == 1 or not tdist.is_initialized():
        return value
    t = torch.tensor([value], dtype=torch.float64, device=dist.device)
    tdist.all_reduce(t)
    return float(t.item()) / dist.world_size
