"""``pilotflow pdk export-klayout``: the exported files, checked by KLayout itself.

* ``.lyp`` / ``.lyt`` are parsed as XML, and loaded by the ``klayout`` Python
  package (technology, layer properties in a layout view);
* the ``.lydrc`` deck is run by Debian's KLayout batch binary on every rule's
  self-test layouts: per self-test, the marker count of its rule must equal
  pilotflow's on the same GDS and the self-test's expected count;
* the deck is run (``klayout -b -r deck.lydrc -rd input=...``) on the GDS of
  every sample design: zero markers.

Tests that need the binary skip with a message when it is absent (``.ci/run``
installs Debian's ``klayout``).  Rules and kinds are iterated, never listed:
kinds added later are covered automatically.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from types import MappingProxyType

import pytest
from click.testing import CliRunner

import pdk as pdks
from flow.cli import cli
from flow.drc.core import IMPLS, CheckContext
from flow.drc.engine import run_drc
from flow.geometry.gdsio import read_gds
from pdk.check import selftest_cases, selftest_library
from pdk.export import FILL_BY_PURPOSE, export_klayout

ROOT = Path(__file__).resolve().parents[2]
DESIGNS = ROOT / "designs"
DESIGN_DIRS = sorted(p for p in DESIGNS.iterdir() if (p / "design.toml").is_file())
KITS = pdks.available()
KLAYOUT = shutil.which("klayout")

needs_klayout = pytest.mark.skipif(
    KLAYOUT is None,
    reason="KLayout batch binary 'klayout' not on PATH (Debian: apt-get install klayout; .ci/run installs it)",
)

# Runs deck scripts, each in a fresh DRC engine, exactly as
# `klayout -b -r deck.lydrc -rd input=GDS [-rd topcell=CELL] -rd report=R`
# would (KLayout's DSL interpreter does _start, evaluates the text, _finish),
# but all in one KLayout process: starting the binary costs about a second,
# and there are over a hundred self-tests per kit.  _finish forces a Ruby
# garbage collection (~30 ms) each time; the driver runs one every 50 decks.
# Plan lines: input GDS, top cell (may be empty), deck script, report file,
# net-class file (may be empty: -rd netclasses=FILE).
DRIVER = r"""
class << GC
  alias_method :pf_start, :start
  def start(*args); end
end
File.read($pf_plan).split("\n").each_with_index do |line, i|
  gds, cell, deck, report, classes = line.split("\t", -1)
  $input = gds
  $netclasses = classes.to_s.empty? ? nil : classes
  $topcell = cell.empty? ? nil : cell
  $report = report
  engine = DRC::DRCEngine::new
  engine._start("pilotflow deck " + deck) if engine.respond_to?(:_start)
  begin
    engine.instance_eval(File.read(deck), deck)
  ensure
    engine._finish
  end
  GC.pf_start if i % 50 == 49
end
"""


def deck_per_rule(script: str, rule_ids: list[str]) -> dict[str, str]:
    """The exported deck cut into one script per rule: the deck's header and
    layer inputs, then that rule's statements only (verbatim)."""
    head, _, body = script.partition("# ---- rules ----\n")
    assert body, "deck has no rules section"
    starts = {}
    for rid in rule_ids:
        m = re.search(r"^# " + re.escape(rid) + r" \(", body, re.MULTILINE)
        assert m, f"rule {rid} has no block in the deck"
        starts[rid] = m.start()
    order = sorted(starts, key=starts.get)
    out = {}
    for k, rid in enumerate(order):
        end = starts[order[k + 1]] if k + 1 < len(order) else len(body)
        out[rid] = head + body[starts[rid] : end]
    return out


def lyrdb_counts(path: Path) -> Counter:
    """Markers per category name of a KLayout report database."""
    root = ET.parse(path).getroot()
    out: Counter = Counter()
    for item in root.iter("item"):
        name = item.findtext("category", "")
        if name.startswith("'") and name.endswith("'"):
            name = name[1:-1].replace("\\'", "'").replace("\\\\", "\\")
        out[name] += 1
    return out


def deck_script(lydrc: Path) -> str:
    """The Ruby text of an exported ``.lydrc`` macro."""
    return ET.parse(lydrc).getroot().findtext("text")


def write_net_classes(path: Path, voltages, currents) -> Path:
    """A net-class file (as ``pilotflow drc --net-classes`` reads it) giving
    each named net its voltage and/or current."""
    import json

    lines = []
    for name in dict.fromkeys([*voltages, *currents]):
        lines += ["[[net_class]]", f"nets = [{json.dumps(name)}]"]
        if name in voltages:
            lines.append(f"voltage = {float(voltages[name])!r}")
        if name in currents:
            lines.append(f"current = {float(currents[name])!r}")
    path.write_text("\n".join(lines) + "\n")
    return path


def run_klayout(args: list[str], cwd: Path) -> None:
    r = subprocess.run([KLAYOUT, "-b", *args], cwd=cwd, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0 and "ERROR" not in r.stderr + r.stdout, f"klayout failed:\n{r.stdout}\n{r.stderr}"


@pytest.fixture(scope="module", params=KITS)
def exported(request, tmp_path_factory):
    kit = pdks.load(request.param)
    out = tmp_path_factory.mktemp(f"export-{kit.name}")
    return kit, export_klayout(kit, out)


# ------------------------------------------------------------- lyp / lyt --


def test_lyp_lists_every_layer(exported):
    kit, res = exported
    root = ET.parse(res.lyp).getroot()
    assert root.tag == "layer-properties"
    props = {p.findtext("source"): p for p in root.findall("properties")}
    for name, lay in kit.layers.items():
        p = props.pop(f"{lay.gds[0]}/{lay.gds[1]}@1")
        assert p.findtext("name").split()[0] == name
        if lay.color:
            assert p.findtext("fill-color") == lay.color.lower() == p.findtext("frame-color")
        assert p.findtext("dither-pattern") == FILL_BY_PURPOSE[lay.purpose]
        for extra, suffix in ((lay.pin, ".pin"), (lay.label, ".label")):
            if extra is not None:
                q = props.pop(f"{extra[0]}/{extra[1]}@1")
                assert q.findtext("name").split()[0] == name + suffix
    assert props == {}, f"entries for layers the kit does not have: {list(props)}"


def test_lyp_loads_in_a_layout_view(exported):
    lay = pytest.importorskip("klayout.lay")
    kit, res = exported
    view = lay.LayoutView()
    view.load_layer_props(str(res.lyp))
    got = {(n.source_layer, n.source_datatype): n for n in view.each_layer()}
    for name, layer in kit.layers.items():
        node = got[layer.gds]
        assert node.name.split()[0] == name
        if layer.color:
            assert node.fill_color & 0xFFFFFF == int(layer.color[1:], 16)
        assert node.dither_pattern == int(FILL_BY_PURPOSE[layer.purpose][1:])


def test_lyt_technology(exported):
    kdb = pytest.importorskip("klayout.db")
    kit, res = exported
    root = ET.parse(res.lyt).getroot()
    assert root.findtext("name") == kit.name
    assert float(root.findtext("dbu")) == kit.dbu_um
    assert root.findtext("layer-properties_file") == res.lyp.name
    conns = [c.text for c in root.find("connectivity").findall("connection")]
    want = [",".join(g) if len(g) == 3 else f"{g[0]},,{g[1]}" for g in kit.connect]
    assert conns == want
    symbols = dict(s.text.split("=", 1) for s in root.find("connectivity").findall("symbols"))
    for g in kit.connect:
        for n in g:
            gds = kit.layers[n].gds
            assert symbols[n] == f"'{gds[0]}/{gds[1]}'"
    tech = kdb.Technology.technology_from_xml(res.lyt.read_text())
    assert tech.name == kit.name and tech.dbu == pytest.approx(kit.dbu_um)
    assert tech.layer_properties_file == res.lyp.name


def test_deck_lists_what_it_leaves_out(exported):
    kit, res = exported
    script = deck_script(res.lydrc)
    assert "source($input" in script and "report(" in script and "$report" in script
    assert set(res.exported) | {rid for rid, _ in res.not_exported} == {r.id for r in kit.rules}
    for rule in kit.rules:
        impl = IMPLS.get(rule.kind)
        snippet = impl.klayout(rule, kit, lambda n: "x") if impl and impl.klayout else None
        if snippet:
            assert rule.id in res.exported
            assert f".output('{rule.id}'" in script
        else:
            assert any(rid == rule.id for rid, _ in res.not_exported)
            assert f"#   {rule.id}: " in script


def test_cli_export(tmp_path):
    r = CliRunner().invoke(cli, ["pdk", "export-klayout", "gan650", "-o", str(tmp_path / "k")])
    assert r.exit_code == 0, r.output
    for ext in (".lyp", ".lyt", ".lydrc"):
        assert f"wrote {tmp_path / 'k' / ('gan650' + ext)}" in r.output
    kit = pdks.load("gan650")
    assert f"DRC deck: {len(kit.rules)} of {len(kit.rules)} rules" in r.output
    assert not list((tmp_path / "k").glob("*.tmp"))
    r = CliRunner().invoke(cli, ["pdk", "export-klayout", "nope", "-o", str(tmp_path / "k")])
    assert r.exit_code == 2 and r.output.startswith("Error: unknown PDK 'nope'")


def test_not_exported_rules_are_reported(tmp_path, monkeypatch):
    """A kind without a KLayout form: left out of the deck, said so in the
    deck and on the command line."""
    import dataclasses

    from flow.drc import core

    kit = pdks.load("gan650")
    monkeypatch.setitem(core.IMPLS, "width", dataclasses.replace(core.IMPLS["width"], klayout=lambda r, k, v: None))
    res = export_klayout(kit, tmp_path)
    widths = [r.id for r in kit.rules if r.kind == "width"]
    assert [rid for rid, _ in res.not_exported] == widths
    script = deck_script(res.lydrc)
    for rid in widths:
        assert f"#   {rid}: kind 'width' has no KLayout DSL form" in script
        assert f".output('{rid}'" not in script
    r = CliRunner().invoke(cli, ["pdk", "export-klayout", "gan650", "-o", str(tmp_path / "c")])
    assert r.exit_code == 0
    assert f"  not exported: {widths[0]}: kind 'width' has no KLayout DSL form" in r.output


def test_pyproject_ships_the_templates():
    """``pip install .`` must carry every template: the package-data globs
    of ``pdk`` match each file under pdk/templates."""
    import fnmatch
    import tomllib

    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    globs = data["tool"]["setuptools"]["package-data"]["pdk"]
    files = [p.relative_to(ROOT / "pdk").as_posix() for p in (ROOT / "pdk" / "templates").rglob("*") if p.is_file()]
    assert files
    for f in files:
        assert any(fnmatch.fnmatch(f, g) for g in globs), f"{f} is not in [tool.setuptools.package-data] pdk"


# ------------------------------------------------------- deck vs pilotflow --


@pytest.fixture(scope="module")
def klayout_runs(tmp_path_factory):
    """Every kit's exported deck run by KLayout, in one process: per rule on
    each of its self-test cells (header, layers and that rule's statements),
    and whole on each sample design's GDS (flow run into a temporary folder).

    Returns ``{"selftests": {kit: (kit, export, gds, [(case, lyrdb)])},
    "designs": {name: (kit, export, metrics, gds, lyrdb)}}``.
    """
    from flow.flow import run

    if KLAYOUT is None:
        pytest.skip("KLayout batch binary 'klayout' not on PATH (Debian: apt-get install klayout; .ci/run installs it)")
    work = tmp_path_factory.mktemp("klayout")
    plan: list[str] = []
    selftests, designs, exports = {}, {}, {}
    for name in KITS:
        kit = pdks.load(name)
        res = exports[name] = export_klayout(kit, work / name)
        (work / name / "deck.rb").write_text(deck_script(res.lydrc))
        cases = [c for c in selftest_cases(kit) if c.rule.id in res.exported]
        gds = work / name / "selftests.gds"
        selftest_library(kit, cases).write_gds(str(gds))
        # KLayout's net extraction (connect) needs a layout with one top
        # cell: net-aware rules get one GDS per self-test
        case_gds, case_classes = {}, {}
        for c in cases:
            if IMPLS[c.rule.kind].net_aware:
                case_gds[c.cell] = work / name / f"{c.cell}.gds"
                selftest_library(kit, [c]).write_gds(str(case_gds[c.cell]))
                if c.test.voltages or c.test.currents:
                    case_classes[c.cell] = write_net_classes(work / name / f"{c.cell}.toml", c.test.voltages, c.test.currents)
        decks = deck_per_rule(deck_script(res.lydrc), list(res.exported))
        runs = []
        for i, rid in enumerate(decks):
            deck = work / name / f"rule{i}.rb"
            deck.write_text(decks[rid])
            for c in cases:
                if c.rule.id == rid:
                    report = work / name / f"{c.cell}.lyrdb"
                    plan.append(f"{case_gds.get(c.cell, gds)}\t{c.cell}\t{deck}\t{report}\t{case_classes.get(c.cell, '')}")
                    runs.append((c, report, case_gds.get(c.cell, gds)))
        selftests[name] = (kit, res, gds, runs)
    for d in DESIGN_DIRS:
        out = run(d, work / "runs" / d.name)
        kit = pdks.load(out.design.pdk_name)
        gds = out.rundir / out.design.outputs["gds"]
        report = work / f"design-{d.name}.lyrdb"
        plan.append(f"{gds}\t\t{work / kit.name / 'deck.rb'}\t{report}\t{d / 'design.toml'}")
        designs[d.name] = (kit, exports[kit.name], out.metrics, gds, report)
    (work / "plan.txt").write_text("\n".join(plan))
    (work / "driver.rb").write_text(DRIVER)
    run_klayout(["-r", "driver.rb", "-rd", "pf_plan=plan.txt"], work)
    return {"selftests": selftests, "designs": designs}


@pytest.mark.parametrize("name", KITS)
def test_deck_matches_pilotflow_on_selftests(klayout_runs, name):
    """Per self-test layout, the deck's markers of its rule == pilotflow's (on
    the same GDS) == the expected count, for every exported rule."""
    kit, res, _, runs = klayout_runs["selftests"][name]
    assert runs, "no exported rule with self-tests"
    assert {c.rule.id for c, _, _ in runs} == {r.id for r in kit.rules if r.id in res.exported and IMPLS[r.kind].selftests}
    # the deck expresses every rule of the bundled kits, net-aware ones included
    assert res.not_exported == ()
    mismatches = []
    for c, report, gds in runs:
        kl = lyrdb_counts(report)[c.rule.id]
        ctx = CheckContext(voltages=MappingProxyType(dict(c.test.voltages)), currents=MappingProxyType(dict(c.test.currents)))
        ours = run_drc(read_gds(gds, kit, c.cell), kit, rules=[c.rule], ctx=ctx).counts().get(c.rule.id, 0)
        if not kl == ours == c.test.expected:
            mismatches.append(f"{c.rule.id} '{c.test.name}': KLayout {kl}, pilotflow {ours}, expected {c.test.expected}")
    assert mismatches == []


@pytest.mark.parametrize("design", [d.name for d in DESIGN_DIRS])
def test_deck_clean_on_sample_designs(klayout_runs, design):
    """Every sample design runs clean end to end: all nets routed, no marker
    from pilotflow, none from the KLayout deck its kit exports."""
    kit, res, metrics, gds, report = klayout_runs["designs"][design]
    assert metrics["nets_unrouted"] == 0 and metrics["drc_violations"] == 0
    root = ET.parse(report).getroot()
    categories = {c.findtext("name") for c in root.iter("category")}
    assert set(res.exported) <= categories  # every exported rule ran
    assert lyrdb_counts(report) == Counter()


@needs_klayout
def test_deck_quotes_rule_text(tmp_path):
    """The plain batch command line (no driver, no -rd topcell) on a failing
    self-test cell; rule ids and docs with quotes, backslashes, Ruby
    interpolation and XML specials survive the .lydrc XML and Ruby strings."""
    from pdk.schema import load_rules_file

    rules = tmp_path / "odd.toml"
    rules.write_text(
        '[layers."M-1"]\ngds = [1, 0]\npurpose = "routing"\n'
        '[[rules]]\nid = "M1.W\'1"\nkind = "width"\nlayer = "M-1"\nvalue = 1.0\n'
        'doc = "it\'s #{boom} <b>&amp; a \\\\ backslash"\n'
    )
    kit = load_rules_file(rules)
    res = export_klayout(kit, tmp_path / "k")
    assert res.exported == ("M1.W'1",)
    case = next(c for c in selftest_cases(kit) if c.test.expected > 0)
    gds = tmp_path / "odd.gds"
    selftest_library(kit, [case]).write_gds(str(gds))
    report = tmp_path / "odd.lyrdb"
    run_klayout(["-r", str(res.lydrc), "-rd", f"input={gds}", "-rd", f"report={report}"], tmp_path)
    assert lyrdb_counts(report) == Counter({"M1.W'1": case.test.expected})
    descriptions = [c.findtext("description") for c in ET.parse(report).getroot().iter("category")]
    assert "it's #{boom} <b>&amp; a \\ backslash" in descriptions


# ------------------------------------------------ net-aware kinds, alone --

NET_RULES = """
[pdk]
dbu_um = 0.001
[pdk.connectivity]
connect = [["P1", "CT", "M1"], ["M1", "V1", "M2"]]
[layers.P1]
gds = [5, 0]
purpose = "device"
[layers.CT]
gds = [6, 0]
purpose = "cut"
imax_ma_per_cut = 2.0
[layers.M1]
gds = [10, 0]
label = [10, 10]
purpose = "routing"
jmax_ma_per_um = 2.0
jmax_ref_c = 100.0
em_ea_ev = 0.8
[layers.V1]
gds = [11, 0]
purpose = "cut"
imax_ma_per_cut = 5.0
jmax_ref_c = 100.0
em_ea_ev = 0.8
[layers.M2]
gds = [12, 0]
label = [12, 10]
purpose = "routing"
jmax_ma_per_um = 8.0
[[rules]]
id = "M1.NS.1"
kind = "net_spacing"
layer = "M1"
value = 1.5
[[rules]]
id = "M1.NS.M2"
kind = "net_spacing"
layer = "M1"
other = "M2"
value = 1.0
[[rules]]
id = "M1.NS.P"
kind = "net_spacing"
layer = "M1"
value = 1.5
metric = "projection"
[[rules]]
id = "P1.VS.1"
kind = "voltage_spacing"
layer = "P1"
table = [[10.0, 2.0], [100.0, 4.5]]
[[rules]]
id = "M2.VS.1"
kind = "voltage_spacing"
layer = "M2"
table = [[0.0, 1.0], [20.0, 2.5], [300.0, 6.0]]
[[rules]]
id = "M1.VS.M2"
kind = "voltage_spacing"
layer = "M1"
other = "M2"
table = [[0.0, 1.0], [50.0, 3.0], [400.0, 7.0]]
[[rules]]
id = "M1.J.1"
kind = "current_density"
layer = "M1"
[[rules]]
id = "M2.J.1"
kind = "current_density"
layer = "M2"
[[rules]]
id = "V1.J.1"
kind = "current_density"
layer = "V1"
[[rules]]
id = "CT.J.1"
kind = "current_density"
layer = "CT"
"""


def run_plan(work: Path, plan: list[str]) -> None:
    (work / "plan.txt").write_text("\n".join(plan))
    (work / "driver.rb").write_text(DRIVER)
    run_klayout(["-r", "driver.rb", "-rd", "pf_plan=plan.txt"], work)


@needs_klayout
def test_deck_net_kinds_match_pilotflow(tmp_path):
    """Every net-aware kind in every form (one layer, two layers, projection
    metric, a layer without labels, wires and both cut layers): per
    self-test, the deck's marker count == pilotflow's == expected."""
    from pdk.schema import load_rules_file

    (tmp_path / "net.toml").write_text(NET_RULES)
    kit = load_rules_file(tmp_path / "net.toml")
    res = export_klayout(kit, tmp_path / "k")
    assert res.not_exported == ()
    decks = deck_per_rule(deck_script(res.lydrc), list(res.exported))
    plan, runs = [], []
    for i, c in enumerate(selftest_cases(kit)):
        gds = tmp_path / f"{c.cell}.gds"
        selftest_library(kit, [c]).write_gds(str(gds))
        classes = write_net_classes(tmp_path / f"{c.cell}.toml", c.test.voltages, c.test.currents) if c.test.voltages or c.test.currents else ""
        deck = tmp_path / f"rule{i}.rb"
        deck.write_text(decks[c.rule.id])
        report = tmp_path / f"{c.cell}.lyrdb"
        plan.append(f"{gds}\t{c.cell}\t{deck}\t{report}\t{classes}")
        runs.append((c, gds, report))
    assert {c.rule.id for c, _, _ in runs} == {r.id for r in kit.rules}
    run_plan(tmp_path, plan)
    bad = []
    for c, gds, report in runs:
        kl = lyrdb_counts(report)[c.rule.id]
        ctx = CheckContext(voltages=MappingProxyType(dict(c.test.voltages)), currents=MappingProxyType(dict(c.test.currents)))
        ours = run_drc(read_gds(gds, kit, c.cell), kit, rules=[c.rule], ctx=ctx).counts().get(c.rule.id, 0)
        if not kl == ours == c.test.expected:
            bad.append(f"{c.rule.id} '{c.test.name}': KLayout {kl}, pilotflow {ours}, expected {c.test.expected}")
    assert bad == []


def _net_layout(path: Path, seed: int, stacks: bool) -> None:
    """Random bars of labelled nets on M1 and M2 (with ``stacks``, some
    joined through V1 to an M2 / M1 plate around them; some labelled with a
    voltage such as ``650V``, some unlabelled).

    Shapes of one layer never touch (a candidate that would is drawn
    again): every merged polygon stays a rectangle, and no net carries two
    names.  Where differently named bars of one layer overlap (a short),
    KLayout's deck reports some voltage-spacing pairs of the shorted net
    twice, split at a vertex of the unmerged bars (r22 of 40 seeds: 21
    against 15); plain spacing agrees there.  The two metals do overlap
    (the via stacks): two-layer rules are compared there too."""
    import random

    import gdstk

    rnd = random.Random(seed)
    lib = gdstk.Library(unit=1e-6, precision=1e-9)
    top = lib.new_cell("TOP")
    names = ["VBUS", "SW", "GND", "XH/a", "XL/b", "650V", "5V", None]
    drawn: dict[int, list[tuple[float, float, float, float]]] = {10: [], 12: []}

    def free(layer: int, b: tuple[float, float, float, float]) -> bool:
        return all(b[2] < c[0] or c[2] < b[0] or b[3] < c[1] or c[3] < b[1] for c in drawn[layer])

    placed = 0
    while placed < 14:
        x, y = rnd.randint(0, 40) * 0.5, rnd.randint(0, 40) * 0.5
        w, h = rnd.choice([(0.8, 6.0), (6.0, 0.8), (2.5, 2.5), (1.2, 9.0)])
        layer = rnd.choice([10, 12])
        if not stacks and layer == 12:
            x += 27.0  # M2 right of every M1 bar: the two metals never overlap
        other = 22 - layer
        stack = stacks and rnd.random() < 0.3  # a via stack to a plate of the other metal around the bar
        bar = (x, y, x + w, y + h)
        plate = (x - 0.5, y - 0.5, x + w + 0.5, y + h + 0.5)
        if not free(layer, bar) or (stack and not free(other, plate)):
            continue
        placed += 1
        drawn[layer].append(bar)
        top.add(gdstk.rectangle(bar[:2], bar[2:], layer=layer))
        name = rnd.choice(names)
        if name:
            top.add(gdstk.Label(name, (x + w / 2, y + h / 2), layer=layer, texttype=10))
        if stack:
            drawn[other].append(plate)
            top.add(gdstk.rectangle(plate[:2], plate[2:], layer=other))
            top.add(gdstk.rectangle((x + 0.1, y + 0.1), (x + 0.6, y + 0.6), layer=11))
    lib.write_gds(str(path))


@needs_klayout
@pytest.mark.parametrize("temperature", [None, 150.0])
def test_deck_net_kinds_on_random_layouts(tmp_path, temperature):
    """Random layouts, nets from labels, classes by name and pattern from a
    design-style TOML file (voltages, currents, temperature_c in [design]),
    label voltages: the deck's counts per rule equal pilotflow's."""
    from flow.config import load_net_classes
    from flow.stages.drc import design_context
    from pdk.schema import load_rules_file

    (tmp_path / "net.toml").write_text(NET_RULES)
    kit = load_rules_file(tmp_path / "net.toml")
    res = export_klayout(kit, tmp_path / "k")
    deck = tmp_path / "deck.rb"
    deck.write_text(deck_script(res.lydrc))
    classes = tmp_path / "classes.toml"
    text = (
        '# net classes\n[[net_class]]\nname = "hv"  # the bus\nnets = [\n  "VBUS",\n  "SW",  # switch node\n]\n'
        "voltage = 650.0\ncurrent = 0.03\n\n"
        '[[net_class]]\nnets = ["X[HL]/*", \'GND\']\nvoltage = 5\ncurrent = 2e-3\n'
    )
    if temperature is not None:
        text = f"temperature_c = {temperature}\n" + text
    classes.write_text(text)
    loaded, temp = load_net_classes(classes)
    assert temp == temperature
    plan, layouts = [], []
    for seed in range(8):
        gds = tmp_path / f"r{seed}.gds"
        stacks = seed % 2 == 0
        _net_layout(gds, seed, stacks)
        report = tmp_path / f"r{seed}.lyrdb"
        plan.append(f"{gds}\tTOP\t{deck}\t{report}\t{classes}")
        layouts.append((gds, report, stacks))
    run_plan(tmp_path, plan)
    total = Counter()
    for gds, report, _ in layouts:
        kl = lyrdb_counts(report)
        ours = run_drc(read_gds(gds, kit, "TOP"), kit, ctx=design_context(loaded, temp)).counts()
        # every rule, two-layer ones included where M1 and M2 overlap (via
        # stacks): separation is shielded as KLayout shields it
        # (flow.drc.edges.facing_pairs, pid_a)
        rules = [r.id for r in kit.rules]
        assert {r: kl[r] for r in rules} == {r: ours.get(r, 0) for r in rules}, gds.name
        total.update({r: ours.get(r, 0) for r in rules})
    # the layouts exercise the net-aware checks (not all trivially clean)
    assert sum(total[r.id] for r in kit.rules if r.kind == "voltage_spacing") > 0
    assert sum(total[r.id] for r in kit.rules if r.kind == "current_density") > 0, total
    assert sum(total[r.id] for r in kit.rules if r.kind == "net_spacing") > 0
    assert sum(total[r.id] for r in kit.rules if r.other not in (None, r.layer)) > 0


@needs_klayout
def test_deck_current_density_of_slotted_wires_matches_pilotflow(tmp_path):
    """A slotted wire (square holes on a lattice, drawn as its straps) is
    measured on its outline without the slots at the width that leaves the
    current's need across every cross-section: a 400 um wide wire with 20 um
    slots every 40 um keeps 200 um of M2 across (1 A needs 125 um at 8
    mA/um) and is clean, though each strap is 20 um; a 220 um one keeps
    120 um and is flagged -- by pilotflow and by the exported deck alike.
    A cross-section runs across the wire (here vertically): the slots a
    segment along the wire crosses do not count against it."""
    import gdstk
    import numpy as np

    from flow.config import load_net_classes
    from flow.drc.kinds.nets import slotted_width
    from flow.route.router import _hole_cover, _subtract_many
    from flow.stages.drc import design_context
    from pdk.schema import load_rules_file

    (tmp_path / "net.toml").write_text(NET_RULES)
    kit = load_rules_file(tmp_path / "net.toml")
    res = export_klayout(kit, tmp_path / "k")
    deck = tmp_path / "deck.rb"
    deck.write_text(deck_script(res.lydrc))
    classes = tmp_path / "classes.toml"
    classes.write_text('[[net_class]]\nnets = ["WIDE", "THIN"]\nvoltage = 0.0\ncurrent = 1.0\n')
    lib = gdstk.Library(unit=1e-6, precision=1e-9)
    cell = lib.new_cell("TOP")
    um = 1000
    for name, y0, w in (("WIDE", 0, 400), ("THIN", 600, 220)):
        rect = (0, y0 * um, 1000 * um, (y0 + w) * um)
        holes = np.array([(x, y, x + 20 * um, y + 20 * um)
                          for x in range(10 * um, 980 * um, 40 * um)
                          for y in range((y0 + 10) * um, (y0 + w - 20) * um, 40 * um)], np.int64)
        for r in _subtract_many(rect, holes):
            cell.add(gdstk.rectangle((r[0] / um, r[1] / um), (r[2] / um, r[3] / um), layer=12, datatype=0))
        cell.add(gdstk.Label(name, (1.0, y0 + 1.0), layer=12, texttype=10))
        # the metal across: the outline minus the most slot length a line crosses
        across = w * um - _hole_cover([tuple(h) for h in holes.tolist()], w * um, (1,))
        assert across == (200 if name == "WIDE" else 120) * um
    gds = tmp_path / "slots.gds"
    lib.write_gds(str(gds))
    report = tmp_path / "slots.lyrdb"
    run_plan(tmp_path, [f"{gds}\tTOP\t{deck}\t{report}\t{classes}"])
    loaded, temp = load_net_classes(classes)
    ours = run_drc(read_gds(gds, kit, "TOP"), kit, rules=[r for r in kit.rules if r.id == "M2.J.1"],
                   ctx=design_context(loaded, temp))
    assert ours.counts().get("M2.J.1", 0) >= 1
    assert {v.net for v in ours.violations} == {"THIN"}
    assert lyrdb_counts(report)["M2.J.1"] == ours.counts()["M2.J.1"]
    assert slotted_width(125 * um, lambda w: 0) == 125 * um
