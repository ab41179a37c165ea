"""fastmaze: batch-generated mazes with controllable feature–reward correlations."""

import os

# OpenMP's default is to spin between parallel regions, which on a busy or shared machine
# (or beside PyTorch's own threads) stalls every batch call; wait passively unless the user
# chose. Read when the compiled core loads its OpenMP runtime, i.e. on the import below.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from fastmaze import io, presets, render
from fastmaze.env import VecMazeEnv
from fastmaze.evaluate import (
    Evaluation,
    OraclePolicy,
    Proxy,
    ProxyPolicy,
    Rollout,
    evaluate,
    rollout,
)
from fastmaze.io import load, save
from fastmaze.layouts import OverlapError, assert_disjoint, shared_layouts
from fastmaze.levels import Levels, default_threads, generate
from fastmaze.make import MazeEnv, make_vec
from fastmaze.presets import conflict, corner, correlated, decorrelated, randomized
from fastmaze.rules import Feature, Rule, feature, rule, with_probability
from fastmaze.solve import NO_ACTION, Oracles, shortest_paths, solve
from fastmaze.spec import COLORS, DEFAULT_PALETTE, MazeSpec, Mixture, uniform
from fastmaze.stats import Stats, level_stats
from fastmaze.twins import move_exit, remove_cue, swap_colors
from fastmaze.walk import OUTCOMES, Walk, walk, walk_path

__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    """``fm.rng`` and ``fm.examples`` import Numba, so they load on first use."""
    if name in ("rng", "examples"):
        import importlib

        return importlib.import_module(f"fastmaze.{name}")
    raise AttributeError(f"module 'fastmaze' has no attribute {name!r}")


try:  # gymnasium is optional; with it, fastmaze/Maze-v0 is registered
    from fastmaze.make import register_envs

    register_envs()
except ImportError:
    pass

__all__ = [
    "COLORS",
    "DEFAULT_PALETTE",
    "NO_ACTION",
    "OUTCOMES",
    "Evaluation",
    "Feature",
    "Levels",
    "MazeEnv",
    "MazeSpec",
    "Mixture",
    "OraclePolicy",
    "Oracles",
    "OverlapError",
    "Proxy",
    "ProxyPolicy",
    "Rollout",
    "Rule",
    "Stats",
    "VecMazeEnv",
    "Walk",
    "__version__",
    "assert_disjoint",
    "conflict",
    "corner",
    "correlated",
    "decorrelated",
    "default_threads",
    "evaluate",
    "feature",
    "generate",
    "io",
    "level_stats",
    "load",
    "make_vec",
    "move_exit",
    "presets",
    "randomized",
    "remove_cue",
    "render",
    "rollout",
    "rule",
    "save",
    "shared_layouts",
    "shortest_paths",
    "solve",
    "swap_colors",
    "uniform",
    "walk",
    "walk_path",
    "with_probability",
]
