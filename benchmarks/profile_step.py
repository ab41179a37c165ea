"""Where the native step's time goes: `fastmaze.VecMazeEnv.step` broken down, beside the
machine's own floors measured in the same run, as markdown tables.

    PYTHONPATH=src python benchmarks/profile_step.py            # the full profile (minutes)
    PYTHONPATH=src python benchmarks/profile_step.py --quick    # a smoke run (seconds)

13×13 boards (`fastmaze.correlated(0.95)`, 6×6 cells), auto-reset on (next_step, levels
generated inline), random actions drawn before the timing, ``--threads`` threads (default 2).
Every rate is the median of ``--reps`` repetitions. Tables:

1. **Step**: env-steps/s and ns per env-step at 64, 1,024, 4,096 and 65,536 envs, for every
   observation kind, ``copy=False`` and ``copy=True``, with the issue's targets.
2. **Fixed cost per call** (µs): the Python wrapper (argument checks, handing out the
   outputs) and the core's step call (one parallel region: action checks, every env's move,
   the auto-resets' generation and load, the ``copy=True`` copy); beside them the resets
   and the copy each timed alone as separate calls, building an info dict per call (what
   the env no longer does) and the empty OpenMP region.
3. **Cost per env** (ns): the step's bare memory accesses on the env's own arrays (terrain
   lookup; + the observation bytes; + the info fields and outputs) against the core step's
   per-env time, and the step as a multiple of that floor.
4. **Wait policies**: an empty region called from Python, and a step at 4,096 envs, under
   OMP_WAIT_POLICY=PASSIVE, the package's bounded spin (GOMP_SPINCOUNT) and ACTIVE, on the
   machine as it is and with ``--threads`` busy processes beside it (each policy in its own
   process: libgomp reads them once).
5. **Floors**: memcpy bandwidth (one parallel copy, cache-sized and DRAM-sized) and
   ``copy=True`` against the copy=False step plus one copy of the observation bytes.
6. **rgb**: the rgb step against writing only the pixel rows an rgb move must write.
7. **Compact observations**: bytes per env-step crossing to the device, symbolic vs compact.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

import fastmaze
import fastmaze._openmp
from fastmaze import _core

SIZES = (64, 1024, 4096, 65536)
KINDS = ("symbolic", "rgb", "egocentric", "compact")
TARGETS = {4096: 100e6, 65536: 150e6}  # symbolic, copy=False, env-steps/s
POLICIES = {
    "passive": {"OMP_WAIT_POLICY": "PASSIVE"},
    f"spin {fastmaze._openmp.SPIN_COUNT:,} (default)": {},
    "spin 10,000": {"GOMP_SPINCOUNT": "10000"},
    "spin 100,000": {"GOMP_SPINCOUNT": "100000"},
    "active": {"OMP_WAIT_POLICY": "ACTIVE"},
}


def _spec() -> fastmaze.MazeSpec:
    return fastmaze.correlated(0.95)


def _env(n: int, obs: str, threads: int, copy: bool = False) -> fastmaze.VecMazeEnv:
    env = fastmaze.VecMazeEnv(_spec(), n, seed=0, obs=obs, num_threads=threads, pixels=4, copy=copy)
    env.reset()
    return env


def _actions(n: int, calls: int) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 4, (calls, n), dtype=np.int64)


def _median_rate(run: Callable[[], None], units: float, reps: int, min_time: float) -> float:
    """Median units/s of ``run`` over ``reps`` repetitions of >= ``min_time`` seconds."""
    run()  # warm-up
    rates = []
    for _ in range(reps):
        calls, t0 = 0, time.perf_counter()
        while True:
            run()
            calls += 1
            elapsed = time.perf_counter() - t0
            if elapsed >= min_time:
                break
        rates.append(calls * units / elapsed)
    return statistics.median(rates)


def _step_rate(n: int, obs: str, copy: bool, args: argparse.Namespace) -> float:
    """Median env-steps/s of env.step over a table of random actions."""
    env = _env(n, obs, args.threads, copy)
    table = _actions(n, max(4, min(256, 2_000_000 // n)))

    def run() -> None:
        for a in table:
            env.step(a)

    return _median_rate(run, n * len(table), args.reps, args.min_time)


class _TimedStep:
    """Stands in for an EnvCore: each ``step`` call adds its ns to ``ns`` and the envs it
    reset to ``resets``."""

    def __init__(self, core: object) -> None:
        self.core, self.ns, self.resets = core, 0, 0

    def step(self, *args: object) -> int | None:
        t0 = time.perf_counter_ns()
        m = self.core.step(*args)
        self.ns += time.perf_counter_ns() - t0
        self.resets += max(m or 0, 0)
        return m


def _timer_overhead() -> float:
    """ns that _TimedStep adds around a call (subtracted from the timed part)."""
    plain = type("P", (), {"step": lambda self, *a: 0})()
    timed = _TimedStep(plain)
    k = 20000
    t0 = time.perf_counter_ns()
    for _ in range(k):
        plain.step(0)
    bare = time.perf_counter_ns() - t0
    t0 = time.perf_counter_ns()
    for _ in range(k):
        timed.step(0)
    return max(0.0, (time.perf_counter_ns() - t0 - bare) / k)


def _breakdown(n: int, obs: str, copy: bool, args: argparse.Namespace) -> dict[str, float]:
    """µs per call of env.step and of its compiled call (one parallel region: the action
    check, every env's move, the auto-resets' generation and load, the copy=True copy), from
    one instrumented step loop; the auto-resets per call; and the resets and the copy each
    timed alone, as separate calls doing the same work (what they add to the region)."""
    env = _env(n, obs, args.threads, copy)
    core = env._core
    table = _actions(n, max(8, min(512, 4_000_000 // n)))
    for a in table[:4]:
        env.step(a)
    env._core = timed = _TimedStep(core)
    over = _timer_overhead()
    t0 = time.perf_counter_ns()
    for a in table:
        env.step(a)
    total = (time.perf_counter_ns() - t0) / len(table)
    env._core = core
    step_ns = max(0.0, timed.ns / len(table) - over)
    per_call = timed.resets / len(table)
    # the same work alone: loading round(per_call) envs from the stream, copying the outputs
    k = max(1, round(per_call))
    idx = np.arange(0, n, max(1, n // k), dtype=np.int64)[:k]
    load_ns = _call_ns(lambda: core.load_stream(idx, env.seed, env._next_id)) / len(idx)
    copy_ns = 0.0
    if copy:
        slot = env._ring.slots[0]
        copy_ns = _call_ns(lambda: _core.copy_rows(env._sources, slot, n, args.threads))
    return {
        "total": total / 1e3,
        "wrapper": max(0.0, total - step_ns - over) / 1e3,
        "core_step": step_ns / 1e3,
        "per_reset": load_ns / 1e3,
        "copy": copy_ns / 1e3,
        "resets_per_call": per_call,
    }


def _call_ns(call: Callable[[], object], reps: int = 200) -> float:
    """Median ns of one call of ``call`` (after a warm-up), over ``reps`` calls."""
    for _ in range(10):
        call()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter_ns()
        call()
        times.append(time.perf_counter_ns() - t0)
    return statistics.median(times)


def _info_dict_us(env: fastmaze.VecMazeEnv) -> float:
    """µs to build a dict of the info arrays per call (the env builds it once)."""
    info = env._info
    k = 20000
    t0 = time.perf_counter_ns()
    for _ in range(k):
        dict(info)
    return (time.perf_counter_ns() - t0) / k / 1e3


def _region_us(threads: int, back_to_back: bool) -> float:
    """µs per empty OpenMP region: back to back in C, or one per Python call."""
    k = 20000
    if back_to_back:
        _core.floor_regions(threads, 100)
        t0 = time.perf_counter_ns()
        _core.floor_regions(threads, k)
        return (time.perf_counter_ns() - t0) / k / 1e3
    for _ in range(100):
        _core.floor_regions(threads, 1)
    t0 = time.perf_counter_ns()
    for _ in range(k):
        _core.floor_regions(threads, 1)
    return (time.perf_counter_ns() - t0) / k / 1e3


def _touch_ns(n: int, args: argparse.Namespace) -> dict[str, float]:
    """ns per env of the step's bare accesses on a symbolic env's arrays, and of its core
    step (from the instrumented loop)."""
    env = _env(n, "symbolic", args.threads)
    agent = env.agent
    terrain = np.zeros((n, *env.maze_spec.shape), np.uint8)
    terrain[:] = env.levels.grid  # same bytes per square as the core's terrain walls
    obs = env.obs.reshape(n, -1)
    length = np.zeros(n, np.int32)
    ret = np.zeros(n, np.float32)
    reward = np.zeros(n, np.float32)
    flags = np.zeros(3 * n, np.uint8)
    table = _actions(n, 16)
    team = args.threads if n >= _core.STEP_PARALLEL_ENVS else 1  # as the step
    out = {}
    stages = {
        "call": 0,  # the call and its region alone, taken off the others
        "terrain": _core.TOUCH_TERRAIN,
        "+obs": _core.TOUCH_TERRAIN | _core.TOUCH_OBS,
        "+info": _core.TOUCH_TERRAIN | _core.TOUCH_OBS | _core.TOUCH_INFO,
    }
    for name, what in stages.items():

        def run(what=what) -> None:
            for a in table:
                _core.floor_touch(what, a, agent, terrain, obs, length, ret, reward, flags, team)

        out[name] = 1e9 / _median_rate(run, n * len(table), args.reps, args.min_time)
    return {k: max(0.0, v - out["call"]) for k, v in out.items() if k != "call"}


def _copy_gbs(nbytes: int, threads: int, args: argparse.Namespace) -> float:
    """GB/s of one parallel copy of ``nbytes`` into memory already faulted in: two
    destinations taken in turn, as the env's two output sets are."""
    rows = max(1, min(65536, nbytes // 64))
    src = np.ones((rows, max(1, nbytes // rows)), np.uint8)
    targets = [np.zeros_like(src), np.zeros_like(src)]

    def run() -> None:
        for dst in targets:
            _core.copy_rows([src], [dst], rows, threads)

    return _median_rate(run, 2 * src.nbytes, args.reps, args.min_time) / 1e9


def _rgb_floor_rate(n: int, args: argparse.Namespace) -> tuple[float, float]:
    """env-steps/s of writing only the pixel rows rgb moves write (`_core.floor_rgb`, on an
    rgb env's own arrays, agents where a reset left them), and the fraction of envs that
    move."""
    env = _env(n, "rgb", args.threads)
    table = _actions(n, 16)

    def run() -> None:
        for a in table:
            _core.floor_rgb(a, env.agent, env.levels.grid, env.obs, args.threads)

    moves = sum(_core.floor_rgb(a, env.agent, env.levels.grid, env.obs, 1) for a in table)
    return _median_rate(run, n * len(table), args.reps, args.min_time), moves / (n * len(table))


def _busy(stop) -> None:
    while not stop.is_set():
        sum(range(1000))


def _policy_child(threads: int, n: int, min_time: float, reps: int) -> None:
    """In a child process (its own libgomp settings): region and step costs as JSON."""
    ns = argparse.Namespace(threads=threads, reps=reps, min_time=min_time)
    env = _env(n, "symbolic", threads)
    table = _actions(n, 64)
    for a in table:
        env.step(a)
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(4):
        for a in table:
            env.step(a)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    step = _step_rate(n, "symbolic", False, ns)
    region = _region_us(threads, back_to_back=False)
    print(json.dumps({"region_us": region, "step_us": n / step * 1e6, "cpu_per_wall": cpu / wall}))


def _policies(args: argparse.Namespace, n: int) -> list[list[str]]:
    rows = []
    for loaded in (False, True):
        stop = multiprocessing.Event()
        busy = [multiprocessing.Process(target=_busy, args=(stop,)) for _ in range(args.threads)]
        if loaded:
            for p in busy:
                p.start()
        try:
            for name, env in POLICIES.items():
                child_env = {
                    k: v
                    for k, v in os.environ.items()
                    if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")
                }
                child_env.update(env)
                code = (
                    "import sys; sys.path[:0] = sys.argv[1:2]; import profile_step as p; "
                    f"p._policy_child({args.threads}, {n}, {args.min_time}, {args.reps})"
                )
                here = str(Path(__file__).resolve().parent)
                out = subprocess.run(
                    [sys.executable, "-c", code, here],
                    env=child_env,
                    capture_output=True,
                    text=True,
                    check=True,
                )
                r = json.loads(out.stdout.strip().splitlines()[-1])
                rows.append(
                    [
                        name,
                        "busy" if loaded else "as is",
                        f"{r['region_us']:.2f}",
                        f"{r['step_us']:.1f}",
                        f"{r['cpu_per_wall']:.2f}",
                    ]
                )
        finally:
            stop.set()
            for p in busy:
                if p.is_alive():
                    p.join()
    return rows


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def _fits(n: int, obs: str, copy: bool, max_bytes: int) -> bool:
    env_bytes = {"rgb": 3 * 52 * 52, "compact": 4}.get(obs, 10 * 169)
    return n * env_bytes * (4 if copy else 1) <= max_bytes


def loop(n: int, obs: str, copy: bool, calls: int, threads: int) -> None:
    """``calls`` steps after a reset and 4 warm-up steps: the body to count instructions of,
    e.g. ``valgrind --tool=callgrind`` at two values of ``calls`` (the difference over the
    extra calls is per step, start-up excluded; see --loop)."""
    env = _env(n, obs, threads, copy)
    table = _actions(n, 64)  # drawn once: the count of extra calls is the step's alone
    for k in range(calls + 4):
        env.step(table[k % len(table)])


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--min-time", type=float, default=0.25, help="seconds per repetition")
    parser.add_argument("--quick", action="store_true", help="small sizes, short repetitions")
    parser.add_argument("--max-bytes", type=float, default=4e9, help="skip larger configs")
    parser.add_argument("--out", type=Path, help="also write the tables to this file")
    parser.add_argument(
        "--loop",
        nargs=4,
        metavar=("ENVS", "OBS", "COPY", "CALLS"),
        help="only step ENVS envs CALLS times (COPY 0 or 1), for an instruction counter",
    )
    args = parser.parse_args(argv)
    if args.loop:
        n, obs, copy, calls = args.loop
        loop(int(n), obs, bool(int(copy)), int(calls), args.threads)
        return ""
    sizes = SIZES
    if args.quick:
        sizes, args.reps, args.min_time = (64, 4096), 3, 0.02
    t = args.threads
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    lines = [
        "# Native step profile",
        "",
        f"`{' '.join(['python', 'benchmarks/profile_step.py', *(argv or sys.argv[1:])])}` — "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} logical cores, "
        f"{t} threads, load average {load:.2f} at the start, fastmaze {fastmaze.__version__}, "
        f"numpy {np.__version__}, OpenMP wait: "
        f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', '(unset)')} "
        f"GOMP_SPINCOUNT={os.environ.get('GOMP_SPINCOUNT', '(unset)')}. "
        f"Medians of {args.reps} repetitions of >= {args.min_time} s.",
        "",
    ]

    # 1. the step
    rates: dict[tuple[int, str, bool], float] = {}
    rows = []
    for n in sizes:
        for obs in KINDS:
            for copy in (False, True):
                if not _fits(n, obs, copy, args.max_bytes):
                    continue
                rates[n, obs, copy] = _step_rate(n, obs, copy, args)
    for n in sizes:
        sym = rates.get((n, "symbolic", False))
        for obs in KINDS:
            for copy in (False, True):
                r = rates.get((n, obs, copy))
                if r is None:
                    continue
                target = ""
                if obs == "symbolic" and not copy and n in TARGETS:
                    met = "met" if r >= TARGETS[n] else "not met"
                    target = f">= {TARGETS[n] / 1e6:.0f} M: {met}"
                elif obs in ("rgb", "egocentric") and not copy and sym:
                    target = f">= 1/3 symbolic: {r / sym:.2f}"
                elif copy and (n, obs, False) in rates:
                    ratio = r / rates[n, obs, False]
                    target = f"{ratio:.2f} of copy=False" + (" (>= 1/2)" if n == 1024 else "")
                rows.append(
                    [f"{n:,}", obs, str(copy), f"{r / 1e6:.1f}", f"{1e9 / r:.2f}",
                     f"{n / r * 1e6:.1f}", target]
                )  # fmt: skip
    lines += [
        "## Step",
        "",
        _table(["envs", "obs", "copy", "M env-steps/s", "ns/env-step", "µs/call", "target"], rows),
        "",
    ]

    # 2. fixed cost per call; 3. per env
    region_b2b = _region_us(t, back_to_back=True)
    region_py = _region_us(t, back_to_back=False)
    info_us = _info_dict_us(_env(64, "symbolic", t))
    rows, per_env = [], []
    for n in sizes:
        for copy in (False, True):
            b = _breakdown(n, "symbolic", copy, args)
            rows.append(
                [f"{n:,}", str(copy), f"{b['total']:.2f}", f"{b['wrapper']:.2f}",
                 f"{b['core_step']:.2f}", f"{b['per_reset']:.2f} ({b['resets_per_call']:.2f})",
                 f"{b['copy']:.2f}"]
            )  # fmt: skip
            if not copy:
                touch = _touch_ns(n, args)
                team = t if n >= _core.STEP_PARALLEL_ENVS else 1
                fork = region_b2b if team > 1 else 0.0
                core_per_env = max(0.0, b["core_step"] - fork) * 1e3 / n
                per_env.append(
                    [f"{n:,}", str(team), f"{touch['terrain']:.2f}", f"{touch['+obs']:.2f}",
                     f"{touch['+info']:.2f}", f"{core_per_env:.2f}",
                     f"{core_per_env / touch['+info']:.1f}x" if touch["+info"] >= 0.1
                     else "(floor below resolution)"]
                )  # fmt: skip
    lines += [
        "## Fixed cost per call (symbolic; µs per call)",
        "",
        "`total`: one env.step; `wrapper`: its Python (argument checks, claiming an output "
        "set, handing out the outputs); `core step`: the compiled call, one parallel region "
        "that checks the actions, moves every env, draws the auto-resets' new levels and, with "
        "copy=True, copies the outputs (a timer's own cost subtracted). The next two columns "
        "time the same work alone, as separate calls (each with its own region): `per reset`, "
        "µs per env of loading as many envs from the level stream as a step resets on average "
        "(at least one; the resets per call in brackets); `copy`, copying one step's outputs "
        "into an output set.",
        "",
        _table(
            [
                "envs",
                "copy",
                "total",
                "wrapper",
                "core step",
                "per reset alone (resets per call)",
                "copy alone",
            ],
            rows,
        ),
        "",
        f"Floors in the same run: an empty OpenMP region of {t} threads costs "
        f"{region_b2b:.2f} µs back to back and {region_py:.2f} µs when called from Python "
        f"(the call included); a batch below {_core.STEP_PARALLEL_ENVS:,} envs runs on one "
        "thread, no region. "
        f"Building a dict of the 8 info arrays per call would cost {info_us:.2f} µs (the env "
        "builds it once).",
        "",
        "## Cost per env (symbolic, copy=False; ns per env)",
        "",
        "The step's bare memory accesses on an env's own arrays (csrc/floors.c), the cost of "
        "the call and its region taken off: the terrain lookup; + writing the observation "
        "bytes; + the info fields and outputs. `core step` is the compiled step's time per "
        "env (its empty-region cost taken off).",
        "",
        _table(
            ["envs", "threads", "terrain", "+ obs bytes", "+ info", "core step", "step / floor"],
            per_env,
        ),
        "",
    ]

    # 4. wait policies
    n_pol = 4096
    lines += [
        f"## Wait policies ({t} threads; each in its own process)",
        "",
        f"`region`: µs per empty region called from Python; `step`: µs per step call at "
        f"{n_pol:,} symbolic envs; `cores used`: CPU time over wall time of a step loop (what "
        f"the waiting threads burn: 1 is the calling thread alone). `busy`: {t} busy "
        "processes beside it.",
        "",
        _table(["policy", "machine", "region µs", "step µs", "cores used"], _policies(args, n_pol)),
        "",
    ]

    # 5. floors: memcpy; copy=True against the copy floor
    obs_bytes = 10 * 169
    rows = []
    for n in sizes:
        nbytes = n * obs_bytes
        gbs = _copy_gbs(nbytes, t, args)
        plain = rates.get((n, "symbolic", False))
        copied = rates.get((n, "symbolic", True))
        if plain and copied:
            bound = 1 / (1 / plain + obs_bytes / (gbs * 1e9))
            rows.append(
                [f"{n:,}", f"{nbytes / 1e6:.2f}", f"{gbs:.1f}", f"{plain / 1e6:.1f}",
                 f"{bound / 1e6:.1f}", f"{copied / 1e6:.1f}", f"{copied / bound:.2f}"]
            )  # fmt: skip
    big = _copy_gbs(256 << 20, t, args)
    lines += [
        "## copy=True against one parallel copy (symbolic)",
        "",
        "`copy GB/s`: one parallel copy of the observation bytes into faulted-in memory; "
        "`bound`: the copy=False rate with that copy added per step, the best copy=True can do.",
        "",
        _table(
            [
                "envs",
                "obs MB",
                "copy GB/s",
                "copy=False M/s",
                "bound M/s",
                "copy=True M/s",
                "of bound",
            ],
            rows,
        ),
        "",
        f"DRAM-sized copy (256 MiB): {big:.1f} GB/s.",
        "",
    ]

    # 6. the rgb kind against the pixel rows it must write
    rows = []
    for n in sizes:
        sym, rgb = rates.get((n, "symbolic", False)), rates.get((n, "rgb", False))
        if not (sym and rgb):
            continue
        floor, moved = _rgb_floor_rate(n, args)
        rows.append(
            [f"{n:,}", f"{moved:.2f}", f"{floor / 1e6:.1f}", f"{floor / sym:.2f}",
             f"{rgb / 1e6:.1f}", f"{rgb / sym:.2f}", f"{rgb / floor:.2f}"]
        )  # fmt: skip
    lines += [
        "## rgb against the pixel rows it must write (4 pixels per square, copy=False)",
        "",
        "A move changes the agent's inset square (2 × 2 pixels at 4 per square) in the square "
        "it leaves and the one it enters: 3 channels × 2 pixel rows each, a cache line "
        "apiece, where a symbolic move writes 2 bytes. `floor`: writing one byte of each of "
        "those rows for every env whose action leads onto floor, the terrain lookup included "
        "and nothing else (`csrc/floors.c`, `fm_floor_rgb`); no rgb step can beat it.",
        "",
        _table(
            [
                "envs",
                "envs moving",
                "floor M/s",
                "floor / symbolic",
                "rgb M/s",
                "rgb / symbolic",
                "rgb / floor",
            ],
            rows,
        ),
        "",
    ]

    # 7. compact: bytes per env-step to the device
    rows = []
    H, W = _spec().shape
    for n in sizes:
        b = _breakdown(n, "compact", False, args)
        reset_share = b["resets_per_call"] / n
        compact_bytes = 4 + reset_share * H * W
        sym = rates.get((n, "symbolic", False))
        com = rates.get((n, "compact", False))
        rows.append(
            [f"{n:,}", f"{obs_bytes}", f"{compact_bytes:.1f}", f"{reset_share:.4f}",
             f"{sym / 1e6:.1f}" if sym else "-", f"{com / 1e6:.1f}" if com else "-"]
        )  # fmt: skip
    lines += [
        "## Compact observations",
        "",
        "Bytes per env-step crossing to the device: the whole symbolic board, or the compact "
        "agent square (4 bytes) plus the level-table row of each auto-reset (H·W bytes), as "
        "`fastmaze.train.compact.CompactBoards.sync` uploads them (next_step auto-reset).",
        "",
        _table(
            [
                "envs",
                "symbolic B",
                "compact B",
                "resets per env-step",
                "symbolic M/s",
                "compact M/s",
            ],
            rows,
        ),
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return text


if __name__ == "__main__":
    main()
