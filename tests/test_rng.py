"""The Python ports of csrc/rng.h (fastmaze.rng) agree bit for bit with the C core.

Each port runs the same draw programs on the same (seed, id, stream) inputs as
``_core.rng_program`` / ``_core.weyl_draws``, which call rng.h itself: the numpy port, the
Numba port of rules, and the CUDA port compiled by ``numba.njit``, run as plain Python (what
the CUDA simulator does with device functions) and launched as a real kernel under
``NUMBA_ENABLE_CUDASIM=1`` (a subprocess: the variable must be set before numba loads).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import fastmaze
from fastmaze import _core
from fastmaze.rng import constants, cuda_port, numpy_port

SEEDS = (0, 1, 9, 0xDEADBEEF, 2**63, 2**64 - 1)
IDS = np.array([0, 1, 2, 7, 1000, 123456789, 2**40 + 3, 2**62, 2**63 - 1], dtype=np.int64)
STREAMS = (1, 2, 3, 16, 17)
# Programs mixing reservoir draws of every width, so refills fall at different points.
NEXT, BITS, BELOW, BELOW4 = _core.RNG_NEXT, _core.RNG_BITS, _core.RNG_BELOW, _core.RNG_BELOW4
PROGRAMS = {
    "next": [(NEXT, 0)] * 4,
    "below": [(BELOW, 1000), (BELOW, 1), (BELOW, 2**32 - 1), (BELOW, 6), (BELOW, 3)],
    "bits": [(BITS, 1), (BITS, 32), (BITS, 7), (BITS, 31), (BITS, 2), (BITS, 30), (NEXT, 0)],
    "below4": [(BELOW4, 4), (BELOW4, 3), (BELOW4, 1), (BELOW4, 2)] * 12 + [(BELOW, 5)],
    "mixed": [(BITS, 5), (BELOW, 77), (NEXT, 0), (BELOW4, 3), (BELOW, 2**31), (BITS, 32)],
}


def _c_program(seed: int, stream: int, program: list[tuple[int, int]]) -> np.ndarray:
    ops = np.array([op for op, _ in program], dtype=np.int32)
    args = np.array([a for _, a in program], dtype=np.int64)
    return _core.rng_program(seed, IDS, stream, ops, args)


def _cases():
    for seed in SEEDS:
        for stream in STREAMS:
            for name, program in PROGRAMS.items():
                yield seed, stream, name, program


def test_numpy_port_matches_core() -> None:
    for seed, stream, _name, program in _cases():
        if any(op in (BITS, BELOW4) for op, _ in program):
            continue  # the numpy port draws whole words and fm_below only
        states = numpy_port.rng_for(seed, IDS, stream)
        got = np.stack(
            [
                numpy_port.next64(states) if op == NEXT else numpy_port.below(states, arg)
                for op, arg in program
            ],
            axis=1,
        ).astype(np.uint64)
        np.testing.assert_array_equal(got, _c_program(seed, stream, program))


def test_numpy_port_weyl_offset_and_mix_match_core() -> None:
    for seed in SEEDS:
        for factor in range(-1, 20):
            for slot in (0, 1, 5, 33, 2**64 - 1):
                assert numpy_port.weyl_offset(seed, factor, slot) == _core.weyl_offset(
                    seed, factor, slot
                )
    z = np.array([0, 1, 2**63, 2**64 - 1, 0x0123456789ABCDEF], dtype=np.uint64)
    assert [numpy_port.mix64_int(int(v)) for v in z] == [int(v) for v in numpy_port.mix64(z)]


def test_numba_port_matches_core() -> None:
    pytest.importorskip("numba")
    for seed, stream, _name, program in _cases():
        if any(op in (BITS, BELOW4) for op, _ in program):
            continue  # rules draw with below, next64 and uniform
        want = _c_program(seed, stream, program)
        states = fastmaze.rng.for_levels(seed, IDS, stream)
        for i, state in enumerate(states):
            got = [
                fastmaze.rng.next64(state) if op == NEXT else fastmaze.rng.below(state, arg)
                for op, arg in program
            ]
            assert [int(v) for v in got] == [int(v) for v in want[i]]


def test_numba_port_uniform_is_the_top_53_bits_of_the_next_draw() -> None:
    pytest.importorskip("numba")
    want = _c_program(5, 16, PROGRAMS["next"])
    states = fastmaze.rng.for_levels(5, IDS, 16)
    for i, state in enumerate(states):
        got = [fastmaze.rng.uniform(state) for _ in range(want.shape[1])]
        assert got == [(int(v) >> 11) * 2.0**-53 for v in want[i]]


def _run_cuda_port(R, seed: int, stream: int, program) -> np.ndarray:
    out = np.zeros((len(IDS), len(program)), dtype=np.uint64)
    for i, uid in enumerate(IDS):
        r = np.zeros(3, dtype=np.uint64)
        R.rng_for(r, np.uint64(seed), np.uint64(uid), np.uint64(stream))
        for j, (op, arg) in enumerate(program):
            if op == NEXT:  # fm_next is bits' refill: a word is 64 bits of a fresh draw
                r[0] = r[0] + cuda_port.GOLDEN
                out[i, j] = R.mix64(r[0])
            elif op == BITS:
                out[i, j] = R.bits(r, arg)
            elif op == BELOW:
                out[i, j] = R.below(r, arg)
            else:
                out[i, j] = R.below4(r, arg)
    return out


def _check_cuda_port(R) -> None:
    with np.errstate(over="ignore"):
        for seed, stream, _name, program in _cases():
            if stream == 16:
                continue
            want = _c_program(seed, stream, program)
            np.testing.assert_array_equal(_run_cuda_port(R, seed, stream, program), want)
        for seed in SEEDS:
            for factor in (0, 1, 2):
                want = _core.weyl_draws(seed, factor, IDS)
                got = [R.weyl(np.uint64(seed), factor, np.uint64(u)) for u in IDS]
                np.testing.assert_array_equal(np.array(got, dtype=np.uint64), want)
            for half in (0, 1):
                for slot in (1, 2, 31, 32, 33, 70):
                    want = _core.weyl_draws(seed, 0, IDS, half, slot)
                    got = [R.weyl_slot(np.uint64(seed), half, slot, np.uint64(u)) for u in IDS]
                    np.testing.assert_array_equal(np.array(got, dtype=np.uint64), want)


def test_cuda_port_as_python_matches_core() -> None:
    _check_cuda_port(cuda_port.build(lambda f: f))


def test_cuda_port_compiled_by_njit_matches_core() -> None:
    numba = pytest.importorskip("numba")
    _check_cuda_port(cuda_port.build(numba.njit))


def test_ports_share_the_constants_of_rng_h() -> None:
    header = (Path(__file__).resolve().parent.parent / "csrc" / "rng.h").read_text().lower()
    for value in (
        constants.GOLDEN, constants.MIX1, constants.MIX2, constants.STREAM_MUL,
        constants.FACTOR_MUL, *constants.WEYL_ALPHA, *constants.SLOT_ALPHA,
    ):  # fmt: skip
        assert f"0x{value:016x}" in header
    assert len(constants.SLOT_ALPHA) == 2 * constants.N_SLOT_ALPHA


def test_core_bindings_reject_bad_programs() -> None:
    with pytest.raises(ValueError, match="args"):
        _c_program(0, 1, [(BITS, 33)])
    with pytest.raises(ValueError, match="ops"):
        _c_program(0, 1, [(9, 1)])
    with pytest.raises(ValueError, match="factor"):
        _core.weyl_draws(0, 3, IDS)
    with pytest.raises(ValueError, match="slot"):
        _core.weyl_draws(0, 0, IDS, 0, 0)


# -- the CUDA port launched as a kernel under Numba's CUDA simulator ---------------------------
def _simulated(out: str) -> None:
    """Runs in a subprocess with NUMBA_ENABLE_CUDASIM=1: every (seed, stream, program) as one
    kernel launch, a thread per id; writes {case: draws} as JSON to ``out``."""
    global cuda  # a module global: the simulator swaps it in kernels
    from numba import cuda

    R = cuda_port.build(cuda.jit(device=True))
    results = {}
    with np.errstate(over="ignore"):
        for seed, stream, name, program in _cases():
            ops = np.array([op for op, _ in program], dtype=np.int32)
            args = np.array([a for _, a in program], dtype=np.int64)

            @cuda.jit
            def kernel(seed, stream, ids, ops, args, out):
                i = cuda.grid(1)
                if i < ids.shape[0]:
                    r = cuda.local.array(3, dtype=np.uint64)
                    R.rng_for(r, seed, np.uint64(ids[i]), stream)
                    for j in range(ops.shape[0]):
                        if ops[j] == 0:
                            r[0] = r[0] + cuda_port.GOLDEN
                            out[i, j] = R.mix64(r[0])
                        elif ops[j] == 1:
                            out[i, j] = R.bits(r, args[j])
                        elif ops[j] == 2:
                            out[i, j] = R.below(r, args[j])
                        else:
                            out[i, j] = R.below4(r, args[j])

            draws = np.zeros((len(IDS), len(program)), dtype=np.uint64)
            kernel[1, len(IDS)](np.uint64(seed), np.uint64(stream), IDS, ops, args, draws)
            results[f"{seed}/{stream}/{name}"] = [[str(v) for v in row] for row in draws]
    Path(out).write_text(json.dumps(results))


def test_cuda_port_under_the_simulator_matches_core(
    tmp_path: Path, run_under_cudasim: Callable[..., None]
) -> None:
    pytest.importorskip("numba")
    out = tmp_path / "draws.json"
    run_under_cudasim(__file__, out, str(out), timeout=600)
    got = json.loads(out.read_text())
    for seed, stream, name, program in _cases():
        want = _c_program(seed, stream, program)
        assert got[f"{seed}/{stream}/{name}"] == [[str(v) for v in row] for row in want]


if __name__ == "__main__":
    _simulated(sys.argv[1])
