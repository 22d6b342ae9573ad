"""Device terminal current ratings (pdk/rating.py) and their check in
``current_density`` (flow/drc/devices.py, flow/drc/kinds/nets.py).

A real device cell placed in a layout, its terminal wired to a net whose
current is just below the terminal's rating, is clean; just above, one
marker over the terminal's pin naming device, terminal, rating and current.
Ratings come from the drawn metal: more fingers carry more current; bad
device cells (a name without readable parameters, parameters the generator
refuses, a cell of another size) are noted as not rated, never passed.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from types import MappingProxyType

import gdstk
import pytest

import pdk as pdks
from flow.drc.core import CheckContext
from flow.drc.devices import parse_cell_name
from flow.drc.engine import run_drc
from flow.drc.lyrdb import write_lyrdb
from flow.errors import PDKError
from flow.geometry.gdsio import shapes_from_library
from pdk.base import cell_name, generate
from pdk.rating import cut_count
from pdk.schema import Rule, load_pdk_file

EM = Rule("MET1.EMX", "current_density", "MET1", 0.0, doc="MET1 current density")


def kit_with_em(name: str):
    """The kit with a current_density rule on MET1 and MET2 (its own, or
    ``<layer>.EMX`` where it has none)."""
    kit = pdks.load(name)
    have = {r.layer for r in kit.rules_of("current_density")}
    extra = tuple(
        Rule(f"{n}.EMX", "current_density", n, 0.0, doc="EM") for n in ("MET1", "MET2") if n not in have
    )
    return dataclasses.replace(kit, rules=tuple(kit.rules) + extra)


def em_rule(kit, layer: str = "MET1") -> str:
    return next(r.id for r in kit.rules_of("current_density") if r.layer == layer)


def ctx(amps, temp=None):
    return CheckContext(MappingProxyType({}), MappingProxyType(dict(amps)), temp)


def _wire_layout(kit, dev, terminal: str, net: str, origin=(0.0, 0.0), rotation=0.0, mirror=False, cell=None, half=200.0):
    """``dev`` placed at ``origin`` (um), a MET1 wire ``2 half`` um wide
    covering its ``terminal`` pin and running away from it, labelled ``net``."""
    lib = gdstk.Library(unit=1e-6, precision=1e-9)
    top = lib.new_cell("TOP")
    c = cell or dev.cell
    lib.add(c)
    ref = gdstk.Reference(c, origin, rotation=rotation, x_reflection=mirror)
    top.add(ref)
    # the pin in top coordinates, through the reference's own transform
    u = kit.dbu_um
    p = dev.pins_of(terminal)[0]
    probe = gdstk.Cell("probe")
    probe.add(gdstk.rectangle((p.rect[0] * u, p.rect[1] * u), (p.rect[2] * u, p.rect[3] * u), layer=99))
    (x0, y0), (x1, y1) = gdstk.Reference(probe, origin, rotation=rotation, x_reflection=mirror).bounding_box()
    lay = kit.layer("MET1")
    top.add(gdstk.rectangle((x0, y0), (x1, y1), layer=lay.gds[0], datatype=lay.gds[1]))
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    top.add(gdstk.rectangle((cx - half, y1 + 1.5 * half), (cx + half, y1 + 3.5 * half), layer=lay.gds[0], datatype=lay.gds[1]))
    top.add(gdstk.rectangle((cx - half, y1), (cx + half, y1 + 1.5 * half), layer=lay.gds[0], datatype=lay.gds[1]))
    top.add(gdstk.Label(net, (cx, y1 + 2.5 * half), layer=lay.label[0], texttype=lay.label[1]))
    return lib, (round(x0 / u), round(y0 / u), round(x1 / u), round(y1 / u))


def device_markers(res):
    return [v for v in res.violations if v.message]


# ------------------------------------------------------------------ ratings --


@pytest.mark.parametrize("kitname, model", [("gan650", "hemte"), ("gan650", "hemtek"), ("ganrf025", "hemt")])
def test_ratings_scale_with_fingers(kitname, model):
    """Same gate width, more fingers: more drain fingers side by side, a
    larger rating (one 4 um MET1 finger carries 20 mA at 5 mA/um); the
    rating equals the drawn drain fingers' total width x jmax."""
    kit = pdks.load(kitname)
    got = []
    for nf in (2, 4, 8, 16):
        dc = generate(kit, model, {"w": 800, "nf": nf})
        r = dc.rating("d")
        amps, cap = r.limiting(kit)
        # the drawn drain fingers: conductors of d that are not pins
        pins = {p.rect for p in dc.pins}
        fingers = [c.rect for c in dc.conductors if c.terminal == "d" and c.layer == "MET1" and c.rect not in pins]
        assert len(fingers) == nf // 2
        width_um = sum(kit.um(x1 - x0) for x0, _, x1, _ in fingers)
        assert amps == pytest.approx(width_um * kit.layer("MET1").jmax_ma_per_um / 1000)
        assert "drain finger" in cap.what
        got.append(amps)
    assert got == sorted(got) and got[-1] == pytest.approx(8 * got[0])
    # the saturated channel bounds what the device passes: isat x w
    assert generate(kit, model, {"w": 800, "nf": 4}).rating("d").max_ma == pytest.approx(kit.device(model).isat_ma_per_mm * 0.8)


def test_ratings_of_pads_and_contacts_scale():
    kit = pdks.load("gan650")
    pads = [generate(kit, "pad", {"size": s}).rating("p").amps(kit) for s in (60, 80, 120)]
    # MET2 (20 mA/um) and MET1 (5 mA/um) plates side by side: 25 mA per um of edge
    assert pads == pytest.approx([1.5, 2.0, 3.0])
    tfr = [generate(kit, "rtf", {"r": 200, "w": w}).rating("p") for w in (4, 10, 20)]
    amps = [t.amps(kit) for t in tfr]
    assert amps == sorted(amps) and amps[0] < amps[-1]
    assert all("TFRCON" in t.limiting(kit)[1].what for t in tfr)
    # capacitors pass no DC
    assert generate(kit, "mim", {}).rating("p").max_ma == 0.0


def test_cut_count_takes_area():
    kit = pdks.load("gan650")
    c = kit.dbu(kit.min_width("CONT"))
    assert cut_count(kit, "CONT", [(0, 0, c, c)]) == 1
    assert cut_count(kit, "CONT", [(0, 0, c, 10 * c), (0, 0, c - 1, c - 1)]) == 11


def test_ratings_derate_with_temperature():
    kit = pdks.load("gan650")
    r = generate(kit, "hemte", {"w": 200, "nf": 4}).rating("d")
    hot = r.amps(kit, 175.0)
    assert r.amps(kit) == pytest.approx(0.04) and hot < 0.04
    lay = kit.layer("MET1")
    k = math.exp(lay.em_ea_ev / (2 * 8.617333262e-5) * (1 / (175 + 273.15) - 1 / (lay.jmax_ref_c + 273.15)))
    assert hot == pytest.approx(0.04 * k)


def test_cell_names_read_back():
    kit = pdks.load("gan650")
    for model, params in (("hemtek", {"w": 6000, "nf": 20}), ("hemte", {"w": 12.5, "l": 1.25}), ("pad", {"size": 100}), ("mim", {"c": 2.5e-12})):
        dc = generate(kit, model, params)
        model_, got = parse_cell_name(dc.cell.name, kit)
        assert model_ == model and generate(kit, model, got).cell is dc.cell
    assert parse_cell_name("hemte_l1_nf4_q2", kit) is None
    assert parse_cell_name("hemtex", kit) is None


# -------------------------------------------------------------------- check --


@pytest.mark.parametrize("rotation, mirror", [(0.0, False), (math.pi / 2, False), (math.pi, True)])
def test_terminal_below_rating_clean_above_flagged(rotation, mirror, tmp_path):
    """gan650 hemte, 4 fingers of 50 um: 2 drain fingers of 4 um MET1 rate
    the drain 40 mA.  39 mA on its net: clean; 41 mA: one marker, over the
    placed drain pin (rotated / mirrored with the instance), its message
    naming device, terminal, current and rating; in the JSON and lyrdb."""
    kit = kit_with_em("gan650")
    dev = generate(kit, "hemte", {"w": 200, "nf": 4})
    assert dev.rating("d").amps(kit) == pytest.approx(0.04)
    lib, pin = _wire_layout(kit, dev, "d", "D", origin=(100.0, 50.0), rotation=rotation, mirror=mirror)
    shapes = shapes_from_library(lib, kit, "TOP")
    ok = run_drc(shapes, kit, rules=[r for r in kit.rules if r.kind == "current_density"], ctx=ctx({"D": 0.039}))
    assert device_markers(ok) == []
    assert any("device terminal(s) on MET1 checked against their current ratings" in n for n in ok.notes)
    bad = run_drc(shapes, kit, rules=[r for r in kit.rules if r.kind == "current_density"], ctx=ctx({"D": 0.041}))
    (v,) = device_markers(bad)
    assert v.rule_id == em_rule(kit) and v.net == "D" and v.measured_um == pytest.approx(41.0)
    xs, ys = [x for x, _ in v.marker], [y for _, y in v.marker]
    assert (min(xs), min(ys), max(xs), max(ys)) == pin
    assert dev.cell.name in v.message and "terminal d" in v.message
    assert "41 mA" in v.message and "rated 40 mA" in v.message and "2 drain finger(s)" in v.message
    js = bad.to_json(kit)
    assert any(m.get("message") == v.message for r in js["rules"] for m in r.get("markers", []))
    write_lyrdb(bad, kit, tmp_path / "x.lyrdb", "TOP", shapes.instances)
    rdb = pytest.importorskip("klayout.rdb")
    db = rdb.ReportDatabase("x")
    db.load(str(tmp_path / "x.lyrdb"))
    texts = [val.string() for it in db.each_item() for val in it.each_value()]
    assert any("terminal d" in t and "rated 40 mA" in t for t in texts)


def test_more_fingers_clear_the_same_current():
    """400 um of gate: on 4 fingers (2 drain fingers, 40 mA) a 41 mA net is
    flagged; on 8 fingers (4 drain fingers, 80 mA) it is clean, 81 mA is
    flagged (the channel passes up to 160 mA)."""
    kit = kit_with_em("gan650")
    for nf, amps, n in ((4, 0.041, 1), (8, 0.041, 0), (8, 0.081, 1)):
        dev = generate(kit, "hemte", {"w": 400, "nf": nf})
        lib, _ = _wire_layout(kit, dev, "d", "D")
        res = run_drc(shapes_from_library(lib, kit, "TOP"), kit, rules=[EM], ctx=ctx({"D": amps}))
        assert len(device_markers(res)) == n, (nf, amps)


def test_saturated_channel_bounds_the_terminal_current():
    """A 40 um single-finger e-mode HEMT on a 50 mA supply: its one drain
    finger is rated 20 mA, but its channel passes at most 16 mA (400 mA/mm):
    clean.  A 60 um one (24 mA) is flagged, the message saying both."""
    kit = kit_with_em("gan650")
    for w, n in ((40, 0), (60, 1)):
        dev = generate(kit, "hemte", {"w": w, "nf": 1})
        lib, _ = _wire_layout(kit, dev, "d", "VDD")
        res = run_drc(shapes_from_library(lib, kit, "TOP"), kit, rules=[EM], ctx=ctx({"VDD": 0.05}))
        assert len(device_markers(res)) == n, w
    (v,) = device_markers(res)
    assert "the net carries 50 mA, of which the device conducts at most 24 mA" in v.message


def test_capacitor_terminal_not_flagged_at_high_current():
    kit = kit_with_em("gan650")
    dev = generate(kit, "mim", {})
    lib, _ = _wire_layout(kit, dev, "p", "VD")
    res = run_drc(shapes_from_library(lib, kit, "TOP"), kit, rules=[EM], ctx=ctx({"VD": 3.0}))
    assert device_markers(res) == []


def test_hot_die_flags_what_is_clean_at_the_reference():
    kit = kit_with_em("gan650")
    dev = generate(kit, "hemte", {"w": 200, "nf": 4})
    lib, _ = _wire_layout(kit, dev, "d", "D")
    shapes = shapes_from_library(lib, kit, "TOP")
    assert device_markers(run_drc(shapes, kit, rules=[EM], ctx=ctx({"D": 0.035}, 125.0))) == []
    (v,) = device_markers(run_drc(shapes, kit, rules=[EM], ctx=ctx({"D": 0.035}, 175.0)))
    assert "at 175 C" in v.message


def test_sic_driver_terminals_rated_in_its_own_rules():
    """sic1200 ships current_density rules: the DRC stage checks device
    terminals with them (a 1-finger nmos drain, 3 um of MET1 at 2 mA/um:
    6 mA)."""
    kit = pdks.load("sic1200")
    dev = generate(kit, "nmos", {})
    assert dev.rating("d").amps(kit) == pytest.approx(0.006)
    lib, _ = _wire_layout(kit, dev, "d", "OUT")
    rules = [r for r in kit.rules if r.kind == "current_density"]
    shapes = shapes_from_library(lib, kit, "TOP")
    assert device_markers(run_drc(shapes, kit, rules=rules, ctx=ctx({"OUT": 0.0059}))) == []
    assert len(device_markers(run_drc(shapes, kit, rules=rules, ctx=ctx({"OUT": 0.0061})))) == 1


# ---------------------------------------------------------------- bad input --


def test_unreadable_or_foreign_device_cells_are_noted_not_passed():
    """A cell named like a device whose parameters cannot be read, one whose
    parameters the generator refuses and one of another size than the kit
    generates: each noted as not rated (and nothing crashes)."""
    kit = kit_with_em("gan650")
    dev = generate(kit, "hemte", {"w": 200, "nf": 4})
    cases = {
        "hemte_zz3": "cannot be read from its name",
        "hemte_l1_nf4_w1": "refuses its parameters",  # w = 1 um is below the 10 um minimum
        cell_name("hemte", {"l": 1.0, "nf": 4, "w": 300.0, "lgd": 15.0, "lfp": 0.0, "lgfp": 0.0}): "is not what gan650",
    }
    for name, why in cases.items():
        lib, _ = _wire_layout(kit, dev, "d", "D", cell=dev.cell.copy(name))
        res = run_drc(shapes_from_library(lib, kit, "TOP"), kit, rules=[EM], ctx=ctx({"D": 5.0}))
        assert device_markers(res) == []
        assert any(n.startswith(f"device cell {name}: terminal ratings not checked") and why in n for n in res.notes), (name, res.notes)


def test_isat_must_be_positive(tmp_path):
    src = pdks.load("gan650").path.read_text()
    bad = src.replace("isat_ma_per_mm = 400.0", "isat_ma_per_mm = -4.0", 1)
    assert bad != src
    f = tmp_path / "pdk.toml"
    f.write_text(bad)
    with pytest.raises(PDKError) as e:
        load_pdk_file(f)
    assert any(re.search(r"devices\.hemte\.isat_ma_per_mm: must be positive, got -4", p) for p in e.value.problems)


def test_cli_drc_flags_the_terminal(tmp_path):
    """`pilotflow drc` on a GDS: the device cell is found by its name, the
    terminal over its rating is a marker of the kit's MET1 current_density
    rule (exit 1) whose JSON entry carries the message; at 39 mA exit 0."""
    from click.testing import CliRunner

    from flow.cli import cli

    kit = pdks.load("gan650")
    dev = generate(kit, "hemte", {"w": 200, "nf": 4})
    lib, _ = _wire_layout(kit, dev, "d", "D", half=10.0)  # a 20 um wire: no density window over 80 %
    gds = tmp_path / "t.gds"
    lib.write_gds(str(gds))
    for amps, code in ((0.041, 1), (0.039, 0)):
        nc = tmp_path / "nc.toml"
        nc.write_text(f'[[net_class]]\nnets = ["D"]\ncurrent = {amps}\n')
        out = tmp_path / "d.json"
        r = CliRunner().invoke(cli, ["drc", str(gds), "--pdk", "gan650", "--net-classes", str(nc), "--json", str(out)])
        assert r.exit_code == code, r.output
        markers = [m for x in json.loads(out.read_text())["rules"] for m in x.get("markers", [])]
        msgs = [m["message"] for m in markers if m.get("message")]
        assert len(msgs) == (1 if code else 0), markers
    assert "terminal ratings not checked" not in r.output
