"""fastmaze side by side with the libraries researchers use today: one run, one machine.

    python benchmarks/peers.py [--setup] [--quick] [--out FILE] [--venvs DIR] [--only FAMILY ...]

Each peer family (maze-dataset, envpool, minigrid, jax) lives in its own virtual environment
under ``--venvs`` (default ``.peer-venvs/`` at the repository root), made by ``--setup`` from
``benchmarks/peers/requirements-<family>.txt``: the peers pin numpy versions that conflict.
A peer is measured by a small snippet, built from the ``peer_*`` functions below and the
shared `rate` helper, that runs in that venv's python and prints JSON. Right after each peer,
its fastmaze twin (same board, observation kind and batch where the peer allows it) is
measured in this interpreter with 1 thread and with all cores, so that the figures see the
same machine load. Absent or
failing peers are skipped with the reason. Every figure is the median over >= 5 repetitions
after warm-up (JAX: after compilation). ``benchmarks/PEERS.md`` says what each row measures
and what differs.
"""

from __future__ import annotations

import argparse
import inspect
import json
import math
import os
import platform
import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = Path(__file__).resolve().parent / "peers"
CORES = os.cpu_count() or 1


# --- timing (shared: runs here for fastmaze and is embedded in every peer snippet) -----------


def rate(
    call: Callable[[], Any], units: float, reps: int, min_time: float, min_calls: int = 1
) -> dict[str, Any]:
    """Median throughput of ``call`` (which does ``units`` of work) over ``reps`` repetitions.

    Two warm-up calls first (JIT compilation, thread pools, first touch of buffers); the
    second one sets how many calls a repetition makes so that it lasts >= ``min_time`` s,
    and at least ``min_calls`` (for stepping: one episode limit, so that every repetition
    pays for the auto-resets at their true rate: envs that start together also truncate
    together, in one burst of resets). Returns ``rate`` (units/s, the median), ``min``,
    ``max``, ``reps`` and ``calls_per_rep``.
    """
    import math
    import statistics
    import time

    call()
    t0 = time.perf_counter()
    call()
    calls = max(min_calls, math.ceil(min_time / max(time.perf_counter() - t0, 1e-9)))
    rates = []
    for _ in range(reps):
        t0 = time.perf_counter()
        for _ in range(calls):
            call()
        rates.append(units * calls / (time.perf_counter() - t0))
    return {
        "rate": statistics.median(rates),
        "min": min(rates),
        "max": max(rates),
        "reps": reps,
        "calls_per_rep": calls,
    }


# --- peer measurements (each runs inside its family's venv; imports stay inside) -------------


def peer_maze_dataset_dfs(grid: int, timing: dict[str, Any]) -> dict[str, Any]:
    """maze-dataset: one `LatticeMazeGenerators.gen_dfs` call per maze (mazes/s)."""
    from importlib.metadata import version

    import numpy as np
    from maze_dataset import LatticeMazeGenerators

    np.random.seed(0)  # noqa: NPY002 (gen_dfs draws from numpy's global RNG)
    shape = (grid, grid)
    out = rate(lambda: LatticeMazeGenerators.gen_dfs(shape), 1, **timing)
    return {**out, "version": f"maze-dataset {version('maze-dataset')}"}


def peer_maze_dataset_config(
    grid: int, n: int, processes: int, timing: dict[str, Any]
) -> dict[str, Any]:
    """maze-dataset: `MazeDataset.from_config` (DFS, gen_parallel) of ``n`` mazes (mazes/s)."""
    from importlib.metadata import version

    from maze_dataset import LatticeMazeGenerators, MazeDataset, MazeDatasetConfig

    cfg = MazeDatasetConfig(
        name="peers", grid_n=grid, n_mazes=n, maze_ctor=LatticeMazeGenerators.gen_dfs
    )

    def call() -> None:
        ds = MazeDataset.from_config(
            cfg,
            do_generate=True,
            load_local=False,
            save_local=False,
            do_download=False,
            gen_parallel=True,
            pool_kwargs={"processes": processes},
            verbose=False,
        )
        assert len(ds) == n, len(ds)

    out = rate(call, n, **timing)
    return {**out, "version": f"maze-dataset {version('maze-dataset')}"}


def peer_envpool(
    task: str,
    num_envs: int,
    num_threads: int,
    actions: list[int],
    config: dict[str, Any],
    timing: dict[str, Any],
) -> dict[str, Any]:
    """EnvPool (sync API: `reset()` once, then `step(actions)`), random ``actions`` (steps/s)."""
    import envpool
    import numpy as np

    env = envpool.make(
        task,
        env_type="gymnasium",
        num_envs=num_envs,
        num_threads=num_threads,
        seed=0,
        **config,
    )
    # Sync API only: EnvPool 1.2.5 crashed when reset() came before async_reset().
    env.reset()
    choices = np.asarray(actions, dtype=np.int32)
    table = choices[np.random.default_rng(0).integers(0, len(choices), (256, num_envs))]
    i = [0]

    def call() -> None:
        env.step(table[i[0] % 256])
        i[0] += 1

    out = rate(call, num_envs, **timing)
    env.close()
    return {**out, "version": f"envpool {envpool.__version__}"}


def peer_minigrid(size: int, num_envs: int, vector: str, timing: dict[str, Any]) -> dict[str, Any]:
    """MiniGrid Empty (``size``², ImgObsWrapper) in a gymnasium Sync/AsyncVectorEnv (steps/s)."""
    from importlib.metadata import version

    import gymnasium as gym
    import numpy as np
    from minigrid.wrappers import ImgObsWrapper

    def make() -> gym.Env:
        return ImgObsWrapper(gym.make("MiniGrid-Empty-16x16-v0", size=size))

    cls = gym.vector.AsyncVectorEnv if vector == "async" else gym.vector.SyncVectorEnv
    env = cls([make] * num_envs)
    env.reset(seed=0)
    n_actions = int(env.single_action_space.n)
    table = np.random.default_rng(0).integers(0, n_actions, (256, num_envs))
    i = [0]

    def call() -> None:
        env.step(table[i[0] % 256])
        i[0] += 1

    out = rate(call, num_envs, **timing)
    env.close()
    return {**out, "version": f"minigrid {version('minigrid')}, gymnasium {version('gymnasium')}"}


def jax_rollout(step: Callable, carry: Any, actions: Any) -> Callable[[], None]:
    """A call that advances ``carry`` by ``actions.shape[0]`` jitted, scanned batch steps."""
    import jax

    @jax.jit
    def run(carry: Any, actions: Any) -> Any:
        return jax.lax.scan(lambda c, a: (step(c, a), None), carry, actions)[0]

    state = [carry]

    def call() -> None:
        state[0] = jax.block_until_ready(run(state[0], actions))

    return call


def peer_navix(
    size: int, num_envs: int, max_steps: int, unroll: int, timing: dict[str, Any]
) -> dict[str, Any]:
    """Navix Room (Empty) ``size``², full symbolic obs, jit(vmap(step)) with auto-reset."""
    from importlib.metadata import version

    import jax
    import navix as nx

    env = nx.environments.Room.create(
        height=size,
        width=size,
        max_steps=max_steps,
        random_start=False,
        observation_fn=nx.observations.symbolic,
        reward_fn=nx.rewards.on_goal_reached,
        termination_fn=nx.terminations.on_goal_reached,
    )
    keys = jax.random.split(jax.random.PRNGKey(0), num_envs)
    timestep = jax.jit(jax.vmap(env.reset))(keys)
    actions = jax.random.randint(jax.random.PRNGKey(1), (unroll, num_envs), 0, len(env.action_set))
    call = jax_rollout(jax.vmap(env.step), timestep, actions)
    out = rate(call, unroll * num_envs, **timing)
    return {**out, "version": f"navix {version('navix')}, jax {jax.__version__}"}


def peer_xminigrid(
    size: int, num_envs: int, max_steps: int, unroll: int, timing: dict[str, Any]
) -> dict[str, Any]:
    """XLand-MiniGrid Empty ``size``², 7×7 view, jit(vmap(step)), GymAutoResetWrapper."""
    from importlib.metadata import version

    import jax
    import xminigrid
    from xminigrid.wrappers import GymAutoResetWrapper

    env, params = xminigrid.make(
        "MiniGrid-Empty-16x16", height=size, width=size, max_steps=max_steps
    )
    env = GymAutoResetWrapper(env)
    keys = jax.random.split(jax.random.PRNGKey(0), num_envs)
    timestep = jax.jit(jax.vmap(env.reset, in_axes=(None, 0)))(params, keys)
    actions = jax.random.randint(
        jax.random.PRNGKey(1), (unroll, num_envs), 0, env.num_actions(params)
    )
    vstep = jax.vmap(env.step, in_axes=(None, 0, 0))
    call = jax_rollout(lambda ts, a: vstep(params, ts, a), timestep, actions)
    out = rate(call, unroll * num_envs, **timing)
    return {**out, "version": f"xminigrid {version('xminigrid')}, jax {jax.__version__}"}


def peer_jumanji_step(
    rows: int, num_envs: int, unroll: int, timing: dict[str, Any]
) -> dict[str, Any]:
    """Jumanji Maze ``rows``², jit(VmapAutoResetWrapper.step) (steps/s)."""
    from importlib.metadata import version

    import jax
    from jumanji.environments import Maze
    from jumanji.environments.routing.maze.generator import RandomGenerator
    from jumanji.wrappers import VmapAutoResetWrapper

    env = VmapAutoResetWrapper(Maze(generator=RandomGenerator(num_rows=rows, num_cols=rows)))
    keys = jax.random.split(jax.random.PRNGKey(0), num_envs)
    carry = jax.jit(env.reset)(keys)
    actions = jax.random.randint(jax.random.PRNGKey(1), (unroll, num_envs), 0, 4)
    call = jax_rollout(lambda c, a: env.step(c[0], a), carry, actions)
    out = rate(call, unroll * num_envs, **timing)
    return {**out, "version": f"jumanji {version('jumanji')}, jax {jax.__version__}"}


def peer_jumanji_reset(rows: int, num_envs: int, timing: dict[str, Any]) -> dict[str, Any]:
    """Jumanji Maze ``rows``²: jit(vmap(reset)) of a batch, i.e. maze generation (mazes/s)."""
    from importlib.metadata import version

    import jax
    from jumanji.environments import Maze
    from jumanji.environments.routing.maze.generator import RandomGenerator

    env = Maze(generator=RandomGenerator(num_rows=rows, num_cols=rows))
    key = jax.random.PRNGKey(0)

    @jax.jit
    def reset(i: Any) -> Any:
        return jax.vmap(env.reset)(jax.random.split(jax.random.fold_in(key, i), num_envs))

    i = [0]

    def call() -> None:
        jax.block_until_ready(reset(i[0]))
        i[0] += 1

    out = rate(call, num_envs, **timing)
    return {**out, "version": f"jumanji {version('jumanji')}, jax {jax.__version__}"}


# --- fastmaze twins (this interpreter) --------------------------------------------------------


class Unavailable(Exception):
    """A measurement that this build or machine cannot make; the message says why."""


def fm_generate(size: int, n: int, threads: int, timing: dict[str, Any]) -> dict[str, Any]:
    """`fastmaze.generate` of ``n`` backtracker (DFS) mazes of ``size``² cells (mazes/s)."""
    import fastmaze

    spec = fastmaze.MazeSpec(size=(size, size), algorithm="backtracker")
    seeds = iter(range(10**9))
    out = rate(lambda: fastmaze.generate(spec, n, seed=next(seeds), threads=threads), n, **timing)
    return {**out, "version": f"fastmaze {fastmaze.__version__}"}


def fm_step(
    size: int,
    num_envs: int,
    threads: int,
    timing: dict[str, Any],
    obs: str = "symbolic",
    **env_kwargs: Any,
) -> dict[str, Any]:
    """`fastmaze.VecMazeEnv.step` with random actions drawn beforehand (steps/s)."""
    import numpy as np

    import fastmaze

    if not hasattr(fastmaze, "VecMazeEnv"):
        raise Unavailable("fastmaze.VecMazeEnv not available in this build")
    env = fastmaze.VecMazeEnv(
        fastmaze.MazeSpec(size=(size, size)),
        num_envs=num_envs,
        seed=0,
        obs=obs,
        num_threads=threads,
        **env_kwargs,
    )
    env.reset()
    steps = max(4, min(256, 2**22 // num_envs))
    table = np.random.default_rng(0).integers(0, 4, (steps, num_envs))
    i = [0]

    def call() -> None:
        env.step(table[i[0] % steps])
        i[0] += 1

    out = rate(call, num_envs, **timing)
    return {**out, "version": f"fastmaze {fastmaze.__version__}"}


# --- the registry of peers ----------------------------------------------------------------------


@dataclass(frozen=True)
class Family:
    """Peers that share one venv, made from ``benchmarks/peers/requirements-<name>.txt``."""

    name: str
    probe: str  # a module whose import tells that the family is installed


@dataclass(frozen=True)
class Case:
    """One peer measurement and its fastmaze twin (``twin(**twin_args, threads=T)``, measured
    with T = 1 and T = all cores)."""

    family: str
    workload: str
    unit: str  # "mazes/s" or "steps/s"
    batch: str
    peer_threads: str
    peer: Callable[..., dict[str, Any]]
    args: dict[str, Any]
    twin: Callable[..., dict[str, Any]]
    twin_args: dict[str, Any]
    notes: str
    episode: int = 0  # episode limit in steps (stepping cases): a repetition spans >= one
    quick: dict[str, Any] = field(default_factory=dict)  # argument overrides for --quick


FAMILIES = (
    Family("maze-dataset", "maze_dataset"),
    Family("envpool", "envpool"),
    Family("minigrid", "minigrid"),
    Family("jax", "jax"),
)

PROCGEN_MOVES = [1, 3, 5, 7]  # procgen's LEFT, DOWN, UP, RIGHT; its other 11 actions are no-ops


CASES: tuple[Case, ...] = (
    Case(
        family="maze-dataset",
        workload="DFS generation, 15×15 cells",
        unit="mazes/s",
        batch="1 / 10,000",
        peer_threads="1",
        peer=peer_maze_dataset_dfs,
        args={"grid": 15},
        twin=fm_generate,
        twin_args={"size": 15, "n": 10_000},
        notes="maze-dataset makes one maze per call (a LatticeMaze: connection list); "
        "fastmaze also places a start and an exit",
    ),
    Case(
        family="maze-dataset",
        workload="DFS generation, 32×32 cells",
        unit="mazes/s",
        batch="1 / 2,000",
        peer_threads="1",
        peer=peer_maze_dataset_dfs,
        args={"grid": 32},
        twin=fm_generate,
        twin_args={"size": 32, "n": 2_000},
        notes="as above",
    ),
    Case(
        family="maze-dataset",
        workload="dataset config API, DFS, 15×15 cells",
        unit="mazes/s",
        batch="1,000 / 10,000",
        peer_threads=f"{CORES} proc.",
        peer=peer_maze_dataset_config,
        args={"grid": 15, "n": 1_000, "processes": CORES},
        twin=fm_generate,
        twin_args={"size": 15, "n": 10_000},
        notes="MazeDataset.from_config(gen_parallel=True): a process pool per call, and each "
        "maze also gets a random solved path",
        quick={"n": 100},
    ),
    Case(
        family="envpool",
        workload="Procgen maze (MazeEasy-v0), random moves",
        unit="steps/s",
        batch="64",
        peer_threads=str(CORES),
        peer=peer_envpool,
        args={
            "task": "MazeEasy-v0",
            "num_envs": 64,
            "num_threads": CORES,
            "actions": PROCGEN_MOVES,
            "config": {},
        },
        twin=fm_step,
        twin_args={"size": 6, "num_envs": 64, "obs": "rgb", "pixels": 5, "max_steps": 500},
        notes="obs: procgen 64×64 RGB sprites vs fastmaze rgb 65×65 (13×13 board, 5 px); "
        "procgen boards vary from 3×3 to 15×15 squares; episodes ≤ 500 steps on both",
        episode=500,
    ),
    Case(
        family="envpool",
        workload="Jumanji Maze-v0 (EnvPool's C++ port), 10×10",
        unit="steps/s",
        batch="64",
        peer_threads=str(CORES),
        peer=peer_envpool,
        args={
            "task": "Jumanji/Maze-v0",
            "num_envs": 64,
            "num_threads": CORES,
            "actions": [0, 1, 2, 3],
            "config": {},
        },
        twin=fm_step,
        twin_args={"size": 5, "num_envs": 64, "max_steps": 100},
        notes="10×10 grid without outer wall vs fastmaze 11×11 board (5×5 cells); obs: walls "
        "+ positions (dict) vs symbolic planes; episodes ≤ 100 steps on both",
        episode=100,
    ),
    Case(
        family="envpool",
        workload="Jumanji Maze-v0 (EnvPool's C++ port), 10×10",
        unit="steps/s",
        batch="4,096",
        peer_threads=str(CORES),
        peer=peer_envpool,
        args={
            "task": "Jumanji/Maze-v0",
            "num_envs": 4096,
            "num_threads": CORES,
            "actions": [0, 1, 2, 3],
            "config": {},
        },
        twin=fm_step,
        twin_args={"size": 5, "num_envs": 4096, "max_steps": 100},
        notes="as above",
        episode=100,
    ),
    Case(
        family="envpool",
        workload="MiniGrid Empty 13×13 (EnvPool's C++ port)",
        unit="steps/s",
        batch="64",
        peer_threads=str(CORES),
        peer=peer_envpool,
        args={
            "task": "MiniGrid-Empty-16x16-v0",
            "num_envs": 64,
            "num_threads": CORES,
            "actions": list(range(7)),
            "config": {"size": 13, "max_episode_steps": 676},
        },
        twin=fm_step,
        twin_args={"size": 6, "num_envs": 64, "obs": "egocentric", "radius": 3},
        notes="7 MiniGrid actions (turn, forward, ...) vs 4 moves; obs: 7×7×3 view ahead of "
        "the agent vs fastmaze egocentric 7×7 symbolic window; empty room vs maze",
        episode=676,
    ),
    Case(
        family="minigrid",
        workload="MiniGrid Empty 13×13, SyncVectorEnv",
        unit="steps/s",
        batch="64",
        peer_threads="1",
        peer=peer_minigrid,
        args={"size": 13, "num_envs": 64, "vector": "sync"},
        twin=fm_step,
        twin_args={"size": 6, "num_envs": 64, "obs": "egocentric", "radius": 3},
        notes="ImgObsWrapper 7×7×3 view ahead of the agent vs egocentric 7×7 symbolic window; "
        "7 actions vs 4 moves; empty room vs maze",
        episode=676,
    ),
    Case(
        family="minigrid",
        workload="MiniGrid Empty 13×13, AsyncVectorEnv",
        unit="steps/s",
        batch="64",
        peer_threads="64 proc.",
        peer=peer_minigrid,
        args={"size": 13, "num_envs": 64, "vector": "async"},
        twin=fm_step,
        twin_args={"size": 6, "num_envs": 64, "obs": "egocentric", "radius": 3},
        notes=f"as above; one worker process per env on {CORES} cores",
        episode=676,
    ),
    Case(
        family="jax",
        workload="Navix Empty 13×13, jit(vmap(step)) in lax.scan",
        unit="steps/s",
        batch="4,096",
        peer_threads=f"XLA ({CORES} cores)",
        peer=peer_navix,
        args={"size": 13, "num_envs": 4096, "max_steps": 676, "unroll": 32},
        twin=fm_step,
        twin_args={"size": 6, "num_envs": 4096},
        notes="full-board symbolic obs 13×13×3 (MiniGrid codes) vs one-hot planes; 7 actions "
        "vs 4 moves; empty room vs maze; 32 steps per jitted call",
        quick={"unroll": 4},
        episode=676,
    ),
    Case(
        family="jax",
        workload="XLand-MiniGrid Empty 13×13, jit(vmap(step)) in lax.scan",
        unit="steps/s",
        batch="4,096",
        peer_threads=f"XLA ({CORES} cores)",
        peer=peer_xminigrid,
        args={"size": 13, "num_envs": 4096, "max_steps": 676, "unroll": 32},
        twin=fm_step,
        twin_args={"size": 6, "num_envs": 4096, "obs": "egocentric", "radius": 3},
        notes="7×7×2 view ahead of the agent vs egocentric 7×7 symbolic window; 6 actions vs "
        "4 moves; empty room vs maze; 32 steps per jitted call",
        quick={"unroll": 4},
        episode=676,
    ),
    Case(
        family="jax",
        workload="Jumanji Maze-v0 10×10, jit(step) in lax.scan",
        unit="steps/s",
        batch="4,096",
        peer_threads=f"XLA ({CORES} cores)",
        peer=peer_jumanji_step,
        args={"rows": 10, "num_envs": 4096, "unroll": 32},
        twin=fm_step,
        twin_args={"size": 5, "num_envs": 4096, "max_steps": 100},
        notes="VmapAutoResetWrapper; 10×10 grid without outer wall vs 11×11 board (5×5 "
        "cells); obs: walls + positions vs symbolic planes; episodes ≤ 100 steps on both",
        quick={"unroll": 4},
        episode=100,
    ),
    Case(
        family="jax",
        workload="Jumanji Maze-v0 reset (= generation), 10×10",
        unit="mazes/s",
        batch="4,096",
        peer_threads=f"XLA ({CORES} cores)",
        peer=peer_jumanji_reset,
        args={"rows": 10, "num_envs": 4096},
        twin=fm_generate,
        twin_args={"size": 5, "n": 4096},
        notes="recursive division vs DFS; 10×10 grid without outer wall vs 11×11 board (5×5 cells)",
    ),
    Case(
        family="jax",
        workload="Jumanji Maze-v0 reset (= generation), 13×13",
        unit="mazes/s",
        batch="4,096",
        peer_threads=f"XLA ({CORES} cores)",
        peer=peer_jumanji_reset,
        args={"rows": 13, "num_envs": 4096},
        twin=fm_generate,
        twin_args={"size": 6, "n": 4096},
        notes="recursive division vs DFS; 13×13 grid vs 13×13 board (6×6 cells)",
    ),
)

SCALE_ENVS = (64, 1_024, 4_096, 65_536)  # fastmaze alone: stepping throughput by batch size


# --- running ------------------------------------------------------------------------------------


THREADS = tuple(sorted({1, CORES}))  # fastmaze thread counts beside every peer


@dataclass
class Row:
    """One line of the table: a peer figure beside fastmaze's at each of `THREADS`."""

    peer: str
    workload: str
    unit: str
    batch: str
    peer_threads: str
    peer_rate: float | None
    fastmaze: dict[int, float | None]  # threads -> throughput (None: not measured)
    notes: str
    load: str = field(default_factory=lambda: loadavg())  # when measured (in the JSON only)


def venv_python(venvs: Path, family: str) -> Path:
    return venvs / family / "bin" / "python"


def snippet(fn: Callable[..., dict[str, Any]]) -> str:
    """Source of a peer measurement, runnable as ``python -c SNIPPET ARGS_JSON``."""
    parts = [inspect.getsource(f) for f in (rate, jax_rollout, fn)]
    head = "from __future__ import annotations\nimport json, sys\nfrom typing import Any\n"
    head += "from collections.abc import Callable\n"
    tail = f"print('RESULT ' + json.dumps({fn.__name__}(**json.loads(sys.argv[1]))))\n"
    return head + "\n\n".join(parts) + "\n" + tail


def run_peer(python: Path, fn: Callable, args: dict[str, Any], timeout: float) -> dict[str, Any]:
    """Runs ``fn(**args)`` in the venv of ``python`` (from inside that venv's folder, so that
    nothing a peer writes lands in the repository); its result, or ``{"error": reason}``."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "TF_CPP_MIN_LOG_LEVEL": "3"}
    env.pop("PYTHONPATH", None)  # the peer's venv sees neither fastmaze nor this venv
    try:
        proc = subprocess.run(
            [str(python), "-c", snippet(fn), json.dumps(args)],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            cwd=python.parent.parent,
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
    lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
    return {"error": lines[-1] if lines else f"exit status {proc.returncode}, no output"}


def measure_twin(
    fn: Callable, args: dict[str, Any], timing: dict[str, Any]
) -> tuple[dict[int, float | None], list[str]]:
    """fastmaze's throughput at each of `THREADS`, and notes (errors, caveats) without repeats."""
    rates: dict[int, float | None] = {}
    notes: list[str] = []
    for threads in THREADS:
        try:
            got = fn(**args, threads=threads, timing=timing)
        except Unavailable as e:
            got = {"error": str(e)}
        except Exception as e:  # a twin that fails must not stop the other rows
            got = {"error": f"fastmaze: {type(e).__name__}: {e}"}
        rates[threads] = got.get("rate")
        log(f"  fastmaze, {threads} thr: {got.get('rate', got.get('error'))}")
        notes += [n for n in (got.get("error"), got.get("note")) if n and n not in notes]
    return rates, notes


def family_missing(venvs: Path, family: Family) -> str | None:
    """Why a family cannot be measured (None if its venv is there and imports the probe)."""
    python = venv_python(venvs, family.name)
    failed = venvs / f"{family.name}.setup-failed"
    if failed.exists():
        return f"setup failed: {failed.read_text().strip()} (log: {family.name}.setup.log)"
    if not python.exists():
        return f"not set up (no {python}); run with --setup"
    probe = subprocess.run(
        [str(python), "-c", f"import {family.probe}"], capture_output=True, text=True
    )
    if probe.returncode != 0:
        lines = probe.stderr.strip().splitlines()
        return f"import {family.probe} fails: {lines[-1] if lines else probe.returncode}"
    return None


def setup(venvs: Path, families: list[Family]) -> None:
    """Creates one venv per family and installs its requirements file into it; a family
    whose install fails gets ``<family>.setup-failed`` with pip's error, shown when skipped."""
    venvs.mkdir(parents=True, exist_ok=True)
    for family in families:
        req = REQUIREMENTS / f"requirements-{family.name}.txt"
        log_path = venvs / f"{family.name}.setup.log"
        failed = venvs / f"{family.name}.setup-failed"
        log(f"[setup] {family.name}: venv and pip install -r {req} (log: {log_path})")
        commands = [
            [sys.executable, "-m", "venv", str(venvs / family.name)],
            [str(venv_python(venvs, family.name)), "-m", "pip", "install", "-r", str(req)],
        ]
        with open(log_path, "w") as out:
            ok = all(
                subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT).returncode == 0
                for cmd in commands
            )
        if ok:
            failed.unlink(missing_ok=True)
            continue
        errors = [ln for ln in log_path.read_text().splitlines() if ln.startswith("ERROR")]
        reason = errors[-1] if errors else f"see {log_path}"
        failed.write_text(reason + "\n")
        log(f"[setup] {family.name}: FAILED: {reason}")


def measure_case(case: Case, python: Path, quick: bool, timing: Callable) -> Row | str:
    """A peer's figure (in its venv) and its twin's beside it; or why the peer failed."""
    peer_args = {**case.args, **(case.quick if quick else {})}
    log(f"{case.family}: {case.workload}, batch {case.batch}")
    calls = math.ceil(case.episode / peer_args.get("unroll", 1))
    got = run_peer(
        python, case.peer, {**peer_args, "timing": timing(calls)}, 600 if quick else 1800
    )
    if "error" in got:
        return f"{case.family}, {case.workload}: {got['error']}"
    log(f"  {got['version']}: {got['rate']:,.0f} {case.unit}")
    fastmaze, notes = measure_twin(case.twin, case.twin_args, timing(case.episode))
    return Row(
        peer=got["version"],
        workload=case.workload,
        unit=case.unit,
        batch=case.batch,
        peer_threads=case.peer_threads,
        peer_rate=got["rate"],
        fastmaze=fastmaze,
        notes="; ".join([*notes, case.notes]),
    )


def measure_scale(timing: Callable) -> list[Row]:
    """fastmaze alone: `VecMazeEnv` stepping at each of `SCALE_ENVS`."""
    rows = []
    for num_envs in SCALE_ENVS:
        log(f"fastmaze alone: {num_envs} envs")
        args = {"size": 6, "num_envs": num_envs}
        fastmaze, notes = measure_twin(fm_step, args, timing(4 * 13 * 13))
        rows.append(
            Row(
                peer="",
                workload="VecMazeEnv step, 6×6 cells (13×13 board), symbolic",
                unit="steps/s",
                batch=f"{num_envs:,}",
                peer_threads="",
                peer_rate=None,
                fastmaze=fastmaze,
                notes="; ".join(notes),
            )
        )
    return rows


def measure_all(args: argparse.Namespace) -> tuple[list[Row], list[Row], list[str]]:
    """Peers beside their twins, fastmaze alone at SCALE_ENVS, and the skipped peers' notes."""
    reps, min_time = (5, 0.05) if args.quick else (7, 0.3)

    def timing(min_calls: int) -> dict[str, Any]:
        return {"reps": reps, "min_time": min_time, "min_calls": 1 if args.quick else min_calls}

    rows: list[Row] = []
    skipped: list[str] = []
    if sys.version_info >= (3, 11):
        skipped.append(
            "procgen (PyPI): no build for Python "
            f"{sys.version_info.major}.{sys.version_info.minor} (its wheels stop at 3.10); "
            "its maze is measured through EnvPool's port (MazeEasy-v0)"
        )
    for family in (f for f in FAMILIES if not args.only or f.name in args.only):
        why = family_missing(args.venvs, family)
        if why:
            skipped.append(f"{family.name}: {why}")
            continue
        python = venv_python(args.venvs, family.name)
        for case in (c for c in CASES if c.family == family.name):
            got = measure_case(case, python, args.quick, timing)
            (skipped if isinstance(got, str) else rows).append(got)
    return rows, measure_scale(timing), skipped


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def fm_version() -> str:
    """'0.1.0 (from /path/to/fastmaze)', or why fastmaze does not import."""
    try:
        import fastmaze
    except ImportError as e:
        return f"not importable ({e})"
    return f"{fastmaze.__version__} (from {Path(fastmaze.__file__).parent})"


def find_fastmaze() -> None:
    """Lets ``python benchmarks/peers.py`` find a fastmaze built in place at the repo root."""
    import importlib.util

    if importlib.util.find_spec("fastmaze") is None:
        sys.path.insert(0, str(ROOT))


# --- reporting ----------------------------------------------------------------------------------


def machine() -> str:
    """CPU model (/proc/cpuinfo, else platform) and logical core count."""
    name = ""
    if os.path.exists("/proc/cpuinfo"):
        with open("/proc/cpuinfo") as f:
            name = next(
                (ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), ""
            )
    return f"{name or platform.processor() or platform.machine()}, {CORES} logical cores"


def si(x: float | None) -> str:
    """12345678 -> '12.3 M'."""
    if x is None:
        return "—"
    for div, suffix in ((1e9, " G"), (1e6, " M"), (1e3, " k")):
        if x >= div:
            return f"{x / div:.3g}{suffix}"
    return f"{x:.3g}"


def ratio(fastmaze: float | None, peer: float | None) -> str:
    """fastmaze / peer as '1,137×', '13×', '8.5×' ('—' if either is missing)."""
    if not fastmaze or not peer:
        return "—"
    x = fastmaze / peer
    return f"{x:,.0f}×" if x >= 10 else f"{x:.2g}×"


def markdown(rows: list[Row], scale: list[Row], skipped: list[str], meta: dict[str, str]) -> str:
    """The report: header (machine, load, command), peers table, fastmaze alone, skipped."""
    fm_head = "".join(f" fastmaze, {t} thr. | × |" for t in THREADS)
    out = ["## fastmaze vs peers", ""]
    out += [f"- **{k}**: {v}" for k, v in meta.items()]
    out += [
        "",
        "Throughputs (unit: last column but one) are medians over the repetitions after "
        "warm-up (JAX: after compilation). *batch*: envs per step, or mazes per call as "
        "peer / fastmaze. × = fastmaze / peer.",
        "",
        f"| peer | workload | batch | peer threads | peer |{fm_head} unit | notes |",
        "|---|---|---|---|---:|" + "---:|---:|" * len(THREADS) + "---|---|",
    ]
    for r in rows:
        fm = "".join(
            f" {si(r.fastmaze.get(t))} | **{ratio(r.fastmaze.get(t), r.peer_rate)}** |"
            for t in THREADS
        )
        out.append(
            f"| {r.peer} | {r.workload} | {r.batch} | {r.peer_threads} | {si(r.peer_rate)} |"
            f"{fm} {r.unit} | {r.notes} |"
        )
    fm_head = "".join(f" fastmaze, {t} thr. |" for t in THREADS)
    out += [
        "",
        "### fastmaze alone: stepping by batch size",
        "",
        f"| workload | envs |{fm_head} unit | notes |",
        "|---|---:|" + "---:|" * len(THREADS) + "---|---|",
    ]
    for r in scale:
        fm = "".join(f" {si(r.fastmaze.get(t))} |" for t in THREADS)
        out.append(f"| {r.workload} | {r.batch} |{fm} {r.unit} | {r.notes} |")
    if skipped:
        out += ["", "### Skipped", ""] + [f"- {s}" for s in skipped]
    return "\n".join(out) + "\n"


def loadavg() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--setup", action="store_true", help="create the peer venvs first")
    parser.add_argument("--quick", action="store_true", help="short runs: a smoke check")
    parser.add_argument("--out", type=Path, help="write the Markdown table here (default stdout)")
    parser.add_argument("--json", type=Path, help="also write every figure as JSON here")
    parser.add_argument(
        "--venvs",
        type=Path,
        default=ROOT / ".peer-venvs",
        help="folder of the peer venvs (default: .peer-venvs/ at the repo root)",
    )
    parser.add_argument(
        "--only",
        nargs="+",
        choices=[f.name for f in FAMILIES],
        help="measure these peer families only",
    )
    args = parser.parse_args(argv)
    args.venvs = args.venvs.resolve()
    find_fastmaze()
    if args.setup:
        setup(args.venvs, [f for f in FAMILIES if not args.only or f.name in args.only])
    command = shlex.join(["python", "benchmarks/peers.py", *(argv or sys.argv[1:])])
    load_before = loadavg()
    started = time.time()
    rows, scale, skipped = measure_all(args)
    meta = {
        "machine": machine(),
        "python": f"{platform.python_version()}, fastmaze {fm_version()}",
        "load average (1, 5, 15 min)": f"{load_before} before, {loadavg()} after",
        "run": f"{time.strftime('%Y-%m-%d %H:%M', time.localtime(started))}, "
        f"{time.time() - started:.0f} s, {'--quick: short runs' if args.quick else 'full'}",
        "command": f"`{command}`",
    }
    text = markdown(rows, scale, skipped, meta)
    if args.out:
        args.out.write_text(text)
        log(f"wrote {args.out}")
    else:
        sys.stdout.write(text)
    if args.json:
        payload = {
            "meta": meta,
            "rows": [r.__dict__ for r in rows],
            "scale": [r.__dict__ for r in scale],
            "skipped": skipped,
        }
        args.json.write_text(json.dumps(payload, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
