"""The README's example runs as written."""

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_example_runs(capsys):
    pytest.importorskip("gymnasium")
    if not README.exists():
        pytest.skip("README.md is not beside the tests (installed without the source tree)")
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks, "the README has a Python example"
    exec(compile(blocks[0], str(README), "exec"), {})
    out = capsys.readouterr().out
    assert "P(exit=c)" in out and "proxy (decoy first)" in out
