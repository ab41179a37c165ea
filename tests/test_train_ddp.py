"""DDP with two gloo processes: disjoint levels per rank, identical parameters after
every update."""

from __future__ import annotations

import os
import socket

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import fastmaze  # noqa: E402
from fastmaze.train.distributed import Dist, id_range  # noqa: E402

PACKAGE_ROOT = str(Path(fastmaze.__file__).resolve().parents[1])  # the fastmaze under test

# One rank, run as its own process (as torchrun would) with RANK, WORLD_SIZE, MASTER_* set.
WORKER = """
import os, sys
import numpy as np, pytest, torch
import torch.distributed as tdist
import fastmaze as fm
from fastmaze.train.distributed import all_reduce_mean, init_distributed
from fastmaze.train.supervised import SupervisedConfig, train_supervised

folder, rank, world = sys.argv[1], int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
torch.set_num_threads(1)
dist = init_distributed("cpu")
assert dist.world_size == world and dist.rank == rank and dist.is_main == (rank == 0)
assert all_reduce_mean(float(rank), dist) == pytest.approx((world - 1) / 2)
params = []
for steps in (1, 2, 3):  # the parameters after each of the first three updates
    r = train_supervised(
        SupervisedConfig(
            spec=fm.correlated(0.9, size=(3, 3)), steps=steps, batch=16, seed=0,
            progress=False, threads=1, eval_episodes=10,
            model_kwargs={"channels": 8, "depth": 2},
        ),
        dist,
    )
    params.append(torch.cat([p.detach().flatten() for p in r["model"].parameters()]))
np.save(os.path.join(folder, f"ids{rank}.npy"), r["batch_id_ranges"])
np.save(os.path.join(folder, f"params{rank}.npy"), torch.stack(params).numpy())
path = train_supervised(  # the path task: policy-map targets, recurrent model
    SupervisedConfig(
        spec=fm.randomized(0.5, size=(3, 3)), task="path", model="recurrent", steps=2,
        batch=16, seed=0, progress=False, threads=1, eval_episodes=10,
        model_kwargs={"channels": 4, "iterations": 2},
    ),
    dist,
)
np.save(os.path.join(folder, f"path_ids{rank}.npy"), path["batch_id_ranges"])
flat = torch.cat([p.detach().flatten() for p in path["model"].parameters()])
np.save(os.path.join(folder, f"path_params{rank}.npy"), flat.numpy())
ens = train_supervised(  # an ensemble of seeds 0 and 1: each one's ids split over the ranks
    SupervisedConfig(
        spec=fm.correlated(0.9, size=(3, 3)), steps=2, batch=8, seed=0, ensemble=2,
        progress=False, threads=1, eval_episodes=10, model_kwargs={"channels": 4, "depth": 2},
    ),
    dist,
)
alone = train_supervised(SupervisedConfig(**ens["members"][1]["config"]), dist)
np.save(os.path.join(folder, f"ens_ids{rank}.npy"),
        np.stack([m["batch_id_ranges"] for m in ens["members"] + [alone]]))
np.save(os.path.join(folder, f"ens_params{rank}.npy"), torch.stack(
    [torch.cat([p.detach().flatten() for p in m["model"].parameters()])
     for m in ens["members"] + [alone]]).numpy())
if rank == 0:  # the realised statistics cover both ranks' levels
    assert path["stream_stats"]["levels"] == 2 * 16 * world, path["stream_stats"]
    assert set(path["metrics"]["conflict"]) >= {"exit", "proxy", "other", "neither"}
tdist.destroy_process_group()
os._exit(0)  # skip interpreter teardown, where torch's thread pools have aborted the process
"""


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run_ranks(folder: Path, world: int) -> None:
    script = folder / "worker.py"
    script.write_text(WORKER)
    port = str(_port())
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), str(folder)],
            env=dict(
                os.environ,
                MASTER_ADDR="127.0.0.1",
                MASTER_PORT=port,
                RANK=str(rank),
                WORLD_SIZE=str(world),
                LOCAL_RANK=str(rank),
                OMP_NUM_THREADS="1",
                PYTHONPATH=os.pathsep.join([PACKAGE_ROOT, os.environ.get("PYTHONPATH", "")]),
            ),
            cwd=folder,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for rank in range(world)
    ]
    for rank, proc in enumerate(procs):
        out, _ = proc.communicate(timeout=300)
        assert proc.returncode == 0, f"rank {rank} failed:\n{out.decode()}"


def test_two_gloo_processes(tmp_path) -> None:
    _run_ranks(tmp_path, 2)
    ids = [np.load(tmp_path / f"ids{r}.npy") for r in (0, 1)]
    spans = [set(range(lo, hi + 1)) for r in ids for lo, hi in r]
    assert len(spans) == 6 and all(len(s) == 16 for s in spans)
    assert sum(len(s) for s in spans) == len(set().union(*spans))  # disjoint
    p0, p1 = (np.load(tmp_path / f"params{r}.npy") for r in (0, 1))
    np.testing.assert_array_equal(p0, p1)
    assert not np.array_equal(p0[0], p0[2])  # the updates changed something
    path_ids = [np.load(tmp_path / f"path_ids{r}.npy") for r in (0, 1)]
    spans = [set(range(lo, hi + 1)) for r in path_ids for lo, hi in r]
    assert len(spans) == 4 and sum(len(s) for s in spans) == len(set().union(*spans))
    np.testing.assert_array_equal(
        np.load(tmp_path / "path_params0.npy"), np.load(tmp_path / "path_params1.npy")
    )
    # Ensemble: the ranks split every member's ids; ranks agree; seed 1 alone is member 1.
    ens_ids = [np.load(tmp_path / f"ens_ids{r}.npy") for r in (0, 1)]  # [member + alone, 2, 2]
    for m in (0, 1):
        spans = [set(range(lo, hi + 1)) for r in ens_ids for lo, hi in r[m]]
        assert len(spans) == 4 and sum(len(s) for s in spans) == len(set().union(*spans)) == 32
    for r in ens_ids:
        np.testing.assert_array_equal(r[2], r[1])
    e0, e1 = (np.load(tmp_path / f"ens_params{r}.npy") for r in (0, 1))
    np.testing.assert_array_equal(e0, e1)
    np.testing.assert_array_equal(e0[2], e0[1])  # bitwise, through DDP too
    assert not np.array_equal(e0[0], e0[1])


def test_id_range_partitions() -> None:
    for world in (1, 2, 3, 5):
        got = [
            id_range(7, 23, Dist(r, world, r, torch.device("cpu"), r == 0)) for r in range(world)
        ]
        ids = [i for s, n in got for i in range(s, s + n)]
        assert ids == list(range(7, 30))
