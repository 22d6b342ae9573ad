"""flow.lefdef.placer and ``pilotflow place``: legal DEFs, checked by KLayout too."""

from __future__ import annotations

from dataclasses import replace

import klayout.db as kdb
import pytest
from click.testing import CliRunner
from benchdata import bench_path

from flow.cli import cli
from flow.lefdef import read_def, read_lef, read_verilog
from flow.lefdef.placer import check_def_placement, def_from_verilog, def_hpwl, place_def

LEF = """UNITS DATABASE MICRONS 1000 ; END UNITS
LAYER M1 TYPE ROUTING ; DIRECTION HORIZONTAL ; WIDTH 0.1 ; END M1
LAYER M2 TYPE ROUTING ; DIRECTION VERTICAL ; WIDTH 0.1 ; END M2
LAYER M3 TYPE ROUTING ; DIRECTION HORIZONTAL ; WIDTH 0.1 ; END M3
SITE core CLASS CORE ; SYMMETRY Y ; SIZE 0.2 BY 2 ; END core
MACRO INV CLASS CORE ; SIZE 0.6 BY 2 ; SYMMETRY X Y ; SITE core ;
  PIN A DIRECTION INPUT ; PORT LAYER M1 ; RECT 0.1 0.9 0.2 1.1 ; END END A
  PIN Y DIRECTION OUTPUT ; PORT LAYER M1 ; RECT 0.4 0.9 0.5 1.1 ; END END Y
  PIN VDD USE POWER ; PORT LAYER M1 ; RECT 0 1.9 0.6 2 ; END END VDD
END INV
MACRO RAM CLASS BLOCK ; SIZE 2 BY 4 ; PIN D PORT LAYER M1 ; RECT 0 0 0.1 0.1 ; END END D END RAM
MACRO FILL CLASS CORE SPACER ; SIZE 0.2 BY 2 ; SITE core ; END FILL
END LIBRARY
"""


def _small_def(n=12, extra=""):
    comps = "\n".join(f"- u{k} INV ;" for k in range(n))
    nets = "\n".join(f"- n{k} ( u{k} Y ) ( u{k + 1} A ) ;" for k in range(n - 1))
    return f"""DESIGN t ; UNITS DISTANCE MICRONS 1000 ;
DIEAREA ( 0 0 ) ( 6000 8000 ) ;
ROW r0 core 0 0 FS DO 30 BY 1 STEP 200 0 ;
ROW r1 core 0 2000 N DO 30 BY 1 STEP 200 0 ;
ROW r2 core 0 4000 FS DO 30 BY 1 STEP 200 0 ;
ROW r3 core 0 6000 N DO 30 BY 1 STEP 200 0 ;
COMPONENTS {n} ;
{comps}
{extra}
END COMPONENTS
PINS 2 ;
- a + NET a + DIRECTION INPUT + LAYER M2 ( -50 0 ) ( 50 100 ) + FIXED ( 0 4000 ) E ;
- y + NET y + DIRECTION OUTPUT + LAYER M2 ( -50 0 ) ( 50 100 ) + FIXED ( 6000 4000 ) W ;
END PINS
NETS {n + 1} ;
{nets}
- a ( PIN a ) ( u0 A ) ;
- y ( PIN y ) ( u{n - 1} Y ) ;
END NETS
END DESIGN
"""


def klayout_overlaps(d, lib) -> tuple[int, bool]:
    """KLayout's view: (number of overlapping pairs' area > 0 ?, all inside the die)."""
    reg = kdb.Region()
    total = 0
    for c in d.components:
        m = lib.macros[c.macro]
        w, h = round(m.w * d.dbu), round(m.h * d.dbu)
        reg.insert(kdb.Box(c.x, c.y, c.x + w, c.y + h))
        total += w * h
    merged = reg.merged()
    die = kdb.Region(kdb.Box(*d.die))
    return total - merged.area(), (reg - die).is_empty()


def test_small_design_is_placed_legally_in_its_rows():
    lib = read_lef("s.lef", text=LEF)
    d = read_def("s.def", text=_small_def())
    out, rep = place_def(d, lib)
    assert check_def_placement(out, lib) == []
    assert rep.cells == 12 and rep.io_pins == 2 and rep.rows == 4
    for c in out.components:
        row = next(r for r in out.rows if r.y == c.y)
        assert c.status == "PLACED" and c.orient == row.orient and c.x % 200 == 0
    lost, inside = klayout_overlaps(out, lib)
    assert lost == 0 and inside
    # a chain between two pins at mid height: the cells gather between them
    assert rep.hpwl_detailed <= rep.hpwl_legal
    assert def_hpwl(out, lib) == rep.hpwl_box


def test_def_hpwl_is_the_openroad_box_method():
    lib = read_lef("s.lef", text=LEF)
    d = read_def("s.def", text=_small_def(2))
    d.components[0] = replace(d.components[0], status="PLACED", x=1000, y=0, orient="N")
    d.components[1] = replace(d.components[1], status="PLACED", x=3000, y=2000, orient="FS")
    # n0: boxes (1000,0,1600,2000) and (3000,2000,3600,4000): 2600 + 4000
    # a: pin box E at (0,4000): (-50,0)-(50,100) -> x 0..100, y 3950..4050 with u0: x 0..1600, y 0..4050
    # y: pin box W at (6000,4000): x 5900..6000, y 3950..4050 with u1 (3000..3600, 2000..4000): 3000 + 2050
    assert def_hpwl(d, lib) == (2600 + 4000) + (1600 + 4050) + (3000 + 2050)


def test_fixed_blocks_fillers_and_pins_are_respected():
    lib = read_lef("s.lef", text=LEF)
    extra = "- ram RAM + FIXED ( 2000 2000 ) N ;\n- f1 FILL + PLACED ( 0 0 ) N ;\n- f2 FILL + FIXED ( 5800 6000 ) N ;"
    d = read_def("s.def", text=_small_def(30, extra))
    out, rep = place_def(d, lib)
    assert check_def_placement(out, lib) == []
    names = {c.name: c for c in out.components}
    assert "f1" not in names and any("1 movable filler" in n for n in rep.notes)
    assert (names["ram"].x, names["ram"].y, names["ram"].status) == (2000, 2000, "FIXED")
    assert (names["f2"].x, names["f2"].y) == (5800, 6000)
    lost, inside = klayout_overlaps(out, lib)
    assert lost == 0 and inside


def test_checker_finds_each_problem():
    lib = read_lef("s.lef", text=LEF)
    out, _ = place_def(read_def("s.def", text=_small_def()), lib)
    c = out.components
    bad = list(c)
    bad[0] = replace(c[0], x=c[0].x + 100)  # off the site grid
    bad[1] = replace(c[1], x=c[2].x, y=c[2].y, orient=c[2].orient)  # on top of u2
    bad[3] = replace(c[3], orient="E")
    bad[4] = replace(c[4], status="UNPLACED")
    bad[5] = replace(c[5], x=5800, y=6000, orient="N")  # runs off the row and the die
    probs = "\n".join(check_def_placement(replace(out, components=bad), lib))
    assert "'u0' at" in probs and "site grid" in probs
    assert "'u1' and 'u2' overlap" in probs or "'u2' and 'u1' overlap" in probs
    assert "'u3' has orientation E" in probs
    assert "'u4' is not placed" in probs
    assert "'u5' at (5800, 6000)-(6400, 8000) is outside the die" in probs


def test_same_seed_same_result_and_rows_from_the_die():
    lib = read_lef("s.lef", text=LEF)
    text = _small_def().replace("ROW r0 core 0 0 FS DO 30 BY 1 STEP 200 0 ;\n", "").replace("ROW r1 core 0 2000 N DO 30 BY 1 STEP 200 0 ;\n", "")
    text = text.replace("ROW r2 core 0 4000 FS DO 30 BY 1 STEP 200 0 ;\n", "").replace("ROW r3 core 0 6000 N DO 30 BY 1 STEP 200 0 ;\n", "")
    a, rep = place_def(read_def("s.def", text=text), lib, seed=3)
    b, _ = place_def(read_def("s.def", text=text), lib, seed=3)
    assert a.components == b.components
    assert len(a.rows) == 4 and a.rows[0].nx == 30 and any("generated 4 rows" in n for n in rep.notes)
    assert check_def_placement(a, lib) == []


def test_simple01_placed_legally_and_checked_by_klayout():
    lib = read_lef(bench_path("lefdef", "nangate45", "Nangate45.lef"))
    d = read_def(bench_path("lefdef", "gcd", "simple01.def"))
    out, rep = place_def(d, lib)
    assert check_def_placement(out, lib) == []
    lost, inside = klayout_overlaps(out, lib)
    assert lost == 0 and inside
    assert rep.cells == 294 and rep.io_pins == 54
    # the RePlAce result of the same netlist is a global placement: not legal
    ok = read_def(bench_path("lefdef", "gcd", "simple01.defok"))
    assert check_def_placement(ok, lib)


def test_verilog_netlist_gets_rows_pins_and_a_legal_placement():
    lib = read_lef(bench_path("lefdef", "nangate45", "Nangate45.lef"))
    mod = read_verilog(bench_path("lefdef", "gcd", "gcd.v"))
    d = def_from_verilog(mod, lib, utilization=0.5)
    assert len(d.components) == 294 and len(d.pins) == 54 and d.rows
    assert all(p.bbox() is not None for p in d.pins)
    out, rep = place_def(d, lib)
    assert check_def_placement(out, lib) == []
    assert 0.45 < rep.utilisation <= 0.5
    d2 = def_from_verilog(mod, lib, die_um=(40, 42))
    assert d2.die == (0, 0, 80000, 84000) and len(d2.rows) == 30


# -- CLI -------------------------------------------------------------------------


@pytest.fixture()
def files(tmp_path):
    (tmp_path / "s.lef").write_text(LEF)
    (tmp_path / "s.def").write_text(_small_def())
    return tmp_path


def test_cli_place_writes_a_legal_def(files):
    out = files / "o.def"
    r = CliRunner().invoke(cli, ["place", "--lef", str(files / "s.lef"), "--def", str(files / "s.def"), "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert "12 cells" in r.output and "legal" in r.output and "OpenROAD" in r.output
    assert check_def_placement(read_def(out), read_lef(files / "s.lef")) == []
    # --map: the density map picture; the overflow printed is the one of the placed DEF
    svg = files / "map.svg"
    r = CliRunner().invoke(cli, ["place", "--lef", str(files / "s.lef"), "--def", str(files / "s.def"), "-o", str(out), "--map", str(svg)])
    assert r.exit_code == 0, r.output
    import re
    import xml.etree.ElementTree as ET

    from flow.lefdef.placer import density_map

    ovf, _ = density_map(read_def(out), read_lef(files / "s.lef"))
    assert f"density overflow {ovf:.3f}" in r.output
    assert ovf == pytest.approx(0.0, abs=1e-9)  # no overlaps: no bin over-full
    placed = read_def(out)
    piled = replace(placed, components=[replace(c, x=0, y=0) for c in placed.components])
    # 12 cells on one spot: the overflow by KLayout boxes, bin by bin
    from flow.place.report import default_bins

    nx, ny = default_bins(piled.die, 12)
    x0, y0, x1, y1 = piled.die
    cell = kdb.Box(0, 0, 600, 2000)
    excess = 0.0
    for i in range(nx):
        for j in range(ny):
            b = kdb.Box(round(x0 + i * (x1 - x0) / nx), round(y0 + j * (y1 - y0) / ny), round(x0 + (i + 1) * (x1 - x0) / nx), round(y0 + (j + 1) * (y1 - y0) / ny))
            excess += max(0.0, 12 * (cell & b).area() - b.area())
    assert density_map(piled, read_lef(files / "s.lef"))[0] == pytest.approx(excess / (12 * cell.area()), rel=1e-3)
    root = ET.parse(svg).getroot()
    titles = [t.text for t in root.iter("{http://www.w3.org/2000/svg}title")]
    assert all(f"u{k}" in " ".join(titles) for k in range(12))
    assert re.search(r"density overflow \d\.\d{3}", " ".join(t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text")) or svg.read_text())


def test_cli_place_from_verilog(files):
    (files / "t.v").write_text("module t(a, y); input a; output y; wire n;\n INV u1 (.A(a), .Y(n)); INV u2 (.A(n), .Y(y));\n assign z = 1'b0;\nendmodule\n")
    out = files / "o.def"
    r = CliRunner().invoke(cli, ["place", "--lef", str(files / "s.lef"), "--verilog", str(files / "t.v"), "--die", "4,4", "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert "assign of a constant" in r.output
    d = read_def(out)
    assert d.die == (0, 0, 4000, 4000) and len(d.pins) == 2
    assert check_def_placement(d, read_lef(files / "s.lef")) == []


@pytest.mark.parametrize(
    ("args", "msg"),
    [
        (["--def", "s.def"], "bad.lef:6: MACRO INV SIZE: expected 'SIZE w BY h ;'"),
        (["--def", "u.def"], "u.def:11: component 'u3': macro 'NAND9' is not in the LEF files"),
        (["--def", "s.def", "--die", "3,3"], "go with --verilog"),
        ([], "exactly one of --def"),
        (["--verilog", "t.v"], "exactly one of --die"),
        (["--verilog", "t.v", "--die", "3by3"], "W,H"),
    ],
)
def test_cli_place_bad_input_exit_2_nothing_written(files, args, msg):
    (files / "bad.lef").write_text(LEF.replace("SIZE 0.6 BY 2", "SIZE 0.6 2", 1))
    (files / "u.def").write_text(_small_def().replace("- u3 INV ;", "- u3 NAND9 ;"))
    (files / "t.v").write_text("module t(a); input a;\n INV u1 (.A(a));\nendmodule\n")
    lef = "bad.lef" if args == ["--def", "s.def"] else "s.lef"
    out = files / "o.def"
    full = ["place", "--lef", str(files / lef), "-o", str(out)] + [str(files / a) if a.endswith((".def", ".v")) else a for a in args]
    r = CliRunner().invoke(cli, full)
    assert r.exit_code == 2, r.output
    assert msg in r.output and r.output.startswith("Error: ") or "Usage" in r.output
    assert msg in r.output
    assert "Traceback" not in r.output
    assert not out.exists()


def test_multi_row_cells_and_unplaced_blocks_are_placed():
    """A hand-made library with a double-height flip-flop (two rows) and an
    unplaced block (two rows tall, not a whole number of sites wide): all
    placed legally (checker and KLayout), the tall ones on stacks of
    abutting rows, the single-row cells around them."""
    lef = LEF.replace(
        "END LIBRARY",
        """MACRO DFF2 CLASS CORE ; SIZE 1.0 BY 4 ; SYMMETRY X Y ; SITE core ;
  PIN D DIRECTION INPUT ; PORT LAYER M1 ; RECT 0.1 0.9 0.2 1.1 ; END END D
  PIN Q DIRECTION OUTPUT ; PORT LAYER M1 ; RECT 0.8 2.9 0.9 3.1 ; END END Q
END DFF2
MACRO BLK CLASS BLOCK ; SIZE 1.1 BY 4 ;
  PIN I PORT LAYER M1 ; RECT 0 0 0.1 0.1 ; END END I
END BLK
END LIBRARY""",
    )
    lib = read_lef("s.lef", text=lef)
    extra = "- ff0 DFF2 ;\n- ff1 DFF2 + PLACED ( 0 0 ) N ;\n- blk BLK ;"
    text = _small_def(20, extra).replace("COMPONENTS 20 ;", "COMPONENTS 23 ;")
    text = text.replace("NETS 21 ;", "NETS 24 ;").replace(
        "END NETS", "- f0 ( u3 Y ) ( ff0 D ) ;\n- f1 ( ff0 Q ) ( ff1 D ) ;\n- f2 ( ff1 Q ) ( blk I ) ( u9 A ) ;\nEND NETS"
    )
    d = read_def("s.def", text=text)
    out, rep = place_def(d, lib)
    assert check_def_placement(out, lib) == []
    lost, inside = klayout_overlaps(out, lib)
    assert lost == 0 and inside
    names = {c.name: c for c in out.components}
    row_ys = sorted(r.y for r in out.rows)
    for n in ("ff0", "ff1", "blk"):
        c = names[n]
        assert c.status == "PLACED" and c.y in row_ys and c.y + 4000 in row_ys + [8000], n
        assert c.x % 200 == 0
    assert names["blk"].orient == "N"
    assert rep.cells == 23
    # the checker sees a tall cell that does not sit on a stack of rows
    bad = [replace(c, y=c.y + 1000) if c.name == "ff0" else c for c in out.components]
    assert any("ff0" in p for p in check_def_placement(replace(out, components=bad), lib))
    # an unplaced pad cannot go on rows: a clear error naming it
    from flow.errors import InputError

    lib2 = read_lef("s.lef", text=LEF.replace("END LIBRARY", "MACRO IO CLASS PAD ; SIZE 1 BY 1 ; END IO\nEND LIBRARY"))
    d2 = read_def("s.def", text=_small_def(4, "- io0 IO ;").replace("COMPONENTS 4 ;", "COMPONENTS 5 ;"))
    with pytest.raises(InputError, match="s.def:\\d+: component 'io0' .* is unplaced and neither a standard cell nor a block"):
        place_def(d2, lib2)
