"""A slow, obviously correct pure-Python maze env, the reference for `fastmaze.VecMazeEnv`.

One env per `RefMazeEnv`; a vector of them is a `gymnasium.vector.SyncVectorEnv`, so the
auto-reset behaviour compared against is Gymnasium's own. Envs share a `Stream`: every reset
takes the next level id, which SyncVectorEnv hands out in env order, as VecMazeEnv does.
Levels come from `fastmaze.generate` one id at a time, observations from the batch renderers
of `fastmaze.render` on the whole board (egocentric: a window of the wall-padded planes).
"""

from __future__ import annotations

from collections import deque
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode, SyncVectorEnv

import fastmaze
from fastmaze.render import rgb, symbolic

MOVES = ((-1, 0), (0, 1), (1, 0), (0, -1))


class Stream:
    """The level id counter shared by the envs of one vector."""

    def __init__(self, seed: int, first_id: int = 0) -> None:
        self.seed, self.first_id, self.next_id = seed, first_id, first_id

    def restart(self, seed: int) -> None:
        self.seed, self.next_id = seed, self.first_id

    def take(self) -> int:
        self.next_id += 1
        return self.next_id - 1


def bfs(grid: np.ndarray, source: tuple[int, int]) -> dict[tuple[int, int], int]:
    """Steps from source to every floor square reachable from it."""
    dist = {source: 0}
    queue = deque([source])
    while queue:
        r, c = queue.popleft()
        for dr, dc in MOVES:
            t = (r + dr, c + dc)
            inside = 0 <= t[0] < grid.shape[0] and 0 <= t[1] < grid.shape[1]
            if inside and grid[t] == 0 and t not in dist:
                dist[t] = dist[(r, c)] + 1
                queue.append(t)
    return dist


class RefMazeEnv(gym.Env):
    def __init__(
        self,
        spec: fastmaze.MazeSpec,
        stream: Stream,
        obs: str = "symbolic",
        max_steps: int | None = None,
        step_penalty: float = 0.0,
        proxy_reward: dict[str, float] | None = None,
        terminate_on_decoy: bool = False,
        reveal_exit: bool = False,
        hide_colors: bool = False,
        pixels: int = 8,
        radius: int = 2,
    ) -> None:
        self.maze_spec, self.stream, self.kind = spec, stream, obs
        H, W = spec.shape
        self.max_steps = max_steps or 4 * H * W
        self.penalty = np.float32(step_penalty)
        self.proxy = {spec.color_code(k): np.float32(w) for k, w in (proxy_reward or {}).items()}
        self.terminate_on_decoy, self.reveal_exit, self.hide_colors = (
            terminate_on_decoy,
            reveal_exit,
            hide_colors,
        )
        self.pixels, self.radius = pixels, radius
        planes = 2 + len(spec.palette) + reveal_exit
        side = 2 * radius + 1
        shape = {
            "symbolic": (planes, H, W),
            "rgb": (3, H * pixels, W * pixels),
            "egocentric": (planes, side, side),
        }[obs]
        self.observation_space = gym.spaces.Box(0, 255 if obs == "rgb" else 1, shape, np.uint8)
        self.action_space = gym.spaces.Discrete(4)

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[Any, dict]:
        self.id = self.stream.take()
        self.level = fastmaze.generate(self.maze_spec, 1, self.stream.seed, start=self.id)
        lv = self.level
        self.grid, self.color = lv.grid[0], lv.color[0]
        self.agent = tuple(int(v) for v in lv.start[0])
        self.exit = tuple(int(v) for v in lv.exit[0])
        self.decoys = [tuple(int(v) for v in d) for d in lv.decoys[0][: lv.n_decoys[0]]]
        from_start, from_exit = bfs(self.grid, self.agent), bfs(self.grid, self.exit)
        self.optimal = from_start.get(self.exit, -1)
        self.ambiguous = self.optimal >= 0 and any(
            d in from_start and d in from_exit and from_start[d] + from_exit[d] == self.optimal
            for d in self.decoys
        )
        self.length, self.ret, self.seen = 0, np.float32(0), set()
        self.reached_exit, self.reached_decoy, self.decoy_color = False, False, 0
        return self._obs(), self._info()

    def step(self, action: int) -> tuple[Any, np.float32, bool, bool, dict]:
        dr, dc = MOVES[int(action)]
        t = (self.agent[0] + dr, self.agent[1] + dc)
        reward, terminated = np.float32(0) - self.penalty, False
        if self.grid[t] == 0:
            self.agent = t
            gain = np.float32(0)
            if t == self.exit:
                self.reached_exit, terminated, gain = True, True, np.float32(1)
            else:
                code = int(self.color[t])
                if code and code not in self.seen:
                    self.seen.add(code)
                    gain = self.proxy.get(code, np.float32(0))
                if t in self.decoys:
                    if not self.reached_decoy:
                        self.reached_decoy, self.decoy_color = True, code
                    terminated = terminated or self.terminate_on_decoy
            reward = np.float32(reward + gain)
        self.length += 1
        self.ret = np.float32(self.ret + reward)
        truncated = not terminated and self.length >= self.max_steps
        return self._obs(), reward, terminated, truncated, self._info()

    def _obs(self) -> np.ndarray:
        agent = np.array([self.agent])
        if self.kind == "rgb":
            return rgb(self.level, pixels=self.pixels, agent=agent, hide_colors=self.hide_colors)[0]
        planes = symbolic(
            self.level, agent=agent, reveal_exit=self.reveal_exit, hide_colors=self.hide_colors
        )[0]
        if self.kind == "symbolic":
            return planes
        R, (P, H, W) = self.radius, planes.shape
        padded = np.zeros((P, H + 2 * R, W + 2 * R), np.uint8)
        padded[0] = 1  # outside the board is wall
        padded[:, R : R + H, R : R + W] = planes
        r, c = self.agent
        return padded[:, r : r + 2 * R + 1, c : c + 2 * R + 1].copy()

    def _info(self) -> dict[str, Any]:
        return {
            "reached_exit": self.reached_exit,
            "reached_decoy": self.reached_decoy,
            "decoy_color": np.uint8(self.decoy_color),
            "episode_return": self.ret,
            "episode_length": np.int32(self.length),
            "level_id": np.int64(self.id),
            "optimal_length": np.int32(self.optimal),
            "ambiguous": bool(self.ambiguous),
        }


def make_ref_vec(
    spec: fastmaze.MazeSpec,
    num_envs: int,
    seed: int = 0,
    autoreset_mode: str = "next_step",
    first_id: int = 0,
    **kwargs: Any,
) -> tuple[SyncVectorEnv, Stream]:
    """A SyncVectorEnv of reference envs sharing one Stream."""
    stream = Stream(seed, first_id)
    mode = {"next_step": "NextStep", "same_step": "SameStep", "disabled": "Disabled"}
    fns = [lambda: RefMazeEnv(spec, stream, **kwargs) for _ in range(num_envs)]
    return SyncVectorEnv(fns, autoreset_mode=AutoresetMode(mode[autoreset_mode])), stream
