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
