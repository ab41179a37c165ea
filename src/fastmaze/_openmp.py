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

#: Rounds of the CPU's pause instruction a waiting thread spins before it sleeps: ~20-50 us
#: on current x86 cores (a pause takes ~20-50 ns there), enough to bridge the Python between
#: two calls of a step loop. Kept short because a spinning thread takes a core that others
#: may need: on a loaded 2-core machine (benchmarks/profile_step.py, its wait-policy table)
#: 10,000 rounds made steps at 4,096 envs several times slower than a passive wait.
SPIN_COUNT = 1_000

if "OMP_WAIT_POLICY" not in os.environ and "GOMP_SPINCOUNT" not in os.environ:
    os.environ["GOMP_SPINCOUNT"] = str(SPIN_COUNT)
