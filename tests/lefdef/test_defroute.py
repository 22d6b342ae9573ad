"""``pilotflow route --lef --def``: the LEF/DEF router end to end, checked by KLayout.

The hand-made design (tests/lefdef/data/tiny.{lef,def}: three metals, two
cells with OBS, four instances, five nets, I/O pins on metal2 and metal3, a
power stripe) is routed through the CLI; KLayout's own LEF/DEF reader then
reads the written DEF and :mod:`flow.lefdef.klcheck` traces every net and
checks width, spacing, cut spacing and enclosure.  gcd (Nangate45, 394 nets)
is routed the same way.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from benchdata import bench_path
from flow.cli import cli
from flow.lefdef import read_def, read_lef
from flow.lefdef.routedb import build

pytest.importorskip("klayout.db")
from flow.lefdef.klcheck import check_routed_def  # noqa: E402

DATA = Path(__file__).parent / "data"
LEF = DATA / "tiny.lef"
DEF = DATA / "tiny.def"


def _route(tmp_path: Path, def_text: str | None = None, *extra: str):
    src = DEF
    if def_text is not None:
        src = tmp_path / "in.def"
        src.write_text(def_text)
    out = tmp_path / "routed.def"
    res = CliRunner().invoke(cli, ["--quiet", "route", "--lef", str(LEF), "--def", str(src), "-o", str(out), *extra])
    return res, out


@pytest.fixture(scope="module")
def tiny_routed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tiny")
    res, out = _route(tmp)
    return res, out


def test_tiny_routes_every_net_connected_and_clean(tiny_routed):
    res, out = tiny_routed
    assert res.exit_code == 0, res.output
    rep = check_routed_def([str(LEF)], str(out))
    assert rep.nets == 5 and rep.routed == 5
    assert rep.opens == [], rep.opens
    assert rep.shorts == [], rep.shorts
    assert rep.violations == {}, rep.markers
    assert rep.wirelength_um > 0 and rep.vias > 0


def test_tiny_routed_def_is_readable_again(tiny_routed):
    _, out = tiny_routed
    d = read_def(out)
    assert [n.name for n in d.nets] == ["in1", "n2", "n3", "n4", "out"]
    assert all("+ ROUTED" in n.raw for n in d.nets)
    # connections, components and the special net survive unchanged
    assert d.nets[1].conns == [("u1", "Y"), ("u2", "A"), ("u4", "B")]
    assert {c.name: (c.x, c.y, c.orient) for c in d.components}["u3"] == (2000, 2100, "FS")
    assert "( 5600 400 ) ( 5600 3800 )" in out.read_text()
    # our reader takes it as a routed design, and the router refuses to route it again
    lib = read_lef(LEF)
    assert set(build(lib, d, allow_routed=True).nets) == {"in1", "n2", "n3", "n4", "out"}
    res = CliRunner().invoke(cli, ["route", "--lef", str(LEF), "--def", str(out), "-o", str(out.with_suffix(".again.def"))])
    assert res.exit_code == 2 and "already has wiring" in res.output


def _net_block(text: str, net: str) -> str:
    a = text.index(f"    - {net} (")
    return text[a : text.index(";", a) + 1]


def test_checker_sees_a_violation_and_an_open(tiny_routed, tmp_path):
    """The KLayout check the tests rely on can fail: a wire pushed next to
    another net and a wire removed are found."""
    _, out = tiny_routed
    text = out.read_text()
    n4 = _net_block(text, "n4")
    # n4's first wire; an extra wire of n3 beside it, 20 nm away (wires are 60 nm wide)
    m = re.search(r"(metal\d) \( (\d+) (\d+) \) \( (\S+) (\S+) \)", n4)
    assert m, n4
    layer, x0, y0, x1, y1 = m.group(1), int(m.group(2)), int(m.group(3)), m.group(4), m.group(5)
    if y1 == "*":  # along x: the extra wire 80 nm above
        extra = f"NEW {layer} ( {min(x0, int(x1))} {y0 + 80} ) ( {max(x0, int(x1))} * )"
    else:
        extra = f"NEW {layer} ( {x0 + 80} {min(y0, int(y1))} ) ( * {max(y0, int(y1))} )"
    n3 = _net_block(text, "n3")
    bad = text.replace(n3, n3[:-1].rstrip() + "\n      " + extra + " ;")
    p = tmp_path / "bad.def"
    p.write_text(bad)
    rep = check_routed_def([str(LEF)], str(p))
    assert rep.violations.get(f"{layer}.spacing", 0) >= 1, rep.violations
    # drop n3's wires (its vias stay): n3 is open
    n3 = _net_block(text, "n3")
    head, _, routing = n3.rstrip(" ;").partition("+ ROUTED")
    stmts = [st.strip() for st in routing.split("NEW")]
    vias = [st for st in stmts if re.fullmatch(r"metal\d \( \d+ \d+ \) \S+", st)]
    assert vias and len(vias) < len(stmts)
    p.write_text(text.replace(n3, head + "+ ROUTED " + "\n      NEW ".join(vias) + " ;"))
    rep = check_routed_def([str(LEF)], str(p))
    assert "n3" in rep.opens


def test_unroutable_pin_is_reported_with_place(tmp_path):
    """A routing blockage over u4's output pin: the net is reported (reason,
    place), the others are routed and written, exit code 1."""
    text = DEF.read_text().replace(
        "NETS 5 ;", "BLOCKAGES 1 ;\n    - LAYER metal2 RECT ( 4500 2100 ) ( 4900 3500 ) ;\nEND BLOCKAGES\nNETS 5 ;")
    res, out = _route(tmp_path, text)
    assert res.exit_code == 1, res.output
    assert "unrouted out: no pin access: u4/Y at (4.680, 2.800) um on metal1" in res.output
    d = read_def(out)
    routed = {n.name for n in d.nets if n.raw and "ROUTED" in n.raw}
    assert {"in1", "n3"} <= routed and "out" not in routed
    rep = check_routed_def([str(LEF)], str(out))
    assert rep.violations == {} and rep.shorts == []
    assert set(rep.opens) <= {"out", "n2", "n4"}  # only nets that touch u4's blocked pins may be open
    assert "out" in rep.opens


@pytest.mark.parametrize(
    "edit, message",
    [
        (("u2 NAND2 +", "u2 NAND9 +"), "macro 'NAND9' is not defined in any LEF"),
        (("u2 NAND2 + PLACED ( 3000 700 ) N", "u2 NAND2 + UNPLACED"), "component 'u2' is UNPLACED"),
        (("+ LAYER metal3 ( -100 -30 )", "+ LAYER metal7 ( -100 -30 )"), "layer 'metal7' is not defined in the LEF"),
        (("( u2 Y ) ( u3 A )", "( u2 Q ) ( u3 A )"), "has no pin 'Q'"),
    ],
)
def test_bad_input_is_one_line_exit_2(tmp_path, edit, message):
    text = DEF.read_text()
    assert edit[0] in text
    res, out = _route(tmp_path, text.replace(edit[0], edit[1]))
    assert res.exit_code == 2, res.output
    assert message in res.output
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "in.def:" in lines[0]
    assert not out.exists()


def test_unknown_top_layer_is_bad_input(tmp_path):
    res, out = _route(tmp_path, None, "--top-layer", "metal9")
    assert res.exit_code == 2 and "--top-layer metal9: not a routing layer" in res.output
    assert not out.exists()


def test_gcd_nangate45_routed_clean(tmp_path):
    """OpenROAD's gcd on Nangate45 (394 signal nets, power grid): 100% routed,
    no opens or shorts, no KLayout width/spacing/cut violation on routed shapes."""
    lef = bench_path("lefdef", "nangate45", "Nangate45.lef")
    src = bench_path("lefdef", "gcd", "gcd_nangate45_preroute.def")
    out = tmp_path / "gcd_routed.def"
    res = CliRunner().invoke(cli, ["--quiet", "route", "--lef", str(lef), "--def", str(src), "-o", str(out), "--top-layer", "metal6"])
    assert res.exit_code == 0, res.output
    rep = check_routed_def([str(lef)], str(out))
    assert rep.routed == rep.nets == 394
    assert rep.opens == [] and rep.shorts == []
    assert rep.violations == {}, rep.markers
    # fewer vias than qrouter 1.4's 2054 on this design (which leaves 40 nets unrouted): metal1 wires
    # between facing pins and wrong-way jogs on metal2/metal3 save via pairs
    assert rep.vias <= 2054
    text = out.read_text()
    assert re.search(r"NEW metal1 \( \d+ \d+ \) \( \d+ \* \)", text)


def _wiring(block: str) -> tuple[list[tuple[str, tuple[int, int, int, int]]], list[str]]:
    """(wires as (layer, (x0, y0, x1, y1)), via names) of one net's routing text."""
    _, _, routing = block.rstrip(" ;").partition("+ ROUTED")
    wires, vias = [], []
    for st in (s.strip() for s in routing.split("NEW")):
        m = re.fullmatch(r"(\S+) \( (\d+) (\d+) \) \( (\S+) (\S+) \)", st)
        if m:
            x0, y0 = int(m.group(2)), int(m.group(3))
            x1 = x0 if m.group(4) == "*" else int(m.group(4))
            y1 = y0 if m.group(5) == "*" else int(m.group(5))
            wires.append((m.group(1), (x0, y0, x1, y1)))
        elif re.fullmatch(r"\S+ \( \d+ \d+ \) \S+", st):
            vias.append(st.split()[-1])
    return wires, vias


def test_metal1_wire_joins_two_pins_in_a_row(tiny_routed):
    """u3/Y and u4/A (net n4) face each other in one row with a free metal1
    track between them: one straight metal1 wire joins them, from inside one
    pin to inside the other (the gap between the pins plus the wire's width),
    with no via; KLayout finds n4 connected and nothing too close."""
    _, out = tiny_routed
    wires, vias = _wiring(_net_block(out.read_text(), "n4"))
    assert vias == [] and len(wires) == 1
    layer, (x0, y0, x1, y1) = wires[0]
    assert layer == "metal1" and y0 == y1
    # u3 (INV, FS at x=2000): Y at x 2430..2530; u4 (NAND2 at x=4000): A at x 4070..4170; wire width 60
    assert abs(x1 - x0) == (4070 - 2530) + 60
    assert 2430 < min(x0, x1) - 30 < 2530 and 4070 < max(x0, x1) + 30 < 4170
    rep = check_routed_def([str(LEF)], str(out))
    assert "n4" not in rep.opens and rep.violations == {}


def test_metal1_wire_not_taken_through_a_blockage(tmp_path):
    """A metal1 blockage between u3/Y and u4/A across both tracks they share:
    no metal1 wire for n4, which is routed over the layers above instead,
    connected and clean."""
    text = DEF.read_text().replace(
        "NETS 5 ;", "BLOCKAGES 1 ;\n    - LAYER metal1 RECT ( 3000 2500 ) ( 3100 3100 ) ;\nEND BLOCKAGES\nNETS 5 ;")
    res, out = _route(tmp_path, text)
    assert res.exit_code == 0, res.output
    wires, vias = _wiring(_net_block(out.read_text(), "n4"))
    # no metal1 wire across the blockage (x 3000..3100; short metal1 wires from a pin to a via beside it may remain)
    assert not any(layer == "metal1" and min(x0, x1) < 3100 + 60 and max(x0, x1) > 3000 - 60 for layer, (x0, _, x1, _) in wires)
    assert len(vias) >= 2
    rep = check_routed_def([str(LEF)], str(out))
    assert rep.opens == [] and rep.shorts == [] and rep.violations == {}, (rep.opens, rep.markers)


def test_wrong_way_jog_used_and_blocked_by_a_shape_between_tracks(tiny_routed):
    """metal2 (vertical) may jog one track along x: the tiny design's routing
    uses such a jog (and is clean, see above); a metal2 shape between two
    tracks, spaced from both track points, forbids the jog between them only."""
    _, out = tiny_routed
    text = out.read_text()
    jogs = [w for n in ("in1", "n2", "n3", "n4", "out") for w in _wiring(_net_block(text, n))[0]
            if w[0] == "metal2" and w[1][1] == w[1][3] and w[1][0] != w[1][2]]
    assert jogs
    from flow.lefdef.routedb import Shape
    from flow.route.defroute import DefRouter

    lib = read_lef(LEF)
    db = build(lib, read_def(DEF))
    # tracks at x = 1100 and 1300 (wire ends 1130 and 1270); a shape at 1195..1205 is 65 away from both
    db.obstacles.append(Shape("metal2", (1195, 1280, 1205, 1320), None))
    r = DefRouter(db)
    assert r.wrong_way[0]  # metal2
    g = r.g
    i, j = (1100 - g.x0) // g.px, (1300 - g.y0) // g.py
    v = g.flat(0, j, i)
    assert r.blk_node[v] == -1 and r.blk_node[v + 1] == -1  # both track points free
    assert r.blk_jog[v] == -2  # the jog between them is not
    assert r.blk_jog[v - 1] == -1 and r.blk_jog[g.flat(0, j + 2, i)] == -1  # jogs further away are


def test_via_beside_a_pin_joined_by_a_metal1_wire(tiny_routed):
    """Pins may be reached by a via beside them: a metal1 wire along a track
    from inside the pin to the via (no metal1 link needed for that net).
    Somewhere in the tiny design such an access is taken; the via lies
    outside every pin shape of its net, the wire's other end inside one,
    and KLayout finds the design connected and clean (first test)."""
    _, out = tiny_routed
    text = out.read_text()
    db = build(read_lef(LEF), read_def(DEF))
    found = []
    for net in ("in1", "n2", "n3", "out"):
        wires, _ = _wiring(_net_block(text, net))
        block = _net_block(text, net)
        pins = [r for t in db.nets[net] for lay, r in t.shapes if lay == "metal1"]
        for layer, (x0, y0, x1, y1) in wires:
            if layer != "metal1" or y0 != y1:
                continue
            for xv, xp in ((x0, x1), (x1, x0)):
                via_here = re.search(rf"metal1 \( {xv} {y0} \) V12", block)
                outside = not any(r[0] <= xv <= r[2] and r[1] <= y0 <= r[3] for r in pins)
                inside = any(r[0] <= xp <= r[2] and r[1] <= y0 <= r[3] for r in pins)
                if via_here and outside and inside:
                    found.append((net, xv, y0))
    assert found, "no via beside a pin in the tiny design's routing"
