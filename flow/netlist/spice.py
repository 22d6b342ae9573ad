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
  [NAME]`` (a PSpice ``params:`` marker is allowed).  Definitions do not
  nest; a subcircuit name shadows a PDK model of the same name.  Flattening
  joins instance names with ``/`` (``X1/XQ2``) and prefixes internal nets
  (``X1/n3``); ports take the parent's nets; ``0`` and ``.global`` nets are
  never prefixed (``gnd`` is an ordinary net).  Net names are case-sensitive
  (kept as written); a net inside a subcircuit that differs from one of its
  ports only in case is an error, since SPICE would have joined them.
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
  Subcircuit defaults are overridden by the X line, and defaults may use
  other parameters (``wf=10u w={2*wf}``: an X line's ``wf=20u`` gives
  ``w=40u``); a subcircuit sees the top-level ``.param`` values, not its
  parent's.  Expressions are parsed by a small recursive-descent parser,
  never ``eval``.
- **Includes**: ``.include file`` / ``.inc "file"``, relative to the including
  file and never outside the design folder (symlinks followed); cycles are
  errors.
- **Ignored**: simulation control with no circuit meaning (``.option(s)``,
  ``.tran``, ``.ac``, ``.dc``, ``.op``, ``.temp``, ``.save``, ``.print``,
  ``.plot``, ``.probe``, ``.meas``, ``.ic``, ``.nodeset``, ``.width``,
  ``.title``, and ``.control`` ... ``.endc`` blocks).  ``.end`` ends the
  file it is in (the deck, or an included file).
- **Errors** (one line, ``file:line: what``): anything else, e.g. ``.model``
  or ``.lib`` cards (device models come from the PDK), ``V``/``I`` sources
  (a testbench's business, not a layout's), unknown element letters or
  models, wrong terminal counts, duplicate instance names in one scope.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
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
#: Maps a net name as written in a scope (and its statement) to the flat net.
_NetFn = Callable[[str, Source], str]
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

    def __init__(self, text: str, scope: Mapping[str, float], err: Callable[[str], InputError]):
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
        try:
            v = self.sum()
        except (OverflowError, ZeroDivisionError):
            raise self.err(f"expression '{self.text}' overflows or divides by zero") from None
        if self.peek() is not None:
            raise self.err(f"unexpected '{self.peek()[1]}' in expression '{self.text}'")
        if isinstance(v, complex) or not math.isfinite(v):
            raise self.err(f"expression '{self.text}' has no finite real value")
        return float(v)

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
            v = base ** self.unary()
            if isinstance(v, complex):
                raise self.err(f"negative number to a fractional power in '{self.text}'")
            return v
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
    """One statement (continuations joined): its tokens and first line."""

    tokens: list[str]
    src: Source


@dataclass
class _Subckt:
    """A ``.subckt`` definition: ports, unevaluated defaults, body statements."""

    name: str
    ports: list[str]
    defaults: list[tuple[str, str]]
    src: Source
    body: list[_Stmt] = field(default_factory=list)


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
    """One read: the statements of a deck and its includes, then flattening."""

    def __init__(self, root: Path, kit: PDK, display_root: Path | None):
        self.root = root.resolve()
        self.kit = kit
        self.display_root = display_root
        self.models = {m.lower(): m for m in kit.devices}
        self.subckts: dict[str, _Subckt] = {}
        self.globals: set[str] = {"0"}
        self.global_scope: dict[str, float] = {}

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
        last: _Stmt | None = None  # the statement a '+' line continues
        control: Source | None = None  # where an open .control block began
        for n, raw in enumerate(text.splitlines(), start=1):
            line = raw.strip()
            if not line or line.startswith("*"):
                continue
            line = _strip_comment(raw).strip()
            if not line:
                continue
            src = Source(shown, n)
            if line.startswith("+"):
                if control is not None:
                    continue
                if last is None:
                    raise self.err(src, "continuation line '+' with no statement of this file before it")
                last.tokens.extend(_TOKENIZE.findall(line[1:]))
                continue
            low = line.split()[0].lower()
            if control is not None:
                if low == ".endc":
                    control = None
                continue
            last = None
            if low == ".control":
                control = src
                continue
            if low == ".end":
                break
            if low in (".include", ".inc"):
                parts = line.split(None, 1)
                arg = parts[1].strip().strip("\"'") if len(parts) > 1 else ""
                if not arg:
                    raise self.err(src, ".include needs a file name")
                target = path.parent / arg
                if not inside(target, self.root):
                    raise self.err(src, f"include '{arg}' escapes the design folder")
                out.extend(self.statements(target, (*stack, path), src))
                continue
            last = _Stmt(_TOKENIZE.findall(line), src)
            out.append(last)
        if control is not None:
            raise self.err(control, ".control block is never closed with .endc")
        return out

    # -- structure -----------------------------------------------------------
    def structure(self, stmts: list[_Stmt]) -> tuple[dict[str, _Subckt], list[_Stmt], set[str]]:
        """Split statements into subcircuits (by lower-case name), top-level
        statements and global nets; reject what a layout netlist cannot hold."""
        subckts: dict[str, _Subckt] = {}
        top: list[_Stmt] = []
        current: _Subckt | None = None
        globals_: set[str] = {"0"}
        models = ", ".join(self.kit.devices)
        for st in stmts:
            head = st.tokens[0].lower()
            if head == ".subckt":
                if current is not None:
                    raise self.err(st.src, f"nested .subckt inside '{current.name}' (opened at {current.src}); close it with .ends first")
                if len(st.tokens) < 2 or st.tokens[1] == "=":
                    raise self.err(st.src, ".subckt needs a name")
                name = st.tokens[1]
                if name.lower() in subckts:
                    raise self.err(st.src, f"subcircuit '{name}' is defined twice (first at {subckts[name.lower()].src})")
                ports, defaults = self.split_params(st.tokens[2:], st.src)
                dup = sorted({p for p in ports if ports.count(p) > 1})
                if dup:
                    raise self.err(st.src, f"subcircuit '{name}' lists port {', '.join(dup)} twice")
                current = _Subckt(name, ports, defaults, st.src)
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
            elif head == ".model":
                raise self.err(st.src, f".model cards are not read: device models come from the PDK {self.kit.name} (models are {models})")
            elif head in (".lib", ".endl"):
                raise self.err(st.src, f"{head} pulls in simulation libraries; device models come from the PDK (use .include for subcircuit files)")
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
        """Positional tokens and ``name=value`` pairs (names lower-cased,
        values unevaluated); a PSpice-style ``params:`` marker is skipped."""
        pos: list[str] = []
        params: list[tuple[str, str]] = []
        toks = []
        for t in tokens:
            if t.lower().startswith("params:"):
                t = t[len("params:"):]
                if not t:
                    continue
            toks.append(t)
        i = 0
        while i < len(toks):
            t = toks[i]
            if i + 1 < len(toks) and toks[i + 1] == "=":
                if t == "=":
                    raise self.err(src, "'=' without a parameter name")
                if i + 2 >= len(toks) or toks[i + 2] == "=":
                    raise self.err(src, f"parameter '{t}' has no value")
                params.append((t.lower(), toks[i + 2]))
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
        """A value or expression (optionally in ``{}``, ``''`` or ``""``), SI units."""
        t = text.strip()
        if len(t) >= 2 and (t[0], t[-1]) in (("{", "}"), ("'", "'"), ('"', '"')):
            t = t[1:-1]
        num = parse_number(t)
        if num is not None:
            return num
        return _Expr(t, scope, lambda m: self.err(src, m)).value()

    def scope_params(self, stmts: list[_Stmt], scope: dict[str, float]) -> None:
        """Evaluate the ``.param`` statements of ``stmts`` into ``scope``, in order."""
        for st in stmts:
            if st.tokens[0].lower() == ".param":
                pos, pairs = self.split_params(st.tokens[1:], st.src)
                if pos or not pairs:
                    raise self.err(st.src, ".param takes name=value pairs (quote expressions with spaces: {a + b})")
                for name, text in pairs:
                    scope[name] = self.evaluate(text, scope, st.src)

    def subckt_scope(self, sub: _Subckt, given: Mapping[str, float]) -> dict[str, float]:
        """Parameters seen inside ``sub``: globals, then the X line's values,
        then the ``.subckt`` defaults not given (which may use the others)."""
        inner = dict(self.global_scope)
        inner.update(given)
        for pname, text in sub.defaults:
            if pname not in given:
                inner[pname] = self.evaluate(text, inner, sub.src)
        return inner

    # -- flattening ----------------------------------------------------------
    def flatten(
        self,
        body: list[_Stmt],
        scope: dict[str, float],
        prefix: str,
        netmap: Mapping[str, str],
        out: list[Instance],
        stack: tuple[str, ...],
    ) -> None:
        """Append the devices of ``body`` (and of the subcircuits it
        instantiates) to ``out``: names get ``prefix``, port nets ``netmap``."""
        self.scope_params(body, scope)
        seen: dict[str, Source] = {}
        folded = {p.lower(): p for p in netmap}

        def net(n: str, src: Source) -> str:
            if n in netmap:
                return netmap[n]
            if n in self.globals:
                return n
            if n.lower() in folded:
                raise self.err(
                    src,
                    f"net '{n}' differs from port '{folded[n.lower()]}' only in case; "
                    "pilotflow keeps names as written, so spell them the same",
                )
            return f"{prefix}{n}"

        for st in body:
            name = st.tokens[0]
            if name.lower() == ".param":
                continue
            letter = name[0].upper()
            if name.lower() in seen:
                raise self.err(st.src, f"instance '{name}' is defined twice in this scope (first at {seen[name.lower()]})")
            seen[name.lower()] = st.src
            pos, pairs = self.split_params(st.tokens[1:], st.src)
            if letter == "X":
                if not pos:
                    raise self.err(st.src, f"instance '{name}' names no subcircuit or model")
                cell, nets = pos[-1], pos[:-1]
                sub = self.subckts.get(cell.lower())
                if sub is None:
                    self.device(out, prefix, name, self.model(cell, st.src), nets, pairs, scope, st.src, net)
                    continue
                if cell.lower() in stack:
                    chain = " -> ".join((*stack, cell.lower()))
                    raise self.err(st.src, f"subcircuit '{sub.name}' instantiates itself (recursion: {chain})")
                if len(nets) != len(sub.ports):
                    raise self.err(
                        st.src,
                        f"'{name}' connects {_count(len(nets), 'net')} but subcircuit '{sub.name}' "
                        f"has {_count(len(sub.ports), 'port')} ({' '.join(sub.ports) or 'none'})",
                    )
                known = {p for p, _ in sub.defaults}
                given: dict[str, float] = {}
                for pname, text in pairs:
                    if pname not in known:
                        raise self.err(
                            st.src,
                            f"subcircuit '{sub.name}' has no parameter '{pname}'; parameters are {', '.join(sorted(known)) or '(none)'}",
                        )
                    given[pname] = self.evaluate(text, scope, st.src)
                child = {p: net(n, st.src) for p, n in zip(sub.ports, nets)}
                self.flatten(sub.body, self.subckt_scope(sub, given), f"{prefix}{name}/", child, out, (*stack, cell.lower()))
            elif letter in "RCD":
                self.two_terminal(out, prefix, name, letter, pos, pairs, scope, st.src, net)
            elif letter in "VI":
                raise self.err(st.src, f"'{name}': sources are not part of a layout netlist (they belong in a testbench)")
            else:
                raise self.err(st.src, f"unsupported element '{name}' (pilotflow reads X, R, C and D lines mapped to PDK models)")

    def two_terminal(
        self,
        out: list[Instance],
        prefix: str,
        name: str,
        letter: str,
        pos: list[str],
        pairs: list[tuple[str, str]],
        scope: Mapping[str, float],
        src: Source,
        net: _NetFn,
    ) -> None:
        """An ``R``/``C``/``D`` line: two nets, a PDK model, an optional bare value."""
        model: str | None = None
        value: float | None = None
        rest_pairs: list[tuple[str, str]] = []
        for pname, text in pairs:
            if pname == "model":
                model = self.model(text, src)
            else:
                rest_pairs.append((pname, text))
        if len(pos) < 2:
            raise self.err(src, f"'{name}' needs two nets")
        nets = pos[:2]
        for tok in pos[2:]:
            if model is None and tok.lower() in self.models:
                model = self.models[tok.lower()]
            elif value is None and letter in "RC":
                value = self.evaluate(tok, scope, src)
            else:
                raise self.err(src, f"unexpected '{tok}' on '{name}'")
        if model is None:
            kind = {"R": "resistor", "C": "capacitor", "D": "diode"}[letter]
            hint = {"R": "r2deg r=1k", "C": "<model> c=1p", "D": "<model>"}[letter]
            raise self.err(
                src,
                f"{kind} {name} has no PDK model; write '{name} {nets[0]} {nets[1]} {hint}' (models are {', '.join(self.kit.devices)})",
            )
        params = {p: self.evaluate(text, scope, src) for p, text in rest_pairs}
        if value is not None:
            params[{"R": "r", "C": "c"}[letter]] = value
        self.add(out, prefix, name, model, nets, params, src, net)

    def model(self, name: str, src: Source) -> str:
        """The kit's spelling of device model ``name`` (case-insensitive)."""
        m = self.models.get(name.lower())
        if m is None:
            raise self.err(src, f"unknown device model '{name}'; models are {', '.join(self.kit.devices)}")
        return m

    def device(
        self,
        out: list[Instance],
        prefix: str,
        name: str,
        model: str,
        nets: list[str],
        pairs: list[tuple[str, str]],
        scope: Mapping[str, float],
        src: Source,
        net: _NetFn,
    ) -> None:
        """A device line (``X`` with a PDK model): evaluate params, then :meth:`add`."""
        params = {p: self.evaluate(text, scope, src) for p, text in pairs}
        self.add(out, prefix, name, model, nets, params, src, net)

    def add(
        self,
        out: list[Instance],
        prefix: str,
        name: str,
        model: str,
        nets: list[str],
        params: dict[str, float],
        src: Source,
        net: _NetFn,
    ) -> None:
        """Check the terminal count and append the flat instance."""
        terms = self.kit.devices[model].terminals
        if len(nets) != len(terms):
            raise self.err(
                src,
                f"'{name}' connects {_count(len(nets), 'net')} but model '{model}' has "
                f"{_count(len(terms), 'terminal')} ({' '.join(terms)})",
            )
        out.append(Instance(prefix + name, model, {t: net(n, src) for t, n in zip(terms, nets)}, params, src))


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


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
        Subcircuit to flatten (case-insensitive; its ports become the
        netlist's ports, in order).  Default: the deck's top-level element
        lines, with no ports, named after the file.  Top-level element lines
        are ignored when ``top`` is given (a testbench around the circuit).
    display_root
        Error messages show file paths relative to this (default: cwd).

    Returns
    -------
    Netlist
        Flat; hierarchical names joined with ``/``; parameter values in SI
        units (metres, ohms, farads).

    Raises
    ------
    InputError
        One line, ``file:line: what``, for anything the reader cannot map.
    """
    path = Path(path)
    r = _Reader(Path(root), kit, display_root)
    r.subckts, top_stmts, r.globals = r.structure(r.statements(path))
    r.global_scope = {}
    r.scope_params(top_stmts, r.global_scope)
    shown = r.show(path)
    out: list[Instance] = []
    if top is not None:
        sub = r.subckts.get(top.lower())
        if sub is None:
            names = ", ".join(s.name for s in r.subckts.values()) or "(none)"
            raise InputError(f"{shown}: no subcircuit '{top}'; subcircuits are {names}")
        r.flatten(sub.body, r.subckt_scope(sub, {}), "", {p: p for p in sub.ports}, out, (sub.name.lower(),))
        name, ports = sub.name, tuple(sub.ports)
    else:
        if not any(s.tokens[0].lower() != ".param" for s in top_stmts):
            if r.subckts:
                names = ", ".join(s.name for s in r.subckts.values())
                raise InputError(f"{shown}: the deck only defines subcircuits ({names}); name the top one in design.toml [design] top")
            raise InputError(f"{shown}: the netlist has no devices")
        r.flatten(top_stmts, dict(r.global_scope), "", {}, out, ())
        name, ports = path.stem, ()
    try:
        return Netlist(name, tuple(out), ports)
    except ValueError as e:  # e.g. a top-level 'X1/XQ' colliding with a flattened name
        raise InputError(f"{shown}: {e} after flattening") from None


def write_spice(netlist: Netlist, kit: PDK) -> str:
    """A flat SPICE deck of ``netlist`` that :func:`read_spice` reads back.

    One ``.subckt`` named ``netlist.top`` with the ports (read it back with
    ``top=netlist.top``), one line per device, nets in the kit's terminal
    order, parameters as suffix-free SI floats.  Names starting with ``X`` are
    kept; so are ``R``/``C``/``D`` names of two-terminal devices (written as
    ``R1 a b r2deg r=...``); any other name gets an ``X`` in front.
    """
    lines = [
        f"* {netlist.top}: flat netlist written by pilotflow for PDK {kit.name} {kit.version}",
        f".subckt {netlist.top} {' '.join(netlist.ports)}".rstrip(),
    ]
    for inst in netlist.instances:
        dev = kit.device(inst.model)
        first = inst.name[0].upper()
        keep = first == "X" or (first in "RCD" and len(dev.terminals) == 2)
        name = inst.name if keep else f"X{inst.name}"
        nets = " ".join(inst.pins[t] for t in dev.terminals)
        params = " ".join(f"{k}={float(v)!r}" for k, v in inst.params.items())
        lines.append(f"{name} {nets} {inst.model} {params}".rstrip())
    lines += [f".ends {netlist.top}", ".end"]
    return "\n".join(lines) + "\n"
