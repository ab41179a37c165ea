"""User-defined features and rules, written in Python and compiled with Numba.

A **feature** is a function of one level returning one number (bool, int or float)::

    @fm.feature
    def exit_on_top(grid, color, start, exit, decoys, n_decoys):
        return exit[0] == 0

    levels.compute(exit_on_top)        # bool [n], one value per level

It receives views of one level: ``grid`` uint8 [H, W] (1 = wall), ``color`` uint8 [H, W]
(0 = none, k = palette[k - 1]), ``start`` and ``exit`` int32 [2] (board row, col),
``decoys`` int32 [D, 2] (-1 past ``n_decoys``), ``n_decoys`` int. A feature that takes a 7th
argument ``dist_to_exit`` gets int16 [H, W], steps from each square to the exit (-1: wall
or unreachable), from `fastmaze.solve`; it is computed only for such features.

A **rule** changes a freshly generated level in place (recolour squares, move the exit, the
start or a decoy, open or close walls) and returns nothing::

    @fm.rule(p=0.3)                    # applied to 30% of level ids, stratified
    def blue_exit(grid, color, start, exit, decoys, n_decoys, rng):
        color[exit[0], exit[1]] = 3    # code of "blue" in the default palette

Same arguments as a feature (``n_decoys`` is read-only: the decoy count cannot change),
plus ``rng``, the level's random stream (`fastmaze.rng`: ``below(rng, n)``,
``uniform(rng)``) keyed by (seed, level id, rule index). ``MazeSpec(rules=(...))`` runs them
in order after the core's placement, in parallel, inside `fastmaze.generate` and the
environments' resets; each level is then checked (`INVARIANTS`) and a violation raises
ValueError naming the rule and the level ids. Whether rule k applies to level i is a
stratified draw (a Kronecker sequence over ids, like the core's factors), so over any
contiguous run of >= 1,000 ids the applied fraction is p within one percentage point.

Kernels and their parallel batch drivers are compiled with the flags of `fastmaze.jit`
(on-disk cache, no fastmath). Under ``NUMBA_DISABLE_JIT=1`` everything runs as Python.
"""

from __future__ import annotations

import builtins
import hashlib
import importlib
import inspect
import math
import textwrap
import types
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from fastmaze import jit
from fastmaze.rng import numpy_port
from fastmaze.validate import check_number

if TYPE_CHECKING:
    from fastmaze.levels import Levels
    from fastmaze.spec import AnySpec

FEATURE_ARGS = ("grid", "color", "start", "exit", "decoys", "n_decoys")
RULE_ARGS = (*FEATURE_ARGS, "rng")
#: What every level satisfies after its rules ran (codes of `_check_levels`).
INVARIANTS = {
    1: "a grid value is not 0 (floor) or 1 (wall)",
    2: "a colour code is outside the palette",
    3: "the exit is not a non-corner square of the outer ring",
    4: "the outer ring has other openings than the exit and the spec's false exits",
    5: "the start is not a floor square inside the ring",
    6: "a decoy is not a floor square inside the ring, or sits on the start or another decoy",
    7: "the exit cannot be reached from the start",
    8: "the start reaches a false exit (an opening other than the exit)",
}
_RULE_FACTOR = 16  # Weyl salt of rule conditioning (csrc/rng.h factors are 0..4)


def _params(fn: Callable[..., Any], what: str) -> list[str]:
    if not callable(fn) or not hasattr(fn, "__code__"):
        raise ValueError(f"@fastmaze.{what} decorates a Python function, got {fn!r}")
    return list(inspect.signature(fn).parameters)


def _tag(fn: Callable[..., Any], extra: str = "") -> str:
    """A hash of a function's code, constants and closure values: the name of its compiled
    batch driver in Numba's cache, so an edited feature never hits a stale driver."""
    code = fn.__code__
    try:
        source = inspect.getsource(fn)
    except (OSError, TypeError):
        source = ""
    cells = tuple(repr(c.cell_contents) for c in fn.__closure__ or ())
    text = repr((fn.__module__, fn.__qualname__, code.co_code, code.co_consts, code.co_names))
    text += source + repr(cells) + extra
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# -- batch drivers: templates specialised per kernel (see _specialise) -------------------------
_kernel: Any = None  # bound per specialisation


def _feature_driver(grid, color, start, exit_, decoys, n_decoys, dist, out):
    for i in prange(grid.shape[0]):  # noqa: F821
        out[i] = _kernel(grid[i], color[i], start[i], exit_[i], decoys[i], n_decoys[i])


def _feature_driver_dist(grid, color, start, exit_, decoys, n_decoys, dist, out):
    for i in prange(grid.shape[0]):  # noqa: F821
        out[i] = _kernel(grid[i], color[i], start[i], exit_[i], decoys[i], n_decoys[i], dist[i])


def _rule_driver(idx, grid, color, start, exit_, decoys, n_decoys, states):
    for j in prange(idx.shape[0]):  # noqa: F821
        i = idx[j]
        _kernel(grid[i], color[i], start[i], exit_[i], decoys[i], n_decoys[i], states[j])


def _specialise(template: Callable[..., Any], kernel: Any, tag: str) -> Any:
    """A parallel driver calling ``kernel``: the template's code with ``_kernel`` bound as a
    global and a qualname carrying ``tag``, so Numba caches one driver per kernel."""
    g = {"__builtins__": builtins, "_kernel": kernel, "prange": jit.prange_func(), "np": np}
    fn = types.FunctionType(template.__code__, g, f"{template.__name__}_{tag}")
    fn.__qualname__ = fn.__name__
    fn.__module__ = __name__
    return jit.driver(fn)


# -- features ----------------------------------------------------------------------------------
class Feature:
    """A compiled per-level feature; call `compute` (or ``levels.compute(f)``)."""

    def __init__(self, fn: Callable[..., Any], name: str | None = None) -> None:
        params = _params(fn, "feature")
        if len(params) not in (6, 7):
            raise ValueError(
                f"feature {fn.__qualname__}{inspect.signature(fn)}: a feature takes "
                f"({', '.join(FEATURE_ARGS)}) and optionally dist_to_exit"
            )
        self.fn = fn
        self.name = name or fn.__name__
        self.needs_dist = len(params) == 7
        self.kernel = jit.kernel(fn)
        self._drivers: dict[str, Any] = {}
        self.__doc__ = fn.__doc__

    def __repr__(self) -> str:
        return f"<fastmaze feature {self.name}>"

    def __call__(self, *args: Any) -> Any:
        """Evaluates the feature on one level's views (plain Python, for debugging)."""
        return self.fn(*args)

    def compute(self, levels: Levels, threads: int | None = None) -> np.ndarray:
        """One value per level: bool, int64 or float64 [n] by the feature's return type."""
        from fastmaze.levels import Levels, default_threads

        if not isinstance(levels, Levels):
            raise ValueError(f"levels: expected a fastmaze Levels, got {type(levels).__name__}")
        arrays = [np.ascontiguousarray(levels.grid), np.ascontiguousarray(levels.color)]
        arrays += [np.ascontiguousarray(a, dtype=np.int32) for a in _positions(levels)]
        n = arrays[0].shape[0]
        if self.needs_dist:
            from fastmaze.solve import solve

            dist = solve(levels, threads).dist_to_exit
        else:
            dist = np.zeros((n, 0, 0), np.int16)
        if n == 0:
            return np.zeros(0, np.float64)
        first = self.kernel(*(a[0] for a in arrays), *((dist[0],) if self.needs_dist else ()))
        dtype = _value_dtype(self.name, first)
        out = np.empty(n, dtype)
        key = dtype.name
        if key not in self._drivers:
            template = _feature_driver_dist if self.needs_dist else _feature_driver
            self._drivers[key] = _specialise(template, self.kernel, _tag(self.fn, key))
        with jit.threads(threads or default_threads()):
            self._drivers[key](*arrays, dist, out)
        return out


def _value_dtype(name: str, value: Any) -> np.dtype:
    if isinstance(value, (bool, np.bool_)):
        return np.dtype(np.bool_)
    if isinstance(value, (int, np.integer)):
        return np.dtype(np.int64)
    if isinstance(value, (float, np.floating)):
        return np.dtype(np.float64)
    raise ValueError(
        f"feature {name} returned {type(value).__name__} {value!r}; a feature must return "
        "one number per level (bool, int or float)"
    )


def _positions(levels: Levels) -> tuple[np.ndarray, ...]:
    return levels.start, levels.exit, levels.decoys, levels.n_decoys


def feature(fn: Callable[..., Any] | None = None, *, name: str | None = None) -> Any:
    """Decorator: compiles a per-level feature (module docstring). ``name`` labels it in
    stats and evaluation tables (default: the function's name)."""
    if fn is None:
        return lambda f: Feature(f, name)
    return Feature(fn, name)


# -- rules -------------------------------------------------------------------------------------
class Rule:
    """A compiled rule applied with probability ``p`` per level id. Equal (and equally
    hashed) when the function and ``p`` are: specs carrying rules stay comparable."""

    __slots__ = ("_driver", "fn", "kernel", "p")

    def __init__(self, fn: Callable[..., Any], p: float = 1.0, _kernel: Any = None) -> None:
        params = _params(fn, "rule")
        if len(params) != 7:
            raise ValueError(
                f"rule {fn.__qualname__}{inspect.signature(fn)}: a rule takes "
                f"({', '.join(RULE_ARGS)})"
            )
        p = check_number(f"rule {fn.__qualname__}: p (a probability)", p, 0.0, 1.0)
        self.fn = fn
        self.p = float(p)
        self.kernel = _kernel if _kernel is not None else jit.kernel(fn)
        self._driver: Any = None

    @property
    def name(self) -> str:
        """``module:qualname``, the name recorded by `MazeSpec.to_dict`."""
        return f"{self.fn.__module__}:{self.fn.__qualname__}"

    def _key(self) -> tuple[str, float]:
        return (self.name, self.p)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Rule) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"<fastmaze rule {self.name} p={self.p:g}>"

    def __deepcopy__(self, memo: dict) -> Rule:
        return self

    def __call__(self, *args: Any) -> Any:
        """Runs the rule on one level's views (plain Python, for debugging)."""
        return self.fn(*args)

    @property
    def digest(self) -> str:
        """16 hex digits of SHA-256 over the function's source text (empty source when
        Python cannot find it): with `name`, how a loaded file's rules are matched."""
        try:
            source = textwrap.dedent(inspect.getsource(self.fn))
        except (OSError, TypeError):
            source = ""
        return hashlib.sha256(source.encode()).hexdigest()[:16]

    def to_json(self) -> dict[str, Any]:
        return {"rule": self.name, "p": self.p, "digest": self.digest}

    def driver(self) -> Any:
        if self._driver is None:
            self._driver = _specialise(_rule_driver, self.kernel, _tag(self.fn))
        return self._driver


def rule(fn: Callable[..., Any] | None = None, *, p: float = 1.0) -> Any:
    """Decorator: compiles a rule (module docstring); ``@rule(p=0.3)`` applies it to a
    fraction 0.3 of level ids, stratified."""
    if fn is None:
        return lambda f: Rule(f, p)
    return Rule(fn, p)


def with_probability(r: Rule, p: float) -> Rule:
    """The same rule applied with probability ``p`` per level id (stratified)."""
    if not isinstance(r, Rule):
        raise ValueError(f"with_probability: expected a rule made with @fastmaze.rule, got {r!r}")
    return Rule(r.fn, p, _kernel=r.kernel)


def check_rules(rules: Any) -> tuple[Rule, ...]:
    """``rules`` as a tuple of `Rule`, or ValueError."""
    if isinstance(rules, Rule) or callable(rules):
        rules = (rules,)
    try:
        rules = tuple(rules)
    except TypeError:
        raise ValueError(f"rules: expected a sequence of rules, got {rules!r}") from None
    for k, r in enumerate(rules):
        if not isinstance(r, Rule):
            hint = " (decorate it with @fastmaze.rule)" if callable(r) else ""
            raise ValueError(f"rules[{k}]: {r!r} is not a fastmaze rule{hint}")
    return rules


def rule_from_json(d: Any, rules: Sequence[Rule] | None = None) -> Rule:
    """The rule recorded by `Rule.to_json`.

    With ``rules`` (the caller's own rules) the record is matched against them by name and
    source digest and nothing is imported: the way a file's rules are restored
    (`fastmaze.load`). Without, the module named in the record is imported: only for a dict
    this program made itself (``spec.to_dict()`` round trips), never for one read from a
    file."""
    try:
        name, p = d["rule"], d["p"]
        module, qualname = name.split(":")
        digest = d.get("digest")
        if not isinstance(digest, (str, type(None))):
            raise TypeError
    except (TypeError, KeyError, ValueError, AttributeError):
        raise ValueError(
            f"rules: expected {{'rule': 'module:qualname', 'p': p, 'digest': hex}}, got {d!r}"
        ) from None
    if rules is not None:
        for r in rules:
            if r.name == name and (digest is None or r.digest == digest):
                return with_probability(r, p)
        same_name = [r for r in rules if r.name == name]
        why = (
            f"the rule {name} given has source digest {same_name[0].digest}, the record "
            f"{digest} (its source changed since the levels were made)"
            if same_name
            else f"no rule named {name} was given"
        )
        raise ValueError(f"rule {name} cannot be restored: {why}; pass the rule that made them")
    try:
        obj: Any = importlib.import_module(module)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as e:
        raise ValueError(
            f"rule {name} cannot be re-imported ({e}); import the module that defines it "
            "(at module level, decorated with @fastmaze.rule) before loading this spec"
        ) from None
    if not isinstance(obj, Rule):
        raise ValueError(f"rule {name}: {obj!r} is not a fastmaze rule")
    return with_probability(obj, p)


# -- conditioning: a Kronecker sequence over level ids, like fm_weyl in csrc/rng.h -----------
def _alphas(count: int) -> list[int]:
    """frac(sqrt(q)) · 2^64 for primes q the core does not use (7, 11, 13, then from 353)."""
    out, q = [], 7
    while len(out) < count:
        if all(q % d for d in range(2, math.isqrt(q) + 1)) and (q < 17 or q > 349):
            out.append(math.isqrt(q << 128) & ((1 << 64) - 1))
        q += 1
    return out


_ALPHAS = _alphas(64)


def applies(seed: int, ids: np.ndarray, index: int, p: float) -> np.ndarray:
    """bool [m]: whether rule ``index`` of a spec (probability ``p``) applies to ``ids``:
    ``offset(seed, index) + id · alpha_index < p · 2^64`` (mod 2^64)."""
    ids = np.asarray(ids, dtype=np.int64)
    if p >= 1.0:
        return np.ones(len(ids), bool)
    offset = numpy_port.weyl_offset(seed, _RULE_FACTOR, index)
    with np.errstate(over="ignore"):
        u = np.uint64(offset) + ids.astype(np.uint64) * np.uint64(_ALPHAS[index % 64])
    return u < np.uint64(min(round(p * 2.0**64), 2**64 - 1))


# -- applying rules and checking invariants ----------------------------------------------------
_checker: Any = None


def _check_level(grid, color, start, exit_, decoys, n_decoys, n_colors, openings, seen, queue):
    H, W = grid.shape
    for r in range(H):
        for c in range(W):
            if grid[r, c] > 1:
                return 1
            if color[r, c] > n_colors:
                return 2
    er, ec = exit_[0], exit_[1]
    on_row = (er == 0 or er == H - 1) and 0 < ec < W - 1
    on_col = (ec == 0 or ec == W - 1) and 0 < er < H - 1
    if not (on_row or on_col) or grid[er, ec] != 0:
        return 3
    ring_floor = 0
    for r in range(H):
        for c in range(W):
            ring = r == 0 or c == 0 or r == H - 1 or c == W - 1
            if ring and grid[r, c] == 0:
                ring_floor += 1
    if ring_floor != openings:  # the exit (floor, invariant 3) and the false exits
        return 4
    sr, sc = start[0], start[1]
    if not (0 < sr < H - 1 and 0 < sc < W - 1) or grid[sr, sc] != 0:
        return 5
    for k in range(n_decoys):
        dr, dc = decoys[k, 0], decoys[k, 1]
        if not (0 < dr < H - 1 and 0 < dc < W - 1) or grid[dr, dc] != 0:
            return 6
        if dr == sr and dc == sc:
            return 6
        for m in range(k):
            if decoys[m, 0] == dr and decoys[m, 1] == dc:
                return 6
    # BFS from the start over floor squares (seen, queue: scratch of >= H·W entries)
    seen[: H * W] = 0
    queue[0] = sr * W + sc
    seen[sr * W + sc] = 1
    head, tail = 0, 1
    while head < tail:
        q = queue[head]
        head += 1
        r, c = q // W, q % W
        if r == er and c == ec:
            if openings == 1:
                return 0
            continue  # the exit ends every way through it; the false exits are checked below
        for d in range(4):
            nr, nc = r, c
            if d == 0:
                nr = r - 1
            elif d == 1:
                nc = c + 1
            elif d == 2:
                nr = r + 1
            else:
                nc = c - 1
            if 0 <= nr < H and 0 <= nc < W and grid[nr, nc] == 0 and seen[nr * W + nc] == 0:
                seen[nr * W + nc] = 1
                queue[tail] = nr * W + nc
                tail += 1
    if seen[er * W + ec] == 0:
        return 7
    if openings > 1:
        for r in range(H):
            for c in range(W):
                ring = r == 0 or c == 0 or r == H - 1 or c == W - 1
                if ring and seen[r * W + c] != 0 and not (r == er and c == ec):
                    return 8
    return 0


def _check_driver(idx, grid, color, start, exit_, decoys, n_decoys, n_colors, openings, out):
    m, size, block = idx.shape[0], grid.shape[1] * grid.shape[2], 1024
    for b in prange((m + block - 1) // block):  # noqa: F821
        seen = np.empty(size, np.uint8)  # scratch allocated per block, not per level
        queue = np.empty(size, np.int32)
        for j in range(b * block, min(m, (b + 1) * block)):
            i = idx[j]
            out[j] = _kernel(
                grid[i], color[i], start[i], exit_[i], decoys[i], n_decoys[i], n_colors, openings,
                seen, queue,
            )  # fmt: skip


def _check(
    idx: np.ndarray, arrays: tuple[np.ndarray, ...], n_colors: int, openings: int = 1
) -> np.ndarray:
    """Invariant codes (0 = all hold) of levels idx; ``openings``: floor squares the outer ring
    must have (the exit and the spec's false exits)."""
    global _checker
    if _checker is None:
        _checker = _specialise(_check_driver, jit.kernel(_check_level), "invariants")
    out = np.zeros(len(idx), np.int8)
    _checker(idx, *arrays, np.int64(n_colors), np.int64(openings), out)
    return out


def apply_rules(
    spec: AnySpec,
    seed: int,
    ids: np.ndarray,
    grid: np.ndarray,
    color: np.ndarray,
    start: np.ndarray,
    exit_: np.ndarray,
    decoys: np.ndarray,
    n_decoys: np.ndarray,
    component: np.ndarray,
    threads: int,
) -> None:
    """Runs the spec's rules (per mixture component) in place on freshly generated levels
    ``ids`` (the arrays of `Levels`, C-contiguous, first axis aligned with ids), then checks
    `INVARIANTS` on every level a rule touched; ValueError names the rule and level ids.
    Both `fastmaze.generate` and `VecMazeEnv._load` (the native env's resets and the torch
    backend's pool producer) call it through `fastmaze.levels.generate_into`."""
    arrays = (grid, color, start, exit_, decoys, n_decoys)
    n_colors = len(spec.palette)
    with jit.threads(threads):
        for c, (s, _) in enumerate(spec.components):
            mine = component == c
            for k, r in enumerate(s.rules):
                idx = np.flatnonzero(mine & applies(seed, ids, k, r.p)).astype(np.int64)
                if not len(idx):
                    continue
                states = _rng_for(seed, ids[idx], k)
                r.driver()(idx, *arrays, states)
                codes = _check(idx, arrays, n_colors, 1 + s.false_exits)
                bad = np.flatnonzero(codes)
                if len(bad):
                    first = int(codes[bad[0]])
                    shown = ", ".join(str(int(i)) for i in ids[idx[bad[:10]]])
                    more = f" (and {len(bad) - 10} more)" if len(bad) > 10 else ""
                    raise ValueError(
                        f"rule {r.name} broke an invariant on level id(s) {shown}{more}: "
                        f"{INVARIANTS[first]} (first of them)"
                    )


def _rng_for(seed: int, ids: np.ndarray, index: int) -> np.ndarray:
    from fastmaze.rng import RULE_STREAM, for_levels

    return for_levels(seed, ids, RULE_STREAM + index)
