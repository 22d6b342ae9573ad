"""Device orientation and mirror-symmetry groups ([[place.symmetry]]), and
the pitch of [[place.group]] (parallel fingers): the block the placer moves,
the legality checker's view, the GDS instance transforms (KLayout) and the
routed pins of a mirrored device."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import klayout.db as kdb
import pytest

import pdk as pdks
from flow.config import load_design
from flow.errors import InputError
from flow.flow import run
from flow.geometry.layout import device_cells
from flow.place.check import check_symmetry
from flow.stages.place import check_placement
from pdk.base import ORIENTATIONS, generate, orient_rect, oriented

DESIGNS = Path(__file__).resolve().parents[2] / "designs"


def _copy(tmp_path: Path, name: str, extra: str) -> Path:
    """The sample design with ``extra`` appended, its own symmetry group
    (gan_kelvin's output pair) taken out so the tests set their own."""
    d = tmp_path / name
    shutil.copytree(DESIGNS / name, d)
    text = (d / "design.toml").read_text()
    own = '[[place.symmetry]]\npairs = [["XPU", "XPD"]]\n'
    if extra and own in text:
        text = text.replace(own, "")
    (d / "design.toml").write_text(text + "\n" + extra)
    return d


# -- orientation of one cell ---------------------------------------------------


@pytest.mark.parametrize("o", ORIENTATIONS)
def test_oriented_cell_matches_klayout_transform(o):
    """The oriented cell's polygons and pins are the generated cell under
    KLayout's transformation of that orientation, kept in the same box."""
    kit = pdks.load("gan650")
    dc = generate(kit, "hemte", {"w": 100, "nf": 2})
    oc = oriented(dc, o, kit.dbu_um)
    assert oc.bbox == dc.bbox and oc.orient == o
    w, h = dc.width, dc.height
    # KLayout: R0, M0 (mirror at x axis), M90 (mirror at y axis), R180, then shift back into the box
    t = {"R0": kdb.Trans(0, False, 0, 0), "MX": kdb.Trans(0, True, 0, h), "MY": kdb.Trans(2, True, w, 0), "R180": kdb.Trans(2, False, w, h)}[o]
    u = kit.dbu_um

    def region(cell):
        r = kdb.Region()
        for p in cell.get_polygons():
            r.insert(kdb.Polygon([kdb.Point(round(x / u), round(y / u)) for x, y in p.points]))
        return r.merged()

    assert (region(dc.cell).transformed(t) ^ region(oc.cell)).is_empty()
    for p, q in zip(dc.pins, oc.pins):
        assert kdb.Box(*p.rect).transformed(t) == kdb.Box(*q.rect)
        assert q.rect == orient_rect(p.rect, dc.bbox, o)
    assert oriented(dc, o, kit.dbu_um) is oc  # cached
    with pytest.raises(InputError, match="orientation 'R90' is not one of"):
        oriented(dc, "R90", kit.dbu_um)


# -- the checker ---------------------------------------------------------------


def test_check_symmetry_finds_each_kind_of_break():
    names, sizes = ["a", "b", "t", "c", "d"], [(4, 2), (4, 2), (6, 2), (4, 2), (5, 2)]
    groups = [([(0, 1)], [2], "vertical")]
    ok = [(0, 0), (8, 0), (3, 4), (0, 0), (0, 0)]
    orient = ["R0", "MY", "R0", "R0", "R0"]
    assert check_symmetry(names, sizes, ok, orient, groups) == []
    assert "not level" in check_symmetry(names, sizes, [(0, 0), (8, 1), (3, 4), (0, 0), (0, 0)], orient, groups)[0]
    assert "the mirror image of 'a' (R0) is MY" in check_symmetry(names, sizes, ok, ["R0", "R0", "R0", "R0", "R0"], groups)[0]
    assert "'t' is centred at x = 7, the axis of the pairs is at x = 6" in check_symmetry(
        names, sizes, [(0, 0), (8, 0), (4, 4), (0, 0), (0, 0)], orient, groups
    )[0]
    assert "differ in size" in check_symmetry(names, sizes, ok, orient, [([(0, 4)], [], "vertical")])[0]
    # two pairs about different axes
    two = [([(0, 1), (3, 4)], [], "vertical")]
    sizes2 = [(4, 2), (4, 2), (6, 2), (4, 2), (4, 2)]
    assert check_symmetry(names, sizes2, [(0, 0), (8, 0), (0, 0), (0, 4), (8, 4)], orient[:4] + ["MY"], two) == []
    assert "different axes" in check_symmetry(names, sizes2, [(0, 0), (8, 0), (0, 0), (0, 4), (10, 4)], orient[:4] + ["MY"], two)[0]
    # horizontal axis: y mirrored, x level, MX images
    hz = [([(0, 1)], [], "horizontal")]
    assert check_symmetry(names, sizes, [(3, 0), (3, 10), (0, 0), (0, 0), (0, 0)], ["MY", "R180", "R0", "R0", "R0"], hz) == []
    assert "mirror image" in check_symmetry(names, sizes, [(3, 0), (3, 10), (0, 0), (0, 0), (0, 0)], ["MY", "MY", "R0", "R0", "R0"], hz)[0]


# -- the stage, end to end on gan_kelvin --------------------------------------

SYM = """
[[place.symmetry]]
pairs = [["XPU", "XPD"], ["X1/XL", "X2/XL"]]
self = ["DCL"]

[[place.group]]
devices = ["X1/XD", "X2/XD"]
pitch = 70.0

# the mirrored driver packs beside the 2 A switch: XQ keeps room for its
# 105 um DRAIN and PGND landings (without it the driver pair sat 32 um above
# XQ's drain bus, DRAIN was narrowed to 27 um and ran 3.7x over its limit)
[place.devices]
XQ = { halo = 60.0 }
"""


@pytest.fixture(scope="module")
def sym_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sym")
    d = _copy(tmp, "gan_kelvin", SYM)
    return run(d, tmp / "run")


def test_symmetry_group_placed_exactly(sym_run):
    design, kit = sym_run.design, pdks.load("gan650")
    pos = design.placement.positions
    cells = device_cells(design, kit)
    assert check_placement(design, kit) == []
    assert design.placement.orientations == {"XPD": "MY", "X2/XL": "MY"}
    # doubled centres: every pair and the self-symmetric diode share the axis
    c2 = {n: 2 * pos[n][0] + cells[n].width for n in ("XPU", "XPD", "X1/XL", "X2/XL", "DCL")}
    axis2 = c2["XPU"] + c2["XPD"]
    assert c2["X1/XL"] + c2["X2/XL"] == axis2 and 2 * c2["DCL"] == axis2
    assert pos["XPU"][1] == pos["XPD"][1] and pos["X1/XL"][1] == pos["X2/XL"][1]
    assert pos["XPU"][0] < pos["XPD"][0]
    report = json.loads((sym_run.rundir / "02-place" / "place.json").read_text())
    assert report["symmetry"][0]["axis_um"] == pytest.approx(axis2 / 4 * kit.dbu_um)
    assert report["orientations"] == {"XPD": "MY", "X2/XL": "MY"}
    # parallel fingers: equal pitch, aligned
    assert pos["X2/XD"][0] - pos["X1/XD"][0] == kit.dbu(70.0) and pos["X2/XD"][1] == pos["X1/XD"][1]
    assert report["groups"][0]["pitch_um"] == 70.0
    # each way of breaking it is caught
    for name, at, msg in (
        ("XPD", (pos["XPD"][0] + 1000, pos["XPD"][1]), "mirrored about different axes"),
        ("DCL", (pos["DCL"][0] - 1000, pos["DCL"][1]), "'DCL' is centred at"),
        ("XPD", (pos["XPD"][0], pos["XPD"][1] + 1000), "not level"),
        ("X2/XD", (pos["X2/XD"][0] + 1000, pos["X2/XD"][1]), "the pitch is 70000 dbu"),
    ):
        moved = dict(pos) | {name: at}
        broken = dataclasses.replace(design, placement=dataclasses.replace(design.placement, positions=moved))
        assert any(msg in p for p in check_placement(broken, kit)), (name, msg)
    flipped = dataclasses.replace(design, placement=dataclasses.replace(design.placement, orientations={"XPD": "MY"}))
    assert any("'X2/XL' is R0, the mirror image of 'X1/XL' (R0) is MY" in p for p in check_placement(flipped, kit))


def test_mirrored_devices_in_gds_routed_and_clean(sym_run):
    """The GDS holds each generated cell once, the mirrored instances as
    references with a mirror transform (KLayout); their pins, as the router
    and labels saw them, are where the transformed cell puts them; the run
    is routed, DRC- and LVS-clean."""
    design, kit = sym_run.design, pdks.load("gan650")
    m = json.loads((sym_run.rundir / "metrics.json").read_text())
    assert m["nets_unrouted"] == 0 and m["drc_violations"] == 0 and m["lvs_clean"] is True
    ly = kdb.Layout()
    ly.read(str(sym_run.rundir / f"{design.top}.gds"))
    top = ly.top_cell()
    assert not any(c.name.endswith(("_MY", "_MX", "_R180")) for c in ly.each_cell())
    cells = device_cells(design, kit)
    pos = design.placement.positions
    by_origin = {}
    for inst in top.each_inst():
        t = inst.trans
        by_origin.setdefault(ly.cell(inst.cell_index).name, []).append(t)
    for name in ("XPU", "XPD"):
        dc = cells[name]
        master = (dc.master or dc.cell).name
        x, y = pos[name]
        box = kdb.Box(x, y, x + dc.width, y + dc.height)
        trans = [t for t in by_origin[master] if ly.cell(ly.cell_by_name(master)).bbox().transformed(t) == box]
        assert len(trans) == 1, name
        assert trans[0].is_mirror() == (name == "XPD")
        # every pin the router used lies where KLayout puts that shape
        lay = kit.layers[dc.pins[0].layer].gds
        li = ly.layer(lay[0], lay[1])
        shapes = kdb.Region(ly.cell(ly.cell_by_name(master)).begin_shapes_rec(li)).transformed(trans[0])
        for p in dc.pins:
            if p.layer == dc.pins[0].layer:
                r = kdb.Box(p.rect[0] + x, p.rect[1] + y, p.rect[2] + x, p.rect[3] + y)
                assert (kdb.Region(r) - shapes).is_empty(), (name, p)


@pytest.mark.parametrize(
    "toml, message",
    [
        ('[[place.symmetry]]\npairs = [["A"]]\n', r"place.symmetry\[0\].pairs: must be a list of \[device, device\] pairs"),
        ('[[place.symmetry]]\nself = ["A"]\n', r"place.symmetry\[0\]: needs a pair, or two or more self-symmetric"),
        ('[[place.symmetry]]\npairs = [["A", "B"]]\naxis = "diagonal"\n', r"place.symmetry\[0\].axis: must be"),
        ('[[place.symmetry]]\npairs = [["A", "B"]]\nself = ["A"]\n', "lists 'A' twice"),
        ('[[place.symmetry]]\npairs = [["A", "B"]]\ncentroid = 1\n', r"place.symmetry\[0\].centroid: unknown key"),
        ('[[place.group]]\ndevices = ["A", "C"]\n[[place.symmetry]]\npairs = [["A", "B"]]\n', r"'A' is already in place.group\[0\]"),
        ('[place.devices]\nA = { orient = "R90" }\n', r"place.devices.A.orient: must be"),
        ('[[place.group]]\ndevices = ["A", "B"]\npitch = 0\n', r"place.group\[0\].pitch: must be a positive number"),
    ],
)
def test_symmetry_bad_input(tmp_path, toml, message):
    d = tmp_path / "x"
    d.mkdir()
    (d / "n.sp").write_text("* empty\n")
    (d / "design.toml").write_text('[design]\npdk = "gan650"\nnetlist = "n.sp"\n' + toml)
    with pytest.raises(InputError, match=message):
        load_design(d)


@pytest.mark.parametrize(
    "extra, message",
    [
        ('[[place.symmetry]]\npairs = [["XPU", "XQ"]]\n', "are not the same device"),
        ('[[place.symmetry]]\npairs = [["XPU", "NOPE"]]\n', "'NOPE' is not a device"),
        ('[[place.group]]\ndevices = ["XPU", "XPD"]\npitch = 1.0\n', r"place.group\[0\].pitch: 'XPD' needs to be \d+ um from 'XPU'"),
    ],
)
def test_symmetry_bad_devices(tmp_path, extra, message):
    d = _copy(tmp_path, "gan_kelvin", extra)
    with pytest.raises(InputError, match=message):
        run(d, tmp_path / "run", to_stage="place")


def test_explicit_orientation_and_resume(tmp_path):
    """[place.devices] orient turns a device; the orientation survives a
    resumed run (state.json) and reaches the GDS."""
    d = _copy(tmp_path, "gan_ringosc", '[place.devices]\n"X1/XD" = { orient = "R180" }\n')
    res = run(d, tmp_path / "run", to_stage="place")
    assert res.design.placement.orientations == {"X1/XD": "R180"}
    res2 = run(d, tmp_path / "run", from_stage="route")
    assert res2.design.placement.orientations == {"X1/XD": "R180"}
    m = json.loads((res2.rundir / "metrics.json").read_text())
    assert m["nets_unrouted"] == 0 and m["drc_violations"] == 0 and m["lvs_clean"] is True
    ly = kdb.Layout()
    ly.read(str(res2.rundir / f"{res2.design.top}.gds"))
    rots = [inst.trans.rot for inst in ly.top_cell().each_inst() if inst.trans.rot == 2 and not inst.trans.is_mirror()]
    assert len(rots) == 1
