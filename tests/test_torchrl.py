"""TorchRL: `fastmaze.torchrl.MazeTorchRLEnv` (torch backend) and the native env under
``torchrl.envs.GymWrapper``: specs, collectors, a few PPO updates (tiny)."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torchrl")

from tensordict.nn import TensorDictModule  # noqa: E402
from torch import nn  # noqa: E402

try:  # TorchRL >= 0.12 names the single-process collector Collector
    from torchrl.collectors import Collector as SyncDataCollector
except ImportError:
    from torchrl.collectors import SyncDataCollector
from torchrl.envs import GymWrapper  # noqa: E402
from torchrl.envs.utils import check_env_specs  # noqa: E402
from torchrl.modules import ProbabilisticActor, ValueOperator  # noqa: E402
from torchrl.objectives import ClipPPOLoss  # noqa: E402
from torchrl.objectives.value import GAE  # noqa: E402

import fastmaze as fm  # noqa: E402
from fastmaze.env import INFO_KEYS  # noqa: E402
from fastmaze.torch_env import TorchVecMazeEnv  # noqa: E402
from fastmaze.torchrl import MazeTorchRLEnv  # noqa: E402

SPEC = fm.MazeSpec(size=(3, 3))
N = 4


def torch_env(**kwargs):
    return MazeTorchRLEnv(SPEC, N, seed=0, device="cpu", max_steps=6, **kwargs)


def native_env(mode):
    return GymWrapper(fm.VecMazeEnv(SPEC, N, seed=0, autoreset_mode=mode, max_steps=6))


@pytest.mark.parametrize("obs", ["symbolic", "rgb", "egocentric"])
def test_torch_env_specs(obs):
    env = torch_env(obs=obs, pixels=2)
    check_env_specs(env)
    assert env.batch_size == torch.Size([N])
    shape = fm.VecMazeEnv(SPEC, N, obs=obs, pixels=2).single_obs_shape
    assert env.observation_spec["observation"].shape == (N, *shape)
    assert env.observation_spec["observation"].dtype == torch.uint8
    assert env.action_spec.shape == (N,) and env.reward_spec.shape == (N, 1)
    env.close()


@pytest.mark.parametrize("mode", ["same_step", "disabled"])
def test_native_env_under_gym_wrapper(mode):
    env = native_env(mode)
    check_env_specs(env)
    assert env.batch_size == torch.Size([N])


def test_torch_env_matches_the_backend_it_wraps():
    """The TensorDicts hold exactly what the torch backend returns for the same actions,
    and a partial reset restarts only the ended envs, on the next ids of the stream."""
    env = torch_env(categorical_action_encoding=True)
    ref = TorchVecMazeEnv(SPEC, N, 0, device="cpu", max_steps=6, autoreset_mode="disabled")
    td = env.reset()
    obs, info = ref.reset()
    assert torch.equal(td["observation"], obs)
    gen = torch.Generator().manual_seed(0)
    for _ in range(20):
        action = torch.randint(0, 4, (N,), generator=gen)
        td["action"] = action
        td = env.step(td)["next"]
        obs, reward, terminated, truncated, info = ref.step(action)
        assert torch.equal(td["observation"], obs)
        assert torch.equal(td["reward"].squeeze(-1), reward)
        assert torch.equal(td["terminated"].squeeze(-1), terminated)
        assert torch.equal(td["truncated"].squeeze(-1), truncated)
        for key in INFO_KEYS:
            assert torch.equal(td[key], info[key]), key
        done = terminated | truncated
        if done.any():
            td["_reset"] = done.unsqueeze(-1)
            td = env.reset(td)
            obs, info = ref.reset(options={"reset_mask": done})
            assert torch.equal(td["observation"], obs)
            assert torch.equal(td["level_id"], info["level_id"])
            assert not td["done"].any()


def test_one_hot_actions():
    env = torch_env(categorical_action_encoding=False)
    check_env_specs(env)
    assert env.action_spec.shape == (N, 4)


def _policy(env):
    obs_shape = env.observation_spec["observation"].shape[1:]
    size = int(np.prod(obs_shape))

    def body(out):
        return nn.Sequential(nn.Flatten(-3), nn.Linear(size, 32), nn.Tanh(), nn.Linear(32, out))

    class Float(nn.Module):
        def forward(self, x):
            return x.float()

    logits = TensorDictModule(
        nn.Sequential(Float(), body(4)), in_keys=["observation"], out_keys=["logits"]
    )
    actor = ProbabilisticActor(
        logits,
        in_keys=["logits"],
        distribution_class=torch.distributions.Categorical,
        spec=env.action_spec,
        return_log_prob=True,
    )
    value = ValueOperator(nn.Sequential(Float(), body(1)), in_keys=["observation"])
    return actor, value


@pytest.mark.filterwarnings("ignore:The env passed to Collector is missing:FutureWarning")
@pytest.mark.parametrize("which", ["torch", "native"])
def test_collector_and_ppo_updates(which):
    torch.manual_seed(0)
    env = torch_env() if which == "torch" else native_env("same_step")
    if which == "native":  # GymWrapper gives one-hot actions by default
        env = GymWrapper(
            fm.VecMazeEnv(SPEC, N, seed=0, autoreset_mode="same_step", max_steps=6),
            categorical_action_encoding=True,
        )
    actor, value = _policy(env)
    steps, updates = 8, 3
    collector = SyncDataCollector(
        env, actor, frames_per_batch=N * steps, total_frames=N * steps * updates
    )
    advantage = GAE(gamma=0.99, lmbda=0.95, value_network=value, average_gae=True)
    loss = ClipPPOLoss(actor, value, clip_epsilon=0.2, entropy_coeff=0.01)
    optim = torch.optim.Adam(loss.parameters(), lr=1e-3)
    before = [p.detach().clone() for p in loss.parameters()]
    batches = 0
    for data in collector:
        assert data.batch_size == torch.Size([N, steps])
        assert data["observation"].dtype == torch.uint8
        assert set(data["action"].unique().tolist()) <= {0, 1, 2, 3}
        with torch.no_grad():
            advantage(data)
        terms = loss(data.reshape(-1))
        total = terms["loss_objective"] + terms["loss_critic"] + terms["loss_entropy"]
        assert torch.isfinite(total)
        optim.zero_grad()
        total.backward()
        optim.step()
        batches += 1
    collector.shutdown()
    assert batches == updates
    assert any(not torch.equal(a, b) for a, b in zip(before, loss.parameters(), strict=True))
