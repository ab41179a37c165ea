"""The packed board of the torch backend: one uint8 per square (colour | DECOY | WALL | EXIT)
in rows padded to 8 bytes, three int32 meta columns per level, and `pack` to build them.
"""

from __future__ import annotations

import torch

# A square of a level on the device, one uint8: colour code | DECOY | WALL | EXIT.
COLOR, DECOY, WALL, EXIT = 15, 16, 32, 64
# meta columns of a level: start (flat square index), optimal_length, ambiguous.
START, OPT, AMB = range(3)


def padded(squares: int) -> int:
    """Bytes of one board row on the device: H·W rounded up to 8, so that whole boards are
    gathered and selected as int64 words (several times faster than bytes on the CPU)."""
    return -(-squares // 8) * 8


def pack(
    grid: torch.Tensor,
    color: torch.Tensor,
    start: torch.Tensor,
    exit_: torch.Tensor,
    decoys: torch.Tensor,
    n_decoys: torch.Tensor,
    path_length: torch.Tensor,
    ambiguous: torch.Tensor,
    sq: torch.Tensor,
    meta: torch.Tensor,
    work: torch.Tensor,
) -> None:
    """Packs n levels (tensors of `fastmaze.Levels`' dtypes, all on one device) into pool
    rows: ``sq`` uint8 [n, >= H·W] (bytes past H·W untouched) and ``meta`` int32 [n, 3], the
    bytes `_HostLevels.produce` writes. ``work``: uint8 [>= n, H·W + 1] scratch (its last
    column takes the unused decoy slots). Tensor operations only, no host sync."""
    n, H, W = grid.shape
    HW = H * W
    v = work[:n, : HW + 1]
    v[:, :HW].copy_(torch.bitwise_and(color.reshape(n, HW), COLOR))
    v[:, :HW] |= (grid.reshape(n, HW) != 0).to(torch.uint8) << 5  # WALL
    v[:, HW] = 0
    D = decoys.shape[1]
    if D:
        used = torch.arange(D, device=grid.device) < n_decoys.unsqueeze(1)
        at = torch.where(used, (decoys[..., 0] * W + decoys[..., 1]).long(), HW)
        v.scatter_(1, at, v.gather(1, at) | DECOY)
    at = (exit_[:, 0] * W + exit_[:, 1]).long().unsqueeze(1)
    v.scatter_(1, at, v.gather(1, at) | EXIT)
    sq[:n, :HW].copy_(v[:, :HW])
    meta[:n, START] = start[:, 0] * W + start[:, 1]
    meta[:n, OPT] = path_length
    meta[:n, AMB] = ambiguous.to(torch.int32)
