"""The place stage with design.toml constraints: voltage keep-out and thermal
spreading on gan_halfbridge (the issue's done-when), fixed devices, fences,
keepouts, reports, and bad input."""

from __future__ import annotations

import dataclasses
import json
import math
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import klayout.db as kdb
import pytest
from click.testing import CliRunner

import pdk as pdks
from flow.cli import cli as cli_main
from flow.config import load_design
from flow.errors import InputError
from flow.flow import run
from flow.geometry.layout import device_cells
from flow.stages.place import check_placement, voltage_gap_um
from pdk.schema import Rule

DESIGNS = Path(__file__).resolve().parents[2] / "designs"

#: A strict test table, well above the device spacing, so the keep-out
#: shapes the placement (gan650's own table stays below its 32 um device
#: spacing): 650 V apart keeps 90 um.
TEST_TABLE = ((50.0, 10.0), (200.0, 30.0), (400.0, 60.0), (600.0, 90.0))


def _with_table(kit):
    """``kit`` with its voltage_spacing rules replaced by TEST_TABLE."""
    r = Rule(id="MET1.VS.TEST", kind="voltage_spacing", layer="MET1", value=0.0, table=TEST_TABLE, doc="test table")
    return dataclasses.replace(kit, rules=tuple(x for x in kit.rules if x.kind != "voltage_spacing") + (r,))


def _boxes(design, kit):
    cells = device_cells(design, kit)
    out = {}
    for name, (x, y) in design.placement.positions.items():
        dc = cells[name]
        out[name] = kdb.Box(x, y, x + dc.width, y + dc.height)
    return out


def _voltages(design):
    """instance -> (vmin, vmax) of its terminals' nets, straight from the net classes."""
    out = {}
    for inst in design.all_instances():
        vs = []
        for net in inst.pins.values():
            for nc in design.config.net_classes:
                if nc.voltage is not None and nc.matches(net):
                    vs.append(nc.voltage)
                    break
        if vs:
            out[inst.name] = (min(vs), max(vs))
    return out


def _table_um(kit, dv):
    """The kit's voltage_spacing tables read directly: the largest row below dv."""
    best = 0.0
    for r in kit.rules:
        if r.kind == "voltage_spacing":
            for lo, s in r.table:
                if dv > lo:
                    best = max(best, s)
    return best


def _assert_voltage_keepouts(design, kit):
    """Every pair of devices (pads included) keeps the table distance for its
    voltage difference: box a grown by it (square, KLayout) misses box b."""
    boxes = _boxes(design, kit)
    volts = _voltages(design)
    names = sorted(volts)
    checked = 0
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            (a0, a1), (b0, b1) = volts[a], volts[b]
            dv = max(abs(a1 - b0), abs(b1 - a0))
            need = kit.dbu(_table_um(kit, dv))
            if need <= 0:
                continue
            checked += 1
            over = kdb.Region(boxes[a].enlarged(need, need)) & kdb.Region(boxes[b])
            assert over.area() == 0, f"{a} ({a0}..{a1} V) and {b} ({b0}..{b1} V) closer than {kit.um(need)} um"
    return checked


def _assert_thermal(design, kit):
    """The HEMTs' heat-spreading footprints (area power / limit, box grown
    evenly) do not overlap, and each carries at most the limit."""
    spec = design.config.place
    boxes = _boxes(design, kit)
    feet = {}
    for name, box in boxes.items():
        p = spec.device(name).power
        if not p:
            continue
        area_um2 = p / spec.max_power_density * 1e6
        w, h = box.width() * kit.dbu_um, box.height() * kit.dbu_um
        t = max(0.0, (-(w + h) + math.sqrt((w + h) ** 2 - 4 * (w * h - area_um2))) / 4)
        g = kit.dbu(t) + 1
        fb = box.enlarged(g, g)
        assert p / (fb.area() * (kit.dbu_um * 1e-3) ** 2) <= spec.max_power_density
        feet[name] = fb
    assert len(feet) >= 2
    names = sorted(feet)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            assert (kdb.Region(feet[a]) & kdb.Region(feet[b])).area() == 0, f"{a} and {b}: footprints overlap"
    return feet


@pytest.fixture(scope="module")
def halfbridge_runs(tmp_path_factory):
    """gan_halfbridge placed with the kit as it is, and with TEST_TABLE."""
    real = run(DESIGNS / "gan_halfbridge", tmp_path_factory.mktemp("hb"), to_stage="place")
    orig = pdks.load
    pdks.load = lambda name: _with_table(orig(name))
    try:
        tabled = run(DESIGNS / "gan_halfbridge", tmp_path_factory.mktemp("hbt"), to_stage="place")
    finally:
        pdks.load = orig
    return real, tabled


def test_halfbridge_hv_lv_voltage_keepout(halfbridge_runs):
    _, res = halfbridge_runs
    kit = _with_table(pdks.load("gan650"))
    assert check_placement(res.design, kit) == []
    assert _assert_voltage_keepouts(res.design, kit) > 50
    # the high-side (650..656 V) and low-side (0..6 V) drivers, named: 90 um or more apart
    boxes = _boxes(res.design, kit)
    need = kit.dbu(_table_um(kit, 656.0))
    assert need >= kit.dbu(60)
    for a in ("XH/XPU", "XH/XPD", "XQH"):
        for b in ("XL/XPU", "XL/XPD", "XL/X1/XD"):
            assert (kdb.Region(boxes[a].enlarged(need, need)) & kdb.Region(boxes[b])).area() == 0
    report = json.loads((res.rundir / "02-place" / "place.json").read_text())
    assert report["violations"] == [] and report["not_checked"] == []
    # the high-side and low-side drivers are in classes 90 um apart (TEST_TABLE at 650 V)
    cls = {n: c for c in report["voltage_classes"] for n in c["devices"]}
    hs, ls = cls["XH/XPU"], cls["XL/XPU"]
    assert hs["label"] != ls["label"] and hs["keepout_um"][ls["label"]] == pytest.approx(90.0)


def test_halfbridge_hemts_thermal_spacing(halfbridge_runs):
    for res in halfbridge_runs:
        kit = pdks.load("gan650")
        feet = _assert_thermal(res.design, kit)
        assert set(feet) == {"XQH", "XQL"}
        report = json.loads((res.rundir / "02-place" / "place.json").read_text())
        th = report["thermal"]
        limit = res.design.config.place.max_power_density
        assert th["max_power_density_w_mm2"] == limit and {d["name"] for d in th["devices"]} == {"XQH", "XQL"}
        assert th["peak_bin_w_mm2"] <= limit * (1 + 1e-9)


def test_halfbridge_with_the_kits_own_table(halfbridge_runs):
    res, _ = halfbridge_runs
    kit = pdks.load("gan650")
    report = json.loads((res.rundir / "02-place" / "place.json").read_text())
    if kit.rules_of("voltage_spacing"):
        assert report["not_checked"] == []
        assert _assert_voltage_keepouts(res.design, kit) > 50
    else:
        assert any("voltage keep-out" in s and "no voltage_spacing" in s for s in report["not_checked"])
    assert check_placement(res.design, kit) == []


def test_kit_without_voltage_table_says_not_checked(tmp_path, monkeypatch):
    orig = pdks.load
    monkeypatch.setattr(pdks, "load", lambda name: dataclasses.replace(
        orig(name), rules=tuple(r for r in orig(name).rules if r.kind != "voltage_spacing")))
    res = run(DESIGNS / "gan_ringosc", tmp_path / "run", to_stage="place")
    report = json.loads((res.rundir / "02-place" / "place.json").read_text())
    assert any("voltage keep-out" in s and "no voltage_spacing rule" in s for s in report["not_checked"])
    assert report["voltage_classes"] == []


def test_reports_and_density_map(halfbridge_runs):
    res, _ = halfbridge_runs
    folder = res.rundir / "02-place"
    report = json.loads((folder / "place.json").read_text())
    assert report["hpwl_um"] == pytest.approx(res.metrics["hpwl_um"])
    assert report["hpwl_um"] <= report["hpwl_legal_um"]  # detailed placement never worsens
    d = report["displacement_um"]
    assert d["max"] >= d["mean"] >= 0 and d["total"] >= d["max"]
    assert 0 <= report["overflow"] <= 1 and report["overflow_global"] >= 0
    svg = ET.parse(folder / "density.svg").getroot()
    assert svg.tag.endswith("svg")
    titles = [t.text for t in svg.iter("{http://www.w3.org/2000/svg}title")]
    for name in ("XQH", "XQL", "XH/XPU"):
        assert any(t and t.startswith(name) for t in titles), name


@pytest.mark.parametrize("name", ["sic1200", "ganrf025", "gan650"])
def test_voltage_gap_lookup(name):
    kit = pdks.load(name)
    for dv in (0.0, 10.0, 50.0, 50.5, 99.0, 150.0, 400.0, 650.0, 1200.0):
        assert voltage_gap_um(kit, dv) == _table_um(kit, dv)
    if kit.rules_of("voltage_spacing"):
        assert voltage_gap_um(kit, 1e6) > voltage_gap_um(kit, 1.0)


# -- fixed, fences, keepouts from design.toml on a small design ---------------


def _copy(tmp_path: Path, name: str, extra: str) -> Path:
    d = tmp_path / name
    shutil.copytree(DESIGNS / name, d)
    (d / "design.toml").write_text((d / "design.toml").read_text() + "\n" + extra)
    return d


def test_fixed_region_keepout_from_design_toml(tmp_path):
    fp = run(DESIGNS / "gan_ringosc", tmp_path / "fp", to_stage="floorplan").design.floorplan
    cx0, cy0, cx1, cy1 = (v / 1000 for v in fp.core)  # um
    fx, fy = cx0 + 6.0, cy0 + 6.0
    k0, k1 = cx0 + 0.4 * (cx1 - cx0), cy0 + 0.4 * (cy1 - cy0)
    ko = [round(k0), round(k1), round(k0) + 100, round(k1) + 100]
    fence = [round(cx0 + 0.65 * (cx1 - cx0)), round(cy0), round(cx1), round(cy1)]
    d = _copy(tmp_path, "gan_ringosc", f"""
[place]
keepouts = [{ko}]
[place.devices]
"X1/XD" = {{ fixed = [{fx}, {fy}] }}
"XB*" = {{ region = {fence} }}
""")
    # without the design's "logic" class, the ring nodes n1..n5 have no voltage
    toml = (d / "design.toml").read_text()
    start = toml.index('[[net_class]]\nname = "logic"')
    end = toml.index("[place]", start)
    (d / "design.toml").write_text(toml[:start] + toml[end:])
    res = run(d, tmp_path / "run", to_stage="place")
    kit = pdks.load("gan650")
    pos = res.design.placement.positions
    assert pos["X1/XD"] == (round(fx * 1000), round(fy * 1000))
    boxes = _boxes(res.design, kit)
    fence = kdb.Box(*(v * 1000 for v in fence))
    for n in ("XB1/XL", "XB1/XD", "XB2/XL", "XB2/XD"):
        assert fence.contains(boxes[n].p1) and fence.contains(boxes[n].p2), n
    ko_r = kdb.Region(kdb.Box(*(v * 1000 for v in ko)))
    for n, b in boxes.items():
        if not n.startswith("PAD_"):
            assert (kdb.Region(b) & ko_r).area() == 0, n
    assert check_placement(res.design, kit) == []
    report = json.loads((res.rundir / "02-place" / "place.json").read_text())
    assert report["keepouts_um"] == [[float(v) for v in ko]]
    # ring nodes n1..n5 have no net class: their devices are listed, the pads are not
    assert "X1/XD" in report["voltage_unknown_devices"] and not any(n.startswith("PAD_") for n in report["voltage_unknown_devices"])


@pytest.mark.parametrize(
    "extra, message",
    [
        ('[place.devices]\n"NOPE*" = { power = 1.0 }\n[place]\nmax_power_density = 1.0\n', "matches no device"),
        ('[place.devices]\n"X1/XD" = { fixed = [5.0, 5.0] }\n', "does not lie inside the core"),
        ('[place.devices]\n"X1/XD" = { region = [300.0, 300.0, 301.0, 301.0] }\n', "does not fit its region"),
    ],
)
def test_bad_device_specs(tmp_path, extra, message):
    d = _copy(tmp_path, "gan_ringosc", extra)
    with pytest.raises(InputError, match=message):
        run(d, tmp_path / "run", to_stage="place")
    r = CliRunner().invoke(cli_main, ["run", str(d), "-o", str(tmp_path / "run2")])
    assert r.exit_code == 2
    assert r.output.strip().startswith("Error: ") and message in r.output and "Traceback" not in r.output


@pytest.mark.parametrize(
    "toml, message",
    [
        ("[place]\nmax_power_density = -1\n", "place.max_power_density: must be a positive number"),
        ("[place]\nvoltage_keepout = 1\n", "place.voltage_keepout: must be true or false"),
        ("[place]\nkeepouts = [[1, 2, 0, 3]]\n", r"place.keepouts\[0\]: must be \[x0, y0, x1, y1\]"),
        ("[place]\nspread = 1\n", "place.spread: unknown key"),
        ("[place.devices]\nXQ = { power = 1.0 }\n", "place.max_power_density: missing"),
        ("[place.devices]\nXQ = { power = -1.0 }\n", "place.devices.XQ.power: must be a non-negative"),
        ("[place.devices]\nXQ = { fixed = [1, 2], region = [0, 0, 5, 5] }\n", "give fixed or region, not both"),
        ("[place.devices]\nXQ = { heat = 1 }\n", "place.devices.XQ.heat: unknown key"),
        ("[place.devices]\nXQ = 3\n", "place.devices.XQ: must be a table"),
    ],
)
def test_place_table_bad_input(tmp_path, toml, message):
    d = tmp_path / "x"
    d.mkdir()
    (d / "n.sp").write_text("* empty\n")
    (d / "design.toml").write_text('[design]\npdk = "gan650"\nnetlist = "n.sp"\n' + toml)
    with pytest.raises(InputError, match=message):
        load_design(d)


def test_place_table_parsed(tmp_path):
    d = tmp_path / "x"
    d.mkdir()
    (d / "n.sp").write_text("* empty\n")
    (d / "design.toml").write_text(
        '[design]\npdk = "gan650"\nnetlist = "n.sp"\n[place]\nmax_power_density = 2\nvoltage_keepout = false\n'
        'keepouts = [[0, 0, 10, 20.5]]\n[place.devices]\n"XQ*" = { power = 1.5 }\nXQ1 = { fixed = [10, 20] }\n'
    )
    spec = load_design(d).place
    assert spec.max_power_density == 2.0 and spec.voltage_keepout is False
    assert spec.keepouts == ((0.0, 0.0, 10.0, 20.5),)
    m = spec.device("XQ1")
    assert m.power == 1.5 and m.fixed == (10.0, 20.0) and m.region is None
    assert spec.device("XQ2").fixed is None and spec.device("R1").power is None


def test_groups_rows_and_columns(tmp_path):
    """[[place.group]]: members side by side in the listed order, aligned,
    at least the spacing apart (KLayout), and the checker notices a broken
    group."""
    d = _copy(tmp_path, "gan_halfbridge", """
[[place.group]]
devices = ["XH/XPU", "XH/XPD", "XH/RG"]

[[place.group]]
devices = ["XL/XPD", "XL/XPU"]
arrange = "column"
""")
    res = run(d, tmp_path / "run", to_stage="place")
    kit = pdks.load("gan650")
    pos = res.design.placement.positions
    boxes = _boxes(res.design, kit)
    assert check_placement(res.design, kit) == []
    row = ["XH/XPU", "XH/XPD", "XH/RG"]
    assert len({pos[n][1] for n in row}) == 1  # bottoms aligned
    spacing = json.loads((res.rundir / "02-place" / "place.json").read_text())["spacing_um"]
    for a, b in zip(row, row[1:]):
        gap = boxes[b].left - boxes[a].right
        assert kit.dbu(spacing) <= gap < kit.dbu(spacing) + kit.dbu(1.0)  # abutting at the spacing (1 um grid)
    assert pos["XL/XPD"][0] == pos["XL/XPU"][0] and boxes["XL/XPU"].bottom - boxes["XL/XPD"].top >= kit.dbu(spacing)
    report = json.loads((res.rundir / "02-place" / "place.json").read_text())
    assert report["groups"][1] == {"devices": ["XL/XPD", "XL/XPU"], "arrange": "column"}
    moved = dict(pos)
    moved["XH/XPD"] = (pos["XH/XPD"][0], pos["XH/XPD"][1] + 1000)
    broken = dataclasses.replace(res.design, placement=dataclasses.replace(res.design.placement, positions=moved))
    assert any("group[0] (row): 'XH/XPD'" in p and "not aligned" in p for p in check_placement(broken, kit))


@pytest.mark.parametrize(
    "toml, message",
    [
        ('[[place.group]]\ndevices = ["A"]\n', r"place.group\[0\].devices: must list two or more"),
        ('[[place.group]]\ndevices = ["A", "A"]\n', "lists a device twice"),
        ('[[place.group]]\ndevices = ["A", "B"]\narrange = "diagonal"\n', r"place.group\[0\].arrange: must be"),
        ('[[place.group]]\ndevices = ["A", "B"]\n[[place.group]]\ndevices = ["B", "C"]\n', r"'B' is already in place.group\[0\]"),
        ('[[place.group]]\ndevices = ["A", "B"]\nmirror = true\n', r"place.group\[0\].mirror: unknown key"),
    ],
)
def test_group_bad_input(tmp_path, toml, message):
    d = tmp_path / "x"
    d.mkdir()
    (d / "n.sp").write_text("* empty\n")
    (d / "design.toml").write_text('[design]\npdk = "gan650"\nnetlist = "n.sp"\n' + toml)
    with pytest.raises(InputError, match=message):
        load_design(d)


def test_group_of_unknown_or_fixed_device(tmp_path):
    d = _copy(tmp_path, "gan_ringosc", '[[place.group]]\ndevices = ["X1/XL", "NOPE"]\n')
    with pytest.raises(InputError, match="'NOPE' is not a device"):
        run(d, tmp_path / "run", to_stage="place")
    d2 = _copy(tmp_path / "b", "gan_ringosc", '[[place.group]]\ndevices = ["X1/XL", "X1/XD"]\n[place.devices]\n"X1/XD" = { region = [0.0, 0.0, 2000.0, 2000.0] }\n')
    with pytest.raises(InputError, match="grouped device cannot be"):
        run(d2, tmp_path / "run2", to_stage="place")


def test_device_halos_from_the_pdk_and_design_toml(tmp_path, monkeypatch):
    """A PDK device's halo (um) keeps every other device that much further
    than the spacing (KLayout boxes); design.toml's halo overrides it; the
    checker flags a device inside another's halo."""
    orig = pdks.load

    def with_halo(name):
        kit = orig(name)
        devs = dict(kit.devices)
        devs["hemtek"] = dataclasses.replace(devs["hemtek"], halo=60.0)
        return dataclasses.replace(kit, devices=devs)

    monkeypatch.setattr(pdks, "load", with_halo)
    kit = pdks.load("gan650")
    d = _copy(tmp_path, "gan_kelvin", '[place.devices]\n"X1/XL" = { halo = 25.0 }\n')
    res = run(d, tmp_path / "run", to_stage="place")
    assert check_placement(res.design, kit) == []
    boxes = _boxes(res.design, kit)
    spacing = kit.dbu(json.loads((res.rundir / "02-place" / "place.json").read_text())["spacing_um"])
    pads = set(res.design.floorplan.pad_positions)
    for name, need in (("XQ", spacing + kit.dbu(60.0)), ("X1/XL", spacing + kit.dbu(25.0))):
        grown = kdb.Region(boxes[name].enlarged(need - 1, need - 1))
        for other, b in boxes.items():
            if other != name and other not in pads:
                assert (grown & kdb.Region(b)).area() == 0, (name, other)
    # a device moved into XQ's halo (but beyond the plain spacing) is caught
    pos = dict(res.design.placement.positions)
    others = [n for n in boxes if n not in pads and n != "XQ"]
    victim = min(others, key=lambda n: boxes[n].width())
    q = boxes["XQ"]
    pos[victim] = (q.right + spacing + kit.dbu(10.0), q.bottom)
    broken = dataclasses.replace(res.design, placement=dataclasses.replace(res.design.placement, positions=pos))
    assert any(victim in p and "XQ" in p for p in check_placement(broken, kit))


def test_device_halo_bad_input(tmp_path):
    d = tmp_path / "x"
    d.mkdir()
    (d / "n.sp").write_text("* empty\n")
    (d / "design.toml").write_text('[design]\npdk = "gan650"\nnetlist = "n.sp"\n[place.devices]\nXQ = { halo = -1 }\n')
    with pytest.raises(InputError, match="place.devices.XQ.halo: must be a number of um >= 0"):
        load_design(d)
