"""Extraction from the GDS alone (flow/lvs/extract.py).

Every sample design runs through the flow once (module fixture); the
extractor then reads only the written GDS.  The design's own netlist (the
circuit the flow laid out, pads included, with the generators' parameters)
is the oracle: same devices, same models, parameters within the kit's
tolerances, same connectivity (nets named from the layout's text labels).
KLayout's LayoutToNetlist traces the same layout independently and must
find the same net partition.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import gdstk
import numpy as np
import pytest

import pdk as pdks
from flow.errors import InputError
from flow.flow import run
from flow.lvs.extract import Extraction, extract, spice_text, write_spice
from flow.netlist.spice import read_spice
from pdk.base import generate

DESIGNS = Path(__file__).resolve().parents[2] / "designs"
DESIGN_DIRS = sorted(p for p in DESIGNS.iterdir() if (p / "design.toml").is_file())


@pytest.fixture(scope="module", params=DESIGN_DIRS, ids=lambda p: p.name)
def laid_out(request, tmp_path_factory):
    rundir = tmp_path_factory.mktemp(request.param.name)
    res = run(request.param, rundir)  # exit code: DRC's business, not extraction's
    kit = pdks.load(res.design.pdk_name)
    gds = rundir / res.design.outputs["gds"]
    return res.design, kit, gds


def _expected(design, kit):
    """(model, pins, params in SI as the SPICE reader gives them) of every
    instance the flow laid out (circuit devices and pads)."""
    out = []
    for inst in design.all_instances():
        params = {}
        for k, v in design.device_params.get(inst.name, {}).items():
            spec = kit.devices[inst.model].params[k]
            params[k] = v * 1e-6 if spec.unit == "um" else v
        out.append((inst.name, inst.model, dict(inst.pins), params))
    return out


def _unlabellable(ex: Extraction, net: str) -> bool:
    """A generated net name on a layer without a label datatype (backside
    metal): no label can name it, so it matches its source net by position."""
    if not net.startswith("$"):
        return False
    layer = net[1:].split("(", 1)[0]
    lay = ex.kit.layers.get(layer)
    return lay is not None and lay.label is None


def _pins_match(ex: Extraction, model: str, got: dict, want: dict, alias: dict | None = None) -> bool:
    if alias is not None:
        got = dict(got)
        for t, n in got.items():
            if _unlabellable(ex, n) and t in want:
                mapped = alias.get(n)
                taken = {v for k, v in alias.items() if k != n}
                if mapped is None and want[t] not in taken:
                    alias[n] = mapped = want[t]
                got[t] = mapped if mapped is not None else n
    if got == want:
        return True
    for group in ex.swappable.get(model, ()):
        if {t: got[t] for t in got if t not in group} == {t: want[t] for t in want if t not in group} and sorted(
            got[t] for t in group
        ) == sorted(want[t] for t in group):
            return True
    return False


def _params_match(ex: Extraction, model: str, got: dict, want: dict) -> list[str]:
    bad = []
    for p in ex.measured[model]:
        if p not in want:
            continue
        tol = ex.tolerances[model].get(p, 0.0)
        g, w = got.get(p), want[p]
        if g is None or abs(g - w) > tol * abs(w) + 1e-12 * max(1.0, abs(w)):
            bad.append(f"{p}: layout {g} vs netlist {w}")
    return bad


def test_extracted_circuit_is_the_design(laid_out):
    design, kit, gds = laid_out
    ex = extract(gds, kit)
    want = _expected(design, kit)
    got = list(ex.netlist.instances)
    assert Counter(m for _, m, _, _ in want) == Counter(i.model for i in got)
    unmatched = list(got)
    problems = []
    alias: dict[str, str] = {}
    for name, model, pins, params in want:
        cands = [i for i in unmatched if i.model == model and _pins_match(ex, model, dict(i.pins), pins, alias)]
        ok = [i for i in cands if not _params_match(ex, model, dict(i.params), params)]
        if not ok:
            why = [_params_match(ex, model, dict(i.params), params) for i in cands] or "no device with these nets"
            problems.append(f"{name} {model} {pins} {params}: {why}")
            continue
        unmatched.remove(ok[0])
    assert not problems, problems
    assert not unmatched
    # every device terminal sits on a labelled net, unless no label can name
    # its conductor (backside metal); nothing floats
    assert all(_unlabellable(ex, n) for n in ex.unlabelled_nets & set(ex.netlist.nets))
    # every measured parameter the netlist gives was measured
    for i in got:
        assert set(ex.measured[i.model]) <= set(i.params), (i.name, i.params)
    assert not [n for n in ex.notes if n.startswith("lvs:")], ex.notes
    assert set(ex.netlist.ports) == {i.pins["p"] for i in design.floorplan.pads}
    for name, box in ex.device_locations.items():
        assert box[0] < box[2] and box[1] < box[3]
    for net in ex.netlist.nets:
        assert ex.net_locations[net], net
    # each terminal's attach point lies on a conductor of the terminal's net
    for i in got:
        for t, net in i.pins.items():
            layer, x, y = ex.terminal_points[i.name][t]
            k = int(ex.nets.locate(layer, np.array([[x / kit.dbu_um, y / kit.dbu_um]]))[0])
            assert k >= 0 and ex.nets.name(int(ex.nets.comp[layer][k])) == net, (i.name, t, layer, x, y)


def test_spice_round_trip(laid_out, tmp_path):
    _, kit, gds = laid_out
    ex = extract(gds, kit)
    out = tmp_path / "extracted.sp"
    write_spice(ex, out)
    back = read_spice(out, root=tmp_path, kit=kit, top=ex.netlist.top)
    assert len(back.instances) == len(ex.netlist.instances)
    for a, b in zip(ex.netlist.instances, back.instances):
        assert (a.model, dict(a.pins)) == (b.model, dict(b.pins))
        for k, v in a.params.items():
            assert b.params[k] == pytest.approx(v, rel=1e-9)
    assert set(back.ports) == set(ex.netlist.ports)


# ---------------------------------------------------------------------------
# KLayout cross-check of the net tracing
# ---------------------------------------------------------------------------


def _klayout_nets(gds: Path, kit, layers: list[str]):
    """KLayout LayoutToNetlist over ``kit.connect`` plus ``[pdk.lvs]``
    (derived layers evaluated by KLayout's own booleans; net-tie conductors
    cut under their markers); returns (l2n, regions by layer name)."""
    db = pytest.importorskip("klayout.db")
    import re

    ly = db.Layout()
    ly.read(str(gds))
    ly.top_cell().flatten(-1, True)  # one circuit: probed nets are comparable
    l2n = db.LayoutToNetlist(db.RecursiveShapeIterator(ly, ly.top_cell(), []))
    base = {}

    def layer(name: str):
        if name not in base:
            base[name] = l2n.make_polygon_layer(ly.layer(*kit.layers[name].gds), name)
        return base[name]

    regs = {n: layer(n) for n in layers if n in kit.layers}
    for name, lay in kit.layers.items():
        if lay.net_tie and lay.net_tie in regs:
            cut = regs[lay.net_tie] - layer(name)
            l2n.register(cut, lay.net_tie + "_cut")
            regs[lay.net_tie] = cut
    derived = dict(kit.lvs.derived) if kit.lvs else {}
    for name, expr in derived.items():
        toks = re.findall(r"[A-Za-z_][A-Za-z0-9_]*|[&|\-]", expr)
        acc = regs.get(toks[0]) or layer(toks[0])
        for op, t in zip(toks[1::2], toks[2::2]):
            other = regs.get(t) or layer(t)
            acc = acc & other if op == "&" else (acc | other if op == "|" else acc - other)
        l2n.register(acc, name)
        regs[name] = acc
    for name in regs:
        l2n.connect(regs[name])
    for group in tuple(kit.connect) + tuple(kit.lvs.connect if kit.lvs else ()):
        steps = [(group[0], group[1])] if len(group) == 2 else [(group[0], group[1]), (group[1], group[2])]
        for a, b in steps:
            if a in regs and b in regs:
                l2n.connect(regs[a], regs[b])
    l2n.extract_netlist()
    return l2n, regs


def test_net_tracing_agrees_with_klayout(laid_out):
    """Same partition of every conductor polygon (derived layers included)
    into nets as KLayout."""
    db = pytest.importorskip("klayout.db")
    _, kit, gds = laid_out
    ex = extract(gds, kit)
    nets = ex.nets
    layers = list(nets.layers)
    l2n, regs = _klayout_nets(gds, kit, layers)
    ours_to_kl: dict[int, int] = {}
    kl_to_ours: dict[int, int] = {}
    probes = 0
    from flow.lvs.extract import inside_point

    for layer in layers:
        for k, poly in enumerate(nets.polygons[layer]):
            p = inside_point(poly) * kit.dbu_um
            kn = l2n.probe_net(regs[layer], db.DPoint(float(p[0]), float(p[1])))
            assert kn is not None, (layer, p)
            ours = int(nets.comp[layer][k])
            kid = kn.cluster_id
            assert ours_to_kl.setdefault(ours, kid) == kid, f"{layer} polygon at {p} um: one net for us, two for KLayout"
            assert kl_to_ours.setdefault(kid, ours) == ours, f"{layer} polygon at {p} um: two nets for us, one for KLayout"
            probes += 1
    assert probes > 100
    # every device terminal's net is a real net of KLayout's too
    assert len(ours_to_kl) == len(kl_to_ours) >= len(ex.netlist.nets) - 1


# ---------------------------------------------------------------------------
# single devices: parameters measured from geometry, every model of the kits
# ---------------------------------------------------------------------------


def _lib_with(kit, placements):
    lib = gdstk.Library(unit=1e-6, precision=1e-9)
    top = lib.new_cell("TOP")
    seen = set()
    for model, params, (x, y) in placements:
        cell = generate(kit, model, params).cell
        if cell.name not in seen:
            lib.add(cell)
            seen.add(cell.name)
        top.add(gdstk.Reference(cell, (x, y)))
    return lib


CASES = [
    ("gan650", "hemte", {"w": 120, "nf": 3, "l": 2, "lgd": 6, "lfp": 2, "lgfp": 1}),
    ("gan650", "hemtd", {"w": 30, "nf": 2, "l": 1.5, "lgd": 4}),
    ("gan650", "hemtek", {"w": 400, "nf": 4, "lgd": 10, "lfp": 4, "lgfp": 2}),
    ("gan650", "r2deg", {"r": 2000, "w": 10}),
    ("gan650", "r2deg", {"r": 50000, "w": 5}),  # folded serpentine
    ("gan650", "rtf", {"r": 300, "w": 8}),
    ("gan650", "sbd", {"w": 60, "nf": 3, "lac": 6}),
    ("gan650", "mim", {"c": 2e-12}),
    ("gan650", "pad", {"size": 100}),
    ("ganrf025", "hemt", {"w": 300, "nf": 6, "l": 0.5, "lgd": 4, "lfp": 0.5, "bsv": 1}),
    ("ganrf025", "tfr", {"r": 250, "w": 6}),
    ("ganrf025", "mim", {"c": 3.0}),
    ("ganrf025", "spiral", {"n": 4, "w": 12, "s": 6, "din": 90}),
    ("ganrf025", "spiral", {"n": 2, "w": 15, "s": 5, "din": 60, "wu": 60}),  # 2 x 2 INDV at each end
    ("ganrf025", "hemt", {"w": 400, "nf": 8, "lgd": 3, "wm2": 4.5}),  # MET2 straps
    ("gan650", "hemtek", {"w": 6000, "nf": 20, "wm2": 8.5}),
    ("ganrf025", "bsvgnd", {"n": 3}),
    ("ganrf025", "pad", {"size": 100}),
    ("ganrf025", "gsg", {"size": 70, "pitch": 150}),
    ("sic1200", "nmos", {"w": 60, "l": 3, "nf": 3}),
    ("sic1200", "pmos", {"w": 80, "l": 2, "nf": 4}),
    ("sic1200", "lmos", {"w": 400, "l": 2, "nf": 4, "ldrift": 30}),
    ("sic1200", "vmos", {"ncell": 5, "lcell": 150}),
    ("sic1200", "rpoly", {"r": 500, "w": 4}),
    ("sic1200", "rpoly", {"r": 100000, "w": 4}),  # folded serpentine
    ("sic1200", "pad", {"size": 120}),
]


@pytest.mark.parametrize("kitname,model,params", CASES, ids=[f"{k}-{m}-{i}" for i, (k, m, _) in enumerate(CASES)])
def test_single_device_parameters(kitname, model, params):
    kit = pdks.load(kitname)
    ex = extract(_lib_with(kit, [(model, params, (0, 0))]), kit)
    insts = [i for i in ex.netlist.instances if i.model == model]
    assert len(insts) == 1, [(i.model, i.params) for i in ex.netlist.instances]
    inst = insts[0]
    lv = kit.devices[model].lvs
    for p in lv.measure:
        want = params.get(p, kit.devices[model].params[p].default)
        spec = kit.devices[model].params[p]
        want_si = want * 1e-6 if spec.unit == "um" else want
        tol = max(lv.tolerance.get(p, 0.0), 1e-9)
        assert inst.params[p] == pytest.approx(want_si, rel=tol, abs=1e-15), (p, inst.params)
    # a lone device: each terminal on its own net except where the device ties them
    nets = set(inst.pins.values())
    assert len(nets) == len(inst.pins), inst.pins


def test_finger_count_change_is_measured():
    """Two HEMTs differing only in nf: the extractor tells them apart."""
    kit = pdks.load("gan650")
    lib = _lib_with(kit, [("hemte", {"w": 480, "nf": 48}, (0, 0)), ("hemte", {"w": 480, "nf": 40}, (0, 400))])
    ex = extract(lib, kit)
    assert sorted(i.params["nf"] for i in ex.netlist.instances) == [40, 48]
    assert all(i.params["w"] == pytest.approx(480e-6, rel=0.01) for i in ex.netlist.instances)


def test_kelvin_tie_keeps_two_nets():
    """hemtek: MET1 under NETTIE is cut, so s and ks are two nets; without the
    marker the same metal is one net and the device is a plain hemte."""
    kit = pdks.load("gan650")
    lib = _lib_with(kit, [("hemtek", {"w": 400, "nf": 4}, (0, 0))])
    ex = extract(lib, kit)
    (q,) = ex.netlist.instances
    assert q.model == "hemtek" and q.pins["s"] != q.pins["ks"]
    for c in lib.cells:
        if c.name.startswith("hemtek"):
            c.filter([(31, 0)], remove=True)
    ex2 = extract(lib, kit)
    (q2,) = ex2.netlist.instances
    assert q2.model == "hemte"


def test_labels_name_nets_and_unlabelled_nets_are_generated():
    kit = pdks.load("gan650")
    lib = _lib_with(kit, [("rtf", {"r": 300, "w": 8}, (0, 0))])
    top = [c for c in lib.cells if c.name == "TOP"][0]
    dev = generate(kit, "rtf", {"r": 300, "w": 8})
    pin = [p for p in dev.pins if p.terminal == "p"][0].rect
    x, y = (pin[0] + pin[2]) / 2000, (pin[1] + pin[3]) / 2000
    top.add(gdstk.Label("INP", (x, y), layer=10, texttype=10))
    ex = extract(lib, kit)
    (r,) = ex.netlist.instances
    assert r.pins["p"] == "INP"
    assert r.pins["n"].startswith("$MET1(") and r.pins["n"] in ex.unlabelled_nets
    assert ex.labels["INP"] == (("MET1", x, y),)
    assert ex.net_locations["INP"][0] == ("MET1", x, y)


def test_bridge_between_labelled_nets_keeps_both_names():
    kit = pdks.load("gan650")
    lib = _lib_with(kit, [("rtf", {"r": 300, "w": 8}, (0, 0))])
    top = [c for c in lib.cells if c.name == "TOP"][0]
    dev = generate(kit, "rtf", {"r": 300, "w": 8})
    pins = {p.terminal: p.rect for p in dev.pins}
    for t, name in (("p", "A"), ("n", "B")):
        r = pins[t]
        top.add(gdstk.Label(name, ((r[0] + r[2]) / 2000, (r[1] + r[3]) / 2000), layer=10, texttype=10))
    assert extract(lib, kit).aliases == {}
    # a MET1 bridge from pin p to pin n shorts the resistor
    top.add(gdstk.rectangle((pins["p"][0] / 1000, pins["p"][3] / 1000 - 2), (pins["n"][2] / 1000, pins["p"][3] / 1000 + 4), layer=10))
    ex = extract(lib, kit)
    (r,) = ex.netlist.instances
    assert r.pins["p"] == r.pins["n"] == "A"
    assert ex.aliases == {"A": ("A", "B")}
    assert any("carries 2 names A, B" in n for n in ex.notes)


def test_spice_text_reads_back_with_generated_names(tmp_path):
    kit = pdks.load("gan650")
    ex = extract(_lib_with(kit, [("sbd", {"w": 60, "nf": 3}, (0, 0))]), kit)
    text = spice_text(ex)
    (tmp_path / "x.sp").write_text(text)
    back = read_spice(tmp_path / "x.sp", root=tmp_path, kit=kit, top="TOP")
    assert dict(back.instances[0].pins) == dict(ex.netlist.instances[0].pins)


def test_bad_input(tmp_path):
    kit = pdks.load("gan650")
    bad = tmp_path / "bad.gds"
    bad.write_bytes(b"not a gds")
    with pytest.raises(InputError, match="not a readable GDS"):
        extract(bad, kit)
    lib = _lib_with(kit, [("pad", {}, (0, 0))])
    with pytest.raises(InputError, match="no cell named 'NOPE'"):
        extract(lib, kit, top="NOPE")
