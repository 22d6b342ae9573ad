"""``pilotflow pdk check``: is a kit consistent, and does every rule do what it says?

The loader (:mod:`pdk.schema`) already rejects malformed files.  This module
checks what only a whole kit can show, and then *runs* every rule:

``schema``
    rule and connectivity references, rule values (positive, on grid) and ids
    once more on the loaded object (kits can also be built in code), and no
    rule repeating the check of another one;
``connectivity``
    cut layers only as the middle of ``[lower, cut, upper]`` entries, the via
    graph (lower -> upper) acyclic, the routing stack present bottom-up as
    ``[metal, cut, metal]`` entries;
``devices``
    every device generates at its default parameters, draws only on the
    kit's layers, has a pin for each terminal and is DRC-clean alone
    (chip-level kinds such as ``density`` are not applied to a device alone;
    the finding names the rules left out);
``rules``
    every rule's kind is implemented by the DRC engine
    (:data:`flow.drc.core.IMPLS`) and has self-tests; each generated
    self-test layout gives exactly the expected number of markers of that
    rule.  A rule without a pass case *and* a fail case is a failure;
``changelog``
    ``CHANGELOG.md`` next to ``pdk.toml`` has the kit version as its top
    (newest) entry.

Example
-------
>>> import pdk
>>> report = check_kit(pdk.load("gan650"))
>>> report.ok, report.failures
(True, 0)
>>> format_report(report)[-1].startswith("gan650 0.2.0: OK")
True
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType, ModuleType

import gdstk
import networkx as nx
import numpy as np

from flow.drc.core import IMPLS, CheckContext, SelfTest
from flow.drc.engine import run_drc  # also registers every rule kind
from flow.errors import PDKError
from flow.geometry.gdsio import LayoutShapes, shapes_from_library
from pdk.schema import PDK, RULE_KINDS, Rule, _on_grid, load_pdk_file, load_rules_file

#: Sections of a report, in the order they are printed.
SECTIONS = ("schema", "connectivity", "devices", "rules", "changelog")


@dataclass(frozen=True)
class Finding:
    """One checked item: ``subject`` (a rule id, device, layer...) in ``section``."""

    section: str
    subject: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class CheckReport:
    """What :func:`check_kit` found.

    ``selftested`` counts the rules whose self-tests all ran and gave the
    expected markers; ``layouts`` the self-test layouts run.
    """

    kit: str
    version: str
    source: str
    findings: tuple[Finding, ...]
    rules: int = 0
    selftested: int = 0
    layouts: int = 0
    standalone: bool = False

    @property
    def failures(self) -> int:
        """Number of failed findings."""
        return sum(not f.ok for f in self.findings)

    @property
    def ok(self) -> bool:
        """True when nothing failed."""
        return self.failures == 0

    def section(self, name: str) -> list[Finding]:
        """The findings of section ``name``."""
        return [f for f in self.findings if f.section == name]


# ---------------------------------------------------------------- loading --


def load_target(target: str | Path) -> tuple[PDK, bool]:
    """Load what ``pilotflow pdk check TARGET`` names: ``(kit, standalone)``.

    ``target`` is an installed kit's name, a kit folder, a path to a
    ``pdk.toml`` (a kit: its folder holds ``devices.py`` and
    ``CHANGELOG.md``) or to any other ``.toml`` file, read as a standalone
    rule file (``[layers]`` and ``[[rules]]``, like ``pilotflow drc
    --rules``).

    Raises
    ------
    PDKError
        The kit or file does not load (every problem listed).
    """
    import pdk as pdks

    text = str(target)
    p = Path(text)
    looks_like_path = isinstance(target, Path) or p.suffix == ".toml" or "/" in text or "\\" in text or p.exists()
    if not looks_like_path:
        return pdks.load(text), False
    if p.is_dir():
        if not (p / "pdk.toml").is_file():
            raise PDKError([f"{p}: no pdk.toml in this folder"])
        p = p / "pdk.toml"
    if p.name == "pdk.toml":
        return load_pdk_file(p), False
    return load_rules_file(p), True


# ------------------------------------------------------------ self-tests --


def selftest_shapes(kit: PDK, test: SelfTest, top: str = "SELFTEST") -> LayoutShapes:
    """The layout of ``test`` as :class:`LayoutShapes` (exact, in dbu)."""
    polygons = {name: [np.asarray(p, dtype=np.int64) for p in test.shapes.get(name, ())] for name in kit.layers}
    labels: dict[str, list[tuple[str, int, int]]] = {name: [] for name in kit.layers}
    for layer, text, x, y in test.labels:
        if layer in labels:
            labels[layer].append((text, int(x), int(y)))
    return LayoutShapes(
        polygons=MappingProxyType(polygons), labels=MappingProxyType(labels), top=top, dbu_um=kit.dbu_um
    )


def selftest_cell(kit: PDK, test: SelfTest, name: str) -> gdstk.Cell:
    """``test`` drawn as a gdstk cell (microns; labels on each layer's label
    datatype, dropped where the layer has none)."""
    u = kit.dbu_um
    cell = gdstk.Cell(name)
    for layer, polys in test.shapes.items():
        lay = kit.layer(layer)
        for p in polys:
            cell.add(gdstk.Polygon(np.asarray(p, dtype=np.float64) * u, layer=lay.gds[0], datatype=lay.gds[1]))
    for layer, text, x, y in test.labels:
        lay = kit.layer(layer)
        if lay.label is not None:
            cell.add(gdstk.Label(text, (x * u, y * u), layer=lay.label[0], texttype=lay.label[1]))
    return cell


@dataclass(frozen=True)
class SelfTestCase:
    """One self-test of one rule, with a GDS-safe cell name."""

    rule: Rule
    test: SelfTest
    cell: str


def selftest_cases(kit: PDK, rules: Sequence[Rule] | None = None) -> list[SelfTestCase]:
    """Every self-test of every rule (of an implemented kind with self-tests)."""
    out: list[SelfTestCase] = []
    for i, rule in enumerate(kit.rules if rules is None else rules):
        impl = IMPLS.get(rule.kind)
        if impl is None or impl.selftests is None:
            continue
        for j, t in enumerate(impl.selftests(rule, kit)):
            out.append(SelfTestCase(rule, t, f"ST{i:03d}_{j}_" + re.sub(r"[^A-Za-z0-9_]", "_", rule.id)))
    return out


def selftest_library(kit: PDK, cases: Iterable[SelfTestCase]) -> gdstk.Library:
    """A library with one top cell per self-test case (for KLayout)."""
    lib = gdstk.Library(f"pilotflow selftests {kit.name}-{kit.version}", unit=1e-6, precision=kit.dbu_um * 1e-6)
    for c in cases:
        lib.add(selftest_cell(kit, c.test, c.cell))
    return lib


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _count(n: int) -> str:
    return _plural(n, "marker")


def _check_rule(kit: PDK, rule: Rule) -> tuple[Finding, int]:
    """Run the self-tests of ``rule``: (finding, number of layouts run)."""
    head = f"{rule.kind:9s}"
    impl = IMPLS.get(rule.kind)
    if impl is None:
        return Finding("rules", rule.id, False, f"{head} kind '{rule.kind}' is not implemented by the DRC engine (implemented: {', '.join(IMPLS)})"), 0
    if impl.selftests is None:
        return Finding("rules", rule.id, False, f"{head} kind '{rule.kind}' has no self-tests: the rule is unverified"), 0
    try:
        tests = list(impl.selftests(rule, kit))
    except Exception as e:  # noqa: BLE001 - a kind's bug is a finding, not a crash
        return Finding("rules", rule.id, False, f"{head} generating the self-tests failed: {type(e).__name__}: {e}"), 0
    if not any(t.expected == 0 for t in tests) or not any(t.expected > 0 for t in tests):
        missing = "a pass case (0 markers)" if not any(t.expected == 0 for t in tests) else "a fail case (markers expected)"
        return Finding("rules", rule.id, False, f"{head} self-tests lack {missing}; got {len(tests)} self-test(s)"), 0
    problems: list[str] = []
    parts: list[str] = []
    ran = 0
    for t in tests:
        bad = sorted(set(t.shapes) - set(kit.layers)) + sorted({lab[0] for lab in t.labels} - set(kit.layers))
        if bad:
            problems.append(f"self-test '{t.name}' draws on layers not in the kit: {', '.join(bad)}")
            continue
        ctx = CheckContext(voltages=MappingProxyType(dict(t.voltages)), currents=MappingProxyType(dict(t.currents)))
        try:
            result = run_drc(selftest_shapes(kit, t), kit, rules=[rule], ctx=ctx)
        except Exception as e:  # noqa: BLE001
            problems.append(f"self-test '{t.name}' crashed the check: {type(e).__name__}: {e}")
            continue
        ran += 1
        if result.not_checked:
            problems.append(f"self-test '{t.name}': not checked ({'; '.join(result.not_checked)})")
            continue
        got = sum(v.rule_id == rule.id for v in result.violations)
        if got != t.expected:
            problems.append(f"self-test '{t.name}' gave {_count(got)}, expected {t.expected}" + (f" ({t.doc})" if t.doc else ""))
        else:
            parts.append(f"{t.name}: {_count(got)}")
    if problems:
        return Finding("rules", rule.id, False, f"{head} " + "; ".join(problems)), ran
    return Finding("rules", rule.id, True, f"{head} {len(tests)} self-tests as expected ({'; '.join(parts)})"), ran


# ------------------------------------------------------------ consistency --


#: Two-layer kinds where (a, b) checks the same as (b, a).
_SYMMETRIC = frozenset({"spacing", "net_spacing", "voltage_spacing", "not_overlap"})


def _rule_key(rule: Rule) -> tuple:
    """What a rule checks, without its id, doc and value."""
    other = None if rule.other == rule.layer else rule.other
    layers: tuple = (rule.layer, other)
    if other and rule.kind in _SYMMETRIC:
        layers = tuple(sorted((rule.layer, other)))
    return (rule.kind, layers, rule.table, rule.max, rule.window, rule.step, rule.metric)


def _schema(kit: PDK) -> list[Finding]:
    out: list[Finding] = []
    names = set(kit.layers)

    def bad(subject: str, detail: str) -> None:
        out.append(Finding("schema", subject, False, detail))

    seen: dict[str, int] = {}
    for i, r in enumerate(kit.rules):
        if r.id in seen:
            bad(r.id, f"rules[{i}]: duplicate rule id (also rules[{seen[r.id]}])")
        seen.setdefault(r.id, i)
        for k, n in (("layer", r.layer), ("other", r.other)):
            if n is not None and n not in names:
                bad(r.id, f"rules[{i}].{k}: '{n}' is not a layer; layers are {', '.join(kit.layers)}")
        ks = RULE_KINDS.get(r.kind)
        if ks is None:
            bad(r.id, f"rules[{i}].kind: '{r.kind}' is not a rule kind; kinds are {', '.join(RULE_KINDS)}")
            continue
        v = r.value
        if (ks.value == "length" and not v > 0) or (ks.value == "length0" and not v >= 0):
            bad(r.id, f"rules[{i}].value: must be {'positive' if ks.value == 'length' else 'non-negative'}, got {v}")
        elif ks.value in ("length", "length0") and not _on_grid(v, kit.dbu_um):
            bad(r.id, f"rules[{i}].value: {v} is not on the {kit.dbu_um} um grid")
        elif ks.value == "area" and not v > 0:
            bad(r.id, f"rules[{i}].value: must be positive, got {v}")
        elif ks.value == "fraction" and not 0 <= v <= 1:
            bad(r.id, f"rules[{i}].value: must be a fraction 0..1, got {v}")
    first: dict[tuple, Rule] = {}
    for r in kit.rules:
        key = _rule_key(r)
        if key in first:
            o = first[key]
            same = "the same value" if o.value == r.value else f"value {r.value:g} vs {o.value:g}: one of them is redundant"
            bad(r.id, f"repeats the {r.kind} check of {o.id} on the same layers ({same})")
        first.setdefault(key, r)
    for i, group in enumerate(kit.connect):
        for n in group:
            if n not in names:
                bad(f"connect[{i}]", f"'{n}' is not a layer")
    for n in kit.routing:
        if n not in names:
            bad("routing", f"'{n}' is not a layer")
    if not out:
        out.append(Finding("schema", "kit", True, f"{len(kit.layers)} layers, {len(kit.rules)} rules, {len(kit.devices)} devices: references, values and ids OK, no rule repeats another"))
    return out


def _connectivity(kit: PDK) -> list[Finding]:
    out: list[Finding] = []
    lay = kit.layers

    def purpose(n: str) -> str:
        return lay[n].purpose if n in lay else "?"

    g = nx.DiGraph()
    seen: set[tuple[str, ...]] = set()
    for i, group in enumerate(kit.connect):
        where = f"connect[{i}]"
        if group in seen:
            out.append(Finding("connectivity", where, False, f"{list(group)} is listed twice"))
        seen.add(group)
        if len(group) == 2:
            cuts = [n for n in group if purpose(n) == "cut"]
            if cuts:
                out.append(Finding("connectivity", where, False, f"{list(group)}: cut layer {', '.join(cuts)} may only join layers as the middle of [lower, cut, upper]"))
        elif len(group) == 3:
            lo, cut, up = group
            if purpose(cut) != "cut":
                out.append(Finding("connectivity", where, False, f"{list(group)}: middle layer '{cut}' is not a cut layer"))
            ends = [n for n in (lo, up) if purpose(n) == "cut"]
            if ends:
                out.append(Finding("connectivity", where, False, f"{list(group)}: cut layer {', '.join(ends)} stands where a conductor must"))
            if lo == up:
                out.append(Finding("connectivity", where, False, f"{list(group)}: a cut joining a layer to itself"))
            else:
                g.add_edge(lo, up)
        else:
            out.append(Finding("connectivity", where, False, f"{list(group)}: must be [a, b] or [lower, cut, upper]"))
    try:
        cycle = nx.find_cycle(g)
    except nx.NetworkXNoCycle:
        cycle = None
    if cycle:
        loop = " -> ".join([a for a, _ in cycle] + [cycle[0][0]])
        out.append(Finding("connectivity", "via stack", False, f"the [lower, cut, upper] entries form a loop ({loop}): no bottom-up order"))
    rt = kit.routing
    for k in range(0, len(rt) - 2, 2):
        lo, cut, up = rt[k : k + 3]
        if (lo, cut, up) in kit.connect:
            continue
        if (up, cut, lo) in kit.connect:
            out.append(Finding("connectivity", "routing", False, f"routing stack has {lo}/{cut}/{up} bottom-up but [pdk.connectivity] lists it upside down as {[up, cut, lo]}"))
        else:
            out.append(Finding("connectivity", "routing", False, f"routing stack {lo}/{cut}/{up} is missing from [pdk.connectivity] as {[lo, cut, up]}: routed vias would not conduct"))
    if not out:
        if not kit.connect and not kit.routing:
            out.append(Finding("connectivity", "stack", True, "no connectivity and no routing stack declared (nothing to check)"))
        else:
            order = " / ".join(kit.routing) if kit.routing else "(no routing stack)"
            out.append(Finding("connectivity", "stack", True, f"{len(kit.connect)} entries, cuts only between conductors, via graph acyclic; routing {order} bottom-up"))
    return out


def _generator_module(kit: PDK) -> ModuleType:
    """``devices.py`` of ``kit``: the installed kit's module when ``kit`` is
    the installed one, else the file next to ``kit.path``."""
    import pdk as pdks

    folder = kit.path.resolve().parent if kit.path else None
    if folder is None or not (folder / "devices.py").is_file():
        raise PDKError([f"{kit.path}: kit '{kit.name}' declares devices but has no devices.py next to its pdk.toml"])
    if kit.name in pdks.available():
        mod = pdks.generators(kit)
        if mod.__file__ and Path(mod.__file__).resolve().parent == folder:
            return mod
    tag = hashlib.sha1(str(folder).encode()).hexdigest()[:12]
    name = f"_pilotflow_check_{tag}_devices"  # loaded afresh: the file may have changed
    spec = importlib.util.spec_from_file_location(name, folder / "devices.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    try:
        spec.loader.exec_module(mod)
    except Exception:
        del sys.modules[name]
        raise
    return mod


def _devices(kit: PDK, standalone: bool) -> list[Finding]:
    from pdk.base import cell_name, resolve_params

    if not kit.devices:
        what = "standalone rule file" if standalone else "kit"
        return [Finding("devices", "-", True, f"no devices in this {what}")]
    try:
        mod = _generator_module(kit)
    except Exception as e:  # noqa: BLE001
        return [Finding("devices", "devices.py", False, f"cannot load the device generators: {e}")]
    known = {}
    for name, lay in kit.layers.items():
        for what, pair in (("drawing", lay.gds), ("pin", lay.pin), ("label", lay.label)):
            if pair is not None:
                known[pair] = (name, what)
    out: list[Finding] = []
    for model, dev in kit.devices.items():
        try:
            values = resolve_params(kit, model, {})
            gen = getattr(mod, dev.generator, None)
            if gen is None:
                out.append(Finding("devices", model, False, f"generator '{dev.generator}' is not in devices.py"))
                continue
            dc = gen(kit, name=cell_name(model, values), **dict(dev.fixed), **values)
        except Exception as e:  # noqa: BLE001
            out.append(Finding("devices", model, False, f"does not generate at its default parameters: {type(e).__name__}: {e}"))
            continue
        problems: list[str] = []
        used = {(p.layer, p.datatype) for p in dc.cell.get_polygons()} | {(lb.layer, lb.texttype) for lb in dc.cell.get_labels()}
        foreign = sorted(used - set(known))
        if foreign:
            problems.append("draws on GDS layers the kit does not define: " + ", ".join(f"{a}/{b}" for a, b in foreign))
        for t in dev.terminals:
            if not dc.pins_of(t):
                problems.append(f"terminal '{t}' has no pin")
        for p in dc.pins:
            if p.terminal not in dev.terminals:
                problems.append(f"pin of unknown terminal '{p.terminal}' (terminals are {', '.join(dev.terminals)})")
            if p.layer not in kit.layers:
                problems.append(f"pin of '{p.terminal}' on '{p.layer}', not a kit layer")
        lib = gdstk.Library(unit=1e-6, precision=kit.dbu_um * 1e-6)
        lib.add(dc.cell, *dc.cell.dependencies(True))
        chip = [r.id for r in kit.rules if r.kind in IMPLS and IMPLS[r.kind].chip_level]
        rules = [r for r in kit.rules if r.id not in chip]
        result = run_drc(shapes_from_library(lib, kit, dc.cell.name), kit, rules=rules)
        if result.violations:
            problems.append("not DRC-clean alone: " + ", ".join(f"{k} {n}" for k, n in result.counts().items()))
        lvs_note = _lvs_alone(kit, model, lib, dc.cell.name, values, problems)
        params = ", ".join(f"{k}={v:g}" for k, v in values.items())
        if problems:
            out.append(Finding("devices", model, False, f"at defaults ({params}): " + "; ".join(problems)))
        else:
            layers = sorted({known[k][0] for k in used})
            skipped = f" (chip-level rules not applied to a device alone: {', '.join(chip)})" if chip else ""
            out.append(Finding("devices", model, True, f"at defaults ({params}): {_plural(len(dev.terminals), 'terminal')} pinned, layers {', '.join(layers)}, DRC clean{skipped}{lvs_note}"))
    return out


def _lvs_alone(kit: PDK, model: str, lib: gdstk.Library, top: str, values: dict, problems: list[str]) -> str:
    """LVS extraction of the device alone: one ``model`` found, its terminals
    on distinct nets, every measured parameter equal to the generated one
    within the kit's tolerance.  Appends problems; returns a note."""
    from flow.lvs.extract import extract

    dev = kit.devices[model]
    if dev.lvs is None:
        return "; no LVS description: LVS does not extract it"
    if dev.lvs.method == "none":
        return "; LVS: not a circuit device"
    try:
        ex = extract(lib, kit, top)
    except Exception as e:  # noqa: BLE001
        problems.append(f"LVS extraction fails: {type(e).__name__}: {e}")
        return ""
    found = [i for i in ex.netlist.instances if i.model == model]
    if len(found) != 1 or len(ex.netlist.instances) != 1:
        got = ", ".join(sorted(i.model for i in ex.netlist.instances)) or "nothing"
        problems.append(f"LVS finds {got} in it, not one {model}")
        return ""
    inst = found[0]
    if len(set(inst.pins.values())) != len(inst.pins):
        problems.append(f"LVS joins terminals of the device alone: {dict(inst.pins)}")
    for prm in dev.lvs.measure:
        spec = dev.params[prm]
        want = values[prm] * (1e-6 if spec.unit == "um" else 1.0)
        got_v = inst.params.get(prm)
        tol = dev.lvs.tolerance.get(prm, 0.0)
        if got_v is None or abs(got_v - want) > tol * abs(want) + 1e-9 * max(abs(want), 1e-15):
            problems.append(f"LVS measures {prm}={got_v!r}, generated {want!r} (tolerance {tol:g})")
    return f"; LVS extracts it with {', '.join(dev.lvs.measure) or 'no parameters'} as generated"


_HEADING = re.compile(r"^#{1,6}\s*\[?v?(\d+\.\d+\.\d+)\b", re.MULTILINE)


def _changelog(kit: PDK) -> list[Finding]:
    path = kit.path.resolve().parent / "CHANGELOG.md" if kit.path else None
    if path is None or not path.is_file():
        return [Finding("changelog", "CHANGELOG.md", False, f"no CHANGELOG.md next to {kit.path}: every kit version needs an entry")]
    versions = _HEADING.findall(path.read_text(encoding="utf-8"))
    if kit.version not in versions:
        have = ", ".join(versions) or "none"
        return [Finding("changelog", "CHANGELOG.md", False, f"no entry '## {kit.version}' for the kit version {kit.version} (entries: {have})")]
    if versions[0] != kit.version:
        return [Finding("changelog", "CHANGELOG.md", False, f"top entry is {versions[0]}, but the kit version is {kit.version}: bump [pdk] version in pdk.toml, or put the newest entry first")]
    return [Finding("changelog", "CHANGELOG.md", True, f"top entry is {kit.version}, the kit version")]


# ------------------------------------------------------------------ entry --


def check_kit(kit: PDK, *, standalone: bool = False, sections: Iterable[str] = SECTIONS) -> CheckReport:
    """Check ``kit`` (see the module docstring for what is checked).

    Parameters
    ----------
    kit
        A loaded kit or standalone rule set.
    standalone
        ``kit`` is a standalone rule file: no devices module and no
        changelog are expected.
    sections
        The sections to run (default: all of :data:`SECTIONS`).

    Returns
    -------
    CheckReport
        ``ok`` when every finding passed.

    Notes
    -----
    The self-tests run each rule alone on a few small layouts, so the time
    grows linearly with the number of rules (about 10 ms per rule).
    """
    run = set(sections)
    unknown = run - set(SECTIONS)
    if unknown:
        raise ValueError(f"unknown section(s) {', '.join(sorted(unknown))}; sections are {', '.join(SECTIONS)}")
    findings: list[Finding] = []
    if "schema" in run:
        findings += _schema(kit)
    if "connectivity" in run:
        findings += _connectivity(kit)
    if "devices" in run:
        findings += _devices(kit, standalone)
    selftested = layouts = 0
    if "rules" in run:
        for rule in kit.rules:
            f, n = _check_rule(kit, rule)
            findings.append(f)
            selftested += f.ok
            layouts += n
        if not kit.rules:
            findings.append(Finding("rules", "-", False, "the kit has no rules"))
    if "changelog" in run and not standalone:
        findings += _changelog(kit)
    return CheckReport(
        kit=kit.name,
        version=kit.version,
        source=str(kit.path) if kit.path else "",
        findings=tuple(findings),
        rules=len(kit.rules),
        selftested=selftested,
        layouts=layouts,
        standalone=standalone,
    )


def format_report(report: CheckReport) -> list[str]:
    """Printable lines: a header, one line per finding (``PASS``/``FAIL``),
    grouped by section, and a summary line."""
    what = "rule file" if report.standalone else "PDK"
    lines = [f"{what} {report.kit} {report.version}" + (f" ({report.source})" if report.source else "")]
    width = max((len(f.subject) for f in report.findings), default=0)
    for sec in SECTIONS:
        items = report.section(sec)
        if not items:
            continue
        lines.append(f"{sec}:")
        for f in items:
            lines.append(f"  {'PASS' if f.ok else 'FAIL'}  {f.subject:{width}s}  {f.detail}")
    verdict = "OK" if report.ok else f"FAILED ({report.failures} failed)"
    lines.append(
        f"{report.kit} {report.version}: {verdict}; {report.selftested}/{report.rules} rules self-tested "
        f"on {report.layouts} layouts"
    )
    return lines


__all__ = [
    "CheckReport",
    "Finding",
    "SECTIONS",
    "SelfTestCase",
    "check_kit",
    "format_report",
    "load_target",
    "selftest_cases",
    "selftest_cell",
    "selftest_library",
    "selftest_shapes",
]
