"""Peer libraries beside fastmaze: the matched workloads of `fastmaze bench --peers` (and of
``benchmarks/peers.py``), one run, one machine.

A `Family` is a set of peers that share one install (maze-dataset, envpool, minigrid, jax).
Each is measured where it is importable in this interpreter, else in its own virtual
environment under a venvs folder (default ``.peer-venvs/``), made by `setup` from
``requirements/requirements-<family>.txt`` beside this module (the peers pin numpy versions
that conflict). A venv peer runs as ``python -c SNIPPET ARGS_JSON``, the snippet being the
source of one ``peer_*`` function below and of `fastmaze.bench.timing.measure`, so every
figure on both sides is timed by the same code. A `Case` pairs a peer measurement with its
fastmaze twin, a `fastmaze.bench.workloads.Workload` measured right after it at each thread
count of the run, so that both figures see the same machine load. ``benchmarks/PEERS.md``
says what each case measures and what differs.
"""

from __future__ import annotations

import importlib.util
import inspect
import json
import os
import shlex
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastmaze.bench.timing import calls_per_rep, measure, summarize
from fastmaze.bench.workloads import Prepared, Workload, prepare_generate, prepare_step

REQUIREMENTS = Path(__file__).resolve().parent / "requirements"
CORES = os.cpu_count() or 1


# --- peer measurements (each runs inside its family's venv; imports stay inside) -------------


def peer_maze_dataset_dfs(grid: int, timing: dict[str, Any]) -> dict[str, Any]:
    """maze-dataset: one `LatticeMazeGenerators.gen_dfs` call per maze (mazes/s)."""
    from importlib.metadata import version

    import numpy as np
    from maze_dataset import LatticeMazeGenerators

    np.random.seed(0)  # noqa: NPY002 (gen_dfs draws from numpy's global RNG)
    shape = (grid, grid)
    out = measure(lambda: LatticeMazeGenerators.gen_dfs(shape), 1, **timing)
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

    out = measure(call, n, **timing)
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

    out = measure(call, num_envs, **timing)
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

    out = measure(call, num_envs, **timing)
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
    out = measure(call, unroll * num_envs, **timing)
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
    out = measure(call, unroll * num_envs, **timing)
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
    out = measure(call, unroll * num_envs, **timing)
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

    out = measure(call, num_envs, **timing)
    return {**out, "version": f"jumanji {version('jumanji')}, jax {jax.__version__}"}


# --- fastmaze twins (this interpreter) --------------------------------------------------------


def fm_generate(threads: int | None, size: int, n: int) -> Prepared:
    """`fastmaze.generate` of ``n`` backtracker (DFS) mazes of ``size``² cells, start and
    exit placed, no colours or decoys (mazes/s)."""
    from fastmaze import MazeSpec

    spec = MazeSpec(size=(size, size), algorithm="backtracker")
    return prepare_generate(threads, size, "backtracker", n, spec=spec)


def fm_step(
    threads: int | None, size: int, num_envs: int, episode_floor: bool = True, **env_kwargs: Any
) -> Prepared:
    """`VecMazeEnv(MazeSpec(size=(size, size)))` (no colours, no decoys) stepped with random
    actions; observations handed out as copies (``copy=True``), as the peers hand out fresh
    arrays (steps/s)."""
    from fastmaze import MazeSpec

    env_kwargs.setdefault("obs", "symbolic")
    return prepare_step(
        threads,
        spec=MazeSpec(size=(size, size)),
        num_envs=num_envs,
        copy=True,
        episode_floor=episode_floor,
        **env_kwargs,
    )


# --- the registry of peers ----------------------------------------------------------------------


@dataclass(frozen=True)
class Family:
    """Peers that share one install (``requirements/requirements-<name>.txt``)."""

    name: str
    probe: str  # a module whose import tells that the family is installed

    @property
    def requirements(self) -> Path:
        return REQUIREMENTS / f"requirements-{self.name}.txt"

    def install_hint(self, venvs: Path) -> str:
        """The commands that make this family's venv (what `setup` runs)."""
        venv = venvs / self.name
        return (
            f"{shlex.quote(sys.executable)} -m venv {shlex.quote(str(venv))} && "
            f"{shlex.quote(str(venv / 'bin' / 'pip'))} install -r "
            f"{shlex.quote(str(self.requirements))} (python benchmarks/peers.py --setup does "
            "this for every family)"
        )


@dataclass(frozen=True)
class Case:
    """One peer measurement, ``peer(**args, timing=...)``, and its fastmaze twin,
    ``twin(threads=T, **twin_args)`` (a `Prepared`), measured at each thread count T."""

    family: str
    workload: str
    unit: str  # "mazes/s" or "steps/s"
    batch: str
    peer_threads: str
    peer: Callable[..., dict[str, Any]]
    args: dict[str, Any]
    twin: Callable[..., Prepared]
    twin_args: dict[str, Any]
    notes: str
    episode: int = 0  # episode limit in steps (stepping cases): a repetition spans >= one
    quick: dict[str, Any] = field(default_factory=dict)  # peer argument overrides for --quick

    @property
    def group(self) -> str:
        """The group of the standard workloads this case belongs with."""
        return "generate" if self.unit == "mazes/s" else "step"

    def twin_workload(self) -> Workload:
        """The twin as a `Workload` (``--quick``: no episode floor)."""
        quick = {"episode_floor": False} if self.twin is fm_step else {}
        args = ",".join(f"{k}={v}" for k, v in self.twin_args.items())
        return Workload(
            f"{self.group}/twin/{self.twin.__name__}({args})",
            self.unit,
            self.twin,
            self.twin_args,
            f"fastmaze twin of {self.family}: {self.workload}",
            quick=quick,
        )


FAMILIES: list[Family] = [
    Family("maze-dataset", "maze_dataset"),
    Family("envpool", "envpool"),
    Family("minigrid", "minigrid"),
    Family("jax", "jax"),
]

PROCGEN_MOVES = [1, 3, 5, 7]  # procgen's LEFT, DOWN, UP, RIGHT; its other 11 actions are no-ops


CASES: list[Case] = [
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
]


def venv_python(venvs: Path, family: str) -> Path:
    return venvs / family / "bin" / "python"


def snippet(fn: Callable[..., dict[str, Any]]) -> str:
    """Source of a peer measurement, runnable as ``python -c SNIPPET ARGS_JSON``."""
    parts = [inspect.getsource(f) for f in (summarize, calls_per_rep, measure, jax_rollout, fn)]
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


def family_missing(venvs: Path, family: Family) -> str | None:
    """Why a family's venv cannot measure it (None if it is there and imports the probe)."""
    python = venv_python(venvs, family.name)
    failed = venvs / f"{family.name}.setup-failed"
    if failed.exists():
        return f"setup failed: {failed.read_text().strip()} (log: {family.name}.setup.log)"
    if not python.exists():
        return f"not importable here, and no venv {python}"
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
        req = family.requirements
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


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def locate(family: Family, venvs: Path) -> tuple[Path | None, str | None]:
    """Where ``family`` runs: ``(None, None)`` in this interpreter (its probe imports here),
    ``(python, None)`` in its venv, ``(None, reason)`` nowhere."""
    if importlib.util.find_spec(family.probe) is not None:
        return None, None
    why = family_missing(venvs, family)
    return (None, why) if why else (venv_python(venvs, family.name), None)


def run_here(fn: Callable, args: dict[str, Any]) -> dict[str, Any]:
    """``fn(**args)`` in this interpreter; its result, or ``{"error": reason}``."""
    try:
        return fn(**args)
    except Exception as e:  # a failing peer must not stop the run
        return {"error": f"{type(e).__name__}: {e}"}


def measure_peers(
    cases: list[Case],
    families: list[Family],
    venvs: Path,
    settings: dict[str, Any],
    quick: bool,
    twin: Callable[[Workload], list[dict[str, Any]]],
) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """Each case of an available family: the peer's figure, then its twin's (``twin``
    measures a workload at every thread count of the run and returns the results). Returns
    the peer rows (the report's ``peers``) and the families or cases not measured, with the
    reason and how to install them (``peers_skipped``)."""
    rows: list[dict[str, Any]] = []
    skipped: list[dict[str, str]] = []
    for family in families:
        mine = [c for c in cases if c.family == family.name]
        if not mine:
            continue
        python, why = locate(family, venvs)
        if why:
            skipped.append(
                {"family": family.name, "reason": why, "install": family.install_hint(venvs)}
            )
            continue
        for case in mine:
            args = {**case.args, **(case.quick if quick else {})}
            calls = -(-case.episode // args.get("unroll", 1))
            timing = {**settings, "min_calls": 1 if quick else max(1, calls)}
            log(f"peer {case.family}: {case.workload}, batch {case.batch}")
            if python is None:
                got = run_here(case.peer, {**args, "timing": timing})
            else:
                got = run_peer(
                    python, case.peer, {**args, "timing": timing}, 600 if quick else 1800
                )
            if "error" in got:
                skipped.append(
                    {
                        "family": family.name,
                        "reason": f"{case.workload}: {got['error']}",
                        "install": family.install_hint(venvs),
                    }
                )
                continue
            results = twin(case.twin_workload())
            peer_result = {k: got[k] for k in ("median", "min", "max", "q1", "q3", "rates", "reps")}
            fastmaze = [
                {**r, "ratio": r["median"] / got["median"] if got["median"] else None}
                for r in results
            ]
            rows.append(
                {
                    "family": family.name,
                    "peer": got.get("version", family.name),
                    "workload": case.workload,
                    "unit": case.unit,
                    "batch": case.batch,
                    "peer_threads": case.peer_threads,
                    "notes": case.notes,
                    "peer_result": peer_result,
                    "twin": case.twin_workload().name,
                    "fastmaze": fastmaze,
                }
            )
    return rows, skipped
