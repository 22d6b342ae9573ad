"""What the LEF/DEF router needs from a placed design, in DEF units.

:func:`build` turns a :class:`~flow.lefdef.lef.Library` and a placed
:class:`~flow.lefdef.def_.Def` into a :class:`RouteDB`:

* the routing stack (routing layers bottom-up with width, spacing, pitch,
  direction, the cut layer above each, min area, end-of-line spacing) from
  the LEF, and the track grids from the DEF ``TRACKS`` (else LEF ``PITCH`` /
  ``OFFSET`` from the die corner);
* one via per adjacent routing-layer pair, chosen among the LEF ``VIA``
  definitions: its metal pads should not stick out of a minimum-width wire
  sideways (so neighbouring tracks stay usable) and stick out as little as
  possible along the wire;
* obstacles: every placed macro's pin shapes (owned by the net connected to
  the pin, power pins by their special net) and ``OBS`` shapes, DEF pins,
  ``SPECIALNETS`` wiring and vias (DEF ``VIAS`` given by rectangles or by
  ``VIARULE`` parameters, or LEF vias), routing ``BLOCKAGES``;
* per signal net its terminals: for each ``( inst pin )`` / ``( PIN name )``
  the pin's shapes ``(layer, rect)`` in absolute DEF coordinates.

Bad input (a component whose macro no LEF defines, an unplaced component, a
layer no LEF defines, a net on an unknown instance or pin) raises
:class:`~flow.errors.InputError` ``file:line: problem``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flow.errors import InputError
from flow.lefdef.def_ import Def, orient_point
from flow.lefdef.lef import Library, Via

Rect = tuple[int, int, int, int]


@dataclass
class RLayer:
    """A routing layer in DEF units."""

    name: str
    index: int  # 0 = bottom routing layer
    horizontal: bool
    width: int
    spacing: int  # minimum spacing between minimum-width shapes
    pitch: int
    end_spacing: int  # line end to line end (max of spacing and end-of-line spacing)
    area: float  # minimum area, dbu^2 (0: none)
    lef: object = None  # the LEF Layer, for width-dependent spacing
    dbu: int = 1000
    #: tracks across the preferred direction: (first, step, count), DEF units
    tracks: tuple[int, int, int] | None = None
    cut_above: str | None = None
    cut_spacing_above: int = 0

    def spacing_to(self, width: int) -> int:
        """Spacing a minimum-width wire needs to a shape ``width`` wide (worst run length)."""
        lay = self.lef
        if lay is None:
            return self.spacing
        return max(self.spacing, _dbu(lay.spacing_for(width / self.dbu), self.dbu))  # type: ignore[attr-defined]


@dataclass
class ViaChoice:
    """The via between routing layers ``lower`` and ``lower + 1``."""

    name: str
    lower: int
    cut_layer: str
    cut: Rect  # about the via origin
    bottom: Rect  # pad on the lower routing layer
    top: Rect  # pad on the upper routing layer


@dataclass
class Shape:
    layer: str
    rect: Rect
    net: str | None  # None: belongs to no net (OBS, blockage)


@dataclass
class Terminal:
    """One pin of a net: its shapes (absolute DEF coordinates)."""

    label: str  # "inst/pin" or "PIN name"
    shapes: list[tuple[str, Rect]]


@dataclass
class RouteDB:
    design: str
    dbu: int
    die: Rect
    layers: list[RLayer]
    vias: list[ViaChoice]  # vias[k] joins layers[k] and layers[k + 1]
    obstacles: list[Shape]
    nets: dict[str, list[Terminal]]  # signal nets to route, in DEF order
    skipped: dict[str, str] = field(default_factory=dict)  # net -> why it is not routed (e.g. one pin)
    #: vias usable for pin access from the bottom layer: same cut, a top pad inside vias[0]'s
    access_vias: list[ViaChoice] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: every macro/DEF pin shape per layer with its net, for pin access checks
    layer_index: dict[str, int] = field(default_factory=dict)


def _dbu(um: float, dbu: int) -> int:
    return int(round(um * dbu))


# -- DEF sections kept as text --------------------------------------------------------


def _raw_items(d: Def, keyword: str) -> list[str]:
    return [text for kind, text in d.items if kind == "raw" and text.split(None, 1)[:1] == [keyword]]


def _tokens(text: str) -> list[str]:
    return text.replace(";", " ; ").split()


def _statements(text: str) -> list[list[str]]:
    out: list[list[str]] = [[]]
    for tok in _tokens(text):
        if tok == ";":
            out.append([])
        else:
            out[-1].append(tok)
    return [s for s in out if s]


def def_tracks(d: Def) -> dict[tuple[str, str], tuple[int, int, int]]:
    """``(layer, "X"|"Y") -> (start, step, count)`` from the DEF's TRACKS statements."""
    out: dict[tuple[str, str], tuple[int, int, int]] = {}
    for text in _raw_items(d, "TRACKS"):
        for st in _statements(text):
            if st[0] != "TRACKS" or len(st) < 7:
                continue
            try:
                axis, start, count, step = st[1].upper(), int(st[2]), int(st[4]), int(st[6])
            except ValueError:
                raise InputError(f"{d.path}: TRACKS statement '{' '.join(st)}' is not understood") from None
            layers = st[st.index("LAYER") + 1 :] if "LAYER" in st else []
            for lay in layers:
                if lay.upper() == "MASK":
                    break
                out.setdefault((lay, axis), (start, step, count))
    return out


def _def_vias(d: Def, lib: Library) -> dict[str, list[tuple[str, Rect]]]:
    """DEF VIAS: name -> shapes (layer, rect) about the origin."""
    out: dict[str, list[tuple[str, Rect]]] = {}
    for text in _raw_items(d, "VIAS"):
        toks = _tokens(text)
        # entries "- name ... ;"
        k = 0
        while k < len(toks):
            if toks[k] != "-":
                k += 1
                continue
            name = toks[k + 1]
            j = toks.index(";", k) if ";" in toks[k:] else len(toks)
            body = toks[k + 2 : j]
            k = j + 1
            shapes: list[tuple[str, Rect]] = []
            groups: list[list[str]] = []
            for tok in body:
                if tok == "+":
                    groups.append([])
                elif groups:
                    groups[-1].append(tok)
            params: dict[str, list[str]] = {g[0].upper(): g[1:] for g in groups if g}
            for g in groups:
                if g and g[0].upper() == "RECT":
                    nums = [int(float(v)) for v in g[2:] if v not in ("(", ")")]
                    if len(nums) == 4:
                        shapes.append((g[1], (min(nums[0], nums[2]), min(nums[1], nums[3]), max(nums[0], nums[2]), max(nums[1], nums[3]))))
            if "VIARULE" in params and "LAYERS" in params and "CUTSIZE" in params:
                try:
                    bot, cut, top = params["LAYERS"][:3]
                    cw, ch = (int(v) for v in params["CUTSIZE"][:2])
                    sx, sy = (int(v) for v in params.get("CUTSPACING", ["0", "0"])[:2])
                    eb_x, eb_y, et_x, et_y = (int(v) for v in params.get("ENCLOSURE", ["0"] * 4)[:4])
                    rows, cols = (int(v) for v in params.get("ROWCOL", ["1", "1"])[:2])
                except ValueError:
                    raise InputError(f"{d.path}: VIAS '{name}': VIARULE parameters not understood") from None
                w = cols * cw + (cols - 1) * sx
                h = rows * ch + (rows - 1) * sy
                x0, y0 = -w // 2, -h // 2
                shapes.append((cut, (x0, y0, x0 + w, y0 + h)))
                shapes.append((bot, (x0 - eb_x, y0 - eb_y, x0 + w + eb_x, y0 + h + eb_y)))
                shapes.append((top, (x0 - et_x, y0 - et_y, x0 + w + et_x, y0 + h + et_y)))
            out[name] = shapes
    return out


def _via_shapes(name: str, def_vias: dict[str, list[tuple[str, Rect]]], lib: Library, dbu: int) -> list[tuple[str, Rect]] | None:
    if name in def_vias:
        return def_vias[name]
    v = lib.vias.get(name)
    if v is None:
        return None
    return [(r[0], (_dbu(r[1], dbu), _dbu(r[2], dbu), _dbu(r[3], dbu), _dbu(r[4], dbu))) for r in v.rects]


def _special_shapes(d: Def, lib: Library, def_vias: dict[str, list[tuple[str, Rect]]]) -> list[Shape]:
    """Wires and vias of SPECIALNETS (each owned by its special net)."""
    out: list[Shape] = []
    for text in _raw_items(d, "SPECIALNETS"):
        toks = _tokens(text)
        k = 0
        net = None
        while k < len(toks):
            tok = toks[k]
            if tok == "-" and k + 1 < len(toks):
                net = toks[k + 1]
                k += 2
                continue
            if tok in ("ROUTED", "FIXED", "COVER", "SHIELD", "NEW") and k + 1 < len(toks):
                k += 1
                if tok == "SHIELD":
                    k += 1  # the shielded net's name
                layer = toks[k]
                k += 1
                width = 0
                if k < len(toks) and toks[k].lstrip("-").isdigit():
                    width = int(toks[k])
                    k += 1
                last: tuple[int, int] | None = None
                while k < len(toks) and toks[k] not in ("NEW", ";", "-") and not (toks[k] == "+" and k + 1 < len(toks) and toks[k + 1] in ("ROUTED", "FIXED", "COVER", "SHIELD", "USE")):
                    t = toks[k]
                    if t == "+":  # + SHAPE x, + STYLE n, + MASK n
                        k += 3 if k + 2 < len(toks) and toks[k + 2] != "(" else 2
                        continue
                    if t == "(":
                        close = toks.index(")", k)
                        vals = toks[k + 1 : close]
                        x = last[0] if vals[0] == "*" and last else int(float(vals[0]))
                        y = last[1] if len(vals) > 1 and vals[1] == "*" and last else int(float(vals[1]))
                        if last is not None and width > 0:
                            h = width // 2
                            x0, x1 = sorted((last[0], x))
                            y0, y1 = sorted((last[1], y))
                            if y0 == y1:
                                out.append(Shape(layer, (x0 - h, y0 - h, x1 + h, y1 + h), net))
                            else:
                                out.append(Shape(layer, (x0 - h, y0 - h, x1 + h, y1 + h), net))
                        last = (x, y)
                        k = close + 1
                        continue
                    shapes = _via_shapes(t, def_vias, lib, d.dbu)
                    if shapes is not None and last is not None:
                        for lay, (a, b, c, e) in shapes:
                            out.append(Shape(lay, (last[0] + a, last[1] + b, last[0] + c, last[1] + e), net))
                    k += 1
                continue
            k += 1
    return out


def _blockages(d: Def) -> list[Shape]:
    out: list[Shape] = []
    for text in _raw_items(d, "BLOCKAGES"):
        for st in _statements(text):
            if len(st) >= 3 and st[0] == "-" and st[1].upper() == "LAYER":
                layer = st[2]
                k = 3
                while k < len(st):
                    if st[k].upper() == "RECT" and k + 8 < len(st) + 1:
                        nums = [int(float(v)) for v in st[k + 1 : k + 9] if v not in ("(", ")")]
                        if len(nums) >= 4:
                            out.append(Shape(layer, (min(nums[0], nums[2]), min(nums[1], nums[3]), max(nums[0], nums[2]), max(nums[1], nums[3])), None))
                        k += 9
                    else:
                        k += 1
    return out


# -- the routing stack ------------------------------------------------------------------


def _stack(lib: Library, d: Def) -> tuple[list[RLayer], list[str]]:
    """Routing layers bottom-up and the cut layer name between each pair."""
    order = list(lib.layers.values())
    routing = [lay for lay in order if lay.type == "ROUTING"]
    if len(routing) < 2:
        raise InputError(f"{lib.files[0] if lib.files else 'LEF'}: the LEF defines {len(routing)} routing layer(s); the router needs at least two")
    tracks = def_tracks(d)
    dbu = d.dbu
    out: list[RLayer] = []
    cuts: list[str] = []
    for k, lay in enumerate(routing):
        if lay.direction not in ("HORIZONTAL", "VERTICAL"):
            raise InputError(f"{lib.files[0]}: LAYER {lay.name} has no DIRECTION HORIZONTAL or VERTICAL")
        if lay.width <= 0:
            raise InputError(f"{lib.files[0]}: LAYER {lay.name} has no WIDTH")
        horizontal = lay.direction == "HORIZONTAL"
        width = _dbu(lay.width, dbu)
        spacing = _dbu(lay.spacing_for(lay.width, 0.0) if lay.spacing_table or lay.spacing else 0.0, dbu)
        if spacing <= 0:
            spacing = max(1, _dbu(lay.pitch - lay.width, dbu)) if lay.pitch > lay.width else width
        eol = max([_dbu(e[0], dbu) for e in lay.eol if e[1] > lay.width - 1e-9] or [0])
        axis = "Y" if horizontal else "X"
        tr = tracks.get((lay.name, axis))
        if tr is None and lay.pitch > 0:
            lo = d.die[1] if horizontal else d.die[0]  # type: ignore[index]
            hi = d.die[3] if horizontal else d.die[2]  # type: ignore[index]
            step = _dbu(lay.pitch, dbu)
            off = _dbu(lay.offset, dbu) if lay.offset is not None else step // 2
            start = lo + off
            tr = (start, step, max(0, (hi - start) // step + 1))
        pitch = tr[1] if tr else _dbu(lay.pitch, dbu)
        out.append(RLayer(lay.name, k, horizontal, width, spacing, pitch, max(spacing, eol), lay.area * dbu * dbu, lay, dbu, tr))
        if k + 1 < len(routing):
            i0, i1 = order.index(lay), order.index(routing[k + 1])
            between = [c for c in order[i0 + 1 : i1] if c.type == "CUT"]
            cut = between[0].name if between else ""
            out[-1].cut_above = cut
            cuts.append(cut)
            if between:
                out[-1].cut_spacing_above = _dbu(between[0].spacing, dbu)
    return out, cuts


def _access_vias(lib: Library, db: RouteDB) -> list[ViaChoice]:
    v0 = db.vias[0]
    low, high = db.layers[0], db.layers[1]
    out = [v0]
    for v in lib.vias.values():
        if v.name == v0.name or set(v.layers()) != {low.name, v0.cut_layer, high.name}:
            continue
        if len([r for r in v.rects if r[0] == v0.cut_layer]) != 1:
            continue
        sh = {r[0]: (_dbu(r[1], db.dbu), _dbu(r[2], db.dbu), _dbu(r[3], db.dbu), _dbu(r[4], db.dbu)) for r in v.rects}
        t, c = sh[high.name], sh[v0.cut_layer]
        if c == v0.cut and v0.top[0] <= t[0] and v0.top[1] <= t[1] and t[2] <= v0.top[2] and t[3] <= v0.top[3]:
            out.append(ViaChoice(v.name, 0, v0.cut_layer, c, sh[low.name], t))
    return out


def _choose_via(lib: Library, low: RLayer, high: RLayer, cut: str, dbu: int) -> ViaChoice | None:
    best = None
    for v in lib.vias.values():
        lays = set(v.layers())
        if lays != {low.name, cut, high.name}:
            continue
        shapes = {r[0]: (_dbu(r[1], dbu), _dbu(r[2], dbu), _dbu(r[3], dbu), _dbu(r[4], dbu)) for r in v.rects}
        if len([r for r in v.rects if r[0] == cut]) != 1:
            continue  # multi-cut vias are not used for signal wiring

        def fit(lay: RLayer, r: Rect) -> tuple[int, int]:
            across = (r[3] - r[1]) if lay.horizontal else (r[2] - r[0])
            along = (r[2] - r[0]) if lay.horizontal else (r[3] - r[1])
            return max(0, across - lay.width), along

        fb, fl = fit(low, shapes[low.name]), fit(high, shapes[high.name])
        score = (fb[0] + fl[0], fb[1] + fl[1], not v.default, v.name)
        if best is None or score < best[0]:
            best = (score, v, shapes)
    if best is None:
        return None
    _, v, shapes = best
    return ViaChoice(v.name, low.index, cut, shapes[cut], shapes[low.name], shapes[high.name])


# -- macros -------------------------------------------------------------------------------


def _place(rect_um: tuple[float, float, float, float], comp, macro, dbu: int) -> Rect:
    """A macro-coordinate rectangle (microns) in absolute DEF coordinates."""
    x0, y0, x1, y1 = (_dbu(v, dbu) for v in rect_um)
    w, h = _dbu(macro.w, dbu), _dbu(macro.h, dbu)
    ox, oy = _dbu(macro.origin[0], dbu), _dbu(macro.origin[1], dbu)
    x0, x1 = x0 + ox, x1 + ox
    y0, y1 = y0 + oy, y1 + oy
    pts = [orient_point(comp.orient, x, y) for x, y in ((x0, y0), (x1, y1))]
    # the placed box's lower-left corner is at the component location
    box = [orient_point(comp.orient, x, y) for x, y in ((0, 0), (w, h))]
    dx = comp.x - min(p[0] for p in box)
    dy = comp.y - min(p[1] for p in box)
    xs = [p[0] + dx for p in pts]
    ys = [p[1] + dy for p in pts]
    return (min(xs), min(ys), max(xs), max(ys))


def build(lib: Library, d: Def, *, allow_routed: bool = False) -> RouteDB:
    """The routing database of a placed design; see the module docstring.

    ``allow_routed``: accept nets that already carry wiring (checkers read
    routed designs; the router refuses them)."""
    if d.die is None:
        raise InputError(f"{d.path}:1: no DIEAREA; the router needs the die")
    if lib.dbu is not None and d.dbu % lib.dbu and lib.dbu % d.dbu:
        raise InputError(f"{d.path}: DEF units ({d.dbu} per micron) and LEF units ({lib.dbu}) do not divide")
    layers, cuts = _stack(lib, d)
    names = {lay.name: lay.index for lay in layers}
    vias: list[ViaChoice] = []
    for k in range(len(layers) - 1):
        v = _choose_via(lib, layers[k], layers[k + 1], cuts[k], d.dbu)
        if v is None:
            break  # no via defined up to the next layer: route below it
        vias.append(v)
    layers = layers[: len(vias) + 1]
    db = RouteDB(d.design, d.dbu, d.die, layers, vias, [], {}, layer_index=names)
    if vias:
        db.access_vias = _access_vias(lib, db)
    known = set(lib.layers)
    by_inst = {c.name: c for c in d.components}
    pin_net: dict[tuple[str, str], str] = {}
    for n in d.nets:
        for a, b in n.conns:
            pin_net[(a, b)] = n.name
    for c in d.components:
        m = lib.macros.get(c.macro)
        if m is None:
            raise InputError(f"{d.path}:{c.line}: component '{c.name}': macro '{c.macro}' is not defined in any LEF ({', '.join(lib.files)})")
        if c.status == "UNPLACED":
            raise InputError(f"{d.path}:{c.line}: component '{c.name}' is UNPLACED; place the design first (pilotflow place)")
        for p in m.pins.values():
            net = pin_net.get((c.name, p.name)) or pin_net.get(("*", p.name))
            if net is None and p.use in ("POWER", "GROUND"):
                net = p.name  # matches a special net of that name, e.g. VDD ( * VDD )
            for r in p.rects:
                if r[0] not in known:
                    raise InputError(f"{lib.files[-1]}:{m.line}: MACRO {m.name} PIN {p.name}: layer '{r[0]}' is not defined in the LEF")
                db.obstacles.append(Shape(r[0], _place(r[1:], c, m, d.dbu), net or f"<unconnected {c.name}/{p.name}>"))
        for r in m.obs:
            if r[0] not in known:
                raise InputError(f"{lib.files[-1]}:{m.line}: MACRO {m.name} OBS: layer '{r[0]}' is not defined in the LEF")
            db.obstacles.append(Shape(r[0], _place(r[1:], c, m, d.dbu), None))
    pins_by_name = {}
    for p in d.pins:
        pins_by_name[p.name] = p
        if p.layer and p.layer not in known:
            raise InputError(f"{d.path}:{p.line}: pin '{p.name}': layer '{p.layer}' is not defined in the LEF")
        box = p.bbox()
        if p.layer and box is not None:
            db.obstacles.append(Shape(p.layer, box, p.net))
    def_vias = _def_vias(d, lib)
    for s in _special_shapes(d, lib, def_vias) + _blockages(d):
        if s.layer not in known:
            raise InputError(f"{d.path}: special wiring or blockage on layer '{s.layer}', which no LEF defines")
        db.obstacles.append(s)
    for n in d.nets:
        if not allow_routed and n.raw is not None and any(w in n.raw.split() for w in ("ROUTED", "FIXED", "COVER")):
            raise InputError(f"{d.path}:{n.line}: net '{n.name}' already has wiring; pilotflow route takes a placed, unrouted DEF")
        if n.use in ("POWER", "GROUND"):
            db.skipped[n.name] = f"{n.use.lower()} net (left as in the input)"
            continue
        terms: list[Terminal] = []
        for a, b in n.conns:
            if a == "PIN":
                p = pins_by_name.get(b)
                if p is None:
                    raise InputError(f"{d.path}:{n.line}: net '{n.name}': no PIN '{b}' in the PINS section")
                box = p.bbox()
                if box is None or not p.layer:
                    raise InputError(f"{d.path}:{p.line}: pin '{p.name}' of net '{n.name}' is not placed or has no LAYER shape")
                terms.append(Terminal(f"PIN {b}", [(p.layer, box)]))
                continue
            c = by_inst.get(a)
            if c is None:
                if a == "*":
                    continue
                raise InputError(f"{d.path}:{n.line}: net '{n.name}': no component '{a}'")
            m = lib.macros[c.macro]
            mp = m.pins.get(b)
            if mp is None:
                raise InputError(f"{d.path}:{n.line}: net '{n.name}': macro {m.name} (component '{a}') has no pin '{b}'")
            shapes = [(r[0], _place(r[1:], c, m, d.dbu)) for r in mp.rects]
            if not shapes:
                raise InputError(f"{lib.files[-1]}:{m.line}: MACRO {m.name} PIN {b} has no PORT shapes")
            terms.append(Terminal(f"{a}/{b}", shapes))
        if len(terms) < 2:
            db.skipped[n.name] = f"{len(terms)} pin(s): nothing to connect"
            continue
        db.nets[n.name] = terms
    return db


def routing_text(wires: list[tuple[str, Rect]], vias: list[tuple[str, int, int]], layer_of_via: dict[str, str],
                 patches: list[tuple[str, Rect]] = ()) -> str:
    """DEF ``+ ROUTED`` text of one net: one ``NEW`` statement per wire run, per
    via and per patch (``RECT``, relative to its lower-left corner)."""
    parts: list[str] = []
    for layer, (x0, y0, x1, y1) in patches:
        parts.append(f"{layer} ( {x0} {y0} ) RECT ( 0 0 {x1 - x0} {y1 - y0} )")
    for layer, (x0, y0, x1, y1) in wires:
        b = f"( {x1} * )" if y0 == y1 else (f"( * {y1} )" if x0 == x1 else f"( {x1} {y1} )")
        parts.append(f"{layer} ( {x0} {y0} ) {b}")
    for name, x, y in vias:
        parts.append(f"{layer_of_via[name]} ( {x} {y} ) {name}")
    if not parts:
        return ""
    return "\n      + ROUTED " + "\n      NEW ".join(parts)


def routed_def(d: Def, wires: dict[str, list[tuple[str, Rect]]], vias: dict[str, list[tuple[str, int, int]]], db: RouteDB,
               patches: dict[str, list[tuple[str, Rect]]] | None = None) -> Def:
    """A copy of ``d`` whose NETS carry the routing (other sections unchanged)."""
    import copy

    out = copy.copy(d)
    layer_of_via = {v.name: db.layers[v.lower].name for v in db.vias + db.access_vias}
    nets = []
    for n in d.nets:
        m = copy.copy(n)
        if n.name in wires or n.name in vias:
            text = n.raw if n.raw is not None else f"- {n.name} " + " ".join(f"( {a} {b} )" for a, b in n.conns)
            text = text.rstrip()
            if text.endswith(";"):
                text = text[:-1].rstrip()
            if not text.startswith("    "):
                text = "    " + text
            m.raw = text + routing_text(wires.get(n.name, []), vias.get(n.name, []), layer_of_via, (patches or {}).get(n.name, [])) + " ;"
        nets.append(m)
    out.nets = nets
    return out


def route_design(lib: Library, d: Def, *, top_layer: str | None = None, max_rounds: int = 30, progress=None):
    """Route a placed design: ``(routed Def, RouteResult, RouteDB)``.

    Raises :class:`~flow.errors.InputError` on bad input (see :func:`build`)
    or an unknown ``top_layer``.
    """
    from flow.route.defroute import route

    db = build(lib, d)
    if not db.vias:
        raise InputError(f"{lib.files[0]}: no LEF VIA joins {db.layers[0].name} and {db.layers[1].name}; the router needs one per layer pair")
    if top_layer is not None and top_layer not in db.layer_index:
        raise InputError(f"--top-layer {top_layer}: not a routing layer of the LEF ({', '.join(lay.name for lay in db.layers)})")
    try:
        res = route(db, top_layer=top_layer, max_rounds=max_rounds, progress=progress)
    except ValueError as e:
        raise InputError(f"{d.path}: {e}") from None
    return routed_def(d, res.wires, res.vias, db, res.patches), res, db


__all__ = ["route_design", "RLayer", "RouteDB", "Shape", "Terminal", "ViaChoice", "build", "def_tracks", "routed_def", "routing_text", "Via"]
