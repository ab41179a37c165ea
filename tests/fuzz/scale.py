"""How big the fuzz campaign runs: ``FASTMAZE_FUZZ=N`` multiplies every example count
(default 1, the CI size; e.g. ``FASTMAZE_FUZZ=100`` for a long local run)."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

FUZZ = max(1, int(os.environ.get("FASTMAZE_FUZZ", "1") or 1))


def fuzz(examples: int) -> settings:
    """Settings for a fuzz test: ``examples`` × FASTMAZE_FUZZ examples, no deadline."""
    return settings(
        max_examples=examples * FUZZ,
        deadline=None,
        print_blob=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
