"""Batches of levels (structure of arrays) and their generation by the compiled core."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

import numpy as np

from fastmaze import _core
from fastmaze.spec import AnySpec, MazeSpec, Mixture
from fastmaze.validate import check_int

if TYPE_CHECKING:
    from fastmaze.stats import Stats

MAX_ID = 2**63 - 1


def default_threads() -> int:
    """Threads for batch calls: ``OMP_NUM_THREADS`` if set, else every core this process may
    run on."""
    env = os.environ.get("OMP_NUM_THREADS", "").split(",")[0].strip()
    if env.isdigit() and int(env) > 0:
        return int(env)
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


@dataclass(frozen=True, eq=False)
class Levels:
    """A batch of n levels of one spec (or mixture) and seed, as arrays.

    Board squares are (row, col) on an H × W board, H = 2·rows+1, W = 2·cols+1.

    - ``grid``: uint8 [n, H, W], 1 = wall, 0 = floor (the exit square is floor; with
      ``MazeSpec.false_exits`` the outer ring has further floor openings, each sealed off
      from the start's region).
    - ``color``: uint8 [n, H, W], 0 = no colour, k = ``palette[k - 1]``.
    - ``start``, ``exit``: int32 [n, 2], board (row, col) of the agent's start and the exit.
    - ``decoys``: int32 [n, max_decoys, 2], board (row, col), -1 past ``n_decoys``.
    - ``n_decoys``: int32 [n]; ``component``: uint8 [n], the mixture component of each level.
    - ``ids``: int64 [n], the level ids; level i is a pure function of (spec, seed, id).
    - ``unrestored_rules``: the user rules a loaded file's spec records but that were not
      passed to `fastmaze.load` (their records: name, p, source digest, component); the
      levels were made with them, ``spec`` lacks them. Empty otherwise.
    """

    spec: AnySpec
    seed: int
    ids: np.ndarray
    grid: np.ndarray
    color: np.ndarray
    start: np.ndarray
    exit: np.ndarray
    decoys: np.ndarray
    n_decoys: np.ndarray
    component: np.ndarray
    unrestored_rules: tuple[dict, ...] = ()

    ARRAYS = ("ids", "grid", "color", "start", "exit", "decoys", "n_decoys", "component")

    @classmethod
    def empty(cls, spec: AnySpec, seed: int, ids: np.ndarray) -> Levels:
        """Uninitialised arrays for the given ids, to be filled by the core."""
        n = len(ids)
        H, W = spec.shape
        return cls(
            spec=spec,
            seed=seed,
            ids=np.ascontiguousarray(ids, dtype=np.int64),
            grid=np.empty((n, H, W), np.uint8),
            color=np.empty((n, H, W), np.uint8),
            start=np.empty((n, 2), np.int32),
            exit=np.empty((n, 2), np.int32),
            decoys=np.empty((n, spec.max_decoys, 2), np.int32),
            n_decoys=np.empty(n, np.int32),
            component=np.empty(n, np.uint8),
        )

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, index: int | slice | np.ndarray) -> Levels:
        """A sub-batch (by slice, index array or boolean mask); an int gives a batch of one."""
        if isinstance(index, (int, np.integer)):
            n = len(self)
            if not -n <= index < n:
                raise IndexError(f"level index {index} out of range for {n} levels")
            index = slice(int(index) % n, int(index) % n + 1)
        return self._with(**{name: getattr(self, name)[index] for name in self.ARRAYS})

    def _with(self, **changes: Any) -> Levels:
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update(changes)
        return Levels(**values)

    @property
    def palette(self) -> tuple[str, ...]:
        return self.spec.palette

    @property
    def shape(self) -> tuple[int, int]:
        """Board shape (H, W) in squares."""
        return self.grid.shape[1], self.grid.shape[2]

    def stats(self, **kwargs: Any) -> Stats:
        """Realised feature–reward statistics beside what the spec requested; see `Stats`."""
        from fastmaze.stats import level_stats

        return level_stats(self, **kwargs)

    def compute(self, feature: Any, threads: int | None = None) -> np.ndarray:
        """One value per level of a compiled feature (`fastmaze.feature`): bool, int64 or
        float64 [n] by its return type; see `fastmaze.rules`."""
        from fastmaze.rules import Feature

        if not isinstance(feature, Feature):
            raise ValueError(
                f"feature: expected a function decorated with @fastmaze.feature, got {feature!r}"
            )
        return feature.compute(self, threads)

    def symbolic(self, **kwargs: Any) -> np.ndarray:
        """uint8 [n, 2 + P, H, W] one-hot planes; see `fastmaze.render.symbolic`."""
        from fastmaze.render import symbolic

        return symbolic(self, **kwargs)

    def rgb(self, **kwargs: Any) -> np.ndarray:
        """uint8 [n, 3, H·pixels, W·pixels] images; see `fastmaze.render.rgb`."""
        from fastmaze.render import rgb

        return rgb(self, **kwargs)

    def ascii(self, index: int = 0, **kwargs: Any) -> str:
        """One level as text; see `fastmaze.render.ascii`."""
        from fastmaze.render import ascii

        return ascii(self, index, **kwargs)

    def save_png(self, path: str | os.PathLike, indices: Any = None, **kwargs: Any) -> Any:
        """A grid of levels as one PNG; see `fastmaze.render.save_png`."""
        from fastmaze.render import save_png

        return save_png(self, path, indices, **kwargs)

    def save(self, path: str | os.PathLike) -> None:
        """Writes the batch with its spec, seed and ids; see `fastmaze.io.save`."""
        from fastmaze.io import save

        save(self, path)

    @staticmethod
    def load(path: str | os.PathLike, **kwargs: Any) -> Levels:
        """Reads a saved batch (memory-mapped by default); see `fastmaze.io.load`."""
        from fastmaze.io import load

        return load(path, **kwargs)

    def layout_hash(self, threads: int | None = None) -> np.ndarray:
        """uint64 [n]: a hash of each level's walls and exit opening."""
        grid = np.ascontiguousarray(self.grid)
        threads = default_threads() if threads is None else check_int("threads", threads, 1, 4096)
        return _core.layout_hash(grid, threads)


@functools.lru_cache(maxsize=64)
def _components(spec: AnySpec) -> tuple[list[dict], tuple[list[int], list[int]]]:
    """The spec compiled for the core: its components' parameters and the mixture."""
    from fastmaze.spec import core_cdf

    comps = spec.components
    return [s._c_params() for s, _ in comps], core_cdf([(k, w) for k, (_, w) in enumerate(comps)])


def level_generator(spec: AnySpec, threads: int) -> _core.Generator | None:
    """The spec compiled once for drawing level after level in the core (an env's resets)
    with up to ``threads`` callers, or None when it has user rules (those run in Python,
    after the core: `generate_into`)."""
    if spec.has_rules:
        return None
    params, mixture = _components(spec)
    return _core.Generator(params, mixture, spec.max_decoys, threads)


def generate_into(spec: AnySpec, seed: int, first_id: int, out: Levels, threads: int) -> None:
    """Fills every row of ``out`` (a batch of buffers, e.g. ``levels[lo:hi]``) with level ids
    first_id .. first_id+len(out)-1 of (spec, seed): the compiled core, then the spec's user
    rules (`fastmaze.rules`, which read ``out.ids``). No validation: callers check first."""
    params, mixture = _components(spec)
    _core.generate_into(
        params,
        mixture,
        seed,
        first_id,
        out.grid,
        out.color,
        out.start,
        out.exit,
        out.decoys,
        out.n_decoys,
        out.component,
        threads,
    )
    if spec.has_rules:
        from fastmaze.rules import apply_rules

        apply_rules(spec, seed, *(getattr(out, a) for a in Levels.ARRAYS), threads)


def generate(
    spec: AnySpec,
    n: int,
    seed: int = 0,
    start: int = 0,
    *,
    threads: int | None = None,
    chunk: int | None = None,
    progress: bool = False,
) -> Levels:
    """Generates levels ``start .. start+n-1`` of ``(spec, seed)``.

    The bytes of level i depend only on (spec, seed, i): not on n, ``chunk`` (levels per
    core call, for progress reporting) or ``threads`` (default: `default_threads`).
    """
    if not isinstance(spec, (MazeSpec, Mixture)):
        raise ValueError(f"spec: expected a MazeSpec or Mixture, got {type(spec).__name__}")
    n = check_int("n", n, 0, MAX_ID)
    seed = check_int("seed", seed, 0, 2**64 - 1)
    start = check_int("start", start, 0, MAX_ID - n)
    threads = default_threads() if threads is None else check_int("threads", threads, 1, 4096)
    chunk = n if chunk is None else check_int("chunk", chunk, 1, MAX_ID)

    levels = Levels.empty(spec, seed, np.arange(start, start + n, dtype=np.int64))
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=n, unit="level", unit_scale=True, desc="generate")
    for lo in range(0, n, max(chunk, 1)):
        hi = min(lo + chunk, n)
        generate_into(spec, seed, start + lo, levels[lo:hi], threads)
        if progress:
            bar.update(hi - lo)
    if progress:
        bar.close()
    return levels
