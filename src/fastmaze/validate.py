"""Argument checks shared by every public boundary of fastmaze.

Each check returns the value normalised (a Python int, float or bool) or raises a
`ValueError` worded one way across the package::

    <field>: expected <what would be right>, got <what was given>

so a message names the field, what it got and what it needs. ``what`` is the field's name
as the caller wrote it (``"n"``, ``"PPOConfig.lr"``, ``"proxy_reward['red']"``).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import Any

import numpy as np

__all__ = ["check_choice", "check_int", "check_number", "fail", "flag", "got"]


def got(value: Any) -> str:
    """How a message shows a given value: its repr, with the type for non-builtin types so
    ``'3'`` (a str) and ``3`` read differently."""
    text = repr(value)
    if len(text) > 80:
        text = text[:77] + "..."
    if isinstance(value, (bool, int, float, str, type(None))):
        return text
    return f"{type(value).__name__} {text}"


def fail(what: str, expected: str, value: Any) -> ValueError:
    """The package's error for a bad argument: ``what: expected ..., got ...``."""
    return ValueError(f"{what}: expected {expected}, got {got(value)}")


def check_int(what: str, value: Any, lo: int, hi: int) -> int:
    """An integer in lo..hi (Python or numpy integers; not bool, not a float)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise fail(what, f"an integer in {lo}..{hi}", value)
    if not lo <= int(value) <= hi:
        raise fail(what, f"an integer in {lo}..{hi}", int(value))
    return int(value)


def check_number(
    what: str,
    value: Any,
    lo: float = -math.inf,
    hi: float = math.inf,
    *,
    open_lo: bool = False,
    open_hi: bool = False,
) -> float:
    """A finite real number in [lo, hi] (``open_lo`` / ``open_hi`` exclude an end)."""
    left, right = "(" if open_lo else "[", ")" if open_hi else "]"
    if lo == -math.inf and hi == math.inf:
        expected = "a finite number"
    else:
        expected = f"a finite number in {left}{lo:g}, {hi:g}{right}"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise fail(what, expected, value)
    x = float(value)
    inside = (lo < x if open_lo else lo <= x) and (x < hi if open_hi else x <= hi)
    if not math.isfinite(x) or not inside:
        raise fail(what, expected, value)
    return x


def flag(what: str, value: Any) -> bool:
    """True or False (numpy bools too; not 0 or 1)."""
    if not isinstance(value, (bool, np.bool_)):
        raise fail(what, "True or False", value)
    return bool(value)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) != isinstance(b, bool):  # True == 1, but a flag is not a count
        return False
    equal = a == b
    return isinstance(equal, (bool, np.bool_)) and bool(equal)  # an array never matches


def check_choice(what: str, value: Any, choices: Iterable[Any]) -> Any:
    """One of ``choices`` (compared by ==; a bool never stands in for 0 or 1)."""
    choices = tuple(choices)
    if not any(_same(value, c) for c in choices):
        raise fail(what, f"one of {', '.join(map(repr, choices))}", value)
    return value
