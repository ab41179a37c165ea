"""Test configuration: a hypothesis profile for CI runs (``--hypothesis-profile ci``) and the
CUDA-simulator subprocess runner the cuda and rng tests share."""

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

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
