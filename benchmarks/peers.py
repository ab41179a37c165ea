"""fastmaze side by side with the libraries researchers use today: one run, one machine.

    python benchmarks/peers.py [--setup] [--quick] [--out FILE] [--json FILE] [--venvs DIR]
                               [--only FAMILY ...]

A thin caller of `fastmaze.bench`, where the peer measurements, their fastmaze twins and the
report live (`fastmaze.bench.peers`): every peer case beside its twin at 1 thread and all
cores, then fastmaze stepping alone by batch size (``step/symbolic/*/copy=True``), in one
report. ``fastmaze bench --peers`` runs the same cases beside the standard workloads.
``--setup`` first makes one virtual environment per peer family under ``--venvs`` (default
``.peer-venvs/`` at the repository root) from ``fastmaze/bench/requirements/``.
``benchmarks/PEERS.md`` says what each row measures and what differs.
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import os
import shlex
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def find_fastmaze() -> None:
    """Lets ``python benchmarks/peers.py`` find a fastmaze built in place under src/."""
    if importlib.util.find_spec("fastmaze") is None:
        sys.path.insert(0, str(ROOT / "src"))


def main(argv: list[str] | None = None) -> int:
    find_fastmaze()
    from fastmaze.bench import peers, run

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--setup", action="store_true", help="create the peer venvs first")
    parser.add_argument("--quick", action="store_true", help="short runs: a smoke check")
    parser.add_argument("--out", type=Path, help="write the Markdown report here (default stdout)")
    parser.add_argument("--json", type=Path, help="also write the report as JSON here")
    parser.add_argument(
        "--venvs",
        type=Path,
        default=ROOT / ".peer-venvs",
        help="folder of the peer venvs (default: .peer-venvs/ at the repo root)",
    )
    parser.add_argument(
        "--only",
        nargs="+",
        choices=[f.name for f in peers.FAMILIES],
        help="measure these peer families only",
    )
    args = parser.parse_args(argv)
    venvs = args.venvs.resolve()
    if args.setup:
        peers.setup(venvs, [f for f in peers.FAMILIES if not args.only or f.name in args.only])
    options = run.Options(
        workloads=["step/symbolic/*/copy=True"],
        threads=[1, os.cpu_count() or 1],
        scale="quick" if args.quick else "full",
        peers=True,
        all_peers=True,
        venvs=venvs,
        families=args.only,
        command=shlex.join(
            ["python", "benchmarks/peers.py", *(sys.argv[1:] if argv is None else argv)]
        ),
    )
    status = run.main(options, args.json, args.out, out=io.StringIO() if args.out else None)
    if args.out:
        print(f"wrote {args.out}", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
