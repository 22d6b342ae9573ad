"""Independent check of a routed DEF with KLayout (``klayout.db``).

KLayout's own LEF/DEF reader turns LEF + DEF into a layout (macro pins and
obstructions from the LEF, NETS and SPECIALNETS wiring and vias from the
DEF); then, from the LEF rules:

* per routing layer (all shapes merged: wires, vias, pins, obstructions,
  special wiring): minimum **width**, minimum **spacing** (Euclidean) and
  the width-dependent spacing of a ``SPACINGTABLE PARALLELRUNLENGTH``
  (shapes at least that wide, parallel run at least that long), minimum
  **area** where the LEF gives ``AREA``;
* per routing layer, **end-of-line spacing** (``SPACING s ENDOFLINE w
  WITHIN d`` and the same in a ``LEF58_SPACING`` property): an edge shorter
  than ``w`` with two convex corners needs ``s`` in front of it, over the
  edge extended by ``d`` at both ends; metal overlapping that window is a
  marker (``<layer>.eol``).  A rule with options the check does not model
  (``PARALLELEDGE``, ``ENDTOEND``, ...) is listed in ``not_checked``;
* per cut layer: cut **spacing**, and **enclosure**: every cut lies inside
  the metal below and above it (``<cut>.enclosure(<metal>)``), and the metal
  overhangs it by the LEF's **minimum via enclosure** (``<cut>.overhang(<metal>)``):
  ``overhang1`` on two opposite sides and ``overhang2`` on the other two,
  either way round, meeting at least one of the allowed pairs.  The pairs come
  from the cut layer's ``ENCLOSURE [ABOVE|BELOW] o1 o2`` statements (and
  ``LEF58_ENCLOSURE``); without them, from the ``VIARULE ... GENERATE``
  ``ENCLOSURE`` of that metal and cut; without those, from how the LEF's
  ``DEFAULT`` fixed vias enclose their cuts (``enclosure_rules`` says which);
  an enclosure rule with a ``WIDTH``/``LENGTH`` condition is listed in
  ``not_checked``;
* **connectivity** on the flattened layout (``LayoutToNetlist``, metal and
  cut layers joined as the LEF stacks them, obstructions not conducting):
  a net whose pins fall in more than one piece is **open**; two DEF nets
  (signal or special) in one piece are a **short**.

The same checks run on the design without its NETS wiring: what that
already shows (e.g. spacing-table findings inside library cells) is reported
apart as ``baseline``; only the markers the routing adds are counted as
``violations``.

Needs the ``klayout`` Python package (a test dependency of pilotflow).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from flow.lefdef.def_ import read_def
from flow.lefdef.lef import read_lef


@dataclass
class CheckReport:
    nets: int  # signal nets with two or more pins
    routed: int  # of those, nets with routing in the DEF
    wirelength_um: float
    vias: int
    violations: dict[str, int] = field(default_factory=dict)  # rule -> count (touching routed shapes)
    baseline: dict[str, int] = field(default_factory=dict)  # rule -> count not touching routed shapes
    opens: list[str] = field(default_factory=list)
    shorts: list[tuple[str, str]] = field(default_factory=list)
    not_checked: list[str] = field(default_factory=list)
    #: "<cut> by <metal>" -> where its minimum enclosure came from and the pairs (um)
    enclosure_rules: dict[str, str] = field(default_factory=dict)
    markers: list[tuple[str, tuple[float, float]]] = field(default_factory=list)  # first few, (rule, (x, y) um)

    @property
    def drc_total(self) -> int:
        return sum(self.violations.values())


def _read(lefs: list[str], def_path: str, dbu_per_um: int, routing: bool = True):
    import shutil
    import tempfile

    import klayout.db as kdb

    if not str(def_path).lower().endswith(".def"):  # KLayout picks the reader by the suffix
        tmp = Path(tempfile.mkdtemp(prefix="klcheck.")) / (Path(def_path).stem + ".def")
        shutil.copyfile(def_path, tmp)
        def_path = str(tmp)

    ly = kdb.Layout()
    opt = kdb.LoadLayoutOptions()
    c = opt.lefdef_config
    c.dbu = 1.0 / dbu_per_um
    c.lef_files = [str(Path(f).resolve()) for f in lefs]
    c.read_lef_with_def = False
    c.macro_resolution_mode = 1  # LEF geometry for every macro
    c.produce_pins = True
    c.produce_lef_pins = True
    c.produce_obstructions = True
    c.produce_special_routing = True
    c.produce_routing = routing
    c.produce_via_geometry = True
    c.produce_labels = False
    c.produce_lef_labels = False
    ly.read(str(def_path), opt)
    return ly


def _layer_regions(ly, name: str, conducting_only: bool):
    import klayout.db as kdb

    top = ly.top_cell()
    r = kdb.Region()
    routed = kdb.Region()
    for li in ly.layer_indexes():
        info = ly.get_info(li)
        base, _, purpose = info.name.partition(".")
        if base != name or purpose in ("LABEL", "LEFLABEL"):
            continue
        if conducting_only and purpose in ("OBS", "BLK", "BLOCKAGE"):
            continue
        part = kdb.Region(top.begin_shapes_rec(li))
        r += part
        if purpose == "":
            routed += part
    return r.merged(), routed


def check_routed_def(lefs: list[str], def_path: str, *, max_markers: int = 20) -> CheckReport:
    """Check ``def_path`` (with its LEF files) as described in the module docstring."""
    import klayout.db as kdb

    lib = None
    for f in lefs:
        lib = read_lef(f, lib)
    d = read_def(def_path)
    dbu = d.dbu
    ly = _read(lefs, def_path, dbu)
    top = ly.top_cell()
    top.flatten(True)
    ly0 = _read(lefs, _unrouted_copy(d), dbu)
    ly0.top_cell().flatten(True)
    layers = list(lib.layers.values())
    routing = [lay for lay in layers if lay.type == "ROUTING"]
    cuts = [lay for lay in layers if lay.type == "CUT"]
    rep = CheckReport(nets=0, routed=0, wirelength_um=0.0, vias=0)
    sig = [n for n in d.nets if n.use not in ("POWER", "GROUND") and len(n.conns) >= 2]
    rep.nets = len(sig)
    rep.routed = sum(1 for n in sig if n.raw and "ROUTED" in n.raw.split())
    wl, nv = _wire_stats(d)
    rep.wirelength_um, rep.vias = wl / dbu, nv
    um = 1.0 / dbu

    order = [lay.name for lay in layers]
    overhangs: dict[tuple[str, str], tuple[list[tuple[float, float]], str]] = {}
    for cut in cuts:
        k = order.index(cut.name)
        below = next((lay for lay in reversed(layers[:k]) if lay.type == "ROUTING"), None)
        above = next((lay for lay in layers[k + 1 :] if lay.type == "ROUTING"), None)
        for m, side in ((below, "BELOW"), (above, "ABOVE")):
            if m is None:
                continue
            pairs, src, skipped = enclosure_pairs(lib, cut, m, side)
            overhangs[(cut.name, m.name)] = (pairs, src)
            if pairs:
                rep.enclosure_rules[f"{cut.name} by {m.name}"] = f"{src}: " + ", ".join(f"{a:g} {b:g}" for a, b in pairs)
            for e in skipped:
                item = f"via enclosure {e} ({cut.name} by {m.name})"
                if item not in rep.not_checked:
                    rep.not_checked.append(item)

    def markers(layout) -> dict[str, list]:
        """rule -> marker boxes of one layout."""
        out: dict[str, list] = {}

        def add(rule, boxes):
            if boxes:
                out.setdefault(rule, []).extend(boxes)

        def eps(ep):
            return [e.bbox() for e in ep.each()]

        for lay in routing:
            allr, _ = _layer_regions(layout, lay.name, conducting_only=False)
            if allr.is_empty():
                continue
            w = int(round(lay.width * dbu))
            s = int(round(lay.spacing * dbu))
            if w > 0:
                add(f"{lay.name}.width", eps(allr.width_check(w)))
            if s > 0:
                add(f"{lay.name}.spacing", eps(allr.space_check(s)))
            if lay.spacing_table is not None:
                prl, rows = lay.spacing_table
                for wmin, vals in rows:
                    if wmin <= lay.width + 1e-9:
                        continue
                    half = int(round(wmin * dbu / 2)) - 1
                    wide = allr.sized(-half).sized(half) & allr
                    if wide.is_empty():
                        continue
                    for p, v in zip(prl, vals):
                        sv = int(round(v * dbu))
                        if sv <= s:
                            continue
                        ep = wide.separation_check(allr - wide.sized(1), sv, False, kdb.Metrics.Euclidian, None, int(round(p * dbu)) if p > 0 else None)
                        add(f"{lay.name}.spacing_table", eps(ep))
            if lay.area > 0:
                amin = lay.area * dbu * dbu
                add(f"{lay.name}.area", [p.bbox() for p in allr.each() if p.area() < amin])
            for rule in lay.eol_rules:
                if not rule.other:
                    add(f"{lay.name}.eol", eol_markers(allr, int(round(rule.space * dbu)), int(round(rule.width * dbu)), int(round(rule.within * dbu))))
        for cut in cuts:
            k = order.index(cut.name)
            below = next((lay for lay in reversed(layers[:k]) if lay.type == "ROUTING"), None)
            above = next((lay for lay in layers[k + 1 :] if lay.type == "ROUTING"), None)
            cr, _ = _layer_regions(layout, cut.name, conducting_only=True)
            if cr.is_empty():
                continue
            sp = int(round(cut.spacing * dbu))
            if sp > 0:
                add(f"{cut.name}.spacing", eps(cr.space_check(sp)))
            for m in (below, above):
                if m is None:
                    continue
                mr, _ = _layer_regions(layout, m.name, conducting_only=False)
                add(f"{cut.name}.enclosure({m.name})", [p.bbox() for p in cr.not_inside(mr).each()])
                pairs = overhangs[(cut.name, m.name)][0]
                if pairs:
                    # a cut not inside the metal at all is the marker above, once
                    opts = [(int(round(a * dbu)), int(round(b * dbu))) for a, b in pairs]
                    add(f"{cut.name}.overhang({m.name})", overhang_markers(cr.inside(mr), mr, opts))
        return out

    after = markers(ly)
    before = markers(ly0)
    for rule, boxes in after.items():
        old = Counter(before.get(rule, []))
        new = []
        for b in boxes:
            if old[b] > 0:
                old[b] -= 1
            else:
                new.append(b)
        if new:
            rep.violations[rule] = len(new)
            for b in new[: max(0, max_markers - len(rep.markers))]:
                c = b.center()
                rep.markers.append((rule, (c.x * um, c.y * um)))
        if len(boxes) - len(new):
            rep.baseline[rule] = len(boxes) - len(new)
    for lay in routing:
        for rule in lay.eol_rules:
            item = f"end-of-line spacing with {' '.join(rule.other)} ({lay.name}, {rule.source})"
            if rule.other and item not in rep.not_checked:
                rep.not_checked.append(item)
    rep.opens, rep.shorts = _connectivity(ly, d, lib, layers)
    rep.not_checked.append("minimum step, notch and antenna rules")
    return rep


def eol_markers(metal, space: int, width: int, within: int) -> list:
    """Boxes of the end-of-line windows of ``metal`` (a merged Region, dbu)
    that other metal overlaps: every edge shorter than ``width`` whose two
    corners are convex, extended by ``within`` at both ends and ``space``
    outwards.  Metal touching a window's far side (exactly ``space`` away)
    is not a violation."""
    import klayout.db as kdb

    if space <= 0 or width <= 0:
        return []
    ends = metal.edges(kdb.EdgeMode.Convex).with_length(0, width, False)
    if ends.is_empty():
        return []
    # hull edges run clockwise: the "outside" extension is in front of the edge
    win = ends.extended(within, within, space, 0, False)
    win.merged_semantics = False
    return [p.bbox() for p in win.overlapping(metal).each()]


def overhang_markers(cuts, metal, pairs: list[tuple[int, int]]) -> list:
    """Boxes of the cuts (a merged Region, dbu) that ``metal`` does not
    enclose by any of ``pairs`` (``(o1, o2)``: o1 on two opposite sides, o2
    on the other two, either way round).  A cut is taken by its bounding box."""
    boxes = [p.bbox() for p in cuts.each()]
    ok: set = set()
    grown_pairs = {(a, b) for a, b in pairs} | {(b, a) for a, b in pairs}
    import klayout.db as kdb

    for a, b in sorted(grown_pairs):
        grown = kdb.Region([bx.enlarged(a, b) for bx in boxes if bx not in ok])
        grown.merged_semantics = False
        for poly in grown.inside(metal).each():
            ok.add(poly.bbox().enlarged(-a, -b))
    return [bx for bx in boxes if bx not in ok]


def enclosure_pairs(lib, cut, metal, side: str) -> tuple[list[tuple[float, float]], str, list[str]]:
    """The allowed (overhang1, overhang2) pairs (um) of ``metal`` around a cut
    of ``cut`` (``side``: ``BELOW``/``ABOVE``, where the metal is), where they
    came from, and the rules not checked (conditional ones).  See the module
    docstring for the order of the sources."""
    rules = [e for e in cut.enclosures if e.side in ("", side)]
    skipped = sorted({f"{e.source} {' '.join(e.other)}" for e in rules if e.other})
    plain = [e for e in rules if not e.other]
    if plain:
        src = "/".join(sorted({e.source for e in plain}))
        return _minimal([(e.overhang1, e.overhang2) for e in plain]), f"LAYER {cut.name} {src}", skipped
    gen = [r for r in lib.viarules.values() if r.generate and r.cut == cut.name and metal.name in r.enclosure]
    if gen:
        return _minimal([r.enclosure[metal.name] for r in gen]), "VIARULE GENERATE " + ", ".join(sorted(r.name for r in gen)), skipped
    pairs: list[tuple[float, float]] = []
    names: list[str] = []
    for v in lib.vias.values():
        if not v.default:
            continue
        crs = [r[1:] for r in v.rects if r[0] == cut.name]
        mrs = [r[1:] for r in v.rects if r[0] == metal.name]
        if not crs or not mrs:
            continue
        ox = oy = None
        for c in crs:
            # the via's metal rectangle that encloses this cut best
            inside = [m for m in mrs if m[0] <= c[0] + 1e-9 and m[1] <= c[1] + 1e-9 and m[2] >= c[2] - 1e-9 and m[3] >= c[3] - 1e-9]
            if not inside:
                ox = None
                break
            best = max(inside, key=lambda m: min(c[0] - m[0], m[2] - c[2]) + min(c[1] - m[1], m[3] - c[3]))
            cx, cy = min(c[0] - best[0], best[2] - c[2]), min(c[1] - best[1], best[3] - c[3])
            ox = cx if ox is None else min(ox, cx)
            oy = cy if oy is None else min(oy, cy)
        if ox is not None:
            pairs.append((round(ox, 6), round(oy, 6)))
            names.append(v.name)
    if pairs:
        return _minimal(pairs), "DEFAULT vias " + ", ".join(sorted(names)), skipped
    return [], "", skipped


def _minimal(pairs: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The pairs (each taken as (smaller, larger): either way round is
    allowed) that no smaller pair makes redundant, sorted."""
    norm = sorted({(min(a, b), max(a, b)) for a, b in pairs})
    return [q for q in norm if not any(p != q and p[0] <= q[0] and p[1] <= q[1] for p in norm)]


def _unrouted_copy(d) -> str:
    """A temporary copy of DEF ``d`` without its NETS wiring."""
    import copy
    import tempfile

    from flow.lefdef.def_ import write_def

    d0 = copy.copy(d)
    nets = []
    for n in d.nets:
        m = copy.copy(n)
        if n.raw and "ROUTED" in n.raw.split():
            words = n.raw.split("+ ROUTED")[0].rstrip()
            m.raw = words + " ;"
        nets.append(m)
    d0.nets = nets
    path = Path(tempfile.mkdtemp(prefix="klcheck.")) / "unrouted.def"
    write_def(d0, path)
    return str(path)


def _wire_stats(d) -> tuple[int, int]:
    wl = nv = 0
    for n in d.nets:
        if not n.raw or "ROUTED" not in n.raw.split():
            continue
        toks = n.raw.replace(";", " ").split()
        k = toks.index("ROUTED") + 1
        last = None
        prev_kw = True
        while k < len(toks):
            t = toks[k]
            if prev_kw:
                prev_kw = False
                last = None
                k += 1
                continue
            if t == "NEW":
                prev_kw = True
            elif t == "+":
                break
            elif t in ("RECT", "VIRTUAL"):  # a patch ( dx0 dy0 dx1 dy1 ) / a virtual point: no wire
                close = toks.index(")", k + 2 if t == "RECT" else k + 1)
                if t == "RECT" and close + 1 < len(toks) and toks[close + 1] == "(":
                    close = toks.index(")", close + 1)
                k = close + 1
                continue
            elif t == "MASK":
                k += 2
                continue
            elif t == "(":
                close = toks.index(")", k)
                vals = toks[k + 1 : close]
                x = last[0] if vals[0] == "*" else int(vals[0])
                y = last[1] if vals[1] == "*" else int(vals[1])
                if last is not None:
                    wl += abs(x - last[0]) + abs(y - last[1])
                last = (x, y)
                k = close
            else:
                nv += 1
            k += 1
    return wl, nv


def _connectivity(ly, d, lib, layers) -> tuple[list[str], list[tuple[str, str]]]:
    """Opens (nets whose pins lie in several pieces) and shorts (pieces holding two nets)."""
    import klayout.db as kdb

    from flow.lefdef.routedb import build

    top = ly.top_cell()
    l2n = kdb.LayoutToNetlist(kdb.RecursiveShapeIterator(ly, top, []))
    regs = {}
    for lay in layers:
        if lay.type not in ("ROUTING", "CUT"):
            continue
        idx = [li for li in ly.layer_indexes() if ly.get_info(li).name.partition(".")[0] == lay.name
               and ly.get_info(li).name.partition(".")[2] not in ("OBS", "LABEL", "LEFLABEL", "BLK")]
        if not idx:
            continue
        parts = [l2n.make_layer(li, f"{lay.name}_{n}") for n, li in enumerate(idx)]
        for p in parts:
            l2n.connect(p)
        for a, b in zip(parts, parts[1:]):
            l2n.connect(a, b)
        regs[lay.name] = parts
    seq = [lay.name for lay in layers if lay.name in regs]
    for a, b in zip(seq, seq[1:]):
        for pa in regs[a]:
            for pb in regs[b]:
                l2n.connect(pa, pb)
    l2n.extract_netlist()
    db = build(lib, d, allow_routed=True)

    def probe(layer: str, rect) -> object | None:
        if layer not in regs:
            return None
        x = (rect[0] + rect[2]) / 2 * ly.dbu
        y = (rect[1] + rect[3]) / 2 * ly.dbu
        for p in regs[layer]:
            net = l2n.probe_net(p, kdb.DPoint(x, y))
            if net is not None:
                return net.cluster_id
        return None

    opens: list[str] = []
    owner: dict[object, str] = {}
    shorts: list[tuple[str, str]] = []
    for name, terms in db.nets.items():
        ids = []
        for t in terms:
            found = None
            for layer, rect in t.shapes:
                found = probe(layer, rect)
                if found is not None:
                    break
            ids.append(found)
        if len(set(ids)) > 1 or None in ids:
            opens.append(name)
        for cid in set(ids):
            if cid is None:
                continue
            if cid in owner and owner[cid] != name:
                shorts.append((owner[cid], name))
            owner.setdefault(cid, name)
    # special nets: a signal piece that reaches a power rail is a short
    for s in db.obstacles:
        if s.net and s.net not in db.nets and not s.net.startswith("<"):
            cid = probe(s.layer, s.rect)
            if cid is not None and cid in owner and owner[cid] != s.net:
                pair = (owner[cid], s.net)
                if pair not in shorts:
                    shorts.append(pair)
    return opens, shorts
