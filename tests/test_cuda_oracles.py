"""fastmaze.cuda.oracles: the BFS kernel's ``path_length`` and ``ambiguous`` equal
`fastmaze.solve`'s, level by level; and the torch backend's device level producer, driven by
the real kernels, steps as the native env.

Runners of the same cases (`CASES`), as in ``test_cuda_generate.py``:

- ``sim``: Numba's CUDA simulator, in one subprocess started with ``NUMBA_ENABLE_CUDASIM=1``
  (run it alone with ``python tests/test_cuda_oracles.py``). It also runs the torch
  backend on the CPU with its device producer fed by the simulated kernels (levels copied
  to CPU tensors), against the native env.
- ``gpu``: a real CUDA GPU, in this process; skipped where there is none.
- ``cpu_jit``: the same device source compiled by ``numba.njit``, at larger batches.
"""

from __future__ import annotations

import json
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import fastmaze
from fastmaze import MazeSpec, Mixture

DECOYS = {0: 0.25, 1: 0.25, 2: 0.25, 3: 0.25}


def _spec(size: tuple[int, int], **kw: Any) -> MazeSpec:
    kw.setdefault("n_decoys", DECOYS)
    kw.setdefault("decoy_color", {"green": 0.5, "red": 0.5})
    return MazeSpec(size=size, **kw)


def _cases() -> dict[str, dict[str, Any]]:
    """name -> {spec, n, seed, start, threads}. Small batches: the simulator is slow."""
    c: dict[str, dict[str, Any]] = {}

    def add(name: str, spec: Any, n: int = 24, seed: int = 0, start: int = 0, **kw: Any) -> None:
        c[name] = {"spec": spec, "n": n, "seed": seed, "start": start, **kw}

    for alg in ("backtracker", "kruskal", "prim", "wilson"):
        add(f"{alg}-perfect", _spec((6, 6), algorithm=alg), seed=1)
        add(f"{alg}-loops", _spec((6, 6), algorithm=alg, loops=0.4), seed=2)
    add("open", _spec((5, 7), algorithm="open"), seed=3)
    add("open-many-decoys", _spec((4, 4), algorithm="open", n_decoys=5), seed=4)
    add("no-decoys", _spec((6, 6), n_decoys=0), seed=5)
    add("three-decoys", _spec((6, 6), n_decoys=3, loops=0.8), seed=6)
    add("tiny", _spec((2, 2), n_decoys={0: 0.5, 1: 0.5}), seed=7)
    add("thin", _spec((2, 9), n_decoys=2), seed=8)
    add("min-distance", _spec((6, 6), min_distance=9, algorithm="wilson"), seed=9)
    add("mixture", Mixture.of(
        (_spec((6, 6), loops=0.5), 0.5),
        (_spec((6, 6), algorithm="open", n_decoys=3), 0.3),
        (_spec((6, 6), n_decoys=0), 0.2),
    ), n=32, seed=10)  # fmt: skip
    add("13x13", _spec((13, 13), loops=0.1), n=8, seed=11)
    add("grid-stride", _spec((6, 6), loops=0.2), n=20, seed=12, threads=3)
    add("big-ids", _spec((5, 5), loops=0.3), seed=2**64 - 1, start=2**40 + 3)
    add("empty", _spec((3, 5)), n=0)
    return c


CASES = _cases()


def compare(name: str, case: dict[str, Any]) -> list[str]:
    """Mismatches between fastmaze.cuda.oracles and fastmaze.solve for one case."""
    import fastmaze.cuda

    spec, n, seed, start = case["spec"], case["n"], case["seed"], case["start"]
    want = fastmaze.solve(fastmaze.generate(spec, n, seed, start))
    try:
        dev = fastmaze.cuda.generate(spec, n, seed, start, check=False)
        got = fastmaze.cuda.oracles(dev, threads=case.get("threads"))
        path_length, ambiguous = (_host(a) for a in got)
    except Exception as e:  # reported, not raised: one case must not hide the others
        return [f"{type(e).__name__}: {e}"]
    bad = []
    for what, a, b in (("path_length", want.path_length, path_length),
                       ("ambiguous", want.ambiguous, ambiguous)):  # fmt: skip
        if a.shape != b.shape or a.dtype != b.dtype or not np.array_equal(a, b):
            bad.append(f"{what}: {b.dtype}{b.shape} != solve's {a.dtype}{a.shape} or differs")
    return bad


def _host(a: Any) -> np.ndarray:
    return a.copy_to_host() if hasattr(a, "copy_to_host") else a.cpu().numpy()


# -- the torch backend's device producer, fed by the simulated kernels -------------------------
def compare_env() -> list[str]:
    """Steps the torch backend (CPU tensors) with its device producer, fed by the kernels
    (``fastmaze.cuda.generate`` + ``oracles``, outputs copied to CPU tensors), against the
    native env; returns the failures."""
    try:
        import torch
    except ImportError:
        return []
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from types import SimpleNamespace

    import test_torch_env as tt

    import fastmaze.cuda
    from fastmaze.torch_env.producers import DeviceLevels

    def generate(spec: Any, n: int, seed: int, start: int) -> SimpleNamespace:
        dev = fastmaze.cuda.generate(spec, n, seed, start, check=False)
        host = dev.to_host()
        arrays = {k: torch.from_numpy(getattr(host, k)) for k in tt.LEVEL_ARRAYS}
        return SimpleNamespace(**arrays, failed=torch.from_numpy(_host(dev.failed)), dev=dev)

    def oracles(lv: SimpleNamespace) -> tuple[Any, Any]:
        return tuple(torch.from_numpy(_host(a)) for a in fastmaze.cuda.oracles(lv.dev))

    def producer(env: Any) -> DeviceLevels:
        return DeviceLevels(env, env.block_size, generate, oracles)

    bad = []
    for mode in tt.MODES:
        for kw in ({}, {"num_levels": 7, "block_size": 3}):
            try:
                ended, env = tt._compare("cpu", mode, tt.RULES[1], steps=60, producer=producer,
                                         **kw)  # fmt: skip
                assert ended > 3, ended
                env.check()
            except Exception as e:
                bad.append(f"{mode} {kw}: {type(e).__name__}: {e}")
    return bad


# -- the simulator, in a subprocess -----------------------------------------------------------
def _sim_worker(out: str | None) -> int:
    warnings.filterwarnings("ignore", "overflow encountered", RuntimeWarning)  # uint64 wrap
    import fastmaze.cuda

    avail = fastmaze.cuda.available()
    result = {"available": bool(avail), "simulator": avail.simulator, "reason": avail.reason}
    result["cases"] = {name: compare(name, case) for name, case in CASES.items()}
    result["env"] = compare_env()
    text = json.dumps(result, indent=1)
    if out:
        Path(out).write_text(text)
    else:
        print(text)
    return int(any(result["cases"].values()) or bool(result["env"]))


@pytest.fixture(scope="module")
def sim_results(
    tmp_path_factory: pytest.TempPathFactory, run_under_cudasim: Callable[..., None]
) -> dict[str, Any]:
    pytest.importorskip("numba", reason="fastmaze.cuda needs numba")
    out = tmp_path_factory.mktemp("cudasim") / "results.json"
    run_under_cudasim(__file__, out, "--out", str(out))
    results = json.loads(out.read_text())
    if not results["simulator"]:
        pytest.skip(f"Numba's CUDA simulator did not start: {results['reason']}")
    return results


@pytest.mark.parametrize("name", list(CASES))
def test_simulator_matches_solve(sim_results: dict[str, Any], name: str) -> None:
    assert sim_results["cases"][name] == []


def test_simulator_device_producer_matches_native(sim_results: dict[str, Any]) -> None:
    pytest.importorskip("torch")
    assert sim_results["env"] == []


# -- a real GPU, in this process --------------------------------------------------------------
def _gpu() -> Any:
    pytest.importorskip("numba", reason="fastmaze.cuda needs numba")
    import fastmaze.cuda

    avail = fastmaze.cuda.available()
    if not avail or avail.simulator:
        pytest.skip(f"no CUDA GPU: {avail.reason}")
    return fastmaze.cuda


@pytest.mark.parametrize("name", list(CASES))
def test_gpu_matches_solve(name: str) -> None:
    _gpu()
    assert compare(name, CASES[name]) == []


def test_gpu_large_batch_matches_solve() -> None:
    fc = _gpu()
    for spec in (_spec((12, 12), loops=0.2, algorithm="wilson"), _spec((25, 25), n_decoys=3)):
        dev = fc.generate(spec, 20_000, seed=5, start=10**9)
        path_length, ambiguous = (_host(a) for a in fc.oracles(dev))
        want = fastmaze.solve(fastmaze.generate(spec, 20_000, 5, 10**9))
        assert np.array_equal(path_length, want.path_length)
        assert np.array_equal(ambiguous, want.ambiguous)


def test_gpu_outputs_are_device_tensors() -> None:
    fc = _gpu()
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("torch has no CUDA: outputs are numba device arrays")
    path_length, ambiguous = fc.oracles(fc.generate(_spec((6, 6)), 100, seed=1))
    assert path_length.is_cuda and path_length.dtype == torch.int32
    assert ambiguous.is_cuda and ambiguous.dtype == torch.bool


# -- the same device source, compiled for the CPU ---------------------------------------------
CPU_EXTRA = {
    "25x25-loops": _spec((25, 25), loops=0.1, algorithm="kruskal"),
    "25x25-open": _spec((25, 25), algorithm="open", n_decoys=3),
    "127x3": _spec((127, 3), loops=0.5, n_decoys=4),
    "2x127-perfect": _spec((2, 127), n_decoys=5),
}


@pytest.mark.parametrize("name", list(CASES) + list(CPU_EXTRA))
def test_cpu_jit_matches_solve(name: str) -> None:
    pytest.importorskip("numba", reason="fastmaze.cuda needs numba")
    from fastmaze.cuda.bfs import _oracles_cpu

    case = dict(CASES.get(name) or {"spec": CPU_EXTRA[name], "n": 300, "seed": 1, "start": 0})
    n = case["n"] and max(case["n"], 3000 if name not in CPU_EXTRA else 300)
    lv = fastmaze.generate(case["spec"], n, case["seed"], min(case["start"], 2**62))
    want = fastmaze.solve(lv)
    path_length, ambiguous = _oracles_cpu(lv)
    assert np.array_equal(path_length, want.path_length)
    assert np.array_equal(ambiguous, want.ambiguous)
    if n and case["spec"].max_decoys:  # the cases exercise both answers
        assert 0 < want.ambiguous.sum() < n or name in ("tiny", "thin")


def test_cpu_jit_odd_boards() -> None:
    """Hand-made boards: an unreachable exit (-1, never ambiguous), a decoy cut off from the
    start, a decoy past n_decoys, a decoy on the only path."""
    pytest.importorskip("numba", reason="fastmaze.cuda needs numba")
    from fastmaze.cuda.bfs import _oracles_cpu

    lv = fastmaze.generate(_spec((3, 3), n_decoys=2, algorithm="open"), 4, seed=1)
    lv.grid[0] = 1
    lv.grid[0, 1:6, 1] = 0  # a corridor down column 1
    lv.grid[0, 1, 2:4] = 0  # and a cell off it
    lv.grid[0, 5, 3] = 0  # an island
    lv.start[0], lv.exit[0] = (1, 1), (0, 1)
    lv.grid[0, 0, 1] = 0
    lv.decoys[0] = [(5, 3), (1, 3)]  # cut off; off the path
    lv.n_decoys[0] = 2
    lv.grid[1] = lv.grid[0]
    lv.grid[1, 0, 1] = 1  # the exit walled in: unreachable
    lv.start[1], lv.exit[1] = (5, 1), (1, 3)
    lv.grid[1, 1, 2] = 1
    lv.decoys[1] = [(3, 1), (1, 1)]
    lv.n_decoys[1] = 2
    lv.grid[2] = lv.grid[0]
    lv.start[2], lv.exit[2] = (5, 1), (0, 1)
    lv.decoys[2] = [(1, 3), (3, 1)]  # the second, on the path, is past n_decoys = 1
    lv.n_decoys[2] = 1
    lv.grid[3] = lv.grid[2]
    lv.start[3], lv.exit[3] = (5, 1), (0, 1)
    lv.decoys[3] = [(1, 3), (3, 1)]
    lv.n_decoys[3] = 2
    want = fastmaze.solve(lv)
    path_length, ambiguous = _oracles_cpu(lv)
    assert want.path_length.tolist() == [1, -1, 5, 5]
    assert want.ambiguous.tolist() == [False, False, False, True]
    assert np.array_equal(path_length, want.path_length)
    assert np.array_equal(ambiguous, want.ambiguous)


def test_kernel_ptx_is_integer_only(ptx_sm80: Callable[..., str]) -> None:
    """The kernel compiles for a real GPU (sm_80): no floating point, no allocation (no
    malloc, no local arrays)."""
    from fastmaze.cuda.bfs import build_kernel

    lv = fastmaze.generate(_spec((3, 3)), 2)
    args = (np.int64(2), np.int64(7), np.int64(7), np.int64(9), np.int64(3), lv.grid,
            lv.start, lv.exit, lv.decoys, lv.n_decoys, np.zeros(2, np.int32),
            np.zeros(2, np.bool_), *(np.zeros((81, 2), np.int32) for _ in range(3)))  # fmt: skip
    ptx = ptx_sm80(build_kernel, args)
    ops = [w[0] for w in (line.split() for line in ptx.splitlines()) if w]
    assert not [op for op in ops if ".f32" in op or ".f64" in op or ".f16" in op]
    assert "malloc" not in ptx and ".local" not in ptx


def test_oracles_bad_shapes() -> None:
    pytest.importorskip("numba")
    from types import SimpleNamespace

    import fastmaze.cuda

    lv = fastmaze.generate(_spec((3, 3)), 4)
    bad = SimpleNamespace(**{k: getattr(lv, k) for k in ("grid", "start", "exit", "decoys")},
                          n_decoys=lv.n_decoys[:3])  # fmt: skip
    with pytest.raises(ValueError, match="n_decoys"):
        fastmaze.cuda.oracles(bad)


def test_generate_refuses_rules() -> None:
    pytest.importorskip("numba")
    import fastmaze.cuda
    import fastmaze.examples as ex

    spec = _spec((3, 3)).replace(rules=(ex.paint_exit_neighbours_blue,))
    with pytest.raises(ValueError, match="rules"):
        fastmaze.cuda.generate(spec, 4)


if __name__ == "__main__":  # the simulator worker (see the module docstring)
    args = sys.argv[1:]
    sys.exit(_sim_worker(args[args.index("--out") + 1] if "--out" in args else None))
