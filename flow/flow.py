"""``Flow``: ordered stages, a run directory, metrics, and resume.

A run writes ``RUNDIR/NN-<stage>/state.json`` after each stage and rewrites
``RUNDIR/metrics.json`` (atomically) as figures become known; a figure whose
stage has not run is ``null``.  ``--from STAGE`` resumes from the state the
previous stage left, refusing when it was made with another PDK version.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import flow
from flow.config import display_path, load_design
from flow.design import Design
from flow.errors import InputError, ResumeError
from flow.fileio import atomic_write_json
from flow.progress import Progress
from flow.stages import STAGE_IDS, STAGES, Context

import pdk as pdks


@dataclass
class FlowResult:
    design: Design
    metrics: dict[str, Any]
    rundir: Path
    stages_run: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """0 clean (for the stages run), 1 violations (DRC, a routed net's
        current density or current per cut over its limit), unrouted nets or
        an LVS mismatch."""
        m = self.metrics
        bad = (
            (m["nets_unrouted"] or 0) > 0
            or (m["drc_violations"] or 0) > 0
            or (m.get("current_density_violations") or 0) > 0
            or m.get("lvs_status") == "mismatch"
        )
        return 1 if bad else 0


def _um(kit, v: int | None) -> float | None:
    return None if v is None else round(v * kit.dbu_um, 3)


def metrics(design: Design, kit, stage_seconds: dict[str, float]) -> dict[str, Any]:
    """The fixed metrics.json keys (ARCHITECTURE.md) plus a few more."""
    nl, fp, pl, rt, drc = design.netlist, design.floorplan, design.placement, design.routing, design.drc
    over = None if rt is None else rt.current_density_over()
    die_area = None
    if fp is not None:
        d = fp.die
        die_area = round((d[2] - d[0]) * kit.dbu_um * (d[3] - d[1]) * kit.dbu_um, 3)
    return {
        "design": design.config.name,
        "top": design.top,
        "pdk": kit.name,
        "pdk_version": kit.version,
        "pilotflow_version": flow.__version__,
        "instances": None if nl is None else len(nl.instances),
        "pads": None if fp is None else len(fp.pads),
        "nets": None if nl is None else len(nl.nets),
        "die_area_um2": die_area,
        "hpwl_um": None if pl is None else _um(kit, pl.hpwl),
        "wirelength_um": None if rt is None else _um(kit, rt.wirelength),
        "vias": None if rt is None else rt.vias,
        "nets_routed": None if rt is None else rt.nets_to_route - len(rt.unrouted),
        "nets_unrouted": None if rt is None else len(rt.unrouted),
        "unrouted": None if rt is None else dict(rt.unrouted),
        "current_density_worst": None if rt is None else rt.current_density_worst(),
        "current_density_violations": None if rt is None else sum(len(v) for v in over.values()),
        "current_density_over": over,
        "drc_violations": None if drc is None else drc.violations,
        "drc_counts": None if drc is None else dict(drc.counts),
        "drc_not_checked": None if drc is None else list(drc.not_checked),
        "drc_waived": None if drc is None else drc.waived,
        "lvs_clean": None if design.lvs is None else design.lvs.clean,
        "lvs_status": None if design.lvs is None else design.lvs.status,
        "lvs_counts": None if design.lvs is None else {k: v for k, v in design.lvs.counts.items() if v},
        "lvs_not_compared": None if design.lvs is None else list(design.lvs.not_compared),
        "stage_seconds": dict(stage_seconds),
    }


def _stage_index(name: str, option: str) -> int:
    if name not in STAGE_IDS:
        raise InputError(f"{option}: unknown stage '{name}'; stages are {', '.join(STAGE_IDS)}")
    return STAGE_IDS.index(name)


def default_rundir(name: str) -> Path:
    """``runs/<design>`` under the working directory."""
    return Path("runs") / name


#: Final files each stage writes into the run directory.
_PRODUCTS = {"route": ("route.json",), "drc": ("drc.json", "drc.lyrdb"), "lvs": ("lvs.json", "lvs.txt", "lvs.lyrdb"), "gds": ("*.gds",)}


def _clear_stale(rundir: Path, first: int) -> None:
    """Remove what stages from ``first`` on wrote in an earlier run, so a
    partial run never leaves an older GDS or DRC report looking current."""
    for index, sid in enumerate(STAGE_IDS):
        if index < first:
            continue
        state = rundir / f"{index:02d}-{sid}" / "state.json"
        if state.is_file():
            state.unlink()
        for pattern in _PRODUCTS.get(sid, ()):
            for f in rundir.glob(pattern):
                f.unlink()
    for f in ("report.html",):
        if (rundir / f).is_file():
            (rundir / f).unlink()


def run(
    design_dir: str | Path,
    rundir: str | Path | None = None,
    *,
    from_stage: str | None = None,
    to_stage: str | None = None,
    progress: Progress | None = None,
    overrides: dict[str, Any] | None = None,
) -> FlowResult:
    """Run the flow on a design folder; see the module docstring.

    ``overrides`` replace design.toml keys (dotted, e.g. ``"place.global"``)."""
    cfg = load_design(design_dir, overrides)
    kit = pdks.load(cfg.pdk)
    rundir = Path(rundir) if rundir is not None else default_rundir(cfg.name)
    first = _stage_index(from_stage, "--from") if from_stage else 0
    last = _stage_index(to_stage, "--to") if to_stage else len(STAGES) - 1
    if first > last:
        raise InputError(f"--from {from_stage} comes after --to {to_stage}")

    seconds: dict[str, float] = {}
    if first == 0:
        design = Design(config=cfg, pdk_name=kit.name, pdk_version=kit.version)
    else:
        prev = STAGE_IDS[first - 1]
        state_file = rundir / f"{first - 1:02d}-{prev}" / "state.json"
        if not state_file.is_file():
            raise ResumeError(
                f"{display_path(state_file)}: no saved state of stage '{prev}'; "
                f"run without --from (or --from {prev}) first"
            )
        try:
            state = json.loads(state_file.read_text())
        except (OSError, ValueError) as e:
            raise ResumeError(f"{display_path(state_file)}: unreadable saved state ({e})") from None
        if not isinstance(state, dict):
            raise ResumeError(f"{display_path(state_file)}: unreadable saved state (not a JSON object)")
        # the kit first: a state of another kit or kit version is refused
        # even when it would still parse
        made = f"PDK {state.get('pdk', '(none recorded)')} {state.get('pdk_version', '(no version recorded)')}"
        if state.get("pdk") != kit.name:
            raise ResumeError(
                f"{display_path(state_file)}: made with {made}, "
                f"but the design now uses PDK {kit.name} {kit.version}; rerun from the start (without --from)"
            )
        if state.get("pdk_version") != kit.version:
            raise ResumeError(
                f"{display_path(state_file)}: made with {made}, "
                f"but {kit.name} is now {kit.version}; rerun from the start (without --from)"
            )
        try:
            design = Design.from_json(cfg, state)
        except (ValueError, KeyError, TypeError) as e:
            raise ResumeError(f"{display_path(state_file)}: unreadable saved state ({e})") from None
        missing = [r for r in STAGES[first].requires if getattr(design, r) is None]
        if missing:
            raise ResumeError(
                f"{display_path(state_file)}: saved state has no {', '.join(missing)}, which stage "
                f"'{STAGE_IDS[first]}' needs; rerun without --from"
            )
        old = rundir / "metrics.json"
        if old.is_file():
            try:
                seconds = {k: v for k, v in json.loads(old.read_text()).get("stage_seconds", {}).items() if k in STAGE_IDS[:first]}
            except (OSError, ValueError):
                seconds = {}

    rundir.mkdir(parents=True, exist_ok=True)
    _clear_stale(rundir, first)
    ctx = Context(kit=kit, rundir=rundir, progress=progress or Progress(quiet=True))
    ran: list[str] = []
    for index in range(first, last + 1):
        stage = STAGES[index]()
        design, secs = stage.start(design, ctx, index)
        seconds[stage.id] = round(secs, 4)
        ran.append(stage.id)
        atomic_write_json(rundir / "metrics.json", metrics(design, kit, seconds))
    m = metrics(design, kit, seconds)
    from flow.report.html import write_report

    ctx.progress.stage("report")
    write_report(design, kit, m, rundir, ctx.progress)
    ctx.progress.done("report.html written")
    return FlowResult(design, m, rundir, ran)
