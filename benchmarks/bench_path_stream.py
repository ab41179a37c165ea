"""The path task's level stream against training on the CPU: levels/s of the stream alone
(the ``stream/path/<size>`` workloads of `fastmaze.bench.workloads`, the same code as
``fastmaze bench stream``: generate, render, solve for the optimal-action targets in the
background, batches taken as soon as they are ready) beside samples/s of training steps
(forward, backward, Adam) of the `trajectory` experiment's model; the target is a stream at
least 10x faster than training, so that the stream never holds training up.

Run: ``python benchmarks/bench_path_stream.py`` (the default experiment's 3x3 mazes and
model, and 6x6 mazes), ``--tiny`` for a quick check that it runs; or as a pytest-benchmark
suite, ``python -m pytest benchmarks/bench_path_stream.py --benchmark-only``.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import pytest
import torch

import fastmaze as fm
from fastmaze.bench.timing import measure
from fastmaze.bench.workloads import WORKLOADS, Prepared
from fastmaze.train.supervised import SupervisedConfig, build_model, path_loss

TARGET = 10.0  # stream samples/s over training samples/s
MODEL = ("recurrent", {"channels": 32, "iterations": 4})  # the trajectory preset's model
SIZES = ((3, 3), (6, 6))


def path_stream(size: tuple[int, int], batch: int, threads: int) -> Prepared:
    """The ``stream/path/<size>`` workload with ``batch`` levels per batch."""
    w = WORKLOADS[f"stream/path/{size[0]}x{size[1]}"]
    return w.prepare(threads=threads, **{**w.params, "batch": batch})


def stream_rate(size: tuple[int, int], batch: int, min_time: float, threads: int) -> float:
    """Levels per second of the path-task stream: the median of 5 repetitions of at least
    ``min_time`` s each, after its warm-up (`fastmaze.bench.timing.measure`)."""
    prepared = path_stream(size, batch, threads)
    try:
        out = measure(prepared.call, prepared.units, warmup=prepared.warmup, min_time=min_time)
    finally:
        prepared.close()
    return out["median"]


def train_rate(size: tuple[int, int], batch: int, steps: int, model: tuple = MODEL) -> float:
    """Samples per second of training steps on one fixed batch (the stream kept out)."""
    config = SupervisedConfig(
        spec=fm.randomized(0.1, size=size), task="path", model=model[0], model_kwargs=model[1]
    ).resolved()
    net = build_model(config)
    opt = torch.optim.Adam(net.parameters(), lr=config.lr)
    levels = fm.generate(config.spec, batch, 0)
    obs = torch.from_numpy(levels.symbolic())
    target = torch.from_numpy(fm.solve(levels).optimal_actions.reshape(batch, -1))

    def step() -> None:
        loss, _ = path_loss(net(obs), target)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    step()  # warm-up: allocator, oneDNN primitives
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    return steps * batch / (time.perf_counter() - t0)


def report(size: tuple[int, int], batch: int, min_time: float, steps: int, threads: int) -> str:
    stream = stream_rate(size, batch, min_time, threads)
    train = train_rate(size, batch, steps)
    ratio = stream / train
    verdict = "meets" if ratio >= TARGET else "MISSES"
    return (
        f"{size[0]}x{size[1]} mazes, batch {batch}: stream {stream:,.0f} levels/s "
        f"({threads} core thread{'s' if threads > 1 else ''}), training {train:,.0f} "
        f"samples/s ({torch.get_num_threads()} torch threads): {ratio:.1f}x, {verdict} "
        f">= {TARGET:g}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tiny", action="store_true", help="a few steps: check that it runs")
    parser.add_argument("--batch", type=int, default=64, help="levels per batch (default 64)")
    parser.add_argument("--threads", type=int, default=1, help="core threads of the stream")
    args = parser.parse_args()
    min_time, steps = (0.0, 2) if args.tiny else (0.2, 30)
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"torch {torch.__version__}; model {MODEL[0]} {MODEL[1]}"
    )
    for size in SIZES[:1] if args.tiny else SIZES:
        print(report(size, args.batch, min_time, steps, args.threads))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_path_stream_against_training(
    benchmark, timed, machine: str, size: tuple[int, int]
) -> None:
    """Records stream and training throughput and their ratio (no timed assertion)."""
    batch = 64
    median = timed(path_stream(size, batch, 1))
    if median is None:
        return
    stream = batch / median
    train = train_rate(size, batch, 20)
    benchmark.extra_info.update(
        machine=machine,
        size=f"{size[0]}x{size[1]}",
        stream_levels_per_s=stream,
        train_samples_per_s=train,
        ratio=stream / train,
        target=TARGET,
    )


if __name__ == "__main__":
    main()
