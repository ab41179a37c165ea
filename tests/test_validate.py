"""The shared argument checks: one wording, "<field>: expected X, got Y", everywhere."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fastmaze.validate import check_choice, check_int, check_number, flag


@pytest.mark.parametrize(
    ("value", "match"),
    [
        (1.0, r"^n: expected an integer in 0\.\.9, got 1\.0$"),
        (True, r"^n: expected an integer in 0\.\.9, got True$"),
        ("3", r"^n: expected an integer in 0\.\.9, got '3'$"),
        (None, r"^n: expected an integer in 0\.\.9, got None$"),
        (10, r"^n: expected an integer in 0\.\.9, got 10$"),
        (np.int8(-1), r"^n: expected an integer in 0\.\.9, got -1$"),
        ([1], r"^n: expected an integer in 0\.\.9, got list \[1\]$"),
    ],
)
def test_check_int_rejects(value, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        check_int("n", value, 0, 9)


def test_check_int_accepts_numpy_integers() -> None:
    assert check_int("n", np.uint64(7), 0, 9) == 7
    assert type(check_int("n", np.int32(7), 0, 9)) is int


@pytest.mark.parametrize("value", [math.nan, math.inf, -1.0, 2, "1", None, True, [0.5]])
def test_check_number_rejects(value) -> None:
    with pytest.raises(ValueError, match=r"^lr: expected a finite number in \(0, 1\], got "):
        check_number("lr", value, 0.0, 1.0, open_lo=True)


def test_check_number_accepts() -> None:
    assert check_number("x", 1) == 1.0 and type(check_number("x", np.float32(0.5))) is float
    assert check_number("x", 0.0, 0.0, 1.0) == 0.0


@pytest.mark.parametrize("value", [0, 1, "True", None, np.array([True])])
def test_flag_rejects(value) -> None:
    with pytest.raises(ValueError, match=r"^copy: expected True or False, got "):
        flag("copy", value)


def test_flag_and_choice_accept() -> None:
    assert flag("copy", np.bool_(True)) is True
    assert check_choice("obs", "rgb", ("symbolic", "rgb")) == "rgb"


@pytest.mark.parametrize("value", ["RGB", None, ["rgb"], np.array(["rgb"]), True])
def test_check_choice_rejects(value) -> None:
    with pytest.raises(ValueError, match=r"^obs: expected one of 'symbolic', 'rgb', got "):
        check_choice("obs", value, ("symbolic", "rgb"))


def test_a_bool_is_not_a_count() -> None:
    with pytest.raises(ValueError, match="expected one of 0, 1"):
        check_choice("k", True, (0, 1))
