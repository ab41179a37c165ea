"""Models: the IMPALA CNN of the goal-misgeneralization papers, a fully convolutional net
whose per-square features score board squares directly, and a recurrent fully convolutional
net whose one block is applied T times with shared weights.

Inputs are channel-first [N, C, H, W], uint8 (scaled to [0, 1] inside) or float.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from fastmaze.validate import fail

__all__ = ["MODELS", "ConvNet", "ImpalaCNN", "RecurrentConvNet", "make_model"]


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


class _PerSquare(nn.Module):
    """A fully convolutional body: `features` per board square ([N, channels, H, W]), a
    1×1 conv ``score`` over them, and pooled features as the forward output."""

    score: nn.Conv2d

    def features(self, x: Tensor) -> Tensor:
        raise NotImplementedError

    def square_logits(self, x: Tensor) -> Tensor:
        """[N, C, H·p, W·p] -> [N, H·W] one score per board square (row-major)."""
        return self.score(self.features(x)).flatten(1)

    def forward(self, x: Tensor) -> Tensor:
        f = self.features(x)
        return torch.cat([f.mean(dim=(2, 3)), f.amax(dim=(2, 3))], dim=1)


class ConvNet(_PerSquare):
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
        _check_sizes("ConvNet", height, width, pixels, channels=channels, depth=depth)
        layers: list[nn.Module] = [_stem(in_channels, channels, pixels), nn.ReLU()]
        for _ in range(depth - 1):
            layers += [nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU()]
        self.body = nn.Sequential(*layers)
        self.score = nn.Conv2d(channels, 1, 1)
        self.channels = channels
        self.board = (height // pixels, width // pixels)
        self.out_features = 2 * channels

    def features(self, x: Tensor) -> Tensor:
        """[N, C, H·p, W·p] -> [N, channels, H, W]."""
        return self.body(_as_float(x))


def _stem(in_channels: int, channels: int, pixels: int) -> nn.Module:
    """3×3 conv at board resolution, or a ``pixels``-strided ``pixels`` × ``pixels`` conv
    that maps each square's RGB patch to one output."""
    if pixels == 1:
        return nn.Conv2d(in_channels, channels, 3, padding=1)
    return nn.Conv2d(in_channels, channels, pixels, stride=pixels)


def _check_sizes(name: str, height: int, width: int, pixels: int, **positive: int) -> None:
    for key, value in {**positive, "pixels": pixels}.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name}: {key} must be an integer >= 1, got {value!r}")
    if height % pixels or width % pixels:
        raise ValueError(f"{name}: {height}x{width} input is not a multiple of {pixels}")


class RecurrentConvNet(_PerSquare):
    """Recurrent fully convolutional net (the "deep thinking" maze solvers of Schwarzschild
    et al. 2021 / Bansal et al. 2022): a stem projects the input to ``channels`` planes
    ``e``; one block, ``block_depth`` 3×3 conv layers with a residual connection, maps
    ``(h, e)`` to the next ``h`` (the input is recalled at every iteration), applied
    ``iterations`` times with shared weights from ``h = 0``. Each iteration widens the
    receptive field by ``2·block_depth`` squares, so T is a direct knob on how far across
    the board the model can look, and can be set anew at test time (``iterations=`` of
    `features`, or the attribute) to let the model think longer than it was trained to.

    Interface as `ConvNet`: `features` [N, channels, H, W], `square_logits` [N, H·W],
    forward: pooled features [N, 2·channels].
    """

    def __init__(
        self,
        in_channels: int,
        height: int,
        width: int,
        channels: int = 32,
        iterations: int = 8,
        block_depth: int = 2,
        pixels: int = 1,
    ) -> None:
        super().__init__()
        _check_sizes(
            "RecurrentConvNet",
            height,
            width,
            pixels,
            channels=channels,
            iterations=iterations,
            block_depth=block_depth,
        )
        self.stem = _stem(in_channels, channels, pixels)
        layers: list[nn.Module] = [nn.Conv2d(2 * channels, channels, 3, padding=1)]
        for _ in range(block_depth - 1):
            layers += [nn.ReLU(), nn.Conv2d(channels, channels, 3, padding=1)]
        self.block = nn.Sequential(*layers)
        self.score = nn.Conv2d(channels, 1, 1)
        self.channels, self.iterations = channels, iterations
        self.board = (height // pixels, width // pixels)
        self.out_features = 2 * channels

    def features(self, x: Tensor, iterations: int | None = None) -> Tensor:
        """[N, C, H·p, W·p] -> [N, channels, H, W] after ``iterations`` applications of the
        block (default: the ``iterations`` attribute)."""
        t = self.iterations if iterations is None else iterations
        if isinstance(t, bool) or not isinstance(t, int) or t < 1:
            raise ValueError(f"RecurrentConvNet: iterations must be an integer >= 1, got {t!r}")
        e = torch.relu(self.stem(_as_float(x)))
        h = torch.zeros_like(e)
        for _ in range(t):
            h = torch.relu(h + self.block(torch.cat([h, e], dim=1)))
        return h


MODELS = ("impala", "fcn", "recurrent")


def make_model(name: str, in_channels: int, height: int, width: int, **kwargs: Any) -> nn.Module:
    """``"impala"`` (kwargs ``channels`` tuple, ``hidden``), ``"fcn"`` (kwargs ``channels``
    int, ``depth``, ``pixels``) or ``"recurrent"`` (kwargs ``channels``, ``iterations``,
    ``block_depth``, ``pixels``); height and width of the input in pixels/squares. An
    unknown keyword is a ValueError naming the model's keywords."""
    models = {"impala": ImpalaCNN, "fcn": ConvNet, "recurrent": RecurrentConvNet}
    if name not in models:
        raise fail("model", f"one of {', '.join(MODELS)}", name)
    cls = models[name]
    allowed = [p for p in inspect.signature(cls).parameters if p not in _SHAPE_ARGS]
    unknown = sorted(set(kwargs) - set(allowed))
    if unknown:
        raise ValueError(
            f"model {name}: unknown keyword {', '.join(unknown)}; expected {', '.join(allowed)}"
        )
    return cls(in_channels, height, width, **kwargs)


_SHAPE_ARGS = ("in_channels", "height", "width")
