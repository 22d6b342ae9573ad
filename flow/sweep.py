"""Parameter sweeps: one design run with every combination of design.toml values.

``pilotflow sweep designs/gan_ringosc --param floorplan.utilization=0.3,0.4
--param place.global=quadratic,eplace`` runs the 4 variants (the cartesian
product) through an :class:`flow.executor.Executor`, each in its own run
directory ``OUT/NN_key=value_...``, and writes a table of their metrics to
``OUT/sweep.csv`` and ``OUT/sweep.json``.

A value is read as a TOML value (``0.4``, ``true``, ``"text"``,
``[1800, 1500]``), else taken as a string (``eplace``); values are separated
by commas outside brackets and quotes.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
import tomllib
from pathlib import Path
from typing import Any

from flow.errors import InputError

#: Metrics in the sweep table (metrics.json keys; runtime_s is the sum of the stage times).
COLUMNS = ("die_area_um2", "hpwl_um", "wirelength_um", "vias", "nets_unrouted", "drc_violations", "lvs_status", "runtime_s")


def _split(text: str) -> list[str]:
    """``text`` split at commas outside brackets and quotes."""
    out, cur, depth, quote = [], [], 0, ""
    for ch in text:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        elif ch == "," and depth == 0:
            out.append("".join(cur))
            cur = []
            continue
        cur.append(ch)
    out.append("".join(cur))
    return [x.strip() for x in out]


def parse_value(text: str) -> Any:
    """A TOML value, or the text itself when it is not one."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def parse_param(spec: str) -> tuple[str, list[Any]]:
    """``"place.global=quadratic,eplace"`` -> ``("place.global", ["quadratic", "eplace"])``."""
    key, eq, values = spec.partition("=")
    key = key.strip()
    if not eq or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z0-9_\-]+)+", key):
        raise InputError(f"--param {spec!r}: expected TABLE.KEY=V1,V2,... (a design.toml key, e.g. floorplan.utilization=0.3,0.4)")
    parts = _split(values)
    if any(p == "" for p in parts):
        raise InputError(f"--param {spec!r}: empty value (values are separated by commas)")
    return key, [parse_value(p) for p in parts]


def _show(v: Any) -> str:
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, list):
        return "x".join(_show(x) for x in v)
    return str(v)


def variants(params: list[tuple[str, list[Any]]]) -> list[dict[str, Any]]:
    """Every combination of the parameter values, in order."""
    keys = [k for k, _ in params]
    dup = sorted({k for k in keys if keys.count(k) > 1})
    if dup:
        raise InputError(f"--param {dup[0]} given twice; give all its values in one --param")
    return [dict(zip(keys, combo)) for combo in itertools.product(*(v for _, v in params))]


def variant_name(i: int, overrides: dict[str, Any]) -> str:
    body = "_".join(f"{k}={_show(v)}" for k, v in overrides.items())
    return re.sub(r"[^A-Za-z0-9._=+-]+", "-", f"{i:02d}_{body}")[:120]


def check_variants(design_dir: Path, vs: list[dict[str, Any]]) -> None:
    """Load the design with each variant's values, so a bad key or value is
    reported (exit 2) before anything runs."""
    from flow.config import load_design

    for ov in vs:
        try:
            load_design(design_dir, ov)
        except InputError as e:
            given = ", ".join(f"{k}={_show(v)}" for k, v in ov.items())
            raise InputError(f"{e} (with {given})") from None


def rows(records: list[dict[str, Any]], vs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per variant: name, parameter values, metrics, error."""
    from flow.regress import measure

    out = []
    for rec, ov in zip(records, vs):
        m = rec["metrics"]
        row: dict[str, Any] = {"variant": rec["name"], **ov}
        got = measure(m) if m is not None else {}
        for c in COLUMNS:
            row[c] = got.get(c) if c in got else (None if m is None else m.get(c))
        row["exit_code"] = rec["exit_code"]
        row["error"] = rec["error"]
        row["rundir"] = rec["rundir"]
        out.append(row)
    return out


def to_csv(table: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    if table:
        w = csv.DictWriter(buf, fieldnames=list(table[0]), lineterminator="\n")
        w.writeheader()
        for r in table:
            w.writerow({k: ("" if v is None else _show(v)) for k, v in r.items()})
    return buf.getvalue()


def text_table(table: list[dict[str, Any]], keys: list[str]) -> list[str]:
    from flow.regress import fmt

    cols = ["variant"] + keys + list(COLUMNS) + ["result"]
    cells = [cols]
    for r in table:
        result = "error: " + r["error"] if r["error"] else ("clean" if r["exit_code"] == 0 else "not clean")
        cells.append([r["variant"]] + [_show(r[k]) for k in keys] + [fmt(r[c]) for c in COLUMNS] + [result])
    w = [max(len(c[i]) for c in cells) for i in range(len(cols))]
    return ["  ".join(c[i].ljust(w[i]) for i in range(len(cols))).rstrip() for c in cells]


def run_sweep(design_dir: Path, params: list[tuple[str, list[Any]]], out: Path, executor: Any, progress: Any = None) -> list[dict[str, Any]]:
    """Run every variant; write ``out/sweep.csv`` and ``out/sweep.json``; the rows."""
    from flow.batch import clean_attempts, run_design_job
    from flow.executor import iter_progress
    from flow.fileio import atomic_write_json, atomic_write_text

    vs = variants(params)
    check_variants(design_dir, vs)
    names = [variant_name(i + 1, ov) for i, ov in enumerate(vs)]
    jobs = [{"name": n, "design_dir": str(design_dir.resolve()), "rundir": str((out / n).resolve()), "overrides": ov} for n, ov in zip(names, vs)]
    records: list[Any] = [None] * len(jobs)
    try:
        for i, rec in iter_progress(executor.map(run_design_job, jobs, labels=[f"variant {n}" for n in names]), len(jobs), progress, "variants run"):
            records[i] = rec
    finally:
        clean_attempts(out)
    table = rows(records, vs)
    atomic_write_text(out / "sweep.csv", to_csv(table))
    atomic_write_json(out / "sweep.json", {"design": str(design_dir), "params": {k: v for k, v in params}, "variants": table})
    return table
