"""flow.lvs.report: lvs.json body, the text form and the HTML page."""

from __future__ import annotations

import json

import pytest

import pdk as pdks
from flow.lvs.compare import LayoutView, compare
from flow.lvs.report import html_report, text_report, to_json, write_reports
from flow.netlist.model import Instance, Netlist


def _pair():
    kit = pdks.load("gan650")
    src = Netlist("t", (
        Instance("XA", "hemte", {"d": "out", "g": "in", "s": "gnd"}, {"w": 20e-6, "nf": 2}),
        Instance("XB", "hemte", {"d": "vdd", "g": "<b>", "s": "out"}, {"w": 20e-6, "nf": 2}),
    ), ("in", "out", "gnd", "vdd", "<b>"))
    lay = Netlist("t", (
        Instance("m1", "hemte", {"d": "in", "g": "out", "s": "gnd"}, {"w": 20e-6, "nf": 2, "l": 1e-6, "lgd": 15e-6, "lfp": 0.0, "lgfp": 0.0}),
        Instance("m2", "hemte", {"d": "vdd", "g": "<b>", "s": "out"}, {"w": 20e-6, "nf": 4, "l": 1e-6, "lgd": 15e-6, "lfp": 0.0, "lgfp": 0.0}),
    ))
    locs = {n: (("MET1", 10.0 * k, 5.0),) for k, n in enumerate(lay.nets)}
    view = LayoutView(lay, locs, {"m1": (0.0, 0.0, 10.0, 20.0), "m2": (30.0, 0.0, 40.0, 20.0)}, {n: locs[n] for n in lay.nets})
    return kit, compare(src, view, kit)


def test_json_has_the_schema_keys_and_findings(tmp_path):
    kit, res = _pair()
    body = to_json(res, kit=kit, layout="t.gds", netlist="t.sp")
    for key in ("format", "format_version", "status", "match", "clean", "summary", "not_compared", "notes", "opens", "shorts",
                "missing_devices", "extra_devices", "parameter_mismatches", "swapped_connections", "wrong_connections",
                "ports", "label_conflicts", "device_map", "net_map", "pdk", "pdk_version"):
        assert key in body, key
    assert body["status"] == "mismatch" and body["match"] is False and body["clean"] is False
    (sw,) = body["swapped_connections"]
    assert sw["device"] == "XA" and sw["terminals"] == ["d", "g"] and sw["location"] == [5.0, 10.0]
    (pm,) = body["parameter_mismatches"]
    assert (pm["device"], pm["param"], pm["source"], pm["layout"]) == ("XB", "nf", 2, 4)
    assert pm["bbox"] == [30.0, 0.0, 40.0, 20.0]
    assert body["summary"]["counts"]["swapped_connections"] == 1
    out = tmp_path / "lvs.json"
    write_reports(res, out, kit=kit, layout="t.gds", netlist="t.sp", text=tmp_path / "lvs.txt", html=tmp_path / "lvs.html")
    assert json.loads(out.read_text()) == json.loads(json.dumps(body))
    assert (tmp_path / "lvs.txt").read_text().startswith("LVS MISMATCH")
    assert not list(tmp_path.glob(".*tmp"))


def test_text_report_lines_name_category_values_and_location():
    kit, res = _pair()
    lines = text_report(res, kit=kit, layout="t.gds", netlist="t.sp")
    assert lines[0].startswith("LVS MISMATCH: layout t.gds")
    text = "\n".join(lines)
    assert "swapped: XA (hemte) terminals d and g exchanged" in text
    assert "box (0, 0)-(10, 20) um" in text
    assert "parameter: XB (hemte) nf: netlist 2, layout 4" in text
    # every parameter was measured; the one the kit declares layout-only
    # (hemte's MET2 strap width) is named as such
    assert "not measured" not in text
    assert [x.strip() for x in lines if "not compared" in x] == ["note: hemte: wm2 not compared (PDK [devices.hemte.lvs] ignore)"]
    short = text_report(res, kit=kit, layout="t.gds", netlist="t.sp", limit=1)
    notes = [x for x in short if x.startswith("  note:")]
    assert short[-1 - len(notes)] == "  ... and 1 more (see the JSON report)" and short[len(short) - len(notes):] == notes
    assert sum(1 for x in short if x.startswith(("  swapped", "  parameter"))) == 1


def test_html_is_escaped():
    kit, res = _pair()
    page = html_report(res, kit=kit, layout="<t>.gds", netlist="t.sp")
    assert "<b>" not in page.replace("<body>", "")
    assert "&lt;t&gt;.gds" in page
    assert "MISMATCH" in page


def test_lyrdb_reads_back_in_klayout(tmp_path):
    pytest.importorskip("klayout.db")
    rdb = pytest.importorskip("klayout.rdb")
    from flow.lvs.lyrdb import write_lvs_lyrdb

    kit, res = _pair()
    path = tmp_path / "lvs.lyrdb"
    n = write_lvs_lyrdb(res, path, "t")
    assert n == 2
    db = rdb.ReportDatabase("x")
    db.load(str(path))
    cats = {c.name(): c for c in db.each_category()}
    assert {"opens", "shorts", "swapped_connections", "parameter_mismatches"} <= set(cats)
    items = list(db.each_item())
    assert len(items) == 2
    boxes = {}
    for it in items:
        cat = db.category_by_id(it.category_id()).name()
        for v in it.each_value():
            if v.is_box():
                boxes[cat] = v.box()
    assert boxes["swapped_connections"].left == 0 and boxes["swapped_connections"].top == 20
    assert boxes["parameter_mismatches"].left == 30 and boxes["parameter_mismatches"].right == 40
