"""End to end: every sample design runs clean, checked independently by KLayout.

For each folder in designs/ the flow runs once (module fixture); then KLayout
reads the GDS, re-checks every width/spacing/enclosure rule of the PDK on the
merged layers, and traces connectivity through the PDK's conducting layers to
prove every net is one connected piece and no two nets touch.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

klayout_db = pytest.importorskip("klayout.db")

import pdk as pdks  # noqa: E402
from flow.flow import run  # noqa: E402
from flow.geometry.layout import device_cells, net_pins  # noqa: E402

DESIGNS = Path(__file__).resolve().parents[1] / "designs"

DESIGN_DIRS = sorted(p for p in DESIGNS.iterdir() if (p / "design.toml").is_file())


@pytest.fixture(scope="module", params=DESIGN_DIRS, ids=lambda p: p.name)
def flow_run(request, tmp_path_factory):
    rundir = tmp_path_factory.mktemp(request.param.name)
    res = run(request.param, rundir)
    return res


def _oracle():
    """tests/pdk/kit_oracle.py (KLayout forms of the table and shape rule kinds)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("_kit_oracle", Path(__file__).parent / "pdk" / "kit_oracle.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _layout(res):
    ly = klayout_db.Layout()
    ly.read(str(res.rundir / res.design.outputs["gds"]))
    return ly


def test_lvs_clean(flow_run):
    """The layout (its GDS, extracted alone) is the circuit of the netlist."""
    m = json.loads((flow_run.rundir / "metrics.json").read_text())
    lvs = json.loads((flow_run.rundir / "lvs.json").read_text())
    assert (flow_run.rundir / "lvs.txt").is_file() and (flow_run.rundir / "lvs.lyrdb").is_file()
    assert lvs["summary"]["devices"]["source"] == m["instances"]
    assert m["lvs_clean"] is True, (m["lvs_status"], m["lvs_counts"], m["lvs_not_compared"])
    assert lvs["status"] == "match" and lvs["clean"] is True
    assert lvs["summary"]["devices"]["matched"] == lvs["summary"]["devices"]["source"]
    assert lvs["summary"]["nets"]["matched"] == lvs["summary"]["nets"]["source"]


def test_metrics_clean(flow_run):
    m = json.loads((flow_run.rundir / "metrics.json").read_text())
    for key in (
        "design", "pdk", "pdk_version", "pilotflow_version", "instances", "nets", "die_area_um2", "hpwl_um",
        "wirelength_um", "vias", "nets_routed", "nets_unrouted", "drc_violations", "lvs_clean", "stage_seconds",
    ):
        assert key in m, key
    assert m["nets_unrouted"] == 0, m["unrouted"]
    assert m["drc_violations"] == 0, m["drc_counts"]
    assert m["nets_routed"] > 0 and m["wirelength_um"] > 0 and m["vias"] > 0
    assert set(m["stage_seconds"]) == {"import", "floorplan", "place", "route", "drc", "lvs", "gds"}
    assert flow_run.exit_code == 0
    for f in ("drc.json", "drc.lyrdb", "report.html", f"{flow_run.design.top}.gds"):
        assert (flow_run.rundir / f).is_file(), f


def test_klayout_reads_gds(flow_run):
    ly = _layout(flow_run)
    assert ly.top_cell().name == flow_run.design.top
    assert abs(ly.dbu - 0.001) < 1e-12
    box = ly.top_cell().dbbox()
    die = flow_run.design.floorplan.die
    assert box.width() == pytest.approx((die[2] - die[0]) / 1000)


def test_gds_carries_versions(flow_run):
    import gdstk

    import flow

    lib = gdstk.read_gds(str(flow_run.rundir / flow_run.design.outputs["gds"]))
    kit = pdks.load(flow_run.design.pdk_name)
    assert lib.name == f"pilotflow-{flow.__version__} {kit.name}-{kit.version}"


def test_klayout_rule_check(flow_run):
    """Every width/spacing/enclosure (and max_width, wide_spacing, density,
    grid, angle, notch, extension, overlap, must_overlap, not_overlap, area,
    hole) rule re-checked by KLayout: zero markers."""
    kit = pdks.load(flow_run.design.pdk_name)
    ly = _layout(flow_run)
    top = ly.top_cell()

    def region(name):
        g = kit.layers[name].gds
        r = klayout_db.Region(top.begin_shapes_rec(ly.layer(g[0], g[1])))
        r.merge()
        return r

    regions = {n: region(n) for n in kit.layers}
    failures = {}
    checked = net_aware = 0
    for rule in kit.rules:
        d = kit.dbu(rule.value)
        a = regions[rule.layer]
        if rule.kind == "width":
            n = a.width_check(d).count()
        elif rule.kind == "spacing" and rule.other in (None, rule.layer):
            n = a.space_check(d).count()
        elif rule.kind == "spacing":
            n = a.separation_check(regions[rule.other], d).count()
        elif rule.kind == "enclosure":
            inner = regions[rule.other]
            n = a.enclosing_check(inner, d).count() + (inner - a).count()
        elif rule.kind in _oracle().TABLE_KINDS:
            ep, extra = _oracle().table_kind_markers(kit, rule, regions)
            n = ep.count() + extra.count()
        elif rule.kind in ("net_spacing", "voltage_spacing", "current_density"):
            # net-aware (the design's voltages/currents): pilotflow's DRC
            # checks them in the flow; see tests/drc/test_kinds_nets.py
            net_aware += 1
            continue
        elif rule.kind in _oracle().SHAPE_KINDS:
            ep, extra = _oracle().shape_kind_markers(kit, rule, regions)
            n = ep.count() + extra.count()
        else:
            continue
        checked += 1
        if n:
            failures[rule.id] = n
    assert checked + net_aware == len(kit.rules)
    assert failures == {}


def _trace(res, kit, cut_ties: bool) -> tuple[list[str], dict, set]:
    """KLayout connectivity over the design's GDS: (opens and shorts, net -> cluster,
    nets whose pins are all off the traced stack, e.g. a backside drain).

    ``cut_ties``: remove each net-tie marker's conductor under the marker
    first (``net_tie`` layers, e.g. gan650's NETTIE inside hemtek), as LVS does.
    """
    design = res.design
    ly = _layout(res)
    top = ly.top_cell()
    ly.flatten(top.cell_index(), -1, True)
    if cut_ties:
        for lay in kit.layers.values():
            if lay.net_tie:
                g, m = kit.layers[lay.net_tie].gds, lay.gds
                li = ly.layer(g[0], g[1])
                metal = klayout_db.Region(top.begin_shapes_rec(li)) - klayout_db.Region(top.begin_shapes_rec(ly.layer(m[0], m[1])))
                polys = list(metal.each())  # materialise before the source shapes go
                top.shapes(li).clear()
                for poly in polys:
                    top.shapes(li).insert(poly)
    l2n = klayout_db.LayoutToNetlist(klayout_db.RecursiveShapeIterator(ly, top, []))
    layers = {}
    for name, lay in kit.layers.items():
        layers[name] = l2n.make_layer(ly.layer(lay.gds[0], lay.gds[1]), name)
    for group in kit.connect:
        for name in group:
            l2n.connect(layers[name])
        if len(group) == 2:
            l2n.connect(layers[group[0]], layers[group[1]])
        else:
            l2n.connect(layers[group[0]], layers[group[1]])
            l2n.connect(layers[group[1]], layers[group[2]])
    l2n.extract_netlist()

    cells = device_cells(design, kit)
    owner: dict[int, str] = {}
    seen: dict[str, int] = {}
    problems = []
    traced = {name for group in kit.connect for name in group}
    off_stack: set[str] = set()
    for net, inst, term, layer, r in net_pins(design, kit, cells):
        if layer not in traced:
            off_stack.add(net)  # an off-stack pin (sic1200 vmos backside drain): no front-side metal to trace
            continue
        pt = klayout_db.DPoint((r[0] + r[2]) / 2 * kit.dbu_um, (r[1] + r[3]) / 2 * kit.dbu_um)
        probed = l2n.probe_net(layers[layer], pt)
        assert probed is not None, f"{inst}.{term} ({net}) has no metal at its pin"
        cid = probed.cluster_id
        if net in seen and seen[net] != cid:
            problems.append(f"open: {net} pin {inst}.{term} is on another piece of metal")
        seen.setdefault(net, cid)
        if owner.setdefault(cid, net) != net:
            problems.append(f"short: {net} ({inst}.{term}) touches {owner[cid]}")
    return problems, seen, off_stack - set(seen)


def test_every_net_one_piece(flow_run):
    """KLayout connectivity: all pins of a net on one net, no two nets joined."""
    design = flow_run.design
    kit = pdks.load(design.pdk_name)
    problems, seen, off_stack = _trace(flow_run, kit, cut_ties=True)
    assert problems == []
    assert set(seen) == {n for n in design.netlist.nets if len(design.netlist.net_pins[n]) > 0} - off_stack


def test_route_report_matches_net_classes(flow_run):
    """route.json: every classed net's widths, cuts and current density, consistent
    with its class and the kit's limits; metrics carry the per-net worst."""
    kit = pdks.load(flow_run.design.pdk_name)
    cfg = flow_run.design.config
    report = json.loads((flow_run.rundir / "route.json").read_text())
    m = json.loads((flow_run.rundir / "metrics.json").read_text())
    jmax = report["limits"]["jmax_ma_per_um"]
    assert set(jmax) == set(kit.routing_metals)
    classed = {n for n in flow_run.design.routing.wires if cfg.net_class(n) is not None}
    assert set(report["nets"]) == classed
    worst = m["current_density_worst"]
    for net, r in report["nets"].items():
        nc = cfg.net_class(net)
        assert r["current_a"] == nc.current and r["voltage_v"] == nc.voltage
        for layer, w in r["width_um"].items():
            assert w >= kit.min_width(layer)
        cd = r["current_density"]
        if nc.current:
            # the worst density is the current over the narrowest-for-its-limit metal drawn
            ratios = {layer: nc.current * 1000 / w / jmax[layer] for layer, w in r["width_um"].items()}
            assert cd["ratio"] == pytest.approx(max(ratios.values()), abs=1e-3)  # rounded to 3 places
            assert worst[net]["ratio"] == cd["ratio"]
            # per metal and per via array too, the worst of each in metrics
            assert set(cd["layers"]) == set(r["width_um"])
            assert max(x["ratio"] for x in cd["layers"].values()) == cd["ratio"]
            assert worst[net]["via_ratio"] == max((v["ratio"] for v in cd["vias"].values()), default=None)
            for cut, v in cd["vias"].items():
                assert v["cuts"] == r["cuts"][cut]
                assert v["ma_per_cut"] == pytest.approx(nc.current * 1000 / v["cuts"], abs=1e-3)
            # a net drawn at least as wide as it needs is within the limit
            if all(r["width_um"][layer] >= r["need_width_um"][layer] for layer in r["width_um"]):
                assert cd["ratio"] <= 1.0 + 1e-9
        else:
            assert net not in worst


def test_net_ties_join_only_their_terminals(flow_run):
    """Without cutting the net ties, the only shorts are between the two nets
    of a tying device's terminals (gan650 hemtek: s and ks), so the cut is
    what separates them, and it hides nothing else."""
    design = flow_run.design
    kit = pdks.load(design.pdk_name)
    cells = device_cells(design, kit)
    tied = set()
    for inst in design.netlist.instances:
        dc = cells[inst.name]
        for lay in kit.layers.values():
            if not lay.net_tie:
                continue
            marks = [p.bounding_box() for p in dc.cell.get_polygons(layer=lay.gds[0], datatype=lay.gds[1])]
            u = kit.dbu_um
            terms = {
                c.terminal
                for c in dc.conductors
                if c.layer == lay.net_tie
                for (a, b), (e, f) in marks
                if c.rect[0] * u <= e and a <= c.rect[2] * u and c.rect[1] * u <= f and b <= c.rect[3] * u
            }
            nets = frozenset(inst.pins[x] for x in terms)
            if len(nets) == 2:
                tied.add(nets)
    problems, _, _ = _trace(flow_run, kit, cut_ties=False)
    shorts = {frozenset((p.split()[1], p.split()[-1])) for p in problems if p.startswith("short:")}
    assert all(p.startswith("short:") for p in problems), problems
    assert shorts == tied



def test_seal_ring_and_scribe(flow_run):
    """Designs with ``[floorplan] seal_ring``: in the GDS (read by KLayout),
    the scribe lane between the die edge and the ring is empty, the ring is
    a closed MET1 / MET2 wall (one polygon with one hole) with VIA1 trenches,
    and every other shape lies inside the ring's inner edge, at least the
    layer's spacing away from it."""
    cfg = flow_run.design.config
    if not cfg.seal_ring:
        pytest.skip(f"{cfg.name} has no seal ring")
    kit = pdks.load(flow_run.design.pdk_name)
    ly = _layout(flow_run)
    top = ly.top_cell()
    fp = flow_run.design.floorplan
    die = klayout_db.Box(*fp.die)
    s = kit.dbu(cfg.scribe)
    outer = die.enlarged(-s, -s)
    band = kit.dbu(kit.device(fp.seal_ring.model).params["width"].default)
    inner = outer.enlarged(-band, -band)

    def region(name: str) -> klayout_db.Region:
        g = kit.layers[name].gds
        return klayout_db.Region(top.begin_shapes_rec(ly.layer(g[0], g[1]))).merged()

    boundary = [n for n, lay in kit.layers.items() if lay.purpose == "boundary"]
    assert region(boundary[0]).bbox() == die
    everything = klayout_db.Region()
    for name in kit.layers:
        if name not in boundary:
            everything += region(name)
    assert (everything - klayout_db.Region(outer)).is_empty(), "shapes in the scribe lane"
    ring_band = klayout_db.Region(outer) - klayout_db.Region(inner)
    for metal in ("MET1", "MET2"):
        walls = [p for p in region(metal).each() if p.bbox() == outer]
        assert len(walls) == 1 and walls[0].holes() == 1, metal
        assert (klayout_db.Region(walls[0]) ^ ring_band).is_empty(), metal
        rest = region(metal) - ring_band
        gap = kit.dbu(kit.min_spacing(metal))
        assert (rest - klayout_db.Region(inner.enlarged(-gap, -gap))).is_empty(), f"{metal} closer than its spacing to the ring"
    assert (region("VIA1") & ring_band).count() >= 2


def test_placement_is_legal(flow_run):
    """The legality checker on every sample design's placement, rebuilt from
    the design (overlaps, spacing, core, grid, fences, keepouts, voltage
    keep-outs, thermal spacing), and the place stage's reports."""
    from flow.stages.place import check_placement

    design = flow_run.design
    kit = pdks.load(design.pdk_name)
    assert check_placement(design, kit) == []
    report = json.loads((flow_run.rundir / "02-place" / "place.json").read_text())
    assert report["violations"] == []
    assert report["hpwl_um"] == pytest.approx(json.loads((flow_run.rundir / "metrics.json").read_text())["hpwl_um"])
    assert (flow_run.rundir / "02-place" / "density.svg").read_text().lstrip().startswith("<svg")
    # and the checker is not blind: two devices on top of each other are caught
    names = [i.name for i in design.netlist.instances]
    moved = dict(design.placement.positions)
    moved[names[1]] = moved[names[0]]
    import dataclasses

    broken = dataclasses.replace(design, placement=dataclasses.replace(design.placement, positions=moved))
    assert any("overlap" in p for p in check_placement(broken, kit))


def _routed_regions(res, kit):
    """KLayout regions of the routed metal per (net, layer), taken from the GDS's
    top cell (where the router's wires are; devices are subcells), after
    checking that the top cell holds exactly the wires the route stage claims."""
    ly = _layout(res)
    top = ly.top_cell()
    wires = res.design.routing.wires
    out = {}
    for layer in kit.routing:
        g = kit.layers[layer].gds
        in_gds = klayout_db.Region(top.shapes(ly.layer(g[0], g[1]))).merged()
        claimed = klayout_db.Region()
        for net, ws in wires.items():
            reg = klayout_db.Region()
            for w in ws:
                if w.layer == layer:
                    reg.insert(klayout_db.Box(*w.rect))
            reg.merge()
            claimed += reg
            out[(net, layer)] = reg & in_gds
        assert (in_gds ^ claimed.merged()).is_empty(), f"{layer}: top-cell metal differs from the routed wires"
    return out


def test_routed_metal_carries_each_net_current(flow_run):
    """Every net with a current, sized for it (design.toml [route]
    size_for_current): route.json gives widths >= current / jmax on each metal
    it uses and >= current / imax cuts at each layer change, and KLayout finds
    the same in the GDS: no straight part of the net's routed metal (with the
    pins it lands on; parts wholly in a pin are the device's) narrower
    than its need (width check, projection metrics), and every group of cuts
    joining one lower and one upper piece of the net (the routed cuts with
    the device cuts joining the same pieces) at least the cuts needed."""
    design = flow_run.design
    cfg = design.config
    if not cfg.size_for_current:
        pytest.skip(f"{design.name}: [route] size_for_current = false (minimum widths)")
    kit = pdks.load(design.pdk_name)
    report = json.loads((flow_run.rundir / "route.json").read_text())["nets"]
    regions = _routed_regions(flow_run, kit)
    metals, cuts = kit.routing_metals, kit.routing_cuts
    ly = _layout(flow_run)
    top = ly.top_cell()

    def merged(layer, recursive=True):
        g = kit.layers[layer].gds
        li = ly.layer(g[0], g[1])
        return klayout_db.Region(top.begin_shapes_rec(li) if recursive else top.shapes(li)).merged()

    # the pins each net lands on: a wire (or a junction fill) overlapping a
    # pin is measured together with it, and parts lying wholly in the pins
    # or in device metal (metal drawn in the device cells) are the device's
    from flow.stages.route import route_inputs

    pins: dict[tuple[str, str], klayout_db.Region] = {}
    for net, terms in route_inputs(design, kit)[1].items():
        for alts in terms:
            for p in alts:
                pins.setdefault((net, p.layer), klayout_db.Region()).insert(klayout_db.Box(*p.rect))
    device: dict[str, klayout_db.Region] = {}
    for layer in metals:
        g = kit.layers[layer].gds
        it = klayout_db.RecursiveShapeIterator(ly, top, ly.layer(g[0], g[1]))
        it.unselect_all_cells()
        it.select_cells([c.cell_index() for c in ly.each_cell() if c.cell_index() != top.cell_index()])
        device[layer] = klayout_db.Region(it).merged()
    checked = 0
    for net, r in sorted(report.items()):
        if not r["current_a"]:
            continue
        for layer, w in r["width_um"].items():
            assert w >= r["need_width_um"][layer] - 1e-9, (net, layer)
        for cut, n in r["cuts"].items():
            assert n >= r["need_cuts"][cut], (net, cut)
        assert r["current_density"]["ratio"] <= 1.0 + 1e-9, net
        for layer in metals:
            reg = regions[(net, layer)]
            need = kit.dbu(r["need_width_um"][layer])
            if reg.is_empty() or need <= kit.dbu(kit.min_width(layer)):
                continue
            pin = pins.get((net, layer), klayout_db.Region()).merged()
            theirs = (pin + device[layer]).merged()
            narrow = [ep for ep in (reg + pin).merged().width_check(need, False, klayout_db.Metrics.Projection).each()
                      if not (klayout_db.Region(ep.polygon(0)) - theirs).is_empty()]
            assert not narrow, f"{net} on {layer}: parts narrower than {need / 1000} um: {narrow[:3]}"
            checked += 1
    # cut groups from the GDS: the routed cuts of each net, grouped by the
    # (merged, whole-layout) lower and upper pieces they join
    for c, cut in enumerate(cuts):
        lower = list(merged(metals[c]).each())
        upper = list(merged(metals[c + 1]).each())
        for net, r in sorted(report.items()):
            need = r["need_cuts"].get(cut, 1)
            cut_reg = regions.get((net, cut))
            if not r["current_a"] or need <= 1 or cut_reg is None or cut_reg.is_empty():
                continue
            groups = {}
            for box in cut_reg.each():
                one = klayout_db.Region(box)
                lo = next(i for i, p in enumerate(lower) if not (klayout_db.Region(p) & one).is_empty())
                up = next(i for i, p in enumerate(upper) if not (klayout_db.Region(p) & one).is_empty())
                groups[(lo, up)] = groups.get((lo, up), 0) + 1
            # every cut joining the same two pieces counts, the device's own
            # too (a strapped HEMT's VIA1 along its MET2 straps), as the DRC counts
            every = merged(cut)
            for lo, up in groups:
                groups[(lo, up)] = every.interacting(klayout_db.Region(lower[lo])).interacting(klayout_db.Region(upper[up])).count()
            assert min(groups.values()) >= need, f"{net}: {cut} groups {sorted(groups.values())}, need {need}"
            checked += 1
    if any(r["current_a"] and r["wide"] for r in report.values()):
        assert checked > 0


def test_nets_keep_voltage_clearance(flow_run):
    """On each routing metal, the routed metal and pins of two nets with
    known voltages are at least the kit's clearance for their voltage
    difference apart (KLayout separation check on the GDS's routed wires
    and the placed pins)."""
    from flow.geometry.layout import device_cells, net_pins
    from flow.route.netclass import clearance, has_voltage_rules

    design = flow_run.design
    kit = pdks.load(design.pdk_name)
    if not has_voltage_rules(kit, kit.routing_metals):
        pytest.skip(f"{kit.name} has no voltage_spacing rule on {'/'.join(kit.routing_metals)}: clearance is the basic spacing (DRC)")
    cfg = design.config
    volt = {n: cfg.net_class(n).voltage for n in design.routing.wires if cfg.net_class(n) is not None}
    volt = {n: v for n, v in volt.items() if v is not None}
    regions = _routed_regions(flow_run, kit)
    pins = {}
    for net, _inst, _term, layer, rect in net_pins(design, kit, device_cells(design, kit)):
        pins.setdefault((net, layer), klayout_db.Region()).insert(klayout_db.Box(*rect))
    bad = []
    pairs = 0
    for layer in kit.routing_metals:
        nets = sorted(volt)
        for i, a in enumerate(nets):
            ra = regions.get((a, layer), klayout_db.Region())
            if ra.is_empty():
                continue
            for b in nets:
                if b == a:
                    continue
                s = clearance(kit, layer, volt[a], volt[b])
                if s <= kit.dbu(kit.min_spacing(layer)):
                    continue
                rb = (regions.get((b, layer), klayout_db.Region()) + pins.get((b, layer), klayout_db.Region())).merged()
                pairs += 1
                n = ra.separation_check(rb, s).count()
                if n:
                    bad.append(f"{a}-{b} on {layer}: {n} places closer than {s / 1000} um")
    assert bad == []


def test_postlayout_netlists_in_run_dir(flow_run):
    """The lvs stage leaves the extracted circuit and the post-layout netlist
    (devices plus wiring R and C) in the run directory; the extracted one
    reads back with the SPICE reader with the design's device count."""
    from flow.netlist.spice import read_spice

    top = flow_run.design.top
    post = (flow_run.rundir / f"{top}.post.sp").read_text()
    assert f".subckt {top}".lower() in post.lower()
    elements = [l.split()[0][0].upper() for l in post.splitlines() if l.strip() and not l.lstrip().startswith(("*", "."))]
    assert elements.count("R") > 0 and elements.count("C") > 0
    kit = pdks.load(flow_run.design.pdk_name)
    ex = read_spice(flow_run.rundir / f"{top}.extracted.sp", root=flow_run.rundir, kit=kit, top=top)
    assert len(ex.instances) >= flow_run.design.netlist.instances.__len__()


def test_report_renders_in_chromium(flow_run, tmp_path):
    """report.html opened from disk in headless Chromium: no script error and
    nothing the page's security policy had to block (console empty); the
    layout picture and the DRC table are in the rendered DOM; the picture
    has exactly the layers KLayout finds shapes on in the GDS, each where
    KLayout puts it."""
    import re

    from browser import render

    from flow.report.pictures import _PAD

    dom, console = render(flow_run.rundir / "report.html", tmp_path)
    assert console == [], console
    html_tag = re.search(r"<html[^>]*>", dom).group(0)
    assert "data-js-error" not in html_tag and "data-alert" not in html_tag, html_tag
    assert re.search(r'<svg [^>]*id="layout-picture"', dom)
    assert 'id="drc-table"' in dom and 'id="lvs-table"' in dom and 'id="congestion-map"' in dom
    assert re.search(r'<img id="density-map" alt="[^"]+" src="data:image/svg\+xml;base64,', dom)
    kit = pdks.load(flow_run.design.pdk_name)
    assert f"PDK <b>{kit.name}</b> version <b>{kit.version}</b>" in dom
    drawn = dict(re.findall(r'<path class="layer" data-layer="([^"]+)" d="([^"]+)"', dom))
    ly = _layout(flow_run)
    top = ly.top_cell()
    die = flow_run.design.floorplan.die
    s = 900 / max(die[2] - die[0], die[3] - die[1])  # px per dbu (layout_picture's default size)
    present = {}
    for name, lay in kit.layers.items():
        r = klayout_db.Region(top.begin_shapes_rec(ly.layer(*lay.gds)))
        if not r.is_empty():
            present[name] = r.bbox()
    assert set(drawn) == set(present)
    for name, box in present.items():
        xy = np.array([int(v) for v in re.findall(r"-?\d+", drawn[name])]).reshape(-1, 2) / 10.0
        want = (_PAD + (box.left - die[0]) * s, _PAD + (die[3] - box.top) * s, _PAD + (box.right - die[0]) * s, _PAD + (die[3] - box.bottom) * s)
        got = (xy[:, 0].min(), xy[:, 1].min(), xy[:, 0].max(), xy[:, 1].max())
        assert np.allclose(got, want, atol=1.5), (name, got, want)
