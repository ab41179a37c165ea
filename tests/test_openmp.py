"""The OpenMP wait policy fastmaze sets on import: a bounded spin, unless the user chose."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import fastmaze

PACKAGE_ROOT = str(Path(fastmaze.__file__).resolve().parents[1])  # the fastmaze under test
PRINT = (
    "import fastmaze, os; "
    "print(os.environ.get('GOMP_SPINCOUNT'), os.environ.get('OMP_WAIT_POLICY'))"
)


def _run(**env: str) -> str:
    base = {k: v for k, v in os.environ.items() if k not in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY")}
    base["PYTHONPATH"] = os.pathsep.join([PACKAGE_ROOT, base.get("PYTHONPATH", "")])
    out = subprocess.run(
        [sys.executable, "-c", PRINT], env={**base, **env}, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, f"{fastmaze._openmp.SPIN_COUNT} None"),
        ({"OMP_WAIT_POLICY": "PASSIVE"}, "None PASSIVE"),
        ({"GOMP_SPINCOUNT": "5"}, "5 None"),
    ],
)
def test_wait_policy_is_the_users_when_set(env, expected) -> None:
    assert _run(**env) == expected
