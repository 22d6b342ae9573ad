"""flow.lefdef.verilog: yosys gate-level netlists and malformed input."""

from __future__ import annotations

import pytest
from benchdata import bench_path

from flow.errors import InputError
from flow.lefdef import read_def, read_verilog

SMALL = r"""// a comment
module top (a, \b[0] , y, bus);
  input a;
  input \b[0] ;
  output y;
  output [1:0] bus;
  wire n1, n2;
  /* block
     comment */
  NAND2_X1 u1 (.A1(a), .A2(\b[0] ), .ZN(n1));
  INV_X1 u2 (.A(n1), .ZN(n2));
  BUF_X1 u3 (.A(n2), .Z(bus[1]));
  TIE u4 (.Z(), .Y(1'b1));
  assign y = n2;
  assign bus[0] = 1'b0;
endmodule
"""


def test_small_module_every_construct():
    m = read_verilog("t.v", text=SMALL)
    assert m.name == "top"
    assert m.ports == {"a": "input", "b[0]": "input", "y": "output", "bus[1]": "output", "bus[0]": "output"}
    assert m.wires == {"n1", "n2"}
    conns = {i.name: i.conns for i in m.instances}
    assert conns["u1"] == {"A1": "a", "A2": "b[0]", "ZN": "n1"}
    # assign y = n2 joins the nets; the port name represents them
    assert conns["u2"] == {"A": "n1", "ZN": "y"}
    assert conns["u3"] == {"A": "y", "Z": "bus[1]"}
    assert conns["u4"] == {"Z": "", "Y": ""}
    assert m.instances[0].line == 10
    assert "t.v:15: assign of a constant to 'bus[0]' skipped" in m.notes
    assert any("u4.Y tied to a constant" in n for n in m.notes)


def test_gcd_netlist_matches_the_def_netlist():
    m = read_verilog(bench_path("lefdef", "gcd", "gcd.v"))
    d = read_def(bench_path("lefdef", "gcd", "simple01.def"))
    assert m.name == "gcd" and len(m.instances) == 294 and len(m.ports) == 54
    assert {i.name: i.cell for i in m.instances} == {c.name: c.macro for c in d.components}
    # the same connectivity: DEF escapes [ ] in net names, Verilog does not
    v_nets: dict[str, set] = {}
    for i in m.instances:
        for port, net in i.conns.items():
            if net:
                v_nets.setdefault(net, set()).add((i.name, port))
    d_nets = {n.name.replace("\\", ""): {c for c in n.conns if c[0] != "PIN"} for n in d.nets}
    assert {k: v for k, v in v_nets.items()} == {k: v for k, v in d_nets.items() if v}


@pytest.mark.parametrize(
    ("text", "line", "msg"),
    [
        ("module t(a); input a;\n  INV u1 (a);\nendmodule", 2, "only named connections"),
        ("module t(a); input [1:0] a;\n  INV u1 (.A(a));\nendmodule", 2, "2-bit bus"),
        ("module t(a); input [3:0] a;\n  INV u1 (.A(a[2:1]));\nendmodule", 2, "part-selects"),
        ("module t(a); input a;\n  INV u1 (.A({a, a}));\nendmodule", 2, "concatenations"),
        ("module t(a); input a;\n  INV u1 (.A(a), .A(a));\nendmodule", 2, "connected twice"),
        ("module t(a); input a;\n  INV u1 (.A(a))\nendmodule", 3, "expected ';'"),
        ("module t(a); input a;\n  INV u1 (.A(a)); @\nendmodule", 2, "unexpected character '@'"),
        ("module t(input a);\nendmodule", 1, "ANSI-style"),
        ("module t(a); input a;\n  INV u1 (.A(a));\n", 2, "expected 'endmodule'"),
        ("// nothing here\n", 1, "no 'module'"),
    ],
)
def test_bad_input_names_file_and_line(text, line, msg):
    with pytest.raises(InputError) as e:
        read_verilog("bad.v", text=text)
    assert str(e.value).startswith(f"bad.v:{line}: "), str(e.value)
    assert msg in str(e.value)
