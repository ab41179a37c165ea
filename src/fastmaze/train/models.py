"""Models: the IMPALA CNN of the goal-misgeneralization papers and a small fully
convolutional net whose per-square features score board squares directly.

Inputs are channel-first [N, C, H, W], uint8 (scaled to [0, 1] inside) or float.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from fastmaze.validate import fail

__all__ = ["MODELS", "ConvNet", "ImpalaCNN", "make_model"]


def _as_float(x: Tensor) -> Tensor:
    """uint8 inputs scaled to [0, 1]; float inputs unchanged."""
    return x.float().div_(255.0) if x.dtype == torch.uint8 else x.float()


class _Residual(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv0 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.conv1(torch.relu(self.conv0(torch.relu(x))))


class _ImpalaBlock(nn.Module):
    """conv 3×3, max-pool 3×3 stride 2 (halves H and W, rounding up), two residual blocks."""

    def __init__(self, in_channels: int, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, channels, 3, padding=1)
        self.pool = nn.MaxPool2d(3, stride=2, padding=1)
        self.res0 = _Residual(channels)
        self.res1 = _Residual(channels)

    def forward(self, x: Tensor) -> Tensor:
        return self.res1(self.res0(self.pool(self.conv(x))))


class ImpalaCNN(nn.Module):
    """IMPALA CNN (Espeholt et al. 2018): one block per entry of ``channels``, then ReLU,
    flatten and a ``hidden``-unit ReLU layer. forward: [N, C, H, W] -> [N, hidden]."""

    def __init__(
        self,
        in_channels: int,
        height: int,
        width: int,
        channels: Sequence[int] = (16, 32, 32),
        hidden: int = 256,
    ) -> None:
        super().__init__()
        blocks, c, h, w = [], in_channels, height, width
        for out in channels:
            blocks.append(_ImpalaBlock(c, out))
            c, h, w = out, (h + 1) // 2, (w + 1) // 2
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(c * h * w, hidden)
        self.out_features = hidden

    def forward(self, x: Tensor) -> Tensor:
        x = self.blocks(_as_float(x))
        return torch.relu(self.fc(torch.flatten(torch.relu(x), 1)))


class ConvNet(nn.Module):
    """Fully convolutional net: a stem, then ``depth - 1`` 3×3 conv layers of ``channels``
    channels with ReLU, all at board resolution (receptive field 2·depth + 1 squares).

    ``pixels`` > 1 takes RGB images of ``pixels`` × ``pixels`` per square: the stem is then a
    ``pixels``-strided ``pixels`` × ``pixels`` conv, one output per square.
    `features`: [N, channels, H, W] per-square features (H, W in squares); `square_logits`:
    [N, H·W]; forward: features mean- and max-pooled, [N, out_features = 2·channels].
    """

    def __init__(
        self,
        in_channels: int,
        height: int,
        width: int,
        channels: int = 32,
        depth: int = 4,
        pixels: int = 1,
    ) -> None:
        super().__init__()
        if depth < 1 or channels < 1 or pixels < 1:
            raise ValueError(
                f"ConvNet: depth, channels, pixels must be >= 1, got {depth}, {channels}, {pixels}"
            )
        if height % pixels or width % pixels:
            raise ValueError(f"ConvNet: {height}x{width} input is not a multiple of {pixels}")
        stem = (
            nn.Conv2d(in_channels, channels, 3, padding=1)
            if pixels == 1
            else nn.Conv2d(in_channels, channels, pixels, stride=pixels)
        )
        layers: list[nn.Module] = [stem, nn.ReLU()]
        for _ in range(depth - 1):
            layers += [nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU()]
        self.body = nn.Sequential(*layers)
        self.score = nn.Conv2d(channels, 1, 1)
        self.board = (height // pixels, width // pixels)
        self.out_features = 2 * channels

    def features(self, x: Tensor) -> Tensor:
        """[N, C, H·p, W·p] -> [N, channels, H, W]."""
        return self.body(_as_float(x))

    def square_logits(self, x: Tensor) -> Tensor:
        """[N, C, H·p, W·p] -> [N, H·W] one score per board square (row-major)."""
        return self.score(self.features(x)).flatten(1)

    def forward(self, x: Tensor) -> Tensor:
        f = self.features(x)
        return torch.cat([f.mean(dim=(2, 3)), f.amax(dim=(2, 3))], dim=1)


MODELS = ("impala", "fcn")


def make_model(name: str, in_channels: int, height: int, width: int, **kwargs: Any) -> nn.Module:
    """``"impala"`` (kwargs ``channels`` tuple, ``hidden``) or ``"fcn"`` (kwargs ``channels``
    int, ``depth``, ``pixels``); height and width of the input in pixels/squares."""
    if name == "impala":
        return ImpalaCNN(in_channels, height, width, **kwargs)
    if name == "fcn":
        return ConvNet(in_channels, height, width, **kwargs)
    raise fail("model", f"one of {', '.join(MODELS)}", name)
