"""Timing: the throughput of a call over repetitions after warm-up, and its statistics.

`measure` and `summarize` import what they use inside their bodies, so that their source can
be sent as it is to another interpreter (a peer library's virtual environment) and time the
peer with exactly the same code as fastmaze.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any


def summarize(rates: Sequence[float]) -> dict[str, float]:
    """Median, min, max and quartiles (``q1``, ``q3``; inclusive method) of ``rates``."""
    import statistics

    values = sorted(float(r) for r in rates)
    if not values:
        raise ValueError("summarize: no rates (expected at least one repetition)")
    if len(values) > 1:
        q1, median, q3 = statistics.quantiles(values, n=4, method="inclusive")
    else:
        q1 = median = q3 = values[0]
    return {"median": median, "min": values[0], "max": values[-1], "q1": q1, "q3": q3}


def calls_per_rep(once: float, min_time: float, max_time: float, min_calls: int = 1) -> int:
    """Calls in a repetition, one call lasting ``once`` s: enough to last >= ``min_time``,
    and >= ``min_calls`` unless that would last over ``max_time`` (at least 1)."""
    import math

    once = max(once, 1e-9)
    calls = max(1, math.ceil(min_time / once))
    return max(calls, min(min_calls, max(1, math.floor(max_time / once))))


def measure(
    call: Callable[[], Any],
    units: float,
    *,
    reps: int = 5,
    min_time: float = 0.2,
    max_time: float = 2.0,
    min_calls: int = 1,
    warmup: int = 1,
    sync: Callable[[], Any] | None = None,
    clock: Callable[[], float] | None = None,
) -> dict[str, Any]:
    """Throughput of ``call``, which does ``units`` of work (levels, env-steps, samples).

    ``warmup`` calls first, untimed for the figures (compilation, JIT, thread pools, first
    touch of buffers); their seconds are returned as ``warmup_s``. Then one timed call sets
    ``calls_per_rep``: enough calls that a repetition lasts >= ``min_time`` s, and at least
    ``min_calls`` (stepping: one episode limit, so each repetition pays for its auto-resets)
    unless that would make a repetition last over ``max_time`` s (`calls_per_rep`). Then ``reps``
    repetitions, each giving ``units * calls_per_rep / seconds``. ``sync`` (e.g.
    ``torch.cuda.synchronize``) runs before the clock is read at the end of each timed
    span; ``clock`` defaults to `time.perf_counter` (tests pass a fake one).

    Returns `summarize` of the rates (``median``, ``min``, ``max``, ``q1``, ``q3``, in
    units/s) with ``rates`` (one per repetition), ``reps``, ``calls_per_rep``,
    ``units_per_call`` and ``warmup_s``.
    """
    import time

    if reps < 1 or warmup < 0 or units <= 0:
        raise ValueError(f"measure: reps >= 1, warmup >= 0, units > 0; got {reps, warmup, units}")
    clock = time.perf_counter if clock is None else clock
    done = sync if sync is not None else (lambda: None)

    t0 = clock()
    for _ in range(warmup):
        call()
    done()
    warmup_s = clock() - t0
    t0 = clock()
    call()
    done()
    calls = calls_per_rep(clock() - t0, min_time, max_time, min_calls)
    rates = []
    for _ in range(reps):
        t0 = clock()
        for _ in range(calls):
            call()
        done()
        rates.append(units * calls / max(clock() - t0, 1e-12))
    return {
        **summarize(rates),
        "rates": rates,
        "reps": reps,
        "calls_per_rep": calls,
        "units_per_call": units,
        "warmup_s": warmup_s,
    }


def ratio(new: float | None, old: float | None) -> float | None:
    """new / old, or None where either is missing or old is zero."""
    if new is None or not old:
        return None
    return new / old


def verdict(new: dict[str, float], old: dict[str, float]) -> str:
    """How ``new`` compares with ``old`` beyond the measured spread of both (min..max):
    ``"slower"`` when even new's fastest repetition is below old's slowest, ``"faster"``
    when new's slowest is above old's fastest, else ``"same"`` (the spreads overlap)."""
    if new["max"] < old["min"]:
        return "slower"
    if new["min"] > old["max"]:
        return "faster"
    return "same"
