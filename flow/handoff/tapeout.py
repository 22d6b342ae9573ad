"""``pilotflow tapeout``: a signed-off run directory -> a bundle for the fab.

The bundle is written only when the run is signed off:

* DRC is clean: no unwaived marker, every waived marker has a reason, no rule
  listed as not checked (or partly not checked), no layer of the layout left
  out of the rule set;
* LVS status is ``match`` (not ``mismatch``, not ``incomplete``);
* no routed net's current density or current per via cut is over its limit
  (metrics.json ``current_density_over``).

Otherwise :class:`TapeoutRefused` (exit code 1) names what is wrong.  A
missing or malformed run directory is an :class:`~flow.errors.InputError`
(exit code 2).

Layout of a bundle (see ``docs/formats.md``)::

    BUNDLE/
      <top>.gds         the run's GDS, byte for byte (the file DRC/LVS checked)
      <top>.oas         the same layout as OASIS (gdstk)
      layermap.csv      name,layer,datatype,purpose,use for every kit layer
      drc.json drc.lyrdb lvs.json lvs.txt   the run's sign-off reports
      bundle.json       machine-readable summary (design, die, PDK, checks)
      README.txt        short description for the fab
      manifest.sha256   SHA-256 of every other file (``sha256sum -c`` format)

Everything is deterministic: the same inputs give byte-identical files (no
dates, no absolute paths, sorted tables).  The bundle is built in a
temporary directory beside ``BUNDLE`` and renamed into place, so a failed
tapeout never leaves a half-written bundle; an existing ``BUNDLE`` is
replaced only when it is itself a pilotflow bundle.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import flow
from flow.errors import InputError, PilotflowError

BUNDLE_FORMAT = "pilotflow-bundle"
BUNDLE_FORMAT_VERSION = 1
MANIFEST = "manifest.sha256"
#: Run-directory reports copied into the bundle (when present; drc.json and
#: lvs.json are required).
REPORTS = ("drc.json", "drc.lyrdb", "lvs.json", "lvs.txt")


class TapeoutRefused(PilotflowError):
    """The run is not signed off (DRC or LVS); nothing was written."""

    exit_code = 1


@dataclass(frozen=True)
class Signoff:
    """What a run directory says about a design, checked for sign-off."""

    rundir: Path
    design: str
    top: str
    pdk: str
    pdk_version: str
    gds: Path
    die_um: tuple[float, float, float, float]
    seal_ring: bool
    scribe_um: float
    drc: dict[str, Any]
    lvs: dict[str, Any]


@dataclass(frozen=True)
class BundleResult:
    path: Path
    files: tuple[str, ...]
    gds_sha256: str
    signoff: Signoff


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _load_json(path: Path, what: str) -> dict[str, Any]:
    if not path.is_file():
        raise InputError(f"{path}: no {path.name}: {what}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        line = getattr(e, "lineno", None)
        raise InputError(f"{path}:{line or 1}: not a readable JSON file ({e.__class__.__name__})") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}:1: expected a JSON object")
    return data


def _last_state(rundir: Path) -> dict[str, Any]:
    """The state saved by the run's gds stage (it carries the floorplan)."""
    states = sorted(rundir.glob("[0-9][0-9]-gds/state.json"))
    if not states:
        raise InputError(f"{rundir}: no NN-gds/state.json: the gds stage has not run (run the flow to the end)")
    return _load_json(states[-1], "the gds stage has not run")


def check_signoff(rundir: str | os.PathLike[str]) -> Signoff:
    """Read a run directory and check that it is signed off.

    Raises
    ------
    InputError
        ``rundir`` is not a complete run directory (exit code 2).
    TapeoutRefused
        DRC or LVS does not allow a tapeout; the message lists every reason
        (exit code 1).
    """
    rundir = Path(rundir)
    if not rundir.is_dir():
        raise InputError(f"{rundir}: no such run directory")
    metrics = _load_json(rundir / "metrics.json", "not a pilotflow run directory")
    for key in ("design", "top", "pdk", "pdk_version"):
        if not isinstance(metrics.get(key), str):
            raise InputError(f"{rundir / 'metrics.json'}:1: '{key}' is missing")
    top = metrics["top"]
    drc = _load_json(rundir / "drc.json", "DRC has not run (run the flow through the drc stage)")
    lvs = _load_json(rundir / "lvs.json", "LVS has not run (run the flow through the lvs stage)")
    state = _last_state(rundir)
    gds = rundir / f"{top}.gds"
    if not gds.is_file():
        raise InputError(f"{gds}: no such file: the run wrote no GDS for top cell {top}")
    for name, rep in (("drc.json", drc), ("lvs.json", lvs)):
        got = (rep.get("pdk"), rep.get("pdk_version"))
        if got != (metrics["pdk"], metrics["pdk_version"]):
            raise InputError(
                f"{rundir / name}:1: checked with PDK {got[0]} {got[1]}, but the run used {metrics['pdk']} {metrics['pdk_version']} (stale report: re-run the flow)"
            )
    compared = lvs.get("layout")
    # the flow's lvs stage records the GDS's name; `pilotflow lvs` the path it was given
    if compared not in (None, gds.name) and (rundir / str(compared)).resolve() != gds.resolve():
        raise InputError(f"{rundir / 'lvs.json'}:1: compared layout {lvs.get('layout')}, the run's layout is {gds.name} (stale report: re-run the flow)")
    if drc.get("top") not in (None, top):
        raise InputError(f"{rundir / 'drc.json'}:1: checked top cell {drc.get('top')}, the run's top cell is {top}")

    reasons = _current_reasons(metrics) + _drc_reasons(drc) + _lvs_reasons(lvs)
    if reasons:
        raise TapeoutRefused(f"tapeout refused for {metrics['design']} ({rundir}): " + "; ".join(reasons))

    fp = state.get("floorplan") or {}
    die = fp.get("die")
    if not (isinstance(die, list) and len(die) == 4):
        raise InputError(f"{rundir}: the saved state has no die outline (floorplan)")
    dbu_um = _dbu_um(metrics["pdk"])
    at = fp.get("seal_ring_at")
    return Signoff(
        rundir=rundir,
        design=metrics["design"],
        top=top,
        pdk=metrics["pdk"],
        pdk_version=metrics["pdk_version"],
        gds=gds,
        die_um=tuple(round(v * dbu_um, 6) for v in die),  # type: ignore[arg-type]
        seal_ring=fp.get("seal_ring") is not None,
        scribe_um=round(at[0] * dbu_um, 6) if at else 0.0,
        drc=drc,
        lvs=lvs,
    )


def _dbu_um(pdk_name: str) -> float:
    import pdk as pdks

    return pdks.load(pdk_name).dbu_um


def _current_reasons(metrics: dict[str, Any]) -> list[str]:
    """A routed net's current density (or current per via cut) over its
    limit (metrics.json ``current_density_over``, from the route report)."""
    over = metrics.get("current_density_over")
    if over is None:  # a run made before the key: its worst figures per net
        over = {}
        for net, c in (metrics.get("current_density_worst") or {}).items():
            layers = [c["layer"]] if (c.get("ratio") or 0) > 1 else []
            layers += [k for k, v in (c.get("vias") or {}).items() if (v.get("ratio") or 0) > 1]
            if layers:
                over[net] = layers
    if not over:
        return []
    items = ", ".join(f"{net} on {'/'.join(layers)}" for net, layers in sorted(over.items()))
    return [f"current density over the limit: {items} (see route.json)"]


def _drc_reasons(drc: dict[str, Any]) -> list[str]:
    out: list[str] = []
    counts = drc.get("counts") or {}
    if drc.get("violations") or counts:
        by_rule = ", ".join(f"{r} ({n})" for r, n in sorted(counts.items())) or f"{drc.get('violations')} markers"
        out.append(f"DRC has unwaived markers on {by_rule}")
    no_reason = sorted(
        {r["id"] for r in drc.get("rules", []) for w in r.get("waived", []) if not str(w.get("reason") or "").strip()}
    )
    if no_reason:
        out.append("DRC markers waived without a reason on " + ", ".join(no_reason))
    if drc.get("not_checked"):
        out.append("DRC not checked: " + ", ".join(drc["not_checked"]))
    partly = [n for n in drc.get("notes", []) if ": not checked" in n]
    if partly:
        out.append("DRC partly not checked: " + ", ".join(partly))
    if drc.get("layers_ignored"):
        out.append(
            "layout layers not in the rule set (not checked): " + ", ".join(f"{a}/{b}" for a, b in drc["layers_ignored"])
        )
    if not drc.get("rules_checked"):
        out.append("DRC checked no rule")
    return out


def _lvs_reasons(lvs: dict[str, Any]) -> list[str]:
    status = lvs.get("status")
    if status == "match" and not lvs.get("not_compared"):
        return []
    counts = (lvs.get("summary") or {}).get("counts") or {}
    found = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in counts.items() if n)
    out = f"LVS status is {status}" + (f" ({found})" if found else "")
    if lvs.get("not_compared"):
        out += "; LVS not compared: " + ", ".join(str(x) for x in lvs["not_compared"])
    return [out]


# ---------------------------------------------------------------- writing --
def layer_map_csv(kit) -> str:
    """``name,layer,datatype,purpose,use`` rows for every layer of ``kit``:
    the drawing datatype, plus the pin and label datatypes where defined."""
    rows = ["name,layer,datatype,purpose,use"]
    for lay in kit.layers.values():
        rows.append(f"{lay.name},{lay.gds[0]},{lay.gds[1]},{lay.purpose},drawing")
        if lay.pin is not None:
            rows.append(f"{lay.name},{lay.pin[0]},{lay.pin[1]},{lay.purpose},pin")
        if lay.label is not None:
            rows.append(f"{lay.name},{lay.label[0]},{lay.label[1]},{lay.purpose},label")
    return "\n".join(rows) + "\n"


def _layers_used(lib) -> list[tuple[int, int]]:
    used: set[tuple[int, int]] = set()
    for cell in lib.cells:
        used.update((p.layer, p.datatype) for p in cell.polygons)
        used.update((q.layer, q.datatype) for path in cell.paths for q in path.to_polygons())
        used.update((lb.layer, lb.texttype) for lb in cell.labels)
    return sorted(used)


def _readme(s: Signoff, kit, gds_name: str, oas_name: str, gds_sha: str, used: list[tuple[int, int]], files: list[str]) -> str:
    x0, y0, x1, y1 = s.die_um
    names: dict[tuple[int, int], str] = {}
    for lay in kit.layers.values():
        names.setdefault(tuple(lay.gds), f"{lay.name} ({lay.purpose})")
        if lay.pin is not None:
            names.setdefault(tuple(lay.pin), f"{lay.name} pin")
        if lay.label is not None:
            names.setdefault(tuple(lay.label), f"{lay.name} net-name text")
    drc, lvs = s.drc, s.lvs
    waived = [
        f"    {r['id']}: {w['reason']} ({w.get('author') or 'no author'}; {w.get('waiver') or ''})"
        for r in drc.get("rules", [])
        for w in r.get("waived", [])
    ]
    dev = (lvs.get("summary") or {}).get("devices") or {}
    nets = (lvs.get("summary") or {}).get("nets") or {}
    lines = [
        f"Tapeout bundle: {s.design}",
        "",
        f"Design        {s.design}",
        f"Top cell      {s.top}",
        f"Die           {x1 - x0:g} x {y1 - y0:g} um (outline {x0:g},{y0:g} - {x1:g},{y1:g} um on BOUNDARY)",
        "Seal ring     " + (f"yes, {s.scribe_um:g} um of scribe lane inside the die edge" if s.seal_ring else "no (add one at reticle assembly)"),
        f"PDK           {s.pdk} {s.pdk_version}",
        f"Written by    pilotflow {flow.__version__}",
        f"Layout        {gds_name} (GDSII, 1 um user unit, {kit.dbu_um * 1000:g} nm grid) and {oas_name} (OASIS, same layout)",
        f"GDS SHA-256   {gds_sha}",
        "",
        "Layers in the layout (GDS layer/datatype):",
        *[f"    {a}/{b}  {names.get((a, b), 'not a layer of the kit')}" for a, b in used],
        "The full layer map (every kit layer) is layermap.csv.",
        "",
        "What was checked:",
        f"    DRC: pilotflow DRC, {len(drc.get('rules_checked', []))} rules of {s.pdk} {s.pdk_version}, "
        f"0 unwaived markers, {drc.get('waived', 0)} waived, nothing left unchecked (drc.json, drc.lyrdb)",
        *(["    waived markers (rule: reason):", *waived] if waived else []),
        f"    LVS: match, {dev.get('matched', '?')} devices and {nets.get('matched', '?')} nets matched, "
        f"nothing left uncompared (lvs.json, lvs.txt)",
        "",
        "Files (SHA-256 of each in manifest.sha256; check with `sha256sum -c manifest.sha256`):",
        *[f"    {f}" for f in files],
        "",
    ]
    return "\n".join(lines)


def write_bundle(rundir: str | os.PathLike[str], bundle: str | os.PathLike[str]) -> BundleResult:
    """Check ``rundir`` for sign-off and write the bundle to ``bundle``.

    Raises :class:`TapeoutRefused` or :class:`~flow.errors.InputError`
    before anything is written.
    """
    import gdstk

    import pdk as pdks

    bundle = Path(bundle)
    s = check_signoff(rundir)
    if bundle.exists() and not is_bundle(bundle):
        raise InputError(f"{bundle}: exists and is not a pilotflow bundle; not overwriting it")
    kit = pdks.load(s.pdk)
    if kit.version != s.pdk_version:
        raise InputError(
            f"{s.rundir}: the run used {s.pdk} {s.pdk_version}, the installed kit is {kit.version}; re-run the flow"
        )
    try:
        lib = gdstk.read_gds(str(s.gds))
    except Exception as e:  # noqa: BLE001 - gdstk raises plain errors on bad files
        raise InputError(f"{s.gds}: not a readable GDS file ({e})") from None
    if s.top not in {c.name for c in lib.top_level()}:
        raise InputError(f"{s.gds}: top cell {s.top} is not a top cell of the layout")

    bundle.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{bundle.name}.", suffix=".tmp", dir=bundle.parent))
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)
        gds_name, oas_name = f"{s.top}.gds", f"{s.top}.oas"
        shutil.copyfile(s.gds, tmp / gds_name)
        lib.write_oas(str(tmp / oas_name))
        (tmp / "layermap.csv").write_text(layer_map_csv(kit), encoding="utf-8")
        for name in REPORTS:
            if (s.rundir / name).is_file():
                shutil.copyfile(s.rundir / name, tmp / name)
        gds_sha = sha256_file(tmp / gds_name)
        x0, y0, x1, y1 = s.die_um
        meta = {
            "format": BUNDLE_FORMAT,
            "format_version": BUNDLE_FORMAT_VERSION,
            "design": s.design,
            "top": s.top,
            "pdk": s.pdk,
            "pdk_version": s.pdk_version,
            "pilotflow_version": flow.__version__,
            "dbu_um": kit.dbu_um,
            "die_um": [x0, y0, x1, y1],
            "die_size_um": [round(x1 - x0, 6), round(y1 - y0, 6)],
            "seal_ring": s.seal_ring,
            "scribe_um": s.scribe_um,
            "gds": gds_name,
            "oasis": oas_name,
            "gds_sha256": gds_sha,
            "drc": {
                "clean": True,
                "rules_checked": len(s.drc.get("rules_checked", [])),
                "waived": s.drc.get("waived", 0),
                "waived_counts": s.drc.get("waived_counts", {}),
            },
            "lvs": {"status": s.lvs.get("status"), "summary": s.lvs.get("summary", {})},
        }
        (tmp / "bundle.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        files = sorted(p.name for p in tmp.iterdir()) + ["README.txt"]
        files = sorted(set(files))
        (tmp / "README.txt").write_text(
            _readme(s, kit, gds_name, oas_name, gds_sha, _layers_used(lib), files + [MANIFEST]), encoding="utf-8"
        )
        manifest = "".join(f"{sha256_file(tmp / f)}  {f}\n" for f in files)
        (tmp / MANIFEST).write_text(manifest, encoding="utf-8")
        _replace_dir(tmp, bundle)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return BundleResult(bundle, tuple(files + [MANIFEST]), gds_sha, s)


def is_bundle(path: Path) -> bool:
    """``path`` is a directory written by :func:`write_bundle`."""
    meta = path / "bundle.json"
    if not path.is_dir() or not meta.is_file() or not (path / MANIFEST).is_file():
        return False
    try:
        return json.loads(meta.read_text(encoding="utf-8")).get("format") == BUNDLE_FORMAT
    except (OSError, ValueError, AttributeError):
        return False


def _replace_dir(new: Path, final: Path) -> None:
    """Rename ``new`` onto ``final``; an existing ``final`` (a bundle) is
    moved aside first and removed once the new one is in place."""
    if not final.exists():
        os.rename(new, final)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".old", dir=final.parent))
    os.rmdir(old)
    os.rename(final, old)
    try:
        os.rename(new, final)
    except BaseException:
        os.rename(old, final)
        raise
    shutil.rmtree(old, ignore_errors=True)


def read_bundle(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Load a bundle's ``bundle.json`` after checking every file against the
    manifest; raise :class:`~flow.errors.InputError` on any difference."""
    path = Path(path)
    if not path.is_dir():
        raise InputError(f"{path}: no such bundle directory")
    if not is_bundle(path):
        raise InputError(f"{path}: not a pilotflow bundle (no bundle.json of format {BUNDLE_FORMAT} or no {MANIFEST})")
    listed: set[str] = set()
    for i, line in enumerate((path / MANIFEST).read_text(encoding="utf-8").splitlines(), 1):
        digest, sep, name = line.partition("  ")
        if not sep or len(digest) != 64 or "/" in name or name in ("", ".", ".."):
            raise InputError(f"{path / MANIFEST}:{i}: expected '<sha256>  <file>'")
        f = path / name
        if not f.is_file():
            raise InputError(f"{path / MANIFEST}:{i}: {name} is missing from the bundle")
        if sha256_file(f) != digest:
            raise InputError(f"{path / MANIFEST}:{i}: {name} does not match its checksum (bundle modified)")
        listed.add(name)
    meta = json.loads((path / "bundle.json").read_text(encoding="utf-8"))
    for key in ("bundle.json", meta.get("gds")):
        if key not in listed:
            raise InputError(f"{path / MANIFEST}:1: {key} is not listed")
    return meta
