"""SPICE netlist reader and writer (the subset layout netlists use).

The reader turns a SPICE deck into a flat :class:`~flow.netlist.model.Netlist`
of PDK devices.  What it understands:

- **Statements**: one per line; ``+`` at the start of a line continues the
  previous statement (errors name the statement's first line).  The first
  line is *not* a title: pilotflow reads netlists as decks of statements, so
  begin a file with a ``*`` comment if it has a title.
- **Comments**: lines starting with ``*``; ``;`` and `` $ `` start an inline
  comment.  Keywords and model names are case-insensitive; instance and net
  names are kept as written.
- **Hierarchy**: ``.subckt NAME ports... [param=default ...]`` / ``.ends
  [NAME]``.  Definitions do not nest.  Flattening joins instance names with
  ``/`` (``X1/XQ2``) and prefixes internal nets (``X1/n3``); ports take the
  parent's nets; ``0`` and ``.global`` nets are never prefixed.
- **Instances**: ``Xname nets... CELL [p=v ...]`` where CELL is a subcircuit of
  the deck or a device model of the PDK (terminal order from the PDK).
  ``R``, ``C`` and ``D`` lines need a PDK model: ``R3 a b r2deg r=1k``,
  ``R3 a b 1k r2deg`` or ``R3 a b 1k model=r2deg`` (a bare value becomes ``r``
  for R, ``c`` for C).
- **Values**: numbers with SI suffixes ``f p n u m k meg g t`` and ``mil``;
  letters after a suffix are ignored as in SPICE (``10kohm``, ``2.5um``).
  Values are stored in SI units (metres, ohms, farads).
- **Parameters**: ``.param name=expr ...`` at top level or in a subcircuit,
  expressions with ``+ - * / **``, parentheses, ``sqrt abs min max``, and
  references to parameters; ``{expr}`` or ``'expr'`` quote an expression.
  Subcircuit defaults are overridden by the X line.  Expressions are parsed
  by a small recursive-descent parser, never ``eval``.
- **Includes**: ``.include file`` / ``.inc "file"``, relative to the including
  file and never outside the design folder; cycles are errors.
- **Ignored**: simulation control with no circuit meaning (``.option(s)``,
  ``.tran``, ``.ac``, ``.dc``, ``.op``, ``.temp``, ``.save``, ``.print``,
  ``.plot``, ``.probe``, ``.meas``, ``.ic``, ``.nodeset``, and
  ``.control`` ... ``.endc`` blocks).  ``.end`` ends the deck.
- **Errors** (one line, ``file:line: what``): anything else, e.g. ``.model``
  or ``.lib`` cards, ``V``/``I`` sources (a testbench's business, not a
  layout's), unknown element letters or models, wrong terminal counts.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from flow.config import display_path, inside
from flow.errors import InputError
from flow.netlist.model import Instance, Netlist, Source
from pdk.schema import PDK

_SUFFIX = {"f": 1e-15, "p": 1e-12, "n": 1e-9, "u": 1e-6, "m": 1e-3, "k": 1e3, "g": 1e9, "t": 1e12, "meg": 1e6, "mil": 25.4e-6}
_NUMBER = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)(meg|mil|[fpnumkgt])?[a-z]*$", re.IGNORECASE)
_IGNORED = {
    ".option", ".options", ".opt", ".tran", ".ac", ".dc", ".op", ".temp", ".save", ".print",
    ".plot", ".probe", ".meas", ".measure", ".ic", ".nodeset", ".width", ".title",
}
_FUNCS = {"sqrt": (1, math.sqrt), "abs": (1, abs), "min": (2, min), "max": (2, max)}


def parse_number(text: str) -> float | None:
    """``'2.5u'`` -> 2.5e-6; ``'10kohm'`` -> 1e4; ``None`` if not a number.

    >>> parse_number("1meg"), parse_number("3.3"), parse_number("abc")
    (1000000.0, 3.3, None)
    """
    m = _NUMBER.match(text)
    if not m:
        return None
    value = float(m.group(1))
    if m.group(2):
        value *= _SUFFIX[m.group(2).lower()]
    return value


# ---------------------------------------------------------------- expressions
_TOKEN = re.compile(
    r"\s*(?:(?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?(?:meg|mil|[fpnumkgt])?[a-zA-Z]*)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_.]*)|(?P<op>\*\*|[-+*/(),^]))",
    re.IGNORECASE,
)


class _Expr:
    """Recursive-descent evaluator over + - * / ** ^, unary minus, calls."""

    def __init__(self, text: str, scope: Mapping[str, float], err):
        self.toks: list[tuple[str, str]] = []
        pos = 0
        text = text.strip()
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if not m or m.end() == pos:
                raise err(f"cannot parse expression '{text}' at '{text[pos:].strip()}'")
            kind = m.lastgroup
            self.toks.append((kind, m.group(kind)))
            pos = m.end()
            while pos < len(text) and text[pos].isspace():
                pos += 1
        self.i = 0
        self.scope = scope
        self.err = err
        self.text = text

    def peek(self) -> tuple[str, str] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> tuple[str, str]:
        t = self.peek()
        if t is None:
            raise self.err(f"incomplete expression '{self.text}'")
        self.i += 1
        return t

    def value(self) -> float:
        if not self.toks:
            raise self.err("empty expression")
        v = self.sum()
        if self.peek() is not None:
            raise self.err(f"unexpected '{self.peek()[1]}' in expression '{self.text}'")
        return v

    def sum(self) -> float:
        v = self.product()
        while (t := self.peek()) and t[1] in "+-" and t[0] == "op":
            self.take()
            v = v + self.product() if t[1] == "+" else v - self.product()
        return v

    def product(self) -> float:
        v = self.unary()
        while (t := self.peek()) and t[0] == "op" and t[1] in ("*", "/"):
            self.take()
            rhs = self.unary()
            if t[1] == "/":
                if rhs == 0:
                    raise self.err(f"division by zero in '{self.text}'")
                v = v / rhs
            else:
                v = v * rhs
        return v

    def unary(self) -> float:
        t = self.peek()
        if t and t[0] == "op" and t[1] in "+-":
            self.take()
            v = self.unary()
            return -v if t[1] == "-" else v
        return self.power()

    def power(self) -> float:
        base = self.atom()
        t = self.peek()
        if t and t[0] == "op" and t[1] in ("**", "^"):
            self.take()
            return base ** self.unary()
        return base

    def atom(self) -> float:
        kind, text = self.take()
        if kind == "num":
            v = parse_number(text)
            if v is None:
                raise self.err(f"bad number '{text}'")
            return v
        if kind == "name":
            low = text.lower()
            nxt = self.peek()
            if nxt == ("op", "("):
                if low not in _FUNCS:
                    raise self.err(f"unknown function '{text}'; functions are {', '.join(_FUNCS)}")
                self.take()
                nargs, fn = _FUNCS[low]
                args = [self.sum()]
                while self.peek() == ("op", ","):
                    self.take()
                    args.append(self.sum())
                if self.take() != ("op", ")"):
                    raise self.err(f"missing ')' in '{self.text}'")
                if len(args) != nargs:
                    raise self.err(f"{low}() takes {nargs} argument(s)")
                try:
                    return float(fn(*args))
                except ValueError:
                    raise self.err(f"{low}() of an invalid value in '{self.text}'") from None
            if low not in self.scope:
                raise self.err(f"unknown parameter '{text}'")
            return self.scope[low]
        if text == "(":
            v = self.sum()
            if self.take() != ("op", ")"):
                raise self.err(f"missing ')' in '{self.text}'")
            return v
        raise self.err(f"unexpected '{text}' in expression '{self.text}'")


# ---------------------------------------------------------------- deck model
@dataclass
class _Stmt:
    tokens: list[str]
    src: Source


@dataclass
class _Subckt:
    name: str
    ports: list[str]
    defaults: list[tuple[str, str]]
    body: list[_Stmt] = field(default_factory=list)
    src: Source | None = None


_TOKENIZE = re.compile(r"\{[^}]*\}|'[^']*'|\"[^\"]*\"|=|[^\s=]+")


def _strip_comment(line: str) -> str:
    cut = len(line)
    for mark in (";", " $ ", "\t$ "):
        k = line.find(mark)
        if k != -1:
            cut = min(cut, k)
    if line.rstrip().endswith(" $"):
        cut = min(cut, line.rstrip().rfind(" $"))
    return line[:cut]


class _Reader:
    def __init__(self, root: Path, kit: PDK, display_root: Path | None):
        self.root = root.resolve()
        self.kit = kit
        self.display_root = display_root
        self.models = {m.lower(): m for m in kit.devices}

    def show(self, path: Path) -> str:
        return display_path(path, self.display_root)

    def err(self, src: Source, msg: str) -> InputError:
        return InputError(f"{src}: {msg}")

    def statements(self, path: Path, stack: tuple[Path, ...] = (), at: Source | None = None) -> list[_Stmt]:
        path = path.resolve()
        if path in stack:
            raise self.err(at, f"include cycle: {' -> '.join(self.show(p) for p in (*stack, path))}")
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            if at is None:
                raise InputError(f"{self.show(path)}: file not found") from None
            raise self.err(at, f"included file '{self.show(path)}' not found") from None
        except (OSError, UnicodeDecodeError) as e:
            where = f"{at}: " if at else f"{self.show(path)}: "
            raise InputError(f"{where}cannot read {self.show(path)}: {e}") from None
        shown = self.show(path)
        out: list[_Stmt] = []
        in_control = False
        for n, raw in enumerate(text.splitlines(), start=1):
            line = raw.strip()
            if not line or line.startswith("*"):
                continue
            line = _strip_comment(raw).strip()
            if not line:
                continue
            src = Source(shown, n)
            if line.startswith("+"):
                if not out:
                    raise self.err(src, "continuation line '+' with no statement before it")
                if not in_control:
                    out[-1].tokens.extend(_TOKENIZE.findall(line[1:]))
                continue
            low = line.split()[0].lower()
            if in_control:
                if low == ".endc":
                    in_control = False
                continue
            if low == ".control":
                in_control = True
                continue
            if low == ".end":
                break
            if low in (".include", ".inc"):
                arg = line.split(None, 1)[1].strip() if len(line.split()) > 1 else ""
                arg = arg.strip("\"'")
                if not arg:
                    raise self.err(src, ".include needs a file name")
                target = (path.parent / arg)
                if not inside(target, self.root):
                    raise self.err(src, f"include '{arg}' escapes the design folder")
                out.extend(self.statements(target, (*stack, path), src))
                continue
            out.append(_Stmt(_TOKENIZE.findall(line), src))
        if in_control:
            pass  # an unterminated .control block simply runs to the end of the file
        return out

    # -- structure -----------------------------------------------------------
    def structure(self, stmts: list[_Stmt]):
        subckts: dict[str, _Subckt] = {}
        top: list[_Stmt] = []
        current: _Subckt | None = None
        globals_: set[str] = {"0"}
        for st in stmts:
            head = st.tokens[0].lower()
            if head == ".subckt":
                if current is not None:
                    raise self.err(st.src, f"nested .subckt inside '{current.name}' (opened at {current.src}); close it with .ends first")
                if len(st.tokens) < 2:
                    raise self.err(st.src, ".subckt needs a name")
                name = st.tokens[1]
                ports, defaults = self.split_params(st.tokens[2:], st.src)
                if name.lower() in subckts:
                    raise self.err(st.src, f"subcircuit '{name}' is defined twice (first at {subckts[name.lower()].src})")
                if name.lower().startswith("params:"):
                    raise self.err(st.src, "'params:' on .subckt lines is not supported; write param=value")
                current = _Subckt(name, ports, defaults, src=st.src)
                subckts[name.lower()] = current
            elif head == ".ends":
                if current is None:
                    raise self.err(st.src, ".ends without a matching .subckt")
                if len(st.tokens) > 1 and st.tokens[1].lower() != current.name.lower():
                    raise self.err(st.src, f".ends {st.tokens[1]} closes subcircuit '{current.name}'")
                current = None
            elif head == ".global":
                globals_.update(st.tokens[1:])
            elif head in _IGNORED:
                continue
            elif head.startswith(".") and head != ".param":
                raise self.err(st.src, f"unsupported statement '{st.tokens[0]}' (pilotflow reads circuit netlists; see the SPICE subset in docs/formats.md)")
            elif current is not None:
                current.body.append(st)
            else:
                top.append(st)
        if current is not None:
            raise self.err(current.src, f".subckt '{current.name}' is never closed with .ends")
        return subckts, top, globals_

    def split_params(self, tokens: list[str], src: Source) -> tuple[list[str], list[tuple[str, str]]]:
        """Positional tokens and ``name=value`` pairs (values unevaluated)."""
        pos: list[str] = []
        params: list[tuple[str, str]] = []
        i = 0
        while i < len(tokens):
            t = tokens[i]
            if i + 1 < len(tokens) and tokens[i + 1] == "=":
                if i + 2 >= len(tokens):
                    raise self.err(src, f"parameter '{t}' has no value")
                params.append((t.lower(), tokens[i + 2]))
                i += 3
                continue
            if t == "=":
                raise self.err(src, "'=' without a parameter name")
            if params:
                raise self.err(src, f"'{t}' after parameters: nets and models come before name=value pairs")
            pos.append(t)
            i += 1
        return pos, params

    def evaluate(self, text: str, scope: Mapping[str, float], src: Source) -> float:
        t = text.strip()
        if (t.startswith("{") and t.endswith("}")) or (t.startswith("'") and t.endswith("'")) or (t.startswith('"') and t.endswith('"')):
            t = t[1:-1]
        num = parse_number(t)
        if num is not None:
            return num
        return _Expr(t, scope, lambda m: self.err(src, m)).value()

    def scope_params(self, stmts: list[_Stmt], scope: dict[str, float]) -> None:
        for st in stmts:
            if st.tokens[0].lower() == ".param":
                pos, pairs = self.split_params(st.tokens[1:], st.src)
                if pos or not pairs:
                    raise self.err(st.src, ".param takes name=value pairs")
                for name, text in pairs:
                    scope[name] = self.evaluate(text, scope, st.src)

    # -- flattening ----------------------------------------------------------
    def flatten(self, subckts, body: list[_Stmt], scope: dict[str, float], prefix: str, netmap: dict[str, str], globals_, out: list[Instance], stack: tuple[str, ...]):
        self.scope_params(body, scope)
        seen: dict[str, Source] = {}

        def net(n: str) -> str:
            if n in netmap:
                return netmap[n]
            if n in globals_:
                return n
            return f"{prefix}{n}"

        for st in body:
            name = st.tokens[0]
            letter = name[0].upper()
            if name.lower() == ".param":
                continue
            if name.lower() in seen:
                raise self.err(st.src, f"instance '{name}' is defined twice in this scope (first at {seen[name.lower()]})")
            seen[name.lower()] = st.src
            pos, pairs = self.split_params(st.tokens[1:], st.src)
            if letter == "X":
                if not pos:
                    raise self.err(st.src, f"instance '{name}' names no subcircuit or model")
                cell, nets = pos[-1], pos[:-1]
                sub = subckts.get(cell.lower())
                if sub is not None:
                    if cell.lower() in stack:
                        raise self.err(st.src, f"subcircuit '{sub.name}' instantiates itself (recursion: {' -> '.join((*stack, cell))})")
                    if len(nets) != len(sub.ports):
                        raise self.err(st.src, f"'{name}' connects {len(nets)} nets but subcircuit '{sub.name}' has {len(sub.ports)} ports ({' '.join(sub.ports)})")
                    inner: dict[str, float] = dict(self.global_scope)
                    for pname, text in sub.defaults:
                        inner[pname] = self.evaluate(text, inner, sub.src)
                    known = {p for p, _ in sub.defaults}
                    for pname, text in pairs:
                        if pname not in known:
                            raise self.err(st.src, f"subcircuit '{sub.name}' has no parameter '{pname}'; parameters are {', '.join(sorted(known)) or '(none)'}")
                        inner[pname] = self.evaluate(text, scope, st.src)
                    child_map = {p: net(n) for p, n in zip(sub.ports, nets)}
                    self.flatten(subckts, sub.body, inner, f"{prefix}{name}/", child_map, globals_, out, (*stack, cell.lower()))
                    continue
                model = self.model(cell, st.src)
                self.device(out, prefix + name, model, nets, pairs, scope, st.src, net)
            elif letter in "RCD":
                model = None
                value = None
                pairs_left = []
                for pname, text in pairs:
                    if pname == "model":
                        model = self.model(text, st.src)
                    else:
                        pairs_left.append((pname, text))
                if len(pos) < 2:
                    raise self.err(st.src, f"'{name}' needs two nets")
                nets, rest = pos[:2], pos[2:]
                for tok in rest:
                    if tok.lower() in self.models and model is None:
                        model = self.models[tok.lower()]
                    elif value is None and letter in "RC":
                        value = self.evaluate(tok, scope, st.src)
                    else:
                        raise self.err(st.src, f"unexpected '{tok}' on '{name}'")
                if model is None:
                    kind = {"R": "resistor", "C": "capacitor", "D": "diode"}[letter]
                    hint = {"R": f"{name} {nets[0]} {nets[1]} r2deg r=1k", "C": f"{name} {nets[0]} {nets[1]} <model> c=1p", "D": f"{name} {nets[0]} {nets[1]} <model>"}[letter]
                    raise self.err(st.src, f"{kind} {name} has no PDK model; write '{hint}' (models are {', '.join(self.kit.devices)})")
                if value is not None:
                    pairs_left.append(({"R": "r", "C": "c"}[letter], repr(value)))
                self.device(out, prefix + name, model, nets, pairs_left, scope, st.src, net)
            elif letter in "VI":
                raise self.err(st.src, f"'{name}': sources are not part of a layout netlist (they belong in a testbench)")
            else:
                raise self.err(st.src, f"unsupported element '{name}' (pilotflow reads X, R, C and D lines mapped to PDK models)")

    def model(self, name: str, src: Source) -> str:
        m = self.models.get(name.lower())
        if m is None:
            raise self.err(src, f"unknown device model '{name}'; models are {', '.join(self.kit.devices)}")
        return m

    def device(self, out, name, model, nets, pairs, scope, src, net) -> None:
        dev = self.kit.devices[model]
        if len(nets) != len(dev.terminals):
            raise self.err(src, f"'{name.split('/')[-1]}' connects {len(nets)} nets but model '{model}' has {len(dev.terminals)} terminals ({' '.join(dev.terminals)})")
        params = {p: self.evaluate(text, scope, src) for p, text in pairs}
        out.append(Instance(name, model, {t: net(n) for t, n in zip(dev.terminals, nets)}, params, src))


def read_spice(
    path: str | Path,
    *,
    root: Path,
    kit: PDK,
    top: str | None = None,
    display_root: Path | None = None,
) -> Netlist:
    """Read a SPICE deck into a flat :class:`Netlist` of ``kit``'s devices.

    Parameters
    ----------
    path
        The netlist file.
    root
        The design folder: includes may not leave it.
    kit
        The PDK whose device models the netlist instantiates.
    top
        Subcircuit to flatten (its ports become the netlist's ports); default:
        the deck's top-level instances.
    display_root
        Error messages show file paths relative to this (default: cwd).
    """
    r = _Reader(Path(root), kit, display_root)
    stmts = r.statements(Path(path))
    subckts, top_stmts, globals_ = r.structure(stmts)
    r.global_scope = {}
    r.scope_params([s for s in top_stmts if s.tokens[0].lower() == ".param"], r.global_scope)
    out: list[Instance] = []
    shown = r.show(Path(path).resolve())
    elements = [s for s in top_stmts if s.tokens[0].lower() != ".param"]
    if top is not None:
        sub = subckts.get(top.lower())
        if sub is None:
            raise InputError(f"{shown}: no subcircuit '{top}'; subcircuits are {', '.join(s.name for s in subckts.values()) or '(none)'}")
        scope = dict(r.global_scope)
        for pname, text in sub.defaults:
            scope[pname] = r.evaluate(text, scope, sub.src)
        r.flatten(subckts, sub.body, scope, "", {p: p for p in sub.ports}, globals_, out, (top.lower(),))
        return Netlist(sub.name, tuple(out), tuple(sub.ports))
    if not elements:
        if subckts:
            raise InputError(f"{shown}: the deck only defines subcircuits ({', '.join(s.name for s in subckts.values())}); name the top one in design.toml [design] top")
        raise InputError(f"{shown}: the netlist has no devices")
    r.flatten(subckts, top_stmts, dict(r.global_scope), "", {}, globals_, out, ())
    return Netlist(Path(path).stem, tuple(out), ())


def _fmt(v: float) -> str:
    return repr(float(v))


def write_spice(netlist: Netlist, kit: PDK) -> str:
    """A flat SPICE deck of ``netlist``: one subcircuit with the ports, one
    line per device (parameters in SI units); :func:`read_spice` reads it back."""
    lines = [f"* {netlist.top}: flat netlist written by pilotflow for PDK {kit.name} {kit.version}"]
    lines.append(f".subckt {netlist.top} {' '.join(netlist.ports)}".rstrip())
    for inst in netlist.instances:
        dev = kit.device(inst.model)
        name = inst.name if inst.name[0].upper() in "XRCD" else f"X{inst.name}"
        nets = " ".join(inst.pins[t] for t in dev.terminals)
        params = " ".join(f"{k}={_fmt(v)}" for k, v in inst.params.items())
        lines.append(f"{name} {nets} {inst.model} {params}".rstrip())
    lines.append(f".ends {netlist.top}")
    lines.append(".end")
    return "\n".join(lines) + "\n"
