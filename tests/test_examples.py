"""The examples/ scripts run (tiny sizes)."""

import importlib.util
import math
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def load(name):
    path = EXAMPLES / f"{name}.py"
    if not path.exists():
        pytest.skip("examples/ is not beside the tests (installed without the source tree)")
    module_spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module  # dataclasses look their module up there
    module_spec.loader.exec_module(module)
    return module


def test_ppo_cleanrl_runs_a_few_updates(capsys, tmp_path):
    ppo = load("ppo_cleanrl")
    argv = "--size 3 --total-timesteps 384 --num-envs 8 --num-steps 16 --num-minibatches 2"
    board = tmp_path / "tb"
    stats = ppo.main([*argv.split(), "--eval-episodes", "40", "--tensorboard", str(board)])
    out = capsys.readouterr().out
    assert out.count("iter ") == 3 and "iter 3/3 step 384" in out
    assert "proxy (decoy first)" in out  # the conflict-level table
    assert stats["global_step"] == 384 and math.isfinite(stats["loss"])
    assert stats["episodes"] > 0 and 0 <= stats["exit_rate"] <= 1  # from info["final_info"]
    assert 0 <= stats["eval_exit"] + stats["eval_proxy"] <= 1
    assert any(board.iterdir())  # the TensorBoard event file


def test_ppo_cleanrl_arguments():
    ppo = load("ppo_cleanrl")
    args = ppo.parse_args(["--rho", "0.8", "--anneal-lr", "false", "--num-envs", "4"])
    assert args.rho == 0.8 and args.anneal_lr is False and args.num_envs == 4
