"""The torch backend of `fastmaze.VecMazeEnv`: every env's state on a torch device, a step
made of a fixed number of tensor operations (no Python loop over envs, no host sync).

Build it with ``fastmaze.make_vec(spec, n, backend="torch", device="cuda")`` (or
`TorchVecMazeEnv`). The semantics (rules, rewards, flags, info, level ids, auto-reset modes)
are those of the native `VecMazeEnv`, documented there once; a test steps both and compares
every byte. One concern a module:

- `fastmaze.torch_env.env`: `TorchVecMazeEnv`, its arguments, resets, step and Gymnasium
  spaces.
- `fastmaze.torch_env.pool`: the device level pool (a ring of levels) and its refill rule.
- `fastmaze.torch_env.producers`: where the pool's blocks come from (host C core or
  `fastmaze.cuda` on the device).
- `fastmaze.torch_env.board`: the packed uint8 square format of a board on the device.
- `fastmaze.torch_env.draw`: observations drawn from the packed boards.
"""

from fastmaze.torch_env.env import TorchVecMazeEnv
from fastmaze.torch_env.producers import LEVEL_SOURCES

__all__ = ["LEVEL_SOURCES", "TorchVecMazeEnv"]
