"""Optional TensorBoard scalars beside a trainer's JSONL/CSV record (which stays the record).

``ScalarLog(None)`` does nothing, so a trainer calls it unconditionally::

    with ScalarLog(config.tensorboard) as log:
        log.scalars({"loss": 0.3, "eval": {"conflict": {"exit": 0.9}}}, step)

Nested dicts become ``/``-joined tags (``eval/conflict/exit``); non-numeric values are
skipped. Needs the ``tensorboard`` package (``pip install fastmaze[tensorboard]``) only
when a folder is given.
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Iterator, Mapping
from typing import Any

__all__ = ["ScalarLog", "flatten"]


def flatten(metrics: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, float]]:
    """(tag, value) of every real number in ``metrics``, nested dicts joined by ``/``
    (bools as 0/1; NaN and infinities kept, strings, lists and None skipped)."""
    for key, value in metrics.items():
        tag = f"{prefix}/{key}" if prefix else str(key)
        if isinstance(value, Mapping):
            yield from flatten(value, tag)
        elif isinstance(value, numbers.Real):
            yield tag, float(value)
        elif hasattr(value, "ndim") and value.ndim == 0:  # numpy / torch scalars
            yield tag, float(value.item())


class ScalarLog:
    """Scalars to a TensorBoard event file in ``log_dir`` (None: a no-op); ``log_dir`` is
    created if missing. Only the main process of a distributed run should pass a folder."""

    def __init__(self, log_dir: str | os.PathLike | None) -> None:
        self.log_dir = None if log_dir is None else os.fspath(log_dir)
        self._writer: Any = None
        if self.log_dir is None:
            return
        if not isinstance(log_dir, (str, os.PathLike)) or not self.log_dir:
            raise ValueError(f"tensorboard: expected a folder path or None, got {log_dir!r}")
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise ImportError(
                "tensorboard=DIR needs the tensorboard package: pip install fastmaze[tensorboard]"
            ) from None
        self._writer = SummaryWriter(self.log_dir)

    def scalars(self, metrics: Mapping[str, Any], step: int, prefix: str = "") -> None:
        """Writes every number of ``metrics`` (see `flatten`) at ``step``."""
        if self._writer is None:
            return
        for tag, value in flatten(metrics, prefix):
            self._writer.add_scalar(tag, value, int(step))

    def close(self) -> None:
        """Flushes and closes the event file."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def __enter__(self) -> ScalarLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
