"""The canonical specs of shortcut experiments: a training stream where a cue (a colour, or
a corner region) predicts the exit with a chosen strength, and its test counterparts.

>>> train = correlated(0.95)                 # exit green 95% of the time, decoys never green
>>> tests = {"conflict": conflict(), "decorrelated": decorrelated()}
>>> ablation = fastmaze.Mixture.of((train, 0.98), (decorrelated(), 0.02))
"""

from __future__ import annotations

from typing import Any

from fastmaze.spec import DEFAULT_PALETTE, MazeSpec, uniform

__all__ = ["conflict", "corner", "correlated", "decorrelated"]


def _others(cue: str, palette: tuple[str, ...]) -> list[str]:
    if cue not in palette:
        raise ValueError(f"cue: unknown colour {cue!r}; the palette has {', '.join(palette)}")
    others = [c for c in palette if c != cue]
    if not others:
        raise ValueError("the palette needs at least one colour besides the cue")
    return others


def correlated(
    rho: float,
    *,
    cue: str = "green",
    size: tuple[int, int] | int = (6, 6),
    n_decoys: int = 1,
    palette: tuple[str, ...] = DEFAULT_PALETTE,
    **fields: Any,
) -> MazeSpec:
    """Training spec: the exit has the cue colour with probability ``rho``, otherwise a
    uniform other colour; decoys are never the cue colour (uniform over the others)."""
    if isinstance(rho, bool) or not isinstance(rho, (int, float)) or not 0.0 <= rho <= 1.0:
        raise ValueError(f"rho: expected a probability in [0, 1], got {rho!r}")
    others = _others(cue, palette)
    exit_color = {cue: float(rho), **{c: (1.0 - rho) / len(others) for c in others}}
    return MazeSpec(
        size=size,
        exit_color=exit_color,
        n_decoys=n_decoys,
        decoy_color=uniform(others),
        palette=palette,
        **fields,
    )


def decorrelated(
    *,
    cue: str = "green",
    size: tuple[int, int] | int = (6, 6),
    n_decoys: int = 1,
    palette: tuple[str, ...] = DEFAULT_PALETTE,
    **fields: Any,
) -> MazeSpec:
    """Test spec: exit and decoy colours uniform over the whole palette, independent of
    role, so the cue carries no information about the exit."""
    _others(cue, palette)
    return MazeSpec(
        size=size,
        exit_color=uniform(palette),
        n_decoys=n_decoys,
        decoy_color=uniform(palette),
        palette=palette,
        **fields,
    )


def conflict(
    *,
    cue: str = "green",
    size: tuple[int, int] | int = (6, 6),
    palette: tuple[str, ...] = DEFAULT_PALETTE,
    **fields: Any,
) -> MazeSpec:
    """Test spec: the exit is never the cue colour and exactly one decoy has it, so going
    to the cue and going to the exit are different behaviours."""
    return MazeSpec(
        size=size,
        exit_color=uniform(_others(cue, palette)),
        n_decoys=1,
        decoy_color=cue,
        palette=palette,
        **fields,
    )


def corner(
    k: int,
    *,
    size: tuple[int, int] | int = (6, 6),
    corner: str = "top_right",
    **fields: Any,
) -> MazeSpec:
    """Training spec of the corner experiment: the exit opens next to the k × k-cell region
    at ``corner``. Its test counterpart is the same spec without ``exit_region``."""
    return MazeSpec(size=size, exit_region=k, exit_corner=corner, **fields)
