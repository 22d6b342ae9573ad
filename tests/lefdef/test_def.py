"""flow.lefdef.def_: reading real OpenROAD DEFs, writing them back, bad input."""

from __future__ import annotations

import pytest
from benchdata import bench_path

from flow.errors import InputError
from flow.lefdef import read_def, write_def
from flow.lefdef._tokens import Tokens
from flow.lefdef.def_ import def_text, orient_point

SMALL = """VERSION 5.8 ;
DIVIDERCHAR "/" ;
DESIGN top ;
UNITS DISTANCE MICRONS 1000 ;
DIEAREA ( 0 0 ) ( 10000 0 ) ( 10000 8000 ) ( 0 8000 ) ;
ROW r0 core 1000 1000 N DO 40 BY 1 STEP 200 0 ;
ROW r1 core 1000 2400 FS DO 40 BY 1 STEP 200 0 ;
TRACKS X 100 DO 50 STEP 200 LAYER M2 ;
COMPONENTS 3 ;
  - u1 INV + PLACED ( 1200 1000 ) N ;
  - u2 NAND2 + SOURCE DIST + FIXED ( 3000 2400 ) FS ;
  - u3 INV ;
END COMPONENTS
PINS 2 ;
  - a + NET a + DIRECTION INPUT + USE SIGNAL
    + LAYER M3 ( -50 0 ) ( 50 200 ) + FIXED ( 10000 4000 ) W ;
  - y + NET y + DIRECTION OUTPUT + PORT + LAYER M2 ( -50 -50 ) ( 50 50 ) + PLACED ( 0 100 ) N ;
END PINS
SPECIALNETS 1 ;
  - VDD ( * VDD ) + USE POWER ;
END SPECIALNETS
NETS 2 ;
  - a ( PIN a ) ( u1 A ) + USE SIGNAL ;
  - n1 ( u1 ZN ) ( u2 A1 ) ( u3 A )
    + ROUTED M1 ( 100 100 ) ( 200 * ) ;
END NETS
END DESIGN
"""


def test_small_design_every_field():
    d = read_def("t.def", text=SMALL)
    assert (d.design, d.dbu, d.die) == ("top", 1000, (0, 0, 10000, 8000))
    assert [(r.name, r.y, r.orient, r.nx, r.step_x) for r in d.rows] == [("r0", 1000, "N", 40, 200), ("r1", 2400, "FS", 40, 200)]
    c = {c.name: c for c in d.components}
    assert (c["u1"].status, c["u1"].x, c["u1"].y, c["u1"].orient) == ("PLACED", 1200, 1000, "N")
    assert (c["u2"].status, c["u2"].orient, c["u2"].extra) == ("FIXED", "FS", "+ SOURCE DIST")
    assert c["u3"].status == "UNPLACED"
    a, y = d.pins
    # W rotates (x, y) -> (-y, x): (-50,0)-(50,200) becomes x -200..0, y -50..50
    assert a.bbox() == (9800, 3950, 10000, 4050)
    assert (y.net, y.layer, y.bbox()) == ("y", "M2", (-50, 50, 50, 150))
    assert d.nets[0].conns == [("PIN", "a"), ("u1", "A")] and d.nets[0].use == "SIGNAL"
    assert d.nets[1].conns == [("u1", "ZN"), ("u2", "A1"), ("u3", "A")]


def test_orientations_are_rotations_and_mirrors():
    for o in ("N", "S", "E", "W", "FN", "FS", "FE", "FW"):
        p = orient_point(o, 3, 7)
        assert sorted(map(abs, p)) == [3, 7]
    assert orient_point("S", 3, 7) == (-3, -7)
    assert orient_point("FS", 3, 7) == (3, -7)


def test_write_then_read_gives_the_same_design(tmp_path):
    d = read_def("t.def", text=SMALL)
    d.components[0].x = 1400
    d.components[2].status, d.components[2].x, d.components[2].y, d.components[2].orient = "PLACED", 2000, 2400, "FS"
    out = tmp_path / "o.def"
    write_def(d, out)
    e = read_def(out)
    assert e.components == [type(c)(**{**c.__dict__, "line": e.components[k].line}) for k, c in enumerate(d.components)]
    assert e.rows == d.rows and e.die == d.die
    assert [p.bbox() for p in e.pins] == [p.bbox() for p in d.pins]
    assert [n.conns for n in e.nets] == [n.conns for n in d.nets]
    text = out.read_text()
    assert "TRACKS X 100 DO 50 STEP 200 LAYER M2 ;" in text and "( * VDD )" in text and "ROUTED" in text


def test_openroad_def_round_trips_token_for_token(tmp_path):
    src = bench_path("lefdef", "gcd", "gcd_nangate45_preroute.def")
    d = read_def(src)
    assert (len(d.components), len(d.pins), len(d.nets), len(d.rows)) == (1858, 54, 428, 57)
    out = tmp_path / "rt.def"
    write_def(d, out)
    assert [t for t, _ in Tokens(out).toks] == [t for t, _ in Tokens(src).toks]


def test_simple01_and_replace_result():
    d = read_def(bench_path("lefdef", "gcd", "simple01.def"))
    ok = read_def(bench_path("lefdef", "gcd", "simple01.defok"))
    assert (len(d.components), len(d.pins), len(d.nets), d.dbu, d.die) == (294, 54, 364, 2000, (0, 0, 61940, 61600))
    assert all(c.status == "UNPLACED" for c in d.components)
    assert all(c.status == "PLACED" for c in ok.components)
    assert {c.name: c.macro for c in d.components} == {c.name: c.macro for c in ok.components}
    # the same nets, connection for connection
    assert {n.name: sorted(n.conns) for n in d.nets} == {n.name: sorted(n.conns) for n in ok.nets}
    assert all(p.bbox() is not None for p in d.pins)


@pytest.mark.parametrize(
    ("text", "line", "msg"),
    [
        ("DESIGN t ;\nUNITS DISTANCE MICRONS 1000 ;\n", 2, "missing 'END DESIGN'"),
        ("UNITS DISTANCE MICRONS 0 ;\nEND DESIGN\n", 1, "must be > 0"),
        ("DIEAREA ( 0 0 ) ( 0 10 ) ;\nEND DESIGN\n", 1, "is empty"),
        ("DIEAREA ( 0 0 ( 1 1 ) ;\nEND DESIGN\n", 1, "expected '( x y )'"),
        ("ROW r s 0 0 Q ;\nEND DESIGN\n", 1, "orientation 'Q'"),
        ("ROW r s 0 0 N DO 0 BY 1 ;\nEND DESIGN\n", 1, "must be positive"),
        ("UNITS DISTANCE MICRONS 10 ;\nCOMPONENTS 1 ;\n - u1 INV + PLACED ( 1 x ) N ;\nEND COMPONENTS\nEND DESIGN\n", 3, "not an integer"),
        ("UNITS DISTANCE MICRONS 10 ;\nCOMPONENTS 2 ;\n - u1 INV ;\n - u1 INV ;\nEND COMPONENTS\nEND DESIGN\n", 4, "defined twice"),
        ("UNITS DISTANCE MICRONS 10 ;\nCOMPONENTS 1 ;\n - u1 INV + PLACED ( 1 2 ) ;\nEND COMPONENTS\nEND DESIGN\n", 3, "missing orientation"),
        ("COMPONENTS 1 ;\n - u1 INV ;\nEND DESIGN\n", 3, "expected 'COMPONENTS'"),
        ("PINS 1 ;\n - a + DIRECTION INPUT ;\nEND PINS\nEND DESIGN\n", 2, "has no '+ NET'"),
        ("NETS 1 ;\n - n u1 A ;\nEND NETS\nEND DESIGN\n", 2, "expected '( instance pin )'"),
        ("SPECIALNETS 1 ;\n - VDD ;\n", 1, "not closed by 'END SPECIALNETS'"),
        ("COMPONENTS 1 ;\n - u1 INV\n", 2, "not terminated by ';'"),
        ("DESIGN t ;\nCOMPONENTS 1 ;\n - u1 INV ;\nEND COMPONENTS\nEND DESIGN\n", 1, "no 'UNITS"),
    ],
)
def test_bad_input_names_file_and_line(text, line, msg):
    with pytest.raises(InputError) as e:
        read_def("bad.def", text=text)
    assert str(e.value).startswith(f"bad.def:{line}: "), str(e.value)
    assert msg in str(e.value)


def test_def_text_without_items_writes_a_complete_design():
    d = read_def("t.def", text=SMALL)
    d.items = []
    e = read_def("again.def", text=def_text(d))
    assert (e.design, e.die, len(e.rows), len(e.components), len(e.pins), len(e.nets)) == ("top", d.die, 2, 3, 2, 2)
