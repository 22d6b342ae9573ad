"""The ``pilotflow`` command line.

Thin by design: parse options, call the API, print a short summary, map
errors to exit codes (0 clean, 1 violations/mismatches, 2 bad input or
usage, 3 internal error).  Errors are one line, ``Error: ...``; ``--debug``
shows the traceback.
"""

from __future__ import annotations

import os
import sys
import traceback
from pathlib import Path

import click

import flow
from flow.errors import PilotflowError
from flow.progress import Progress


class UserError(click.ClickException):
    """A pilotflow error shown as one ``Error: ...`` line with its exit code."""

    def __init__(self, message: str, exit_code: int):
        super().__init__(message)
        self.exit_code = exit_code


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush of a closed
    pipe does not print a second error."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # pragma: no cover - no real stdout
        pass


class PilotflowGroup(click.Group):
    """Maps pilotflow's errors to one line and an exit code (2 bad input,
    3 internal); ``--debug`` prints the traceback first."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except PilotflowError as e:
            if isinstance(ctx.obj, Options) and ctx.obj.debug:
                traceback.print_exc()
            raise UserError(str(e), e.exit_code) from e
        except KeyboardInterrupt:
            raise click.exceptions.Abort() from None
        except BrokenPipeError:
            # the reader went away (``pilotflow pdk show X | head``): stop
            # quietly, like other command-line tools, instead of an internal error
            _silence_stdout()
            raise click.exceptions.Exit(141) from None
        except Exception as e:  # noqa: BLE001 - last line of defence for users
            if isinstance(ctx.obj, Options) and ctx.obj.debug:
                traceback.print_exc()
            raise UserError(f"internal error: {type(e).__name__}: {e} (run with --debug for the traceback)", 3) from e


class Options:
    def __init__(self, verbose: int, quiet: bool, debug: bool):
        self.verbose = verbose
        self.quiet = quiet
        self.debug = debug

    def progress(self) -> Progress:
        return Progress(quiet=self.quiet)

    def echo(self, msg: str = "") -> None:
        if not self.quiet:
            click.echo(msg)


@click.group(cls=PilotflowGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(flow.__version__, "--version", prog_name="pilotflow")
@click.option("-v", "--verbose", count=True, help="More detail (repeatable).")
@click.option("-q", "--quiet", is_flag=True, help="No progress and no summary; errors only.")
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.pass_context
def cli(ctx: click.Context, verbose: int, quiet: bool, debug: bool) -> None:
    """pilotflow: netlist-to-GDS layout flow for GaN and SiC pilot lines."""
    ctx.obj = Options(verbose, quiet, debug)


# ---------------------------------------------------------------- run ------
@cli.command()
@click.argument("design_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("-o", "--rundir", type=click.Path(file_okay=False, path_type=Path), help="Run directory [default: runs/<design>].")
@click.option("--from", "from_stage", metavar="STAGE", help="Resume from this stage (uses the saved state before it).")
@click.option("--to", "to_stage", metavar="STAGE", help="Stop after this stage.")
@click.pass_obj
def run(opts: Options, design_dir: Path, rundir: Path | None, from_stage: str | None, to_stage: str | None) -> None:
    """Run the flow on DESIGN_DIR (a folder with design.toml).

    Stages: import, floorplan, place, route, drc, lvs, gds.  Exit code 0 when
    every net is routed, no routed net's current density (or current per via
    cut) is over its limit, DRC is clean and LVS finds no mismatch, 1
    otherwise.
    """
    from flow.flow import run as run_flow

    res = run_flow(design_dir, rundir, from_stage=from_stage, to_stage=to_stage, progress=opts.progress())
    m = res.metrics
    opts.echo(f"design {m['design']} ({m['top']}) on {m['pdk']} {m['pdk_version']}: stages {', '.join(res.stages_run)}")
    if m["instances"] is not None:
        opts.echo(f"  {m['instances']} devices, {m['pads']} pads, {m['nets']} nets" + (f", die {m['die_area_um2']:.0f} um2" if m["die_area_um2"] else ""))
    if m["nets_unrouted"] is not None:
        opts.echo(f"  routed {m['nets_routed']} nets, {m['nets_unrouted']} unrouted, wire {m['wirelength_um']} um, {m['vias']} vias")
        for net, why in (m["unrouted"] or {}).items():
            opts.echo(f"    unrouted {net}: {why}")
        if m.get("current_density_violations"):
            nets_over = m.get("current_density_over") or {}
            opts.echo(
                f"  current density: {m['current_density_violations']} violations (a metal or cut layer of a net over "
                f"its limit) on {len(nets_over)} nets: " + "; ".join(f"{n} {', '.join(v)}" for n, v in nets_over.items())
            )
        over = {n: c for n, c in (m.get("current_density_worst") or {}).items() if c["ratio"] > 1}
        if over:
            worst = max(over, key=lambda n: over[n]["ratio"])
            c = over[worst]
            opts.echo(
                f"  current density over the limit on {len(over)} nets (worst {worst}: {c['ma_per_um']:g} mA/um "
                f"on {c['layer']}, limit {c['limit_ma_per_um']:g}; see route.json)"
            )
        over_cuts = {n: c for n, c in (m.get("current_density_worst") or {}).items() if (c.get("via_ratio") or 0) > 1}
        if over_cuts:
            worst = max(over_cuts, key=lambda n: over_cuts[n]["via_ratio"])
            cut, v = max(over_cuts[worst]["vias"].items(), key=lambda kv: kv[1]["ratio"])
            opts.echo(
                f"  via arrays over the per-cut limit on {len(over_cuts)} nets (worst {worst}: {v['cuts']} {cut} cuts, "
                f"{v['ma_per_cut']:g} mA per cut, limit {v['limit_ma_per_cut']:g}; see route.json)"
            )
    if m["drc_violations"] is None:
        opts.echo("  DRC: not run")
    else:
        waived = f", {m['drc_waived']} waived (see drc.json)" if m.get("drc_waived") else ""
        opts.echo(f"  DRC: {m['drc_violations']} violations" + ("" if m["drc_violations"] == 0 else f" {m['drc_counts']}") + waived)
        for item in (res.design.drc.waivers_unused if res.design.drc else ()):
            opts.echo(f"  unused waiver: {item}")
        for item in m["drc_not_checked"] or []:
            opts.echo(f"  not checked: {item}")
        for item in (res.design.drc.notes if res.design.drc else ()):
            if ": not checked" in item:
                opts.echo(f"  partly not checked: {item}")
    if m.get("lvs_status") is None:
        opts.echo("  LVS: not run (layout not compared with the netlist)")
    else:
        counts = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in (m["lvs_counts"] or {}).items())
        opts.echo(f"  LVS: {m['lvs_status']}" + (f" ({counts}; see lvs.txt)" if counts else ""))
        for item in m["lvs_not_compared"] or []:
            opts.echo(f"  LVS not compared: {item}")
    if opts.verbose:
        opts.echo("  stage seconds: " + ", ".join(f"{k} {v:.2f}" for k, v in m["stage_seconds"].items()))
    if "gds" in res.design.outputs:
        opts.echo(f"  wrote {res.rundir / res.design.outputs['gds']}")
    opts.echo(f"  report {res.rundir / 'report.html'}")
    sys.exit(res.exit_code)


# ---------------------------------------------------------------- drc ------
@cli.command()
@click.argument("layout", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--pdk", "pdk_name", metavar="NAME", help="Check against this PDK's rules.")
@click.option("--rules", "rules_file", type=click.Path(dir_okay=False, path_type=Path), help="Check against a standalone rule file (TOML).")
@click.option("--top", metavar="CELL", help="Top cell [default: the only top cell].")
@click.option("--lyrdb", type=click.Path(dir_okay=False, path_type=Path), help="Write a KLayout marker database.")
@click.option("--json", "json_file", type=click.Path(dir_okay=False, path_type=Path), help="Write a JSON summary.")
@click.option("--waivers", "waivers_file", type=click.Path(dir_okay=False, path_type=Path), help="Waiver file (TOML): matching markers are reported as waived.")
@click.option("--jobs", "-j", type=click.IntRange(min=0), default=1, show_default=True, help="Worker processes (0: one per core); the result does not depend on it.")
@click.option("--net-classes", "net_classes_file", type=click.Path(dir_okay=False, path_type=Path), help="Net classes (TOML: [[net_class]] nets, voltage, current; temperature_c) for net-aware rules.")
@click.option("--design", "design_dir", type=click.Path(file_okay=False, path_type=Path), help="Use this design folder's net classes and temperature_c (design.toml).")
@click.option("--temperature", type=float, metavar="C", help="Operating temperature (deg C) for current-density derating [default: the design's, else each limit's reference].")
@click.option("--tile", "tile_um", type=click.FloatRange(min=0), metavar="SIZE_UM", help="Check in square tiles of SIZE_UM um with a halo, over --jobs processes (memory bounded by the tile size; same markers); 0: never tile [default: automatic from 200,000 polygons].")
@click.option("--scheduler", metavar="ADDR", help="Check the tiles of a tiled run on a Dask cluster (tcp://HOST:8786) instead of --jobs local processes; untiled rules run here.")
@click.pass_obj
def drc(opts: Options, layout: Path, pdk_name: str | None, rules_file: Path | None, top: str | None, lyrdb: Path | None, json_file: Path | None, waivers_file: Path | None, jobs: int, net_classes_file: Path | None, design_dir: Path | None, temperature: float | None, tile_um: float | None, scheduler: str | None = None) -> None:
    """Check LAYOUT (GDS) against a PDK's or a rule file's rules.

    Net-aware rules (net_spacing, voltage_spacing, current_density) name nets
    from the layout's text labels; voltages and currents come from
    --net-classes or --design (pairs or nets without one are listed as not
    checked).  Exit code 0 when clean (every marker, if any, waived), 1 when
    unwaived violations are found.
    """
    import pdk as pdks
    from flow.drc.engine import run_drc
    from flow.drc.lyrdb import write_lyrdb
    from flow.drc.waivers import load_waivers
    from flow.fileio import atomic_write_json
    from flow.geometry.gdsio import read_gds
    from flow.geometry.store import open_layout
    from pdk.schema import load_rules_file

    if (pdk_name is None) == (rules_file is None):
        raise click.UsageError("give exactly one of --pdk NAME or --rules FILE.toml")
    if net_classes_file is not None and design_dir is not None:
        raise click.UsageError("give at most one of --net-classes FILE.toml or --design DIR")
    from flow.config import load_design, load_net_classes, parse_temperature
    from flow.stages.drc import design_context

    classes: tuple = ()
    temp_c = None
    if net_classes_file is not None:
        classes, temp_c = load_net_classes(net_classes_file)
    elif design_dir is not None:
        cfg = load_design(design_dir)
        classes, temp_c = cfg.net_classes, cfg.temperature_c
    if temperature is not None:
        problems: list[str] = []
        temp_c = parse_temperature(temperature, "--temperature", lambda k, m: problems.append(f"{k}: {m}"))
        if problems:
            raise click.UsageError(problems[0])
    kit = pdks.load(pdk_name) if pdk_name else load_rules_file(rules_file)
    waivers = load_waivers(waivers_file) if waivers_file else ()
    # a tiled run (the default from 200k polygons) streams the GDS to disk and
    # reads one tile at a time (flow.geometry.store); --tile 0 reads it whole
    shapes = read_gds(layout, kit, top) if tile_um == 0 else open_layout(layout, kit, top)
    progress = opts.progress()
    progress.stage("drc")
    from flow.executor import make_executor

    with make_executor(jobs, scheduler) as executor:
        result = run_drc(shapes, kit, ctx=design_context(tuple(classes), temp_c), waivers=waivers, jobs=jobs, progress=progress, tile_um=tile_um, executor=executor)
    progress.done(f"{len(result.rules_checked)} rules checked")
    if json_file:
        atomic_write_json(json_file, result.to_json(kit))
    if lyrdb:
        write_lyrdb(result, kit, lyrdb, shapes.top, shapes.instances)
    counts = result.counts()
    waived = f", {len(result.waived)} waived" if waivers else ""
    opts.echo(f"{layout}: cell {shapes.top}, {len(result.rules_checked)} rules checked, {len(result.violations)} violations{waived}")
    for rid, n in counts.items():
        opts.echo(f"  {rid}: {n}")
    for v, w in result.waived:
        opts.echo(f"  waived {v.rule_id}: {w.reason} ({w.author}; {w.source})")
    for item in result.waivers_unused:
        opts.echo(f"  unused waiver: {item}")
    if opts.verbose:
        opts.echo("  rules checked: " + ", ".join(result.rules_checked))
    for item in result.not_checked:
        opts.echo(f"  not checked: {item}")
    for item in result.notes:
        opts.echo(f"  note: {item}")
    if scheduler and not any(n.startswith("tiled:") for n in result.notes):
        opts.echo(f"  note: not tiled, so checked in this process, not on {scheduler} (give --tile SIZE_UM to send tiles there)")
    if result.layers_ignored:
        opts.echo("  layers not in the rule set (not checked): " + ", ".join(f"{a}/{b}" for a, b in result.layers_ignored))
    sys.exit(0 if not result.violations else 1)


# ---------------------------------------------------------------- lvs ------
@cli.command()
@click.argument("layout", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("netlist", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--pdk", "pdk_name", required=True, metavar="NAME", help="The layout's PDK (devices, layers, connectivity).")
@click.option("--top", metavar="CELL", help="Top cell of LAYOUT [default: the only top cell].")
@click.option("--netlist-top", metavar="SUBCKT", help="Subcircuit of NETLIST to compare [default: the one named like the top cell, else the deck's top-level devices].")
@click.option("--json", "json_file", type=click.Path(dir_okay=False, path_type=Path), help="Write the full report as JSON (lvs.json format).")
@click.option("--html", "html_file", type=click.Path(dir_okay=False, path_type=Path), help="Write the report as an HTML page.")
@click.option("--lyrdb", "lyrdb_file", type=click.Path(dir_okay=False, path_type=Path), help="Write a KLayout marker database of the findings.")
@click.option("--post-layout", "post_file", type=click.Path(dir_okay=False, path_type=Path), help="Write the post-layout SPICE netlist (extracted devices plus estimated wiring R and C).")
@click.pass_obj
def lvs(opts: Options, layout: Path, netlist: Path, pdk_name: str, top: str | None, netlist_top: str | None, json_file: Path | None, html_file: Path | None, lyrdb_file: Path | None, post_file: Path | None = None) -> None:
    """Compare LAYOUT (GDS) with NETLIST (SPICE): layout versus schematic.

    The circuit is extracted from the GDS alone (devices, parameters,
    connectivity, net names from text labels) and matched with the flattened
    netlist.  Differences are reported as opens, shorts, missing and extra
    devices, parameter mismatches and swapped or wrong connections, each with
    a location in microns.  Exit code 0 when the circuits match (anything not
    compared is listed), 1 on a mismatch, 2 on bad input.
    """
    import pdk as pdks
    from flow.errors import InputError
    from flow.lvs.check import run_lvs
    from flow.lvs.report import text_report, to_json, html_report
    from flow.fileio import atomic_write_json, atomic_write_text
    from flow.netlist.spice import read_spice

    kit = pdks.load(pdk_name)
    if not netlist.is_file():
        raise InputError(f"{netlist}: no such netlist file")
    if not layout.is_file():
        raise InputError(f"{layout}: no such layout file")
    progress = opts.progress()
    progress.stage("lvs")
    from flow.lvs.extract import extract

    ext = extract(layout, kit, top)
    root = netlist.resolve().parent
    want = netlist_top or ext.netlist.top
    try:
        source = read_spice(netlist, root=root, kit=kit, top=want, display_root=Path.cwd())
    except InputError as e:
        if netlist_top is not None or "no subcircuit" not in str(e):
            raise
        source = read_spice(netlist, root=root, kit=kit, top=None, display_root=Path.cwd())
    run_ = run_lvs(layout, source, kit, ext.netlist.top, extraction=ext)
    res = run_.result
    progress.done(res.status)
    if json_file:
        atomic_write_json(json_file, to_json(res, kit=kit, layout=str(layout), netlist=str(netlist), layout_notes=run_.extraction.notes))
    if html_file:
        atomic_write_text(html_file, html_report(res, kit=kit, layout=str(layout), netlist=str(netlist)))
    if lyrdb_file:
        from flow.lvs.lyrdb import write_lvs_lyrdb

        write_lvs_lyrdb(res, lyrdb_file, ext.netlist.top, description=f"pilotflow LVS, {kit.name} {kit.version}")
    if post_file:
        from flow.lvs.parasitics import write_postlayout_spice

        write_postlayout_spice(ext, post_file)
    limit = None if opts.verbose else 50
    for line in text_report(res, kit=kit, layout=str(layout), netlist=str(netlist), limit=limit):
        opts.echo(line)
    for note in run_.extraction.notes if opts.verbose else ():
        opts.echo(f"  extraction: {note}")
    sys.exit(1 if res.status == "mismatch" else 0)


# ---------------------------------------------------------------- pdk ------
@cli.group("pdk", cls=PilotflowGroup)
def pdk_group() -> None:
    """Process design kits: list, show, check, docs, export-klayout."""


@pdk_group.command("list")
@click.pass_obj
def pdk_list(opts: Options) -> None:
    """List the installed PDKs (bundled and plug-in kits).

    A plug-in kit that cannot be used (fails to import, has no or an invalid
    pdk.toml, clashes with another kit) is reported as an Error line after
    the good kits, and the exit code is 2.
    """
    import pdk as pdks

    good, bad = pdks.load_all()
    for kit in good:
        click.echo(f"{kit.name:12s} {kit.version:8s} {kit.doc}")
    for problem in bad:
        click.echo(f"Error: {problem}", err=True)
    if bad:
        sys.exit(2)


@pdk_group.command("show")
@click.argument("name")
@click.pass_obj
def pdk_show(opts: Options, name: str) -> None:
    """Show a PDK's layers, rules and devices."""
    import pdk as pdks

    kit = pdks.load(name)
    click.echo(f"{kit.name} {kit.version} (dbu {kit.dbu_um} um)")
    if kit.doc:
        click.echo(f"  {kit.doc}")
    click.echo("layers:")
    for lay in kit.layers.values():
        click.echo(f"  {lay.name:10s} {lay.gds[0]:>3d}/{lay.gds[1]:<3d} {lay.purpose:9s} {lay.doc}")
    click.echo("routing stack: " + " / ".join(kit.routing))
    click.echo("rules:")
    for r in kit.rules:
        on = r.layer + (f" / {r.other}" if r.other else "")
        click.echo(f"  {r.id:14s} {r.kind:9s} {on:16s} {r.value:g} um  {r.doc}")
    click.echo("devices:")
    for d in kit.devices.values():
        ps = ", ".join(f"{p.name}={p.default:g}{p.unit} [{p.min:g}..{p.max:g}]" for p in d.params.values())
        click.echo(f"  {d.model:8s} ({' '.join(d.terminals)}) {ps}  {d.doc}")


@pdk_group.command("check")
@click.argument("name")
@click.pass_obj
def pdk_check(opts: Options, name: str) -> None:
    """Check a PDK: consistency, devices, and a pass/fail self-test per rule.

    NAME is an installed kit, a kit folder, a pdk.toml, or a standalone rule
    file (any other .toml).  Exit code 0 when everything holds, 1 when a
    check or self-test fails, 2 when the kit does not load.
    """
    from pdk.check import check_kit, format_report, load_target

    kit, standalone = load_target(name)
    report = check_kit(kit, standalone=standalone)
    for line in format_report(report):
        opts.echo(line)
    sys.exit(0 if report.ok else 1)


@pdk_group.command("export-klayout")
@click.argument("name")
@click.option("-o", "--out", "folder", required=True, type=click.Path(file_okay=False, path_type=Path), help="Output folder.")
@click.pass_obj
def pdk_export_klayout(opts: Options, name: str, folder: Path) -> None:
    """Export KLayout layer properties (.lyp), technology (.lyt) and DRC deck (.lydrc).

    Rules the KLayout deck cannot express are listed as not exported.
    """
    from pdk.check import load_target
    from pdk.export import export_klayout

    kit, _ = load_target(name)
    res = export_klayout(kit, folder)
    for path in res.paths:
        opts.echo(f"wrote {path}")
    opts.echo(f"DRC deck: {len(res.exported)} of {len(kit.rules)} rules")
    for rid, why in res.not_exported:
        opts.echo(f"  not exported: {rid}: {why}")


@pdk_group.command("docs")
@click.argument("name")
@click.option("-o", "--out", "folder", type=click.Path(file_okay=False, path_type=Path), help="Output folder [default: ./NAME-manual].")
@click.option("--format", "fmt", type=click.Choice(["md", "html"]), default="md", show_default=True, help="Manual format.")
@click.pass_obj
def pdk_docs(opts: Options, name: str, folder: Path | None, fmt: str) -> None:
    """Write a PDK's rule manual (layers, metal stack, rules, devices with pictures).

    NAME is an installed kit, a kit folder, a pdk.toml or a standalone rule
    file.  Writes OUT/manual.md (or manual.html) and OUT/devices/MODEL.svg,
    a picture of every device at its default parameters.
    """
    from pdk.check import load_target
    from pdk.docs import write_manual

    kit, standalone = load_target(name)
    res = write_manual(kit, folder if folder is not None else Path(f"{kit.name}-manual"), fmt=fmt, standalone=standalone)
    opts.echo(f"wrote {res.manual}: {len(kit.layers)} layers, {len(kit.rules)} rules, {len(kit.devices)} devices")
    for path in res.pictures:
        opts.echo(f"wrote {path}")


# ------------------------------------------------------------ tapeout ------
@cli.command()
@click.argument("rundir", type=click.Path(path_type=Path))
@click.option("-o", "--out", "bundle", required=True, type=click.Path(path_type=Path), help="Bundle folder to write (replaced only if it is a bundle).")
@click.pass_obj
def tapeout(opts: Options, rundir: Path, bundle: Path) -> None:
    """Write a tapeout bundle for the fab from a signed-off run directory.

    Refuses (exit code 1, nothing written) unless DRC is clean (or every
    marker is waived with a reason) with nothing left unchecked and LVS
    status is match.  The bundle holds the GDS and OASIS, the layer map, the
    DRC and LVS reports, bundle.json, a README for the fab and a SHA-256
    manifest; the same run gives byte-identical files.
    """
    from flow.handoff.tapeout import write_bundle

    res = write_bundle(rundir, bundle)
    s = res.signoff
    opts.echo(f"{s.design} ({s.top}) on {s.pdk} {s.pdk_version}: DRC clean ({s.drc.get('waived', 0)} waived), LVS match")
    opts.echo(f"  wrote {res.path}: {len(res.files)} files; GDS sha256 {res.gds_sha256}")


# ------------------------------------------------------------ reticle ------
@cli.command()
@click.argument("bundles", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Reticle GDS to write (a placement map and DRC summary go to OUT with .json).")
@click.option("--size", required=True, metavar="WxH", help="Reticle size: mm by default or with 'mm' (20x20, 4.5x3mm), microns with 'um' (5000x4000um).")
@click.option("--top", default="RETICLE", show_default=True, help="Top cell name.")
@click.option("--scribe", "half_scribe", type=click.FloatRange(min=0), default=40.0, show_default=True, metavar="UM", help="Half scribe lane (um) around dies without their own seal ring.")
@click.pass_obj
def reticle(opts: Options, bundles: tuple[Path, ...], out: Path, size: str, top: str, half_scribe: float) -> None:
    """Place tapeout BUNDLEs on a multi-project reticle and check its DRC.

    Dies are packed in rows inside a frame with an alignment mark in each
    corner; each die keeps its seal ring and scribe lane (dies without one
    get the kit's seal ring and a half scribe lane) and gets a label (text
    polygons on the top metal).  Process-control monitors generated from the
    PDK (TLM ladders, van der Pauw crosses, comb/serpentine per routing
    metal) fill the free space.  All bundles must share one PDK.  Exit code
    0 when the reticle is DRC-clean, 1 when DRC finds violations (the GDS is
    still written), 2 on bad input or a reticle too small for the dies.
    """
    from flow.handoff.reticle import build_reticle, parse_size, write_reticle

    if out.suffix.lower() == ".json":
        raise click.UsageError("-o names the reticle GDS; its placement map goes beside it with .json")
    res = build_reticle(list(bundles), parse_size(size), top=top, half_scribe_um=half_scribe, progress=opts.progress())
    side = write_reticle(res, out)
    opts.echo(
        f"reticle {res.size_um[0] / 1000:g} x {res.size_um[1] / 1000:g} mm on {res.kit.name} {res.kit.version}: "
        f"{len(res.of('die'))} dies, {len(res.of('label'))} labels, {len(res.of('pcm'))} PCMs, {len(res.of('mark'))} alignment marks"
    )
    for item in res.pcms_skipped:
        opts.echo(f"  PCM not placed: {item}")
    d = res.drc
    opts.echo(f"  DRC: {len(d.rules_checked)} rules checked, {len(d.violations)} violations" + (f" {d.counts()}" if d.violations else ""))
    for item in d.not_checked:
        opts.echo(f"  not checked: {item}")
    partly = [n.split(":")[0] for n in d.notes if ": not checked" in n]
    if partly:
        opts.echo(f"  partly not checked (nets without voltage or current on the reticle): {', '.join(sorted(set(partly)))}")
    opts.echo(f"  wrote {out} and {side}")
    sys.exit(0 if d.clean else 1)


# -------------------------------------------------------------- place ------
def _die_option(value: str | None) -> tuple[float, float] | None:
    if value is None:
        return None
    parts = value.replace("x", ",").split(",")
    try:
        w, h = (float(v) for v in parts)
    except ValueError:
        raise click.BadParameter(f"'{value}' is not W,H in microns (e.g. 40,30)", param_hint="--die") from None
    return w, h


@cli.command()
@click.option("--lef", "lefs", multiple=True, required=True, type=click.Path(dir_okay=False, path_type=Path), help="LEF file (repeatable: technology, then cells).")
@click.option("--def", "def_in", type=click.Path(dir_okay=False, path_type=Path), help="Input DEF (die, rows, components, pins, nets).")
@click.option("--verilog", type=click.Path(dir_okay=False, path_type=Path), help="Gate-level Verilog netlist instead of a DEF netlist.")
@click.option("--die", metavar="W,H", help="Die size in microns (with --verilog).")
@click.option("--utilization", type=click.FloatRange(min=0, min_open=True, max=1), help="Cell area / core area (with --verilog; the die is then square).")
@click.option("-o", "--out", "def_out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Output DEF with the cells placed.")
@click.option("--density", type=click.FloatRange(min=0, min_open=True, max=1), default=0.9, show_default=True, help="Target local density of global placement (cell area / free area).")
@click.option("--global", "method", type=click.Choice(["eplace", "quadratic"]), default="eplace", show_default=True, help="Global placer: electrostatic (ePlace-style) or quadratic with spreading.")
@click.option("--seed", type=int, default=1, show_default=True, help="Seed for tie-breaking; same inputs and seed give the same DEF.")
@click.option("--map", "map_out", type=click.Path(dir_okay=False, path_type=Path), help="Also write the density map of the result as an SVG picture.")
@click.pass_obj
def place(opts: Options, lefs: tuple[Path, ...], def_in: Path | None, verilog: Path | None, die: str | None, utilization: float | None, def_out: Path, density: float, method: str, seed: int, map_out: Path | None = None) -> None:
    """Place the standard cells of a LEF/DEF (or LEF + Verilog) design.

    Global placement, Abacus row legalisation and detailed placement; the
    result is checked for legality (every cell on a row's sites, inside the
    die, no overlaps) before OUT is written.  Exit code 0 when placed.
    """
    from flow.lefdef import read_def, read_lef, read_verilog, write_def
    from flow.lefdef.placer import check_def_placement, def_from_verilog, density_map, place_def

    if (def_in is None) == (verilog is None):
        raise click.UsageError("give exactly one of --def IN.def or --verilog NETLIST.v")
    if verilog is not None and (die is None) == (utilization is None):
        raise click.UsageError("with --verilog give exactly one of --die W,H or --utilization U")
    if def_in is not None and (die is not None or utilization is not None):
        raise click.UsageError("--die and --utilization go with --verilog; a DEF has its own die")
    lib = None
    for f in lefs:
        lib = read_lef(f, lib)
    assert lib is not None
    if def_in is not None:
        design = read_def(def_in)
    else:
        module = read_verilog(verilog)
        for note in module.notes:
            opts.echo(f"note: {note}")
        design = def_from_verilog(module, lib, die_um=_die_option(die), utilization=utilization, path=str(verilog))
    progress = opts.progress()
    progress.stage("place")
    placed, rep = place_def(design, lib, seed=seed, target_density=density, method=method, progress=lambda phase, f: progress(f"place/{phase}", f))
    problems = check_def_placement(placed, lib)
    if problems:
        raise UserError(f"internal error: the placement is not legal: {problems[0]} ({len(problems)} problems); nothing written", 3)
    ovf, svg = density_map(placed, lib)
    write_def(placed, def_out)
    if map_out is not None:
        from flow.fileio import atomic_write_text

        atomic_write_text(map_out, svg)
    progress.done(f"{rep.cells} cells placed")
    um = float(placed.dbu)
    opts.echo(f"{placed.design}: {rep.cells} cells, {rep.fixed} fixed, {rep.io_pins} I/O pins, {rep.nets} nets, {rep.rows} rows, utilisation {rep.utilisation:.1%}")
    opts.echo(f"  HPWL (pins) global {rep.hpwl_global / um:.1f} um, legal {rep.hpwl_legal / um:.1f} um, detailed {rep.hpwl_detailed / um:.1f} um")
    opts.echo(f"  HPWL (instance boxes, OpenROAD report_hpwl method) {rep.hpwl_box / um:.1f} um")
    opts.echo(f"  legalisation displacement mean {rep.displacement_mean / um:.2f} um, max {rep.displacement_max / um:.2f} um")
    opts.echo(f"  density overflow {ovf:.3f} (cell area above the bin capacity, over the cell area)")
    opts.echo("  legal: every cell on a row's sites, inside the die, no overlaps (checked)")
    for note in rep.notes:
        opts.echo(f"  note: {note}")
    if opts.verbose:
        opts.echo("  seconds: " + ", ".join(f"{k} {v:.2f}" for k, v in rep.seconds.items()))
    opts.echo(f"  wrote {def_out}" + (f" and {map_out}" if map_out is not None else ""))



# -------------------------------------------------------------- route (LEF/DEF) ------
@cli.command("route")
@click.option("--lef", "lefs", multiple=True, required=True, type=click.Path(dir_okay=False, path_type=Path), help="LEF file (repeatable: technology, then cells).")
@click.option("--def", "def_in", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Placed DEF (components placed, nets unrouted).")
@click.option("-o", "--out", "def_out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Output DEF with the signal nets routed.")
@click.option("--top-layer", metavar="LAYER", help="Highest routing layer to use [default: the LEF's top routing layer].")
@click.option("--rounds", type=click.IntRange(min=0), default=30, show_default=True, help="Rip-up and reroute rounds at most.")
@click.pass_obj
def route_cmd(opts: Options, lefs: tuple[Path, ...], def_in: Path, def_out: Path, top_layer: str | None, rounds: int) -> None:
    """Route the signal nets of a placed LEF/DEF design (e.g. from OpenROAD or qflow).

    Global routing, then track-based detailed routing inside the guides with
    negotiated rip-up and reroute; the result keeps the LEF's width, spacing
    and cut spacing by construction.  Special (power) nets stay as they are.
    Exit code 0 when every net is routed, 1 when some are not (each listed
    with the reason and the place; the DEF is written with the others).
    """
    from flow.lefdef import read_def, read_lef
    from flow.lefdef.routedb import route_design

    lib = None
    for f in lefs:
        lib = read_lef(f, lib)
    assert lib is not None
    design = read_def(def_in)
    progress = opts.progress()
    progress.stage("route")
    routed, res, db = route_design(lib, design, top_layer=top_layer, max_rounds=rounds, progress=progress)
    from flow.lefdef import write_def

    write_def(routed, def_out)
    total = len(db.nets)
    ok = total - len(res.unrouted)
    progress.done(f"{ok}/{total} nets routed")
    um = float(db.dbu)
    opts.echo(f"{db.design}: {ok}/{total} nets routed, wire {res.wirelength / um:.1f} um, {res.via_count} vias, {res.rounds} rip-up rounds")
    if db.skipped:
        opts.echo(f"  not routed by design: {len(db.skipped)} nets (power/ground nets, nets with one pin)")
    for note in db.notes + res.notes:
        opts.echo(f"  note: {note}")
    if opts.verbose:
        opts.echo("  seconds: " + ", ".join(f"{k} {v:.2f}" for k, v in res.seconds.items()))
    for net, why in res.unrouted.items():
        click.echo(f"  unrouted {net}: {why}", err=True)
    opts.echo(f"  wrote {def_out}")
    if res.unrouted:
        sys.exit(1)

# ------------------------------------------------------- regress, sweep ----
def _executor_options(f):
    f = click.option("--scheduler", metavar="ADDR", help="Run on a Dask cluster (tcp://HOST:8786) instead of local processes.")(f)
    f = click.option("--jobs", "-j", type=click.IntRange(min=0), default=1, show_default=True, help="Local worker processes (0: one per core).")(f)
    return f


@cli.command()
@click.argument("designs", nargs=-1, type=click.Path(path_type=Path))
@click.option("--baseline", "baseline_file", type=click.Path(dir_okay=False, path_type=Path), help="Baseline file [default: baseline.toml in the folder of designs].")
@click.option("-o", "--runs", "runs_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("runs/regress"), show_default=True, help="Run directories go here, one per design.")
@click.option("--update", is_flag=True, help="Write the baseline from this run (limits set by hand keep their margin) and exit 0.")
@click.option("--json", "json_file", type=click.Path(dir_okay=False, path_type=Path), help="Write the table as JSON.")
@_executor_options
@click.pass_obj
def regress(opts: Options, designs: tuple[Path, ...], baseline_file: Path | None, runs_dir: Path, update: bool, json_file: Path | None, jobs: int, scheduler: str | None) -> None:
    """Run every sample design and compare its metrics with the baseline.

    DESIGNS are folders of designs (every subfolder with a design.toml) or
    design folders [default: designs].  Each metric is checked against its
    per-design limit in the baseline file; the table lists design, metric,
    baseline, now, limit and verdict.  Exit code 0 when every check passes,
    1 on a regression (or a design that fails to run), 2 on bad input.
    """
    from flow.batch import design_dirs
    from flow.executor import make_executor
    from flow.fileio import atomic_write_json, atomic_write_text
    from flow.regress import Baseline, compare, load_baseline, run_designs, table, baseline_text, updated

    paths = list(designs) or [Path("designs")]
    dirs, full = design_dirs(paths)
    if baseline_file is None:
        folder = next((p for p in paths if not (p / "design.toml").is_file()), paths[0].parent)
        baseline_file = folder / "baseline.toml"
    base: Baseline | None
    if update and not baseline_file.is_file():
        base = None
    else:
        base = load_baseline(baseline_file)
    progress = opts.progress()
    progress.stage("regress")
    with make_executor(jobs, scheduler) as ex:
        opts.echo(f"regress: {len(dirs)} designs on {ex.describe()}, runs in {runs_dir}")
        records = run_designs(dirs, runs_dir, ex, progress)
    progress.done(f"{len(records)} designs run")
    rows = compare(base, records, full) if base is not None else []
    for line in table(rows):
        opts.echo(line)
    if json_file:
        atomic_write_json(json_file, {"baseline": str(baseline_file), "rows": [r.__dict__ for r in rows], "runs": records})
    failed = [r for r in rows if r.verdict == "FAIL"]
    new = [r.design for r in rows if r.verdict == "new"]
    if new:
        opts.echo(f"not checked (no baseline entry): {', '.join(new)}")
    if update:
        atomic_write_text(baseline_file, baseline_text(updated(base, records)))
        for rec in records:
            if rec["error"]:
                opts.echo(f"kept the old entry of {rec['name']} (it did not run: {rec['error']})")
            elif rec["exit_code"]:
                opts.echo(f"warning: {rec['name']} is not clean (unrouted nets, current density over the limit, DRC violations or LVS mismatch); its baseline accepts that")
        opts.echo(f"wrote {baseline_file}: {len(records)} designs measured")
        sys.exit(0)
    opts.echo(f"regress: {sum(1 for r in rows if r.verdict != 'new')} checks, {len(failed)} failed" + (": " + ", ".join(f"{r.design} {r.metric}" for r in failed) if failed else "") + f" (baseline {baseline_file})")
    sys.exit(1 if failed else 0)


@cli.command()
@click.argument("design_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--param", "params", multiple=True, required=True, metavar="KEY=V1,V2,...", help="A design.toml key (TABLE.KEY, e.g. floorplan.utilization) and its values (repeatable: the cartesian product runs).")
@click.option("-o", "--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), help="Output folder: one run directory per variant, sweep.csv, sweep.json [default: runs/sweep/<design folder>].")
@_executor_options
@click.pass_obj
def sweep(opts: Options, design_dir: Path, params: tuple[str, ...], out_dir: Path | None, jobs: int, scheduler: str | None) -> None:
    """Run DESIGN_DIR once for every combination of --param values.

    Each variant runs in its own run directory; the table of their metrics
    is printed and written to OUT/sweep.csv and OUT/sweep.json.  Exit code
    0 when every variant ran (clean or not: see the result column), 1 when
    a variant failed to run, 2 on bad input.
    """
    from flow.config import load_design
    from flow.executor import make_executor
    from flow.sweep import parse_param, run_sweep, text_table

    load_design(design_dir)
    parsed = [parse_param(p) for p in params]
    out = out_dir or Path("runs/sweep") / design_dir.resolve().name
    progress = opts.progress()
    progress.stage("sweep")
    with make_executor(jobs, scheduler) as ex:
        table = run_sweep(design_dir, parsed, out, ex, progress)
    progress.done(f"{len(table)} variants run")
    for line in text_table(table, [k for k, _ in parsed]):
        opts.echo(line)
    opts.echo(f"wrote {out / 'sweep.csv'} and {out / 'sweep.json'}")
    sys.exit(1 if any(r["error"] for r in table) else 0)


def main(argv: list[str] | None = None) -> None:
    """Console entry point."""
    cli.main(args=argv, prog_name="pilotflow")


if __name__ == "__main__":  # pragma: no cover
    main()
