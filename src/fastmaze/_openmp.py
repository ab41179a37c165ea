"""How the compiled core's OpenMP threads wait between parallel regions (imported first by
``fastmaze/__init__.py``: libgomp reads its settings once, when the core loads it).

libgomp's default spins for ~300,000 rounds (milliseconds), which on a busy or shared
machine (or beside PyTorch's threads) takes the cores other work needs; a passive wait
instead pays a futex wake-up of the team (several microseconds) at every batch call. A
short bounded spin keeps the team awake across back-to-back calls (a step loop) and lets it
sleep soon after. A user's OMP_WAIT_POLICY or GOMP_SPINCOUNT wins;
benchmarks/profile_step.py measures the policies side by side.
"""

import os

#: Rounds of the CPU's pause instruction a waiting thread spins before it sleeps: about
#: 10-500 us, by CPU (a pause takes ~1-50 ns).
SPIN_COUNT = 10_000

if "OMP_WAIT_POLICY" not in os.environ and "GOMP_SPINCOUNT" not in os.environ:
    os.environ["GOMP_SPINCOUNT"] = str(SPIN_COUNT)
