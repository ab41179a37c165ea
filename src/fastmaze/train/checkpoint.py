"""Checkpoints written atomically, and the global torch RNG state that resuming restores.

fastmaze itself uses no global RNG (level i is a pure function of (spec, seed, i)); only
torch's generators (initialisation, any dropout or sampling) need saving.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

import torch

__all__ = ["load_checkpoint", "rng_state", "save_checkpoint", "set_rng_state"]


def save_checkpoint(path: str | os.PathLike, state: dict[str, Any]) -> None:
    """Writes ``state`` with `torch.save` to a temporary file beside ``path``, then renames
    it over ``path`` (os.replace), so a reader never sees a half-written checkpoint."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".ckpt-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load_checkpoint(path: str | os.PathLike, map_location: Any = None) -> dict[str, Any]:
    """The dict `save_checkpoint` wrote."""
    return torch.load(os.fspath(path), map_location=map_location, weights_only=False)


def rng_state() -> dict[str, Any]:
    """torch's CPU generator state, and every CUDA device's when CUDA is available."""
    state: dict[str, Any] = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restores what `rng_state` returned."""
    torch.set_rng_state(state["torch"].cpu())
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])
