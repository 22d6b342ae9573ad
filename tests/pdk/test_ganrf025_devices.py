"""ganrf025 device generators, checked against KLayout as the geometry oracle.

Every generated cell must be DRC-clean under every rule of the kit (also next
to a copy of itself at the largest spacing rule of the layers it draws), put
its bbox at the origin, expose MET1 pins that hold a routing-grid square, draw
no VIA1/MET2 unless it is a pad, keep its terminals apart through the kit's
connectivity, and have the electrical size its parameters ask for.
"""

from __future__ import annotations

import re

import math

import klayout.db as kdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pdk
from flow.errors import InputError
from flow.route import make_grid
from pdk.base import DeviceCell, generate
from pdk.ganrf025 import devices as dev
from kit_oracle import kit_cell_basics, kit_clusters, kit_drc, kit_full, kit_polys, kit_regions, kit_two_copies

KIT = pdk.load("ganrf025")
DBU = KIT.dbu_um
GRID = make_grid(KIT, (0, 0, KIT.dbu(1000), KIT.dbu(1000)))
#: A pin must contain a routing-grid square wherever the grid falls.
PIN_NEED = GRID.pitch + 2 * max(GRID.half)
HYP = settings(max_examples=15, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


def halo_of(regs: dict[str, kdb.Region]) -> int:
    """Largest spacing rule (dbu) among the layers the cell draws."""
    drawn = {k for k, r in regs.items() if not r.is_empty()}
    vals = [
        KIT.dbu(r.value)
        for r in KIT.rules
        if r.kind == "spacing" and r.layer in drawn and (r.other is None or r.other in drawn)
    ]
    return max(vals)


def check_common(model: str, dc: DeviceCell) -> dict[str, kdb.Region]:
    """Checks every device must pass; returns the merged regions."""
    regs = kit_regions(KIT, dc)
    assert kit_drc(KIT, regs) == []
    halo = halo_of(regs)
    for horizontal in (True, False):
        for mirror in (False, True):
            assert kit_drc(KIT, kit_two_copies(regs, dc, horizontal, mirror, halo)) == [], (horizontal, mirror)
    kit_cell_basics(KIT, model, dc, regs, PIN_NEED)
    d = KIT.device(model)
    if d.kind != "pad":
        assert all(p.layer == GRID.metals[0] for p in dc.pins)
        for layer in KIT.routing[1:]:
            assert regs[layer].is_empty() or dc.params.get("wm2"), layer
    # through the kit's connectivity: each terminal one piece, terminals apart
    cl = kit_clusters(KIT, regs, dc)
    assert all(len(ids) == 1 for ids in cl.values()), cl
    ids = [next(iter(v)) for v in cl.values()]
    assert len(set(ids)) == len(ids), f"terminals shorted: {cl}"
    return regs


def polys(region: kdb.Region) -> list[kdb.Box]:
    return kit_polys(region)


def full(model: str, params: dict) -> dict:
    return kit_full(KIT, model, params)


# ---------------------------------------------------------------------------
# HEMT
# ---------------------------------------------------------------------------


def check_hemt(params: dict) -> None:
    dc = generate(KIT, "hemt", params)
    regs = check_common("hemt", dc)
    p = full("hemt", params)
    w, nf, l = p["w"], int(p["nf"]), p["l"]
    chan = polys(regs["GATE"] & regs["MESA"])
    assert len(chan) == nf
    assert abs(sum(b.height() for b in chan) - KIT.dbu(w)) <= nf  # gate width = w
    assert all(b.width() == KIT.dbu(l) for b in chan)
    # the gate head crosses the mesa: nf + 1 separate channels-free pieces
    assert (regs["MESA"] - regs["GHEAD"]).count() == nf + 1
    assert (regs["GATE"] - regs["GHEAD"]).is_empty() and regs["GHEAD"].count() == 1
    (gpin,) = dc.pins_of("g")
    assert ((regs["CONT"] & regs["GHEAD"]) - kdb.Region(kdb.Box(*gpin.rect))).is_empty()
    # field plate: one per finger toward the drain, or none
    if p["lfp"] > 0:
        assert regs["GFP"].count() == nf
        assert (regs["GFP"] & regs["GATE"]).count() == nf
    else:
        assert regs["GFP"].is_empty()
    # source field plate: one per source finger, over its CONT (joined to s)
    # and the heads of its gates, reaching lsfp beyond each head
    if p.get("lsfp", 0) > 0:
        sfp = polys(regs["SFP"])
        assert len(sfp) == nf // 2 + 1
        (spin,) = dc.pins_of("s")
        s_metal = regs["MET1"].interacting(kdb.Region(kdb.Box(*spin.rect)))
        for b in sfp:
            assert not (kdb.Region(b) & regs["CONT"] & s_metal).is_empty()
            heads = kdb.Region(b) & regs["GHEAD"] & regs["MESA"]
            for h in polys(heads):  # each head under the plate: the plate reaches lsfp past it toward the drain
                reach = min(b.right - h.right, h.left - b.left)  # the drain side
                assert abs(reach - KIT.dbu(p["lsfp"])) <= 1, (b, h)
    else:
        assert regs["SFP"].is_empty()
    # ohmic fingers alternate s, d through CONT + MET1
    nets = []
    for ob in polys(regs["OHMIC"]):
        o = kdb.Region(ob) & regs["CONT"]
        hit = {q.terminal for q in dc.pins if not (regs["MET1"].interacting(o) & kdb.Region(kdb.Box(*q.rect))).is_empty()}
        assert len(hit) == 1
        nets.append(hit.pop())
    assert nets == ["s" if i % 2 == 0 else "d" for i in range(nf + 1)]
    # backside vias: only with bsv=1, all under the source metal, off the mesa
    if p["bsv"]:
        assert regs["BSV"].count() >= 1
        (spin,) = dc.pins_of("s")
        s_metal = regs["MET1"].interacting(kdb.Region(kdb.Box(*spin.rect)))
        assert (regs["BSV"] - s_metal).is_empty()
    else:
        assert regs["BSV"].is_empty() and regs["BSVPAD"].is_empty()
    assert regs["MET1"].count() == 3


HEMT_CORNERS = [
    {"w": w, "nf": nf, "l": l, "lgd": lgd, "lfp": lfp, "bsv": bsv, "lsfp": lsfp}
    for w, nf in ((20, 1), (20, 4), (4000, 16), (4000, 1))
    for l, lgd, lfp, lsfp in ((0.25, 2.5, 0.0, 0.0), (0.5, 5.0, 1.0, 1.0), (0.25, 2.5, 1.0, 1.0), (0.25, 2.5, 0.0, 1.0))
    for bsv in (0, 1)
]


@pytest.mark.parametrize("params", HEMT_CORNERS, ids=str)
def test_hemt_corners(params):
    check_hemt(params)


@HYP
@given(
    w=st.floats(20, 4000),
    nf=st.integers(1, 16),
    l=st.floats(0.25, 0.5),
    lgd=st.floats(2.5, 5),
    lfp=st.floats(0, 1),
    bsv=st.integers(0, 1),
    lsfp=st.floats(0, 1),
)
def test_hemt_random(w, nf, l, lgd, lfp, bsv, lsfp):
    nf = max(1, min(nf, int(w // 5)))
    check_hemt({"w": round(w, 3), "nf": nf, "l": round(l, 3), "lgd": round(lgd, 3), "lfp": round(lfp, 3), "bsv": bsv,
                "lsfp": round(lsfp, 3)})


def check_straps(params: dict) -> None:
    """HEMT with MET2 straps (wm2): clean (KLayout oracle, two copies),
    terminals apart; one strap per ohmic finger over its own terminal's
    MET1 with VIA1 along it; the drain rating adds the straps."""
    check_hemt(params)
    dc = generate(KIT, "hemt", params)
    regs = kit_regions(KIT, dc)
    nf = int(params["nf"])
    straps = polys(regs["MET2"])
    assert len(straps) == nf + 1 and all(b.width() == KIT.dbu(params["wm2"]) for b in straps)
    assert (regs["VIA1"] - (regs["MET1"] & regs["MET2"])).is_empty()
    for b in straps:
        assert not (regs["VIA1"] & kdb.Region(b)).is_empty()
    (cap,) = [c for c in dc.rating("d").paths if "straps" in c.what]
    nd = (nf + 1) // 2
    assert cap.ma == pytest.approx(nd * (4.0 * 5.0 + params["wm2"] * 15.0))


@pytest.mark.parametrize("params", [
    {"w": w, "nf": nf, "lgd": lgd, "wm2": wm2, "bsv": bsv, "lfp": 0.8}
    for w, nf in ((20, 1), (400, 8), (4000, 16))
    for lgd, wm2 in ((2.5, 4.0), (3.0, 4.5), (5.0, 6.0))
    for bsv in (0, 1)
], ids=str)
def test_hemt_strap_corners(params):
    check_straps(params)


@HYP
@given(w=st.floats(20, 4000), nf=st.integers(1, 16), lgd=st.floats(2.5, 5), frac=st.floats(0, 1), bsv=st.integers(0, 1))
def test_hemt_straps_random(w, nf, lgd, frac, bsv):
    nf = max(1, min(nf, int(w // 5)))
    p = {"w": round(w, 3), "nf": nf, "lgd": round(lgd, 3), "bsv": bsv, "wm2": 10.0}
    with pytest.raises(InputError, match=r"use wm2 <= ") as e:
        generate(KIT, "hemt", p)
    top = float(re.search(r"use wm2 <= ([0-9.]+) um", str(e.value)).group(1))
    p["wm2"] = max(4.0, math.floor((4.0 + frac * (top - 4.0)) * 1000) / 1000)
    check_straps(p)


def test_straps_raise_the_pa_stage_rating():
    """ganrf025_pa's stages: 8 fingers of 50 / 100 um with 4.5 um straps
    carry 350 mA at each drain (four fingers of 4 um MET1 alone: 80 mA)."""
    for w in (400, 800):
        assert generate(KIT, "hemt", {"w": w, "nf": 8}).rating("d").amps(KIT) == pytest.approx(0.08)
        assert generate(KIT, "hemt", {"w": w, "nf": 8, "wm2": 4.5}).rating("d").amps(KIT) == pytest.approx(0.35)
    with pytest.raises(InputError, match=r"wm2=3 um is below the MET2 width rule / a VIA1 with its enclosure; use wm2 >= 4 um"):
        generate(KIT, "hemt", {"wm2": 3})


def test_hemt_finger_too_narrow():
    with pytest.raises(InputError, match=r"finger width .* use nf <= 4"):
        generate(KIT, "hemt", {"w": 20, "nf": 16})


# ---------------------------------------------------------------------------
# TFR
# ---------------------------------------------------------------------------


def check_tfr(params: dict) -> None:
    dc = generate(KIT, "tfr", params)
    regs = check_common("tfr", dc)
    p = full("tfr", params)
    rsh = KIT.layers["TFR"].sheet_ohm
    body = regs["TFR"] - regs["MET1"]
    (b,) = polys(body)
    assert b.height() == KIT.dbu(p["w"])
    assert b.width() * rsh / b.height() == pytest.approx(p["r"], rel=1e-3, abs=0.05)
    # both MET1 contacts sit on the TFR
    assert regs["MET1"].count() == 2 and regs["MET1"].interacting(regs["TFR"]).count() == 2


@pytest.mark.parametrize("params", [{"r": 10.0, "w": 20.0}, {"r": 25.0, "w": 4.0}, {"r": 500.0, "w": 4.0},
                                    {"r": 10000.0, "w": 2.0}, {"r": 1000.0, "w": 20.0}], ids=str)
def test_tfr_corners(params):
    check_tfr(params)


@HYP
@given(r=st.floats(10, 10000), w=st.floats(2, 20))
def test_tfr_random(r, w):
    r, w = round(r, 3), round(w, 3)
    length = r / KIT.layers["TFR"].sheet_ohm * w
    if 2.0 <= length <= dev.TFR_MAX_UM:
        check_tfr({"r": r, "w": w})
    elif length < 1.99 or length > dev.TFR_MAX_UM + 0.01:
        with pytest.raises(InputError, match=r"use .* <= w <="):
            generate(KIT, "tfr", {"r": r, "w": w})


def test_tfr_too_long():
    with pytest.raises(InputError, match=r"tfr: r=10000 ohm with w=20 um needs a 4000 um body"):
        generate(KIT, "tfr", {"r": 10000, "w": 20})


# ---------------------------------------------------------------------------
# MIM
# ---------------------------------------------------------------------------


def check_mim(c: float) -> None:
    dc = generate(KIT, "mim", {"c": c})
    regs = check_common("mim", dc)
    cpa = KIT.device("mim").fixed["cpa"]
    (npin,) = dc.pins_of("n")
    bottom = regs["MET1"].interacting(kdb.Region(kdb.Box(*npin.rect)))
    area_um2 = (regs["MIMTOP"] & bottom).area() * DBU * DBU
    assert area_um2 * cpa / 1000.0 == pytest.approx(c, rel=1e-3)
    # the dielectric is under every bit of top plate over the bottom plate
    assert ((regs["MIMTOP"] & bottom) - regs["MIM"]).is_empty()
    # the top plate reaches pin p through posts + bridge, never via MET1
    assert (regs["POST"] & bottom).is_empty()
    assert regs["POST"].count() == 2 and regs["BRIDGE"].count() == 1


@pytest.mark.parametrize("c", [0.05, 0.1, 1.0, 7.3, 20.0])
def test_mim_corners(c):
    check_mim(c)


@HYP
@given(c=st.floats(0.05, 20))
def test_mim_random(c):
    check_mim(round(c, 4))


# ---------------------------------------------------------------------------
# spiral inductor
# ---------------------------------------------------------------------------


def check_spiral(params: dict) -> None:
    dc = generate(KIT, "spiral", params)
    regs = check_common("spiral", dc)
    p = full("spiral", params)
    n, w, s, din = int(p["n"]), p["w"], p["s"], p["din"]
    assert regs["IND"].count() == 1  # one continuous trace
    # as many INDV as fit in the trace's w x w end, at each end
    v, sp, en = KIT.min_width("INDV"), KIT.min_spacing("INDV"), KIT.enclosure("IND", "INDV")
    k = max(1, int((KIT.dbu(w) - KIT.dbu(2 * en) + KIT.dbu(sp)) // KIT.dbu(v + sp)))
    assert regs["INDV"].count() == 2 * k * k
    # both ends land on MET1, on different terminals' metal
    assert (regs["INDV"] - regs["MET1"]).is_empty()
    # outer size: din + 2 n w + 2 (n - 1) s, plus the outer lead to pin p
    dout = KIT.dbu(din + 2 * n * w + 2 * (n - 1) * s)
    assert abs(regs["IND"].bbox().height() - dout) <= 2  # odd dbu halve down
    # the outer lead lands on pin p's pad, the inner end on pin n's metal
    for term in ("p", "n"):
        (pin,) = dc.pins_of(term)
        metal = regs["MET1"].interacting(kdb.Region(kdb.Box(*pin.rect)))
        assert (metal & regs["INDV"]).count() == k * k
        # the pads and the underpass are wu wide (or what encloses the vias)
        assert min(pin.rect[2] - pin.rect[0], pin.rect[3] - pin.rect[1]) >= KIT.dbu(p["wu"])
    # rated as one series path: pads / underpass, turns, the vias of one end
    r = dc.rating("p")
    assert dc.rating("n").paths == r.paths and len(r.paths) == 3
    assert r.amps(KIT) == pytest.approx(min(5.0 * KIT.um(pin.rect[2] - pin.rect[0]), 20.0 * w, 100.0 * k * k) / 1000)
    # the trace's squares: turns give n * 4 sides
    length_um = regs["IND"].area() * DBU * DBU / w
    assert length_um > 4 * n * din


SPIRAL_CORNERS = [
    {"n": 1, "w": 8.0, "s": 5.0, "din": 40.0},
    {"n": 8, "w": 30.0, "s": 20.0, "din": 400.0},
    {"n": 8, "w": 8.0, "s": 5.0, "din": 40.0},
    {"n": 1, "w": 30.0, "s": 20.0, "din": 55.0},
    {"n": 3, "w": 13.333, "s": 7.777, "din": 99.99},
    {"n": 2, "w": 15.0, "s": 5.0, "din": 60.0, "wu": 60.0},
    {"n": 3, "w": 30.0, "s": 5.0, "din": 60.0, "wu": 100.0},
    {"n": 1, "w": 8.0, "s": 5.0, "din": 40.0, "wu": 60.0},
]


@pytest.mark.parametrize("params", SPIRAL_CORNERS, ids=str)
def test_spiral_corners(params):
    check_spiral(params)


@HYP
@given(n=st.integers(1, 8), w=st.floats(8, 30), s=st.floats(5, 20), din=st.floats(40, 400), wu=st.floats(12, 100))
def test_spiral_random(n, w, s, din, wu):
    n, w, s, din, wu = n, round(w, 3), round(s, 3), round(din, 3), round(wu, 3)
    if din < w + s + 5:
        with pytest.raises(InputError, match="enlarge din"):
            generate(KIT, "spiral", {"n": n, "w": w, "s": s, "din": din, "wu": wu})
    else:
        try:
            generate(KIT, "spiral", {"n": n, "w": w, "s": s, "din": din, "wu": wu})
        except InputError as e:
            assert re.search(r"wu=[0-9.]+ um does not fit beside the p pad of this spiral; use wu <= [0-9.]+ um", str(e))
            return
        check_spiral({"n": n, "w": w, "s": s, "din": din, "wu": wu})


def test_spiral_underpass_too_wide():
    with pytest.raises(InputError, match=r"wu=100 um does not fit beside the p pad of this spiral; use wu <= 60 um or a larger din"):
        generate(KIT, "spiral", {"n": 1, "w": 8.0, "s": 5.0, "din": 40.0, "wu": 100.0})


def test_spiral_inductance_estimate():
    l1 = dev.spiral_inductance_nh(1, 10, 5, 80)
    l3 = dev.spiral_inductance_nh(3, 10, 5, 80)
    assert 0 < l1 < l3
    # a 3-turn, 10/5 um, 80 um opening spiral is a few nH (modified Wheeler)
    assert 1.0 < l3 < 5.0


# ---------------------------------------------------------------------------
# backside via, pads
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 2, 4])
def test_bsv_ground(n):
    dc = generate(KIT, "bsvgnd", {"n": n})
    regs = check_common("bsvgnd", dc)
    assert regs["BSV"].count() == n and regs["BSVPAD"].count() == n
    v = KIT.dbu(KIT.min_width("BSV"))
    assert all(b.width() == v and b.height() == v for b in polys(regs["BSV"]))
    (g,) = dc.pins
    assert (regs["BSVPAD"] - kdb.Region(kdb.Box(*g.rect))).is_empty()


@pytest.mark.parametrize("size", [60.0, 80.0, 123.457, 150.0])
def test_pad(size):
    dc = generate(KIT, "pad", {"size": size})
    regs = check_common("pad", dc)
    s = KIT.dbu(size)
    assert dc.bbox == (0, 0, s, s)
    assert {p.layer for p in dc.pins} == {"MET1", "MET2"}
    assert regs["PASS"].count() == 1 and not regs["VIA1"].is_empty()


@pytest.mark.parametrize(("size", "pitch"), [(50.0, 100.0), (60.0, 100.0), (80.0, 100.0), (80.0, 200.0), (55.5, 150.0)])
def test_gsg(size, pitch):
    dc = generate(KIT, "gsg", {"size": size, "pitch": pitch})
    regs = check_common("gsg", dc)
    assert regs["PASS"].count() == 3
    opens = polys(regs["PASS"])
    centres = [(b.left + b.right) / 2 for b in opens]
    assert centres[1] - centres[0] == pytest.approx(KIT.dbu(pitch), abs=1)
    # the signal pad is the middle one, the ground pads sit on backside vias
    (sx,) = {(p.rect[0] + p.rect[2]) / 2 for p in dc.pins_of("s")}
    assert sx == pytest.approx(centres[1], abs=1)
    gnd = [kdb.Region(kdb.Box(*p.rect)) for p in dc.pins_of("g") if p.layer == "MET1"]
    assert len(gnd) == 2 and all(not (regs["BSV"] & g).is_empty() for g in gnd)
    assert (regs["BSV"] & kdb.Region(kdb.Box(*dc.pins_of("s")[0].rect))).is_empty()
    # one MET1 island for both grounds, one for the signal
    assert regs["MET1"].count() == 2


# ---------------------------------------------------------------------------
# generate(): caching and parameter errors
# ---------------------------------------------------------------------------


def test_cache_returns_same_object():
    assert generate(KIT, "hemt", {"w": 200, "nf": 4}) is generate(KIT, "hemt", {"nf": 4.0, "w": 200.0})
    assert generate(KIT, "mim", {"c": 1}) is generate(KIT, "mim")


@pytest.mark.parametrize(
    ("model", "params", "match"),
    [
        ("hemt", {"w": 10}, "outside"),
        ("hemt", {"nf": 17}, "outside"),
        ("hemt", {"nf": 2.5}, "integer"),
        ("hemt", {"l": 0.2}, "outside"),
        ("hemt", {"lgd": 2.0}, "outside"),
        ("hemt", {"lfp": 1.5}, "outside"),
        ("hemt", {"bsv": 2}, "outside"),
        ("hemt", {"vth": -3}, "no parameter"),
        ("tfr", {"r": 5}, "outside"),
        ("tfr", {"w": 1}, "outside"),
        ("mim", {"c": 1e-12}, "outside"),
        ("mim", {"c": 25}, "outside"),
        ("spiral", {"n": 0}, "outside"),
        ("spiral", {"w": 5}, "outside"),
        ("spiral", {"din": float("nan")}, "outside"),
        ("bsvgnd", {"n": 5}, "outside"),
        ("pad", {"size": 40}, "outside"),
        ("gsg", {"pitch": 90}, "outside"),
    ],
)
def test_range_errors(model, params, match):
    with pytest.raises(InputError, match=match):
        generate(KIT, model, params, where="pa.sp:3: ")


def test_models_and_generators_exist():
    for model, d in KIT.devices.items():
        assert callable(getattr(dev, d.generator)), model
    assert KIT.pad_model == "pad" and KIT.routing == ("MET1", "VIA1", "MET2")


def test_pin_size_matches_router():
    assert KIT.dbu(dev.PIN_MIN_UM) >= PIN_NEED


def test_oracle_catches_violations():
    """The checks above are not vacuous: broken variants fail."""
    dc = generate(KIT, "hemt", {"bsv": 1})
    regs = kit_regions(KIT, dc)
    halo = halo_of(regs)
    assert halo == KIT.dbu(KIT.min_spacing("BSV"))
    g = generate(KIT, "bsvgnd")
    gregs = kit_regions(KIT, g)
    inset = polys(gregs["BSV"])[0].left  # BSV to the cell edge
    close = {k: (r + r.moved(g.width + halo - 2 * inset - 1000, 0)).merged() for k, r in gregs.items()}
    assert [v[:7] for v in kit_drc(KIT, close)] == ["BSV.S.1"]
    wide_fp = dict(regs, GFP=regs["GFP"].sized(1000, 0))
    assert any(v.startswith("GFP.S.OHMIC") for v in kit_drc(KIT, wide_fp))
    # a MIM whose post touched the bottom plate would short the capacitor
    m = generate(KIT, "mim")
    mregs = kit_regions(KIT, m)
    (n,) = m.pins_of("n")
    bottom = mregs["MET1"].interacting(kdb.Region(kdb.Box(*n.rect)))
    shorted = dict(mregs, MET1=(mregs["MET1"] + bottom.sized(6000)).merged())
    with pytest.raises(AssertionError):
        ids = kit_clusters(KIT, shorted, m)
        assert len({next(iter(v)) for v in ids.values()}) == 2


@pytest.mark.parametrize("ext", [1.0, 1.5, 2.25])
def test_hemt_gate_extension_follows_the_rule(ext):
    """The gate foot runs past the mesa by the kit's GATE.EX.MESA value, not
    a fixed number: a kit with a longer extension rule gets longer feet (and
    the cell is clean under that kit)."""
    import dataclasses

    rules = tuple(dataclasses.replace(r, value=ext) if r.id == "GATE.EX.MESA" else r for r in KIT.rules)
    kit = dataclasses.replace(KIT, rules=rules, version=f"{KIT.version}+ext{ext}")
    dc = generate(kit, "hemt", {})
    regs = kit_regions(kit, dc)
    assert kit_drc(kit, regs) == []
    mesa = regs["MESA"].bbox()
    for foot in (regs["GATE"] & kdb.Region(mesa.enlarged(0, kit.dbu(5.0)))).each():
        b = foot.bbox()
        assert b.bottom == mesa.bottom - kit.dbu(ext) and b.top == mesa.top + kit.dbu(ext), (b, mesa)
