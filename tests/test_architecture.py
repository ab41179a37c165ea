"""ARCHITECTURE.md stays true as the code moves: every file path and fastmaze module it names
exists in the source tree."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.names import resolves

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "ARCHITECTURE.md"
PACKAGE = ROOT / "src" / "fastmaze"
FILE = re.compile(r"^[\w./-]+\.(py|pyx|pxd|pxi|c|h|md)$|^[\w.-]+(/[\w.-]+)*/$|^[\w.-]+(/[\w.-]+)+$")
MODULE = re.compile(r"^fastmaze(\.\w+)+")


def _spans() -> list[str]:
    if not DOC.exists():
        pytest.skip("ARCHITECTURE.md is not beside the tests (installed without the tree)")
    text = DOC.read_text()
    spans = re.findall(r"`([^`\n]+)`", text)
    spans += [w.strip("`(),.;:") for w in re.findall(r"\S+", text) if "/" in w and "`" not in w]
    return spans


def _exists(path: str) -> bool:
    """A path relative to the repository or to src/fastmaze, or a bare file name (a table
    row's ``kernels.py``, beside the folder it lists) of a file under csrc/, src/fastmaze/ or
    tests/."""
    if any((base / path).exists() for base in (ROOT, PACKAGE)):
        return True
    if "/" not in path:
        return any(any((ROOT / d).rglob(path)) for d in ("csrc", "src/fastmaze", "tests"))
    return False


def test_every_named_path_exists() -> None:
    paths = {s.split()[0] for s in _spans() if FILE.match(s.split()[0]) if s.split()}
    assert paths, "ARCHITECTURE.md names no files"
    missing = sorted(p for p in paths if not _exists(p.rstrip("/")))
    assert not missing, f"ARCHITECTURE.md names files that do not exist: {missing}"


def test_every_named_module_exists() -> None:
    names = {m.group(0) for s in _spans() if (m := MODULE.match(s))}
    assert names, "ARCHITECTURE.md names no modules"
    missing = sorted(n for n in names if not resolves(n))
    assert not missing, f"ARCHITECTURE.md names modules that do not exist: {missing}"


def test_readme_points_to_it() -> None:
    assert "ARCHITECTURE.md" in (ROOT / "README.md").read_text()
