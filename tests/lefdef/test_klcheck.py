"""The KLayout check of routed DEF (flow/lefdef/klcheck.py): end-of-line
spacing and minimum via enclosure, on small hand-made LEF/DEF layouts, each
rule with a violating and a clean case."""

from __future__ import annotations

from pathlib import Path

import pytest

from flow.errors import InputError
from flow.lefdef import read_lef

pytest.importorskip("klayout.db")
from flow.lefdef.klcheck import check_routed_def, enclosure_pairs  # noqa: E402

EOL = "  SPACING 0.1 ENDOFLINE 0.08 WITHIN 0.025 ;\n"
CUT_ENCLOSURE = "  ENCLOSURE BELOW 0 0.03 ;\n  ENCLOSURE ABOVE 0 0.03 ;\n"
VIARULE = """VIARULE V12GEN GENERATE
  LAYER metal1 ;
    ENCLOSURE 0 0.03 ;
  LAYER metal2 ;
    ENCLOSURE 0.03 0 ;
  LAYER via1 ;
    RECT -0.03 -0.03 0.03 0.03 ;
    SPACING 0.14 BY 0.14 ;
END V12GEN
"""


def lef(metal1: str = EOL, via1: str = CUT_ENCLOSURE, extra: str = "") -> str:
    """Two metals and a cut (dbu 1000/um); ``metal1``/``via1`` add rules to
    those layers, ``extra`` goes before END LIBRARY (VIARULEs)."""
    return f"""VERSION 5.8 ;
BUSBITCHARS "[]" ;
DIVIDERCHAR "/" ;
UNITS
  DATABASE MICRONS 1000 ;
END UNITS
LAYER metal1
  TYPE ROUTING ;
  DIRECTION HORIZONTAL ;
  PITCH 0.2 ;
  WIDTH 0.06 ;
  SPACING 0.06 ;
{metal1}END metal1
LAYER via1
  TYPE CUT ;
  SPACING 0.08 ;
  WIDTH 0.06 ;
{via1}END via1
LAYER metal2
  TYPE ROUTING ;
  DIRECTION VERTICAL ;
  PITCH 0.2 ;
  WIDTH 0.06 ;
  SPACING 0.06 ;
END metal2
VIA V12 DEFAULT
  LAYER via1 ;
    RECT -0.03 -0.03 0.03 0.03 ;
  LAYER metal1 ;
    RECT -0.06 -0.03 0.06 0.03 ;
  LAYER metal2 ;
    RECT -0.03 -0.06 0.03 0.06 ;
END V12
{extra}END LIBRARY
"""


def pin(name: str, net: str, layer: str, x: int, y: int) -> str:
    return f"    - {name} + NET {net} + DIRECTION INPUT + USE SIGNAL + LAYER {layer} ( -30 -30 ) ( 30 30 ) + PLACED ( {x} {y} ) N ;\n"


def design(*, gap: int | None = None, b_from: int = 500, via: str | None = None) -> str:
    """Net ``a``: a 0.06 um metal1 wire ending at x = 1.03 um (its line end
    faces +x); net ``b``: a vertical metal1 wire whose left edge lies ``gap``
    dbu beyond that end, its centre line from y = ``b_from`` (its metal from
    30 dbu lower).  Net ``c``: metal1 to metal2
    through ``via`` (V12: overhang 0.03 um along the wire, 0 across; VBAD: a
    DEF via whose metal1 is just the cut) at (2500, 2000), the metal1 wire
    ending at the cut's edge."""
    pins = pin("a1", "a", "metal1", 500, 1000) + pin("a2", "a", "metal1", 800, 1000)
    nets = "    - a ( PIN a1 ) ( PIN a2 ) + USE SIGNAL\n      + ROUTED metal1 ( 500 1000 ) ( 1000 1000 ) ;\n"
    count = 1
    if gap is not None:
        x = 1030 + gap + 30
        pins += pin("b1", "b", "metal1", x, b_from + 100) + pin("b2", "b", "metal1", x, 1500)
        nets += f"    - b ( PIN b1 ) ( PIN b2 ) + USE SIGNAL\n      + ROUTED metal1 ( {x} {b_from} ) ( {x} 1500 ) ;\n"
        count += 1
    if via is not None:
        pins += pin("c1", "c", "metal1", 2100, 2000) + pin("c2", "c", "metal2", 2500, 2400)
        nets += (f"    - c ( PIN c1 ) ( PIN c2 ) + USE SIGNAL\n      + ROUTED metal1 ( 2000 2000 ) ( 2500 2000 ) {via}\n"
                 "      NEW metal2 ( 2500 2000 ) ( 2500 2500 ) ;\n")
        count += 1
    npins = pins.count("\n")
    return f"""VERSION 5.8 ;
DIVIDERCHAR "/" ;
BUSBITCHARS "[]" ;
DESIGN t ;
UNITS DISTANCE MICRONS 1000 ;
DIEAREA ( 0 0 ) ( 4000 4000 ) ;
VIAS 1 ;
    - VBAD + RECT via1 ( -30 -30 ) ( 30 30 ) + RECT metal1 ( -30 -30 ) ( 30 30 ) + RECT metal2 ( -30 -60 ) ( 30 60 ) ;
END VIAS
PINS {npins} ;
{pins}END PINS
NETS {count} ;
{nets}END NETS
END DESIGN
"""


def check(tmp_path: Path, lef_text: str, def_text: str):
    (tmp_path / "t.lef").write_text(lef_text)
    (tmp_path / "t.def").write_text(def_text)
    return check_routed_def([str(tmp_path / "t.lef")], str(tmp_path / "t.def"))


# ------------------------------------------------------------ end of line --

@pytest.mark.parametrize(
    "gap, b_from, expected",
    [
        (80, 500, 1),   # 0.08 um in front of a 0.06 um line end: >= spacing, < end-of-line spacing
        (99, 500, 1),
        (100, 500, 0),  # exactly the end-of-line spacing
        (120, 500, 0),
        (80, 1086, 0),  # beside the window: b's metal starts 0.026 um above the line end (WITHIN 0.025)
        (80, 1080, 1),  # inside it: 0.02 um above
    ],
)
def test_end_of_line_spacing(tmp_path, gap, b_from, expected):
    rep = check(tmp_path, lef(), design(gap=gap, b_from=b_from))
    assert rep.violations.get("metal1.eol", 0) == expected, rep.markers
    # nothing else: the plain spacing (0.06 um) is kept in every case
    assert set(rep.violations) <= {"metal1.eol"}
    assert rep.opens == [] and rep.shorts == []
    assert not any("end-of-line" in n for n in rep.not_checked)
    if expected:
        rule, (x, y) = rep.markers[0]
        assert rule == "metal1.eol" and abs(x - (1.03 + 0.05)) < 1e-6 and abs(y - 1.0) < 1e-6


def test_end_of_line_only_for_short_edges(tmp_path):
    """A line end wider than ENDOFLINE's width is no end of line: net a's
    pin a2 widened to 0.1 um at the wire's end, 0.08 um from the neighbour,
    is only checked for spacing, unless the rule's width is above 0.1 um."""
    old = "LAYER metal1 ( -30 -30 ) ( 30 30 ) + PLACED ( 800 1000 ) N"
    text = design(gap=80)
    assert old in text
    text = text.replace(old, "LAYER metal1 ( -40 -50 ) ( 40 50 ) + PLACED ( 990 1000 ) N")
    rep = check(tmp_path, lef(), text)
    assert rep.violations == {}, rep.markers
    rep = check(tmp_path, lef(metal1="  SPACING 0.1 ENDOFLINE 0.12 WITHIN 0.025 ;\n"), text)
    assert rep.violations == {"metal1.eol": 1}, rep.markers


def test_end_of_line_from_lef58_property(tmp_path):
    """The same rule as a (multi-line) LEF58_SPACING property."""
    prop = '  PROPERTY LEF58_SPACING "\n    SPACING 0.1 ENDOFLINE 0.08 WITHIN 0.025 ;\n  " ;\n'
    lib = read_lef("t.lef", text=lef(metal1=prop))
    (rule,) = lib.layers["metal1"].eol_rules
    assert (rule.space, rule.width, rule.within, rule.other, rule.source) == (0.1, 0.08, 0.025, (), "LEF58_SPACING")
    assert check(tmp_path, lef(metal1=prop), design(gap=80)).violations == {"metal1.eol": 1}
    assert check(tmp_path, lef(metal1=prop), design(gap=100)).violations == {}


def test_end_of_line_with_unmodelled_options_not_checked(tmp_path):
    """PARALLELEDGE (or a LEF58 option such as ENDTOEND) is not modelled: the
    rule is listed as not checked, never passed as clean."""
    rule = "  SPACING 0.1 ENDOFLINE 0.08 WITHIN 0.025 PARALLELEDGE 0.1 WITHIN 0.1 ;\n"
    rep = check(tmp_path, lef(metal1=rule), design(gap=80))
    assert "metal1.eol" not in rep.violations
    assert "end-of-line spacing with PARALLELEDGE (metal1, SPACING)" in rep.not_checked
    prop = '  PROPERTY LEF58_SPACING "SPACING 0.1 ENDOFLINE 0.08 WITHIN 0.025 ENDTOEND 0.09 ;" ;\n'
    rep = check(tmp_path, lef(metal1=prop), design(gap=80))
    assert "end-of-line spacing with ENDTOEND (metal1, LEF58_SPACING)" in rep.not_checked


def test_end_of_line_without_within_is_bad_input():
    with pytest.raises(InputError, match=r"^t.lef:13: LAYER metal1 SPACING: expected 'SPACING s ENDOFLINE w WITHIN d'"):
        read_lef("t.lef", text=lef(metal1="  SPACING 0.1 ENDOFLINE 0.08 ;\n"))


# ------------------------------------------------------------ enclosure ----

@pytest.mark.parametrize(
    "via1, extra, source",
    [
        (CUT_ENCLOSURE, "", "LAYER via1 ENCLOSURE: 0 0.03"),
        ("", VIARULE, "VIARULE GENERATE V12GEN: 0 0.03"),
        ("", "", "DEFAULT vias V12: 0 0.03"),
    ],
    ids=["cut-layer", "viarule", "default-vias"],
)
def test_via_enclosure(tmp_path, via1, extra, source):
    """A cut whose metal1 is only the cut (DEF via VBAD) breaks the minimum
    enclosure from each source; the LEF's V12 (0.03 um along the wire) keeps it."""
    bad = check(tmp_path, lef(via1=via1, extra=extra), design(via="VBAD"))
    assert bad.enclosure_rules["via1 by metal1"] == source
    assert bad.violations == {"via1.overhang(metal1)": 1}, bad.markers
    rule, (x, y) = bad.markers[0]
    assert rule == "via1.overhang(metal1)" and (round(x, 6), round(y, 6)) == (2.5, 2.0)
    assert bad.opens == [] and bad.shorts == []
    good = check(tmp_path, lef(via1=via1, extra=extra), design(via="V12"))
    assert good.violations == {}, good.markers
    assert good.opens == [] and good.shorts == []


def test_via_enclosure_metal2_of_the_viarule(tmp_path):
    """The VIARULE asks 0.03 um all round on metal2: VBAD's metal2 (0 across
    the cut) breaks it, and so does V12's."""
    rule = VIARULE.replace("ENCLOSURE 0.03 0 ;", "ENCLOSURE 0.03 0.03 ;")
    rep = check(tmp_path, lef(via1="", extra=rule), design(via="VBAD"))
    assert rep.enclosure_rules["via1 by metal2"] == "VIARULE GENERATE V12GEN: 0.03 0.03"
    assert rep.violations == {"via1.overhang(metal1)": 1, "via1.overhang(metal2)": 1}
    rep = check(tmp_path, lef(via1="", extra=rule), design(via="V12"))
    assert rep.violations == {"via1.overhang(metal2)": 1}


def test_cut_outside_the_metal_counts_once(tmp_path):
    """A cut sticking out of its metal1 is an enclosure marker, not also an
    overhang one."""
    text = design(via="VBAD").replace("+ RECT metal1 ( -30 -30 ) ( 30 30 )", "+ RECT metal1 ( -30 -30 ) ( 30 20 )")
    old = "( 2000 2000 ) ( 2500 2000 ) VBAD"
    assert old in text
    # the metal1 wire ends under the via's (shortened) metal1; the cut's top 10 dbu is bare
    text = text.replace(old, "( 2000 1960 ) ( 2500 1960 ) NEW metal1 ( 2500 2000 ) VBAD")
    rep = check(tmp_path, lef(), text)
    assert rep.violations.get("via1.enclosure(metal1)") == 1, rep.violations
    assert "via1.overhang(metal1)" not in rep.violations


def test_enclosure_rule_with_width_not_checked(tmp_path):
    via1 = CUT_ENCLOSURE + "  ENCLOSURE BELOW 0.05 0.05 WIDTH 0.3 ;\n"
    rep = check(tmp_path, lef(via1=via1), design(via="V12"))
    assert rep.violations == {}
    assert "via enclosure ENCLOSURE WIDTH (via1 by metal1)" in rep.not_checked
    assert not any("metal2" in n for n in rep.not_checked if n.startswith("via enclosure"))


def test_enclosure_pairs_sources():
    lib = read_lef("t.lef", text=lef(via1=CUT_ENCLOSURE + '  PROPERTY LEF58_ENCLOSURE "ENCLOSURE ABOVE 0.01 0.01 ;" ;\n', extra=VIARULE))
    cut, m1, m2 = lib.layers["via1"], lib.layers["metal1"], lib.layers["metal2"]
    # the cut layer's own rules come first (either way round, the smallest kept)
    assert enclosure_pairs(lib, cut, m1, "BELOW")[:2] == ([(0.0, 0.03)], "LAYER via1 ENCLOSURE")
    assert enclosure_pairs(lib, cut, m2, "ABOVE")[:2] == ([(0.0, 0.03), (0.01, 0.01)], "LAYER via1 ENCLOSURE/LEF58_ENCLOSURE")
    lib = read_lef("t.lef", text=lef(via1="", extra=VIARULE))
    assert lib.viarules["V12GEN"].generate and lib.viarules["V12GEN"].cut_spacing == (0.14, 0.14)
    assert lib.viarules["V12GEN"].cut == "via1" and lib.viarules["V12GEN"].cut_rect == (-0.03, -0.03, 0.03, 0.03)
    assert enclosure_pairs(lib, lib.layers["via1"], lib.layers["metal2"], "ABOVE")[:2] == ([(0.0, 0.03)], "VIARULE GENERATE V12GEN")
    lib = read_lef("t.lef", text=lef(via1=""))
    assert enclosure_pairs(lib, lib.layers["via1"], lib.layers["metal2"], "ABOVE")[:2] == ([(0.0, 0.03)], "DEFAULT vias V12")
