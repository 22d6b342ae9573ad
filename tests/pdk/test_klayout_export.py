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
# Plan lines: input GDS, top cell (may be empty), deck script, report file.
DRIVER = r"""
class << GC
  alias_method :pf_start, :start
  def start(*args); end
end
File.read($pf_plan).split("\n").each_with_index do |line, i|
  gds, cell, deck, report = line.split("\t", -1)
  $input = gds
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
        case_gds = {}
        for c in cases:
            if IMPLS[c.rule.kind].net_aware:
                case_gds[c.cell] = work / name / f"{c.cell}.gds"
                selftest_library(kit, [c]).write_gds(str(case_gds[c.cell]))
        decks = deck_per_rule(deck_script(res.lydrc), list(res.exported))
        runs = []
        for i, rid in enumerate(decks):
            deck = work / name / f"rule{i}.rb"
            deck.write_text(decks[rid])
            for c in cases:
                if c.rule.id == rid:
                    report = work / name / f"{c.cell}.lyrdb"
                    plan.append(f"{case_gds.get(c.cell, gds)}\t{c.cell}\t{deck}\t{report}")
                    runs.append((c, report, case_gds.get(c.cell, gds)))
        selftests[name] = (kit, res, gds, runs)
    for d in DESIGN_DIRS:
        out = run(d, work / "runs" / d.name)
        kit = pdks.load(out.design.pdk_name)
        gds = out.rundir / out.design.outputs["gds"]
        report = work / f"design-{d.name}.lyrdb"
        plan.append(f"{gds}\t\t{work / kit.name / 'deck.rb'}\t{report}")
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
    # rules the deck cannot express (e.g. voltage_spacing, current_density)
    # are not compared: the deck lists them as not checked
    for rid, why in res.not_exported:
        assert "no KLayout DSL form" in why or "not implemented" in why, (rid, why)
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
