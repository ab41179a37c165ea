"""`VecMazeEnv.step` of two builds of fastmaze side by side, in one run, as a markdown table.

    git worktree add ../before <commit> && (cd ../before && python setup.py build_ext --inplace)
    python benchmarks/ab_step.py --before ../before/src --after src

Each case (envs × observation kind × copy mode) runs in its own process with the build on
``PYTHONPATH``, the two builds alternating ``--rounds`` times; a figure is the better of a
build's rounds, each round the median of 5 repetitions of >= 0.25 s. 13×13 boards
(`fastmaze.correlated(0.95)`), auto-reset on, random actions drawn beforehand, rgb at 4
pixels per square, egocentric radius 2, ``--threads`` threads.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

CHILD = r"""
import json, statistics, sys, time
import numpy as np
import fastmaze
n, obs, copy, threads = int(sys.argv[1]), sys.argv[2], sys.argv[3] == "1", int(sys.argv[4])
env = fastmaze.VecMazeEnv(fastmaze.correlated(0.95), n, seed=0, obs=obs, num_threads=threads,
                          pixels=4, copy=copy)
env.reset()
table = np.random.default_rng(0).integers(0, 4, (max(4, min(256, 2_000_000 // n)), n))
table = table.astype(np.int64)
for a in table:
    env.step(a)
rates = []
for _ in range(5):
    t, calls = time.perf_counter(), 0
    while time.perf_counter() - t < 0.25:
        for a in table:
            env.step(a)
        calls += len(table)
    rates.append(calls * n / (time.perf_counter() - t))
print(json.dumps(statistics.median(rates)))
"""

SIZES = (64, 1024, 4096, 65536)
KINDS = ("symbolic", "rgb", "egocentric", "compact")


def rate(src: str, n: int, obs: str, copy: bool, threads: int) -> float:
    """env-steps/s of one case with the build whose package lies in ``src``."""
    env = {**os.environ, "PYTHONPATH": os.path.abspath(src)}
    args = [sys.executable, "-c", CHILD, str(n), obs, str(int(copy)), str(threads)]
    out = subprocess.run(args, env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", required=True, help="src/ folder of the first build")
    parser.add_argument("--after", required=True, help="src/ folder of the second build")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args(argv)
    lines = [
        "| envs | obs | copy | before | after | after / before |",
        "|---|---|---|---|---|---|",
    ]
    print("\n".join(lines), flush=True)
    for n in SIZES:
        for obs in KINDS:
            for copy in (False, True):
                if obs == "rgb" and copy and n > 4096:  # 65,536 rgb images twice: 1 GB
                    continue
                best = {"before": 0.0, "after": 0.0}
                for _ in range(args.rounds):
                    for name in best:
                        r = rate(getattr(args, name), n, obs, copy, args.threads)
                        best[name] = max(best[name], r)
                b, a = best["before"], best["after"]
                row = f"| {n:,} | {obs} | {copy} | {b / 1e6:.1f} | {a / 1e6:.1f} | {a / b:.2f}x |"
                lines.append(row)
                print(row, flush=True)
    return "\n".join(lines)


if __name__ == "__main__":
    main()
