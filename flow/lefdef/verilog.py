"""Structural (gate-level) Verilog reader, as written by yosys and OpenROAD.

Supported: ``module name (ports);`` with ``input``/``output``/``inout``/
``wire`` declarations (scalar or ``[msb:lsb]`` buses, which are expanded to
``name[i]`` bits), escaped identifiers (``\\a.b[3] ``), cell instances with
named port connections ``.PORT(net)``, ``.PORT(bus[3])`` or ``.PORT()``, and
``assign``: a constant right-hand side (``1'b0``) is skipped with a note, a
net right-hand side joins the two nets into one.  One module per file (the
first is read; later modules are noted).  ``//`` and ``/* */`` comments.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from flow.errors import InputError, where

_TOKEN = re.compile(
    r"\\(?P<esc>\S+)"  # escaped identifier, ends at whitespace
    r"|(?P<num>\d*'[sS]?[bBoOdDhH][0-9a-fA-FxXzZ_?]+|\d+)"
    r"|(?P<id>[A-Za-z_][A-Za-z0-9_$]*)"
    r"|(?P<sym>[()\[\]{};:,.=])"
    r"|(?P<bad>\S)"
)


@dataclass
class Instance:
    name: str
    cell: str
    conns: dict[str, str]  # port -> net ("" when unconnected)
    line: int = 0


@dataclass
class Module:
    name: str
    ports: dict[str, str] = field(default_factory=dict)  # bit name -> input / output / inout
    wires: set[str] = field(default_factory=set)
    instances: list[Instance] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _strip_comments(text: str) -> str:
    """Blank out comments, keeping newlines (line numbers stay right)."""
    def blank(m: re.Match) -> str:
        return re.sub(r"[^\n]", " ", m.group(0))
    return re.sub(r"/\*.*?\*/|//[^\n]*", blank, text, flags=re.S)


def _tokens(text: str, path: str) -> list[tuple[str, str, int]]:
    out = []
    line = 1
    pos = 0
    for m in _TOKEN.finditer(text):
        line += text.count("\n", pos, m.start())
        pos = m.start()
        kind = m.lastgroup
        if kind == "bad":
            raise InputError(f"{where(path, line)}unexpected character '{m.group(0)}'")
        val = m.group("esc") if kind == "esc" else m.group(0)
        out.append(("id" if kind == "esc" else kind, val, line))
    return out


class _P:
    def __init__(self, toks, path):
        self.t, self.i, self.path = toks, 0, path

    def line(self) -> int:
        return self.t[min(self.i, len(self.t) - 1)][2] if self.t else 1

    def err(self, msg: str, line: int | None = None) -> InputError:
        return InputError(f"{where(self.path, line or self.line())}{msg}")

    def peek(self) -> str | None:
        return self.t[self.i][1] if self.i < len(self.t) else None

    def next(self, what: str) -> tuple[str, str, int]:
        if self.i >= len(self.t):
            raise self.err(f"unexpected end of file, expected {what}")
        tok = self.t[self.i]
        self.i += 1
        return tok

    def expect(self, sym: str) -> None:
        kind, val, line = self.next(f"'{sym}'")
        if val != sym:
            raise self.err(f"expected '{sym}', found '{val}'", line)

    def ident(self, what: str) -> str:
        kind, val, line = self.next(what)
        if kind != "id":
            raise self.err(f"expected {what}, found '{val}'", line)
        return val

    def number(self, what: str) -> int:
        kind, val, line = self.next(what)
        if kind != "num" or "'" in val:
            raise self.err(f"expected {what}, found '{val}'", line)
        return int(val)


def _range(p: _P) -> list[int] | None:
    if p.peek() != "[":
        return None
    p.next("[")
    msb = p.number("a bus index")
    p.expect(":")
    lsb = p.number("a bus index")
    p.expect("]")
    step = 1 if lsb <= msb else -1
    return list(range(msb, lsb - step, -step))


def _net_ref(p: _P, buses: dict[str, list[int]]) -> str | None:
    """A net reference: ``name``, ``name[i]`` or a constant (None)."""
    kind, val, line = p.next("a net")
    if kind == "num":
        return None
    if val == "{":
        raise p.err("concatenations ({...}) are not supported in gate-level netlists", line)
    if kind != "id":
        raise p.err(f"expected a net, found '{val}'", line)
    if p.peek() == "[":
        p.next("[")
        idx = p.number("a bit index")
        if p.peek() == ":":
            raise p.err(f"part-selects ({val}[a:b]) are not supported; connect single bits", line)
        p.expect("]")
        return f"{val}[{idx}]"
    bits = buses.get(val) or []
    if len(bits) > 1:
        raise p.err(f"'{val}' is a {len(bits)}-bit bus; connect single bits", line)
    if bits:
        return f"{val}[{bits[0]}]"
    return val


def read_verilog(path: str | Path, *, text: str | None = None) -> Module:
    """Read the first module of a structural Verilog file.

    Returns a :class:`Module` whose instance connections use the joined net
    names (after ``assign a = b``, every use of ``a`` or ``b`` names one of
    them).  Raises :class:`~flow.errors.InputError` ``file:line: message``.

    Examples
    --------
    >>> m = read_verilog("t.v", text='''module t(a, y); input a; output y; wire n;
    ...   INV_X1 u1 (.A(a), .ZN(n));  INV_X1 u2 (.A(n), .ZN(y));
    ...   assign unused = 1'b0;
    ... endmodule''')
    >>> [(i.name, i.conns) for i in m.instances], m.notes
    ([('u1', {'A': 'a', 'ZN': 'n'}), ('u2', {'A': 'n', 'ZN': 'y'})], ["t.v:3: assign of a constant to 'unused' skipped"])
    """
    path = str(path)
    if text is None:
        try:
            text = Path(path).read_text(encoding="utf-8", errors="replace")
        except OSError as e:
            raise InputError(f"{path}: cannot read: {e.strerror or e}") from e
    p = _P(_tokens(_strip_comments(text), path), path)
    while p.peek() is not None and p.peek() != "module":
        p.next("module")
    if p.peek() is None:
        raise InputError(f"{path}:1: no 'module' found")
    p.next("module")
    mod = Module(p.ident("a module name"))
    buses: dict[str, list[int]] = {}
    alias: dict[str, str] = {}

    def find(n: str) -> str:
        while alias.get(n, n) != n:
            n = alias[n]
        return n

    # port list (names only; directions come from declarations)
    if p.peek() == "(":
        p.next("(")
        while p.peek() != ")":
            kind, val, line = p.next("a port name or ')'")
            if val in ("input", "output", "inout"):
                raise p.err("ANSI-style port declarations are not supported; declare ports in the body", line)
        p.next(")")
    p.expect(";")
    while True:
        kind, val, line = p.next("'endmodule'")
        if val == "endmodule":
            break
        if val in ("input", "output", "inout", "wire", "tri", "supply0", "supply1"):
            rng = _range(p)
            while True:
                name = p.ident("a net name")
                buses[name] = rng or []
                bits = [f"{name}[{i}]" for i in rng] if rng else [name]
                for b in bits:
                    if val in ("input", "output", "inout"):
                        mod.ports[b] = val
                    else:
                        mod.wires.add(b)
                sep = p.next("',' or ';'")[1]
                if sep == ";":
                    break
                if sep != ",":
                    raise p.err(f"expected ',' or ';', found '{sep}'")
            continue
        if val == "assign":
            lhs = _net_ref(p, buses)
            p.expect("=")
            rhs = _net_ref(p, buses)
            p.expect(";")
            if lhs is None:
                raise p.err("assign to a constant", line)
            if rhs is None:
                mod.notes.append(f"{path}:{line}: assign of a constant to '{lhs}' skipped")
            else:
                a, b = find(lhs), find(rhs)
                if a != b:
                    alias[a] = b
            continue
        if val in ("module",):
            raise p.err("nested 'module' (missing 'endmodule'?)", line)
        if kind != "id":
            raise p.err(f"unexpected '{val}'", line)
        cell = val
        if p.peek() == "#":
            raise p.err("parameterised instances are not supported", line)
        inst = p.ident("an instance name")
        p.expect("(")
        conns: dict[str, str] = {}
        while p.peek() != ")":
            k2, v2, l2 = p.next("'.PORT(net)'")
            if v2 != ".":
                raise p.err(f"instance '{inst}': only named connections '.PORT(net)' are supported, found '{v2}'", l2)
            port = p.ident("a port name")
            if port in conns:
                raise p.err(f"instance '{inst}': port '{port}' connected twice", l2)
            p.expect("(")
            net = "" if p.peek() == ")" else _net_ref(p, buses)
            p.expect(")")
            conns[port] = net if net is not None else ""
            if net is None:
                mod.notes.append(f"{path}:{l2}: {inst}.{port} tied to a constant, left unconnected")
            if p.peek() == ",":
                p.next(",")
        p.next(")")
        p.expect(";")
        mod.instances.append(Instance(inst, cell, conns, line))
    if p.peek() == "module":
        mod.notes.append(f"{path}:{p.line()}: only the first module ('{mod.name}') was read")
    # join aliased nets: the representative is a port name when possible
    if alias:
        groups: dict[str, list[str]] = {}
        for n in list(alias) + list(set(alias.values())):
            groups.setdefault(find(n), []).append(n)
        rep: dict[str, str] = {}
        for root, members in groups.items():
            ports = sorted(m for m in set(members) if m in mod.ports)
            name = ports[0] if ports else root
            for m in set(members):
                rep[m] = name
        for i in mod.instances:
            i.conns = {k: rep.get(v, v) for k, v in i.conns.items()}
    return mod
