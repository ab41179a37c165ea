"""fastmaze: batch-generated mazes with controllable feature–reward correlations."""

from fastmaze import io, presets, render
from fastmaze.io import load, save
from fastmaze.levels import Levels, default_threads, generate
from fastmaze.presets import conflict, corner, correlated, decorrelated
from fastmaze.spec import COLORS, DEFAULT_PALETTE, MazeSpec, Mixture, uniform

__version__ = "0.1.0"

__all__ = [
    "COLORS",
    "DEFAULT_PALETTE",
    "Levels",
    "MazeSpec",
    "Mixture",
    "__version__",
    "conflict",
    "corner",
    "correlated",
    "decorrelated",
    "default_threads",
    "generate",
    "io",
    "load",
    "presets",
    "render",
    "save",
    "uniform",
]
