"""report.html rendering: sections, "not run" for stages that did not run,
escaping, the DRC table by rule with waivers, the power-net summaries."""

from __future__ import annotations

import html
import json
import re
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

import pdk as pdks
from flow.config import load_design
from flow.design import Design, DrcSummary, LvsSummary
from flow.flow import metrics, run
from flow.report.html import render_report

ROOT = Path(__file__).resolve().parents[2]
EVIL = "<script>alert(1)</script>"
SECTIONS = ("status", "metrics", "stages", "layout", "drc", "lvs", "density", "congestion", "power")


def _section(page: str, sid: str) -> str:
    m = re.search(rf'<section id="{sid}">(.*?)</section>', page, re.S)
    assert m, sid
    return m.group(1)


@pytest.fixture(scope="module")
def ringosc():
    cfg = load_design(ROOT / "designs" / "gan_ringosc")
    return cfg, pdks.load(cfg.pdk)


def test_nothing_run_says_not_run(ringosc):
    """A design no stage has touched: every section present, every check
    "not run", nothing reported clean or matched."""
    cfg, kit = ringosc
    d = Design(config=cfg, pdk_name=kit.name, pdk_version=kit.version)
    page = render_report(d, kit, metrics(d, kit, {}))
    for sid in SECTIONS:
        _section(page, sid)
    for sid in ("layout", "drc", "lvs", "density", "congestion"):
        assert "not run" in _section(page, sid), sid
    status = _section(page, "status")
    assert 'class="good"' not in page
    assert "clean" not in status and "matches" not in status and "no violation" not in status
    assert status.count("not run") == 3
    # every stage listed, none with a time
    stages = _section(page, "stages")
    assert stages.count("not run") == 7
    assert f"PDK <b>{kit.name}</b> version <b>{kit.version}</b>" in page


def test_no_external_resources(ringosc):
    cfg, kit = ringosc
    d = Design(config=cfg, pdk_name=kit.name, pdk_version=kit.version)
    page = render_report(d, kit, metrics(d, kit, {}))
    assert not re.search(r'(src|href)="(?!#|data:)', page)
    assert "<script" not in page and "@import" not in page and "url(" not in page
    assert "Content-Security-Policy" in page


def test_escaping_of_names_and_reports(ringosc, tmp_path):
    """Names from the design, DRC and LVS reports are text, never markup."""
    cfg, kit = ringosc
    d = Design(config=replace(cfg, name=EVIL), pdk_name=kit.name, pdk_version=kit.version)
    d = replace(d, drc=DrcSummary(1, {"MET1.S.1": 1}, ("MET1.S.1",), (f"{EVIL}: not checked",)),
                lvs=LvsSummary("mismatch", {"opens": 1}))
    drc = {"rules_checked": ["MET1.S.1"], "violations": 1, "waived": 1, "not_checked": [f"{EVIL}: not checked"],
           "notes": [], "waivers_unused": [], "layers_ignored": [],
           "rules": [{"id": "MET1.S.1", "kind": "spacing", "layer": "MET1", "other": None, "value_um": 2.0, "doc": EVIL,
                      "count": 1, "markers": [{"edge_pair": [[0, 0, 0, 5], [1, 5, 1, 0]], "measured_um": 1.0, "net": EVIL}],
                      "waived_count": 1, "waived": [{"polygon": [[0, 0], [1, 0], [1, 1]], "reason": EVIL, "author": "me", "waiver": "w.toml:3"}]}]}
    lvs = {"status": "mismatch", "layout": "x.gds", "netlist": "x.sp", "summary": {"counts": {"opens": 1}},
           "opens": [{"net": EVIL, "pieces": [EVIL, "b"]}], "not_compared": [], "notes": []}
    (tmp_path / "drc.json").write_text(json.dumps(drc))
    (tmp_path / "lvs.json").write_text(json.dumps(lvs))
    page = render_report(d, kit, metrics(d, kit, {}), tmp_path)
    assert EVIL not in page
    assert "<script" not in page
    assert html.escape(EVIL, quote=False) in page
    # the DRC table: rule, description, count, waived count and reason
    table = re.search(r'<table id="drc-table">(.*?)</table>', page, re.S).group(1)
    row = re.search(r"<tr class=\"bad\">(.*?)</tr>", table, re.S).group(1)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
    assert cells[0] == "MET1.S.1" and cells[4] == "1" and cells[5] == "1"
    assert html.escape(EVIL) in cells[1] and html.escape(EVIL) in cells[6]
    # LVS findings listed, as text
    lvs_html = _section(page, "lvs")
    assert "opens (1)" in lvs_html and html.escape(EVIL) in lvs_html


def test_partial_run_to_route(tmp_path):
    """A real run stopped after routing: layout, density and routing usage
    shown; DRC and LVS "not run"; the power table has current densities but
    no clearance (DRC did not run)."""
    res = run(ROOT / "designs" / "gan_ringosc", tmp_path / "run", to_stage="route")
    page = (tmp_path / "run" / "report.html").read_text()
    assert 'id="layout-picture"' in page and 'id="congestion-map"' in page and 'id="density-map"' in page
    assert "not run" in _section(page, "drc") and "not run" in _section(page, "lvs")
    assert "drc-table" not in page
    status = _section(page, "status")
    assert "DRC: not run" in status and "LVS: not run" in status
    layout = _section(page, "layout")
    assert "no GDS written" in layout and "No DRC markers: DRC not run" in layout
    power = _section(page, "power")
    assert "DRC not run" in power
    # every classed net with a current: its density per metal, as route.json has it
    route = json.loads((tmp_path / "run" / "route.json").read_text())
    for net, r in route["nets"].items():
        cd = r["current_density"]
        for layer, f in cd["layers"].items():
            assert f"{layer} {f['ma_per_um']} / {f['limit_ma_per_um']}" in power, (net, layer)
        assert max(f["ratio"] for f in cd["layers"].values()) == cd["ratio"]
    assert res.metrics["drc_violations"] is None


@pytest.fixture(scope="module")
def evil_run(tmp_path_factory):
    """A real run of gan_ringosc whose net ``nb`` is renamed
    <script>alert(1)</script> (and classed, so the power table lists it)."""
    tmp = tmp_path_factory.mktemp("evil")
    folder = tmp / "design"
    shutil.copytree(ROOT / "designs" / "gan_ringosc", folder)
    sp = folder / "ringosc.sp"
    sp.write_text(re.sub(r"\bnb\b", EVIL, sp.read_text()))
    toml = folder / "design.toml"
    toml.write_text(toml.read_text() + f'\n[[net_class]]\nname = "evil"\nnets = ["{EVIL}"]\nvoltage = 6.0\ncurrent = 0.005\n')
    return run(folder, tmp / "run")


def test_script_net_is_text(evil_run):
    """The net travels through a real run and appears in the report as text only."""
    assert evil_run.exit_code == 0
    page = (evil_run.rundir / "report.html").read_text()
    assert "<script" not in page
    assert f"<td>{html.escape(EVIL, quote=False)}</td>" in _section(page, "power")


def test_script_net_in_chromium(evil_run, tmp_path):
    """In headless Chromium, with the report's script-blocking policy removed
    from the copy (so only escaping protects it): the name is text in the
    DOM and no script ran (the hook marks <html> on alert() or an error)."""
    from browser import render

    dom, console = render(evil_run.rundir / "report.html", tmp_path, keep_csp=False)
    html_tag = re.search(r"<html[^>]*>", dom).group(0)
    assert "data-alert" not in html_tag and "data-js-error" not in html_tag, html_tag
    assert console == [], console
    assert dom.count("<script") == 1  # the test's own hook
    row = re.search(r'<table id="power-table">.*?</table>', dom, re.S).group(0)
    assert f"<td>{html.escape(EVIL, quote=False)}</td>" in row


def test_power_nets_clearance_from_drc(evil_run):
    """After DRC: each classed net shows the pair with the smallest margin of
    drc.json's voltage_clearance rows; the rows agree with the net classes."""
    res = evil_run
    rd = res.rundir
    drc = json.loads((rd / "drc.json").read_text())
    rows = drc["voltage_clearance"]
    assert rows
    cfg = res.design.config
    for row in rows:
        a, b = row["nets"]
        va = cfg.net_class(a).voltage if cfg.net_class(a) else None
        vb = cfg.net_class(b).voltage if cfg.net_class(b) else None
        if va is not None and vb is not None:
            assert row["dv_v"] == pytest.approx(abs(va - vb))
        if row["required_um"] is not None:
            # DRC clean: no pair closer than required
            assert row["found_um"] >= row["required_um"] - 1e-6, row
    page = (rd / "report.html").read_text()
    power = _section(page, "power")
    vdd = re.search(r"<tr>\s*<td>VDD</td>(.*?)</tr>", power, re.S).group(1)
    mine = [r for r in rows if "VDD" in r["nets"] and r["required_um"] is not None]
    worst = min(mine, key=lambda r: r["found_um"] - r["required_um"])
    other = [n for n in worst["nets"] if n != "VDD"][0]
    assert f"<td>{html.escape(other)} <small>" in vdd and f">{worst['found_um']}</td>" in vdd


def test_drc_markers_on_the_picture(tmp_path, monkeypatch):
    """A real run with one more rule that fails (MET1 at least 20 um wide)
    and a waiver over the left half of the die: the DRC table has the rule's
    count, waived count and reason; every marker of drc.json is drawn on the
    layout at its place (red, or orange when waived)."""
    from pdk.schema import Rule

    real = pdks.load

    def load(name):
        kit = real(name)
        return replace(kit, rules=tuple(kit.rules) + (Rule("MET1.W.REPORT", "width", "MET1", 20.0, doc="test: MET1 at least 20 um"),))

    monkeypatch.setattr(pdks, "load", load)
    folder = tmp_path / "design"
    shutil.copytree(ROOT / "designs" / "gan_ringosc", folder)
    rd = tmp_path / "run"
    res = run(folder, rd, to_stage="route")
    x0, y0, x1, y1 = (v / 1000 for v in res.design.floorplan.die)
    (folder / "w.toml").write_text(
        f'[[waiver]]\nrule = "MET1.W.REPORT"\nregion = [{x0 - 1}, {y0 - 1}, {(x0 + x1) / 2}, {y1 + 1}]\n'
        f'reason = "left half: {EVIL}"\nauthor = "T. Ester"\n'
    )
    with (folder / "design.toml").open("a") as f:
        f.write('\n[drc]\nwaivers = "w.toml"\n')
    res = run(folder, rd, from_stage="drc", to_stage="drc")
    drc = json.loads((rd / "drc.json").read_text())
    rule = next(r for r in drc["rules"] if r["id"] == "MET1.W.REPORT")
    assert rule["count"] > 0 and rule["waived_count"] > 0
    page = (rd / "report.html").read_text()
    assert f"DRC: {drc['violations']} violation(s), {drc['waived']} waived" in _section(page, "status")
    row = re.search(r'<tr class="bad"><td>MET1\.W\.REPORT</td>(.*?)</tr>', page, re.S).group(1)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
    assert cells[3] == str(rule["count"]) and cells[4] == str(rule["waived_count"])
    assert f"left half: {html.escape(EVIL)} (T. Ester, " in cells[5]
    svg = re.search(r'<svg [^>]*id="layout-picture".*?</svg>', page, re.S).group(0)
    assert len(re.findall(r'<g class="drc-marker" data-rule="MET1.W.REPORT">', svg)) == rule["count"]
    assert len(re.findall(r'<g class="drc-marker waived" data-rule="MET1.W.REPORT">', svg)) == rule["waived_count"]
    # each marker's centre, in the picture's tenths of a pixel
    from flow.report.pictures import _PAD

    die = res.design.floorplan.die
    s = 900 / max(die[2] - die[0], die[3] - die[1])
    circles = {(int(a), int(b)) for a, b in re.findall(r'<circle cx="(\d+)" cy="(\d+)"', svg)}
    for mk in rule["markers"] + rule["waived"]:
        (a, b) = mk["edge_pair"]
        cx = sum(v for v in (a[0], a[2], b[0], b[2])) / 4 * 1000
        cy = sum(v for v in (a[1], a[3], b[1], b[3])) / 4 * 1000
        want = (round((_PAD + (cx - die[0]) * s) * 10), round((_PAD + (die[3] - cy) * s) * 10))
        assert any(abs(want[0] - c[0]) <= 1 and abs(want[1] - c[1]) <= 1 for c in circles), want


def test_drc_checked_in_part_is_not_clean(ringosc, tmp_path):
    """No marker, but a rule skipped some net pairs (unknown voltage): the
    status is a warning that says so, not a clean DRC."""
    cfg, kit = ringosc
    note = "MET1.VS.1: not checked between 2 pair(s) of nets within 60 um whose voltage is unknown: a / b, c / d"
    d = Design(config=cfg, pdk_name=kit.name, pdk_version=kit.version)
    d = replace(d, drc=DrcSummary(0, {}, ("MET1.VS.1",), (), (note,)))
    drc = {"rules_checked": ["MET1.VS.1"], "violations": 0, "waived": 0, "not_checked": [], "notes": [note, "X: checked on empty layer Y"],
           "waivers_unused": [], "layers_ignored": [], "rules": [{"id": "MET1.VS.1", "doc": "v", "count": 0, "markers": [], "waived_count": 0, "waived": []}]}
    (tmp_path / "drc.json").write_text(json.dumps(drc))
    page = render_report(d, kit, metrics(d, kit, {}), tmp_path)
    status = _section(page, "status")
    assert 'class="good"' not in status
    assert "DRC: no violation (1 rules checked), but 1 rule(s) checked only in part (below)." in status
    assert f"Checked only in part: {note}" in status
    assert "Checked only in part" in _section(page, "drc") and "checked on empty layer" not in status
