"""The benchmark report: its JSON document (schema in `fastmaze.bench`), validation, the
comparison with an earlier run, and the Markdown tables."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fastmaze.bench.machine import describe
from fastmaze.bench.timing import ratio, verdict

SCHEMA = "fastmaze-bench"
SCHEMA_VERSION = 1
STATS = ("median", "min", "max", "q1", "q3")

# key -> expected type(s) of the document's top level and of each result
TOP: dict[str, Any] = {
    "schema": str,
    "schema_version": int,
    "created": str,
    "command": str,
    "scale": str,
    "threads": list,
    "timing": dict,
    "machine": dict,
    "versions": dict,
    "load_average": dict,
    "duration_s": (int, float),
    "results": list,
    "skipped": list,
    "failed": list,
    "peers": list,
    "peers_skipped": list,
}
RESULT: dict[str, Any] = {
    "workload": str,
    "group": str,
    "unit": str,
    "threads": (int, type(None)),
    "params": dict,
    "info": dict,
    "rates": list,
    "reps": int,
    "calls_per_rep": int,
    "units_per_call": (int, float),
    "warmup_s": (int, float),
    **dict.fromkeys(STATS, (int, float)),
}


def _check(where: str, obj: Any, fields: Mapping[str, Any]) -> None:
    if not isinstance(obj, dict):
        raise ValueError(f"{where}: expected a JSON object, got {type(obj).__name__}")
    for key, kind in fields.items():
        if key not in obj:
            raise ValueError(f"{where}: missing {key!r}")
        value = obj[key]
        if isinstance(value, bool) or not isinstance(value, kind):
            raise ValueError(f"{where}.{key}: unexpected value {value!r}")


def _check_stats(where: str, stats: Any) -> None:
    _check(where, stats, dict.fromkeys(STATS, (int, float)))
    for key in STATS:
        if not math.isfinite(stats[key]) or stats[key] < 0:
            raise ValueError(f"{where}.{key}: {stats[key]}; expected a finite rate >= 0")
    if not stats["min"] <= stats["q1"] <= stats["median"] <= stats["q3"] <= stats["max"]:
        raise ValueError(f"{where}: expected min <= q1 <= median <= q3 <= max")


def validate(doc: Any, where: str = "report") -> dict[str, Any]:
    """``doc`` if it is a benchmark report of this schema version, else a ValueError that
    says which field is wrong."""
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
        raise ValueError(f'{where}: not a fastmaze bench report (no "schema": "{SCHEMA}")')
    if doc.get("schema_version") != SCHEMA_VERSION:
        raise ValueError(
            f"{where}: schema_version {doc.get('schema_version')!r}; this fastmaze reads "
            f"{SCHEMA_VERSION}"
        )
    _check(where, doc, TOP)
    for i, r in enumerate(doc["results"]):
        _check(f"{where}: results[{i}]", r, RESULT)
        _check_stats(f"{where}: results[{i}]", r)
        if len(r["rates"]) != r["reps"]:
            raise ValueError(f"{where}: results[{i}]: {len(r['rates'])} rates for {r['reps']} reps")
    for i, p in enumerate(doc["peers"]):
        _check(f"{where}: peers[{i}]", p, {"family": str, "workload": str, "unit": str})
        _check_stats(f"{where}: peers[{i}].peer_result", p.get("peer_result"))
    return doc


def load(path: str | Path) -> dict[str, Any]:
    """A saved report (``--json``), validated; ValueError on anything else."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: not valid JSON ({e})") from None
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not a text file") from None
    return validate(doc, str(path))


def save(doc: dict[str, Any], path: str | Path) -> None:
    """Writes ``doc`` as indented JSON."""
    Path(path).write_text(json.dumps(validate(doc), indent=1) + "\n")


# -- comparison ------------------------------------------------------------------------------


def compare(old: dict[str, Any], new: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per result of ``new``: the same workload and thread count in ``old`` (or
    None), ``ratio`` = new median / old median, ``verdict`` (`fastmaze.bench.timing.verdict`:
    "slower" / "faster" beyond both spreads, "same", or "new" where old has no such figure)
    and ``note`` (parameters that differ between the runs)."""
    by_key = {(r["workload"], r["threads"]): r for r in old["results"]}
    rows = []
    for r in new["results"]:
        o = by_key.get((r["workload"], r["threads"]))
        row: dict[str, Any] = {"workload": r["workload"], "threads": r["threads"], "new": r}
        row["old"] = o
        if o is None:
            row.update(ratio=None, verdict="new", note="not in the earlier run")
        else:
            differ = sorted(
                k
                for k in {**o["params"], **r["params"]}
                if o["params"].get(k) != r["params"].get(k)
            )
            row.update(
                ratio=ratio(r["median"], o["median"]),
                verdict=verdict(r, o),
                note=", ".join(
                    f"{k}: {o['params'].get(k)} -> {r['params'].get(k)}" for k in differ
                ),
            )
        rows.append(row)
    return rows


# -- Markdown -----------------------------------------------------------------------------------


def si(x: float | None) -> str:
    """12345678 -> '12.3 M' (three significant digits; '—' for None)."""
    if x is None:
        return "—"
    for div, suffix in ((1e9, " G"), (1e6, " M"), (1e3, " k")):
        if x >= div:
            return f"{x / div:.3g}{suffix}"
    return f"{x:.3g}"


def times(x: float | None) -> str:
    """A ratio as '1,137×', '13×', '0.85×' ('—' for None)."""
    if x is None:
        return "—"
    return f"{x:,.0f}×" if x >= 10 else f"{x:.2g}×"


def figure(r: Mapping[str, float]) -> str:
    """'3.8 M (3.7–3.9 M)': the median and the spread (min–max) of the repetitions."""
    return f"{si(r['median'])} ({si(r['min'])}–{si(r['max'])})"


def _params(params: Mapping[str, Any]) -> str:
    shown = {k: v for k, v in params.items() if k in ("batch", "num_envs", "pixels", "radius")}
    return ", ".join(f"{k} {v:,}" if isinstance(v, int) else f"{k} {v}" for k, v in shown.items())


def _threads_label(t: int | None) -> str:
    return "device" if t is None else f"{t} thr."


def header(doc: Mapping[str, Any]) -> list[str]:
    """The lines that go with every table: machine, versions, threads, timing, command."""
    t = doc["timing"]
    libs = ", ".join(f"{k} {v}" for k, v in doc["versions"].items() if v is not None)
    load = doc["load_average"]
    fmt = lambda x: " ".join(f"{v:.2f}" for v in x) if x else "n/a"  # noqa: E731
    return [
        f"- **machine**: {describe(doc['machine'])}",
        f"- **versions**: {libs}",
        f"- **threads**: {', '.join(map(str, doc['threads']))}",
        f"- **timing**: median of {t['reps']} repetitions after {t['warmup_calls']} warm-up "
        f"call(s) (compilation kept out), each >= {t['min_time_s']} s; spread: (min–max)",
        f"- **load average (1, 5, 15 min)**: {fmt(load.get('before'))} before, "
        f"{fmt(load.get('after'))} after",
        f"- **run**: {doc['created']}, {doc['duration_s']:.0f} s, {doc['scale']}",
        f"- **command**: `{doc['command']}`",
    ]


def results_tables(doc: Mapping[str, Any]) -> list[str]:
    """One table per group: a row per workload, a column per thread count."""
    out: list[str] = []
    groups: dict[str, list[dict]] = {}
    for r in doc["results"]:
        groups.setdefault(r["group"], []).append(r)
    for group, rows in groups.items():
        threads = list(dict.fromkeys(r["threads"] for r in rows))
        by = {(r["workload"], r["threads"]): r for r in rows}
        out += ["", f"### {group} ({rows[0]['unit']}, median (min–max))", ""]
        out.append(
            "| workload | parameters |" + "".join(f" {_threads_label(t)} |" for t in threads)
        )
        out.append("|---|---|" + "---:|" * len(threads))
        for name in dict.fromkeys(r["workload"] for r in rows):
            first = next(r for r in rows if r["workload"] == name)
            params = _params(first["params"])
            if first["info"].get("device"):
                params = ", ".join(p for p in (params, first["info"]["device"]) if p)
            cells = "".join(
                f" {figure(by[name, t]) if (name, t) in by else '—'} |" for t in threads
            )
            out.append(f"| {name.split('/', 1)[1]} | {params} |{cells}")
    return out


def peers_table(doc: Mapping[str, Any]) -> list[str]:
    """Peers beside their fastmaze twins, with the ratios fastmaze / peer."""
    if not doc["peers"] and not doc["peers_skipped"]:
        return []
    out = ["", "### peers (fastmaze / peer: ×)", ""]
    if doc["peers"]:
        threads = list(dict.fromkeys(f["threads"] for p in doc["peers"] for f in p["fastmaze"]))
        out.append(
            "| peer | workload | batch | peer threads | peer |"
            + "".join(f" fastmaze, {_threads_label(t)} | × |" for t in threads)
            + " unit | notes |"
        )
        out.append("|---|---|---|---|---:|" + "---:|---:|" * len(threads) + "---|---|")
        for p in doc["peers"]:
            fm = {f["threads"]: f for f in p["fastmaze"]}
            cells = ""
            for t in threads:
                f = fm.get(t)
                cells += f" {figure(f)} | **{times(f['ratio'])}** |" if f else " — | — |"
            out.append(
                f"| {p['peer']} | {p['workload']} | {p['batch']} | {p['peer_threads']} | "
                f"{figure(p['peer_result'])} |{cells} {p['unit']} | {p['notes']} |"
            )
    if doc["peers_skipped"]:
        out += ["", "Peers not measured:", ""]
        out += [
            f"- {s['family']}: {s['reason']}; install: {s['install']}" for s in doc["peers_skipped"]
        ]
    return out


def comparison_table(
    rows: list[dict[str, Any]], old: Mapping[str, Any], old_path: str
) -> list[str]:
    """New beside old, with the ratio and the runs' verdict (flagged beyond the spread)."""
    slower = [r for r in rows if r["verdict"] == "slower"]
    out = [
        "",
        f"### compared with `{old_path}` (new / old; flagged where the spreads do not overlap)",
        "",
        f"Earlier run: {old['created']}, {old['scale']}, {describe(old['machine'])}, "
        f"threads {', '.join(map(str, old['threads']))}, `{old['command']}`.",
        "",
        "| workload | threads | old | new | new / old | verdict | note |",
        "|---|---:|---:|---:|---:|---|---|",
    ]
    for r in rows:
        old = figure(r["old"]) if r["old"] else "—"
        mark = {"slower": "**REGRESSION**", "faster": "faster", "same": "within spread"}
        out.append(
            f"| {r['workload']} | {r['threads'] if r['threads'] is not None else 'device'} | "
            f"{old} | {figure(r['new'])} | {times(r['ratio'])} | "
            f"{mark.get(r['verdict'], r['verdict'])} | {r['note']} |"
        )
    out += [
        "",
        f"{len(slower)} regression(s) beyond the measured spread"
        + (
            ": " + ", ".join(f"{r['workload']} ({r['threads']} thr.)" for r in slower)
            if slower
            else ""
        )
        + ".",
    ]
    return out


def markdown(
    doc: Mapping[str, Any], old: Mapping[str, Any] | None = None, old_path: str = ""
) -> str:
    """The whole report as Markdown (also what the command prints); with ``old`` (an
    earlier report, read from ``old_path``), the comparison table too."""
    out = ["## fastmaze bench", "", *header(doc)]
    out += results_tables(doc)
    out += peers_table(doc)
    if old is not None:
        out += comparison_table(compare(old, doc), old, old_path)
    by_reason: dict[str, list[str]] = {}
    for s in doc["skipped"]:
        by_reason.setdefault(s["reason"], []).append(s["workload"])
    notes = [f"- {', '.join(names)}: {reason}" for reason, names in by_reason.items()]
    notes += [
        f"- {f['workload']} ({f['threads']} thr.): FAILED: {f['error']}" for f in doc["failed"]
    ]
    if notes:
        out += ["", "### not measured", "", *notes]
    return "\n".join(out) + "\n"
