"""Stable-Baselines3 recipe (docs/integrations.md): rgb observations, channel-first."""

import warnings

import numpy as np
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


def test_vec_env_follows_sb3_conventions():
    from fastmaze.sb3 import SB3VecEnv

    n = 6
    venv = SB3VecEnv(SPEC, n, seed=0, obs="rgb", pixels=6, max_steps=4)
    ref = fm.VecMazeEnv(SPEC, n, seed=3, obs="rgb", pixels=6, max_steps=4,
                        autoreset_mode="same_step")  # fmt: skip
    venv.seed(3)  # the next reset restarts the stream at seed 3
    np.testing.assert_array_equal(venv.reset(), ref.reset()[0])
    assert [i["level_id"] for i in venv.reset_infos] == list(range(n))
    rng = np.random.default_rng(0)
    ended = 0
    for _ in range(9):
        actions = rng.integers(0, 4, n)
        venv.step_async(actions)
        obs, rewards, dones, infos = venv.step_wait()
        r_obs, r_reward, r_term, r_trunc, r_info = ref.step(actions)
        np.testing.assert_array_equal(obs, r_obs)
        np.testing.assert_array_equal(rewards, r_reward)
        np.testing.assert_array_equal(dones, r_term | r_trunc)
        assert len(infos) == n
        for i, info in enumerate(infos):
            if dones[i]:
                ended += 1
                np.testing.assert_array_equal(info["terminal_observation"], r_info["final_obs"][i])
                assert info["TimeLimit.truncated"] == bool(r_trunc[i])
                assert info["episode"]["l"] == r_info["final_info"]["episode_length"][i]
                assert info["level_id"] == r_info["final_info"]["level_id"][i]
            else:
                assert "terminal_observation" not in info and "episode" not in info
                assert info["level_id"] == r_info["level_id"][i]
    assert ended >= n  # every env hit the 4-step limit at least once
    assert venv.get_attr("max_steps") == [4] * n and venv.env_is_wrapped(object) == [False] * n
    with pytest.raises(ValueError, match="autoreset_mode"):
        SB3VecEnv(SPEC, 2, autoreset_mode="next_step")


def test_ppo_on_the_compiled_batch():
    from fastmaze.sb3 import SB3VecEnv

    venv = SB3VecEnv(SPEC, 4, seed=0, obs="rgb", pixels=6, max_steps=8)
    model = PPO("CnnPolicy", venv, n_steps=16, batch_size=32, n_epochs=1, seed=0, device="cpu")
    model.learn(total_timesteps=128)
    assert model.num_timesteps >= 128
    assert len(model.ep_info_buffer) > 0  # episode statistics from infos["episode"]
    assert all(ep["l"] <= 8 for ep in model.ep_info_buffer)
