"""sic1200 device generators, checked against KLayout as the geometry oracle.

Every generated cell must be DRC-clean under every rule of the kit (also next
to a copy of itself one placer halo away), put its bbox at the origin, expose
MET1 pins of at least 10 x 10 um per front-side terminal, draw no VIA1/MET2
unless it is a pad, keep its terminals apart through the kit's connectivity,
and have the electrical size its parameters ask for.  Parameters are sampled
at the corners of their ranges and at random (hypothesis).
"""

from __future__ import annotations

import math

import klayout.db as kdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pdk
from flow.errors import InputError
from flow.route import make_grid
from pdk.base import DeviceCell, generate
from pdk.sic1200 import devices as dev
from kit_oracle import kit_cell_basics, kit_clusters, kit_drc, kit_full, kit_polys, kit_regions, kit_two_copies

KIT = pdk.load("sic1200")
DBU = KIT.dbu_um
D = KIT.dbu
HALO = D(dev.PLACER_HALO_UM)
PIN_MIN = D(dev.PIN_MIN_UM)
GRID = make_grid(KIT, (0, 0, D(1000), D(1000)))
HYP = settings(max_examples=10, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


def check_common(model: str, dc: DeviceCell) -> dict[str, kdb.Region]:
    """Checks every device must pass; returns the merged regions."""
    regs = kit_regions(KIT, dc)
    assert kit_drc(KIT, regs) == []
    for horizontal in (True, False):
        for mirror in (False, True):
            assert kit_drc(KIT, kit_two_copies(regs, dc, horizontal, mirror, HALO)) == [], (horizontal, mirror)
    kit_cell_basics(KIT, model, dc, regs, PIN_MIN)
    d = KIT.device(model)
    for p in dc.pins:
        assert regs[p.layer].interacting(kdb.Region(kdb.Box(*p.rect))).count() == 1
    if d.kind != "pad":
        assert all(p.layer == "MET1" for p in dc.pins if p.layer != "BACKMET")
        assert regs["VIA1"].is_empty() and regs["MET2"].is_empty()
        assert regs["PASS"].is_empty() and regs["PAD"].is_empty()
    # through the kit's connectivity: each terminal one piece, terminals apart
    cl = kit_clusters(KIT, regs, dc, pin_layers=KIT.routing_metals)
    assert all(len(ids) == 1 for ids in cl.values()), cl
    ids = [next(iter(v)) for v in cl.values()]
    assert len(set(ids)) == len(ids), f"terminals shorted: {cl}"
    # every front-side pin holds a legal routing-grid point wherever the grid
    # falls: a pin edge of at least one pitch always contains a grid centre
    for p in dc.pins:
        if p.layer in KIT.routing_metals:
            assert min(p.rect[2] - p.rect[0], p.rect[3] - p.rect[1]) >= GRID.pitch
    return regs


def polys(region: kdb.Region) -> list[kdb.Box]:
    return kit_polys(region)


def full(model: str, params: dict) -> dict:
    return kit_full(KIT, model, params)


def terminal_of(regs, dc, shape: kdb.Region) -> set[str]:
    """Terminals whose MET1 pins sit on the MET1 island over ``shape``'s contacts."""
    met = regs["MET1"].interacting(regs["CONT"] & shape)
    return {p.terminal for p in dc.pins if p.layer == "MET1" and not (met & kdb.Region(kdb.Box(*p.rect))).is_empty()}


# ---------------------------------------------------------------------------
# nmos / pmos
# ---------------------------------------------------------------------------


def check_mos(model: str, params: dict) -> None:
    dc = generate(KIT, model, params)
    regs = check_common(model, dc)
    p = full(model, params)
    w, nf, l = p["w"], int(p["nf"]), p["l"]
    well, main, tap = ("PWELL", "NPLUS", "PPLUS") if model == "nmos" else ("NWELL", "PPLUS", "NPLUS")
    other_well = "NWELL" if model == "nmos" else "PWELL"
    assert regs[other_well].is_empty()
    # gate width and length: the poly over the active area
    chan = polys(regs["POLY"] & regs["ACTIVE"])
    assert len(chan) == nf
    assert abs(sum(b.height() for b in chan) - D(w)) <= nf
    assert all(b.width() == D(l) for b in chan)
    # every active in the well; channel and S/D under the main implant, the
    # body tap under the other one
    assert (regs["ACTIVE"] - regs[well]).is_empty()
    actives = polys(regs["ACTIVE"])
    assert len(actives) == 2
    tap_box, main_box = sorted(actives, key=lambda b: b.bottom)
    assert (kdb.Region(main_box) - regs[main]).is_empty() and (kdb.Region(main_box) & regs[tap]).is_empty()
    assert (kdb.Region(tap_box) - regs[tap]).is_empty() and (kdb.Region(tap_box) & regs[main]).is_empty()
    # one poly net (fingers + bus + pad), contacted only at the gate pad
    assert regs["POLY"].count() == 1
    (gpin,) = dc.pins_of("g")
    assert ((regs["CONT"] & regs["POLY"]) - kdb.Region(kdb.Box(*gpin.rect))).is_empty()
    assert not (regs["CONT"] & regs["POLY"]).is_empty()
    # the gates split the main active into nf + 1 diffusions, alternating s, d
    diffs = polys(kdb.Region(main_box) - regs["POLY"])
    assert len(diffs) == nf + 1
    nets = []
    for b in diffs:
        t = terminal_of(regs, dc, kdb.Region(b))
        assert len(t) == 1, t
        nets.append(t.pop())
    assert nets == ["s" if i % 2 == 0 else "d" for i in range(nf + 1)]
    # the body tap is contacted by the source
    assert terminal_of(regs, dc, kdb.Region(tap_box)) == {"s"}
    assert regs["MET1"].count() == 3


MOS_CORNERS = [
    (model, {"w": w, "nf": nf, "l": l})
    for model in ("nmos", "pmos")
    for w, nf in ((4, 1), (8, 2), (2000, 1), (2000, 64), (256, 64))
    for l in (2.0, 20.0)
]


@pytest.mark.parametrize(("model", "params"), MOS_CORNERS, ids=lambda v: str(v))
def test_mos_corners(model, params):
    check_mos(model, params)


def test_mos_defaults():
    check_mos("nmos", {})
    check_mos("pmos", {})


@HYP
@given(model=st.sampled_from(["nmos", "pmos"]), w=st.floats(4, 2000), nf=st.integers(1, 64), l=st.floats(2, 20))
def test_mos_random(model, w, nf, l):
    nf = max(1, min(nf, int(w // 4)))
    check_mos(model, {"w": round(w, 3), "nf": nf, "l": round(l, 3)})


def test_mos_finger_too_narrow():
    with pytest.raises(InputError, match=r"finger width w/nf = 10/4 = 2.5 um is below the 4 um minimum; use nf <= 2"):
        generate(KIT, "nmos", {"w": 10, "nf": 4})


# ---------------------------------------------------------------------------
# lmos
# ---------------------------------------------------------------------------


def check_lmos(params: dict) -> None:
    dc = generate(KIT, "lmos", params)
    regs = check_common("lmos", dc)
    p = full("lmos", params)
    w, nf, l, ldrift = p["w"], int(p["nf"]), p["l"], p["ldrift"]
    act = regs["ACTIVE"]
    assert act.count() == 1
    # channels: poly over the p-body inside the active area, l long, w wide in all
    chan = polys(regs["POLY"] & regs["PWELL"] & act)
    assert len(chan) == nf
    assert all(b.width() == D(l) for b in chan)
    assert abs(sum(b.height() for b in chan) - D(w)) <= nf
    # drift regions: active outside the p-bodies and the drain n+, ldrift long
    drift = polys(act - regs["PWELL"] - regs["NPLUS"])
    assert len(drift) == nf
    assert all(abs(b.width() - D(ldrift)) <= 1 for b in drift)
    # the gate poly reaches FIELD_PLATE_UM into each drift region, no further
    fp = polys(regs["POLY"] & (act - regs["PWELL"]))
    assert len(fp) == nf and all(b.width() == D(dev.FIELD_PLATE_UM) for b in fp)
    # the DRIFT marker covers the power device
    assert (act - regs["DRIFT"]).is_empty() and regs["DRIFT"].count() == 1
    # source fingers: butted contacts over n+ and p+ in a p-body; drains n+ only
    src = polys(act & regs["PWELL"] - regs["POLY"])
    assert len(src) == nf // 2 + 1
    for b in src:
        r = kdb.Region(b)
        c = regs["CONT"] & r
        assert not (c & regs["PPLUS"]).is_empty() and not (c & regs["NPLUS"]).is_empty()
        assert terminal_of(regs, dc, r) == {"s"}
    drains = polys(act & regs["NPLUS"] - regs["PWELL"])
    assert len(drains) == (nf + 1) // 2
    for b in drains:
        assert terminal_of(regs, dc, kdb.Region(b)) == {"d"}
        assert (kdb.Region(b) & regs["PPLUS"]).is_empty()
    # one poly net, contacted only at the gate pad
    assert regs["POLY"].count() == 1
    (gpin,) = dc.pins_of("g")
    assert ((regs["CONT"] & regs["POLY"]) - kdb.Region(kdb.Box(*gpin.rect))).is_empty()
    assert regs["MET1"].count() == 3
    # drain metal keeps ldrift from source and gate metal (voltage spacing)
    island = {t: regs["MET1"].interacting(kdb.Region(kdb.Box(*dc.pins_of(t)[0].rect))) for t in "dgs"}
    for other in "gs":
        assert island["d"].separation_check(island[other], D(ldrift) - 1).is_empty(), other


LMOS_CORNERS = [
    {"w": w, "nf": nf, "l": l, "ldrift": ld}
    for w, nf in ((20, 1), (20, 2), (4000, 400), (100000, 1), (100000, 400))
    for l, ld in ((1.0, 10.0), (5.0, 60.0))
] + [{"w": 20, "nf": 1, "l": 5.0, "ldrift": 10.0}, {"w": 20, "nf": 2, "l": 1.0, "ldrift": 60.0}]


@pytest.mark.parametrize("params", LMOS_CORNERS, ids=lambda v: str(v))
def test_lmos_corners(params):
    check_lmos(params)


def test_lmos_defaults():
    check_lmos({})


@HYP
@given(w=st.floats(20, 100000), nf=st.integers(1, 400), l=st.floats(1, 5), ldrift=st.floats(10, 60))
def test_lmos_random(w, nf, l, ldrift):
    nf = max(1, min(nf, int(w // 10)))
    check_lmos({"w": round(w, 3), "nf": nf, "l": round(l, 3), "ldrift": round(ldrift, 3)})


def test_lmos_finger_too_narrow():
    with pytest.raises(InputError, match=r"below the 10 um minimum; use nf <= 3"):
        generate(KIT, "lmos", {"w": 30, "nf": 4})


# ---------------------------------------------------------------------------
# vmos
# ---------------------------------------------------------------------------


def check_vmos(params: dict) -> None:
    dc = generate(KIT, "vmos", params)
    regs = check_common("vmos", dc)
    p = full("vmos", params)
    ncell, lcell, jte, nrings = int(p["ncell"]), p["lcell"], p["jte"], int(p["nrings"])
    act = regs["ACTIVE"]
    assert act.count() == 1
    # channel width 2 * ncell * lcell, channel length VMOS_CHANNEL_UM
    chan = polys(regs["POLY"] & regs["PWELL"] & act)
    assert len(chan) == 2 * ncell
    assert all(b.width() == D(dev.VMOS_CHANNEL_UM) and b.height() == D(lcell) for b in chan)
    jfet = polys(act - regs["PWELL"])
    assert len(jfet) == ncell and all(b.width() == D(dev.VMOS_JFET_UM) for b in jfet)
    # every source stripe: a butted contact on n+ and p+ under the source sheet
    src = polys(act & regs["PWELL"] - regs["POLY"])
    assert len(src) == ncell + 1
    for b in src:
        c = regs["CONT"] & kdb.Region(b)
        assert not (c & regs["PPLUS"]).is_empty() and not (c & regs["NPLUS"]).is_empty()
        assert terminal_of(regs, dc, kdb.Region(b)) == {"s"}
    (spin,) = dc.pins_of("s")
    assert ((regs["CONT"] - regs["POLY"]) - kdb.Region(kdb.Box(*spin.rect))).is_empty()
    # gate: one poly net contacted at the gate pad only
    assert regs["POLY"].count() == 1
    (gpin,) = dc.pins_of("g")
    assert ((regs["CONT"] & regs["POLY"]) - kdb.Region(kdb.Box(*gpin.rect))).is_empty()
    assert regs["MET1"].count() == 2
    # termination: one JTE ring exactly jte wide around the whole core
    assert regs["JTE"].count() == 1
    (ring,) = list(regs["JTE"].each())
    assert ring.holes() == 1
    hole = kdb.Region(kdb.Polygon(list(ring.each_point_hole(0))))
    core = regs["MET1"] + regs["POLY"] + regs["DRIFT"] + regs["PWELL"].interacting(act)
    assert (core - hole).is_empty()
    assert ring.bbox().width() - hole.bbox().width() == 2 * D(jte)
    # floating guard rings: PWELL rings inside the JTE, not touching the core
    rings = regs["PWELL"].not_interacting(act)
    assert rings.count() == nrings
    assert (rings - regs["JTE"]).is_empty()
    assert all(r.holes() == 1 for r in rings.each())
    # n+ channel stopper ring outside the JTE
    stopper = regs["NPLUS"].not_interacting(act)
    assert stopper.count() == 1 and (stopper & regs["JTE"]).is_empty()
    assert (regs["JTE"] - kdb.Region(stopper.bbox())).is_empty()
    # drain: the backside metal under the whole device
    (dpin,) = dc.pins_of("d")
    assert dpin.layer == "BACKMET" and dpin.rect == dc.bbox
    assert regs["BACKMET"].count() == 1


VMOS_CORNERS = [
    {"ncell": n, "lcell": lc, "jte": j, "nrings": r}
    for n in (1, 500)
    for lc in (20.0, 2000.0)
    for j, r in ((30.0, 0), (30.0, 3), (200.0, 8))
]


@pytest.mark.parametrize("params", VMOS_CORNERS, ids=lambda v: str(v))
def test_vmos_corners(params):
    check_vmos(params)


def test_vmos_defaults():
    check_vmos({})


@HYP
@given(ncell=st.integers(1, 500), lcell=st.floats(20, 2000), jte=st.floats(30, 200), nrings=st.integers(0, 8))
def test_vmos_random(ncell, lcell, jte, nrings):
    jte = round(jte, 3)
    fit = 0
    while fit < 8 and dev.ring_offsets(KIT, fit + 1)[-1][1] <= D(jte) - D(dev.RING_GAP_UM):
        fit += 1
    if nrings > fit:
        with pytest.raises(InputError, match=f"use nrings <= {fit}"):
            generate(KIT, "vmos", {"ncell": ncell, "lcell": round(lcell, 3), "jte": jte, "nrings": nrings})
    else:
        check_vmos({"ncell": ncell, "lcell": round(lcell, 3), "jte": jte, "nrings": nrings})


def test_vmos_rings_do_not_fit():
    with pytest.raises(InputError, match=r"8 guard rings do not fit in jte=30 um; use nrings <= 3"):
        generate(KIT, "vmos", {"jte": 30, "nrings": 8})


def test_ring_spacing_grows_outwards():
    off = dev.ring_offsets(KIT, 4)
    gaps = [off[0][0]] + [b[0] - a[1] for a, b in zip(off, off[1:])]
    assert gaps == [D(3), D(4), D(5), D(6)]
    assert all(b - a == D(dev.RING_W_UM) for a, b in off)


# ---------------------------------------------------------------------------
# poly resistor
# ---------------------------------------------------------------------------


def check_res(params: dict) -> None:
    dc = generate(KIT, "rpoly", params)
    regs = check_common("rpoly", dc)
    p = full("rpoly", params)
    r, w = p["r"], p["w"]
    wd = D(w)
    rsh = KIT.layers["POLY"].sheet_ohm
    body = regs["RPOLY"]
    assert body.count() == 1 and regs["POLY"].count() == 1
    assert (body - regs["POLY"]).is_empty()
    # two heads, each contacted and pinned, contacts off the body
    assert (regs["CONT"] & body.sized(D(1) - 1)).is_empty()
    heads = polys(regs["POLY"] - body)
    assert len(heads) == 2
    assert {next(iter(terminal_of(regs, dc, kdb.Region(h)))) for h in heads} == {"p", "n"}
    (poly,) = list(body.each())
    nvert = poly.num_points()
    turns = (nvert - 4) // 2
    squares = poly.area() / wd**2 - turns * (1 - dev.CORNER_SQUARES)
    assert squares * rsh == pytest.approx(r, rel=1e-4)
    length = r / rsh * w
    if length <= dev.RES_RUN_MAX_UM:
        assert nvert == 4
        b = poly.bbox()
        assert abs(b.width() - D(length)) <= 1 and b.height() == wd
    else:
        assert turns >= 2
        assert body.bbox().width() <= D(dev.RES_RUN_MAX_UM) + 2 * wd
    assert regs["MET1"].count() == 2


RES_CORNERS = [{"r": r, "w": w} for r in (50.0, 1000.0, 20000.0, 200000.0) for w in (2.0, 4.0, 20.0)] + [
    {"r": 20.0, "w": 5.0},
    {"r": 20.0, "w": 20.0},
    {"r": 1000.0, "w": 2.5},
]


@pytest.mark.parametrize("params", RES_CORNERS, ids=lambda v: str(v))
def test_resistor_corners(params):
    check_res(params)


@HYP
@given(r=st.floats(20, 200000), w=st.floats(2, 20))
def test_resistor_random(r, w):
    r, w = round(r, 3), round(w, 3)
    if r / KIT.layers["POLY"].sheet_ohm * w < 2.0:
        with pytest.raises(InputError, match="POLY width"):
            generate(KIT, "rpoly", {"r": r, "w": w})
    else:
        check_res({"r": r, "w": w})


def test_resistor_too_short():
    with pytest.raises(InputError, match=r"needs a 0.8 um body.*use w >= 5 um"):
        generate(KIT, "rpoly", {"r": 20, "w": 2})


def test_resistor_layout_formula():
    runs, run, gap = dev.resistor_layout(KIT, 200000, 20)
    w = D(20)
    sq = runs * run / w + (runs - 1) * (2 * dev.CORNER_SQUARES + gap / w)
    assert sq * KIT.layers["POLY"].sheet_ohm == pytest.approx(200000, rel=1e-6)
    assert run <= D(dev.RES_RUN_MAX_UM)
    assert dev.resistor_layout(KIT, 1000, 4) == (1, D(80), D(3))


# ---------------------------------------------------------------------------
# pad
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("size", [60.0, 100.0, 123.457, 200.0])
def test_pad(size):
    dc = generate(KIT, "pad", {"size": size})
    regs = check_common("pad", dc)
    s = D(size)
    assert dc.bbox == (0, 0, s, s)
    assert {p.layer for p in dc.pins} == {"MET1", "MET2"}
    assert all(p.rect == (0, 0, s, s) and p.terminal == "p" for p in dc.pins)
    assert polys(regs["PAD"]) == [kdb.Box(0, 0, s, s)]
    v = D(KIT.min_width("VIA1"))
    vias = polys(regs["VIA1"])
    assert all(b.width() == v and b.height() == v for b in vias)
    n = math.isqrt(len(vias))
    assert n * n == len(vias)
    pitch = v + D(KIT.min_spacing("VIA1"))
    assert n * pitch - pitch + v + pitch > s - 2 * D(KIT.enclosure("MET2", "VIA1"))
    (opening,) = polys(regs["PASS"])
    assert opening.left >= D(KIT.enclosure("MET2", "PASS"))


# ---------------------------------------------------------------------------
# generate(): caching, parameter errors, the oracle itself
# ---------------------------------------------------------------------------


def test_cache_returns_same_object():
    assert generate(KIT, "nmos", {"w": 40, "nf": 2}) is generate(KIT, "nmos", {"nf": 2.0, "w": 40.0})
    assert generate(KIT, "nmos", {"w": 40}) is not generate(KIT, "pmos", {"w": 40})
    assert generate(KIT, "vmos") is generate(KIT, "vmos", {"ncell": 8})


@pytest.mark.parametrize(
    ("model", "params", "match"),
    [
        ("nmos", {"w": 3}, "outside"),
        ("pmos", {"nf": 65}, "outside"),
        ("nmos", {"nf": 1.5}, "integer"),
        ("nmos", {"l": 1.0}, "outside"),
        ("lmos", {"ldrift": 5.0}, "outside"),
        ("lmos", {"w": 200000}, "outside"),
        ("vmos", {"ncell": 0}, "outside"),
        ("vmos", {"jte": 20}, "outside"),
        ("vmos", {"nrings": 9}, "outside"),
        ("rpoly", {"r": 10}, "outside"),
        ("rpoly", {"w": float("inf")}, "outside"),
        ("pad", {"size": 50}, "outside"),
        ("lmos", {"vth": 3}, "no parameter"),
    ],
)
def test_range_errors(model, params, match):
    with pytest.raises(InputError, match=match):
        generate(KIT, model, params, where="net.sp:3: ")


def test_models_and_generators_exist():
    for model, d in KIT.devices.items():
        assert callable(getattr(dev, d.generator)), model
    assert KIT.pad_model == "pad"


def test_vmos_drain_is_off_the_routing_stack():
    """The backside drain pin is not on a routing metal and BACKMET joins
    nothing in the kit's connectivity: the flow never routes to it."""
    dc = generate(KIT, "vmos")
    (dpin,) = dc.pins_of("d")
    assert dpin.layer not in KIT.routing
    assert all("BACKMET" not in group for group in KIT.connect)
    assert KIT.layers["BACKMET"].purpose == "pad"


def test_oracle_catches_violations():
    """The KLayout checks above are not vacuous: broken variants fail."""
    dc = generate(KIT, "lmos", {"w": 100, "nf": 2})
    regs = kit_regions(KIT, dc)
    shift = regs["DRIFT"].bbox().width() + D(KIT.min_spacing("DRIFT")) - 1
    moved = {k: (r + r.moved(shift, 0)).merged() for k, r in regs.items()}
    assert any(v.startswith("DRIFT.S.1") for v in kit_drc(KIT, moved))
    thin = dict(regs, CONT=kdb.Region(kdb.Box(0, 0, D(1), D(5))))
    bad = kit_drc(KIT, thin)
    assert any(v.startswith("CONT.W.1") for v in bad) and any(v.startswith("MET1.EN.CONT") for v in bad)
    r = kit_regions(KIT, generate(KIT, "rpoly"))
    assert any(v.startswith("RPOLY.S.CONT") for v in kit_drc(KIT, dict(r, RPOLY=r["RPOLY"].sized(D(2), 0, 2))))
    v = kit_regions(KIT, generate(KIT, "vmos"))
    assert any(x.startswith("PWELL.S.1") for x in kit_drc(KIT, dict(v, PWELL=v["PWELL"].sized(D(0.5)))))
    # shape kinds (KLayout forms in kit_oracle.shape_kind_markers)
    n = kit_regions(KIT, generate(KIT, "nmos"))
    assert any(x.startswith("NPLUS.NO.PPLUS") for x in kit_drc(KIT, dict(n, PPLUS=n["PPLUS"] + n["NPLUS"].sized(-D(1)))))
    assert any(x.startswith("POLY.EX.ACTIVE") for x in kit_drc(KIT, dict(n, ACTIVE=n["ACTIVE"].sized(0, D(1.5), 2))))
    far = n["MET1"].bbox().right + D(50)
    assert any(x.startswith("MET1.A.1") for x in kit_drc(KIT, dict(n, MET1=n["MET1"] + kdb.Region(kdb.Box(far, 0, far + D(2), D(2))))))
    assert not any(x.startswith("MET1.A.1") for x in kit_drc(KIT, dict(n, MET1=n["MET1"] + kdb.Region(kdb.Box(far, 0, far + D(2), D(3))))))
    # shorting the gate pad into the source sheet is seen by the cluster check
    dc = generate(KIT, "vmos", {"ncell": 2, "lcell": 40})
    regs = kit_regions(KIT, dc)
    regs["MET1"] = (regs["MET1"] + kdb.Region(regs["MET1"].bbox())).merged()
    cl = kit_clusters(KIT, regs, dc, pin_layers=KIT.routing_metals)
    assert cl["g"] == cl["s"]
