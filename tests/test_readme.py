"""The README's example runs as written, and its install commands bring what it needs."""

import re
from pathlib import Path

import gymnasium
import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_example_runs(capsys):
    if not README.exists():
        pytest.skip("README.md is not beside the tests (installed without the source tree)")
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks, "the README has a Python example"
    namespace: dict = {}
    exec(compile(blocks[0], str(README), "exec"), namespace)
    out = capsys.readouterr().out
    assert "P(exit=c)" in out and "proxy (decoy first)" in out
    assert isinstance(namespace["env"], gymnasium.vector.VectorEnv)


def test_readme_commands_install_what_the_example_needs():
    """The README's `pip install ".[extra]"` lines name extras that exist, and gymnasium
    (the example's `env.action_space`) is a core dependency, so they bring it."""
    tomllib = pytest.importorskip("tomllib")
    if not README.exists():
        pytest.skip("README.md is not beside the tests (installed without the source tree)")
    pyproject = tomllib.loads((README.parent / "pyproject.toml").read_text())["project"]
    extras = pyproject["optional-dependencies"]
    (commands,) = re.findall(r"```bash\n(.*?)```", README.read_text(), flags=re.S)[:1]
    named = re.findall(r'pip install "\.\[(\w+)\]"', commands)
    assert named == ["torch", "test"] and all(name in extras for name in named)
    assert any(dep.startswith("gymnasium") for dep in pyproject["dependencies"])
    assert "fastmaze experiment" in commands and "pytest" in commands
