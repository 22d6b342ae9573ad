"""SPICE reader: the supported subset, flattening, and every error path."""

from __future__ import annotations

from pathlib import Path

import pytest

import pdk
from flow.errors import InputError
from flow.netlist.spice import parse_number, read_spice, write_spice

KIT = pdk.load("gan650")


def deck(tmp_path: Path, text: str, name: str = "n.sp", **kw):
    f = tmp_path / name
    f.write_text(text)
    return read_spice(f, root=tmp_path, kit=KIT, display_root=tmp_path, **kw)


def error(tmp_path: Path, text: str, **kw) -> str:
    with pytest.raises(InputError) as e:
        deck(tmp_path, text, **kw)
    msg = str(e.value)
    assert "\n" not in msg
    return msg


@pytest.mark.parametrize(
    "text, value",
    [("2.5u", 2.5e-6), ("10k", 1e4), ("1meg", 1e6), ("1MEG", 1e6), ("3m", 3e-3), ("10kohm", 1e4),
     ("2.5um", 2.5e-6), ("1e-3", 1e-3), ("-4", -4.0), ("5f", 5e-15), ("2p", 2e-12), ("7n", 7e-9),
     ("1g", 1e9), ("2t", 2e12), ("1mil", 25.4e-6), (".5", 0.5)],
)
def test_numbers(text, value):
    assert parse_number(text) == pytest.approx(value)


def test_not_numbers():
    assert parse_number("abc") is None and parse_number("1.2.3") is None


def test_flat_deck_devices_params_comments(tmp_path):
    nl = deck(
        tmp_path,
        """* title line is a comment
XQ1 d g s hemte w=100u l=1u nf=4 ; inline comment
XQ2 d2 g s HEMTD
+ w=20u $ another comment
R1 d 0 r2deg r=2k w=10u
R2 d2 0 1k r2deg
R3 d2 x 5k model=r2deg
.tran 1n 10n
.option foo=1
.control
run
.endc
.end
XIGNORED a b c hemte
""",
    )
    by = nl.by_name
    assert [i.name for i in nl.instances] == ["XQ1", "XQ2", "R1", "R2", "R3"]
    assert by["XQ1"].model == "hemte" and dict(by["XQ1"].pins) == {"d": "d", "g": "g", "s": "s"}
    assert by["XQ1"].params["w"] == pytest.approx(100e-6) and by["XQ1"].params["nf"] == 4
    assert by["XQ2"].model == "hemtd" and by["XQ2"].params["w"] == pytest.approx(20e-6)
    assert by["R1"].params["r"] == 2000 and by["R2"].params["r"] == 1000 and by["R3"].params["r"] == 5000
    assert str(by["R1"].source) == "n.sp:5"
    assert nl.ports == ()


def test_params_and_expressions(tmp_path):
    nl = deck(
        tmp_path,
        """.param wf=25u nf=4
.param wtot = {wf*nf}
XQ1 d g s hemte w={wtot} nf='nf' l={ (1+1)/2 * 1u }
XQ2 d g s hemte w={max(wf, 30u) + sqrt(4)*1u - -1u} nf={2**2}
""",
    )
    q1, q2 = nl.instances
    assert q1.params["w"] == pytest.approx(100e-6) and q1.params["nf"] == 4 and q1.params["l"] == pytest.approx(1e-6)
    assert q2.params["w"] == pytest.approx(33e-6) and q2.params["nf"] == 4


def test_hierarchy_flattening_ringosc(tmp_path):
    nl = deck(
        tmp_path,
        """.subckt inv in out vdd gnd we=20u
XL vdd out out hemtd w=10u
XD out in gnd hemte w={we}
.ends inv
.subckt ring VDD GND OUT
X1 a b VDD GND inv
X2 b c VDD GND inv
X3 c a VDD GND inv we=40u
XB a OUT VDD GND inv
.ends ring
""",
        top="ring",
    )
    assert nl.top == "ring" and nl.ports == ("VDD", "GND", "OUT")
    assert len(nl.instances) == 8
    by = nl.by_name
    assert dict(by["X3/XD"].pins) == {"d": "a", "g": "c", "s": "GND"}
    assert by["X3/XD"].params["w"] == pytest.approx(40e-6) and by["X1/XD"].params["w"] == pytest.approx(20e-6)
    g = nl.graph()
    # the ring: net a is driven by X3, drives X1 and the buffer
    users = sorted(inst for (_, inst), _ in ((u, None) for u in g.neighbors(("net", "a"))))
    assert users == ["X1/XD", "X3/XD", "X3/XL", "XB/XD"]
    assert set(nl.nets) == {"VDD", "GND", "OUT", "a", "b", "c"}


def test_internal_nets_prefixed_and_globals(tmp_path):
    nl = deck(
        tmp_path,
        """.global vsub
.subckt buf in out
X1 in mid 0 hemte
X2 mid out vsub hemte
.ends
Xa p q buf
Xb q r buf
""",
    )
    by = nl.by_name
    assert by["Xa/X1"].pins["g"] == "Xa/mid" and by["Xb/X1"].pins["g"] == "Xb/mid"
    assert by["Xa/X1"].pins["s"] == "0" and by["Xa/X2"].pins["s"] == "vsub"


def test_include_relative_and_roundtrip(tmp_path):
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "cells.sp").write_text(".subckt sw d g s\nXQ d g s hemte w=1m nf=20\n.ends sw\n")
    nl = deck(tmp_path, '.include "lib/cells.sp"\n.subckt top A B C\nX1 A B C sw\n.ends\n', top="top")
    assert nl.instances[0].name == "X1/XQ" and str(nl.instances[0].source) == "lib/cells.sp:2"
    text = write_spice(nl, KIT)
    back = deck(tmp_path, text, name="back.sp", top="top")
    assert back.ports == nl.ports
    assert [i.to_json() | {"source": None} for i in back.instances] == [i.to_json() | {"source": None} for i in nl.instances]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("XQ1 d g s hemtx w=1u\n", "n.sp:1: unknown device model 'hemtx'; models are hemte, hemtd, r2deg, pad"),
        ("* c\nXQ1 d g hemte\n", "n.sp:2: 'XQ1' connects 2 nets but model 'hemte' has 3 terminals (d g s)"),
        ("XQ1\n", "n.sp:1: instance 'XQ1' names no subcircuit or model"),
        ("R1 a b 1k\n", "n.sp:1: resistor R1 has no PDK model; write 'R1 a b r2deg r=1k'"),
        ("V1 a 0 5\n", "n.sp:1: 'V1': sources are not part of a layout netlist"),
        ("L1 a b 1n\n", "n.sp:1: unsupported element 'L1'"),
        (".model foo nmos\n", "n.sp:1: unsupported statement '.model'"),
        ("XQ1 d g s hemte w={2*undefinedp}\n", "n.sp:1: unknown parameter 'undefinedp'"),
        ("XQ1 d g s hemte w={2*}\n", "n.sp:1: incomplete expression"),
        ("XQ1 d g s hemte w={1/0}\n", "n.sp:1: division by zero"),
        ("XQ1 d g s hemte w={__import__('os')}\n", "n.sp:1: cannot parse expression"),
        ("+ w=1u\n", "n.sp:1: continuation line"),
        (".ends\n", "n.sp:1: .ends without a matching .subckt"),
        (".subckt a x\n.subckt b y\n.ends\n.ends\n", "n.sp:2: nested .subckt"),
        ("* c\n.subckt a x\nXQ x x x hemte\n", "n.sp:2: .subckt 'a' is never closed"),
        (".subckt a x\nX1 x a\n.ends\nXt n a\n", "n.sp:2: subcircuit 'a' instantiates itself"),
        (".subckt a x y\n.ends\nX1 n a\n", "n.sp:3: 'X1' connects 1 nets but subcircuit 'a' has 2 ports"),
        (".subckt a x\n.ends\nX1 n a foo=1\n", "n.sp:3: subcircuit 'a' has no parameter 'foo'"),
        ("XQ1 d g s hemte\nXQ1 d g s hemte\n", "n.sp:2: instance 'XQ1' is defined twice in this scope (first at n.sp:1)"),
        ('.include "nothere.sp"\n', "n.sp:1: included file 'nothere.sp' not found"),
        (".subckt a x\n.ends\n", "the deck only defines subcircuits (a)"),
        ("* nothing\n", "the netlist has no devices"),
    ],
)
def test_errors(tmp_path, text, expected):
    assert expected in error(tmp_path, text)


def test_unknown_top(tmp_path):
    assert "no subcircuit 'nope'; subcircuits are a" in error(tmp_path, ".subckt a x\n.ends\n", top="nope")


def test_include_escaping_design_folder(tmp_path):
    design = tmp_path / "design"
    design.mkdir()
    (tmp_path / "outside.sp").write_text("XQ d g s hemte\n")
    with pytest.raises(InputError, match=r"n.sp:1: include '../outside.sp' escapes the design folder"):
        deck(design, '.include "../outside.sp"\n')


def test_include_cycle(tmp_path):
    (tmp_path / "a.sp").write_text(".include b.sp\n")
    (tmp_path / "b.sp").write_text(".include a.sp\n")
    with pytest.raises(InputError, match="include cycle"):
        read_spice(tmp_path / "a.sp", root=tmp_path, kit=KIT, display_root=tmp_path)


def test_sample_designs_read():
    root = Path(__file__).resolve().parents[2] / "designs"
    hb = read_spice(root / "gan_halfbridge" / "halfbridge.sp", root=root / "gan_halfbridge", kit=KIT, top="halfbridge")
    assert len(hb.instances) == 26 and hb.ports == ("VBUS", "SW", "PGND", "VB", "INH", "VDDL", "INL")
    assert hb.by_name["XH/RG"].params["r"] == 200.0
    assert dict(hb.by_name["XQH"].pins) == {"d": "VBUS", "g": "GH", "s": "SW"}
