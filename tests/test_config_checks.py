"""Every field of every public config type refuses a wrong type or range with a ValueError
that names the field (never a TypeError from inside Python)."""

from __future__ import annotations

import dataclasses
import inspect
import math

import pytest

import fastmaze as fm

WEIRD = [
    None, 3, -1, 2.5, math.nan, math.inf, 10**30, True, "x", "", b"top", [], {}, [1, 2],
    [[1]], (1,), ("top", "top"), {"a": 1}, {None: 1.0}, {1: "a"}, {1.5: 1.0}, {(1,): 1.0},
    {"red": math.inf}, {"red": "1"}, object(),
]  # fmt: skip


def _named(err: ValueError, field: str) -> bool:
    text = str(err)
    # A few checks are about two fields together; they name both.
    joint = ("min_distance", "n_decoys/n_distractors", "no border square", "num_minibatches")
    return field in text or any(j in text for j in joint)


def _sweep(make, names) -> list[str]:
    problems = []
    for name in names:
        for value in WEIRD:
            try:
                make(name, value)
            except ValueError as err:
                if not _named(err, name):
                    problems.append(f"{name}={value!r}: message does not name it: {err}")
            except Exception as err:
                problems.append(f"{name}={value!r}: {type(err).__name__}: {err}")
    return problems


def test_issue_examples_raise_value_error() -> None:
    with pytest.raises(ValueError, match="exit_sides: expected"):
        fm.MazeSpec(exit_sides=3)
    with pytest.raises(ValueError, match="palette: expected"):
        fm.MazeSpec(palette=None)
    with pytest.raises(ValueError, match=r"components\[0\] weight: expected a finite number"):
        fm.Mixture([(fm.MazeSpec(), None)])


def test_every_mazespec_field() -> None:
    names = [f.name for f in dataclasses.fields(fm.MazeSpec)]
    assert _sweep(lambda k, v: fm.MazeSpec(**{k: v}), names) == []


def test_mixture_components() -> None:
    spec = fm.MazeSpec()
    shapes = {
        "Mixture.components": lambda v: v,
        "Mixture.components[0]": lambda v: [v],
        "Mixture.components[0] weight": lambda v: [(spec, v)],
        "Mixture.components[0] spec": lambda v: [(v, 1.0)],
    }
    assert _sweep(lambda k, v: fm.Mixture(shapes[k](v)), list(shapes)) == []


def test_every_env_argument() -> None:
    params = inspect.signature(fm.VecMazeEnv.__init__).parameters
    names = [n for n in params if n not in ("self", "device")]

    def make(name, value):
        fm.VecMazeEnv(**{"num_envs": 2, name: value}).close()

    assert _sweep(make, names) == []


def test_every_supervised_config_field() -> None:
    from fastmaze.train.supervised import SupervisedConfig

    names = [f.name for f in dataclasses.fields(SupervisedConfig)]
    ok_none = {"spec", "test_specs", "device", "checkpoint", "threads"}

    def make(name, value):
        if (value is None and name in ok_none) or (value == {} and name == "model_kwargs"):
            raise ValueError(name)  # accepted by design
        SupervisedConfig(**{name: value})

    assert _sweep(make, names) == []


def test_every_ppo_config_field() -> None:
    from fastmaze.train.ppo import PPOConfig

    names = [f.name for f in dataclasses.fields(PPOConfig)]
    ok = {"device", "proxy_reward", "max_steps", "checkpoint_path"}  # None is a valid value

    def make(name, value):
        if (value is None and name in ok) or (value == {} and name.endswith(("kwargs", "reward"))):
            raise ValueError(name)  # accepted by design
        if name == "device" and type(value) is int and value >= 0:
            raise ValueError(name)  # an int names a CUDA device in torch
        PPOConfig(**{name: value})

    assert _sweep(make, names) == []
