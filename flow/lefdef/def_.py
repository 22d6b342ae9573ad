"""DEF reader and writer (the subset a placer needs).

Read: ``UNITS DISTANCE MICRONS``, ``DESIGN``, ``DIEAREA`` (rectangle or the
bounding box of a polygon), ``ROW``, ``COMPONENTS`` (macro, placement status
``UNPLACED``/``PLACED``/``FIXED``/``COVER``, location, orientation, other
options kept as text), ``PINS`` (net, direction, use, first port's layer,
rectangle and placement), ``NETS`` (connections ``( inst pin )`` and
``( PIN name )``, ``USE``).  Every other section and statement (VIAS, TRACKS,
GCELLGRID, SPECIALNETS, BLOCKAGES, PROPERTYDEFINITIONS, ...) is kept as text
and written back unchanged by :func:`write_def`, as are pins and nets that
were read (only components are regenerated from the data).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from flow.errors import InputError
from flow.fileio import atomic_write_text
from flow.lefdef._tokens import Tokens

Rect = tuple[int, int, int, int]

#: DEF sections the reader keeps as text (closed by ``END <keyword>``).
_RAW_SECTIONS = {
    "VIAS", "SPECIALNETS", "PROPERTYDEFINITIONS", "BLOCKAGES", "REGIONS", "GROUPS", "NONDEFAULTRULES",
    "FILLS", "STYLES", "SCANCHAINS", "PINPROPERTIES", "SLOTS", "BEGINEXT", "HISTORY",
}
ORIENTS = ("N", "S", "E", "W", "FN", "FS", "FE", "FW")
STATUSES = ("UNPLACED", "PLACED", "FIXED", "COVER")


@dataclass
class Row:
    name: str
    site: str
    x: int
    y: int
    orient: str
    nx: int = 1
    ny: int = 1
    step_x: int = 0
    step_y: int = 0


@dataclass
class Component:
    name: str
    macro: str
    status: str = "UNPLACED"  # UNPLACED, PLACED, FIXED, COVER
    x: int = 0
    y: int = 0
    orient: str = "N"
    extra: str = ""  # other options, e.g. "+ SOURCE DIST", written back unchanged
    line: int = 0


@dataclass
class DefPin:
    name: str
    net: str
    direction: str = ""
    use: str = ""
    layer: str = ""
    rect: Rect | None = None  # relative to (x, y), before orientation
    status: str = "UNPLACED"
    x: int = 0
    y: int = 0
    orient: str = "N"
    raw: str | None = None  # text as read (written back when set)
    line: int = 0

    def bbox(self) -> Rect | None:
        """Absolute pin box (dbu) when placed and shaped, else None."""
        if self.status == "UNPLACED":
            return None
        r = self.rect if self.rect is not None else (0, 0, 0, 0)
        pts = [orient_point(self.orient, px, py) for px, py in ((r[0], r[1]), (r[2], r[3]))]
        xs, ys = [p[0] for p in pts], [p[1] for p in pts]
        return (self.x + min(xs), self.y + min(ys), self.x + max(xs), self.y + max(ys))


@dataclass
class DefNet:
    name: str
    conns: list[tuple[str, str]] = field(default_factory=list)  # (component or "PIN", pin)
    use: str = ""
    raw: str | None = None
    line: int = 0


@dataclass
class Def:
    """One DEF design.  Lengths are integers in the DEF's units (``dbu`` per micron)."""

    design: str = ""
    dbu: int = 1000
    die: Rect | None = None
    rows: list[Row] = field(default_factory=list)
    components: list[Component] = field(default_factory=list)
    pins: list[DefPin] = field(default_factory=list)
    nets: list[DefNet] = field(default_factory=list)
    version: str = "5.8"
    #: Top-level items in file order: ("raw", text) or a parsed section's
    #: keyword ("DIEAREA", "ROW", "COMPONENTS", "PINS", "NETS", "HEADER").
    items: list[tuple[str, str]] = field(default_factory=list)
    path: str = ""


def orient_point(orient: str, x: int, y: int) -> tuple[int, int]:
    """Rotate/mirror a point about the origin by a DEF orientation."""
    return {
        "N": (x, y), "S": (-x, -y), "W": (-y, x), "E": (y, -x),
        "FN": (-x, y), "FS": (x, -y), "FW": (y, x), "FE": (-y, -x),
    }[orient]


def _raw(t: Tokens, lo: int, hi: int) -> str:
    """Tokens lo..hi-1 as text, one output line per input line."""
    lines: list[list[str]] = []
    last = None
    for tok, ln in t.toks[lo:hi]:
        if ln != last:
            lines.append([])
            last = ln
        lines[-1].append(tok)
    return "\n".join(" ".join(words) for words in lines)


def _point(t: Tokens, toks: list[str], k: int, what: str, line: int) -> tuple[tuple[int, int], int]:
    """Parse ``( x y )`` at toks[k]; returns the point and the index after it."""
    if k + 3 >= len(toks) or toks[k] != "(" or toks[k + 3] != ")":
        raise t.error(f"{what}: expected '( x y )'", line)
    return (t.integer(toks[k + 1], what, line), t.integer(toks[k + 2], what, line)), k + 4


def _orient(t: Tokens, tok: str, what: str, line: int) -> str:
    o = tok.upper()
    if o not in ORIENTS:
        raise t.error(f"{what}: orientation '{tok}' is not one of {', '.join(ORIENTS)}", line)
    return o


def read_def(path: str | Path, *, text: str | None = None) -> Def:
    """Read a DEF file.  Raises :class:`~flow.errors.InputError` ``file:line: message``.

    Examples
    --------
    >>> d = read_def("x.def", text='''DESIGN t ; UNITS DISTANCE MICRONS 1000 ;
    ... DIEAREA ( 0 0 ) ( 10000 5000 ) ;
    ... ROW r0 core 0 0 N DO 50 BY 1 STEP 200 0 ;
    ... COMPONENTS 1 ; - u1 INV + PLACED ( 200 0 ) N ; END COMPONENTS
    ... NETS 1 ; - n1 ( u1 A ) ( PIN a ) ; END NETS
    ... END DESIGN''')
    >>> d.die, d.rows[0].nx, d.components[0].x, d.nets[0].conns
    ((0, 0, 10000, 5000), 50, 200, [('u1', 'A'), ('PIN', 'a')])
    """
    t = Tokens(path, text)
    d = Def(path=str(path))
    seen: set[str] = set()
    units_seen = False
    while not t.at_end():
        line = t.line()
        start = t.i
        kw = t.next().upper()
        if kw == "END":
            t.expect("DESIGN")
            break
        if kw in ("COMPONENTS", "PINS", "NETS"):
            if kw in seen:
                raise t.error(f"second {kw} section", line)
            seen.add(kw)
            t.statement()  # the count
            d.items.append((kw, ""))
            if kw == "COMPONENTS":
                _components(t, d)
            elif kw == "PINS":
                _pins(t, d)
            else:
                _nets(t, d)
            continue
        if kw in _RAW_SECTIONS:
            _skip_section(t, kw, line)
            d.items.append(("raw", _raw(t, start, t.i)))
            continue
        st = t.statement()
        if kw == "DESIGN":
            if not st:
                raise t.error("DESIGN needs a name", line)
            d.design = st[0]
            d.items.append(("DESIGN", ""))
        elif kw == "VERSION":
            d.version = st[0] if st else d.version
            d.items.append(("raw", _raw(t, start, t.i)))
        elif kw == "UNITS":
            if len(st) != 3 or st[0].upper() != "DISTANCE" or st[1].upper() != "MICRONS":
                raise t.error("expected 'UNITS DISTANCE MICRONS n ;'", line)
            d.dbu = t.integer(st[2], "UNITS DISTANCE MICRONS", line)
            if d.dbu <= 0:
                raise t.error(f"UNITS DISTANCE MICRONS must be > 0, got {d.dbu}", line)
            units_seen = True
            d.items.append(("UNITS", ""))
        elif kw == "DIEAREA":
            pts = []
            k = 0
            while k < len(st):
                p, k = _point(t, st, k, "DIEAREA", line)
                pts.append(p)
            if len(pts) < 2:
                raise t.error("DIEAREA needs at least two points", line)
            xs, ys = [p[0] for p in pts], [p[1] for p in pts]
            d.die = (min(xs), min(ys), max(xs), max(ys))
            if d.die[0] >= d.die[2] or d.die[1] >= d.die[3]:
                raise t.error(f"DIEAREA {d.die} is empty", line)
            d.items.append(("DIEAREA", ""))
        elif kw == "ROW":
            d.rows.append(_row(t, st, line))
            if not d.items or d.items[-1][0] != "ROW":
                d.items.append(("ROW", ""))
        else:
            d.items.append(("raw", _raw(t, start, t.i)))
    else:
        if t.toks:
            raise t.error("missing 'END DESIGN'")
    if not units_seen and (d.components or d.die):
        raise InputError(f"{path}:1: no 'UNITS DISTANCE MICRONS' statement")
    return d


def _skip_section(t: Tokens, kw: str, line: int) -> None:
    while True:
        if t.at_end():
            raise t.error(f"{kw} section is not closed by 'END {kw}'", line)
        tok = t.next()
        if tok.upper() == "END" and (t.peek() or "").upper() == kw:
            t.next()
            return


def _row(t: Tokens, st: list[str], line: int) -> Row:
    if len(st) < 5:
        raise t.error("ROW needs 'name site x y orient'", line)
    r = Row(st[0], st[1], t.integer(st[2], "ROW x", line), t.integer(st[3], "ROW y", line), _orient(t, st[4], "ROW", line))
    k = 5
    if k < len(st) and st[k].upper() == "DO":
        if k + 3 >= len(st) or st[k + 2].upper() != "BY":
            raise t.error("ROW: expected 'DO nx BY ny'", line)
        r.nx, r.ny = t.integer(st[k + 1], "ROW DO", line), t.integer(st[k + 3], "ROW BY", line)
        if r.nx < 1 or r.ny < 1:
            raise t.error(f"ROW {r.name}: DO {r.nx} BY {r.ny} must be positive", line)
        k += 4
        if k < len(st) and st[k].upper() == "STEP":
            if k + 2 >= len(st):
                raise t.error("ROW: expected 'STEP sx sy'", line)
            r.step_x, r.step_y = t.integer(st[k + 1], "ROW STEP", line), t.integer(st[k + 2], "ROW STEP", line)
    return r


def _entries(t: Tokens, kw: str):
    """Yield (line, start token index, tokens) of each ``- ... ;`` entry of a section."""
    while True:
        line = t.line()
        tok = t.peek()
        if tok is None:
            raise t.error(f"{kw} section is not closed by 'END {kw}'")
        if tok.upper() == "END":
            t.next()
            t.expect(kw)
            return
        start = t.i
        st = t.statement()
        if not st or st[0] != "-" or len(st) < 2:
            raise t.error(f"{kw}: expected an entry '- name ... ;'", line)
        yield line, start, st


def _groups(st: list[str], k: int) -> list[list[str]]:
    """Split option tokens from index k at each '+'."""
    out: list[list[str]] = []
    for tok in st[k:]:
        if tok == "+":
            out.append([])
        elif out:
            out[-1].append(tok)
    return out


def _components(t: Tokens, d: Def) -> None:
    names: set[str] = set()
    for line, _, st in _entries(t, "COMPONENTS"):
        if len(st) < 3:
            raise t.error("COMPONENTS: expected '- name macro ... ;'", line)
        c = Component(st[1], st[2], line=line)
        if c.name in names:
            raise t.error(f"component '{c.name}' defined twice", line)
        names.add(c.name)
        if len(st) > 3 and st[3] != "+":
            raise t.error(f"component '{c.name}': unexpected '{st[3]}' (options start with '+')", line)
        extra: list[str] = []
        for g in _groups(st, 3):
            key = g[0].upper() if g else ""
            if key in ("PLACED", "FIXED", "COVER"):
                (c.x, c.y), k = _point(t, g, 1, f"component '{c.name}' {key}", line)
                if k >= len(g):
                    raise t.error(f"component '{c.name}' {key}: missing orientation", line)
                c.orient = _orient(t, g[k], f"component '{c.name}'", line)
                c.status = key
            elif key == "UNPLACED":
                c.status = key
            else:
                extra.append("+ " + " ".join(g))
        c.extra = " ".join(extra)
        d.components.append(c)


def _pins(t: Tokens, d: Def) -> None:
    for line, start, st in _entries(t, "PINS"):
        p = DefPin(st[1], "", line=line, raw=_raw(t, start, t.i))
        ports = 0
        for g in _groups(st, 2):
            key = g[0].upper() if g else ""
            if key == "PORT":
                ports += 1
                continue
            if ports > 1:
                continue  # only the first port is modelled
            if key == "NET" and len(g) > 1:
                p.net = g[1]
            elif key == "DIRECTION" and len(g) > 1:
                p.direction = g[1].upper()
            elif key == "USE" and len(g) > 1:
                p.use = g[1].upper()
            elif key == "LAYER" and len(g) > 1:
                p.layer = g[1]
                k = g.index("(") if "(" in g else len(g)
                a, k = _point(t, g, k, f"pin '{p.name}' LAYER", line)
                b, k = _point(t, g, k, f"pin '{p.name}' LAYER", line)
                p.rect = (min(a[0], b[0]), min(a[1], b[1]), max(a[0], b[0]), max(a[1], b[1]))
            elif key in ("PLACED", "FIXED", "COVER"):
                (p.x, p.y), k = _point(t, g, 1, f"pin '{p.name}' {key}", line)
                if k >= len(g):
                    raise t.error(f"pin '{p.name}' {key}: missing orientation", line)
                p.orient = _orient(t, g[k], f"pin '{p.name}'", line)
                p.status = key
        if not p.net:
            raise t.error(f"pin '{p.name}' has no '+ NET'", line)
        d.pins.append(p)


def _nets(t: Tokens, d: Def) -> None:
    for line, start, st in _entries(t, "NETS"):
        n = DefNet(st[1], line=line, raw=_raw(t, start, t.i))
        k = 2
        while k < len(st) and st[k] != "+":
            if st[k] != "(":
                raise t.error(f"net '{n.name}': expected '( instance pin )', found '{st[k]}'", line)
            if k + 3 >= len(st) or st[k + 3] != ")":
                # ( inst pin + SYNTHESIZED ) and the like: take the two names
                close = st.index(")", k) if ")" in st[k:] else -1
                if close < 0 or close - k < 3:
                    raise t.error(f"net '{n.name}': connection not closed by ')'", line)
                n.conns.append((st[k + 1], st[k + 2]))
                k = close + 1
                continue
            n.conns.append((st[k + 1], st[k + 2]))
            k += 4
        for g in _groups(st, k):
            if g and g[0].upper() == "USE" and len(g) > 1:
                n.use = g[1].upper()
        d.nets.append(n)


# ---------------------------------------------------------------- writer ----


def _comp_text(c: Component) -> str:
    s = f"    - {c.name} {c.macro}"
    if c.extra:
        s += f" {c.extra}"
    if c.status == "UNPLACED":
        s += " + UNPLACED"
    else:
        s += f" + {c.status} ( {c.x} {c.y} ) {c.orient}"
    return s + " ;"


def _pin_text(p: DefPin) -> str:
    if p.raw is not None:
        return p.raw
    s = f"    - {p.name} + NET {p.net}"
    if p.direction:
        s += f" + DIRECTION {p.direction}"
    if p.use:
        s += f" + USE {p.use}"
    if p.layer and p.rect is not None:
        r = p.rect
        s += f"\n      + LAYER {p.layer} ( {r[0]} {r[1]} ) ( {r[2]} {r[3]} )"
    if p.status != "UNPLACED":
        s += f"\n      + {p.status} ( {p.x} {p.y} ) {p.orient}"
    return s + " ;"


def _net_text(n: DefNet) -> str:
    if n.raw is not None:
        return n.raw
    conns = " ".join(f"( {a} {b} )" for a, b in n.conns)
    use = f" + USE {n.use}" if n.use else ""
    return f"    - {n.name} {conns}{use} ;"


def def_text(d: Def) -> str:
    """The DEF text of ``d`` (see :func:`write_def`)."""
    out: list[str] = []
    items = d.items or [("raw", f"VERSION {d.version} ;"), ("raw", 'DIVIDERCHAR "/" ;'), ("raw", 'BUSBITCHARS "[]" ;'),
                        ("DESIGN", ""), ("UNITS", ""), ("DIEAREA", ""), ("ROW", ""), ("COMPONENTS", ""), ("PINS", ""), ("NETS", "")]
    done: set[str] = set()
    for kind, text in items:
        if kind == "raw":
            out.append(text)
            continue
        if kind in done:
            continue
        done.add(kind)
        if kind == "DESIGN":
            out.append(f"DESIGN {d.design} ;")
        elif kind == "UNITS":
            out.append(f"UNITS DISTANCE MICRONS {d.dbu} ;")
        elif kind == "DIEAREA" and d.die is not None:
            x0, y0, x1, y1 = d.die
            out.append(f"DIEAREA ( {x0} {y0} ) ( {x1} {y1} ) ;")
        elif kind == "ROW":
            for r in d.rows:
                out.append(f"ROW {r.name} {r.site} {r.x} {r.y} {r.orient} DO {r.nx} BY {r.ny} STEP {r.step_x} {r.step_y} ;")
        elif kind == "COMPONENTS":
            out.append(f"COMPONENTS {len(d.components)} ;")
            out += [_comp_text(c) for c in d.components]
            out.append("END COMPONENTS")
        elif kind == "PINS":
            out.append(f"PINS {len(d.pins)} ;")
            out += [_pin_text(p) for p in d.pins]
            out.append("END PINS")
        elif kind == "NETS":
            out.append(f"NETS {len(d.nets)} ;")
            out += [_net_text(n) for n in d.nets]
            out.append("END NETS")
    # sections the input lacked but the data now has (e.g. rows generated from the die)
    if "ROW" not in done and d.rows:
        raise ValueError("write_def: rows present but the item list has no ROW slot")
    out.append("END DESIGN")
    return "\n".join(out) + "\n"


def write_def(d: Def, path: str | Path) -> None:
    """Write ``d`` atomically: sections read as text come back unchanged, as do
    pins and nets that were read; components, rows and die area are written
    from the data, in the input's order."""
    atomic_write_text(path, def_text(d))
