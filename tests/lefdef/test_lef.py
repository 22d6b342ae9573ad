"""flow.lefdef.lef: the real Nangate45 library and malformed input."""

from __future__ import annotations

import pytest
from benchdata import bench_path

from flow.errors import InputError
from flow.lefdef import read_lef

SMALL = """VERSION 5.8 ;
UNITS
  DATABASE MICRONS 1000 ;
END UNITS
LAYER M1
  TYPE ROUTING ; DIRECTION HORIZONTAL ; PITCH 0.2 ; WIDTH 0.1 ;
  PROPERTY LEF58_X "a ; b ; END M1" ;
END M1
VIA V1 DEFAULT LAYER M1 ; RECT -0.1 -0.1 0.1 0.1 ; END V1
SITE core CLASS CORE ; SYMMETRY Y ; SIZE 0.2 BY 1.4 ; END core
MACRO NAND2
  CLASS CORE ;
  ORIGIN 0 0 ;
  SIZE 0.8 BY 1.4 ;
  SYMMETRY X Y ;
  SITE core ;
  PIN A DIRECTION INPUT ; USE SIGNAL ;
    PORT LAYER M1 ; RECT 0.1 0.4 0.3 0.6 ; RECT 0.1 0.6 0.2 1.0 ; END
  END A
  PIN VDD USE POWER ; PORT LAYER M1 ; POLYGON 0 1.3 0.8 1.3 0.8 1.5 0 1.5 ; END END VDD
  OBS LAYER M1 ; RECT 0.5 0.1 0.7 0.3 ; END
END NAND2
MACRO RAM CLASS BLOCK ; SIZE 20 BY 30 ; END RAM
END LIBRARY
"""


def test_small_library_every_field():
    lib = read_lef("small.lef", text=SMALL)
    assert lib.dbu == 1000
    m1 = lib.layers["M1"]
    assert (m1.type, m1.direction, m1.pitch, m1.width) == ("ROUTING", "HORIZONTAL", 0.2, 0.1)
    assert lib.sites["core"].w == 0.2 and lib.sites["core"].h == 1.4 and lib.sites["core"].symmetry == ("Y",)
    nand = lib.macros["NAND2"]
    assert (nand.cls, nand.w, nand.h, nand.site, nand.symmetry) == ("CORE", 0.8, 1.4, "core", ("X", "Y"))
    assert not nand.is_block and lib.macros["RAM"].is_block
    a = nand.pins["A"]
    assert a.direction == "INPUT" and a.use == "SIGNAL"
    assert a.rects == [("M1", 0.1, 0.4, 0.3, 0.6), ("M1", 0.1, 0.6, 0.2, 1.0)]
    assert a.centre() == pytest.approx((0.2, 0.7))
    assert nand.pins["VDD"].use == "POWER" and nand.pins["VDD"].rects == [("M1", 0.0, 1.3, 0.8, 1.5)]
    assert nand.obs == [("M1", 0.5, 0.1, 0.7, 0.3)]
    assert "V1" not in lib.macros


def test_nangate45_real_library():
    lib = read_lef(bench_path("lefdef", "nangate45", "Nangate45.lef"))
    assert lib.dbu == 2000
    assert len(lib.macros) == 135
    site = lib.sites["FreePDK45_38x28_10R_NP_162NW_34O"]
    assert (site.w, site.h) == (0.19, 1.4)
    dff = lib.macros["DFF_X1"]
    assert (dff.w, dff.h, dff.cls) == (3.23, 1.4, "CORE")
    assert set(dff.pins) == {"D", "CK", "Q", "QN", "VDD", "VSS"}
    assert dff.pins["Q"].direction == "OUTPUT" and dff.pins["VSS"].use == "GROUND"
    assert dff.obs
    # every core cell is a whole number of sites wide and one row high
    for m in lib.macros.values():
        if m.cls == "CORE":
            assert m.h == pytest.approx(1.4)
            assert m.w / 0.19 == pytest.approx(round(m.w / 0.19))
    assert lib.layers["metal2"].direction == "VERTICAL"


def test_split_tech_and_cells_equal_the_combined_file():
    tech = bench_path("lefdef", "nangate45", "Nangate45_tech.lef")
    cells = bench_path("lefdef", "nangate45", "Nangate45_stdcell.lef")
    both = read_lef(bench_path("lefdef", "nangate45", "Nangate45.lef"))
    lib = read_lef(cells, read_lef(tech))
    assert lib.dbu == both.dbu
    assert set(lib.macros) == set(both.macros)
    assert lib.macros["NAND2_X1"] == both.macros["NAND2_X1"] or (
        lib.macros["NAND2_X1"].pins == both.macros["NAND2_X1"].pins
    )
    assert len(lib.files) == 2


@pytest.mark.parametrize(
    ("text", "line", "msg"),
    [
        ("MACRO A\n CLASS CORE ;\n", 1, "not closed by 'END A'"),
        ("MACRO A\n SIZE 1 BY 1 ;\nEND B\n", 3, "closed by 'END B'"),
        ("MACRO A\n CLASS CORE ;\nEND A\n", 1, "has no SIZE"),
        ("MACRO A\n SIZE 1 x 1 ;\nEND A\n", 2, "SIZE w BY h"),
        ("MACRO A SIZE 1 BY 1 ;\n PIN X PORT LAYER M1 ;\n  RECT 0 0 1 ;\n END END X\nEND A\n", 3, "RECT needs 4"),
        ("MACRO A SIZE 1 BY 1 ;\n OBS\n  RECT 0 0 1 1 ;\n END\nEND A\n", 3, "before any LAYER"),
        ("UNITS\n DATABASE MICRONS abc ;\nEND UNITS\n", 2, "not an integer"),
        ("SITE s CLASS CORE ;\nEND s\n", 1, "has no SIZE"),
        ("LAYER M1 TYPE ROUTING ;\n PITCH x ;\nEND M1\n", 2, "PITCH"),
        ('PROPERTYDEFINITIONS\n MACRO p STRING "x\n', 2, "string is not closed"),
        ("VERSION 5.8\n", 1, "not terminated by ';'"),
        ("END FOO\n", 1, "unexpected 'END FOO'"),
    ],
)
def test_bad_input_names_file_and_line(text, line, msg):
    with pytest.raises(InputError) as e:
        read_lef("bad.lef", text=text)
    assert str(e.value).startswith(f"bad.lef:{line}: ")
    assert msg in str(e.value)


def test_viarules_enclosures_and_multiline_properties():
    """VIARULE GENERATE (enclosures, cut), a VIARULE listing fixed vias (its
    layers only), cut-layer ENCLOSURE with its conditions, and LEF58
    properties written over several lines."""
    text = """VERSION 5.8 ;
UNITS DATABASE MICRONS 1000 ; END UNITS
LAYER M1 TYPE ROUTING ; WIDTH 0.1 ;
  SPACING 0.12 ENDOFLINE 0.1 WITHIN 0.03 PARALLELEDGE 0.1 WITHIN 0.1 TWOEDGES ;
  PROPERTY LEF58_SPACING "
    SPACING 0.2 ;
    SPACING 0.13 ENDOFLINE 0.11 WITHIN 0.04 ;
  " LEF58_AREA "AREA 0.01 ;" ;
END M1
LAYER V1 TYPE CUT ;
  ENCLOSURE BELOW 0.01 0.04 ;
  ENCLOSURE 0.05 0.05 WIDTH 0.5 ;
  PROPERTY LEF58_ENCLOSURE "ENCLOSURE CUTCLASS VA ABOVE 0.0 0.05 ;" ;
END V1
LAYER M2 TYPE ROUTING ; WIDTH 0.1 ; END M2
VIARULE M1M2 GENERATE DEFAULT
  LAYER M1 ; ENCLOSURE 0.01 0.04 ;
  LAYER M2 ; ENCLOSURE 0.04 0.01 ;
  LAYER V1 ; RECT -0.05 -0.05 0.05 0.05 ; SPACING 0.2 BY 0.2 ; RESISTANCE 2 ;
END M1M2
VIARULE TURN1
  LAYER M1 ; DIRECTION HORIZONTAL ;
  LAYER M2 ; DIRECTION VERTICAL ;
END TURN1
END LIBRARY
"""
    lib = read_lef("t.lef", text=text)
    m1, v1 = lib.layers["M1"], lib.layers["V1"]
    assert [(r.space, r.width, r.within, r.other, r.source) for r in m1.eol_rules] == [
        (0.12, 0.1, 0.03, ("PARALLELEDGE", "TWOEDGES"), "SPACING"),
        (0.13, 0.11, 0.04, (), "LEF58_SPACING"),
    ]
    assert m1.eol == ((0.12, 0.1, 0.03),)  # the router's view is unchanged
    assert [(e.side, e.overhang1, e.overhang2, e.other, e.source) for e in v1.enclosures] == [
        ("BELOW", 0.01, 0.04, (), "ENCLOSURE"),
        ("", 0.05, 0.05, ("WIDTH",), "ENCLOSURE"),
        ("ABOVE", 0.0, 0.05, ("CUTCLASS",), "LEF58_ENCLOSURE"),
    ]
    gen, turn = lib.viarules["M1M2"], lib.viarules["TURN1"]
    assert gen.generate and gen.enclosure == {"M1": (0.01, 0.04), "M2": (0.04, 0.01)}
    assert gen.cut == "V1" and gen.cut_rect == (-0.05, -0.05, 0.05, 0.05) and gen.cut_spacing == (0.2, 0.2)
    assert not turn.generate and turn.layers == ["M1", "M2"] and turn.enclosure == {}
    assert lib.layers["M2"].type == "ROUTING"  # read on after the VIARULEs


@pytest.mark.parametrize(
    ("text", "line", "msg"),
    [
        ("VIARULE R GENERATE\n LAYER M1 ;\n ENCLOSURE 0.1 x ;\nEND R\n", 3, "VIARULE R ENCLOSURE: 'x' is not a number"),
        ("VIARULE R GENERATE\n LAYER M1 ;\n", 1, "VIARULE R is not closed by 'END R'"),
        ('LAYER M1 TYPE ROUTING ;\n PROPERTY LEF58_SPACING "SPACING 0.1 ENDOFLINE 0.1 WITHIN ;" ;\nEND M1\n', 2, "WITHIN needs a value"),
        ('LAYER M1 TYPE ROUTING ;\n PROPERTY LEF58_SPACING "SPACING 0.1 ENDOFLINE 0.1 WITHIN 0.1" ;\nEND M1\n', 2, "not terminated by ';'"),
    ],
)
def test_bad_rules_name_file_and_line(text, line, msg):
    with pytest.raises(InputError) as e:
        read_lef("bad.lef", text=text)
    assert str(e.value).startswith(f"bad.lef:{line}: ")
    assert msg in str(e.value)


def test_missing_file():
    with pytest.raises(InputError, match=r"^nope\.lef: cannot read"):
        read_lef("nope.lef")
