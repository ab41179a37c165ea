"""Test configuration: a hypothesis profile for CI runs (``--hypothesis-profile ci``) and the
CUDA helpers the cuda and rng tests share (a simulator subprocess, PTX for sm_80)."""

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

# Property tests that set their own @settings keep their max_examples; the profile sets the
# default for the others and the shared options (no deadline: the first call may compile or
# start OpenMP threads, and CI machines are noisy).
settings.register_profile("ci", max_examples=100, deadline=None, print_blob=True)


@pytest.fixture(scope="session")
def run_under_cudasim() -> Callable[..., None]:
    """``run(script, out, *args)``: runs ``python script *args`` in a subprocess with Numba's
    CUDA simulator on (``NUMBA_ENABLE_CUDASIM=1`` must be set before numba is imported, so
    never in this process) and the fastmaze under test first on the path; fails the test,
    with the worker's output, unless the worker wrote the file ``out``."""

    def run(script: str | Path, out: Path, *args: str, timeout: float = 1800) -> None:
        import fastmaze

        root = str(Path(fastmaze.__file__).resolve().parent.parent)
        env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1")
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        cmd = [sys.executable, str(script), *args]
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
        if not Path(out).exists():
            pytest.fail(
                f"the simulator worker failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
            )

    return run


@pytest.fixture
def ptx_sm80(monkeypatch: pytest.MonkeyPatch) -> Callable[..., str]:
    """``compile(build_kernel, args)``: the PTX, for a real GPU of compute capability 8.0, of
    the kernel ``build_kernel(device_jit, kernel_jit)`` builds (fastmaze.cuda's JIT flags),
    typed by ``args``. Skips without numba or NVVM, under the simulator, or where NVVM cannot
    compile for sm_80; needs no GPU."""
    pytest.importorskip("numba")
    import types

    from numba import config as nconfig

    if nconfig.ENABLE_CUDASIM:
        pytest.skip("the simulator compiles nothing")
    from numba.cuda.cudadrv import nvvm

    if not nvvm.is_available():
        pytest.skip("NVVM (the CUDA compiler library) is not installed")
    import numba
    import numba.cuda.dispatcher as dispatcher
    from numba import cuda
    from numba.cuda.cudadrv.error import NvvmError, NvvmSupportError

    from fastmaze.cuda import config

    # Device functions ask the current device for its compute capability; there may be none.
    cc = types.SimpleNamespace(compute_capability=(8, 0))
    monkeypatch.setattr(dispatcher, "get_current_device", lambda: cc)

    def compile_ptx(build_kernel: Callable[..., Any], args: tuple[Any, ...]) -> str:
        py, _ = build_kernel(cuda.jit(**config.DEVICE_JIT), cuda.jit(**config.KERNEL_JIT))
        try:
            ptx, _ = cuda.compile_ptx(py, tuple(numba.typeof(a) for a in args), cc=(8, 0))
        except (NvvmSupportError, NvvmError) as e:  # a toolkit too old for sm_80, or none
            pytest.skip(f"NVVM cannot compile here: {e}")
        return ptx

    return compile_ptx
