"""Stable-Baselines3 recipe (docs/integrations.md): rgb observations, channel-first."""

import warnings

import pytest

pytest.importorskip("stable_baselines3")

from stable_baselines3 import PPO
from stable_baselines3.common.env_checker import check_env
from stable_baselines3.common.env_util import make_vec_env

import fastmaze as fm

SPEC = fm.MazeSpec(size=(3, 3))  # 7x7 squares; pixels=6 gives 42x42 images (NatureCNN: >= 36)


def make():
    return fm.MazeEnv(SPEC, obs="rgb", pixels=6)


def test_check_env_passes_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(make())


def test_ppo_cnn_policy_trains_a_few_steps():
    venv = make_vec_env(make, n_envs=2, seed=0)
    model = PPO("CnnPolicy", venv, n_steps=16, batch_size=16, n_epochs=1, seed=0, device="cpu")
    before = [p.detach().clone() for p in model.policy.parameters()]
    model.learn(total_timesteps=64)
    assert model.num_timesteps >= 64
    assert any((a != b).any() for a, b in zip(before, model.policy.parameters(), strict=True))
    action, _ = model.predict(venv.reset(), deterministic=True)
    assert action.shape == (2,) and set(action.tolist()) <= {0, 1, 2, 3}
