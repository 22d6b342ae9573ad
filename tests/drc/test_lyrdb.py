"""The lyrdb writer round-trips through KLayout's own report database."""

from __future__ import annotations

import klayout.db as kdb
import klayout.rdb as rdb

from flow.drc.engine import run_drc
from flow.drc.lyrdb import write_lyrdb
from flow.geometry.gdsio import shapes_from_library


def test_lyrdb_round_trip(kit, layout, tmp_path):
    lib = layout(
        {
            "M1": [(0, 0, 20, 0.8), (0, 1.5, 20, 2.5), (30, 0, 35, 5)],
            "M2": [(50, 0, 52, 2)],
            "V1": [(50.1, 0.5, 51, 1.5), (60, 0, 61, 1)],
        }
    )
    result = run_drc(shapes_from_library(lib, kit), kit)
    counts = result.counts()
    assert counts["M1.W"] == 1 and counts["M1.S"] == 1 and counts["M2.EN.V1"] == 2
    path = tmp_path / "drc.lyrdb"
    write_lyrdb(result, kit, path, "TOP")
    assert not (tmp_path / "drc.lyrdb.tmp").exists()
    db = rdb.ReportDatabase("")
    db.load(str(path))
    cats = {c.name(): c for c in db.each_category()}
    assert set(cats) == set(result.rules_checked)
    assert cats["M1.W"].description == "M1 width"
    assert {n: c.num_items() for n, c in cats.items() if c.num_items()} == counts
    assert [c.name() for c in db.each_cell()] == ["TOP"]
    # marker values are in microns and parse back as KLayout geometry
    kinds = set()
    for item in db.each_item():
        for value in item.each_value():
            if value.is_edge_pair():
                ep = value.edge_pair()
                kinds.add("edge_pair")
                assert ep.first.length() > 0 or ep.second.length() > 0
            elif value.is_polygon():
                kinds.add("polygon")
                assert value.polygon().area() == 1.0  # the 1x1 um via outside M2
    assert kinds == {"edge_pair", "polygon"}


def test_lyrdb_clean_result(kit, layout, tmp_path):
    result = run_drc(shapes_from_library(layout({"M1": [(0, 0, 5, 5)]}), kit), kit)
    path = tmp_path / "clean.lyrdb"
    write_lyrdb(result, kit, path, "TOP")
    db = rdb.ReportDatabase("")
    db.load(str(path))
    assert db.num_items() == 0
    assert len(list(db.each_category())) == len(result.rules_checked)
    assert kdb  # klayout.db imported alongside (same package)


def _hier_library():
    """INV (a 0.8 um M1 bar: one M1.W marker, and a V1 outside M2: one
    M2.EN.V1 polygon) placed three times -- plain, rotated 90 degrees,
    mirrored -- plus one narrow bar in TOP itself."""
    import gdstk

    lib = gdstk.Library(unit=1e-6, precision=1e-9)
    inv = lib.new_cell("INV")
    inv.add(gdstk.rectangle((0, 0), (10, 0.8), layer=1))
    inv.add(gdstk.rectangle((0, 5), (3, 5.5), layer=3))
    top = lib.new_cell("TOP")
    top.add(gdstk.Reference(inv, (0, 0)))
    top.add(gdstk.Reference(inv, (50, 0), rotation=3.141592653589793 / 2))
    top.add(gdstk.Reference(inv, (100, 20), x_reflection=True))
    top.add(gdstk.rectangle((0, 40), (30, 40.5), layer=1))
    return lib


def _values_in_top(db):
    """Every item's marker mapped into the top cell (via its cell's
    reference), as sorted rounded coordinate tuples, with the item's tags."""
    cells = {c.rdb_id(): c for c in db.each_cell()}
    out = []
    for item in db.each_item():
        cell = cells[item.cell_id()]
        refs = list(cell.each_reference())
        t = refs[0].trans if refs else kdb.DCplxTrans()
        for value in item.each_value():
            if value.is_edge_pair():
                ep = t * value.edge_pair()
                pts = [ep.first.p1, ep.first.p2, ep.second.p1, ep.second.p2]
            elif value.is_polygon():
                pts = list((t * value.polygon()).each_point_hull())
            else:
                continue
            out.append((item.category_id(), cell.name(), item.tags_str, tuple(sorted((round(p.x, 6), round(p.y, 6)) for p in pts))))
    return out


def test_lyrdb_cell_context(kit, tmp_path):
    from flow.drc.waivers import Waiver

    lib = _hier_library()
    shapes = shapes_from_library(lib, kit)
    waiver = Waiver(rule="M1.W", region=(95.0, 15.0, 115.0, 21.0), reason="mirrored copy accepted", author="T. Ester", source="w.toml:1")
    result = run_drc(shapes, kit, waivers=[waiver])
    assert result.counts() == {"M1.W": 3, "M2.EN.V1": 3} and len(result.waived) == 1
    path = tmp_path / "drc.lyrdb"
    write_lyrdb(result, kit, path, shapes.top, shapes.instances)
    db = rdb.ReportDatabase("")
    db.load(str(path))
    cats = {c.rdb_id(): c.name() for c in db.each_category()}
    assert {c.name(): c.num_items() for c in db.each_category() if c.num_items()} == {"M1.W": 4, "M2.EN.V1": 3}
    cells = {c.qname(): c for c in db.each_cell()}
    assert set(cells) == {"TOP", "INV:1", "INV:2", "INV:3"}
    assert {q: c.num_items() for q, c in cells.items()} == {"TOP": 1, "INV:1": 2, "INV:2": 2, "INV:3": 2}
    # each variant refers to TOP with its placement
    trans = sorted(str(next(c.each_reference()).trans) for q, c in cells.items() if q != "TOP")
    assert trans == ["m0 *1 100,20", "r0 *1 0,0", "r90 *1 50,0"]
    # in its cell, every INV marker has INV's own coordinates: the same three times
    local = {}
    for item in db.each_item():
        q = [c for c in db.each_cell() if c.rdb_id() == item.cell_id()][0].qname()
        if q != "TOP":
            for v in item.each_value():
                if v.is_edge_pair():
                    ep = v.edge_pair()
                    pts = (ep.first.p1, ep.first.p2, ep.second.p1, ep.second.p2)
                elif v.is_polygon():
                    pts = tuple(v.polygon().each_point_hull())
                else:
                    continue
                local.setdefault(q, set()).add(tuple(sorted((round(p.x, 6), round(p.y, 6)) for p in pts)))
    assert len({frozenset(v) for v in local.values()}) == 1
    # mapped back into TOP, the markers are exactly the result's (microns)
    um = kit.dbu_um
    want = []
    for v, tag in [(v, "") for v in result.violations] + [(v, "waived") for v, _ in result.waived]:
        pts = [(e[0], e[1]) for e in v.marker] + [(e[2], e[3]) for e in v.marker] if v.is_edge_pair else list(v.marker)
        want.append((v.rule_id, tag, tuple(sorted((round(x * um, 6), round(y * um, 6)) for x, y in pts))))
    got = [(cats[c], tags, pts) for c, _, tags, pts in _values_in_top(db)]
    assert sorted(got) == sorted(want)
    # the waived marker is the mirrored copy's, tagged waived, in INV:3
    waived = [(cell, tags) for _, cell, tags, _ in _values_in_top(db) if tags]
    assert waived == [("INV", "waived")]
