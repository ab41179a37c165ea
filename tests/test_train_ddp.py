"""DDP with two gloo processes: disjoint levels per rank, identical parameters after
every update."""

from __future__ import annotations

import os
import socket

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import torch.multiprocessing as mp  # noqa: E402

from fastmaze.train.distributed import Dist, id_range  # noqa: E402


def _worker(rank: int, world: int, port: int, folder: str) -> None:
    os.environ.update(
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        RANK=str(rank),
        WORLD_SIZE=str(world),
        LOCAL_RANK=str(rank),
    )
    torch.set_num_threads(1)
    import torch.distributed as tdist

    import fastmaze as fm
    from fastmaze.train.distributed import all_reduce_mean, init_distributed
    from fastmaze.train.supervised import SupervisedConfig, train_supervised

    dist = init_distributed("cpu")
    assert dist.world_size == world and dist.rank == rank and dist.is_main == (rank == 0)
    assert all_reduce_mean(float(rank), dist) == pytest.approx((world - 1) / 2)
    params = []
    for steps in (1, 2, 3):  # the parameters after each of the first three updates
        r = train_supervised(
            SupervisedConfig(
                spec=fm.correlated(0.9, size=(3, 3)),
                steps=steps,
                batch=16,
                seed=0,
                progress=False,
                threads=1,
                eval_episodes=10,
                model_kwargs={"channels": 8, "depth": 2},
            ),
            dist,
        )
        params.append(torch.cat([p.detach().flatten() for p in r["model"].parameters()]))
    np.save(os.path.join(folder, f"ids{rank}.npy"), r["batch_id_ranges"])
    np.save(os.path.join(folder, f"params{rank}.npy"), torch.stack(params).numpy())
    tdist.destroy_process_group()


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_gloo_processes(tmp_path) -> None:
    mp.spawn(_worker, args=(2, _port(), str(tmp_path)), nprocs=2, join=True)
    ids = [np.load(tmp_path / f"ids{r}.npy") for r in (0, 1)]
    spans = [set(range(lo, hi + 1)) for r in ids for lo, hi in r]
    assert len(spans) == 6 and all(len(s) == 16 for s in spans)
    assert sum(len(s) for s in spans) == len(set().union(*spans))  # disjoint
    p0, p1 = (np.load(tmp_path / f"params{r}.npy") for r in (0, 1))
    np.testing.assert_array_equal(p0, p1)
    assert not np.array_equal(p0[0], p0[2])  # the updates changed something


def test_id_range_partitions() -> None:
    for world in (1, 2, 3, 5):
        got = [
            id_range(7, 23, Dist(r, world, r, torch.device("cpu"), r == 0)) for r in range(world)
        ]
        ids = [i for s, n in got for i in range(s, s + n)]
        assert ids == list(range(7, 30))
