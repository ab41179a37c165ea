"""Observations of levels: one-hot symbolic planes, RGB images, ASCII and PNG pictures.

The batch renderers (`symbolic`, `rgb`) run in the compiled core (csrc/render.c) with the GIL
released, in parallel over levels, and write into a caller-owned ``out`` array when one is
given, so a vector env can reuse its observation buffers. Board squares are (row, col) on an
H × W board; see `fastmaze.levels.Levels`.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from fastmaze import _core
from fastmaze.levels import default_threads
from fastmaze.spec import COLORS
from fastmaze.validate import check_int

if TYPE_CHECKING:
    from fastmaze.levels import Levels

#: RGB of the fixed elements; none of them is a colour of `fastmaze.spec.COLORS`.
FLOOR_RGB: tuple[int, int, int] = (0, 0, 0)
WALL_RGB: tuple[int, int, int] = (128, 128, 128)
AGENT_RGB: tuple[int, int, int] = (255, 255, 255)
#: Background between the levels of a PNG grid.
BACKGROUND_RGB: tuple[int, int, int] = (255, 255, 255)
#: Levels drawn by `save_png` when no indices are given (the first ones).
PNG_DEFAULT_LEVELS = 64

__all__ = [
    "AGENT_RGB",
    "FLOOR_RGB",
    "WALL_RGB",
    "ascii",
    "channel_names",
    "color_letters",
    "png_grid",
    "rgb",
    "rgb_lut",
    "save_png",
    "symbolic",
]


def channel_names(palette: Sequence[str], reveal_exit: bool = False) -> tuple[str, ...]:
    """Names of the `symbolic` planes, in order: wall, agent, the palette, (exit)."""
    return ("wall", "agent", *palette, *(("exit",) if reveal_exit else ()))


def _threads(threads: int | None) -> int:
    if threads is None:
        return default_threads()
    return check_int("threads", threads, 1, 4096)


def _boards(levels: Levels) -> tuple[np.ndarray, np.ndarray]:
    """grid, color as C-contiguous uint8 [n, H, W] (copies only when needed)."""
    grid = np.ascontiguousarray(levels.grid, dtype=np.uint8)
    color = np.ascontiguousarray(levels.color, dtype=np.uint8)
    if grid.ndim != 3 or color.shape != grid.shape:
        raise ValueError(
            f"levels.grid and levels.color must both be [n, H, W]; got {grid.shape}, {color.shape}"
        )
    return grid, color


def _positions(
    what: str, value: np.ndarray | Sequence, n: int, shape: tuple[int, int]
) -> np.ndarray:
    """int32 [n, 2] board (row, col), each inside the H × W board."""
    arr = np.asarray(value)
    if arr.shape != (n, 2) or not (np.issubdtype(arr.dtype, np.integer) or arr.size == 0):
        raise ValueError(
            f"{what}: expected integer board (row, col) of shape ({n}, 2), got "
            f"{arr.dtype} {arr.shape}"
        )
    H, W = shape
    if arr.size and (
        arr[:, 0].min() < 0 or arr[:, 0].max() >= H or arr[:, 1].min() < 0 or arr[:, 1].max() >= W
    ):
        raise ValueError(f"{what}: a position lies outside the {H}x{W} board")
    return np.ascontiguousarray(arr, dtype=np.int32)


def _out(out: np.ndarray | None, shape: tuple[int, ...]) -> np.ndarray:
    if out is None:
        return np.empty(shape, np.uint8)
    if not isinstance(out, np.ndarray) or out.dtype != np.uint8 or out.shape != shape:
        got = f"{out.dtype} {out.shape}" if isinstance(out, np.ndarray) else type(out).__name__
        raise ValueError(f"out: expected a uint8 array of shape {shape}, got {got}")
    if not out.flags.c_contiguous or not out.flags.writeable:
        raise ValueError("out: must be C-contiguous and writeable")
    return out


def symbolic(
    levels: Levels,
    *,
    agent: np.ndarray | None = None,
    reveal_exit: bool = False,
    hide_colors: bool = False,
    out: np.ndarray | None = None,
    threads: int | None = None,
) -> np.ndarray:
    """One-hot planes, uint8 [n, 2 + P (+1), H, W] with P = len(levels.palette).

    Planes, in order (see `channel_names`): wall, agent (at ``agent``, int [n, 2] board
    (row, col), default ``levels.start``), then one plane per palette colour in palette order.
    The exit is only the gap in the wall plane unless ``reveal_exit``, which appends a plane
    marking it. ``hide_colors`` leaves the colour planes zero (same shape). ``out``, if given,
    is filled in place and returned; ``threads`` defaults to `default_threads`.
    """
    grid, color = _boards(levels)
    n, H, W = grid.shape
    P = len(levels.palette)
    agent = _positions("agent", levels.start if agent is None else agent, n, (H, W))
    exit_ = _positions("levels.exit", levels.exit, n, (H, W)) if reveal_exit else agent
    result = _out(out, (n, 2 + P + bool(reveal_exit), H, W))
    _core.render_symbolic_into(
        grid,
        color,
        agent,
        exit_,
        P,
        bool(reveal_exit),
        bool(hide_colors),
        result,
        _threads(threads),
    )
    return result


def rgb_lut(palette: Sequence[str]) -> np.ndarray:
    """uint8 [P + 3, 3]: the RGB of every square code of `rgb` (floor, the palette's colours
    in order, wall) and of the agent, the table of csrc/render.h; both backends draw with it."""
    rows = [FLOOR_RGB, *(COLORS[name] for name in palette), WALL_RGB, AGENT_RGB]
    return np.array(rows, dtype=np.uint8)


def _pixels(pixels: int) -> int:
    return check_int("pixels", pixels, 1, 256)


def rgb(
    levels: Levels,
    *,
    pixels: int = 8,
    agent: np.ndarray | None = None,
    hide_colors: bool = False,
    out: np.ndarray | None = None,
    threads: int | None = None,
) -> np.ndarray:
    """Channel-first images, uint8 [n, 3, H·pixels, W·pixels]; each square is pixels × pixels.

    Walls `WALL_RGB`, floor `FLOOR_RGB`, coloured squares in their `COLORS` RGB (as floor if
    ``hide_colors``). The agent (``agent`` int [n, 2], default ``levels.start``) is an
    `AGENT_RGB` square inset by (pixels + 1) // 4 on each side, so the colour of the square it
    stands on stays visible around it (from pixels = 3 up).
    """
    pixels = _pixels(pixels)
    grid, color = _boards(levels)
    n, H, W = grid.shape
    agent = _positions("agent", levels.start if agent is None else agent, n, (H, W))
    result = _out(out, (n, 3, H * pixels, W * pixels))
    palette = levels.palette
    _core.render_rgb_into(
        grid,
        color,
        agent,
        len(palette),
        pixels,
        rgb_lut(palette),
        bool(hide_colors),
        result,
        _threads(threads),
    )
    return result


def color_letters(palette: Sequence[str]) -> dict[str, str]:
    """Lower-case letters naming each palette colour in `ascii`: the shortest prefix that
    tells it apart from the others, all padded to one width (``blue`` and ``brown`` give
    ``bl`` and ``br``; the default palette needs one letter each)."""
    width = 1
    while len({name[:width] for name in palette}) < len(palette):
        width += 1
    return {name: name[:width].ljust(width) for name in palette}


def ascii(levels: Levels, index: int = 0, *, hide_colors: bool = False) -> str:
    """A text picture of level ``index``: a title line, the board, a legend line.

    ``#`` wall, ``.`` floor, ``A`` the agent's start, ``E`` the exit (its colour is named in
    the legend), ``F`` a false exit (`MazeSpec.false_exits`), coloured squares (decoys,
    distractors) as lower-case letters of their colour (`color_letters`). Every square is
    drawn with the same width.
    """
    n = len(levels)
    if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
        raise ValueError(f"index: expected an integer, got {index!r}")
    if not -n <= index < n:
        raise ValueError(f"index {index} out of range for {n} levels")
    index = int(index) % n
    palette = levels.palette
    letters = color_letters(palette)
    width = len(next(iter(letters.values())))
    grid = np.asarray(levels.grid[index])
    color = np.asarray(levels.color[index])
    start = tuple(int(v) for v in levels.start[index])
    exit_ = tuple(int(v) for v in levels.exit[index])

    def name_of(code: int) -> str | None:
        return palette[code - 1] if 1 <= code <= len(palette) else None

    seen: set[str] = set()
    H, W = grid.shape
    false_exits = False
    lines = [
        f"level {int(levels.ids[index])} (index {index}), {grid.shape[0]}x{grid.shape[1]} squares"
    ]
    for r in range(grid.shape[0]):
        row = []
        for c in range(grid.shape[1]):
            name = None if hide_colors else name_of(int(color[r, c]))
            if (r, c) == start:
                symbol = "A"
            elif (r, c) == exit_:
                symbol = "E"
            elif not grid[r, c] and (r in (0, H - 1) or c in (0, W - 1)):
                symbol = "F"  # a false exit: an opening sealed off from the start
                false_exits = True
            elif grid[r, c]:
                symbol = "#" * width
            elif name is not None:
                symbol = letters[name]
                seen.add(name)
            else:
                symbol = "." * width
            row.append(symbol.ljust(width))
        lines.append("".join(row))
    exit_name = None if hide_colors else name_of(int(color[exit_]))
    legend = ["# wall", ". floor", "A start", f"E exit ({exit_name or 'no colour'})"]
    legend += ["F false exit (sealed)"] if false_exits else []
    legend += [f"{letters[name].strip()} {name}" for name in palette if name in seen]
    lines.append("legend: " + ", ".join(legend))
    return "\n".join(lines)


def _indices(levels: Levels, indices: Sequence[int] | np.ndarray | None) -> np.ndarray:
    n = len(levels)
    if indices is None:
        return np.arange(min(n, PNG_DEFAULT_LEVELS))
    idx = np.asarray(indices).reshape(-1)
    if idx.size and not np.issubdtype(idx.dtype, np.integer):
        raise ValueError(f"indices: expected integers, got {idx.dtype}")
    if idx.size and (idx.min() < -n or idx.max() >= n):
        raise ValueError(f"indices: out of range for {n} levels")
    return idx.astype(np.int64) % max(n, 1)


def png_grid(
    levels: Levels,
    indices: Sequence[int] | np.ndarray | None = None,
    *,
    pixels: int = 8,
    columns: int | None = None,
    hide_colors: bool = False,
) -> np.ndarray:
    """The picture `save_png` writes, uint8 [height, width, 3] (channel-last).

    Levels ``indices`` (default: the first `PNG_DEFAULT_LEVELS`) are drawn by `rgb` in
    row-major order on ``columns`` columns (default ceil(sqrt(k)), at most k), ``pixels`` apart on a
    `BACKGROUND_RGB` background: width = columns·W·pixels + (columns − 1)·pixels, height
    likewise with rows = ceil(k / columns).
    """
    idx = _indices(levels, indices)
    if idx.size == 0:
        raise ValueError("no levels to draw: the batch or the index list is empty")
    if columns is None:
        columns = math.ceil(math.sqrt(idx.size))
    if isinstance(columns, bool) or not isinstance(columns, (int, np.integer)) or columns < 1:
        raise ValueError(f"columns: expected a positive integer, got {columns!r}")
    columns = min(int(columns), idx.size)
    rows = math.ceil(idx.size / columns)
    images = rgb(levels[idx], pixels=pixels, hide_colors=hide_colors)
    _, _, h, w = images.shape
    gap = pixels
    canvas = np.empty((rows * h + (rows - 1) * gap, columns * w + (columns - 1) * gap, 3), np.uint8)
    canvas[...] = BACKGROUND_RGB
    for k, image in enumerate(images):
        top, left = (k // columns) * (h + gap), (k % columns) * (w + gap)
        canvas[top : top + h, left : left + w] = image.transpose(1, 2, 0)
    return canvas


def save_png(
    levels: Levels,
    path: str | os.PathLike,
    indices: Sequence[int] | np.ndarray | None = None,
    *,
    pixels: int = 8,
    columns: int | None = None,
    hide_colors: bool = False,
) -> tuple[int, int]:
    """Writes levels ``indices`` as one PNG grid (see `png_grid` for the layout) and returns
    its (height, width) in pixels."""
    canvas = png_grid(levels, indices, pixels=pixels, columns=columns, hide_colors=hide_colors)
    import matplotlib.image

    matplotlib.image.imsave(os.fspath(path), canvas, format="png")
    return canvas.shape[0], canvas.shape[1]
