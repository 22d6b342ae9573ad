"""bench/bookshelf.py: the Bookshelf reader (cross-checked against DREAMPlace's
parser dump of the ``simple`` benchmark) and placing a benchmark with
multi-row cells."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pytest
from benchdata import bench_path

from flow.errors import InputError
from flow.place.rows import RowSpec, check_rows

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from bookshelf import hpwl, place_bookshelf, read_bookshelf  # noqa: E402


def _golden(path: Path) -> dict[str, object]:
    """``key = value`` lines of the golden dump; lists of numbers / names parsed."""
    out: dict[str, object] = {}
    for line in path.read_text().splitlines():
        if " = " not in line:
            continue
        key, val = line.split(" = ", 1)
        val = val.strip()
        if val.startswith("[[") or val.startswith("[("):
            out[key] = [[float(v) for v in re.findall(r"-?\d+(?:\.\d+)?", grp)] for grp in re.findall(r"[\[(]([^\[\]()]*)[\])]", val[1:-1])]
        elif val.startswith("["):
            items = [v.strip() for v in val[1:-1].split(",") if v.strip()]
            out[key] = [float(v) if re.fullmatch(r"-?\d+(\.\d+)?", v) else v for v in items]
        elif val.startswith("{"):
            continue
        else:
            out[key] = float(val) if re.fullmatch(r"-?\d+(\.\d+)?", val) else val
    return out


def test_reader_matches_dreamplace_parser_dump():
    aux = bench_path("bookshelf", "simple", "simple.aux")
    g = _golden(bench_path("bookshelf", "simple", "simple.golden"))
    bs = read_bookshelf(aux)
    assert len(bs.nodes) == g["num_nodes"] and int(bs.terminal.sum()) == g["num_terminals"]
    # node sizes and .pl positions, by name (the dump orders movables first)
    for k, name in enumerate(g["node_names"]):
        i = bs.nodes.index(name)
        assert (bs.w[i], bs.h[i]) == (g["node_size_x"][k], g["node_size_y"][k])
        assert (bs.x[i], bs.y[i]) == (g["node_x"][k], g["node_y"][k])
        assert bool(bs.terminal[i]) == (k >= g["num_nodes"] - g["num_terminals"])
    # every net's pins: node and offset from the node's lower-left corner
    ours = {name: sorted((bs.nodes[i], dx + bs.w[i] / 2, dy + bs.h[i] / 2) for i, _, dx, dy in pins) for name, pins in bs.nets}
    theirs = {}
    for k, name in enumerate(g["net_names"]):
        pins = [int(p) for p in g["net2pin_map"][k]]
        theirs[name] = sorted((g["node_names"][int(g["pin2node_map"][p])], g["pin_offset_x"][p], g["pin_offset_y"][p]) for p in pins)
    assert ours == theirs
    assert sum(len(p) for _, p in bs.nets) == len(g["pin_offset_x"])
    # rows: (xl, yl, xh, yh), height and site width
    assert [(r.x, r.y, r.x + r.num_sites * r.spacing, r.y + r.height) for r in bs.rows] == [tuple(r) for r in g["rows"]]
    assert {r.height for r in bs.rows} == {g["row_height"]} and {r.site_width for r in bs.rows} == {g["site_width"]}


def test_placing_simple_is_legal_and_shorter_than_the_given_pl():
    bs = read_bookshelf(bench_path("bookshelf", "simple", "simple.aux"))
    x, y, rep = place_bookshelf(bs)
    mov = np.flatnonzero(~bs.terminal)
    # terminals did not move
    assert (x[bs.terminal] == bs.x[bs.terminal]).all() and (y[bs.terminal] == bs.y[bs.terminal]).all()
    rows = [RowSpec(int(r.x), int(r.y), r.num_sites, int(r.spacing), int(r.height)) for r in bs.rows]
    blk = [(int(bs.x[i]), int(bs.y[i]), int(bs.x[i] + bs.w[i]), int(bs.y[i] + bs.h[i])) for i in np.flatnonzero(bs.terminal)]
    pos = np.column_stack([x[mov], y[mov]]).astype(np.int64)
    assert check_rows(pos, bs.w[mov].astype(np.int64), bs.h[mov].astype(np.int64), rows, blk) == []
    # the two-row cells sit on two abutting rows
    tall = [i for i in mov if bs.h[i] > 12]
    assert len(tall) == 4 and all((y[i] - 459) % 12 == 0 and y[i] + bs.h[i] <= 555 for i in tall)
    # every movable inside the core, and far shorter than the initial .pl (all cells at 0, 0)
    assert (x[mov] >= 459).all() and (x[mov] + bs.w[mov] <= 555).all()
    assert hpwl(bs, x, y) < 0.5 * hpwl(bs, bs.x, bs.y)
    assert rep.hpwl_detailed <= rep.hpwl_legal


def test_check_rows_rejects_a_tall_cell_without_a_row_above():
    rows = [RowSpec(0, 0, 10, 10, 100), RowSpec(0, 100, 5, 10, 100)]
    w, h = np.array([20, 20]), np.array([200, 200])
    assert check_rows(np.array([[0, 0], [30, 0]]), w, h, rows, []) == []
    bad = check_rows(np.array([[0, 0], [60, 0]]), w, h, rows, [])  # the upper row ends at x = 50
    assert len(bad) == 1 and "site grid" in bad[0]


def _write(tmp: Path, **files: str) -> Path:
    names = {"nodes": "t.nodes", "nets": "t.nets", "pl": "t.pl", "scl": "t.scl"}
    good = {
        "nodes": "UCLA nodes 1.0\nNumNodes : 2\nNumTerminals : 1\n a 4 10\n p 2 2 terminal\n",
        "nets": "UCLA nets 1.0\nNumNets : 1\nNetDegree : 2 n0\n a O : 1 0\n p I\n",
        "pl": "UCLA pl 1.0\n a 0 0 : N\n p 50 50 : N /FIXED\n",
        "scl": "UCLA scl 1.0\nNumRows : 1\nCoreRow Horizontal\n Coordinate : 0\n Height : 10\n Sitewidth : 1\n Sitespacing : 1\n"
               " Siteorient : 1\n Sitesymmetry : 1\n SubrowOrigin : 0 NumSites : 40\nEnd\n",
    }
    good.update(files)
    for k, text in good.items():
        (tmp / names[k]).write_text(text)
    (tmp / "t.aux").write_text("RowBasedPlacement : " + " ".join(names.values()) + "\n")
    return tmp / "t.aux"


def test_small_benchmark_places_next_to_its_terminal(tmp_path):
    bs = read_bookshelf(_write(tmp_path))
    x, y, _ = place_bookshelf(bs)
    assert y[0] == 0 and 36 - 4 <= x[0] <= 36  # pulled right, towards the terminal at x = 50
    assert hpwl(bs, x, y) < hpwl(bs, bs.x, bs.y)


@pytest.mark.parametrize(
    "files, message",
    [
        ({"nodes": "UCLA nodes 1.0\n a 4\n"}, "t.nodes:2: expected 'name width height"),
        ({"nodes": "UCLA nodes 1.0\n a 4 x\n"}, "t.nodes:2: height 'x' is not a number"),
        ({"nets": "UCLA nets 1.0\nNetDegree : 2 n0\n a O : 1 0\n q I\n"}, "t.nets:4: node 'q' is not in t.nodes"),
        ({"nets": "UCLA nets 1.0\nNetDegree : 3 n0\n a O : 1 0\n p I\n"}, "net 'n0' has 2 pins, NetDegree said 3"),
        ({"scl": "UCLA scl 1.0\nCoreRow Horizontal\n Coordinate : 0\nEnd\n"}, "t.scl:4: row without Height"),
        ({"pl": "UCLA pl 1.0\n z 0 0 : N\n"}, "t.pl:2: node 'z' is not in t.nodes"),
    ],
)
def test_bad_input_names_file_and_line(tmp_path, files, message):
    with pytest.raises(InputError, match=re.escape(message)):
        read_bookshelf(_write(tmp_path, **files))


def test_missing_file_is_reported(tmp_path):
    aux = _write(tmp_path)
    (tmp_path / "t.scl").unlink()
    with pytest.raises(InputError, match=r"\.scl file .*t\.scl not found"):
        read_bookshelf(aux)
