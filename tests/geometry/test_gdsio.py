"""Reading GDS/OASIS into per-layer integer shapes."""

from __future__ import annotations

import gdstk
import numpy as np
import pytest

import pdk
from flow.errors import InputError
from flow.geometry.gdsio import read_gds, shapes_from_library


@pytest.fixture(scope="module")
def kit():
    return pdk.load("gan650")


def _hier_lib(unit: float = 1e-6) -> gdstk.Library:
    lib = gdstk.Library(unit=unit, precision=1e-9)
    s = 1e-6 / unit  # microns -> user units
    leaf = lib.new_cell("LEAF")
    leaf.add(gdstk.rectangle((0, 0), (2 * s, 1 * s), layer=10, datatype=0))  # MET1
    leaf.add(gdstk.rectangle((0, 0), (1 * s, 1 * s), layer=77, datatype=3))  # unknown
    top = lib.new_cell("TOP")
    top.add(gdstk.Reference(leaf, (10 * s, 0)))
    top.add(gdstk.Reference(leaf, (0, 20 * s), columns=3, rows=2, spacing=(5 * s, 4 * s)))
    top.add(gdstk.Reference(leaf, (100 * s, 100 * s), rotation=np.pi / 2))
    top.add(gdstk.Label("VDD", (1.2345 * s, 0.5 * s), layer=10, texttype=10))
    top.add(gdstk.Label("pin", (0, 0), layer=10, texttype=0))  # not the label datatype
    top.add(gdstk.rectangle((0, 0), (3 * s, 3 * s), layer=12, datatype=2))  # MET2 pin datatype
    return lib


def test_flatten_references_and_arrays(kit):
    shapes = shapes_from_library(_hier_lib(), kit)
    assert shapes.top == "TOP"
    met1 = shapes.polygons["MET1"]
    assert len(met1) == 1 + 6 + 1
    for p in met1:
        assert p.dtype == np.int64 and p.shape == (4, 2)
    xs = sorted(int(p[:, 0].min()) for p in met1)
    assert xs[:3] == [0, 0, 5000] and 10000 in xs and 99000 in xs
    assert shapes.polygons["MET2"] == []  # pin datatype is not drawing
    assert shapes.labels["MET1"] == [("VDD", 1235, 500)] or shapes.labels["MET1"] == [("VDD", 1234, 500)]
    assert shapes.unknown_layers == ((77, 3),)
    assert shapes.unknown_shapes == 1
    assert set(shapes.polygons) == set(kit.layers)


def test_library_unit_is_honoured(kit):
    a = shapes_from_library(_hier_lib(1e-6), kit)
    b = shapes_from_library(_hier_lib(1e-9), kit)
    assert [p.tolist() for p in a.polygons["MET1"]] == [p.tolist() for p in b.polygons["MET1"]]


def test_read_gds_and_oasis(kit, tmp_path):
    lib = _hier_lib()
    lib.write_gds(tmp_path / "x.gds")
    lib.write_oas(tmp_path / "x.oas")
    ref = shapes_from_library(lib, kit)
    for name in ("x.gds", "x.oas"):
        got = read_gds(tmp_path / name, kit)
        assert sorted(map(lambda p: p.tolist(), got.polygons["MET1"])) == sorted(
            map(lambda p: p.tolist(), ref.polygons["MET1"])
        )
        assert got.unknown_layers == ((77, 3),)


def test_read_file_in_nm_units(kit, tmp_path):
    lib = gdstk.Library(unit=1e-9, precision=1e-9)
    lib.new_cell("T").add(gdstk.rectangle((1, 2), (1501, 3002), layer=10))
    lib.write_gds(tmp_path / "nm.gds")
    got = read_gds(tmp_path / "nm.gds", kit)
    assert got.polygons["MET1"][0].tolist() == [[1, 2], [1501, 2], [1501, 3002], [1, 3002]]


def test_missing_file(kit, tmp_path):
    with pytest.raises(InputError, match=r"nope\.gds: not a readable GDS file \(no such file\)"):
        read_gds(tmp_path / "nope.gds", kit)


def test_garbage_file(kit, tmp_path):
    bad = tmp_path / "bad.gds"
    bad.write_bytes(bytes(range(256)) * 8)
    with pytest.raises(InputError, match=r"bad\.gds: not a readable GDS file"):
        read_gds(bad, kit)
    trunc = tmp_path / "trunc.gds"
    _hier_lib().write_gds(tmp_path / "ok.gds")
    trunc.write_bytes((tmp_path / "ok.gds").read_bytes()[:100])
    with pytest.raises(InputError, match="not a readable GDS file"):
        read_gds(trunc, kit)


def test_several_tops_and_unknown_top(kit, tmp_path):
    lib = _hier_lib()
    lib.new_cell("OTHER").add(gdstk.rectangle((0, 0), (1, 1), layer=10))
    path = tmp_path / "two.gds"
    lib.write_gds(path)
    with pytest.raises(InputError, match=r"several top cells \(OTHER, TOP\); choose one with --top"):
        read_gds(path, kit)
    assert read_gds(path, kit, top="OTHER").top == "OTHER"
    assert len(read_gds(path, kit, top="LEAF").polygons["MET1"]) == 1
    with pytest.raises(InputError, match=r"two\.gds: no cell named 'MISSING'; top cells are OTHER, TOP"):
        read_gds(path, kit, top="MISSING")


def test_empty_library(kit):
    with pytest.raises(InputError, match="no cells"):
        shapes_from_library(gdstk.Library(), kit)
