"""Counter-based randomness: the Python ports of ``csrc/rng.h``, side by side.

Every draw of fastmaze is a pure function of (seed, level id, stream), so the same bytes
come out whatever the batch, chunking, threads or device. ``csrc/rng.h`` is the reference;
this package holds its ports, each tested bit for bit against the C core on the same
(seed, id) inputs (``tests/test_rng.py``):

- `fastmaze.rng.constants`: the constants of ``rng.h`` (multipliers, streams, factor steps).
- `fastmaze.rng.numpy_port`: vectorised over level ids, on the host (counterfactual twins,
  rule conditioning, the initial rule streams).
- `fastmaze.rng.numba_port`: one stream drawn inside a Numba kernel (rules).
- `fastmaze.rng.cuda_port`: device functions of the CUDA generator (`fastmaze.cuda`).

Change the stream in ``rng.h`` and every port here with it. The ports are modules of one
package rather than one module because they need different things at import: the numpy port
only numpy (it loads with ``import fastmaze``), the Numba port numba (optional), the CUDA
port the decorator it is built with.

This package is also the API of a rule's ``rng`` argument. A rule receives its level's
stream (rule k of a spec uses stream ``RULE_STREAM + k``) and calls::

    k = fm.rng.below(rng, n)      # uniform int in [0, n), n < 2**32
    u = fm.rng.uniform(rng)       # uniform float in [0, 1), 53 bits

Importing this package imports no Numba; `below`, `uniform` and `next64` (from
`numba_port`) load on first use.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fastmaze.rng import numpy_port

#: Stream of rule 0 of a spec; rule k uses RULE_STREAM + k (csrc/rng.h streams are 1..3).
RULE_STREAM = 16
_KERNELS = ("below", "next64", "uniform")


def for_levels(seed: int, ids: np.ndarray, stream: int) -> np.ndarray:
    """uint64 [m, 3]: fresh streams of levels ``ids`` (``fm_rng_for(seed, id, stream)``)."""
    return numpy_port.rng_for(seed, ids, stream)


def __getattr__(name: str) -> Any:
    if name in _KERNELS:
        from fastmaze.rng import numba_port

        return getattr(numba_port, name)
    raise AttributeError(f"module 'fastmaze.rng' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_KERNELS])
