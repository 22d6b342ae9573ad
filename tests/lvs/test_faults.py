"""Fault injection on the sample layouts: each fault must come out of LVS in
its own category, at the right place (microns).

* a deleted via (gdstk: one VIA1 cut removed where it is the only link) -> open
* a metal bridge between two nets (gdstk: a rectangle joining two wires) -> short
* a deleted device (gdstk: its cell reference removed) -> missing device
* a changed finger count and a gate/drain swap: the flow lays out a netlist
  with that change (the router draws the wrong circuit as a designer's
  mistake would), and the GDS is compared with the original netlist.

Which nets a via or bridge touches is worked out with KLayout's own net
tracing where it matters (an independent oracle), not with pilotflow's.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import gdstk
import numpy as np
import pytest

import pdk as pdks
from flow.config import load_design
from flow.flow import run
from flow.lvs.check import run_lvs
from flow.netlist.spice import read_spice

DESIGNS = Path(__file__).resolve().parents[2] / "designs"


def _source(design_dir: Path):
    cfg = load_design(design_dir)
    kit = pdks.load(cfg.pdk)
    return read_spice(cfg.netlist, root=cfg.folder, kit=kit, top=cfg.top), kit


@pytest.fixture(scope="module")
def ringosc(tmp_path_factory):
    rundir = tmp_path_factory.mktemp("ringosc")
    res = run(DESIGNS / "gan_ringosc", rundir)
    src, kit = _source(DESIGNS / "gan_ringosc")
    return res, src, kit, rundir / res.design.outputs["gds"]


def _only(res, category):
    others = {k: v for k, v in res.counts().items() if v and k != category}
    assert not others, (others, [getattr(res, k) for k in others])
    return getattr(res, category)


def _layer(kit, name):
    return kit.layers[name].gds


def _top(lib):
    (top,) = lib.top_level()
    return top


def _net_count(path: Path, kit, label: str) -> int:
    """How many separate nets carry ``label`` (KLayout net tracing)."""
    import klayout.db as kdb

    ly = kdb.Layout()
    ly.read(str(path))
    top = ly.top_cell()
    l2n = kdb.LayoutToNetlist(kdb.RecursiveShapeIterator(ly, top, []))
    regions = {}
    for name, lay in kit.layers.items():
        regions[name] = l2n.make_layer(ly.layer(*lay.gds), name)
    texts = {}
    for name, lay in kit.layers.items():
        if lay.label is not None:
            texts[name] = l2n.make_text_layer(ly.layer(*lay.label), name + "_lbl")
    for group in kit.connect:
        for n in group:
            l2n.connect(regions[n])
        if len(group) == 2:
            l2n.connect(regions[group[0]], regions[group[1]])
        else:
            l2n.connect(regions[group[0]], regions[group[1]])
            l2n.connect(regions[group[1]], regions[group[2]])
    for name, t in texts.items():
        if name in regions:
            l2n.connect(regions[name], t)
    l2n.extract_netlist()
    circuit = l2n.netlist().circuit_by_name(top.name)
    return sum(1 for net in circuit.each_net() if net.name == label or (net.name or "").split(",").count(label))


def test_deleted_via_is_an_open_at_the_via(ringosc, tmp_path):
    flow_res, src, kit, gds = ringosc
    u = kit.dbu_um
    via = _layer(kit, "VIA1")
    wires = flow_res.design.routing.wires
    # a routed via of a net with few cuts: removing it must split the net
    for net in sorted(wires, key=lambda n: len(wires[n])):
        cuts = [w for w in wires[net] if w.layer == "VIA1"]
        for cut in cuts:
            lib = gdstk.read_gds(str(gds))
            top = _top(lib)
            box = [c * u for c in cut.rect]
            victims = [p for p in top.polygons if (p.layer, p.datatype) == via and np.allclose(p.bounding_box(), ((box[0], box[1]), (box[2], box[3])))]
            if len(victims) != 1:
                continue
            top.remove(victims[0])
            out = tmp_path / f"via_{net}.gds"
            lib.write_gds(str(out))
            if _net_count(out, kit, net) < 2:
                continue  # another cut or path still joins it
            res = run_lvs(out, src, kit).result
            (op,) = _only(res, "opens")
            assert op["net"] == net
            cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
            assert op["location"] is not None
            assert abs(op["location"][0] - cx) <= 3.0 and abs(op["location"][1] - cy) <= 3.0, (op, (cx, cy))
            return
    pytest.fail("no via whose removal splits a net")


def test_metal_bridge_is_a_short_with_a_path_through_the_bridge(ringosc, tmp_path):
    flow_res, src, kit, gds = ringosc
    u = kit.dbu_um
    wires = flow_res.design.routing.wires
    lay = "MET1"
    rects = [(n, w.rect) for n, ws in wires.items() for w in ws if w.layer == lay]
    # two parallel wires of different nets, a few microns apart, facing each other
    cands = []
    for i, (na, a) in enumerate(rects):
        for nb, b in rects[i + 1:]:
            if na == nb:
                continue
            lo, hi = max(a[0], b[0]), min(a[2], b[2])  # x overlap: a vertical bridge
            if hi - lo >= 2000:
                gap = max(b[1] - a[3], a[1] - b[3])
                if 0 < gap <= 20000:
                    y0, y1 = (a[3], b[1]) if a[3] <= b[1] else (b[3], a[1])
                    x = (lo + hi) // 2
                    cands.append((gap, na, nb, (x - 500, y0 - 100, x + 500, y1 + 100)))
    cands.sort()
    assert cands
    for gap, na, nb, br in cands[:40]:
        lib = gdstk.read_gds(str(gds))
        top = _top(lib)
        g = kit.layers[lay].gds
        top.add(gdstk.rectangle((br[0] * u, br[1] * u), (br[2] * u, br[3] * u), layer=g[0], datatype=g[1]))
        out = tmp_path / "bridge.gds"
        lib.write_gds(str(out))
        res = run_lvs(out, src, kit).result
        if len(res.shorts) != 1 or set(res.shorts[0]["nets"]) != {na, nb}:
            continue  # the bridge also touched a third net: try another
        (sh,) = _only(res, "shorts")
        (path,) = sh["paths"]
        assert path["length_um"] > 0
        bx = [c * u for c in br]
        inside = [p for p in path["points"] if bx[0] - 1e-6 <= p[1] <= bx[2] + 1e-6 and bx[1] - 1e-6 <= p[2] <= bx[3] + 1e-6]
        assert inside, (path, bx)
        # the marker database shows the path as edges KLayout reads
        import klayout.db  # noqa: F401  (binds the geometry types)
        import klayout.rdb as rdb

        from flow.lvs.lyrdb import write_lvs_lyrdb

        write_lvs_lyrdb(res, tmp_path / "lvs.lyrdb", "ringosc")
        db = rdb.ReportDatabase("x")
        db.load(str(tmp_path / "lvs.lyrdb"))
        (item,) = list(db.each_item())
        edges = [v.edge() for v in item.each_value() if v.is_edge()]
        assert len(edges) >= 1
        assert any(bx[0] - 1e-3 <= e.p1.x <= bx[2] + 1e-3 and bx[1] - 1e-3 <= e.p1.y <= bx[3] + 1e-3 for e in edges)
        return
    pytest.fail("no bridge candidate joined exactly two nets")


def test_deleted_device_is_missing_near_its_place(ringosc, tmp_path):
    flow_res, src, kit, gds = ringosc
    u = kit.dbu_um
    victim = "X3/XD"
    x, y = flow_res.design.placement.positions[victim]
    lib = gdstk.read_gds(str(gds))
    top = _top(lib)
    (ref,) = [r for r in top.references if np.allclose(r.origin, (x * u, y * u)) and r.cell.name.startswith("hemte")]
    (bx0, by0), (bx1, by1) = ref.bounding_box()
    top.remove(ref)
    out = tmp_path / "nodev.gds"
    lib.write_gds(str(out))
    res = run_lvs(out, src, kit).result
    assert [m["device"] for m in res.missing_devices] == [victim]
    (m,) = res.missing_devices
    mx, my = m["location"]
    assert bx0 - 5 <= mx <= bx1 + 5 and by0 - 5 <= my <= by1 + 5, (m, (bx0, by0, bx1, by1))
    # the device's own pins held its nets together where wires met on them:
    # any open found is on a net of the deleted device
    assert not res.extra_devices and not res.shorts and not res.parameter_mismatches
    for o in res.opens:
        assert o["net"] in set(src.by_name[victim].pins.values())


def _faulty_layout(design: str, tmp_path: Path, pattern: str, repl: str, netlist: str | None = None):
    """Lay out ``design`` with one netlist line changed; return its GDS and
    the run (for the placement of the changed device)."""
    folder = tmp_path / design
    shutil.copytree(DESIGNS / design, folder)
    cfg = load_design(folder)
    path = folder / (netlist or cfg.netlist.name)
    text = path.read_text()
    new, n = re.subn(pattern, repl, text, flags=re.M)
    assert n == 1, pattern
    path.write_text(new)
    res = run(folder, tmp_path / "run", to_stage="gds")
    return res.rundir / res.design.outputs["gds"], res


def _placed_box(fres, kit, name):
    """The placed cell rectangle of instance ``name`` (um)."""
    from pdk.base import generate

    inst = next(i for i in fres.design.all_instances() if i.name == name)
    dc = generate(kit, inst.model, fres.design.device_params[name])
    x, y = fres.design.placement.positions[name]
    u = kit.dbu_um
    return ((x + dc.bbox[0]) * u, (y + dc.bbox[1]) * u, (x + dc.bbox[2]) * u, (y + dc.bbox[3]) * u)


def _inside(b, outer, slack=0.01):
    return outer[0] - slack <= b[0] and b[2] <= outer[2] + slack and outer[1] - slack <= b[1] and b[3] <= outer[3] + slack


def test_changed_finger_count_is_a_parameter_mismatch(tmp_path):
    src, kit = _source(DESIGNS / "gan_ringosc")
    gds, fres = _faulty_layout("gan_ringosc", tmp_path, r"^(XB2 .* nfe=)2$", r"\g<1>4")
    res = run_lvs(gds, src, kit).result
    pms = _only(res, "parameter_mismatches")
    nf = [p for p in pms if p["param"] == "nf"]
    assert [(p["device"], p["source"], p["layout"]) for p in nf] == [("XB2/XD", 2, 4)]
    assert _inside(nf[0]["bbox"], _placed_box(fres, kit, "XB2/XD")), (nf[0]["bbox"], _placed_box(fres, kit, "XB2/XD"))
    # same total width: only the finger count (and what follows from it) differs
    assert {p["param"] for p in pms} <= {"nf", "w"}


def test_swapped_gate_and_drain_is_reported_on_the_device(tmp_path):
    # gate_driver's pull-up XPU drawn with gate and drain exchanged: both
    # drivers of the half bridge (XH, XL) carry it
    src, kit = _source(DESIGNS / "gan_halfbridge")
    gds, fres = _faulty_layout("gan_halfbridge", tmp_path, r"^XPU vdrv a4 drv ", "XPU a4 vdrv drv ")
    res = run_lvs(gds, src, kit).result
    sws = _only(res, "swapped_connections")
    assert sorted(s["device"] for s in sws) == ["XH/XPU", "XL/XPU"]
    for sw in sws:
        assert sw["terminals"] == ["d", "g"]
        prefix = sw["device"].split("/")[0]
        assert sw["source"] == {"d": "VB" if prefix == "XH" else "VDDL", "g": f"{prefix}/a4"}
        box = _placed_box(fres, kit, sw["device"])
        assert _inside(sw["bbox"], box)
        for t in ("d", "g"):
            _lay, x, y = sw["terminal_points"][t]
            assert box[0] - 0.01 <= x <= box[2] + 0.01 and box[1] - 0.01 <= y <= box[3] + 0.01
