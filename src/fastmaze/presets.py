"""The canonical specs of shortcut experiments: a training stream where a cue (a colour, or
a corner region) predicts the exit with a chosen strength, and its test counterparts.

>>> train = correlated(0.95)                 # exit green 95% of the time, decoys never green
>>> ablation = randomized(0.02)              # 2% of levels with colours independent of role
>>> tests = {"conflict": conflict(), "decorrelated": decorrelated()}

The two training families fix different things. ``correlated(rho)`` sets P(cue | exit) = rho
but never colours a decoy with the cue, so wherever the cue is on the board it marks the exit:
P(exit | cue) = 1 at every rho > 0, and lowering rho only makes the cue absent more often.
``randomized(p)`` decorrelates for real: on a fraction p of levels every colour is drawn
independently of role, so the cue also sits on decoys and P(exit | cue) < 1. Measure what a
stream realised with ``fastmaze.generate(spec, n).stats()`` (phi and mutual information put
both families on one axis).
"""

from __future__ import annotations

from typing import Any

from fastmaze.spec import DEFAULT_PALETTE, MazeSpec, Mixture, uniform

__all__ = ["conflict", "corner", "correlated", "decorrelated", "randomized"]


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
    uniform other colour; decoys are never the cue colour (uniform over the others).

    What it fixes: P(cue | exit) = rho. Because decoys never carry the cue, P(exit | cue) = 1
    whenever the cue is on the board, at every rho > 0: lowering rho removes the cue from
    more levels, it never puts the cue anywhere but the exit. For a cue that also appears
    off the exit, use `randomized`. ``fields``: any other `MazeSpec` field (algorithm,
    loops, ...)."""
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


def randomized(
    p: float,
    *,
    cue: str = "green",
    size: tuple[int, int] | int = (6, 6),
    n_decoys: int = 1,
    palette: tuple[str, ...] = DEFAULT_PALETTE,
    **fields: Any,
) -> Mixture:
    """Training stream of the randomised-fraction ablation: a fraction ``p`` of levels with
    colours independent of role (`decorrelated`: exit and decoy colours uniform over the
    palette), the rest fully correlated (``correlated(1)``: the exit always has the cue,
    decoys never). A `Mixture` of the two, component 0 correlated, 1 randomised.

    With K palette colours and D decoys per level: P(cue | exit) = 1 - p + p/K and
    P(exit | cue) = (1 - p + p/K) / (1 - p + p(1 + D)/K) over cue-coloured squares; p = 0 is
    the fully correlated stream, p = 1 the decorrelated one. ``fields``: any other
    `MazeSpec` field (algorithm, loops, ...), applied to both components."""
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
        raise ValueError(f"p: expected a fraction of levels in [0, 1], got {p!r}")
    # One placement for both components (a training stream: decoys anywhere, unless asked),
    # so where the decoys lie says nothing about which component a level came from.
    fields.setdefault("decoy_placement", "anywhere")
    common = dict(cue=cue, size=size, n_decoys=n_decoys, palette=palette, **fields)
    return Mixture.of((correlated(1.0, **common), 1.0 - p), (decorrelated(**common), float(p)))


def decorrelated(
    *,
    cue: str = "green",
    size: tuple[int, int] | int = (6, 6),
    n_decoys: int = 1,
    palette: tuple[str, ...] = DEFAULT_PALETTE,
    **fields: Any,
) -> MazeSpec:
    """Test spec: exit and decoy colours uniform over the whole palette, independent of
    role, so the cue carries no information about the exit. Decoys are placed off the path
    (``decoy_placement="off_path"``, see `MazeSpec`) unless ``fields`` say otherwise."""
    _others(cue, palette)
    return MazeSpec(
        size=size,
        exit_color=uniform(palette),
        n_decoys=n_decoys,
        decoy_color=uniform(palette),
        palette=palette,
        **{"decoy_placement": "off_path", **fields},
    )


def conflict(
    *,
    cue: str = "green",
    size: tuple[int, int] | int = (6, 6),
    palette: tuple[str, ...] = DEFAULT_PALETTE,
    **fields: Any,
) -> MazeSpec:
    """Test spec: the exit is never the cue colour and exactly one decoy has it, placed off
    the path (``decoy_placement="off_path"``, ``branch=1``; see `MazeSpec`): the decoy is on
    no shortest way to the exit, so going to the cue and going to the exit are different
    behaviours on every level (``solve(...).ambiguous`` is 0). ``fields`` may override both."""
    return MazeSpec(
        size=size,
        exit_color=uniform(_others(cue, palette)),
        n_decoys=1,
        decoy_color=cue,
        palette=palette,
        **{"decoy_placement": "off_path", **fields},
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
