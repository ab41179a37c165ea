"""Observations of the torch backend, drawn on the device from the packed boards
(`fastmaze.torch_env.board`), byte for byte as the native renderers draw them.
"""

from __future__ import annotations

import numpy as np
import torch

from fastmaze.render import rgb_lut
from fastmaze.torch_env.board import COLOR, EXIT, WALL


class Drawing:
    """The drawing part of `fastmaze.torch_env.TorchVecMazeEnv` (a base class of it): lookup
    tables built once (`_drawing_tables`) and `_render` of every observation kind."""

    def _drawing_tables(self) -> None:
        """Tables and index offsets of the drawing: what a square byte (colour | DECOY | WALL
        | EXIT) shows, as the native renderers decide it (csrc/render.c, csrc/step.c)."""
        n, dev, spec = self.num_envs, self.device, self.maze_spec
        H, W = spec.shape
        P = len(spec.palette)
        per_env = int(np.prod(self.single_obs_shape))
        env_at = torch.arange(n, dtype=torch.int64, device=dev) * per_env
        byte = np.arange(256)
        wall, code = (byte & WALL) != 0, byte & COLOR
        shown = (code >= 1) & (code <= P) & (not self.hide_colors)  # a colour is drawn
        if self.obs_kind == "symbolic":
            self._agent_at = env_at + H * W  # the agent plane
            self._scratch = torch.empty((n, H * W), dtype=torch.uint8, device=dev)
            self._codes = torch.arange(1, P + 1, dtype=torch.uint8, device=dev).view(1, P, 1)
        elif self.obs_kind == "rgb":
            px = self.pixels
            entry = np.where(wall, P + 1, np.where(shown, code, 0))  # of render.rgb_lut's rows
            lut = rgb_lut(spec.palette)
            self._rgb_lut = torch.from_numpy(lut[entry]).to(dev)  # [256, 3]
            # The agent: an AGENT_RGB square inset by (px + 1) // 4 in its square.
            inset = (px + 1) // 4
            side, width = px - 2 * inset, W * px
            ch, i, j = np.meshgrid(np.arange(3), np.arange(side), np.arange(side), indexing="ij")
            offs = ch * H * px * width + (inset + i) * width + inset + j
            self._inset = torch.from_numpy(offs.reshape(-1).astype(np.int64)).to(dev)
            self._inset_rgb = torch.from_numpy(lut[P + 2][ch.reshape(-1)]).to(dev)
            self._env_at = env_at
        else:
            r, C = self.radius, self.single_obs_shape[0]
            d = np.arange(-r, r + 1)
            self._ego_dr = torch.from_numpy(np.repeat(d, 2 * r + 1)).to(dev)  # window i·S + j
            self._ego_dc = torch.from_numpy(np.tile(d, 2 * r + 1)).to(dev)
            table = np.zeros((256, C), np.uint8)
            table[:, 0] = wall
            for c in range(1, P + 1):
                table[:, 1 + c] = shown & (code == c)
            if self.reveal_exit:
                table[:, C - 1] = (byte & EXIT) != 0
            self._ego_lut = torch.from_numpy(table).to(dev)
            self._wall = torch.tensor(WALL, dtype=torch.uint8, device=dev)

    def _render(self, sq: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
        """uint8 [N, *single_obs_shape]: the observations of boards sq (int64 words of the
        padded uint8 [N, H·W] boards) with the agents at pos [N] (flat square index)."""
        if self.obs_kind == "rgb":
            return self._render_rgb(sq, pos)
        if self.obs_kind == "egocentric":
            return self._render_ego(sq, pos)
        return self._render_symbolic(sq, pos)

    def _render_rgb(self, sq: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
        """uint8 [N, 3, H·px, W·px]: each square's colour (a 256-entry table of the square
        byte) spread over px pixels of one image row, that row copied down px times (whole
        rows: several times faster on the CPU than one copy broadcasting both ways), then
        the agent's inset square written at precomputed offsets."""
        n, (H, W), px = sq.shape[0], self.maze_spec.shape, self.pixels
        rgb = self._rgb_lut[sq.view(torch.uint8)[:, : H * W].long()]  # [N, H·W, 3]
        rgb = rgb.view(n, H, W, 3).permute(0, 3, 1, 2).unsqueeze(4)  # [N, 3, H, W, 1]
        row = rgb.expand(n, 3, H, W, px).reshape(n, 3, H, 1, W * px)
        out = torch.empty((n, 3, H, px, W * px), dtype=torch.uint8, device=self.device)
        out.copy_(row.expand_as(out))
        row = torch.div(pos, W, rounding_mode="floor")
        corner = self._env_at + row * (px * px * W) + (pos - row * W) * px
        out.view(-1)[corner.unsqueeze(1) + self._inset] = self._inset_rgb
        return out.view(n, 3, H * px, W * px)

    def _render_ego(self, sq: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
        """uint8 [N, C, S, S], S = 2·radius + 1: the window's squares gathered from the
        boards (wall outside them), their planes from a 256-entry table, the agent at the
        centre."""
        n, (H, W), r = sq.shape[0], self.maze_spec.shape, self.radius
        S, C = 2 * r + 1, self.single_obs_shape[0]
        row = torch.div(pos, W, rounding_mode="floor")
        rows = row.unsqueeze(1) + self._ego_dr  # [N, S·S]
        cols = (pos - row * W).unsqueeze(1) + self._ego_dc
        inside = (rows >= 0) & (rows < H) & (cols >= 0) & (cols < W)
        at = rows.clamp_(0, H - 1).mul_(W).add_(cols.clamp_(0, W - 1))
        square = torch.where(inside, sq.view(torch.uint8).gather(1, at), self._wall)
        planes = self._ego_lut[square.long()]  # [N, S·S, C]
        planes[:, r * S + r, 1] = 1  # the agent, at the centre
        return planes.view(n, S, S, C).permute(0, 3, 1, 2).contiguous()

    def _render_symbolic(self, sq: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
        """uint8 [N, C, H, W]: the symbolic planes of boards sq, agent at pos [N].

        Outputs are fresh tensors, so a step writes a whole observation anyway: drawing it
        from the boards costs no more than copying the last one and updating the two squares
        the agent left and entered. Each plane group is one op writing uint8 (no bool casts):
        the wall bit through a reused scratch board, every colour plane in one broadcast
        comparison against the codes 1..P."""
        n, HW = sq.shape[0], self.maze_spec.shape[0] * self.maze_spec.shape[1]
        sq = sq.view(torch.uint8)[:, :HW]
        C, P = self.single_obs_shape[0], len(self.maze_spec.palette)
        out = torch.empty((n, C, HW), dtype=torch.uint8, device=self.device)
        bits = self._scratch
        torch.ne(torch.bitwise_and(sq, WALL, out=bits), 0, out=out[:, 0])
        out[:, 1].zero_()
        if self.hide_colors:
            out[:, 2 : 2 + P].zero_()
        elif P:
            code = torch.bitwise_and(sq, COLOR, out=bits).unsqueeze(1)
            torch.eq(code, self._codes, out=out[:, 2 : 2 + P])
        if self.reveal_exit:
            torch.ne(torch.bitwise_and(sq, EXIT, out=bits), 0, out=out[:, -1])
        out.view(-1)[self._agent_at + pos] = 1
        return out.view(n, *self.single_obs_shape)
