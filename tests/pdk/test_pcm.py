"""PCM structures and reticle furniture generated from kit data (pdk/pcm.py):
DRC-clean on every kit, drawn at the rules' limits, and wired as intended
(KLayout cross-checks)."""

from __future__ import annotations

import gdstk
import klayout.db as kdb
import pytest

import pdk
from flow.drc.engine import run_drc
from flow.geometry.gdsio import shapes_from_library
from pdk.pcm import (
    alignment_mark,
    clearance,
    comb_serpentine,
    kit_pcms,
    line_rules,
    resistor_models,
    seal_ring,
    text_label,
)

KITS = ("gan650", "ganrf025", "sic1200")


def _layout(kit, cells) -> kdb.Layout:
    lib = gdstk.Library(unit=1e-6, precision=kit.dbu_um * 1e-6)
    for c in cells:
        lib.add(c, *c.dependencies(True))
    ly = kdb.Layout()
    ly.dbu = kit.dbu_um
    import tempfile, os

    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "x.gds")
        lib.write_gds(p)
        ly.read(p)
    return ly


def _region(ly: kdb.Layout, cell: str, gds) -> kdb.Region:
    c = ly.cell(cell)
    return kdb.Region(c.begin_shapes_rec(ly.layer(gds[0], gds[1]))).merged()


@pytest.fixture(scope="module", params=KITS)
def kit_structures(request):
    """A kit and one cell holding all its PCMs, a seal ring, an alignment
    mark and a label side by side (kit clearance apart), with its DRC."""
    kit = pdk.load(request.param)
    parts = kit_pcms(kit) + [seal_ring(kit, 400.0, 300.0), alignment_mark(kit), text_label(kit, "gan_ringosc-Rev1.0 x200", "LABEL_T")]
    top = gdstk.Cell("ALL")
    c = clearance(kit)
    x = 0
    for p in parts:
        top.add(gdstk.Reference(p.cell, ((x - p.bbox[0]) * kit.dbu_um, -p.bbox[1] * kit.dbu_um)))
        x += p.width + c
    lib = gdstk.Library(unit=1e-6, precision=kit.dbu_um * 1e-6)
    lib.add(top, *top.dependencies(True))
    drc = run_drc(shapes_from_library(lib, kit, "ALL"), kit)
    return kit, parts, drc


def test_every_kit_gets_its_pcms(kit_structures):
    kit, parts, _ = kit_structures
    names = {p.cell.name for p in parts}
    for model, _sheet in resistor_models(kit):
        assert f"PCM_TLM_{model.upper()}" in names and f"PCM_VDP_{model.upper()}" in names
    for metal in kit.routing_metals:
        assert f"PCM_COMB_{metal}" in names
    assert resistor_models(kit), f"{kit.name} has no resistor device to build TLM/vdP structures from"


def test_pcms_drc_clean(kit_structures):
    kit, _, drc = kit_structures
    assert drc.counts() == {}, drc.counts()
    assert drc.not_checked == ()
    # what stays unchecked is net-aware only (no voltages/currents on test structures)
    partly = {n.split(":")[0] for n in drc.notes if ": not checked" in n}
    net_aware = {r.id for r in kit.rules if r.kind in ("voltage_spacing", "current_density", "net_spacing")}
    assert partly <= net_aware


@pytest.mark.parametrize("kit_name", KITS)
def test_comb_serpentine_at_the_limits(kit_name):
    """KLayout: the comb/serpentine has no width/space below the rules, but
    does have them at one grid step more (it is drawn at the minimum); the
    combs are two separate nets and the serpentine joins its two pads."""
    kit = pdk.load(kit_name)
    for metal in kit.routing_metals:
        pc = comb_serpentine(kit, metal)
        ly = _layout(kit, [pc.cell])
        w, s = line_rules(kit, metal)
        reg = _region(ly, pc.cell.name, kit.layers[metal].gds)
        assert reg.width_check(w).count() == 0 and reg.space_check(s).count() == 0
        assert reg.width_check(w + 1).count() > 0 and reg.space_check(s + 1).count() > 0
        pieces = list(reg.each())
        assert len(pieces) == 3  # comb A + pad A, comb B + pad B, serpentine + pads S1, S2
        for name_a, name_b, joined in (("A", "B", False), ("S1", "S2", True), ("A", "S1", False)):
            ra, rb = (kdb.Box(*pc.pads[n]) for n in (name_a, name_b))
            owner = [next(i for i, p in enumerate(pieces) if p.bbox().overlaps(r) and kdb.Region(p).interacting(kdb.Region(r)).count()) for r in (ra, rb)]
            assert (owner[0] == owner[1]) is joined, (metal, name_a, name_b)


@pytest.mark.parametrize("kit_name", KITS)
def test_tlm_and_vdp_geometry(kit_name):
    kit = pdk.load(kit_name)
    pcms = {p.cell.name: p for p in kit_pcms(kit)}
    for model, sheet in resistor_models(kit):
        tlm = pcms[f"PCM_TLM_{model.upper()}"]
        ly = _layout(kit, [tlm.cell])
        bodies = _region(ly, tlm.cell.name, kit.layers[sheet].gds)
        assert bodies.count() >= 3 and len(tlm.pads) == bodies.count() + 1
        widths = sorted(p.bbox().width() for p in bodies.each())
        assert widths[-1] > 2 * widths[0]  # increasing lengths
        vdp = pcms[f"PCM_VDP_{model.upper()}"]
        ly = _layout(kit, [vdp.cell])
        cross = _region(ly, vdp.cell.name, kit.layers[sheet].gds)
        assert cross.count() == 1 and len(vdp.pads) == 4
        poly = next(cross.each())
        assert poly.num_points() == 12  # a Greek cross: 12 corners
        bb = poly.bbox()
        assert bb.width() == bb.height()
        # four arm heads, each its own net up to its pad (routing metal pieces)
        metal = _region(ly, vdp.cell.name, kit.layers[kit.routing_metals[0]].gds)
        assert metal.count() == 4


@pytest.mark.parametrize("kit_name", KITS)
def test_seal_ring_is_closed(kit_name):
    kit = pdk.load(kit_name)
    ring = seal_ring(kit, 300.0, 200.0)
    ly = _layout(kit, [ring.cell])
    for metal in kit.routing_metals:
        reg = _region(ly, ring.cell.name, kit.layers[metal].gds)
        assert reg.count() == 1 and reg.holes().count() == 1
        assert reg.bbox() == kdb.Box(0, 0, kit.dbu(300.0), kit.dbu(200.0))
    for cut in kit.routing_cuts:
        assert _region(ly, ring.cell.name, kit.layers[cut].gds).count() > 0


def test_kit_without_pads_names_what_it_cannot_make():
    import dataclasses

    kit = pdk.load("gan650")
    nopad = dataclasses.replace(kit, pad_model=None, devices={m: d for m, d in kit.devices.items() if d.kind != "pad"})
    skipped: list[str] = []
    assert kit_pcms(nopad, skipped) == []
    assert len(skipped) == len(kit_pcms(kit)) and all("no pad device" in s for s in skipped)
