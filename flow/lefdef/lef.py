"""LEF reader (the subset a placer needs).

Read: ``UNITS DATABASE MICRONS``, ``MANUFACTURINGGRID``, ``LAYER`` (name,
``TYPE``, ``DIRECTION``, ``PITCH``, ``WIDTH``), ``SITE`` (``CLASS``,
``SYMMETRY``, ``SIZE``), ``MACRO`` (``CLASS``, ``ORIGIN``, ``SIZE``,
``SYMMETRY``, ``SITE``, ``PIN`` with ``DIRECTION``, ``USE`` and ``PORT``
``LAYER``/``RECT``/``POLYGON`` shapes, ``OBS``), fixed ``VIA``s, ``VIARULE
... GENERATE`` enclosures and cut arrays, and the layer rules a router and
the KLayout check need (spacing, spacing tables, end-of-line spacing, cut
enclosure, also from ``LEF58_SPACING`` / ``LEF58_ENCLOSURE`` properties).
Everything else (the SPACING block, PROPERTYDEFINITIONS, NONDEFAULTRULE,
other properties, ...) is skipped by its block structure.  Lengths stay in microns (floats), as LEF
writes them; a DEF reader converts with its own units.

Several LEF files (technology, then cells) are read into one
:class:`Library` by passing it back in: ``lib = read_lef(tech); read_lef(cells, lib)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from flow.lefdef._tokens import Tokens

RectUm = tuple[str, float, float, float, float]  # (layer, x0, y0, x1, y1) microns

#: Blocks closed by ``END <name>`` that the reader skips whole.
_NAMED_BLOCKS = {"NONDEFAULTRULE"}
#: Blocks closed by ``END <keyword>``.
_KEYWORD_BLOCKS = {"PROPERTYDEFINITIONS", "SPACING", "UNITS", "BEGINEXT", "IRDROP", "NOISETABLE", "CORRECTIONTABLE", "ARRAY"}


@dataclass(frozen=True)
class EolSpacing:
    """An end-of-line spacing rule of a routing layer: an edge shorter than
    ``width`` whose both corners are convex needs ``space`` in front of it,
    over the edge extended by ``within`` at both ends (microns).  From
    ``SPACING space ENDOFLINE width WITHIN within ;`` or a ``LEF58_SPACING``
    property; ``other`` lists the keywords of the statement the checker does
    not model (e.g. ``PARALLELEDGE``): such a rule is reported as not checked."""

    space: float
    width: float
    within: float
    other: tuple[str, ...] = ()
    source: str = "SPACING"


@dataclass(frozen=True)
class Enclosure:
    """A minimum enclosure of a cut by metal: ``overhang1`` on two opposite
    sides and ``overhang2`` on the other two (either way round), microns.
    ``side``: ``ABOVE`` / ``BELOW`` (the metal above or below the cut) or ``""``
    (both).  From a cut layer's ``ENCLOSURE`` statement or ``LEF58_ENCLOSURE``
    property; ``other`` lists keywords not modelled (``WIDTH``, ``LENGTH``,
    ``CUTCLASS``, ``END``...): such a rule is reported as not checked."""

    side: str
    overhang1: float
    overhang2: float
    other: tuple[str, ...] = ()
    source: str = "ENCLOSURE"


@dataclass
class ViaRule:
    """A ``VIARULE name GENERATE``: per metal layer its ``ENCLOSURE`` (two
    overhangs, microns) and the cut layer with its cut ``RECT`` and ``SPACING``
    (centre to centre).  A VIARULE without GENERATE (a list of fixed vias)
    keeps only its name and layers."""

    name: str
    generate: bool = False
    enclosure: dict[str, tuple[float, float]] = field(default_factory=dict)
    cut: str | None = None
    cut_rect: tuple[float, float, float, float] | None = None
    cut_spacing: tuple[float, float] | None = None
    layers: list[str] = field(default_factory=list)


@dataclass
class Layer:
    name: str
    type: str = ""  # ROUTING, CUT, MASTERSLICE, OVERLAP, ...
    direction: str = ""  # HORIZONTAL / VERTICAL for routing layers
    pitch: float = 0.0  # microns (first value when x/y pitches are given)
    width: float = 0.0  # microns
    # -- what a router needs (microns; 0 / empty when the LEF does not say) --
    spacing: float = 0.0  # smallest plain SPACING (or the spacing table's first entry)
    offset: float | None = None  # OFFSET (first value)
    area: float = 0.0  # AREA (minimum area, um^2)
    #: SPACINGTABLE PARALLELRUNLENGTH: (run lengths, [(width, spacings per run length)])
    spacing_table: tuple[tuple[float, ...], tuple[tuple[float, tuple[float, ...]], ...]] | None = None
    #: SPACING s ENDOFLINE w WITHIN d: (s, w, d) of each such statement
    eol: tuple[tuple[float, float, float], ...] = ()
    #: every end-of-line spacing rule (plain SPACING and LEF58_SPACING), with what is not modelled
    eol_rules: tuple[EolSpacing, ...] = ()
    #: cut layers: ENCLOSURE statements and LEF58_ENCLOSURE properties
    enclosures: tuple[Enclosure, ...] = ()

    def spacing_for(self, width: float, run: float | None = None) -> float:
        """Spacing a shape of ``width`` needs to its neighbours over a parallel
        run of ``run`` (None: the worst run length), in microns."""
        s = self.spacing
        if self.spacing_table is not None:
            prl, rows = self.spacing_table
            for w, vals in rows:
                if width + 1e-9 >= w:
                    if run is None:
                        s = max(s, max(vals))
                    else:
                        s = max(s, max([v for p, v in zip(prl, vals) if run + 1e-9 >= p] or [vals[0]]))
        return s


@dataclass
class Via:
    """A fixed via (LEF ``VIA name [DEFAULT]``): shapes per layer, microns about its origin."""

    name: str
    default: bool = False
    rects: list[RectUm] = field(default_factory=list)

    def layers(self) -> list[str]:
        out: list[str] = []
        for r in self.rects:
            if r[0] not in out:
                out.append(r[0])
        return out


@dataclass
class Site:
    name: str
    cls: str  # CORE, PAD
    w: float  # microns
    h: float
    symmetry: tuple[str, ...] = ()


@dataclass
class MacroPin:
    name: str
    direction: str = ""  # INPUT, OUTPUT, INOUT, FEEDTHRU
    use: str = "SIGNAL"  # SIGNAL, POWER, GROUND, CLOCK, ...
    rects: list[RectUm] = field(default_factory=list)  # port shapes (macro coordinates, microns)

    def centre(self) -> tuple[float, float] | None:
        """Centre of the bounding box of the port shapes (microns), or None."""
        if not self.rects:
            return None
        x0 = min(r[1] for r in self.rects)
        y0 = min(r[2] for r in self.rects)
        x1 = max(r[3] for r in self.rects)
        y1 = max(r[4] for r in self.rects)
        return 0.5 * (x0 + x1), 0.5 * (y0 + y1)


@dataclass
class Macro:
    name: str
    cls: str = "CORE"  # first word of CLASS: CORE, BLOCK, PAD, COVER, RING, ENDCAP
    subclass: str = ""  # e.g. TIEHIGH, SPACER, WELLTAP
    w: float = 0.0  # microns
    h: float = 0.0
    origin: tuple[float, float] = (0.0, 0.0)
    site: str | None = None
    symmetry: tuple[str, ...] = ()
    pins: dict[str, MacroPin] = field(default_factory=dict)
    obs: list[RectUm] = field(default_factory=list)
    line: int = 0  # where it was defined

    @property
    def is_block(self) -> bool:
        """A macro (hard block, pad, ring, cover) rather than a standard cell."""
        return self.cls in ("BLOCK", "PAD", "RING", "COVER")


@dataclass
class Library:
    """Everything read from one or more LEF files."""

    dbu: int | None = None  # UNITS DATABASE MICRONS (dbu per micron)
    manufacturing_grid: float | None = None  # microns
    layers: dict[str, Layer] = field(default_factory=dict)
    sites: dict[str, Site] = field(default_factory=dict)
    macros: dict[str, Macro] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    vias: dict[str, Via] = field(default_factory=dict)
    viarules: dict[str, ViaRule] = field(default_factory=dict)


def read_lef(path: str | Path, lib: Library | None = None, *, text: str | None = None) -> Library:
    """Read a LEF file into ``lib`` (a new :class:`Library` when None) and return it.

    A macro or site defined again (e.g. in a second file) replaces the first.
    Raises :class:`~flow.errors.InputError` ``file:line: message`` on bad syntax.

    Examples
    --------
    >>> lef = '''UNITS DATABASE MICRONS 1000 ; END UNITS
    ... SITE core CLASS CORE ; SIZE 0.2 BY 1.4 ; END core
    ... MACRO INV CLASS CORE ; SIZE 0.6 BY 1.4 ; SITE core ;
    ...   PIN A DIRECTION INPUT ; PORT LAYER M1 ; RECT 0.1 0.5 0.2 0.7 ; END END A
    ... END INV
    ... END LIBRARY'''
    >>> lib = read_lef("x.lef", text=lef)
    >>> lib.dbu, lib.macros["INV"].w, lib.macros["INV"].pins["A"].centre()
    (1000, 0.6, (0.15000000000000002, 0.6))
    """
    lib = lib if lib is not None else Library()
    t = Tokens(path, text)
    lib.files.append(str(path))
    while not t.at_end():
        line = t.line()
        kw = t.next().upper()
        if kw == "END":
            word = t.next("LIBRARY")
            if word.upper() != "LIBRARY":
                raise t.error(f"unexpected 'END {word}' at the top level", line)
            break
        if kw == "UNITS":
            _units(t, lib)
        elif kw == "MANUFACTURINGGRID":
            st = t.statement()
            lib.manufacturing_grid = t.number(st[0] if st else "", "MANUFACTURINGGRID", line)
        elif kw == "LAYER":
            _layer(t, lib)
        elif kw == "SITE":
            _site(t, lib, line)
        elif kw == "MACRO":
            _macro(t, lib, line)
        elif kw == "VIA":
            _via(t, lib, line)
        elif kw == "VIARULE":
            _viarule(t, lib, line)
        elif kw in _NAMED_BLOCKS:
            _skip_named(t, t.next(f"a {kw} name"), line)
        elif kw in _KEYWORD_BLOCKS:
            _skip_named(t, kw, line)
        else:
            t.statement()  # VERSION, BUSBITCHARS, DIVIDERCHAR, CLEARANCEMEASURE, ...
    return lib


def _skip_named(t: Tokens, name: str, line: int) -> None:
    """Skip to ``END name`` (case-sensitive for names, as LEF is)."""
    while True:
        if t.at_end():
            raise t.error(f"block is not closed by 'END {name}'", line)
        tok = t.next()
        if tok.upper() == "END" and t.peek() is not None and (t.peek() == name or t.peek().upper() == name.upper()):
            t.next()
            return


def _units(t: Tokens, lib: Library) -> None:
    while True:
        line = t.line()
        if t.peek() is not None and t.peek().upper() == "END":
            t.next()
            t.expect("UNITS")
            return
        st = t.statement()
        if len(st) >= 3 and st[0].upper() == "DATABASE" and st[1].upper() == "MICRONS":
            v = t.integer(st[2], "UNITS DATABASE MICRONS", line)
            if v <= 0:
                raise t.error(f"UNITS DATABASE MICRONS must be > 0, got {v}", line)
            lib.dbu = v


def _layer(t: Tokens, lib: Library) -> None:
    name = t.next("a layer name")
    lay = lib.layers.get(name) or Layer(name)
    while True:
        line = t.line()
        tok = t.peek()
        if tok is None:
            raise t.error(f"LAYER {name} is not closed by 'END {name}'")
        if tok.upper() == "END":
            t.next()
            end = t.next(name)
            if end != name:
                raise t.error(f"LAYER {name} closed by 'END {end}'", line)
            break
        st = t.statement()
        key = st[0].upper() if st else ""
        if key == "TYPE" and len(st) > 1:
            lay.type = st[1].upper()
        elif key == "DIRECTION" and len(st) > 1:
            lay.direction = st[1].upper()
        elif key == "PITCH" and len(st) > 1:
            lay.pitch = t.number(st[1], f"LAYER {name} PITCH", line)
        elif key == "WIDTH" and len(st) > 1:
            lay.width = t.number(st[1], f"LAYER {name} WIDTH", line)
        elif key == "OFFSET" and len(st) > 1:
            lay.offset = t.number(st[1], f"LAYER {name} OFFSET", line)
        elif key == "AREA" and len(st) > 1:
            lay.area = t.number(st[1], f"LAYER {name} AREA", line)
        elif key == "SPACING" and len(st) > 1:
            v = t.number(st[1], f"LAYER {name} SPACING", line)
            words = [w.upper() for w in st[2:]]
            if "ENDOFLINE" in words:
                k = words.index("ENDOFLINE")
                within = words.index("WITHIN") if "WITHIN" in words else -1
                if k + 1 < len(words) and within > 0 and within + 1 < len(words):
                    lay.eol += ((v, t.number(st[2 + k + 1], f"LAYER {name} ENDOFLINE", line), t.number(st[2 + within + 1], f"LAYER {name} WITHIN", line)),)
                rule = _eol_rule(t, st, f"LAYER {name} SPACING", line, "SPACING")
                if rule is not None:
                    lay.eol_rules += (rule,)
            elif not words:
                lay.spacing = v if lay.spacing == 0 else min(lay.spacing, v)
            # RANGE, LENGTHTHRESHOLD, SAMENET, ...: not modelled
        elif key == "ENCLOSURE" and len(st) > 2:
            lay.enclosures += (_enclosure_rule(t, st, f"LAYER {name} ENCLOSURE", line, "ENCLOSURE"),)
        elif key == "PROPERTY":
            _layer_properties(t, lay, st[1:], line)
        elif key == "SPACINGTABLE" and len(st) > 2 and st[1].upper() == "PARALLELRUNLENGTH":
            k = 2
            prl: list[float] = []
            while k < len(st) and st[k].upper() != "WIDTH":
                prl.append(t.number(st[k], f"LAYER {name} SPACINGTABLE", line))
                k += 1
            rows: list[tuple[float, tuple[float, ...]]] = []
            while k < len(st):
                vals = st[k + 1 : k + 2 + len(prl)]
                if st[k].upper() != "WIDTH" or len(vals) != len(prl) + 1:
                    raise t.error(f"LAYER {name} SPACINGTABLE: expected 'WIDTH w' and {len(prl)} spacings", line)
                nums = [t.number(v, f"LAYER {name} SPACINGTABLE", line) for v in vals]
                rows.append((nums[0], tuple(nums[1:])))
                k += 2 + len(prl)
            if prl and rows:
                lay.spacing_table = (tuple(prl), tuple(rows))
                lay.spacing = rows[0][1][0] if lay.spacing == 0 else min(lay.spacing, rows[0][1][0])
    lib.layers[name] = lay


def _eol_rule(t: Tokens, st: list[str], what: str, line: int, source: str) -> EolSpacing | None:
    """``SPACING s ENDOFLINE w [..] WITHIN d [..]`` (``st`` from ``SPACING``) as
    an :class:`EolSpacing`, or None when it is not an end-of-line rule."""
    words = [w.upper() for w in st]
    if len(st) < 2 or "ENDOFLINE" not in words:
        return None
    k = words.index("ENDOFLINE")
    if "WITHIN" not in words[k:] or k + 1 >= len(st):
        raise t.error(f"{what}: expected 'SPACING s ENDOFLINE w WITHIN d'", line)
    within_at = k + words[k:].index("WITHIN")
    if within_at + 1 >= len(st):
        raise t.error(f"{what}: WITHIN needs a value", line)
    space = t.number(st[1], what, line)
    width = t.number(st[k + 1], f"{what} ENDOFLINE", line)
    within = t.number(st[within_at + 1], f"{what} WITHIN", line)
    other = tuple(w for w in words[2:] if w not in ("ENDOFLINE", "WITHIN") and not _is_number(w))
    return EolSpacing(space, width, within, other, source)


def _enclosure_rule(t: Tokens, st: list[str], what: str, line: int, source: str) -> Enclosure:
    """``ENCLOSURE [ABOVE|BELOW] o1 o2 [...]`` (``st`` from ``ENCLOSURE``)."""
    words = [w.upper() for w in st]
    k = 1
    other: list[str] = []
    if k < len(words) and words[k] == "CUTCLASS":
        other += ["CUTCLASS"]
        k += 2
    side = ""
    if k < len(words) and words[k] in ("ABOVE", "BELOW"):
        side = words[k]
        k += 1
    if k + 1 >= len(st) or not (_is_number(st[k]) and _is_number(st[k + 1])):
        # END / SIDE / HORIZONTAL forms (LEF58): kept, reported as not checked
        rest = [w for w in words[k:] if not _is_number(w)]
        return Enclosure(side, 0.0, 0.0, tuple(other + (rest or ["?"])), source)
    o1 = t.number(st[k], what, line)
    o2 = t.number(st[k + 1], what, line)
    other += [w for w in words[k + 2 :] if not _is_number(w)]
    return Enclosure(side, o1, o2, tuple(other), source)


def _is_number(w: str) -> bool:
    try:
        float(w)
    except ValueError:
        return False
    return True


def _layer_properties(t: Tokens, lay: Layer, st: list[str], line: int) -> None:
    """``PROPERTY name value [name value ...]`` of a layer: the LEF58 rules the
    checker reads (``LEF58_SPACING`` end-of-line statements,
    ``LEF58_ENCLOSURE``); others are skipped."""
    for k in range(0, len(st) - 1, 2):
        name, value = st[k].upper(), st[k + 1]
        if name not in ("LEF58_SPACING", "LEF58_ENCLOSURE", "LEF58_EOLSPACING"):
            continue
        body = value.strip('"')
        sub = Tokens(t.path, body)
        what = f"LAYER {lay.name} PROPERTY {st[k]}"
        while not sub.at_end():
            try:
                stmt = sub.statement()
            except Exception:  # noqa: BLE001 - a statement without ';' at the end of the string
                raise t.error(f"{what}: statement is not terminated by ';'", line) from None
            head = stmt[0].upper() if stmt else ""
            if head == "SPACING" and name in ("LEF58_SPACING", "LEF58_EOLSPACING"):
                rule = _eol_rule(t, stmt, what, line, st[k])
                if rule is not None:
                    lay.eol_rules += (rule,)
            elif head == "ENCLOSURE" and name == "LEF58_ENCLOSURE":
                lay.enclosures += (_enclosure_rule(t, stmt, what, line, st[k]),)


def _viarule(t: Tokens, lib: Library, start: int) -> None:
    """``VIARULE name [GENERATE [DEFAULT]] ... END name``: for GENERATE rules
    the ENCLOSURE per metal layer and the cut layer's RECT and SPACING."""
    name = t.next("a VIARULE name")
    rule = ViaRule(name)
    layer = ""
    while t.peek() is not None and t.peek().upper() in ("GENERATE", "DEFAULT"):
        rule.generate |= t.next().upper() == "GENERATE"
    while True:
        line = t.line()
        tok = t.peek()
        if tok is None:
            raise t.error(f"VIARULE {name} is not closed by 'END {name}'", start)
        if tok.upper() == "END" and t.i + 1 < len(t.toks) and t.toks[t.i + 1][0] == name:
            t.next()
            t.next()
            break
        st = t.statement()
        key = st[0].upper() if st else ""
        what = f"VIARULE {name} {key}"
        if key == "LAYER" and len(st) > 1:
            layer = st[1]
            rule.layers.append(layer)
        elif not rule.generate or not layer:
            continue  # VIA names, DIRECTION, WIDTH ... TO ..., PROPERTY
        elif key == "ENCLOSURE" and len(st) >= 3:
            rule.enclosure[layer] = (t.number(st[1], what, line), t.number(st[2], what, line))
        elif key == "RECT" and len(st) >= 5:
            nums = [t.number(v, what, line) for v in st[1:] if v not in ("(", ")")]
            if len(nums) != 4:
                raise t.error(f"{what}: needs 4 numbers, got {len(nums)}", line)
            rule.cut = layer
            rule.cut_rect = (min(nums[0], nums[2]), min(nums[1], nums[3]), max(nums[0], nums[2]), max(nums[1], nums[3]))
        elif key == "SPACING" and len(st) >= 4 and st[2].upper() == "BY":
            rule.cut_spacing = (t.number(st[1], what, line), t.number(st[3], what, line))
    lib.viarules[name] = rule


def _via(t: Tokens, lib: Library, start: int) -> None:
    """``VIA name [DEFAULT] ... LAYER l ; RECT ... ; ... END name`` (fixed vias;
    a via given by VIARULE parameters keeps no shapes)."""
    name = t.next("a via name")
    via = Via(name)
    layer = ""
    head = True
    while True:
        line = t.line()
        tok = t.peek()
        if tok is None:
            raise t.error(f"VIA {name} is not closed by 'END {name}'", start)
        if head and tok.upper() == "DEFAULT":
            t.next()
            via.default = True
            continue
        head = False
        if tok.upper() == "END" and t.i + 1 < len(t.toks) and t.toks[t.i + 1][0] == name:
            t.next()
            t.next()
            break
        st = t.statement()
        key = st[0].upper() if st else ""
        if key == "LAYER" and len(st) > 1:
            layer = st[1]
        elif key in ("RECT", "POLYGON") and layer:
            vals = st[1:]
            if vals and vals[0].upper() == "MASK":
                vals = vals[2:]
            nums = [t.number(v, f"VIA {name} {key}", line) for v in vals if v not in ("(", ")")]
            if len(nums) < 4 or len(nums) % 2:
                raise t.error(f"VIA {name}: {key} needs an even number (>= 4) of numbers, got {len(nums)}", line)
            xs, ys = nums[0::2], nums[1::2]
            via.rects.append((layer, min(xs), min(ys), max(xs), max(ys)))
    lib.vias[name] = via


def _size(t: Tokens, st: list[str], what: str, line: int) -> tuple[float, float]:
    if len(st) != 4 or st[2].upper() != "BY":
        raise t.error(f"{what}: expected 'SIZE w BY h ;'", line)
    w, h = t.number(st[1], what, line), t.number(st[3], what, line)
    if w <= 0 or h <= 0:
        raise t.error(f"{what}: size {w} x {h} must be positive", line)
    return w, h


def _site(t: Tokens, lib: Library, start: int) -> None:
    name = t.next("a site name")
    cls, size, sym = "CORE", None, ()
    while True:
        line = t.line()
        tok = t.peek()
        if tok is None:
            raise t.error(f"SITE {name} is not closed by 'END {name}'", start)
        if tok.upper() == "END":
            t.next()
            end = t.next(name)
            if end != name:
                raise t.error(f"SITE {name} closed by 'END {end}'", line)
            break
        st = t.statement()
        key = st[0].upper() if st else ""
        if key == "CLASS" and len(st) > 1:
            cls = st[1].upper()
        elif key == "SIZE":
            size = _size(t, st, f"SITE {name} SIZE", line)
        elif key == "SYMMETRY":
            sym = tuple(s.upper() for s in st[1:])
    if size is None:
        raise t.error(f"SITE {name} has no SIZE", start)
    lib.sites[name] = Site(name, cls, size[0], size[1], sym)


def _shapes(t: Tokens, what: str, start: int) -> list[RectUm]:
    """``LAYER``/``RECT``/``POLYGON`` statements up to a bare ``END``."""
    layer = ""
    out: list[RectUm] = []
    while True:
        line = t.line()
        tok = t.peek()
        if tok is None:
            raise t.error(f"{what} is not closed by 'END'", start)
        if tok.upper() == "END":
            t.next()
            return out
        st = t.statement()
        key = st[0].upper() if st else ""
        if key == "LAYER" and len(st) > 1:
            layer = st[1]
        elif key in ("RECT", "POLYGON"):
            vals = st[1:]
            if vals and vals[0].upper() == "MASK":
                vals = vals[2:]
            nums = [t.number(v, f"{what} {key}", line) for v in vals if v not in ("(", ")")]
            if key == "RECT" and len(nums) != 4 or key == "POLYGON" and (len(nums) < 6 or len(nums) % 2):
                raise t.error(f"{what}: {key} needs {'4' if key == 'RECT' else 'an even number (>= 6) of'} numbers, got {len(nums)}", line)
            if not layer:
                raise t.error(f"{what}: {key} before any LAYER", line)
            xs, ys = nums[0::2], nums[1::2]
            out.append((layer, min(xs), min(ys), max(xs), max(ys)))
        # VIA, WIDTH, CLASS, ... : nothing a placer needs


def _pin(t: Tokens, name: str, start: int, macro: str) -> MacroPin:
    pin = MacroPin(name)
    while True:
        line = t.line()
        tok = t.peek()
        if tok is None:
            raise t.error(f"PIN {name} of MACRO {macro} is not closed by 'END {name}'", start)
        if tok.upper() == "END":
            t.next()
            end = t.next(name)
            if end != name:
                raise t.error(f"PIN {name} of MACRO {macro} closed by 'END {end}'", line)
            return pin
        if tok.upper() == "PORT":
            t.next()
            pin.rects += _shapes(t, f"PIN {name} PORT", line)
            continue
        st = t.statement()
        key = st[0].upper() if st else ""
        if key == "DIRECTION" and len(st) > 1:
            pin.direction = st[1].upper()
        elif key == "USE" and len(st) > 1:
            pin.use = st[1].upper()


def _macro(t: Tokens, lib: Library, start: int) -> None:
    name = t.next("a macro name")
    m = Macro(name, line=start)
    size_seen = False
    while True:
        line = t.line()
        tok = t.peek()
        if tok is None:
            raise t.error(f"MACRO {name} is not closed by 'END {name}'", start)
        up = tok.upper()
        if up == "END":
            t.next()
            end = t.next(name)
            if end != name:
                raise t.error(f"MACRO {name} closed by 'END {end}'", line)
            break
        if up == "PIN":
            t.next()
            pname = t.next("a pin name")
            m.pins[pname] = _pin(t, pname, line, name)
            continue
        if up == "OBS":
            t.next()
            m.obs += _shapes(t, f"MACRO {name} OBS", line)
            continue
        st = t.statement()
        key = st[0].upper() if st else ""
        if key == "CLASS" and len(st) > 1:
            m.cls = st[1].upper()
            m.subclass = st[2].upper() if len(st) > 2 else ""
        elif key == "SIZE":
            m.w, m.h = _size(t, st, f"MACRO {name} SIZE", line)
            size_seen = True
        elif key == "ORIGIN" and len(st) >= 3:
            vals = [v for v in st[1:] if v not in ("(", ")")]
            m.origin = (t.number(vals[0], f"MACRO {name} ORIGIN", line), t.number(vals[1], f"MACRO {name} ORIGIN", line))
        elif key == "SITE" and len(st) > 1:
            m.site = st[1]
        elif key == "SYMMETRY":
            m.symmetry = tuple(s.upper() for s in st[1:])
    if not size_seen:
        raise t.error(f"MACRO {name} has no SIZE", start)
    lib.macros[name] = m
