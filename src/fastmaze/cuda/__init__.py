"""Level generation on a CUDA GPU with ``numba.cuda``, byte-identical to the C core.

``fastmaze.cuda.generate(spec, n, seed, start, device="cuda")`` returns `DeviceLevels`: the
arrays of `fastmaze.Levels` as device tensors (torch CUDA tensors when torch has CUDA,
numba device arrays otherwise), level i the same bytes as ``fastmaze.generate`` gives for
(spec, seed, i). ``fastmaze.cuda.oracles(levels)`` computes their ``path_length`` and
``ambiguous`` (as `fastmaze.solve`) on the device. ``fastmaze.cuda.available()`` says
whether it can run here, and why not.

Importing this package imports neither numba nor torch; the first call does. Under Numba's
CUDA simulator (``NUMBA_ENABLE_CUDASIM=1`` set before numba is imported) the same kernel
runs on the CPU, slowly, for tests.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastmaze.cuda.launch import DeviceLevels
    from fastmaze.spec import MazeSpec, Mixture


class Availability:
    """Truthy when CUDA generation can run here; ``reason`` says what runs it, or why not."""

    def __init__(self, ok: bool, reason: str, simulator: bool = False) -> None:
        self.ok, self.reason, self.simulator = ok, reason, simulator

    def __bool__(self) -> bool:
        return self.ok

    def __repr__(self) -> str:
        return f"Availability(ok={self.ok}, reason={self.reason!r})"


def available() -> Availability:
    """Whether `generate` can run: numba importable and a CUDA GPU (or the simulator)."""
    try:
        from numba import config as nconfig
        from numba import cuda
    except ImportError as e:
        return Availability(False, f"numba is not installed ({e})")
    if nconfig.ENABLE_CUDASIM:
        return Availability(True, "Numba CUDA simulator (NUMBA_ENABLE_CUDASIM=1)", True)
    try:
        if not cuda.is_available():
            return Availability(False, "numba finds no CUDA driver or GPU")
        name = cuda.get_current_device().name  # (real driver only)
    except Exception as e:  # driver / toolkit problems surface here
        return Availability(False, f"CUDA is not usable: {e}")
    if isinstance(name, bytes):
        name = name.decode()
    return Availability(True, f"CUDA device {name}")


def generate(
    spec: MazeSpec | Mixture,
    n: int,
    seed: int = 0,
    start: int = 0,
    device: Any = "cuda",
    **kwargs: Any,
) -> DeviceLevels:
    """Levels ``start .. start+n-1`` of ``(spec, seed)`` on the GPU; see
    `fastmaze.cuda.launch.generate`."""
    from fastmaze.cuda.launch import generate as _generate

    return _generate(spec, n, seed, start, device, **kwargs)


def oracles(levels: Any, device: Any = None, **kwargs: Any) -> tuple[Any, Any]:
    """``(path_length, ambiguous)`` of levels on the GPU, as `fastmaze.solve` defines them;
    see `fastmaze.cuda.bfs.oracles`."""
    from fastmaze.cuda.bfs import oracles as _oracles

    return _oracles(levels, device, **kwargs)


__all__ = ["Availability", "available", "generate", "oracles"]
