"""The standard workloads: what `fastmaze bench` and the pytest-benchmark suites in
``benchmarks/`` measure, defined once.

A `Workload` has a name ``group/...`` (``generate/backtracker/6x6``), a unit, and a
``prepare(threads=T, **params)`` function that builds everything outside the timing (specs,
levels, environments, action tables) and returns a `Prepared`: the call to time and the units
of work it does. ``params`` are the full-size arguments; ``quick`` and ``tiny`` override them
for ``--quick`` and for the tests. `WORKLOADS` holds them by name; `register` adds one (a new
workload is one `register` call).
"""

from __future__ import annotations

import fnmatch
import importlib.util
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

SCALES = ("full", "quick", "tiny")


@dataclass(frozen=True)
class Prepared:
    """A workload ready to time: ``call()`` does ``units`` of work (levels, env-steps,
    samples). ``sync`` runs before the clock is read (device work); ``warmup`` untimed calls
    come first (more than one where a queue must drain before calls show the steady state);
    a repetition makes at least ``min_calls`` calls; ``close`` releases what ``prepare``
    made; ``info`` adds facts to the result (device, level source)."""

    call: Callable[[], Any]
    units: float
    sync: Callable[[], Any] | None = None
    warmup: int = 1
    min_calls: int = 1
    close: Callable[[], Any] | None = None
    info: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Workload:
    """One standard measurement; see the module docstring.

    ``threaded``: measured at each thread count of the run (else once, with threads None:
    device work). ``requires()``: None where it can run here, else the reason it cannot.
    ``full_only``: left out of ``--quick`` runs, saying why (setup alone takes seconds).
    """

    name: str
    unit: str
    prepare: Callable[..., Prepared]
    params: Mapping[str, Any]
    description: str
    quick: Mapping[str, Any] = field(default_factory=dict)
    tiny: Mapping[str, Any] = field(default_factory=dict)
    threaded: bool = True
    requires: Callable[[], str | None] = lambda: None
    full_only: str = ""

    @property
    def group(self) -> str:
        return self.name.split("/", 1)[0]

    def arguments(self, scale: str = "full") -> dict[str, Any]:
        """The keyword arguments of ``prepare`` (besides threads) at ``scale``."""
        if scale not in SCALES:
            raise ValueError(f"scale: {scale!r}; expected one of {', '.join(SCALES)}")
        over = {"full": {}, "quick": self.quick, "tiny": {**self.quick, **self.tiny}}[scale]
        return {**self.params, **over}

    def build(self, threads: int | None, scale: str = "full") -> Prepared:
        """`prepare` at ``scale`` with ``threads``."""
        return self.prepare(threads=threads, **self.arguments(scale))


WORKLOADS: dict[str, Workload] = {}


def register(workload: Workload) -> Workload:
    """Adds ``workload`` to `WORKLOADS` (a name can be registered once)."""
    if workload.name in WORKLOADS:
        raise ValueError(f"workload {workload.name!r} is registered already")
    WORKLOADS[workload.name] = workload
    return workload


def select(patterns: Iterable[str] = ()) -> list[Workload]:
    """The workloads matching any of ``patterns`` (all without any), in registry order.

    A pattern is a whole name (that workload only), a leading part of names cut at "/"
    (``step`` or ``step/rgb``), or a shell glob (``'generate/*/6x6'``). A pattern that
    matches nothing is a ValueError naming the groups.
    """
    patterns = list(patterns)
    if not patterns:
        return list(WORKLOADS.values())
    chosen: set[str] = set()
    for p in patterns:
        hits = (
            {p}
            if p in WORKLOADS
            else {
                n
                for n in WORKLOADS
                if n.startswith(p.rstrip("/") + "/") or fnmatch.fnmatchcase(n, p)
            }
        )
        if not hits:
            groups = ", ".join(dict.fromkeys(w.group for w in WORKLOADS.values()))
            raise ValueError(
                f"unknown workload {p!r}; expected a name, a group ({groups}) or a glob "
                "(fastmaze bench --list shows every name)"
            )
        chosen |= hits
    return [w for n, w in WORKLOADS.items() if n in chosen]


# -- requirements -----------------------------------------------------------------------------


def _module(name: str, extra: str) -> Callable[[], str | None]:
    def check() -> str | None:
        if importlib.util.find_spec(name) is None:
            return f"needs {name} (pip install 'fastmaze[{extra}]')"
        return None

    return check


def _cuda_torch() -> str | None:
    why = _module("torch", "torch")()
    if why:
        return why
    import torch

    return None if torch.cuda.is_available() else "no CUDA device (torch.cuda.is_available())"


def _cuda_numba() -> str | None:
    why = _module("numba", "cuda")() or _module("torch", "torch")()
    if why:
        return why
    import fastmaze.cuda

    avail = fastmaze.cuda.available()
    if not avail or avail.simulator:
        return f"no CUDA GPU for fastmaze.cuda ({avail.reason or 'simulator only'})"
    return None


# -- generation, oracles, rendering -------------------------------------------------------------


def bench_spec(size: int, algorithm: str = "backtracker") -> Any:
    """The benchmark's level: ``size``² cells, one decoy, green/red exit (90/10) and decoy
    (50/50) colours: every level fully placed."""
    from fastmaze import MazeSpec

    return MazeSpec(
        size=(size, size),
        algorithm=algorithm,
        exit_color={"green": 0.9, "red": 0.1},
        n_decoys=1,
        decoy_color={"green": 0.5, "red": 0.5},
    )


def prepare_generate(
    threads: int | None, size: int, algorithm: str, batch: int, spec: Any = None
) -> Prepared:
    """`fastmaze.generate` of ``batch`` levels into fresh arrays (the call users make), a new
    seed per call; ``spec`` defaults to `bench_spec` (levels/s)."""
    import fastmaze

    spec = bench_spec(size, algorithm) if spec is None else spec
    seeds = iter(range(1, 2**62))
    return Prepared(
        lambda: fastmaze.generate(spec, batch, seed=next(seeds), threads=threads), batch
    )


def _levels(size: int, batch: int, threads: int | None, **changes: Any) -> Any:
    import fastmaze

    return fastmaze.generate(bench_spec(size).replace(**changes), batch, seed=0, threads=threads)


def prepare_solve(threads: int | None, size: int, batch: int, loops: float = 0.0) -> Prepared:
    """`fastmaze.solve` (BFS oracles: distance and optimal-action maps, path lengths, decoy
    distances, ambiguity) of ``batch`` levels, into the arrays of an earlier result."""
    import fastmaze

    levels = _levels(size, batch, threads, loops=loops)
    out = fastmaze.solve(levels, threads)
    return Prepared(lambda: fastmaze.solve(levels, threads, out=out), batch)


def prepare_render(
    threads: int | None, size: int, batch: int, kind: str, pixels: int = 4
) -> Prepared:
    """`fastmaze.render.symbolic` / `.rgb` of ``batch`` levels into one preallocated array."""
    from fastmaze import render

    levels = _levels(size, batch, threads)
    if kind == "symbolic":
        out = render.symbolic(levels, threads=threads)
        return Prepared(lambda: render.symbolic(levels, out=out, threads=threads), batch)
    out = render.rgb(levels, pixels=pixels, threads=threads)
    return Prepared(lambda: render.rgb(levels, pixels=pixels, out=out, threads=threads), batch)


# -- stepping -------------------------------------------------------------------------------------


def _actions(steps: int, num_envs: int) -> np.ndarray:
    """int64 [steps, num_envs] random moves, drawn before the timing."""
    return np.random.default_rng(0).integers(0, 4, (steps, num_envs), dtype=np.int64)


def _cycle(step: Callable[[Any], Any], table: Any) -> Callable[[], Any]:
    """A call that steps with the next row of ``table`` (cycled)."""
    rows = len(table)
    i = [0]

    def call() -> Any:
        out = step(table[i[0] % rows])
        i[0] += 1
        return out

    return call


def prepare_step(
    threads: int | None,
    num_envs: int,
    obs: str,
    copy: bool,
    size: int = 6,
    spec: Any = None,
    episode_floor: bool = True,
    **env_kwargs: Any,
) -> Prepared:
    """`VecMazeEnv.step` (native backend, auto-reset next-step, levels generated inline)
    with random actions drawn beforehand; ``spec`` defaults to ``fastmaze.correlated(0.95)``
    at ``size``² cells. One call is one step of every env (env-steps/s). With
    ``episode_floor`` a repetition spans at least one episode limit (``max_steps``), so it
    pays for the auto-resets at their true rate (envs that start together truncate
    together)."""
    import fastmaze

    if spec is None:
        spec = fastmaze.correlated(0.95, size=size)
    env = fastmaze.VecMazeEnv(
        spec, num_envs, seed=0, obs=obs, num_threads=threads, copy=copy, **env_kwargs
    )
    env.reset()
    steps = max(4, min(256, 2**22 // num_envs))
    return Prepared(
        _cycle(env.step, _actions(steps, num_envs)),
        num_envs,
        min_calls=env.max_steps if episode_floor else 1,
        close=env.close,
    )


def prepare_torch_step(
    threads: int | None,
    device: str,
    num_envs: int,
    obs: str = "symbolic",
    size: int = 6,
    episode_floor: bool = True,
) -> Prepared:
    """The torch backend's step (``fastmaze.make_vec(..., backend="torch")``) on ``device``, random
    actions already on the device; CUDA work is synchronised before the clock is read;
    ``episode_floor`` as in `prepare_step`. On the CPU, ``threads`` is torch's intra-op
    thread count and the host generation threads (restored on close)."""
    import torch

    import fastmaze

    before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    spec = fastmaze.correlated(0.95, size=size)
    env = fastmaze.make_vec(
        spec,
        num_envs,
        seed=0,
        obs=obs,
        backend="torch",
        device=device,
        num_threads=threads,
        copy=False,
    )
    env.reset()
    table = torch.as_tensor(_actions(64, num_envs), device=env.device)
    cuda = env.device.type == "cuda"

    def close() -> None:
        env.close()
        torch.set_num_threads(before)

    return Prepared(
        _cycle(env.step, table),
        num_envs,
        sync=(lambda: torch.cuda.synchronize(env.device)) if cuda else None,
        min_calls=env.max_steps if episode_floor else 1,
        close=close,
        info={
            "device": torch.cuda.get_device_name(env.device) if cuda else "cpu",
            "level_source": getattr(env, "level_source", "host"),
        },
    )


# -- supervised stream, features and rules -------------------------------------------------


def prepare_stream(
    threads: int | None, batch: int, task: str, size: int = 6, cue: str = "channel"
) -> Prepared:
    """`fastmaze.train.stream.LevelStream`: the batches a supervised training loop takes
    (levels generated, rendered and labelled by the background producer; ``task="action"``
    and ``"path"`` also solve each level for the oracle's actions), samples/s; the
    producer's rate, the consumer taking batches as soon as they are ready. The stream is
    ``fastmaze.correlated(0.95)``, for the path task the trajectory experiment's
    ``fastmaze.randomized(0.1)``, at ``size``² cells."""
    import fastmaze
    from fastmaze.train.stream import LevelStream

    if task == "path":
        spec: Any = fastmaze.randomized(0.1, size=size)
    else:
        spec = fastmaze.correlated(0.95, size=size)
    prefetch = 2
    stream = LevelStream(
        spec, batch, seed=0, task=task, cue=cue, prefetch=prefetch, pin=False, threads=threads
    )
    # The warm-up drains the batches made ahead, so that the call that sizes a repetition,
    # and every timed call, waits for the producer: its steady state.
    return Prepared(stream.next, batch, warmup=prefetch + 3, close=stream.close)


def prepare_feature(threads: int | None, feature: str, size: int, batch: int) -> Prepared:
    """``levels.compute(fastmaze.examples.<feature>)``: a user feature compiled by Numba
    (compile time in the warm-up), levels/s."""
    from fastmaze import examples

    levels = _levels(size, batch, threads)
    f = getattr(examples, feature)
    return Prepared(lambda: levels.compute(f, threads=threads), batch)


def prepare_rule(threads: int | None, rule: str, size: int, batch: int) -> Prepared:
    """`fastmaze.generate` of a spec with the rule ``fastmaze.examples.<rule>`` (the rule
    and its invariant check), levels/s."""
    from fastmaze import examples

    spec = bench_spec(size).replace(rules=(getattr(examples, rule),))
    return prepare_generate(threads, size, "backtracker", batch, spec=spec)


def prepare_walk(threads: int | None, size: int, batch: int, policy: str) -> Prepared:
    """`fastmaze.walk`: the greedy trajectory of every level on a policy map, classified
    (exit, proxy, other, neither), on conflict levels (off-path decoys). Policies: the
    oracle's action map (``"oracle"``: every walk reaches the exit), a random uint8 action
    map (``"random"``: most walks stall or loop within a few steps) or float32 scores
    [n, 4, H, W] (``"scores"``: a model's output, argmax per visited square); shortest path
    lengths given, as an evaluation has them. Levels/s (level-trajectories per second)."""
    import fastmaze

    levels = fastmaze.generate(fastmaze.conflict(size=size), batch, seed=0, threads=threads)
    oracles = fastmaze.solve(levels, threads)
    rng = np.random.default_rng(0)
    n, H, W = levels.grid.shape
    if policy == "oracle":
        pol: Any = oracles.optimal_action
    elif policy == "random":
        pol = rng.integers(0, 4, size=(n, H, W), dtype=np.uint8)
    else:
        pol = rng.normal(size=(n, 4, H, W)).astype(np.float32)
    lengths = oracles.path_length
    return Prepared(lambda: fastmaze.walk(levels, pol, threads=threads, path_length=lengths), batch)


def _card() -> str:
    """The current CUDA device's name (Numba), or what stands in for it."""
    from numba import cuda

    try:
        name = cuda.get_current_device().name
    except AttributeError:  # Numba's CUDA simulator has no devices
        return "Numba CUDA simulator"
    return name.decode() if isinstance(name, bytes) else name


def prepare_cuda_generate(threads: int | None, size: int, algorithm: str, batch: int) -> Prepared:
    """`fastmaze.cuda.generate` of ``batch`` levels on the GPU (kernel, output allocation,
    placement check; the levels stay on the device), levels/s."""
    from numba import cuda

    import fastmaze.cuda

    spec = bench_spec(size, algorithm)
    seeds = iter(range(1, 2**62))
    return Prepared(
        lambda: fastmaze.cuda.generate(spec, batch, seed=next(seeds)),
        batch,
        sync=cuda.synchronize,
        info={"device": _card()},
    )


def prepare_cuda_oracles(threads: int | None, size: int, loops: float, batch: int) -> Prepared:
    """`fastmaze.cuda.oracles` (path length and ambiguity, two BFS per level) of levels
    already on the device, three decoys; levels/s."""
    from numba import cuda

    import fastmaze.cuda

    spec = bench_spec(size).replace(loops=loops, n_decoys=3)
    levels = fastmaze.cuda.generate(spec, batch, seed=1)
    return Prepared(
        lambda: fastmaze.cuda.oracles(levels),
        batch,
        sync=cuda.synchronize,
        info={"device": _card()},
    )


# -- the registry --------------------------------------------------------------------------------

ALGORITHMS = ("backtracker", "kruskal", "prim", "wilson", "open")
GENERATE_SIZES = (6, 12, 24)
# Levels per call, full runs: a call takes roughly 0.1-0.3 s on a current x86 core. "open"
# skips carving and is memory-bound; its batch is capped by memory (~2 x 170 MB a call).
GENERATE_BATCH = {
    6: {"backtracker": 262_144, "kruskal": 262_144, "prim": 262_144, "wilson": 131_072},
    12: {"backtracker": 65_536, "kruskal": 32_768, "prim": 32_768, "wilson": 32_768},
    24: {"backtracker": 16_384, "kruskal": 8_192, "prim": 16_384, "wilson": 8_192},
}
OPEN_BATCH = {6: 524_288, 12: 131_072, 24: 32_768}
STEP_ENVS = (32, 1_024, 65_536)
STEP_OBS = ("symbolic", "rgb", "egocentric")
VIEW = {"rgb": {"pixels": 4}, "egocentric": {"radius": 2}}
FEATURES = ("exit_next_to_dead_end", "exit_corridor_length", "decoy_near_start", "steps_to_exit")
QUICK = 16  # --quick divides batches by this
BIG_ENVS = "full runs only: building 65,536 envs takes seconds (the batched observation space)"
TINY = {"batch": 16}


def _standard() -> None:
    for size in GENERATE_SIZES:
        for alg in ALGORITHMS:
            batch = OPEN_BATCH[size] if alg == "open" else GENERATE_BATCH[size][alg]
            register(
                Workload(
                    f"generate/{alg}/{size}x{size}",
                    "levels/s",
                    prepare_generate,
                    {"size": size, "algorithm": alg, "batch": batch},
                    f"complete {size}x{size}-cell {alg} levels from fastmaze.generate",
                    quick={"batch": batch // QUICK},
                    tiny=TINY,
                )
            )
    for size, batch in ((6, 65_536), (12, 16_384)):
        for loops in (0.0, 0.3):
            tag = f"{size}x{size}" + (f"/loops{loops}" if loops else "")
            register(
                Workload(
                    f"solve/{tag}",
                    "levels/s",
                    prepare_solve,
                    {"size": size, "batch": batch, "loops": loops},
                    f"BFS oracles (fastmaze.solve) of {size}x{size}-cell levels, loops {loops}",
                    quick={"batch": batch // QUICK},
                    tiny=TINY,
                )
            )
    for kind, batch in (("symbolic", 65_536), ("rgb", 16_384)):
        register(
            Workload(
                f"render/{kind}/6x6",
                "levels/s",
                prepare_render,
                {"size": 6, "batch": batch, "kind": kind, "pixels": 4},
                f"fastmaze.render.{kind} of 6x6-cell levels into a preallocated array"
                + (", 4 pixels per square" if kind == "rgb" else ""),
                quick={"batch": batch // QUICK},
                tiny=TINY,
            )
        )
    for obs in STEP_OBS:
        for num_envs in STEP_ENVS:
            if obs == "rgb" and num_envs > 1_024:
                continue  # 65,536 rgb observations are 2.8 GB
            for copy in (False, True):
                register(
                    Workload(
                        f"step/{obs}/{num_envs}envs/copy={copy}",
                        "env-steps/s",
                        prepare_step,
                        {
                            "num_envs": num_envs,
                            "obs": obs,
                            "copy": copy,
                            "size": 6,
                            **VIEW.get(obs, {}),
                        },
                        f"VecMazeEnv.step, {obs} observations, {num_envs} envs, copy={copy}, "
                        "6x6 cells, auto-reset",
                        quick={"episode_floor": False},
                        tiny={"num_envs": min(num_envs, 8)},
                        full_only=BIG_ENVS if num_envs > 4_096 else "",
                    )
                )
    for device, sizes in (("cpu", (1_024, 16_384)), ("cuda", (4_096, 65_536))):
        for num_envs in sizes:
            register(
                Workload(
                    f"torch/{device}/symbolic/{num_envs}envs",
                    "env-steps/s",
                    prepare_torch_step,
                    {"device": device, "num_envs": num_envs, "obs": "symbolic"},
                    f"torch backend step on {device}, symbolic, {num_envs} envs, 6x6 cells",
                    quick={"episode_floor": False},
                    tiny={"num_envs": 8},
                    threaded=device == "cpu",
                    requires=_module("torch", "torch") if device == "cpu" else _cuda_torch,
                )
            )
    for policy, batch, what in (
        ("oracle", 262_144, "the oracle action map"),
        ("random", 262_144, "a random action map"),
        ("scores", 65_536, "float32 scores"),
    ):
        register(
            Workload(
                f"walk/{policy}/6x6",
                "levels/s",
                prepare_walk,
                {"size": 6, "batch": batch, "policy": policy},
                f"fastmaze.walk (trajectories) on {what}, 6x6-cell conflict levels",
                quick={"batch": batch // QUICK},
                tiny=TINY,
            )
        )
    for task, size in (("exit", 6), ("action", 6), ("path", 3), ("path", 6)):
        register(
            Workload(
                f"stream/{task}/{size}x{size}",
                "samples/s",
                prepare_stream,
                {"batch": 256, "task": task, "size": size},
                f"LevelStream batches for supervised training, target {task}, {size}x{size} cells",
                quick={"batch": 64},
                tiny=TINY,
                requires=_module("torch", "torch"),
            )
        )
    for feature in FEATURES:
        register(
            Workload(
                f"feature/{feature}",
                "levels/s",
                prepare_feature,
                {"feature": feature, "size": 6, "batch": 1_000_000},
                f"levels.compute(fastmaze.examples.{feature}), Numba, 6x6 cells",
                quick={"batch": 65_536},
                tiny=TINY,
                requires=_module("numba", "numba"),
            )
        )
    register(
        Workload(
            "rule/move_exit_next_to_dead_end",
            "levels/s",
            prepare_rule,
            {"rule": "move_exit_next_to_dead_end", "size": 6, "batch": 262_144},
            "fastmaze.generate with the rule fastmaze.examples.move_exit_next_to_dead_end",
            quick={"batch": 16_384},
            tiny=TINY,
            requires=_module("numba", "numba"),
        )
    )
    for size in (6, 12):
        for alg in ("backtracker", "wilson"):
            register(
                Workload(
                    f"cuda/generate/{alg}/{size}x{size}",
                    "levels/s",
                    prepare_cuda_generate,
                    {"size": size, "algorithm": alg, "batch": 1_048_576},
                    f"fastmaze.cuda.generate on the GPU, {size}x{size} cells, {alg}",
                    quick={"batch": 65_536},
                    tiny=TINY,
                    threaded=False,
                    requires=_cuda_numba,
                )
            )
        for loops in (0.0, 0.3):
            register(
                Workload(
                    f"cuda/oracles/{size}x{size}/loops{loops}",
                    "levels/s",
                    prepare_cuda_oracles,
                    {"size": size, "loops": loops, "batch": 1_048_576},
                    f"fastmaze.cuda.oracles on the GPU, {size}x{size} cells, loops {loops}",
                    quick={"batch": 65_536},
                    tiny=TINY,
                    threaded=False,
                    requires=_cuda_numba,
                )
            )


_standard()
