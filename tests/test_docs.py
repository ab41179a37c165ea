"""The documentation's code stays true: every Python block compiles, and every ``fm.NAME`` /
``fastmaze.a.b`` it names exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import fastmaze
from tests.names import resolves

DOCS = Path(__file__).resolve().parents[1] / "docs"


def _pages() -> list[Path]:
    if not DOCS.is_dir():
        pytest.skip("docs/ is not beside the tests (installed without the source tree)")
    return sorted(DOCS.rglob("*.md"))


def _blocks(page: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", page.read_text(), flags=re.S)


def test_python_blocks_compile() -> None:
    blocks = [(page, b) for page in _pages() for b in _blocks(page)]
    assert len(blocks) >= 10
    for page, block in blocks:
        compile(block, str(page), "exec")


def test_named_api_exists() -> None:
    text = "\n".join(page.read_text() for page in _pages())
    short = set(re.findall(r"\bfm\.(\w+)", text))
    assert short and not sorted(n for n in short if not hasattr(fastmaze, n))
    dotted = {m for m in re.findall(r"\bfastmaze(?:\.\w+)+", text) if not m.endswith(".md")}
    dotted = {m.removesuffix(".py") for m in dotted}
    missing = sorted(m for m in dotted if not resolves(m))
    assert not missing, f"the docs name what does not exist: {missing}"
