"""Command line: ``fastmaze generate`` (batches, throughput, realised statistics, files),
``fastmaze show`` (a saved batch as text or PNG), ``fastmaze play`` (a level in the terminal),
``fastmaze experiment`` (presets, needs torch) and ``fastmaze bench`` (the benchmark suite,
`fastmaze.bench`). ``fastmaze`` alone generates the default batch: a million 6×6 Kruskal
mazes whose exit is green 95% of the time, with one decoy, never green.

Errors (a bad file, bad arguments) print one line and exit with status 2; an experiment some
of whose runs failed exits with status 1 (rerun it to retry them).
"""

from __future__ import annotations

import argparse
import decimal
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from fastmaze.presets import correlated
from fastmaze.spec import ALGORITHMS, AnySpec, MazeSpec, Mixture, spec_from_dict

DEFAULT_N = 1_000_000
DEFAULT_CHUNK = 65_536


def default_spec() -> MazeSpec:
    """The spec of ``fastmaze generate`` without --spec: the training stream of the
    green-exit shortcut experiment (exit green 95% of the time, one decoy never green)."""
    return correlated(0.95, algorithm="kruskal")


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    """Raises instead of printing usage and exiting, so `main` reports one line."""

    def error(self, message: str) -> NoReturn:
        raise _UsageError(f"{message} (see {self.prog} --help)")


def _positive(text: str) -> int:
    value = _count(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _count(text: str) -> int:
    """A non-negative integer written plainly, with underscores or in scientific notation
    (``1000000``, ``1_000_000``, ``1e6``; ``2.5e3`` is 2500), as long as it is integral."""
    try:
        value = decimal.Decimal(text.strip())
    except decimal.InvalidOperation:
        value = None
    if value is None or not value.is_finite() or value != value.to_integral_value() or value < 0:
        raise argparse.ArgumentTypeError(
            f"expected a non-negative integer such as 1000000, 1_000_000 or 1e6, got {text!r}"
        )
    return int(value)


def _check_out(path: Path) -> None:
    """Fails early (before any work) when ``path`` cannot be written: a missing folder, a
    folder in its place."""
    folder = path.parent
    if not folder.is_dir():
        raise ValueError(f"--out {path}: the folder {folder} does not exist (create it first)")
    if path.is_dir():
        raise ValueError(f"--out {path}: is a folder; expected a file name")


def _thread_list(text: str) -> list[int]:
    try:
        values = [int(t) for t in text.split(",")]
    except ValueError:
        values = []
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(
            f"expected thread counts >= 1 separated by commas (e.g. 1,2), got {text!r}"
        )
    return values


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser of the ``fastmaze`` command."""
    from fastmaze import __version__

    parser = _Parser(prog="fastmaze", description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", action="version", version=f"fastmaze {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="{generate,show,play,experiment,bench}")

    gen = sub.add_parser("generate", help="generate a batch, print throughput and statistics")
    gen.add_argument("--out", type=Path, help="save the batch to this file (default: no file)")
    gen.add_argument(
        "--n",
        type=_count,
        default=DEFAULT_N,
        help="levels: 1000000, 1_000_000 or 1e6 (default 1e6)",
    )
    gen.add_argument("--seed", type=_count, default=0, help="seed (default 0)")
    gen.add_argument("--start", type=_count, default=0, help="first level id (default 0)")
    gen.add_argument(
        "--size", type=_positive, nargs=2, metavar=("ROWS", "COLS"), help="maze size in cells"
    )
    gen.add_argument("--algorithm", choices=ALGORITHMS, help="carving algorithm")
    gen.add_argument("--loops", type=float, help="fraction of inner walls removed, 0..1")
    gen.add_argument(
        "--spec",
        type=Path,
        metavar="SPEC.json",
        help="spec file (spec_to_dict JSON) instead of the default spec; "
        "--size/--algorithm/--loops override it",
    )
    gen.add_argument("--threads", type=_positive, help="threads (default: every core)")
    gen.add_argument(
        "--chunk",
        type=_positive,
        default=DEFAULT_CHUNK,
        help="levels per core call, the progress step (default %(default)s)",
    )
    gen.add_argument("--no-progress", action="store_true", help="no progress bar")
    gen.set_defaults(run=_generate)

    show = sub.add_parser("show", help="draw saved levels as text or a PNG grid")
    show.add_argument("file", type=Path, metavar="FILE")
    show.add_argument(
        "--index",
        type=int,
        nargs="+",
        metavar="I",
        help="level indices (default: 0, or the first 64 for --png)",
    )
    show.add_argument("--png", type=Path, metavar="OUT.png", help="write a PNG grid instead")
    show.add_argument("--pixels", type=_positive, default=8, help="pixels per square (PNG)")
    show.add_argument("--columns", type=_positive, help="levels per PNG row")
    show.add_argument("--hide-colors", action="store_true", help="draw coloured squares as floor")
    show.set_defaults(run=_show)

    play = sub.add_parser("play", help="play one level in the terminal (arrow keys)")
    play.add_argument("--spec", type=Path, metavar="SPEC.json", help="spec file (default spec)")
    play.add_argument(
        "--size", type=_positive, nargs=2, metavar=("ROWS", "COLS"), help="maze size in cells"
    )
    play.add_argument("--algorithm", choices=ALGORITHMS, help="carving algorithm")
    play.add_argument("--loops", type=float, help="fraction of inner walls removed, 0..1")
    play.add_argument("--seed", type=_count, default=0, help="seed (default 0)")
    play.add_argument("--level", type=_count, default=0, help="level id (default 0)")
    play.add_argument("--max-steps", type=_positive, help="steps before truncation")
    play.add_argument("--hide-colors", action="store_true", help="draw coloured squares as floor")
    play.set_defaults(run=_play)

    exp = sub.add_parser("experiment", help="run an experiment preset (needs torch)")
    exp.add_argument("name", nargs="?", help="preset (default trajectory; see --list)")
    exp.add_argument("--out", type=Path, help="results folder (default results/NAME)")
    exp.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a field (value as JSON, else a string); checked before anything runs",
    )
    exp.add_argument(
        "--ray",
        nargs="?",
        const="local",
        metavar="ADDRESS",
        help="run the cells as Ray tasks: on a local Ray instance (every core), or on the "
        "cluster at ADDRESS ('ray start --head' prints it; 'auto' finds one on this machine); "
        "each task reserves cpus_per_run CPUs and gpus_per_run GPUs (--set); needs "
        "fastmaze[ray]",
    )
    exp.add_argument("--list", action="store_true", help="list the presets")
    exp.set_defaults(run=_experiment)

    bench = sub.add_parser(
        "bench", help="benchmark: throughput of the standard workloads on this machine"
    )
    bench.add_argument(
        "workloads",
        nargs="*",
        metavar="WORKLOAD",
        help="names, groups (generate, step, ...) or globs (default: all; see --list)",
    )
    bench.add_argument(
        "--threads",
        type=_thread_list,
        metavar="T,T",
        help="thread counts (default 1 and every core)",
    )
    bench.add_argument("--quick", action="store_true", help="small batches, short repetitions")
    bench.add_argument(
        "--reps", type=_positive, help="repetitions per figure, at least 5 (default 7; --quick 5)"
    )
    bench.add_argument("--json", type=Path, metavar="FILE", help="write the report as JSON")
    bench.add_argument("--markdown", type=Path, metavar="FILE", help="write the report as Markdown")
    bench.add_argument("--peers", action="store_true", help="peer libraries beside fastmaze")
    bench.add_argument(
        "--venvs",
        type=Path,
        default=Path(".peer-venvs"),
        help="folder of the per-peer venvs (default .peer-venvs)",
    )
    bench.add_argument(
        "--compare", type=Path, metavar="OLD.json", help="ratios against a saved earlier run"
    )
    bench.add_argument("--list", action="store_true", help="list the workloads and exit")
    bench.add_argument("--no-progress", action="store_true", help="no progress bar")
    bench.set_defaults(run=_bench)
    return parser


def _load_spec(path: Path) -> AnySpec:
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: not valid JSON ({e})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object (spec_to_dict of a spec or mixture)")
    return spec_from_dict(data, rules=())  # a file is data: the rules it names are not imported


def _with_overrides(spec: AnySpec, args: argparse.Namespace) -> AnySpec:
    changes: dict[str, Any] = {}
    if args.size is not None:
        changes["size"] = tuple(args.size)
    if args.algorithm is not None:
        changes["algorithm"] = args.algorithm
    if args.loops is not None:
        changes["loops"] = args.loops
    if not changes:
        return spec
    if isinstance(spec, Mixture):
        return Mixture(tuple((s.replace(**changes), w) for s, w in spec.components))
    return spec.replace(**changes)


def _stats_text(levels: Any) -> str:
    try:
        return str(levels.stats())
    except (ImportError, AttributeError):
        return "stats: not available (fastmaze.stats is not part of this build)"


def _megabytes(path: Path) -> str:
    return f"{path.stat().st_size / 1e6:.1f} MB"


def _generate(args: argparse.Namespace) -> int:
    from fastmaze.io import save
    from fastmaze.levels import default_threads, generate

    if args.out is not None:
        _check_out(args.out)
    spec = _load_spec(args.spec) if args.spec else default_spec()
    spec = _with_overrides(spec, args)
    threads = args.threads or default_threads()
    t0 = time.perf_counter()
    levels = generate(
        spec,
        args.n,
        seed=args.seed,
        start=args.start,
        threads=threads,
        chunk=args.chunk,
        progress=not args.no_progress,
    )
    seconds = time.perf_counter() - t0
    rate = args.n / seconds if seconds > 0 else float("inf")
    rows, cols = spec.size
    print(
        f"generated n={args.n:,} levels ({rows}x{cols} cells, ids {args.start:,}.."
        f"{args.start + args.n - 1:,}, seed {args.seed}) in {seconds:.3f} s: "
        f"{rate:,.0f} levels/s on {threads} thread{'s' if threads > 1 else ''}"
    )
    print(_stats_text(levels))
    if args.out is not None:
        save(levels, args.out)
        print(f"saved {args.out} ({_megabytes(args.out)})")
    return 0


def _show(args: argparse.Namespace) -> int:
    from fastmaze.io import load
    from fastmaze.render import ascii, save_png

    levels = load(args.file)
    rows, cols = levels.spec.size
    print(
        f"{args.file}: {len(levels):,} levels of {rows}x{cols} cells, seed {levels.seed}, "
        f"spec {levels.spec.digest()}"
    )
    if args.png is not None:
        options = {"pixels": args.pixels, "columns": args.columns, "hide_colors": args.hide_colors}
        height, width = save_png(levels, args.png, args.index, **options)
        print(f"wrote {args.png} ({width}x{height} pixels)")
        return 0
    for k, index in enumerate(args.index or [0]):
        if k:
            print()
        print(ascii(levels, index, hide_colors=args.hide_colors))
    return 0


def _play(args: argparse.Namespace) -> int:
    from fastmaze import play

    spec = _with_overrides(_load_spec(args.spec) if args.spec else default_spec(), args)
    kwargs = {} if args.max_steps is None else {"max_steps": args.max_steps}
    game = play.Game(spec, args.seed, args.level, args.hide_colors, kwargs)
    if not sys.stdin.isatty() or not sys.stdout.isatty():
        raise ValueError("play needs a terminal (stdin and stdout a tty)")
    play.run(game)
    return 0


def _experiment(args: argparse.Namespace) -> int:
    from fastmaze.train import experiments  # imports torch

    if args.list:
        print(experiments.list_presets())
        return 0
    overrides = experiments.parse_overrides(args.set)
    try:
        result = experiments.run_experiment(args.name, args.out, overrides, ray=args.ray)
    except RuntimeError as e:
        print(f"fastmaze: error: {_one_line(e)}", file=sys.stderr)
        return 2
    if result["failed"]:
        n = sum(len(f.unit.cells) for f in result["failed"])
        print(f"fastmaze: {n} runs failed; rerun the same command to retry them", file=sys.stderr)
        return 1
    return 0


def _bench(args: argparse.Namespace) -> int:
    import shlex

    from fastmaze.bench import run

    if args.list:
        print(run.listing())
        return 0
    options = run.Options(
        workloads=args.workloads,
        threads=args.threads,
        scale="quick" if args.quick else "full",
        reps=args.reps,
        peers=args.peers,
        venvs=args.venvs,
        progress=not args.no_progress,
        command=shlex.join(args.argv),
    )
    run.select(options.workloads)  # an unknown name fails before anything runs
    return run.main(options, args.json, args.markdown, args.compare)


def _one_line(error: BaseException) -> str:
    if isinstance(error, OSError) and error.strerror:
        text = f"{error.strerror}: {error.filename}" if error.filename else error.strerror
    else:
        text = str(error) or type(error).__name__
    return " ".join(text.split())


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line; returns the exit status (0 ok, 2 bad arguments or input)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:
        argv = ["generate"]
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except _UsageError as e:
        print(f"fastmaze: error: {_one_line(e)}", file=sys.stderr)
        return 2
    except SystemExit as e:  # --help, --version
        return e.code if isinstance(e.code, int) else 0
    if args.command is None:
        parser.print_help()
        return 2
    args.argv = ["fastmaze", *argv]
    try:
        return args.run(args)
    except (ValueError, OSError) as e:
        print(f"fastmaze: error: {_one_line(e)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("fastmaze: interrupted", file=sys.stderr)
        return 130
