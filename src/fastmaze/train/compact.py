"""Symbolic observations rebuilt on the training device from a native env's compact ones.

A ``VecMazeEnv(obs="compact")`` hands out per step only the agent's square per env (int16
[N, 2]); each level's static squares are coded once per reset into the env's
``level_table`` (uint8 [N, H, W], one code per square: wall + 2·colour + 2·(P+1)·exit, as
``fm_compact_code`` in csrc/step.h). `CompactBoards` keeps a copy of that table on the
device, refreshed with only the rows the env rewrote, and draws the symbolic planes with one
gather from a small table of plane values: host→device traffic per env-step falls from the
whole board (``planes·H·W`` bytes) to the 4 bytes of the agent's square, plus ``H·W`` bytes
per reset.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn


class CompactBoards(nn.Module):
    """Rebuilds ``obs="symbolic"`` observations, bit for bit, from compact ones.

    ``env``: a native ``VecMazeEnv`` with ``obs="compact"``. Call `sync` after every
    ``reset`` and ``step`` of the env (it uploads the table rows the env rewrote), then call
    the module on the step's agent squares. ``shape``: the symbolic observation of one env,
    (planes, H, W).
    """

    def __init__(self, env: Any, device: torch.device | str = "cpu") -> None:
        super().__init__()
        if getattr(env, "obs_kind", None) != "compact":
            raise ValueError("env: expected a native VecMazeEnv with obs='compact'")
        H, W = env.maze_spec.shape
        P = len(env.maze_spec.palette)
        self.planes = 2 + P + int(env.reveal_exit)
        self.shape = (self.planes, H, W)
        values = plane_values(P, bool(env.reveal_exit)).to(device)
        self.register_buffer("values", values, persistent=False)
        table = torch.zeros(env.level_table.shape, dtype=torch.uint8, device=device)
        self.register_buffer("table", table, persistent=False)
        final = torch.zeros(env.final_table.shape, dtype=torch.uint8, device=device)
        self.register_buffer("final_table", final, persistent=False)  # same_step envs only
        self.uploaded_bytes = 0  # host -> device bytes of table rows so far
        self._version = -1

    def sync(self, env: Any) -> None:
        """Brings the device table up to date with ``env.level_table``."""
        if env.level_table_version == self._version:
            return
        if env.level_table_version == self._version + 1:  # only the rows of the last call
            rows = torch.from_numpy(env.level_table_rows)
            data = torch.from_numpy(env.level_table[env.level_table_rows])
            self.table[rows.to(self.table.device)] = data.to(self.table.device)
        else:  # first call, or calls missed
            data = torch.from_numpy(env.level_table)
            self.table.copy_(data)
        self.uploaded_bytes += data.numel()
        self._version = env.level_table_version

    def sync_final(self, env: Any, ended: Any) -> None:
        """``same_step``: uploads ``env.final_table`` rows of the envs ended this step
        (``ended``: bool numpy [num_envs], the step's ``info["_final_obs"]``), so that
        ``self(final_agent, self.final_table)`` rebuilds those rows of ``info["final_obs"]``."""
        rows = ended.nonzero()[0]
        if len(rows):
            data = torch.from_numpy(env.final_table[rows])
            self.final_table[torch.from_numpy(rows).to(self.final_table.device)] = data.to(
                self.final_table.device
            )
            self.uploaded_bytes += data.numel()

    def forward(self, agent: torch.Tensor, table: torch.Tensor | None = None) -> torch.Tensor:
        """agent int16 [M, 2] (row, col) on the device, table uint8 [M, H, W] (default: the
        synced table, M = num_envs) -> symbolic observations uint8 [M, planes, H, W]."""
        return rebuild(self.values, self.table if table is None else table, agent)


def rebuild(values: torch.Tensor, table: torch.Tensor, agent: torch.Tensor) -> torch.Tensor:
    """values uint8 [8·(P+1), planes] (`plane_values`), table uint8 [M, H, W] of square codes,
    agent int16/int64 [M, 2] (row, col), all on one device -> uint8 [M, planes, H, W], the
    symbolic boards (one gather)."""
    M, H, W = table.shape
    squares = torch.arange(H * W, device=table.device)
    at = agent[:, 0].long() * W + agent[:, 1].long()
    codes = table.reshape(M, H * W).long() + (values.shape[0] // 2) * (squares == at[:, None])
    # contiguous, as the env's boards: a channels-last layout would change how convolutions
    # round
    return values[codes].transpose(1, 2).reshape(M, values.shape[1], H, W).contiguous()


def level_codes(
    levels: Any, hide_colors: bool = False, reveal_exit: bool = False, out: Any = None
) -> np.ndarray:
    """The compact table of a `fastmaze.Levels` batch: uint8 [n, H, W] square codes (as the
    env's ``level_table``), into ``out`` if given."""
    P = len(levels.spec.palette)
    color = levels.color.astype(np.int32)
    if hide_colors:
        color[:] = 0
    color[(color < 1) | (color > P)] = 0
    codes = (levels.grid != 0) + 2 * color
    if reveal_exit:
        n = len(levels.grid)
        codes[np.arange(n), levels.exit[:, 0], levels.exit[:, 1]] += 2 * (P + 1)
    out = np.empty(codes.shape, np.uint8) if out is None else out
    np.copyto(out, codes, casting="unsafe")
    return out


def plane_values(P: int, reveal_exit: bool) -> torch.Tensor:
    """uint8 [8·(P+1), planes]: the symbolic planes of a square by code, the agent's squares
    (code + 4·(P+1)) with the agent plane set."""
    planes = 2 + P + int(reveal_exit)
    values = torch.zeros((2, 2, P + 1, 2, planes), dtype=torch.uint8)  # agent, exit, colour, wall
    values[..., 1, 0] = 1
    values[1, ..., 1] = 1
    for c in range(1, P + 1):
        values[:, :, c, :, 1 + c] = 1
    if reveal_exit:
        values[:, 1, ..., planes - 1] = 1
    return values.reshape(-1, planes)
