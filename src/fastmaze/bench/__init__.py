"""The benchmark suite: the standard workloads, their timing and the report, shared by
``fastmaze bench`` and the pytest-benchmark suites in the repository's ``benchmarks/``.

    fastmaze bench [WORKLOAD ...] [--threads 1,2] [--quick] [--json FILE] [--markdown FILE]
                   [--peers] [--compare OLD.json] [--list]

Modules: `workloads` (the registry: ``generate/...``, ``solve/...``, ``render/...``,
``step/...``, ``torch/...``, ``walk/...``, ``stream/...``, ``feature/...``, ``rule/...``,
``cuda/...``),
`timing` (`measure`: median and spread of >= 5 repetitions after warm-up), `machine`,
`peers` (peer libraries beside their fastmaze twins), `report` (JSON, comparison, Markdown),
`run` (the command).

Every figure is a throughput (levels/s, env-steps/s, samples/s): a warm-up call first
(compilation, JIT, thread pools; its seconds are kept apart as ``warmup_s``), then one call
to size a repetition, then ``reps`` repetitions of ``calls_per_rep`` calls each; the figure
is the median of the repetitions' throughputs, the spread their min..max (and quartiles).

JSON report (``--json FILE``), schema version 1. Fields are only added within a version;
a reader checks ``schema`` and ``schema_version`` (`report.validate` does):

- ``schema``: "fastmaze-bench"; ``schema_version``: 1
- ``created``: UTC time, ISO 8601; ``command``: the exact command line; ``duration_s``
- ``scale``: "full", "quick" or "tiny"; ``threads``: the thread counts [int]
- ``timing``: ``reps``, ``min_time_s`` and ``max_time_s`` (length of a repetition),
  ``warmup_calls``
- ``machine``: ``cpu``, ``logical_cores``, ``usable_cores``, ``memory_bytes``, ``gpus``
  [names], ``platform``, ``environment`` (OMP_NUM_THREADS, OMP_WAIT_POLICY,
  CUDA_VISIBLE_DEVICES where set); ``versions``: {library: version or null} (python,
  fastmaze, numpy, torch, numba, gymnasium, tqdm); ``load_average``: ``before``, ``after``
  ([1, 5, 15 min])
- ``results``: one per workload and thread count: ``workload`` (name), ``group``, ``unit``,
  ``threads`` (int, or null for device work), ``params`` (the workload's arguments: batch,
  num_envs, size, ...), ``info`` (device, level source), ``median``, ``min``, ``max``,
  ``q1``, ``q3`` (units/s), ``rates`` (one per repetition), ``reps``, ``calls_per_rep``,
  ``units_per_call``, ``warmup_s``
- ``skipped``: [{``workload``, ``reason``}] (cannot run here: no torch, no GPU);
  ``failed``: [{``workload``, ``threads``, ``error``}]
- ``peers``: one per peer case: ``family``, ``peer`` (its versions), ``workload``,
  ``unit``, ``batch``, ``peer_threads``, ``notes``, ``peer_result`` (``median``, ``min``,
  ``max``, ``q1``, ``q3``, ``rates``, ``reps``), ``twin`` (the fastmaze workload's name),
  ``fastmaze`` (its results, as in ``results``, each with ``ratio`` = fastmaze / peer);
  ``peers_skipped``: [{``family``, ``reason``, ``install``}]

``--compare OLD.json`` matches results by (``workload``, ``threads``) and gives new / old
medians; a figure is flagged as a regression when the spreads do not overlap (new's fastest
repetition below old's slowest), never through the exit status.
"""

from fastmaze.bench.report import SCHEMA, SCHEMA_VERSION
from fastmaze.bench.timing import measure, summarize
from fastmaze.bench.workloads import WORKLOADS, Prepared, Workload, register, select

__all__ = [
    "SCHEMA",
    "SCHEMA_VERSION",
    "WORKLOADS",
    "Prepared",
    "Workload",
    "measure",
    "register",
    "select",
    "summarize",
]
