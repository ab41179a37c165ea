"""Generation throughput on a CUDA GPU: complete levels per second from
`fastmaze.cuda.generate` (kernel, output allocation and the placement check; the levels stay
on the device), for 13×13 and 25×25 boards (6×6 and 12×12 cells) at 65,536 and 1,048,576
levels. The spec is `bench_generate.bench_spec`'s (one decoy, exit and decoy colours).
And the BFS oracles kernel (`fastmaze.cuda.oracles`: ``path_length`` and ``ambiguous``) on
levels already on the device, three decoys, perfect mazes and mazes with loops.

Skips without a GPU (and under Numba's CUDA simulator). The card's name is recorded in each
benchmark's ``extra_info`` (``card``); run with
``python -m pytest benchmarks/bench_cuda.py --benchmark-only``.
"""

from __future__ import annotations

import pytest

from fastmaze import MazeSpec

BOARDS = {"13x13": 6, "25x25": 12}  # board squares -> cells per side
BATCHES = (65_536, 1_048_576)
ALGORITHMS = ("backtracker", "wilson")
ROUNDS = 5


def _spec(cells: int, algorithm: str) -> MazeSpec:
    return MazeSpec(
        size=(cells, cells),
        algorithm=algorithm,
        exit_color={"green": 0.9, "red": 0.1},
        n_decoys=1,
        decoy_color={"green": 0.5, "red": 0.5},
    )


@pytest.fixture(scope="module")
def gpu() -> tuple:
    """(fastmaze.cuda, card name, synchronize)."""
    pytest.importorskip("numba", reason="fastmaze.cuda needs numba")
    import fastmaze.cuda

    avail = fastmaze.cuda.available()
    if not avail or avail.simulator:
        pytest.skip(f"no CUDA GPU: {avail.reason}")
    from numba import cuda

    name = cuda.get_current_device().name
    return fastmaze.cuda, name.decode() if isinstance(name, bytes) else name, cuda.synchronize


@pytest.mark.parametrize("batch", BATCHES, ids=lambda n: f"{n}lv")
@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("board", list(BOARDS))
def test_cuda_generate_throughput(benchmark, gpu: tuple, board: str, algorithm: str, batch: int):
    fc, card, synchronize = gpu
    spec = _spec(BOARDS[board], algorithm)
    fc.generate(spec, 4096, seed=1)  # compiles the kernel, allocates the scratch
    synchronize()

    seeds = iter(range(10**6))

    def run():
        levels = fc.generate(spec, batch, seed=next(seeds))  # check=True: reads back (syncs)
        synchronize()
        return levels

    levels = benchmark.pedantic(run, rounds=ROUNDS, iterations=1, warmup_rounds=1)
    assert len(levels) == batch
    if benchmark.disabled:
        return
    median = benchmark.stats.stats.median
    benchmark.extra_info.update(
        {
            "card": card,
            "board": board,
            "cells": f"{BOARDS[board]}x{BOARDS[board]}",
            "algorithm": algorithm,
            "batch": batch,
            "levels_per_s": batch / median,
            "levels_per_s_best": batch / benchmark.stats.stats.min,
            "seconds_per_call": median,
        }
    )
    print(f"\n{card}: {board} board, {algorithm}, {batch:,} levels: {batch / median:,.0f} levels/s")


# -- the BFS oracles kernel --------------------------------------------------------------------
ORACLE_DECOYS = 3


@pytest.mark.parametrize("batch", BATCHES, ids=lambda n: f"{n}lv")
@pytest.mark.parametrize("loops", [0.0, 0.3], ids=lambda x: f"loops{x}")
@pytest.mark.parametrize("board", list(BOARDS))
def test_cuda_oracles_throughput(benchmark, gpu: tuple, board: str, loops: float, batch: int):
    """`fastmaze.cuda.oracles` (path_length and ambiguous by two BFS per level) on levels
    already on the device; levels per second of the kernel alone (plus its launch)."""
    fc, card, synchronize = gpu
    cells = BOARDS[board]
    spec = MazeSpec(
        size=(cells, cells),
        loops=loops,
        n_decoys=ORACLE_DECOYS,
        decoy_color={"green": 0.5, "red": 0.5},
    )
    levels = fc.generate(spec, batch, seed=1)
    fc.oracles(levels)  # compiles the kernel, allocates the scratch
    synchronize()

    def run():
        out = fc.oracles(levels)
        synchronize()
        return out

    path_length, _ = benchmark.pedantic(run, rounds=ROUNDS, iterations=1, warmup_rounds=1)
    assert len(path_length) == batch
    if benchmark.disabled:
        return
    median = benchmark.stats.stats.median
    benchmark.extra_info.update(
        {
            "card": card,
            "board": board,
            "cells": f"{cells}x{cells}",
            "loops": loops,
            "decoys": ORACLE_DECOYS,
            "batch": batch,
            "levels_per_s": batch / median,
            "levels_per_s_best": batch / benchmark.stats.stats.min,
            "seconds_per_call": median,
        }
    )
    print(f"\n{card}: oracles, {board} board, loops {loops}, {batch:,} levels: "
          f"{batch / median:,.0f} levels/s")  # fmt: skip
