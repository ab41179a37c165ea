"""One GPU check: every CUDA test, the CUDA benchmarks and the byte equality of GPU and CPU
generation, in one command of a few minutes on one GPU, written as one markdown table into
``benchmarks/RESULTS.md``.

    python benchmarks/gpu_check.py [--results benchmarks/RESULTS.md] [--skip-tests]

(with fastmaze importable: installed with ``pip install ".[test]"``, or ``PYTHONPATH=src``
after ``python setup.py build_ext --inplace``; the tests run in a subprocess that inherits
the environment).

What it runs, in order:

- the CUDA tests: ``pytest tests -k cuda`` (the ``test_cuda_*`` modules and every test
  parametrised on the "cuda" device), pass/fail counts;
- generation throughput (`fastmaze.cuda.generate`, levels kept on the device) on 13×13 and
  25×25 boards (6×6 and 12×12 cells) at 1,048,576 levels, the spec of
  ``benchmarks/bench_cuda.py``;
- the byte equality of GPU and CPU generation (`fastmaze.generate`) on 10^6 levels of each
  board, every array of the level batch;
- torch-backend stepping (``make_vec(..., backend="torch", device="cuda")``, random actions)
  at 4,096, 65,536 and 1,048,576 envs, env steps per second;
- the supervised stream into a CUDA model (`train_supervised` on "cuda"), samples per second
  of training and of the stream alone;
- a seed ensemble of 16 members on "cuda" (`train_supervised_ensemble`), samples per second
  per member and in all.

The table (the card's name, driver, torch and CUDA versions above it) replaces the section
between `BEGIN` and `END` in the results file, or is appended once. The command exits 1 if
any check fails (a test, a mismatch, an error), 0 otherwise; on a machine without a CUDA
device it prints "no CUDA device" and exits 0, writing nothing.
"""

from __future__ import annotations

import argparse
import platform
import re
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
BEGIN = "<!-- gpu_check: begin (benchmarks/gpu_check.py replaces this section) -->"
END = "<!-- gpu_check: end -->"
BOARDS = {"13x13": 6, "25x25": 12}  # board squares -> cells per side
GENERATE_BATCH = 1_048_576
EQUALITY_LEVELS = 1_000_000
ENVS = (4_096, 65_536, 1_048_576)
ENSEMBLE = 16
NOT_AVAILABLE = "not available in this build"


@dataclass
class Row:
    """One line of the table: what was checked, what it gave, whether it passed (None: a
    measurement with nothing to pass) and its wall time in seconds."""

    check: str
    result: str
    ok: bool | None = None
    seconds: float = 0.0


Check = Callable[[], "Row | list[Row]"]


# -- the device -------------------------------------------------------------------------------
def device_info() -> dict[str, str] | None:
    """The CUDA device torch sees ({"card", "driver", "torch", "cuda", "numba", "python"}),
    or None without one."""
    import torch

    if not torch.cuda.is_available():
        return None
    try:
        driver = subprocess.run(
            ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader", "-i", "0"],
            capture_output=True,
            text=True,
            timeout=30,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        driver = ""
    try:
        import numba

        numba_version = numba.__version__
    except ImportError:
        numba_version = "not installed"
    return {
        "card": torch.cuda.get_device_name(0),
        "driver": driver or "unknown (nvidia-smi not found)",
        "torch": torch.__version__,
        "cuda": str(torch.version.cuda),
        "numba": numba_version,
        "python": platform.python_version(),
    }


def _sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _timed(fn: Callable[[], Any], rounds: int, device: str = "cuda") -> float:
    """The median seconds of ``rounds`` calls of ``fn`` after one warm-up call."""
    fn()
    _sync(device)
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - t)
    return sorted(times)[len(times) // 2]


# -- checks -----------------------------------------------------------------------------------
def cuda_tests() -> Row:
    """``pytest tests -k cuda`` in a subprocess: ok when it exits 0."""
    cmd = [sys.executable, "-m", "pytest", str(ROOT / "tests"), "-k", "cuda", "-q"]
    cmd += ["-p", "no:cacheprovider"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=420)
    lines = [x for x in proc.stdout.splitlines() if x.strip()]
    summary = next((x.strip("= ") for x in reversed(lines) if re.search(r"\d+ \w+", x)), "")
    if proc.returncode != 0:
        print(proc.stdout[-6000:], proc.stderr[-2000:], sep="\n")
    return Row(
        "CUDA tests (pytest tests -k cuda)",
        summary or f"exit {proc.returncode}",
        proc.returncode == 0,
    )


def generation() -> list[Row]:
    """`fastmaze.cuda.generate` throughput per board at `GENERATE_BATCH` levels."""
    import fastmaze.cuda as fc

    avail = fc.available()
    if not avail or avail.simulator:
        return [Row("GPU generation", f"fastmaze.cuda unavailable: {avail.reason}", False)]
    from fastmaze.bench.workloads import prepare_cuda_generate

    rows = []
    for board, cells in BOARDS.items():
        s = _timed(prepare_cuda_generate(None, cells, "backtracker", GENERATE_BATCH).call, 3)
        rows.append(
            Row(
                f"generation {board}, {GENERATE_BATCH:,} levels",
                f"{GENERATE_BATCH / s:,.0f} levels/s",
                None,
                s,
            )
        )
    return rows


def compare(spec: Any, n: int, seed: int) -> list[str]:
    """The names of the level arrays in which GPU and CPU generation of ``n`` levels of
    ``(spec, seed)`` differ (empty: byte-equal)."""
    import numpy as np

    import fastmaze
    import fastmaze.cuda as fc

    got = fc.generate(spec, n, seed=seed).to_host()
    want = fastmaze.generate(spec, n, seed)
    names = ("ids", "grid", "color", "start", "exit", "decoys", "n_decoys", "component")
    bad = []
    for k in names:
        a, b = np.asarray(getattr(got, k)), np.asarray(getattr(want, k))
        if a.shape != b.shape or a.dtype != b.dtype or a.tobytes() != b.tobytes():
            bad.append(k)
    return bad


def equality(comparison: Callable[[Any, int, int], list[str]] = compare) -> list[Row]:
    """GPU against CPU generation on `EQUALITY_LEVELS` levels per board: ok when every
    array is byte-equal."""
    from fastmaze.bench.workloads import bench_spec

    rows = []
    for board, cells in BOARDS.items():
        t = time.perf_counter()
        bad = comparison(bench_spec(cells), EQUALITY_LEVELS, 7)
        result = "byte-equal" if not bad else "MISMATCH in " + ", ".join(bad)
        rows.append(
            Row(
                f"GPU = CPU generation, {board}, {EQUALITY_LEVELS:,} levels",
                result,
                not bad,
                time.perf_counter() - t,
            )
        )
    return rows


def stepping(envs: Sequence[int] = ENVS, device: str = "cuda") -> list[Row]:
    """The torch backend on ``device``: env steps per second with random actions."""
    import torch

    import fastmaze as fm

    rows = []
    for n in envs:
        t0 = time.perf_counter()
        env = fm.make_vec(None, n, seed=0, backend="torch", device=device)
        env.reset(seed=0)
        gen = torch.Generator(device=device).manual_seed(0)
        actions = [torch.randint(0, 4, (n,), device=device, generator=gen) for _ in range(8)]
        steps = 20 if n >= 1_000_000 else 50

        def run(env: Any = env, actions: list = actions, steps: int = steps) -> None:
            for t in range(steps):
                env.step(actions[t % len(actions)])

        s = _timed(run, 3, device)
        rows.append(
            Row(
                f"torch backend step, {n:,} envs",
                f"{n * steps / s:,.0f} env steps/s",
                None,
                time.perf_counter() - t0,
            )
        )
        del env
        if device.startswith("cuda"):
            torch.cuda.empty_cache()
    return rows


#: The supervised runs of the check (the exit task, the default model), on "cuda".
SUPERVISED = {"device": "cuda", "steps": 200, "batch": 1024, "eval_episodes": 2_000}


def _supervised_config(**kw: Any) -> Any:
    from fastmaze.train.supervised import SupervisedConfig

    return SupervisedConfig(**{**SUPERVISED, "progress": False, **kw})


def supervised(**kw: Any) -> Row:
    """`train_supervised` on "cuda": samples per second (``kw``: `SUPERVISED` overrides)."""
    from fastmaze.train.supervised import train_supervised

    t = time.perf_counter()
    r = train_supervised(_supervised_config(**kw))
    text = (
        f"{r['samples_per_s']:,.0f} samples/s training, "
        f"{r['stream_samples_per_s']:,.0f} samples/s stream alone"
    )
    return Row("supervised stream -> CUDA model, batch 1,024", text, None, time.perf_counter() - t)


def ensemble(members: int = ENSEMBLE, **kw: Any) -> Row:
    """A seed ensemble of ``members`` on "cuda": samples per second per member (``kw``:
    `SUPERVISED` overrides; batch 256 per member unless told)."""
    name = f"seed ensemble of {members}, batch {kw.get('batch', 256)} per member"
    try:
        from fastmaze.train.ensemble import train_supervised_ensemble
    except ImportError:
        return Row(name, NOT_AVAILABLE)
    t = time.perf_counter()
    config = _supervised_config(**{"batch": 256, **kw})
    results = train_supervised_ensemble(config, range(members))
    per = sum(r["samples_per_s"] for r in results) / len(results)
    return Row(
        name,
        f"{per:,.0f} samples/s per member, {per * len(results):,.0f} in all",
        None,
        time.perf_counter() - t,
    )


def default_checks(skip_tests: bool = False) -> list[Check]:
    """The checks of a full run, in order."""
    checks: list[Check] = [] if skip_tests else [cuda_tests]
    return [*checks, generation, equality, stepping, supervised, ensemble]


# -- the table --------------------------------------------------------------------------------
def markdown_table(info: dict[str, str], rows: Sequence[Row], when: str) -> str:
    """The section written into the results file: the machine, then one table row per
    check (✓ passed, ✗ failed, blank: a measurement)."""
    mark = {True: "pass", False: "**FAIL**", None: ""}
    lines = [
        BEGIN,
        "## GPU check (`python benchmarks/gpu_check.py`)",
        "",
        f"**{info['card']}**, driver {info['driver']}, torch {info['torch']} (CUDA "
        f"{info['cuda']}), numba {info['numba']}, Python {info['python']}; {when}.",
        "",
        "| check | result | status | seconds |",
        "|---|---|---|---:|",
    ]
    for r in rows:
        cells = (r.check, r.result, mark[r.ok], f"{r.seconds:.1f}")
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    lines.append(END)
    return "\n".join(lines) + "\n"


def replace_section(text: str, section: str) -> str:
    """``text`` with its `BEGIN` .. `END` section replaced by ``section`` (appended, after a
    blank line, where there is none)."""
    start = text.find(BEGIN)
    end = text.find(END, start) if start >= 0 else -1
    if start >= 0 and end >= 0:
        return text[:start] + section + text[end + len(END) :].lstrip("\n")
    return text.rstrip("\n") + "\n\n" + section if text.strip() else section


def run(checks: Sequence[Check], results: Path, info: dict[str, str]) -> int:
    """Runs ``checks`` (an exception fails its check), writes the table into ``results``
    and prints it; returns 1 if any check failed, else 0."""
    rows: list[Row] = []
    for check in checks:
        t = time.perf_counter()
        try:
            out = check()
        except Exception as e:  # a check that crashes is a failed check, the others still run
            out = Row(check.__name__, f"error: {type(e).__name__}: {e}", False)
        for row in out if isinstance(out, list) else [out]:
            row.seconds = row.seconds or time.perf_counter() - t
            rows.append(row)
            print(f"{row.check}: {row.result}", flush=True)
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    section = markdown_table(info, rows, when)
    old = results.read_text() if results.exists() else ""
    results.write_text(replace_section(old, section))
    print(section)
    failed = [r.check for r in rows if r.ok is False]
    if failed:
        print(f"gpu_check: FAILED: {', '.join(failed)}", file=sys.stderr)
        return 1
    print(f"gpu_check: every check passed; table written to {results}")
    return 0


def main(
    argv: Sequence[str] | None = None,
    probe: Callable[[], dict[str, str] | None] = device_info,
    checks: Sequence[Check] | None = None,
) -> int:
    """The command; ``probe`` and ``checks`` replace the device query and the checks."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=Path, default=RESULTS, help="markdown file to update")
    parser.add_argument("--skip-tests", action="store_true", help="benchmarks and checks only")
    args = parser.parse_args(argv)
    info = probe()
    if info is None:
        print("gpu_check: no CUDA device (torch.cuda.is_available() is False): nothing to check")
        return 0
    return run(
        checks if checks is not None else default_checks(args.skip_tests), args.results, info
    )


if __name__ == "__main__":
    sys.exit(main())
