"""gan650 device generators, checked against KLayout as the geometry oracle.

Every generated cell must be DRC-clean under every rule of the kit (also next
to a copy of itself one placer halo away), put its bbox at the origin, expose
MET1 pins of at least 10 x 10 um per terminal, draw no VIA1/MET2 unless it is
a pad, and have the electrical size its parameters ask for.
"""

from __future__ import annotations

import math

import klayout.db as kdb
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pdk
from flow.errors import InputError
from pdk.base import DeviceCell, generate
from pdk.gan650 import devices as dev
from kit_oracle import kit_drc, kit_regions, kit_two_copies

KIT = pdk.load("gan650")
DBU = KIT.dbu_um
HALO = KIT.dbu(dev.PLACER_HALO_UM)
PIN_MIN = KIT.dbu(dev.PIN_MIN_UM)
HYP = settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


def check_common(model: str, dc: DeviceCell) -> dict[str, kdb.Region]:
    """Checks every device must pass; returns the merged regions."""
    regs = kit_regions(KIT, dc)
    assert kit_drc(KIT, regs) == []
    for horizontal in (True, False):
        for mirror in (False, True):
            assert kit_drc(KIT, kit_two_copies(regs, dc, horizontal, mirror, HALO)) == [], (horizontal, mirror)
    # bbox at the origin, and it is the cell's real bbox
    assert dc.bbox[:2] == (0, 0)
    (x0, y0), (x1, y1) = dc.cell.bounding_box()
    assert (round(x0 / DBU), round(y0 / DBU), round(x1 / DBU), round(y1 / DBU)) == dc.bbox
    # pins
    d = KIT.device(model)
    assert {p.terminal for p in dc.pins} == set(d.terminals)
    for p in dc.pins:
        assert p.rect[2] - p.rect[0] >= PIN_MIN and p.rect[3] - p.rect[1] >= PIN_MIN, p
        assert regs[p.layer].interacting(kdb.Region(kdb.Box(*p.rect))).count() == 1
        assert (kdb.Region(kdb.Box(*p.rect)) - regs[p.layer]).is_empty()
    if d.kind != "pad":
        assert all(p.layer == "MET1" for p in dc.pins)
        assert regs["VIA1"].is_empty() and regs["MET2"].is_empty()
    # every MET1/MET2 shape is tagged with a terminal of the device
    tagged = {(c.layer, c.rect) for c in dc.conductors}
    assert {c.terminal for c in dc.conductors} <= set(d.terminals)
    for layer in ("MET1", "MET2"):
        gds = KIT.layers[layer].gds
        for poly in dc.cell.get_polygons(layer=gds[0], datatype=gds[1]):
            (a, b), (c, e) = poly.bounding_box()
            rect = (round(a / DBU), round(b / DBU), round(c / DBU), round(e / DBU))
            assert (layer, rect) in tagged, f"untagged {layer} {rect}"
    # each MET1 island carries the pins of one terminal only
    for island in regs["MET1"].each():
        isl = kdb.Region(island)
        terms = {p.terminal for p in dc.pins if p.layer == "MET1" and not (isl & kdb.Region(kdb.Box(*p.rect))).is_empty()}
        assert len(terms) <= 1, f"MET1 island shorts terminals {terms}"
    return regs


def polys(region: kdb.Region) -> list[kdb.Box]:
    return sorted((p.bbox() for p in region.each()), key=lambda b: (b.left, b.bottom))


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
    if model == "hemte":
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
        assert len(hit) == 1
        nets.append(hit.pop())
    assert nets == ["s" if i % 2 == 0 else "d" for i in range(nf + 1)]
    # exactly three MET1 islands: source, drain, gate
    assert regs["MET1"].count() == 3


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
