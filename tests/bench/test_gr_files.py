"""ISPD'08 .gr reader/writer (bench/gr.py) and the global router checked by eval2008.pl."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from benchdata import bench_path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from gr import format_gr, format_solution, read_gr, read_solution, write_gr, write_solution  # noqa: E402

from flow.errors import InputError  # noqa: E402
from flow.route.globalroute import global_route  # noqa: E402

SMALL = """grid 3 2 2
vertical capacity 0 4
horizontal capacity 6 0
minimum width 1 1
minimum spacing 1 0
via spacing 0 0
100 200 10 20
num net 2
A 7 2 1
105 205 1
129 235 1
B 8 1 2
111 201 2

2
0 0 1   1 0 1   2
2 0 2   2 1 2   0
"""


def test_read_small(tmp_path):
    p = tmp_path / "small.gr"
    p.write_text(SMALL)
    d = read_gr(p)
    g = d.grid
    assert (g.nx, g.ny, g.nl) == (3, 2, 2)
    assert g.min_width == (1, 1) and g.spacing == (1, 0)
    assert [n.name for n in d.nets] == ["A", "B"] and d.ids == ("7", "8")
    assert d.nets[0].pins == ((0, 0, 0), (2, 1, 0))  # coordinates to tiles, layers from 0
    assert d.nets[1].pins == ((1, 0, 1),) and d.nets[1].width == 2
    assert g.hcap[0, 0, 0] == 2 and g.hcap[0, 0, 1] == 6 and g.hcap[0, 1, 0] == 6
    assert g.vcap[1, 0, 2] == 0 and g.vcap[1, 0, 0] == 4
    assert (g.hcap[1] == 0).all() and (g.vcap[0] == 0).all()
    assert d.centre(2, 1) == (125, 230)


def test_gr_round_trip(tmp_path):
    p = tmp_path / "small.gr"
    p.write_text(SMALL)
    d = read_gr(p)
    q = tmp_path / "again.gr"
    write_gr(q, d)
    e = read_gr(q)
    assert e.nets == d.nets and e.ids == d.ids and e.pin_xy == d.pin_xy and e.adjustments == d.adjustments
    assert np.array_equal(e.grid.hcap, d.grid.hcap) and np.array_equal(e.grid.vcap, d.grid.vcap)
    assert format_gr(e) == format_gr(d)


def test_bench_case_round_trip(tmp_path):
    src = bench_path("gr", "test_benchmark_1.gr")
    d = read_gr(src)
    assert len(d.nets) == 40 and (d.grid.nx, d.grid.ny, d.grid.nl) == (16, 16, 2)
    write_gr(tmp_path / "b.gr", d)
    e = read_gr(tmp_path / "b.gr")
    assert e.nets == d.nets and np.array_equal(e.grid.vcap, d.grid.vcap) and np.array_equal(e.grid.hcap, d.grid.hcap)
    # the file's own numbers come back (whitespace aside)
    assert [line.split() for line in format_gr(d).splitlines()] == [line.split() for line in src.read_text().splitlines() if line.strip()]


def test_solution_round_trip(tmp_path):
    p = tmp_path / "small.gr"
    p.write_text(SMALL)
    d = read_gr(p)
    routes = [[((0, 0, 0), (2, 0, 0)), ((2, 0, 0), (2, 0, 1)), ((2, 0, 1), (2, 1, 1)), ((2, 1, 1), (2, 1, 0))], []]
    s = tmp_path / "sol"
    write_solution(s, d, routes)
    assert s.read_text().startswith("A 7 4\n(105,210,1)-(125,210,1)\n")
    assert read_solution(s, d) == {"A": routes[0], "B": []}
    assert format_solution(d, routes).count("!") == 2


@pytest.mark.parametrize(
    "text,line,msg",
    [
        (SMALL.replace("grid 3 2 2", "grid 3 2"), 1, "expected 3 values"),
        (SMALL.replace("horizontal capacity 6 0", "horizontal cap 6 0"), 3, "expected 'horizontal capacity'"),
        (SMALL.replace("129 235 1", "129 275 1"), 11, "outside"),
        (SMALL.replace("129 235 1", "129 x 1"), 11, "expected integers"),
        (SMALL.replace("2 0 2   2 1 2   0", "2 0 2   2 2 2   0"), 17, "not an edge"),
        (SMALL.replace("num net 2", "num net 3"), 15, "expected 'NAME ID NPINS MINWIDTH'"),
        (SMALL.split("B 8")[0], 11, "file ends before a net"),
        (SMALL.replace("B 8 1 2", "A 8 1 2"), 12, "defined twice"),
    ],
)
def test_bad_gr(tmp_path, text, line, msg):
    p = tmp_path / "bad.gr"
    p.write_text(text)
    with pytest.raises(InputError, match=msg) as e:
        read_gr(p)
    assert str(e.value).startswith(f"{p}:{line}: ")


def test_bad_solution(tmp_path):
    p = tmp_path / "small.gr"
    p.write_text(SMALL)
    d = read_gr(p)
    s = tmp_path / "sol"
    s.write_text("A 7 1\n(105,210,1)-(125,210)\n!\n")
    with pytest.raises(InputError, match=r":2: net A: expected"):
        read_solution(s, d)
    s.write_text("Z 7 1\n!\n")
    with pytest.raises(InputError, match="not in the design"):
        read_solution(s, d)


def test_bench_case_routed_checked_by_eval2008(tmp_path):
    """Route one ISPD'08-format case; eval2008.pl (the contest's script) scores it."""
    gr = bench_path("gr", "test_benchmark_1.gr")
    script = bench_path("gr", "eval2008.pl")
    if shutil.which("perl") is None:
        pytest.skip("perl is not installed: eval2008.pl cannot run")
    d = read_gr(gr)
    res = global_route(d.grid, d.nets)
    sol = tmp_path / "sol"
    write_solution(sol, d, res.routes)
    p = subprocess.run(["perl", str(script), str(gr), str(sol)], cwd=tmp_path, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert "not attached" not in p.stdout and "ERROR" not in p.stderr
    tot_of, max_of, wl = (int(v) for v in p.stdout.strip().splitlines()[-1].split()[-3:])
    assert tot_of == 0 and max_of == 0
    assert wl == res.wirelength
    # connectivity again, from the file: each net's pins in one piece of its segments
    back = read_solution(sol, d)
    for net in d.nets:
        g = nx.Graph()
        g.add_nodes_from(net.pins)
        for (x1, y1, l1), (x2, y2, l2) in back[net.name]:
            steps = max(abs(x2 - x1), abs(y2 - y1), abs(l2 - l1))
            dx, dy, dl = np.sign([x2 - x1, y2 - y1, l2 - l1])
            for i in range(steps):
                g.add_edge((x1 + i * dx, y1 + i * dy, l1 + i * dl), (x1 + (i + 1) * dx, y1 + (i + 1) * dy, l1 + (i + 1) * dl))
        comp = nx.node_connected_component(g, net.pins[0])
        assert all(p in comp for p in net.pins), net.name


def test_gzip_and_unreadable(tmp_path):
    import gzip

    p = tmp_path / "small.gr.gz"
    p.write_bytes(gzip.compress(SMALL.encode()))
    plain = tmp_path / "small.gr"
    plain.write_text(SMALL)
    assert read_gr(p).nets == read_gr(plain).nets
    bad = tmp_path / "bad.gr.gz"
    bad.write_text("grid 1 1 1\n")
    with pytest.raises(InputError, match="cannot read"):
        read_gr(bad)
    with pytest.raises(InputError, match="cannot read"):
        read_gr(tmp_path / "missing.gr")
