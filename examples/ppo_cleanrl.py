"""PPO on fastmaze in one file, CleanRL style: copy it to start your own study.

Trains on the green-exit stream (`fastmaze.correlated(rho)`: the exit is green with
probability rho, the decoy never is) with `fastmaze.VecMazeEnv` through the Gymnasium vector
API, logs episode statistics from the info dict, then evaluates on conflict levels (the exit
not green, a green decoy off the path) and prints where the agent went: the exit (the true
goal) or the green decoy (the shortcut).

    python examples/ppo_cleanrl.py --total-timesteps 2000000 --rho 0.95 --tensorboard runs/ppo

The algorithm is CleanRL's ``ppo.py`` (clipped surrogate, GAE, advantage normalisation,
value clipping, orthogonal init, linear learning-rate annealing), with the Procgen
defaults (γ 0.999, λ 0.95, lr 5e-4). The env auto-resets in ``"same_step"`` mode: the step
that ends an episode returns the next episode's first observation, and the ended episode's
statistics are in ``info["final_info"]`` where ``info["_final_info"]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.distributions import Categorical

import fastmaze as fm
from fastmaze.train.logger import ScalarLog


@dataclass
class Args:
    seed: int = 0
    size: int = 6  # maze side, in cells
    rho: float = 0.95  # P(exit is green) in training
    total_timesteps: int = 2_000_000
    num_envs: int = 64
    num_steps: int = 256  # steps per env per rollout
    learning_rate: float = 5e-4
    anneal_lr: bool = True
    gamma: float = 0.999
    gae_lambda: float = 0.95
    num_minibatches: int = 8
    update_epochs: int = 3
    norm_adv: bool = True
    clip_coef: float = 0.2
    clip_vloss: bool = True
    ent_coef: float = 0.01
    vf_coef: float = 0.5
    max_grad_norm: float = 0.5
    eval_episodes: int = 2_000  # conflict levels played at the end (0: none)
    device: str = "cpu"
    tensorboard: str = ""  # a folder for TensorBoard scalars ("": none)


_TYPES = {"int": int, "float": float, "str": str}


def parse_args(argv: list[str] | None = None) -> Args:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    for f in dataclasses.fields(Args):
        flag = "--" + f.name.replace("_", "-")
        if f.type == "bool":
            parser.add_argument(flag, type=lambda s: s.lower() in ("1", "true", "yes"),
                                default=f.default, metavar="BOOL")  # fmt: skip
        else:
            parser.add_argument(flag, type=_TYPES[f.type], default=f.default)
    return Args(**vars(parser.parse_args(argv)))


def layer_init(layer: nn.Module, std: float = np.sqrt(2), bias: float = 0.0) -> nn.Module:
    nn.init.orthogonal_(layer.weight, std)
    nn.init.constant_(layer.bias, bias)
    return layer


class Agent(nn.Module):
    """A small CNN over the symbolic planes; actor and critic heads."""

    def __init__(self, obs_shape: tuple[int, ...]) -> None:
        super().__init__()
        c, h, w = obs_shape
        self.body = nn.Sequential(
            layer_init(nn.Conv2d(c, 32, 3, padding=1)),
            nn.ReLU(),
            layer_init(nn.Conv2d(32, 32, 3, padding=1)),
            nn.ReLU(),
            nn.Flatten(),
            layer_init(nn.Linear(32 * h * w, 256)),
            nn.ReLU(),
        )
        self.actor = layer_init(nn.Linear(256, 4), std=0.01)
        self.critic = layer_init(nn.Linear(256, 1), std=1.0)

    def get_value(self, x: torch.Tensor) -> torch.Tensor:
        return self.critic(self.body(x.float()))

    def get_action_and_value(
        self, x: torch.Tensor, action: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, ...]:
        hidden = self.body(x.float())
        probs = Categorical(logits=self.actor(hidden))
        if action is None:
            action = probs.sample()
        return action, probs.log_prob(action), probs.entropy(), self.critic(hidden)


def main(argv: list[str] | None = None) -> dict[str, float]:
    args = parse_args(argv)
    batch_size = args.num_envs * args.num_steps
    minibatch_size = batch_size // args.num_minibatches
    num_iterations = max(1, args.total_timesteps // batch_size)
    torch.manual_seed(args.seed)
    device = torch.device(args.device)

    envs = fm.VecMazeEnv(
        fm.correlated(args.rho, size=args.size),
        num_envs=args.num_envs,
        seed=args.seed,
        obs="symbolic",
        autoreset_mode="same_step",
    )
    obs_shape = envs.single_observation_space.shape
    agent = Agent(obs_shape).to(device)
    optimizer = torch.optim.Adam(agent.parameters(), lr=args.learning_rate, eps=1e-5)

    obs = torch.zeros((args.num_steps, args.num_envs, *obs_shape), dtype=torch.uint8).to(device)
    actions = torch.zeros((args.num_steps, args.num_envs), dtype=torch.long).to(device)
    logprobs = torch.zeros((args.num_steps, args.num_envs)).to(device)
    rewards = torch.zeros((args.num_steps, args.num_envs)).to(device)
    dones = torch.zeros((args.num_steps, args.num_envs)).to(device)
    values = torch.zeros((args.num_steps, args.num_envs)).to(device)

    log = ScalarLog(args.tensorboard or None)
    global_step, start = 0, time.time()
    next_obs_np, _ = envs.reset(seed=args.seed)
    next_obs = torch.as_tensor(next_obs_np, device=device)
    next_done = torch.zeros(args.num_envs, device=device)
    stats: dict[str, float] = {}
    for iteration in range(1, num_iterations + 1):
        if args.anneal_lr:
            frac = 1.0 - (iteration - 1.0) / num_iterations
            optimizer.param_groups[0]["lr"] = frac * args.learning_rate
        returns_, lengths, exits = [], [], []
        for step in range(args.num_steps):
            global_step += args.num_envs
            obs[step] = next_obs
            dones[step] = next_done
            with torch.no_grad():
                action, logprob, _, value = agent.get_action_and_value(next_obs)
                values[step] = value.flatten()
            actions[step] = action
            logprobs[step] = logprob
            next_obs_np, reward, terminations, truncations, infos = envs.step(action.cpu().numpy())
            rewards[step] = torch.as_tensor(reward, device=device)
            next_obs = torch.as_tensor(next_obs_np, device=device)
            next_done = torch.as_tensor(terminations | truncations, device=device).float()
            ended = infos["_final_info"]  # episode statistics of the envs that just ended
            if ended.any():
                final = infos["final_info"]
                returns_.append(final["episode_return"][ended])
                lengths.append(final["episode_length"][ended])
                exits.append(final["reached_exit"][ended])

        with torch.no_grad():  # GAE
            next_value = agent.get_value(next_obs).reshape(1, -1)
            advantages = torch.zeros_like(rewards).to(device)
            lastgaelam = 0
            for t in reversed(range(args.num_steps)):
                if t == args.num_steps - 1:
                    nextnonterminal, nextvalues = 1.0 - next_done, next_value
                else:
                    nextnonterminal, nextvalues = 1.0 - dones[t + 1], values[t + 1]
                delta = rewards[t] + args.gamma * nextvalues * nextnonterminal - values[t]
                lastgaelam = delta + args.gamma * args.gae_lambda * nextnonterminal * lastgaelam
                advantages[t] = lastgaelam
            returns = advantages + values

        b_obs = obs.reshape((-1, *obs_shape))
        b_logprobs, b_actions = logprobs.reshape(-1), actions.reshape(-1)
        b_advantages, b_returns, b_values = (
            advantages.reshape(-1),
            returns.reshape(-1),
            values.reshape(-1),
        )
        b_inds = np.arange(batch_size)
        for _epoch in range(args.update_epochs):
            np.random.default_rng(args.seed + iteration * 1000 + _epoch).shuffle(b_inds)
            for lo in range(0, batch_size, minibatch_size):
                mb = b_inds[lo : lo + minibatch_size]
                _, newlogprob, entropy, newvalue = agent.get_action_and_value(
                    b_obs[mb], b_actions[mb]
                )
                ratio = (newlogprob - b_logprobs[mb]).exp()
                mb_adv = b_advantages[mb]
                if args.norm_adv:
                    mb_adv = (mb_adv - mb_adv.mean()) / (mb_adv.std() + 1e-8)
                pg_loss = torch.max(
                    -mb_adv * ratio,
                    -mb_adv * torch.clamp(ratio, 1 - args.clip_coef, 1 + args.clip_coef),
                ).mean()
                newvalue = newvalue.view(-1)
                if args.clip_vloss:
                    v_unclipped = (newvalue - b_returns[mb]) ** 2
                    v_clipped = b_values[mb] + torch.clamp(
                        newvalue - b_values[mb], -args.clip_coef, args.clip_coef
                    )
                    v_loss = 0.5 * torch.max(v_unclipped, (v_clipped - b_returns[mb]) ** 2).mean()
                else:
                    v_loss = 0.5 * ((newvalue - b_returns[mb]) ** 2).mean()
                loss = pg_loss - args.ent_coef * entropy.mean() + v_loss * args.vf_coef
                optimizer.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(agent.parameters(), args.max_grad_norm)
                optimizer.step()

        episodes = int(sum(len(r) for r in returns_))
        stats = {
            "global_step": global_step,
            "episodes": episodes,
            "episode_return": float(np.concatenate(returns_).mean()) if episodes else float("nan"),
            "episode_length": float(np.concatenate(lengths).mean()) if episodes else float("nan"),
            "exit_rate": float(np.concatenate(exits).mean()) if episodes else float("nan"),
            "loss": loss.item(),
            "sps": global_step / (time.time() - start),
        }
        log.scalars(stats, global_step, "charts")
        print(
            f"iter {iteration}/{num_iterations} step {global_step}: {episodes} episodes, "
            f"return {stats['episode_return']:.3f}, length {stats['episode_length']:.1f}, "
            f"exit rate {stats['exit_rate']:.3f}, {stats['sps']:,.0f} steps/s"
        )
    envs.close()
    log.close()

    if args.eval_episodes:

        @torch.no_grad()
        def policy(o: np.ndarray) -> np.ndarray:
            action, *_ = agent.get_action_and_value(torch.as_tensor(o, device=device))
            return action.cpu().numpy()

        result = fm.evaluate(
            policy, fm.conflict(size=args.size), args.eval_episodes, seed=args.seed,
            first_id=10**9, num_envs=min(256, args.eval_episodes),
        )  # fmt: skip
        print("conflict levels (exit not green, a green decoy off the path):")
        print(result)
        row = result.rows()[0]
        stats.update(eval_exit=row["exit"][0], eval_proxy=row["proxy"][0])
    return stats


if __name__ == "__main__":
    main()
