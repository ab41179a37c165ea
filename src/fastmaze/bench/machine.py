"""What a benchmark figure was measured on: CPU, cores, memory, GPUs, library versions, load."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, version
from typing import Any

LIBRARIES = ("numpy", "torch", "numba", "gymnasium", "tqdm")
# Environment variables that change the figures (threads, OpenMP waiting, CUDA devices).
ENVIRONMENT = ("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "CUDA_VISIBLE_DEVICES")


def cpu_model() -> str:
    """The CPU's model name (/proc/cpuinfo, else `platform`)."""
    if os.path.exists("/proc/cpuinfo"):
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def memory_bytes() -> int | None:
    """Physical memory in bytes, where the system says."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def gpus() -> list[str]:
    """Names of the CUDA GPUs: from torch where it is already imported, else nvidia-smi."""
    torch = sys.modules.get("torch")
    if torch is not None:
        if torch.cuda.is_available():
            return [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
        return []
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return []
    try:
        out = subprocess.run(
            [smi, "--query-gpu=name", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return []
    return (
        [ln.strip() for ln in out.stdout.splitlines() if ln.strip()] if not out.returncode else []
    )


def machine() -> dict[str, Any]:
    """CPU model, logical and usable cores, memory, GPUs, OS and architecture, and the
    environment variables of `ENVIRONMENT` that are set."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "cpu": cpu_model(),
        "logical_cores": os.cpu_count(),
        "usable_cores": usable,
        "memory_bytes": memory_bytes(),
        "gpus": gpus(),
        "platform": platform.platform(),
        "environment": {k: os.environ[k] for k in ENVIRONMENT if k in os.environ},
    }


def versions() -> dict[str, str | None]:
    """Python, fastmaze (and where it was imported from) and the installed libraries (None:
    not installed)."""
    import fastmaze

    out: dict[str, str | None] = {
        "python": platform.python_version(),
        "fastmaze": f"{fastmaze.__version__} ({os.path.dirname(fastmaze.__file__)})",
    }
    for name in LIBRARIES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


def load_average() -> list[float] | None:
    """The 1, 5 and 15 minute load averages (None where the system has none)."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (OSError, AttributeError):
        return None


def describe(m: dict[str, Any]) -> str:
    """One line: 'AMD EPYC, 2 logical cores (2 usable), 23.4 GiB, GPU: none,
    OMP_WAIT_POLICY=PASSIVE'."""
    mem = f"{m['memory_bytes'] / 2**30:.1f} GiB" if m.get("memory_bytes") else "memory unknown"
    gpu = ", ".join(m.get("gpus") or []) or "none"
    env = "".join(f", {k}={v}" for k, v in (m.get("environment") or {}).items())
    return (
        f"{m['cpu']}, {m['logical_cores']} logical cores ({m['usable_cores']} usable), "
        f"{mem}, GPU: {gpu}{env}"
    )
