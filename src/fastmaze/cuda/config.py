"""JIT flags and launch sizes of the CUDA generator, in one place.

(The package has no ``fastmaze/jit.py``; if one appears, these flags belong there.)

``fastmath`` must stay off: the generator is byte-identical to the C core only with IEEE
double division and no contraction of the colour draws' arithmetic (``fm_rescale``).
"""

from __future__ import annotations

#: Options of every ``numba.cuda.jit`` device function.
DEVICE_JIT: dict = {"device": True, "fastmath": False}
#: Options of the kernel.
KERNEL_JIT: dict = {"fastmath": False}
#: Options of the CPU (``numba.njit``) build of the same device code, used by the tests to
#: check Numba's compiled integer semantics at scale without a GPU.
CPU_JIT: dict = {"fastmath": False, "nogil": True, "cache": False}

#: Threads per block of the generation kernel.
THREADS_PER_BLOCK = 128
#: Resident threads per SM aimed at (grid-stride loop beyond that).
THREADS_PER_SM = 2048
#: Upper bound on the per-thread scratch (board, stacks, ...) held on the device, in bytes.
SCRATCH_BUDGET = 2 << 30
