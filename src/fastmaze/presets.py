"""The canonical specs of shortcut experiments: a training stream where a cue (a colour, or
a corner region) predicts the exit with a chosen strength, and its test counterparts.

>>> train = correlated(0.95)                 # exit green 95% of the time, decoys never green
>>> ablation = randomized(0.02)              # 2% of levels with colours independent of role
>>> tests = {"conflict": conflict(), "decorrelated": decorrelated()}
>>> fastmaze.evaluate(policy, conflict(), proxy=cue_proxy("green"))   # green entered first

The two training families fix different things. ``correlated(rho)`` sets P(cue | exit) = rho
but never colours a decoy with the cue, so wherever the cue is on the board it marks the exit:
P(exit | cue) = 1 at every rho > 0, and lowering rho only makes the cue absent more often.
``randomized(p)`` decorrelates for real: on a fraction p of levels every colour is drawn
independently of role, so the cue also sits on decoys and P(exit | cue) < 1. Measure what a
stream realised with ``fastmaze.generate(spec, n).stats()`` (phi and mutual information put
both families on one axis).

Each experiment also names its proxy, the squares whose entry before the exit means the
agent went for the cue: `cue_proxy` (a cue-coloured square) and `region_proxy` (the squares
next to where training exits open).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fastmaze.evaluate import Proxy
from fastmaze.levels import Levels
from fastmaze.spec import DEFAULT_PALETTE, MazeSpec, Mixture, uniform

__all__ = [
    "conflict",
    "corner",
    "correlated",
    "cue_proxy",
    "decorrelated",
    "randomized",
    "region_proxy",
    "region_squares",
]


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


def cue_proxy(cue: str = "green") -> Proxy:
    """The proxy of the colour experiments: *entered a square of colour ``cue`` first*
    (bool [n, H, W] of the squares whose colour is ``cue``, decoys and distractors alike;
    a level whose exit has the cue is ambiguous by construction)."""
    if not isinstance(cue, str):
        raise ValueError(f"cue: expected a colour name, got {cue!r}")

    def squares(levels: Levels) -> np.ndarray:
        if cue not in levels.palette:
            raise ValueError(f"cue: {cue!r} is not in the palette {', '.join(levels.palette)}")
        return levels.color == levels.palette.index(cue) + 1

    return Proxy(f"{cue} first", squares)


def region_squares(spec: MazeSpec) -> np.ndarray:
    """bool [H, W]: the floor squares next to the border squares where ``spec`` may open
    its exit (`MazeSpec.exit_candidates`), i.e. the cells of its k × k corner region that
    touch an allowed side; an agent that learned "the exit is over there" heads for them."""
    if not isinstance(spec, MazeSpec):
        raise ValueError(f"spec: expected a MazeSpec, got {type(spec).__name__}")
    H, W = spec.shape
    out = np.zeros((H, W), bool)
    for r, c in spec.exit_candidates():
        out[min(max(r, 1), H - 2), min(max(c, 1), W - 2)] = True
    return out


def region_proxy(train: MazeSpec) -> Proxy:
    """The proxy of the corner experiment: *entered the training exit region first*, the
    squares next to where ``train`` (a spec with ``exit_region``) opens its exits
    (`region_squares`), the same on every level. A test level whose exit opens there, or
    whose shortest start → exit path crosses them, is ambiguous (`proxy_ambiguous`)."""
    if not isinstance(train, MazeSpec) or train.exit_region is None:
        raise ValueError("train: expected the MazeSpec of a corner experiment (exit_region set)")
    mask = region_squares(train)
    mask.flags.writeable = False

    def squares(levels: Levels) -> np.ndarray:
        if levels.shape != mask.shape:
            raise ValueError(f"levels: boards of {levels.shape}; the region is of {mask.shape}")
        return np.broadcast_to(mask, (len(levels), *mask.shape))

    return Proxy("region first", squares)
