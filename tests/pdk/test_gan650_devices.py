"""gan650 device generators, checked against KLayout as the geometry oracle.

Every generated cell must be DRC-clean under every rule of the kit, by
KLayout and by pilotflow's own DRC (also next to a copy of itself one placer
halo away), put its bbox at the origin, expose MET1 pins of at least
10 x 10 um per terminal, draw no VIA1/MET2 unless it is a pad, a MIM
capacitor or a seal ring, and have the electrical size its parameters ask
for.  Parameters are sampled at the corners of their ranges and at random
(hypothesis).
"""

from __future__ import annotations

import math

import klayout.db as kdb
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gdstk

import pdk
from flow.drc.core import IMPLS
from flow.drc.engine import run_drc
from flow.errors import InputError
from flow.geometry.gdsio import shapes_from_library
from pdk.base import DeviceCell, generate
from pdk.gan650 import devices as dev
from kit_oracle import kit_cell_basics, kit_drc, kit_polys, kit_regions, kit_two_copies

KIT = pdk.load("gan650")
DBU = KIT.dbu_um
HALO = KIT.dbu(dev.PLACER_HALO_UM)
PIN_MIN = KIT.dbu(dev.PIN_MIN_UM)
HYP = settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


#: Devices that may draw VIA1 and MET2 (tagged with their terminal).
STACKED = {"pad", "mim", "sealring"}


def pilotflow_drc(dc: DeviceCell, copies: bool = True) -> list[str]:
    """pilotflow's DRC on the cell, and on the cell with a mirrored copy one
    halo to the right and another one halo above."""
    lib = gdstk.Library(unit=1e-6, precision=DBU * 1e-6)
    top = gdstk.Cell("TOP")
    u = DBU
    top.add(gdstk.Reference(dc.cell))
    if copies:
        top.add(gdstk.Reference(dc.cell, (2 * dc.width * u + HALO * u, 0), x_reflection=True, rotation=math.pi))
        top.add(gdstk.Reference(dc.cell, (0, (dc.height + HALO) * u)))
    lib.add(top, dc.cell)
    # chip-level kinds (density over die windows) are not applied to a
    # device alone, as in `pdk check`
    rules = [r for r in KIT.rules if not IMPLS[r.kind].chip_level]
    res = run_drc(shapes_from_library(lib, KIT, "TOP"), KIT, rules=rules)
    assert not res.not_checked, res.not_checked
    return [f"{v.rule_id} {v.marker}" for v in res.violations]


def check_common(model: str, dc: DeviceCell) -> dict[str, kdb.Region]:
    """Checks every device must pass; returns the merged regions."""
    regs = kit_regions(KIT, dc)
    assert kit_drc(KIT, regs) == []
    for horizontal in (True, False):
        for mirror in (False, True):
            assert kit_drc(KIT, kit_two_copies(regs, dc, horizontal, mirror, HALO)) == [], (horizontal, mirror)
    assert pilotflow_drc(dc, copies=dc.width * dc.height < 4e11) == []
    kit_cell_basics(KIT, model, dc, regs, PIN_MIN)
    d = KIT.device(model)
    for p in dc.pins:
        assert regs[p.layer].interacting(kdb.Region(kdb.Box(*p.rect))).count() == 1
    if d.kind != "pad":
        assert all(p.layer == "MET1" for p in dc.pins)
    if model not in STACKED and not dc.params.get("wm2"):
        assert regs["VIA1"].is_empty() and regs["MET2"].is_empty()
    # each MET1 island carries the pins of one terminal only, once the
    # net-tie necks (NETTIE) are cut out
    for island in (regs["MET1"] - regs["NETTIE"]).each():
        isl = kdb.Region(island)
        terms = {p.terminal for p in dc.pins if p.layer == "MET1" and not (isl & kdb.Region(kdb.Box(*p.rect))).is_empty()}
        assert len(terms) <= 1, f"MET1 island shorts terminals {terms}"
    return regs


def polys(region: kdb.Region) -> list[kdb.Box]:
    return kit_polys(region)


# ---------------------------------------------------------------------------
# HEMTs
# ---------------------------------------------------------------------------


def check_hemt(model: str, params: dict) -> None:
    dc = generate(KIT, model, params)
    regs = check_common(model, dc)
    full = {n: p.default for n, p in KIT.device(model).params.items()} | params
    w, nf, l = full["w"], int(full["nf"]), full["l"]
    # gate width: the gate fingers over the mesa
    chan = polys(regs["GATE"] & regs["MESA"])
    assert len(chan) == nf
    assert abs(sum(b.height() for b in chan) - KIT.dbu(w)) <= nf
    assert all(b.width() == KIT.dbu(l) for b in chan)
    # the gate crosses the mesa completely: the mesa minus the gates splits into nf + 1 pieces
    assert (regs["MESA"] - regs["GATE"]).count() == nf + 1
    # one GATE net (fingers + bus + pad), contacted only at the gate pad
    assert regs["GATE"].count() == 1
    (gpin,) = dc.pins_of("g")
    assert ((regs["CONT"] & regs["GATE"]) - kdb.Region(kdb.Box(*gpin.rect))).is_empty()
    assert not (regs["CONT"] & regs["GATE"]).is_empty()
    # PGAN: under every gate finger for e-mode, absent for d-mode
    if KIT.device(model).fixed["mode"] == "e":
        assert ((regs["GATE"] & regs["MESA"]) - regs["PGAN"]).is_empty()
    else:
        assert regs["PGAN"].is_empty()
    # ohmic fingers alternate s, d, s, d ... through CONT + MET1
    ohmics = polys(regs["OHMIC"])
    assert len(ohmics) == nf + 1
    nets = []
    for ob in ohmics:
        o = kdb.Region(ob) & regs["CONT"]
        assert not o.is_empty()
        hit = {p.terminal for p in dc.pins if not (regs["MET1"].interacting(o) & kdb.Region(kdb.Box(*p.rect))).is_empty()}
        hit.discard("ks")  # tied to s through the NETTIE neck, see check_kelvin
        assert len(hit) == 1
        nets.append(hit.pop())
    assert nets == ["s" if i % 2 == 0 else "d" for i in range(nf + 1)]
    # exactly three MET1 islands: source (with the Kelvin pin), drain, gate
    assert regs["MET1"].count() == 3
    check_field_plates(dc, regs, full)
    check_kelvin(model, dc, regs)


def check_field_plates(dc: DeviceCell, regs: dict[str, kdb.Region], full: dict) -> None:
    nf, lgd = int(full["nf"]), full["lgd"]
    lfp, lgfp = full.get("lfp", 0.0), full.get("lgfp", 0.0)
    ohm = polys(regs["OHMIC"])
    drains = kdb.Region()
    sources = kdb.Region()
    for i, b in enumerate(ohm):
        (sources if i % 2 == 0 else drains).insert(b)
    if lgfp:
        gfp = regs["GFP"]
        assert gfp.count() == nf
        # every plate sits on a gate (conducts to GATE) and reaches lgfp beyond it toward the drain
        assert gfp.not_interacting(regs["GATE"]).is_empty()
        assert all(b.width() == KIT.dbu(full["l"]) + KIT.dbu(lgfp) for b in polys(gfp))
        # plate-to-drain distance is lgd - lgfp (within a dbu of snapping)
        near = gfp.separation_check(drains, KIT.dbu(lgd - lgfp) - 1)
        assert near.is_empty()
        assert not gfp.separation_check(drains, KIT.dbu(lgd - lgfp) + 2).is_empty()
    else:
        assert regs["GFP"].is_empty()
    if lfp:
        sfp = regs["SFP"]
        assert sfp.count() == nf // 2 + 1
        # each plate is contacted through a source finger's CONT, never over a drain
        for poly in sfp.each():
            one = kdb.Region(poly)
            assert not (one & regs["CONT"] & sources).is_empty()
        assert (sfp & drains).is_empty()
        assert sfp.separation_check(drains, KIT.dbu(dev.FP_DRAIN_UM)).is_empty()
        # it covers every gate over the mesa and reaches lfp beyond it
        assert ((regs["GATE"] & regs["MESA"]) - sfp).is_empty()
        assert not sfp.separation_check(drains, KIT.dbu(lgd - lfp) + 2).is_empty()
        assert sfp.separation_check(drains, KIT.dbu(lgd - lfp) - 1).is_empty()
    else:
        assert regs["SFP"].is_empty()


def check_kelvin(model: str, dc: DeviceCell, regs: dict[str, kdb.Region]) -> None:
    terms = KIT.device(model).terminals
    if "ks" not in terms:
        assert regs["NETTIE"].is_empty() and not dc.pins_of("ks")
        return
    (ks,) = dc.pins_of("ks")
    (s,) = dc.pins_of("s")
    ksr, sr = kdb.Region(kdb.Box(*ks.rect)), kdb.Region(kdb.Box(*s.rect))
    # as drawn, ks is tied to s (one MET1 island) ...
    assert regs["MET1"].interacting(ksr).interacting(sr).count() == 1
    # ... only through the neck under NETTIE: cut it out and they are two nets
    cut = regs["MET1"] - regs["NETTIE"]
    assert cut.interacting(ksr).interacting(sr).is_empty()
    assert regs["NETTIE"].count() == 1 and (regs["NETTIE"] - regs["MET1"]).is_empty()
    # the router sees the neck as ks metal, the bus as s metal
    neck = [c for c in dc.conductors if c.layer == "MET1" and not (kdb.Region(kdb.Box(*c.rect)) & regs["NETTIE"]).is_empty()]
    assert neck and all(c.terminal == "ks" for c in neck)


HEMT_CORNERS = [
    (model, {"w": w, "nf": nf, "l": l, "lgd": lgd})
    for model in ("hemte", "hemtd")
    for w, nf in ((10, 1), (10, 2), (12, 3), (800, 200), (100000, 1), (100000, 200))
    for l in (1.0, 5.0)
    for lgd in (2.0, 30.0)
]


@pytest.mark.parametrize(("model", "params"), HEMT_CORNERS, ids=lambda v: str(v))
def test_hemt_corners(model, params):
    check_hemt(model, params)


def test_hemt_defaults():
    e = generate(KIT, "hemte")
    d = generate(KIT, "hemtd")
    assert e.params["lgd"] == 15.0 and d.params["lgd"] == 3.0
    check_hemt("hemte", {})
    check_hemt("hemtd", {})


@HYP
@given(
    model=st.sampled_from(["hemte", "hemtd"]),
    w=st.floats(10, 100000),
    nf=st.integers(1, 200),
    l=st.floats(1, 5),
    lgd=st.floats(2, 30),
)
def test_hemt_random(model, w, nf, l, lgd):
    nf = max(1, min(nf, int(w // 4)))
    check_hemt(model, {"w": round(w, 3), "nf": nf, "l": round(l, 3), "lgd": round(lgd, 3)})


FP_CORNERS = [
    (model, {"w": w, "nf": nf, "lgd": lgd, "lfp": lfp, "lgfp": lgfp})
    for model in ("hemte", "hemtek")
    for w, nf in ((10, 1), (12, 3), (800, 200))
    for lgd, lfp, lgfp in ((4.0, 2.0, 2.5), (30.0, 28.0, 28.5), (15.0, 0.0, 13.5), (15.0, 13.0, 0.0), (4.0, 0.0, 0.0))
]


@pytest.mark.parametrize(("model", "params"), FP_CORNERS, ids=lambda v: str(v))
def test_hemt_field_plate_corners(model, params):
    check_hemt(model, params)


def test_hemtek_defaults():
    dc = generate(KIT, "hemtek")
    assert [p.terminal for p in dc.pins].count("ks") == 1
    check_hemt("hemtek", {})


@HYP
@given(
    model=st.sampled_from(["hemte", "hemtek"]),
    w=st.floats(10, 100000),
    nf=st.integers(1, 200),
    lgd=st.floats(4, 30),
    lfp=st.floats(0, 1),
    lgfp=st.floats(0, 1),
)
def test_hemt_field_plates_random(model, w, nf, lgd, lfp, lgfp):
    nf = max(1, min(nf, int(w // 4)))
    lgd = round(lgd, 3)
    # lfp, lgfp as fractions of what the drift region allows (0 stays 0)
    lfp = round(lfp * (lgd - dev.FP_DRAIN_UM), 3)
    lgfp = round(lgfp * (lgd - KIT.min_spacing("GFP", "OHMIC")), 3)
    check_hemt(model, {"w": round(w, 3), "nf": nf, "lgd": lgd, "lfp": lfp, "lgfp": lgfp})


def check_straps(model: str, params: dict) -> None:
    """A HEMT with MET2 straps (wm2): DRC-clean (KLayout and pilotflow, as
    every device); every strap lies over one finger's MET1 of its own
    terminal with VIA1 along it; the drain rating is the MET1 fingers and
    the MET2 straps side by side, as drawn."""
    check_hemt(model, params)
    dc = generate(KIT, model, params)
    regs = kit_regions(KIT, dc)
    m1 = {t: kdb.Region([kdb.Box(*c.rect) for c in dc.conductors if c.terminal == t and c.layer == "MET1"]) for t in ("s", "d")}
    straps = polys(regs["MET2"])
    nf = int(params["nf"])
    assert len(straps) == nf + 1
    for b in straps:
        under = {t for t in ("s", "d") if not (m1[t] & kdb.Region(b)).is_empty()}
        assert len(under) == 1, under
        assert not (regs["VIA1"] & kdb.Region(b)).is_empty()
    assert (regs["VIA1"] - (regs["MET1"] & regs["MET2"])).is_empty()
    ws = KIT.dbu(params["wm2"])
    assert all(b.width() == ws for b in straps)
    (cap,) = [c for c in dc.rating("d").paths if "straps" in c.what]
    nd = (nf + 1) // 2  # ohmic fingers 1, 3, 5 ... of nf + 1 are drains
    fingers_um = nd * dev.OHMIC_FINGER_UM
    expect = fingers_um * KIT.layer("MET1").jmax_ma_per_um + nd * KIT.um(ws) * KIT.layer("MET2").jmax_ma_per_um
    assert cap.ma == pytest.approx(expect)


STRAP_CORNERS = [
    (model, {"w": w, "nf": nf, "lgd": lgd, "wm2": wm2, "lfp": 0.0, "lgfp": 0.0})
    for model in ("hemte", "hemtek")
    for w, nf in ((10, 1), (800, 7), (6000, 20))
    for lgd, wm2 in ((15.0, 3.0), (15.0, 8.5), (4.0, 3.0), (30.0, 20.0))
]


@pytest.mark.parametrize(("model", "params"), STRAP_CORNERS, ids=lambda v: str(v))
def test_hemt_strap_corners(model, params):
    check_straps(model, params)


@HYP
@given(
    model=st.sampled_from(["hemte", "hemtek"]),
    w=st.floats(10, 20000),
    nf=st.integers(1, 60),
    lgd=st.floats(4, 30),
    frac=st.floats(0, 1),
)
def test_hemt_straps_random(model, w, nf, lgd, frac):
    nf = max(1, min(nf, int(w // 4)))
    lgd = round(lgd, 3)
    pitch = dev.OHMIC_FINGER_UM + dev.LGS_UM + 1.0 + lgd
    top = min(pitch - max(3.0, dev.drain_clearance(KIT, lgd)), 0.6 * pitch)
    if top < 3.0:
        return
    wm2 = round(3.0 + frac * (top - 3.0) - 0.0005, 3)
    check_straps(model, {"w": round(w, 3), "nf": nf, "lgd": lgd, "wm2": max(3.0, wm2), "lfp": 0.0, "lgfp": 0.0})


def test_hemt_strap_too_wide_or_narrow():
    with pytest.raises(InputError, match=r"wm2=12 um leaves neighbouring straps less than 13 um apart .* use wm2 <= 8\.5 um"):
        generate(KIT, "hemtek", {"wm2": 12})
    with pytest.raises(InputError, match=r"wm2=2 um is below the MET2 width rule"):
        generate(KIT, "hemte", {"wm2": 2})


def test_straps_raise_the_power_hemt_rating():
    """The 6 mm, 20-finger hemtek: 200 mA through its ten 4 um MET1 drain
    fingers alone; with 8.5 um MET2 straps 1.9 A; with 40 fingers 3.8 A."""
    amps = [generate(KIT, "hemtek", p).rating("d").amps(KIT)
            for p in ({}, {"wm2": 8.5}, {"wm2": 8.5, "nf": 40})]
    assert amps == pytest.approx([0.2, 1.9, 3.8])


def test_hemt_field_plate_too_long():
    with pytest.raises(InputError, match=r"lfp=14 um leaves less than 2 um to the drain; use lfp <= lgd - 2 = 13 um"):
        generate(KIT, "hemte", {"lgd": 15, "lfp": 14})
    with pytest.raises(InputError, match=r"lgfp=14 um .*GFP.S.OHMIC.*use lgfp <= 13.5 um"):
        generate(KIT, "hemtek", {"lgd": 15, "lgfp": 14})


def test_hemt_100mm_gate():
    """100 mm of gate as 100 fingers of 1 mm: the right gate width, DRC-clean."""
    check_hemt("hemtek", {"w": 100000, "nf": 100})


def test_hemt_finger_too_narrow():
    with pytest.raises(InputError, match=r"finger width .* use nf <= 2"):
        generate(KIT, "hemte", {"w": 10, "nf": 200})


def test_hemt_big_device():
    dc = generate(KIT, "hemte", {"w": 100000, "nf": 200})
    assert dc.width > 0 and len(dc.pins) == 3


# ---------------------------------------------------------------------------
# 2DEG resistor
# ---------------------------------------------------------------------------


def check_res(params: dict) -> None:
    dc = generate(KIT, "r2deg", params)
    regs = check_common("r2deg", dc)
    full = {n: p.default for n, p in KIT.device("r2deg").params.items()} | params
    r, w = full["r"], full["w"]
    wd = KIT.dbu(w)
    rsh = KIT.layers["MESA"].sheet_ohm
    body = regs["RESMK"]
    assert body.count() == 1 and regs["MESA"].count() == 1
    assert (body - regs["MESA"]).is_empty() and (body & regs["OHMIC"]).is_empty()
    assert len(polys(regs["OHMIC"])) == 2
    # both contacts touch the body ends
    assert regs["OHMIC"].interacting(body.sized(1)).count() == 2
    (poly,) = list(body.each())
    nvert = poly.num_points()
    turns = (nvert - 4) // 2
    squares = poly.area() / wd**2 - turns * (1 - dev.CORNER_SQUARES)
    assert squares * rsh == pytest.approx(r, rel=1e-4)
    length = r / rsh * w
    if length <= dev.RES_RUN_MAX_UM:
        assert nvert == 4
        b = poly.bbox()
        assert abs(b.width() - KIT.dbu(length)) <= 1  # the body runs along x
        assert b.height() == wd
    else:
        assert turns >= 2
        # every straight run is at most RES_RUN_MAX_UM long
        assert body.bbox().width() <= KIT.dbu(dev.RES_RUN_MAX_UM) + 2 * wd
    assert regs["MET1"].count() == 2


RES_CORNERS = [{"r": r, "w": w} for r in (300.0, 2000.0, 16000.0, 16100.0, 200000.0) for w in (4.0, 10.0, 50.0)] + [
    {"r": 100.0, "w": 12.0},
    {"r": 100.0, "w": 50.0},
    {"r": 200.0, "w": 20.0},
    {"r": 10000.0, "w": 4.0},
]


@pytest.mark.parametrize("params", RES_CORNERS, ids=lambda v: str(v))
def test_resistor_corners(params):
    check_res(params)


@HYP
@given(r=st.floats(100, 200000), w=st.floats(4, 50))
def test_resistor_random(r, w):
    r, w = round(r, 3), round(w, 3)
    if r / KIT.layers["MESA"].sheet_ohm * w < 3.0:
        with pytest.raises(InputError, match="ohmic spacing"):
            generate(KIT, "r2deg", {"r": r, "w": w})
    else:
        check_res({"r": r, "w": w})


def test_resistor_too_short():
    with pytest.raises(InputError, match=r"use w >= 12"):
        generate(KIT, "r2deg", {"r": 100, "w": 4})


def test_resistor_layout_formula():
    runs, run, gap = dev.resistor_layout(KIT, 200000, 50)
    w = KIT.dbu(50)
    sq = runs * run / w + (runs - 1) * (2 * dev.CORNER_SQUARES + gap / w)
    assert sq * KIT.layers["MESA"].sheet_ohm == pytest.approx(200000, rel=1e-6)
    assert run <= KIT.dbu(dev.RES_RUN_MAX_UM)
    assert dev.resistor_layout(KIT, 2000, 10) == (1, KIT.dbu(50), KIT.dbu(8))


# ---------------------------------------------------------------------------
# Schottky barrier diode
# ---------------------------------------------------------------------------


def check_sbd(params: dict) -> None:
    dc = generate(KIT, "sbd", params)
    regs = check_common("sbd", dc)
    full = {n: p.default for n, p in KIT.device("sbd").params.items()} | params
    w, nf, lac = full["w"], int(full["nf"]), full["lac"]
    anodes = polys(regs["ANODE"])
    assert len(anodes) == nf
    # the anode width is the sum of the finger lengths
    assert abs(sum(b.height() for b in anodes) - KIT.dbu(w)) <= nf
    assert len(polys(regs["OHMIC"])) == nf + 1 and regs["MESA"].count() == 1
    # anode-to-cathode distance exactly lac on both sides of every anode
    ohm = regs["OHMIC"]
    assert regs["ANODE"].separation_check(ohm, KIT.dbu(lac)).is_empty()
    assert regs["ANODE"].separation_check(ohm, KIT.dbu(lac) + 1).count() == 2 * nf
    # anodes contacted (CONT + MET1) to pin a, cathodes to pin k, two MET1 islands
    assert regs["MET1"].count() == 2
    (a,) = dc.pins_of("a")
    (k,) = dc.pins_of("k")
    a_isl = regs["MET1"].interacting(kdb.Region(kdb.Box(*a.rect)))
    k_isl = regs["MET1"].interacting(kdb.Region(kdb.Box(*k.rect)))
    assert (regs["ANODE"] - regs["ANODE"].interacting(regs["CONT"] & a_isl)).is_empty()
    assert (ohm - ohm.interacting(regs["CONT"] & k_isl)).is_empty()
    assert (regs["ANODE"] & regs["CONT"] & k_isl).is_empty() and (ohm & regs["CONT"] & a_isl).is_empty()


SBD_CORNERS = [{"w": w, "nf": nf, "lac": lac} for w, nf in ((8, 1), (8, 2), (400, 100), (50000, 1), (50000, 100)) for lac in (3.0, 30.0)]


@pytest.mark.parametrize("params", SBD_CORNERS, ids=lambda v: str(v))
def test_sbd_corners(params):
    check_sbd(params)


@HYP
@given(w=st.floats(8, 50000), nf=st.integers(1, 100), lac=st.floats(3, 30))
def test_sbd_random(w, nf, lac):
    nf = max(1, min(nf, int(w // 4)))
    check_sbd({"w": round(w, 3), "nf": nf, "lac": round(lac, 3)})


def test_sbd_finger_too_narrow():
    with pytest.raises(InputError, match=r"finger width w/nf = 8/3 .* use nf <= 2"):
        generate(KIT, "sbd", {"w": 8, "nf": 3})


# ---------------------------------------------------------------------------
# thin-film resistor
# ---------------------------------------------------------------------------


def check_rtf(params: dict) -> None:
    dc = generate(KIT, "rtf", params)
    regs = check_common("rtf", dc)
    full = {n: p.default for n, p in KIT.device("rtf").params.items()} | params
    r, w = full["r"], full["w"]
    rsh = KIT.layers["TFR"].sheet_ohm
    assert regs["TFR"].count() == 1 and regs["MESA"].is_empty()
    cons = polys(regs["TFRCON"])
    assert len(cons) == 2
    (body,) = polys(regs["TFR"])
    assert body.height() == KIT.dbu(w)
    length = cons[1].left - cons[0].right  # between the inner contact edges
    assert length / KIT.dbu(w) * rsh == pytest.approx(r, rel=1e-3, abs=rsh / KIT.dbu(w))
    # each contact lies under the MET1 pin of its own terminal
    for con, term in zip(cons, ("p", "n")):
        (pin,) = dc.pins_of(term)
        assert (kdb.Region(con) - kdb.Region(kdb.Box(*pin.rect))).is_empty()
    assert regs["MET1"].count() == 2


RTF_CORNERS = [{"r": 10.0, "w": 20.0}, {"r": 10.0, "w": 40.0}, {"r": 350.0, "w": 40.0}, {"r": 37.5, "w": 4.0}, {"r": 3750.0, "w": 4.0}, {"r": 750.0, "w": 20.0}, {"r": 200.0, "w": 6.0}]


@pytest.mark.parametrize("params", RTF_CORNERS, ids=lambda v: str(v))
def test_rtf_corners(params):
    check_rtf(params)


@HYP
@given(r=st.floats(10, 3750), w=st.floats(4, 40))
def test_rtf_random(r, w):
    r, w = round(r, 3), round(w, 3)
    rsh = KIT.layers["TFR"].sheet_ohm
    length = r / rsh * w
    if length < 2.999 or length > 300.001:
        with pytest.raises(InputError, match=r"body, outside \[3, 300\] um; use .* um <= w <= .* um"):
            generate(KIT, "rtf", {"r": r, "w": w})
    else:
        check_rtf({"r": r, "w": w})


# ---------------------------------------------------------------------------
# MIM capacitor
# ---------------------------------------------------------------------------


def check_mim(params: dict) -> None:
    dc = generate(KIT, "mim", params)
    regs = check_common("mim", dc)
    c = params.get("c", KIT.device("mim").params["c"].default)
    # capacitance: MET2 over the thin dielectric over the bottom plate
    area_um2 = (regs["MET2"] & regs["MIM"] & regs["MET1"]).area() * DBU**2
    assert area_um2 * dev.MIM_CPA_FF_UM2 * 1e-15 == pytest.approx(c, rel=1e-3)
    assert regs["MIM"].count() == 1 and regs["MET2"].count() == 1 and regs["MET1"].count() == 2
    (n,) = dc.pins_of("n")
    (pp,) = dc.pins_of("p")
    bottom = regs["MET1"].interacting(regs["MIM"])
    assert not bottom.interacting(kdb.Region(kdb.Box(*n.rect))).is_empty()
    # the top plate reaches pin p only through VIA1, away from the dielectric
    vias = regs["VIA1"]
    assert not vias.is_empty() and (vias - kdb.Region(kdb.Box(*pp.rect))).is_empty()
    assert (vias & bottom).is_empty()


@pytest.mark.parametrize("c", [1e-13, 4.7e-13, 1e-12, 1e-11, 5e-11])
def test_mim_corners(c):
    check_mim({"c": c})


@HYP
@given(c=st.floats(1e-13, 5e-11))
def test_mim_random(c):
    check_mim({"c": float(f"{c:.6g}")})


# ---------------------------------------------------------------------------
# seal ring
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [{}, {"w": 100, "h": 100, "width": 10}, {"w": 105, "h": 20000, "width": 50}, {"w": 3000.5, "h": 2000, "width": 13.3}],
    ids=str,
)
def test_sealring(params):
    dc = generate(KIT, "sealring", params)
    regs = check_common("sealring", dc)
    full = {n: p.default for n, p in KIT.device("sealring").params.items()} | params
    W, H, b = KIT.dbu(full["w"]), KIT.dbu(full["h"]), KIT.dbu(full["width"])
    assert dc.bbox == (0, 0, W, H)
    band = kdb.Region(kdb.Box(0, 0, W, H)) - kdb.Region(kdb.Box(b, b, W - b, H - b))
    for layer in ("MET1", "MET2", "SEAL"):
        assert (regs[layer] ^ band).is_empty(), layer
    # two closed VIA1 trenches: each a ring with one hole
    assert regs["VIA1"].count() == 2
    assert all(p.holes() == 1 for p in regs["VIA1"].each())


def test_sealring_too_small():
    with pytest.raises(InputError, match="leaves no core"):
        generate(KIT, "sealring", {"w": 100, "h": 100, "width": 50})
    # a 4 um opening keeps MET2.S.1 (3 um) but not the MET2.N.1 notch (5 um)
    with pytest.raises(InputError, match="at least 5 um"):
        generate(KIT, "sealring", {"w": 104, "h": 20000, "width": 50})


# ---------------------------------------------------------------------------
# pad
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("size", [50.0, 80.0, 123.457, 200.0])
def test_pad(size):
    dc = generate(KIT, "pad", {"size": size})
    regs = check_common("pad", dc)
    s = KIT.dbu(size)
    assert dc.bbox == (0, 0, s, s)
    assert {p.layer for p in dc.pins} == {"MET1", "MET2"}
    assert all(p.rect == (0, 0, s, s) and p.terminal == "p" for p in dc.pins)
    v = KIT.dbu(KIT.min_width("VIA1"))
    vias = polys(regs["VIA1"])
    assert all(b.width() == v and b.height() == v for b in vias)
    n = math.isqrt(len(vias))
    assert n * n == len(vias)
    pitch = v + KIT.dbu(KIT.min_spacing("VIA1"))
    # densest array that fits the enclosure
    assert (n + 1) * pitch - pitch + v > s - 2 * KIT.dbu(KIT.enclosure("MET2", "VIA1"))
    (opening,) = polys(regs["PASS"])
    assert opening.left >= KIT.dbu(KIT.enclosure("MET2", "PASS"))


# ---------------------------------------------------------------------------
# generate(): caching and parameter errors
# ---------------------------------------------------------------------------


def test_cache_returns_same_object():
    a = generate(KIT, "hemte", {"w": 200, "nf": 4})
    b = generate(KIT, "hemte", {"nf": 4.0, "w": 200.0})
    assert a is b
    assert generate(KIT, "hemte", {"w": 200, "nf": 2}) is not a
    assert generate(KIT, "r2deg", {"r": 5000}) is generate(KIT, "r2deg", {"r": 5000.0})
    assert generate(KIT, "pad") is generate(KIT, "pad", {"size": 80})


@pytest.mark.parametrize(
    ("model", "params", "match"),
    [
        ("hemte", {"w": 5}, "outside"),
        ("hemte", {"nf": 0}, "outside"),
        ("hemte", {"nf": 201}, "outside"),
        ("hemte", {"nf": 2.5}, "integer"),
        ("hemtd", {"lgd": 1.0}, "outside"),
        ("hemtd", {"lgd": 31.0}, "outside"),
        ("hemte", {"l": 0.5}, "outside"),
        ("hemte", {"vth": 1.0}, "no parameter"),
        ("r2deg", {"r": 50}, "outside"),
        ("r2deg", {"w": 60}, "outside"),
        ("pad", {"size": 300}, "outside"),
        ("pad", {"size": float("nan")}, "outside"),
        ("hemtek", {"lfp": -1}, "outside"),
        ("hemtek", {"lgd": 3}, "outside"),
        ("sbd", {"lac": 2}, "outside"),
        ("sbd", {"nf": 101}, "outside"),
        ("rtf", {"w": 3}, "outside"),
        ("rtf", {"r": 5000}, "outside"),
        ("mim", {"c": 1e-10}, "outside"),
        ("sealring", {"width": 5}, "outside"),
    ],
)
def test_range_errors(model, params, match):
    with pytest.raises(InputError, match=match):
        generate(KIT, model, params, where="net.sp:3: ")


def test_models_and_generators_exist():
    for model, d in KIT.devices.items():
        assert callable(getattr(dev, d.generator)), model


def test_oracle_catches_violations():
    """The KLayout checks above are not vacuous: broken variants fail."""
    dc = generate(KIT, "r2deg", {"r": 2000, "w": 10})
    regs = kit_regions(KIT, dc)
    # mesa heads reach the bbox edge: one um less than the halo breaks MESA.S.1
    moved = {k: (r + r.moved(dc.width + HALO - 1000, 0)).merged() for k, r in regs.items()}
    assert any(v.startswith("MESA.S.1") for v in kit_drc(KIT, moved))
    shrunk = dict(regs, MESA=regs["MESA"].sized(-500))
    assert any(v.startswith("MESA.EN.OHMIC") for v in kit_drc(KIT, shrunk))
    thin = dict(regs, CONT=kdb.Region(kdb.Box(0, 0, 1000, 5000)))
    bad = kit_drc(KIT, thin)
    assert any(v.startswith("CONT.W.1") for v in bad) and any(v.startswith("MET1.EN.CONT") for v in bad)
    e = kit_regions(KIT, generate(KIT, "hemte"))
    wide = dict(e, PGAN=e["PGAN"].sized(600, 0))
    assert any(v.startswith("PGAN.S.OHMIC") for v in kit_drc(KIT, wide))


def test_oracle_catches_shape_rule_violations():
    """The KLayout checks of the shape and table kinds are not vacuous either."""
    e = kit_regions(KIT, generate(KIT, "hemte", {"lgfp": 3.0}))
    mesa = e["MESA"].bbox()
    # gates cut back to end 0.5 um past the mesa top edge
    cut = e["GATE"] - kdb.Region(kdb.Box(mesa.left, mesa.top + 500, mesa.right, mesa.top + 10_000))
    assert any(v.startswith("GATE.EXT.MESA") for v in kit_drc(KIT, dict(e, GATE=cut)))
    # a p-GaN island without a gate; a gate field plate off its gate
    stray = e["PGAN"] + kdb.Region(kdb.Box(mesa.left - 20_000, 0, mesa.left - 18_000, 2_000))
    assert any(v.startswith("PGAN.MO.GATE") for v in kit_drc(KIT, dict(e, PGAN=stray)))
    off = e["GFP"].moved(0, 200_000)
    assert any(v.startswith("GFP.MO.GATE") for v in kit_drc(KIT, dict(e, GFP=off)))
    # a 2.5 x 2.5 um MET1 island, a 45-degree MET1 edge
    tiny = e["MET1"] + kdb.Region(kdb.Box(-20_000, -20_000, -17_500, -17_500))
    assert any(v.startswith("MET1.A.1") for v in kit_drc(KIT, dict(e, MET1=tiny)))
    slant = e["MET1"] + kdb.Region(kdb.Polygon([kdb.Point(-40_000, 0), kdb.Point(-30_000, 0), kdb.Point(-40_000, 10_000)]))
    assert any(v.startswith("MET1.ANG.1") for v in kit_drc(KIT, dict(e, MET1=slant)))
    # MET2: a 5 x 5 um hole in a plate; a 30 um wide bar 3.5 um from another
    plate = kdb.Region(kdb.Box(0, 0, 50_000, 50_000)) - kdb.Region(kdb.Box(20_000, 20_000, 25_000, 25_000))
    assert any(v.startswith("MET2.H.1") for v in kit_drc(KIT, dict(e, MET2=plate)))
    bars = kdb.Region(kdb.Box(0, 0, 30_000, 100_000)) + kdb.Region(kdb.Box(33_500, 0, 40_000, 100_000))
    bad = kit_drc(KIT, dict(e, MET2=bars))
    assert any(v.startswith("MET2.WS.1") for v in bad) and not any(v.startswith("MET2.S.1") for v in bad)
    # a pad opening over the mesa
    over = kdb.Region(kdb.Box(mesa.left, mesa.bottom, mesa.left + 20_000, mesa.bottom + 20_000))
    assert any(v.startswith("PASS.NO.MESA") for v in kit_drc(KIT, dict(e, PASS=over)))


def test_hemt_drain_metal_keeps_its_voltage_clearance():
    """With a MET1 voltage_spacing table in the kit, a HEMT's drain metal
    keeps the clearance of its own rating (HEMT_V_PER_UM * lgd) from its
    source, Kelvin and gate metal; without one, only MET1.S.1."""
    import dataclasses

    from pdk.schema import Rule

    table = ((0.0, 3.0), (100.0, 5.0), (300.0, 8.0), (500.0, 13.0))
    vs = Rule("MET1.VS.T", "voltage_spacing", "MET1", 0.0, table=table)
    kit = dataclasses.replace(KIT, rules=KIT.rules + (vs,), version=KIT.version + "+vs")
    for model, params, need in (
        ("hemte", {"w": 6000, "nf": 20, "lgd": 15}, 13.0),
        ("hemtek", {"w": 2000, "nf": 10, "lgd": 15}, 13.0),
        ("hemtek", {"w": 2000, "nf": 11, "lgd": 15}, 13.0),
        ("hemtd", {"w": 20, "lgd": 3}, 5.0),
        ("hemte", {"w": 40, "nf": 2, "lgd": 2}, 3.0),
    ):
        assert dev.drain_clearance(kit, params["lgd"]) == need
        dc = generate(kit, model, params)
        regs = kit_regions(kit, dc)
        (d,) = dc.pins_of("d")
        met1 = regs["MET1"]
        drain = met1.interacting(kdb.Region(kdb.Box(*d.rect)))
        others = met1 - drain
        assert drain.count() == 1 and not others.is_empty()
        assert drain.separation_check(others, kit.dbu(need)).is_empty(), (model, params)
        if need > 5:  # the clearance sets the layout: the drain bus sits exactly at it
            assert not drain.separation_check(others, kit.dbu(need) + 1).is_empty(), (model, params)
        assert kit_drc(KIT, regs) == []  # still clean under the kit's own rules
