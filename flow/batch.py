"""One design run as a batch job (``pilotflow regress`` and ``sweep``).

:func:`run_design_job` is what an :class:`flow.executor.Executor` runs on a
worker: the whole flow on one design folder (with optional design.toml
overrides) into its own run directory, returning a small JSON-able record.

It is idempotent, so a Dask cluster may run it again after losing a worker:
each attempt runs in a fresh hidden folder beside the run directory and the
finished folder is swapped in under the final name, so the run directory is
always one attempt's complete output (the flow writes every file
atomically), never a mix of two attempts or a half-written one.  Expected
failures (bad input, a stage that cannot finish) come back in the record's
``error``; anything else raises and stops the batch.
"""

from __future__ import annotations

import os
import shutil
import socket
import time
import uuid
from pathlib import Path
from typing import Any

from flow.errors import PilotflowError


def design_dirs(paths: list[Path]) -> tuple[list[Path], bool]:
    """Design folders named by ``paths`` (a design folder, or a folder of
    them), and whether any was a folder of designs (a full set)."""
    from flow.errors import InputError

    out: list[Path] = []
    full = False
    for p in paths:
        if not p.is_dir():
            raise InputError(f"{p}: not a folder (give a design folder or a folder of designs)")
        if (p / "design.toml").is_file():
            out.append(p)
            continue
        found = sorted(q for q in p.iterdir() if (q / "design.toml").is_file())
        if not found:
            raise InputError(f"{p}: no design folders in it (folders with a design.toml)")
        out += found
        full = True
    names = [d.name for d in out]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise InputError(f"design folder name given twice: {', '.join(dup)}")
    return out, full


def run_design_job(job: dict[str, Any]) -> dict[str, Any]:
    """Run the flow for ``job`` and return its record.

    ``job``: ``name``, ``design_dir``, ``rundir`` (str paths) and optional
    ``overrides`` (dotted design.toml key -> value).  The record: ``name``,
    ``rundir``, ``metrics`` (metrics.json, or ``None`` when the run failed),
    ``exit_code`` (the flow's 0/1), ``error`` (one line, or ``None``),
    ``wall_s`` and ``host``.
    """
    from flow.flow import run

    rundir = Path(job["rundir"])
    rundir.parent.mkdir(parents=True, exist_ok=True)
    attempt = rundir.parent / f".{rundir.name}.{uuid.uuid4().hex[:10]}.tmp"
    rec: dict[str, Any] = {"name": job["name"], "rundir": str(rundir), "metrics": None, "exit_code": None, "error": None}
    t0 = time.perf_counter()
    try:
        res = run(job["design_dir"], attempt, overrides=job.get("overrides") or None)
        rec["metrics"] = res.metrics
        rec["exit_code"] = res.exit_code
    except PilotflowError as e:
        rec["error"] = f"{type(e).__name__}: {e}"
    finally:
        rec["wall_s"] = round(time.perf_counter() - t0, 3)
        rec["host"] = socket.gethostname()
        if attempt.is_dir():
            _swap_in(attempt, rundir)
    return rec


def _swap_in(new: Path, final: Path) -> None:
    """Put the folder ``new`` under the name ``final`` (replacing it)."""
    for _ in range(5):  # another attempt of the same job may swap at the same time
        old = None
        if final.exists():
            old = final.parent / f".{final.name}.{uuid.uuid4().hex[:10]}.old"
            try:
                os.replace(final, old)
            except FileNotFoundError:
                old = None
        try:
            os.replace(new, final)
        except OSError:
            continue
        finally:
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
        return
    raise OSError(f"{final}: could not replace it with {new.name}")


def clean_attempts(folder: Path) -> None:
    """Remove what lost attempts left in ``folder`` (call when no job runs)."""
    if folder.is_dir():
        for p in folder.iterdir():
            if p.is_dir() and p.name.startswith(".") and p.name.endswith((".tmp", ".old")):
                shutil.rmtree(p, ignore_errors=True)
