"""Test configuration: a hypothesis profile for CI runs (``--hypothesis-profile ci``)."""

from hypothesis import settings

# Property tests that set their own @settings keep their max_examples; the profile sets the
# default for the others and the shared options (no deadline: the first call may compile or
# start OpenMP threads, and CI machines are noisy).
settings.register_profile("ci", max_examples=100, deadline=None, print_blob=True)
