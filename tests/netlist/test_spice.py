"""SPICE reader and writer: the supported subset, flattening, every error path."""

from __future__ import annotations

import os
from pathlib import Path

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pdk
from flow.errors import InputError
from flow.netlist.model import Instance, Netlist
from flow.netlist.spice import parse_number, read_spice, write_spice

KIT = pdk.load("gan650")
DESIGNS = Path(__file__).resolve().parents[2] / "designs"


def deck(tmp_path: Path, text: str, name: str = "n.sp", **kw) -> Netlist:
    f = tmp_path / name
    f.write_text(text)
    return read_spice(f, root=tmp_path, kit=KIT, display_root=tmp_path, **kw)


def error(tmp_path: Path, text: str, **kw) -> str:
    with pytest.raises(InputError) as e:
        deck(tmp_path, text, **kw)
    msg = str(e.value)
    assert "\n" not in msg and "Traceback" not in msg
    return msg


def stripped(nl: Netlist) -> list[dict]:
    return [i.to_json() | {"source": None} for i in nl.instances]


# ------------------------------------------------------------------ numbers
@pytest.mark.parametrize(
    "text, value",
    [("2.5u", 2.5e-6), ("10k", 1e4), ("1meg", 1e6), ("1MEG", 1e6), ("1Meg", 1e6), ("3m", 3e-3),
     ("3M", 3e-3), ("10kohm", 1e4), ("2.5um", 2.5e-6), ("1e-3", 1e-3), ("1E3", 1e3), ("-4", -4.0),
     ("+4", 4.0), ("5f", 5e-15), ("2p", 2e-12), ("2pF", 2e-12), ("7n", 7e-9), ("1g", 1e9),
     ("2t", 2e12), ("1mil", 25.4e-6), ("2MIL", 50.8e-6), (".5", 0.5), ("5.", 5.0), ("1.5e2k", 1.5e5),
     ("100ohm", 100.0), ("4megohm", 4e6)],
)
def test_numbers(text, value):
    assert parse_number(text) == pytest.approx(value, rel=1e-12)


@pytest.mark.parametrize("text", ["abc", "1.2.3", "", "u5", "1k2", "--1", "1 k"])
def test_not_numbers(text):
    assert parse_number(text) is None


@settings(max_examples=200, deadline=None)
@given(
    st.floats(min_value=1e-3, max_value=1e3, allow_nan=False, allow_infinity=False),
    st.sampled_from([("f", 1e-15), ("p", 1e-12), ("n", 1e-9), ("u", 1e-6), ("m", 1e-3), ("k", 1e3),
                     ("meg", 1e6), ("g", 1e9), ("t", 1e12), ("mil", 25.4e-6), ("", 1.0)]),
    st.sampled_from(["", "ohm", "F", "m"]),
)
def test_numbers_property(x, suffix, unit):
    """Any float with any suffix (and trailing unit letters) scales as SPICE does."""
    s, scale = suffix
    if not s and unit in ("m", "F"):  # with no suffix, '1.5m' is milli and '1.5F' femto
        unit = "ohm"
    assert parse_number(f"{x!r}{s}{unit}") == pytest.approx(x * scale, rel=1e-12)


# -------------------------------------------------------------- expressions
_leaf = st.integers(min_value=1, max_value=9).map(lambda n: (str(n), float(n)))


def _combine(children):
    def op(pair):
        (ta, va), (tb, vb), o = pair
        if o == "+":
            return f"({ta} + {tb})", va + vb
        if o == "-":
            return f"({ta}-{tb})", va - vb
        if o == "*":
            return f"{ta}*{tb}", va * vb
        return f"({ta})/({tb})", va / vb if vb else None

    return st.tuples(children, children, st.sampled_from("+-*/")).map(op).filter(lambda p: p[1] is not None)


@settings(max_examples=150, deadline=None)
@given(st.recursive(_leaf, _combine, max_leaves=12))
def test_expressions_property(expr):
    """The evaluator agrees with arithmetic computed independently by the test."""
    text, value = expr
    from flow.netlist.spice import _Expr

    got = _Expr(text, {}, lambda m: InputError(m)).value()
    assert got == pytest.approx(value, rel=1e-9, abs=1e-12)


def test_params_and_expressions(tmp_path):
    nl = deck(
        tmp_path,
        """.param wf=25u nf=4
.PARAM wtot = {wf*nf} half='wtot/2'
XQ1 d g s hemte w={wtot} nf='nf' l={ (1+1)/2 * 1u }
XQ2 d g s hemte w={max(wf, 30u) + sqrt(4)*1u - -1u} nf={2**2}
XQ3 d g s hemte w=half l={abs(-2u)} nf={min(3,2)} lgd={2^3*1u}
XQ4 d g s hemte w={-2**2 + 2**3**2 * 1u}
""",
    )
    q1, q2, q3, q4 = nl.instances
    assert q1.params["w"] == pytest.approx(100e-6) and q1.params["nf"] == 4 and q1.params["l"] == pytest.approx(1e-6)
    assert q2.params["w"] == pytest.approx(33e-6) and q2.params["nf"] == 4
    assert q3.params == {"w": pytest.approx(50e-6), "l": pytest.approx(2e-6), "nf": 2, "lgd": pytest.approx(8e-6)}
    assert q4.params["w"] == pytest.approx(-4 + 512e-6)  # unary minus binds looser than **, ** is right-assoc


# ---------------------------------------------------------------- flat decks
def test_flat_deck_devices_params_comments(tmp_path):
    nl = deck(
        tmp_path,
        """XQ1 d g s hemte w=100u l=1u nf=4 ; the first line is a statement, not a title
* a comment
XQ2 d2 g s HEMTD
* a comment between a statement and its continuation
+ w=20u $ another comment
+ l=2u
R1 d 0 r2deg r=2k w=10u
R2 d2 0 1k R2DEG
R3 d2 x 5k model=r2deg
r4 x y r2deg R=300 W = 8u
C1 x y 2p r2deg
XP1 d pad size=80u
.tran 1n 10n
+ 20n
.option foo=1
.OPTIONS bar
.temp 27
.save all
.control
run
+ more
.endc
.end
XIGNORED a b c hemte
""",
    )
    by = nl.by_name
    assert [i.name for i in nl.instances] == ["XQ1", "XQ2", "R1", "R2", "R3", "r4", "C1", "XP1"]
    assert nl.top == "n" and nl.ports == ()
    assert by["XQ1"].model == "hemte" and dict(by["XQ1"].pins) == {"d": "d", "g": "g", "s": "s"}
    assert by["XQ1"].params == {"w": pytest.approx(100e-6), "l": pytest.approx(1e-6), "nf": 4}
    assert by["XQ2"].model == "hemtd" and by["XQ2"].params == {"w": pytest.approx(20e-6), "l": pytest.approx(2e-6)}
    assert str(by["XQ2"].source) == "n.sp:3"
    assert by["R1"].params == {"r": 2000, "w": pytest.approx(10e-6)} and dict(by["R1"].pins) == {"p": "d", "n": "0"}
    assert by["R2"].model == "r2deg" and by["R2"].params == {"r": 1000}
    assert by["R3"].params == {"r": 5000}
    assert by["r4"].params == {"r": 300, "w": pytest.approx(8e-6)}
    assert by["C1"].params == {"c": pytest.approx(2e-12)}
    assert by["XP1"].model == "pad" and dict(by["XP1"].pins) == {"p": "d"}


def test_names_kept_as_written(tmp_path):
    nl = deck(tmp_path, "XQ_Main VDD_a In#1 gnd hemte\nxq2 vdd_a In#1 GND hemte\n")
    assert [i.name for i in nl.instances] == ["XQ_Main", "xq2"]
    assert set(nl.nets) == {"VDD_a", "vdd_a", "In#1", "gnd", "GND"}


# ---------------------------------------------------------------- hierarchy
RING = """* three-stage DCFL ring with a buffer, written the way designers write it
.SUBCKT inv in out vdd gnd we=20u wd={we/2}
XL vdd out out hemtd w={wd}
XD out in gnd hemte w={we}
.ENDS INV
.subckt ring VDD GND OUT
X1 a b VDD GND inv
X2 b c VDD GND INV
X3 c a VDD GND inv we=40u
XB a OUT VDD GND inv params: we=60u wd=30u
.ends ring
"""


def test_hierarchy_flattening_ringosc(tmp_path):
    nl = deck(tmp_path, RING, top="RING")
    assert nl.top == "ring" and nl.ports == ("VDD", "GND", "OUT")
    assert len(nl.instances) == 8
    by = nl.by_name
    assert dict(by["X3/XD"].pins) == {"d": "a", "g": "c", "s": "GND"}
    assert dict(by["X3/XL"].pins) == {"d": "VDD", "g": "a", "s": "a"}
    # defaults, overrides, and defaults computed from an override
    assert by["X1/XD"].params["w"] == pytest.approx(20e-6) and by["X1/XL"].params["w"] == pytest.approx(10e-6)
    assert by["X3/XD"].params["w"] == pytest.approx(40e-6) and by["X3/XL"].params["w"] == pytest.approx(20e-6)
    assert by["XB/XD"].params["w"] == pytest.approx(60e-6) and by["XB/XL"].params["w"] == pytest.approx(30e-6)
    assert set(nl.nets) == {"VDD", "GND", "OUT", "a", "b", "c"}
    assert str(by["X2/XL"].source) == "n.sp:3"

    g = nl.graph()
    assert {n for n in g if n[0] == "net" and g.nodes[n]["port"]} == {("net", p) for p in nl.ports}
    # every stage drives the gate of the next: drain net of stage k == gate net of stage k+1
    drive = nx.DiGraph()
    for k in ("X1", "X2", "X3", "XB"):
        out_net = next(net for _, net, d in g.edges(("inst", f"{k}/XD"), data="terminal") if d == "d")
        for _, inst, term in g.edges(out_net, data="terminal"):
            if term == "g" and inst[1].endswith("/XD"):
                drive.add_edge(k, inst[1].split("/")[0])
    assert sorted(drive.edges) == [("X1", "X2"), ("X2", "X3"), ("X3", "X1"), ("X3", "XB")]
    assert sorted(sorted(c) for c in nx.simple_cycles(drive)) == [["X1", "X2", "X3"]]
    # net a: X3's output, X1's input, XB's input, X3's load
    assert sorted((i[1], t) for _, i, t in g.edges(("net", "a"), data="terminal")) == [
        ("X1/XD", "g"), ("X3/XD", "d"), ("X3/XL", "g"), ("X3/XL", "s"), ("XB/XD", "g")]


def test_three_levels_internal_nets_and_globals(tmp_path):
    nl = deck(
        tmp_path,
        """.global vsub
.subckt cell in out
X1 in mid 0 hemte
X2 mid out vsub hemte
R1 mid gnd r2deg
.ends
.subckt pair a b
Xc1 a m cell
Xc2 m b cell
.ends pair
Xa p q pair
Xb q r pair
""",
    )
    by = nl.by_name
    assert len(nl.instances) == 12
    assert dict(by["Xa/Xc1/X1"].pins) == {"d": "p", "g": "Xa/Xc1/mid", "s": "0"}
    assert dict(by["Xa/Xc2/X1"].pins) == {"d": "Xa/m", "g": "Xa/Xc2/mid", "s": "0"}
    assert dict(by["Xb/Xc2/X2"].pins) == {"d": "Xb/Xc2/mid", "g": "r", "s": "vsub"}
    assert by["Xa/Xc1/R1"].pins["n"] == "Xa/Xc1/gnd"  # 'gnd' is not global, only 0 and .global nets
    assert by["Xa/Xc2/X1"].pins["d"] == by["Xa/Xc1/X2"].pins["g"] == "Xa/m"


def test_top_deck_with_subckts_and_testbench_lines(tmp_path):
    text = ".subckt sw d g s\nXQ d g s hemte\n.ends\nXtb1 vd vg 0 sw\n"
    flat = deck(tmp_path, text)
    assert [i.name for i in flat.instances] == ["Xtb1/XQ"] and flat.ports == ()
    sub = deck(tmp_path, text, top="sw")  # top given: the top-level lines are a testbench
    assert [i.name for i in sub.instances] == ["XQ"] and sub.ports == ("d", "g", "s")


def test_param_scoping(tmp_path):
    nl = deck(
        tmp_path,
        """.param w0=10u
.subckt leaf d g s k=1
.param wl={k*w0}
XQ d g s hemte w=wl
.ends
.subckt mid d g s
.param w0=99u
Xl d g s leaf k=3
.ends
Xm a b c mid
Xq a b c hemte w=w0
""",
    )
    # leaf sees the top-level w0, not mid's local one; the top sees its own
    assert nl.by_name["Xm/Xl/XQ"].params["w"] == pytest.approx(30e-6)
    assert nl.by_name["Xq"].params["w"] == pytest.approx(10e-6)


def test_subckt_shadows_kit_model(tmp_path):
    nl = deck(tmp_path, ".subckt HEMTE d g s\nXA d g s hemtd\n.ends\nX1 a b c hemte\n")
    assert [(i.name, i.model) for i in nl.instances] == [("X1/XA", "hemtd")]


# ----------------------------------------------------------------- includes
def test_includes_relative_nested_and_sources(tmp_path):
    (tmp_path / "lib" / "sub").mkdir(parents=True)
    (tmp_path / "lib" / "cells.sp").write_text(".inc sub/leaf.sp\n.subckt sw d g s\nXQ d g s leaf\n.ends sw\n")
    (tmp_path / "lib" / "sub" / "leaf.sp").write_text("* leaf\n.subckt leaf d g s\nXM d g s hemte w=1m nf=20\n.ends\n")
    (tmp_path / "lib" / "sub" / "other.sp").write_text("XQo a b c hemte\n")
    nl = deck(tmp_path, '.include "lib/cells.sp"\n.INCLUDE \'lib/sub/other.sp\'\n.subckt top A B C\nX1 A B C sw\n.ends\n', top="top")
    assert [i.name for i in nl.instances] == ["X1/XQ/XM"]
    assert str(nl.instances[0].source) == os.path.join("lib", "sub", "leaf.sp") + ":3"
    flat = deck(tmp_path, '.include "lib/cells.sp"\n.include lib/sub/other.sp\n', name="f.sp")
    assert [i.name for i in flat.instances] == ["XQo"]


def test_include_same_file_twice_is_not_a_cycle(tmp_path):
    (tmp_path / "p.sp").write_text(".param a=1\n")
    nl = deck(tmp_path, ".include p.sp\n.include p.sp\nXQ d g s hemte nf=a\n")
    assert nl.instances[0].params["nf"] == 1


def test_include_escaping_design_folder(tmp_path):
    design = tmp_path / "design"
    design.mkdir()
    (tmp_path / "outside.sp").write_text("XQ d g s hemte\n")
    with pytest.raises(InputError, match=r"^n.sp:2: include '../outside.sp' escapes the design folder$"):
        deck(design, '* x\n.include "../outside.sp"\n')
    with pytest.raises(InputError, match=r"^n.sp:1: include '.*outside.sp' escapes the design folder$"):
        deck(design, f".include {tmp_path / 'outside.sp'}\n")


def test_include_symlink_escaping_design_folder(tmp_path):
    design = tmp_path / "design"
    design.mkdir()
    (tmp_path / "outside.sp").write_text("XQ d g s hemte\n")
    try:
        (design / "link.sp").symlink_to(tmp_path / "outside.sp")
    except OSError:
        pytest.skip("no symlinks here")
    with pytest.raises(InputError, match=r"^n.sp:1: include 'link.sp' escapes the design folder$"):
        deck(design, ".include link.sp\n")


def test_include_cycle(tmp_path):
    (tmp_path / "a.sp").write_text("* a\n.include b.sp\n")
    (tmp_path / "b.sp").write_text(".include a.sp\n")
    with pytest.raises(InputError, match=r"^b.sp:1: include cycle: a.sp -> b.sp -> a.sp$"):
        read_spice(tmp_path / "a.sp", root=tmp_path, kit=KIT, display_root=tmp_path)


def test_missing_include_names_including_file(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "mid.sp").write_text("* mid\n\n.include nothere.sp\n")
    msg = error(tmp_path, ".include sub/mid.sp\n")
    assert msg == f"{os.path.join('sub', 'mid.sp')}:3: included file '{os.path.join('sub', 'nothere.sp')}' not found"


def test_missing_netlist_file(tmp_path):
    with pytest.raises(InputError, match=r"^nope.sp: file not found$"):
        read_spice(tmp_path / "nope.sp", root=tmp_path, kit=KIT, display_root=tmp_path)


def test_display_root_defaults_to_cwd(tmp_path, monkeypatch):
    folder = tmp_path / "designs" / "x"
    folder.mkdir(parents=True)
    lines = ["* line %d" % i for i in range(1, 14)] + ["XQ1 d g s hemtx w=1u"]
    (folder / "netlist.sp").write_text("\n".join(lines) + "\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError) as e:
        read_spice(folder / "netlist.sp", root=folder, kit=KIT)
    assert str(e.value) == "designs/x/netlist.sp:14: unknown device model 'hemtx'; models are hemte, hemtd, r2deg, pad, hemtek, sbd, rtf, mim, sealring"
    # outside the display root the path is shown as given
    with pytest.raises(InputError, match=r"^/.*netlist.sp:14: unknown device model"):
        read_spice(folder / "netlist.sp", root=folder, kit=KIT, display_root=tmp_path / "elsewhere")


# ------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    "text, expected",
    [
        ("XQ1 d g s hemtx w=1u\n", "n.sp:1: unknown device model 'hemtx'; models are hemte, hemtd, r2deg, pad, hemtek, sbd, rtf, mim, sealring"),
        ("* c\nXQ1 d g hemte\n", "n.sp:2: 'XQ1' connects 2 nets but model 'hemte' has 3 terminals (d g s)"),
        ("XP a b pad\n", "n.sp:1: 'XP' connects 2 nets but model 'pad' has 1 terminal (p)"),
        ("R1 a b rval r2deg\n", "n.sp:1: unknown parameter 'rval'"),  # a value may name a .param
        ("XQ1\n", "n.sp:1: instance 'XQ1' names no subcircuit or model"),
        ("XQ1 w=1u\n", "n.sp:1: instance 'XQ1' names no subcircuit or model"),
        ("R3 a b 1k\n", "n.sp:1: resistor R3 has no PDK model; write 'R3 a b r2deg r=1k'"),
        ("C1 a b 1p\n", "n.sp:1: capacitor C1 has no PDK model"),
        ("D1 a b\n", "n.sp:1: diode D1 has no PDK model"),
        ("D1 a b 1k\n", "n.sp:1: unexpected '1k' on 'D1'"),
        ("R1 a\n", "n.sp:1: 'R1' needs two nets"),
        ("R1 a model=r2deg\n", "n.sp:1: 'R1' needs two nets"),
        ("R1 a b 1k 2k r2deg\n", "n.sp:1: unexpected '2k' on 'R1'"),
        ("R1 a b r2deg model=hemtq\n", "n.sp:1: unknown device model 'hemtq'"),
        ("V1 a 0 5\n", "n.sp:1: 'V1': sources are not part of a layout netlist (they belong in a testbench)"),
        ("Ibias a 0 1m\n", "n.sp:1: 'Ibias': sources are not part of a layout netlist"),
        ("L1 a b 1n\n", "n.sp:1: unsupported element 'L1'"),
        ("M1 d g s b nmos\n", "n.sp:1: unsupported element 'M1'"),
        ("Q1 c b e npn\n", "n.sp:1: unsupported element 'Q1'"),
        (".model foo nmos\n", "n.sp:1: .model cards are not read: device models come from the PDK gan650"),
        (".lib models.lib tt\n", "n.sp:1: .lib pulls in simulation libraries"),
        (".foo bar\n", "n.sp:1: unsupported statement '.foo'"),
        (".endc\n", "n.sp:1: unsupported statement '.endc'"),
        ("XQ1 d g s hemte\n.control\nrun\n", "n.sp:2: .control block is never closed with .endc"),
        ("XQ1 d g s hemte w={2*undefinedp}\n", "n.sp:1: unknown parameter 'undefinedp'"),
        ("XQ1 d g s hemte w=wx\n", "n.sp:1: unknown parameter 'wx'"),
        ("XQ1 d g s hemte w={2*}\n", "n.sp:1: incomplete expression"),
        ("XQ1 d g s hemte w={(2*3}\n", "n.sp:1: incomplete expression"),
        ("XQ1 d g s hemte w={2 3}\n", "n.sp:1: unexpected '3' in expression"),
        ("XQ1 d g s hemte w={}\n", "n.sp:1: empty expression"),
        ("XQ1 d g s hemte w={1/0}\n", "n.sp:1: division by zero"),
        ("XQ1 d g s hemte w={1/(1-1)}\n", "n.sp:1: division by zero"),
        ("XQ1 d g s hemte w={10**1000}\n", "n.sp:1: expression '10**1000' overflows"),
        ("XQ1 d g s hemte w={(-8)**(1/3)}\n", "n.sp:1: negative number to a fractional power"),
        ("XQ1 d g s hemte w={sqrt(-1)}\n", "n.sp:1: sqrt() of an invalid value"),
        ("XQ1 d g s hemte w={log(2)}\n", "n.sp:1: unknown function 'log'; functions are sqrt, abs, min, max"),
        ("XQ1 d g s hemte w={max(1)}\n", "n.sp:1: max() takes 2 argument(s)"),
        ("XQ1 d g s hemte w={__import__('os')}\n", "n.sp:1: cannot parse expression"),
        ("XQ1 d g s hemte w={1;2}\n", "n.sp:1: cannot parse expression"),
        (".param\n", "n.sp:1: .param takes name=value pairs"),
        (".param a\n", "n.sp:1: .param takes name=value pairs"),
        (".param a=1 + 2\n", "n.sp:1: '+' after parameters"),
        (".param a=\n", "n.sp:1: parameter 'a' has no value"),
        ("XQ1 d g s hemte w=1u = 2\n", "n.sp:1: '=' without a parameter name"),
        ("XQ1 d g s hemte w==2\n", "n.sp:1: parameter 'w' has no value"),
        ("XQ1 d g s hemte w=1u x\n", "n.sp:1: 'x' after parameters"),
        ("+ w=1u\n", "n.sp:1: continuation line '+' with no statement"),
        (".include inc.sp\n+ w=1u\n", "n.sp:2: continuation line '+' with no statement"),
        ("XQ1 d g s hemte\n+ w={oops*2}\n", "n.sp:1: unknown parameter 'oops'"),
        ("XQ1 d g s hemte\n*\n+ nf=1\n+ q\n", "n.sp:1: 'q' after parameters"),
        (".ends\n", "n.sp:1: .ends without a matching .subckt"),
        (".subckt\n", "n.sp:1: .subckt needs a name"),
        (".subckt a x\n.subckt b y\n.ends\n.ends\n", "n.sp:2: nested .subckt inside 'a' (opened at n.sp:1)"),
        ("* c\n.subckt a x\nXQ x x x hemte\n", "n.sp:2: .subckt 'a' is never closed with .ends"),
        (".subckt a x\n.ends b\n", "n.sp:2: .ends b closes subcircuit 'a'"),
        (".subckt a x\n.ends\n.subckt A y\n.ends\n", "n.sp:3: subcircuit 'A' is defined twice (first at n.sp:1)"),
        (".subckt a x y x\n.ends\nX1 1 2 3 a\n", "n.sp:1: subcircuit 'a' lists port x twice"),
        (".subckt a x\nX1 x a\n.ends\nXt n a\n", "n.sp:2: subcircuit 'a' instantiates itself (recursion: a -> a)"),
        (".subckt a x\nX1 x b\n.ends\n.subckt b x\nX1 x a\n.ends\nXt n a\n",
         "n.sp:5: subcircuit 'a' instantiates itself (recursion: a -> b -> a)"),
        (".subckt a x y\n.ends\nX1 n a\n", "n.sp:3: 'X1' connects 1 net but subcircuit 'a' has 2 ports (x y)"),
        (".subckt a x\n.ends\nX1 n a foo=1\n", "n.sp:3: subcircuit 'a' has no parameter 'foo'; parameters are (none)"),
        (".subckt a x w=1\n.ends\nX1 n a foo=1\n", "n.sp:3: subcircuit 'a' has no parameter 'foo'; parameters are w"),
        (".subckt a x w={nope}\n.ends\nX1 n a\n", "n.sp:1: unknown parameter 'nope'"),
        (".subckt a x w=1\nXQ x x x hemte nf={w/0}\n.ends\nX1 n a\n", "n.sp:2: division by zero"),
        (".subckt a IN\nXQ in x x hemte\n.ends\nX1 n a\n",
         "n.sp:2: net 'in' differs from port 'IN' only in case; pilotflow keeps names as written"),
        ("XQ1 d g s hemte\nXQ1 d g s hemte\n", "n.sp:2: instance 'XQ1' is defined twice in this scope (first at n.sp:1)"),
        ("R1 a b r2deg\nr1 a b r2deg\n", "n.sp:2: instance 'r1' is defined twice in this scope (first at n.sp:1)"),
        (".subckt a x\nXQ x x x hemte\n.ends\nX1 n a\nX1/XQ n n n hemte\n", "n.sp: duplicate instance names: X1/XQ after flattening"),
        ('.include "nothere.sp"\n', "n.sp:1: included file 'nothere.sp' not found"),
        (".include\n", "n.sp:1: .include needs a file name"),
        (".subckt a x\n.ends\n.subckt b y\n.ends\n", "n.sp: the deck only defines subcircuits (a, b); name the top one"),
        (".param a=1\n.subckt a x\n.ends\n", "n.sp: the deck only defines subcircuits (a)"),
        ("* nothing\n.tran 1n 1u\n", "n.sp: the netlist has no devices"),
        ("", "n.sp: the netlist has no devices"),
    ],
)
def test_errors(tmp_path, text, expected):
    (tmp_path / "inc.sp").write_text("* only a comment\n")
    msg = error(tmp_path, text)
    assert msg.startswith(expected) or expected in msg, msg
    assert msg.startswith("n.sp") or msg.startswith("inc.sp")


def test_unknown_top(tmp_path):
    msg = error(tmp_path, ".subckt a x\n.ends\n.subckt B y\n.ends\n", top="nope")
    assert msg == "n.sp: no subcircuit 'nope'; subcircuits are a, B"
    assert error(tmp_path, "XQ d g s hemte\n", top="x") == "n.sp: no subcircuit 'x'; subcircuits are (none)"


def test_unreadable_file(tmp_path):
    (tmp_path / "bin.sp").write_bytes(b"\xff\xfe\x00bad")
    msg = error(tmp_path, ".include bin.sp\n")
    assert msg.startswith("n.sp:1: cannot read bin.sp")


# --------------------------------------------------------------- round trip
def test_round_trip_hierarchical(tmp_path):
    nl = deck(tmp_path, RING, top="ring")
    text = write_spice(nl, KIT)
    assert text.startswith("* ring: flat netlist written by pilotflow for PDK gan650")
    back = deck(tmp_path, text, name="back.sp", top="ring")
    assert back.top == nl.top and back.ports == nl.ports
    assert stripped(back) == stripped(nl)
    assert write_spice(back, KIT) == text  # a fixed point
    assert nx.utils.graphs_equal(back.graph(), nl.graph())


def test_round_trip_flat_renames_only_unreadable_names(tmp_path):
    nl = Netlist(
        "chip",
        (
            Instance("M1", "hemte", {"d": "a", "g": "b", "s": "0"}, {"w": 1.5e-5, "nf": 2}),
            Instance("D7", "hemtd", {"d": "a", "g": "a", "s": "b"}),
            Instance("R1", "r2deg", {"p": "a", "n": "b"}, {"r": 1234.5, "w": 1e-5}),
            Instance("C9", "r2deg", {"p": "a", "n": "b"}, {"r": 1e-300}),
            Instance("X1/XP", "pad", {"p": "a"}, {"size": 8e-05}),
            Instance("RP", "pad", {"p": "b"}),
        ),
        ("a", "b"),
    )
    back = deck(tmp_path, write_spice(nl, KIT), top="chip")
    assert [i.name for i in back.instances] == ["XM1", "XD7", "R1", "C9", "X1/XP", "XRP"]
    for a, b in zip(nl.instances, back.instances):
        assert (a.model, dict(a.pins), dict(a.params)) == (b.model, dict(b.pins), dict(b.params))


def test_round_trip_portless_netlist(tmp_path):
    nl = deck(tmp_path, "XQ1 d g 0 hemte w=3.3e-5\n", name="flat.sp")
    back = deck(tmp_path, write_spice(nl, KIT), name="back.sp", top="flat")
    assert back.ports == () and stripped(back) == stripped(nl)


# ------------------------------------------------------------ sample designs
def test_sample_halfbridge():
    folder = DESIGNS / "gan_halfbridge"
    hb = read_spice(folder / "halfbridge.sp", root=folder, kit=KIT, top="halfbridge")
    assert len(hb.instances) == 26 and hb.ports == ("VBUS", "SW", "PGND", "VB", "INH", "VDDL", "INL")
    assert hb.by_name["XH/RG"].params["r"] == 200.0
    assert dict(hb.by_name["XQH"].pins) == {"d": "VBUS", "g": "GH", "s": "SW", "ks": "KSH"}


def test_sample_ringosc_connectivity():
    folder = DESIGNS / "gan_ringosc"
    nl = read_spice(folder / "ringosc.sp", root=folder, kit=KIT, top="ringosc")
    assert nl.ports == ("VDD", "GND", "OUT") and len(nl.instances) == 14
    g = nl.graph()
    # instance-level graph of driver -> driven gate: the five stages form one ring
    drive = nx.DiGraph()
    for inst in nl.instances:
        if inst.model == "hemte":
            for _, other, term in g.edges(("net", inst.pins["d"]), data="terminal"):
                if term == "g" and g.nodes[other]["model"] == "hemte":
                    drive.add_edge(inst.name.split("/")[0], other[1].split("/")[0])
    assert sorted(sorted(c) for c in nx.simple_cycles(drive)) == [["X1", "X2", "X3", "X4", "X5"]]
    assert sorted(drive.successors("X4")) == ["X5", "XB1"] and list(drive.successors("XB1")) == ["XB2"]
    assert nl.by_name["XB2/XD"].pins["d"] == "OUT" and nl.by_name["XB2/XD"].params["nf"] == 2


def test_gan650_four_terminal_and_passive_models(tmp_path):
    """hemtek's Kelvin pin is a terminal of its own; D and C lines take sbd and mim."""
    nl = deck(
        tmp_path,
        """XQ sw gh pgnd ksh hemtek w=20m nf=40 lfp=6u
D1 vb vdd sbd w=400u nf=4
CB vb sw 10p mim
RG drv gh rtf r=5 w=20u
""",
    )
    by = nl.by_name
    assert dict(by["XQ"].pins) == {"d": "sw", "g": "gh", "s": "pgnd", "ks": "ksh"}
    assert by["XQ"].params == {"w": pytest.approx(0.02), "nf": 40, "lfp": pytest.approx(6e-6)}
    assert by["D1"].model == "sbd" and dict(by["D1"].pins) == {"a": "vb", "k": "vdd"}
    assert by["CB"].model == "mim" and by["CB"].params == {"c": pytest.approx(1e-11)}
    assert by["RG"].model == "rtf" and dict(by["RG"].pins) == {"p": "drv", "n": "gh"}
    # a Kelvin HEMT with three nets is a wrong terminal count, not a silent tie
    msg = error(tmp_path, "XQ sw gh pgnd hemtek\n")
    assert msg.startswith("n.sp:1: ") and "hemtek" in msg
