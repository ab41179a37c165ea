"""The one place for Numba JIT flags; every compiled kernel of fastmaze goes through here.

- ``cache=True``: compiled code is stored beside the source (or in Numba's cache dir) and
  reused by later processes.
- ``fastmath=False``: no reassociation, so feature values and rules are bit-reproducible.
- ``parallel=True`` (batch drivers only): ``prange`` loops over levels run on Numba's
  thread pool; the per-level kernels they call are serial.

Numba is optional (``pip install 'fastmaze[numba]'``): ``import fastmaze`` works without it
and `numba` raises a clear ImportError the first time a rule or feature needs compiling.
A test (``tests/test_rules.py``) checks that no other module hard-codes these flags.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

#: Flags of every per-level kernel (user features and rules, the RNG helpers).
KERNEL_FLAGS: dict[str, Any] = {"cache": True, "fastmath": False, "nogil": True}
#: Flags of the batch drivers that loop over levels with ``prange``.
DRIVER_FLAGS: dict[str, Any] = {**KERNEL_FLAGS, "parallel": True}


def numba() -> ModuleType:
    """The numba module, or an ImportError saying how to get it."""
    try:
        import numba as nb
    except ImportError as e:  # pragma: no cover - exercised only without numba
        raise ImportError(
            "fastmaze rules and features are compiled with Numba, which is not installed; "
            "install it with: pip install 'fastmaze[numba]'"
        ) from e
    return nb


def jit_disabled() -> bool:
    """True under ``NUMBA_DISABLE_JIT=1``: kernels then run as plain (slow) Python."""
    return bool(numba().config.DISABLE_JIT)


def kernel(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` compiled as a per-level kernel (`KERNEL_FLAGS`). Functions Numba cannot cache
    (defined in a REPL or by ``exec``) are compiled without the on-disk cache."""
    nb = numba()
    try:
        return nb.njit(**KERNEL_FLAGS)(fn)
    except RuntimeError:  # "cannot cache function ...: no locator available"
        return nb.njit(**{**KERNEL_FLAGS, "cache": False})(fn)


def driver(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` compiled as a parallel batch driver (`DRIVER_FLAGS`)."""
    return numba().njit(**DRIVER_FLAGS)(fn)


def prange_func() -> Any:
    """``numba.prange`` (plain ``range`` when the JIT is disabled)."""
    return numba().prange


class threads:
    """Context manager: Numba's parallel loops use ``n`` threads (capped at Numba's pool)."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __enter__(self) -> None:
        nb = numba()
        self.old = nb.get_num_threads()
        nb.set_num_threads(max(1, min(int(self.n), nb.config.NUMBA_NUM_THREADS)))

    def __exit__(self, *exc: Any) -> None:
        numba().set_num_threads(self.old)
