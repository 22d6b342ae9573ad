"""Scale-out on a Dask cluster: a dask.distributed.LocalCluster of 3 worker
processes runs a regression batch and tiled DRC with the same results as
local processes, and finishes correctly when a worker is killed mid-run."""

from __future__ import annotations

import functools
import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")
import cloudpickle  # noqa: E402  (a dependency of distributed)
from click.testing import CliRunner  # noqa: E402

from flow.batch import run_design_job  # noqa: E402
from flow.cli import cli  # noqa: E402
from flow.executor import DaskExecutor, LocalExecutor, TaskError  # noqa: E402
from flow.regress import measure, run_designs  # noqa: E402

# the helpers below travel to the workers by value (tests/ is not a package)
cloudpickle.register_pickle_by_value(sys.modules[__name__])

DESIGNS = Path(__file__).resolve().parents[1] / "designs"
#: Two quick sample designs, one per PDK family.
BATCH = [DESIGNS / "gan_ringosc", DESIGNS / "sic1200_ringosc"]


@pytest.fixture(scope="module")
def cluster():
    c = distributed.LocalCluster(n_workers=3, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=logging.CRITICAL)
    client = distributed.Client(c, set_as_default=False)
    yield c, client
    client.close()
    c.close()


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    """The batch run locally (one process): the reference."""
    tmp = tmp_path_factory.mktemp("local")
    with LocalExecutor(1) as ex:
        return {r["name"]: r for r in run_designs(BATCH, tmp, ex)}


def _same(rec: dict, ref: dict) -> None:
    assert rec["error"] is None and ref["error"] is None, (rec["error"], ref["error"])
    got = {k: v for k, v in measure(rec["metrics"]).items() if k != "runtime_s"}
    want = {k: v for k, v in measure(ref["metrics"]).items() if k != "runtime_s"}
    assert got == want
    for k in ("instances", "nets", "nets_routed", "drc_counts", "lvs_counts"):
        assert rec["metrics"][k] == ref["metrics"][k], k
    rundir = Path(rec["rundir"])
    assert (rundir / "metrics.json").is_file() and (rundir / "lvs.json").is_file()
    assert any(rundir.glob("*.gds"))


def test_regress_on_cluster_matches_local(cluster, local, tmp_path):
    """``regress --scheduler``: the runs happen on the workers (other
    processes), give the local figures and pass the committed baseline."""
    import json

    c, client = cluster
    r = CliRunner().invoke(cli, ["regress", *map(str, BATCH), "--scheduler", c.scheduler_address, "-o", str(tmp_path / "runs"), "--json", str(tmp_path / "t.json")])
    assert r.exit_code == 0, r.output
    assert f"on Dask cluster {c.scheduler_address} (3 worker threads)" in r.output
    runs = {x["name"]: x for x in json.loads((tmp_path / "t.json").read_text())["runs"]}
    assert set(runs) == {p.name for p in BATCH}
    for name, rec in runs.items():
        _same(rec, local[name])
    assert all(row["verdict"] == "ok" for row in json.loads((tmp_path / "t.json").read_text())["rows"])


def _wait_then_run(markers: str, job: dict) -> dict:
    """Note this attempt (worker pid) and wait for the go file, then run."""
    d = Path(markers)
    with open(d / f"{job['name']}.started", "a") as f:
        f.write(f"{os.getpid()}\n")
    deadline = time.monotonic() + 120
    while not (d / "go").exists():
        if time.monotonic() > deadline:
            raise TimeoutError("no go file")
        time.sleep(0.05)
    return run_design_job(job)


def _wait_for(cond, what: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not cond():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_worker_killed_mid_run(cluster, local, tmp_path):
    """Both jobs start and wait; the worker of the first is killed (SIGKILL);
    the scheduler reruns that job on another worker, and the batch finishes
    with the local results and complete run directories."""
    c, client = cluster
    markers = tmp_path / "markers"
    markers.mkdir()
    jobs = [{"name": p.name, "design_dir": str(p), "rundir": str(tmp_path / "runs" / p.name)} for p in BATCH]
    out: dict = {}

    def consume():
        try:
            ex = DaskExecutor(client=client)
            out["records"] = dict(ex.map(functools.partial(_wait_then_run, str(markers)), jobs, labels=[j["name"] for j in jobs]))
        except BaseException as e:  # noqa: BLE001 - reported by the test thread
            out["error"] = e

    th = threading.Thread(target=consume)
    th.start()
    started = [markers / f"{j['name']}.started" for j in jobs]
    _wait_for(lambda: all(p.exists() for p in started), "both jobs to start")
    victim = int(started[0].read_text().split()[0])
    assert victim in client.run(os.getpid).values()  # a worker process, not this one
    os.kill(victim, signal.SIGKILL)
    _wait_for(lambda: len(started[0].read_text().split()) >= 2, "the killed job to be rerun")
    (markers / "go").touch()
    th.join(240)
    assert not th.is_alive() and "error" not in out, out.get("error")
    pids = [int(x) for x in started[0].read_text().split()]
    assert pids[0] == victim and victim not in pids[1:]
    assert len(started[1].read_text().split()) == 1
    recs = out["records"]
    assert sorted(recs) == [0, 1]
    for i, p in enumerate(BATCH):
        _same(recs[i], local[p.name])
    # the killed attempt's folder is left beside the run directory, never under its name
    assert sorted(x.name for x in (tmp_path / "runs").iterdir() if not x.name.startswith(".")) == sorted(p.name for p in BATCH)


def _fail_on_two(x: int) -> int:
    if x == 2:
        raise ValueError("two")
    return x


def test_cluster_job_errors_and_lazy_batches(cluster):
    _, client = cluster
    ex = DaskExecutor(client=client)
    with pytest.raises(TaskError, match=r"^tile 2: ValueError: two$"):
        list(ex.map(_fail_on_two, [0, 1, 2, 3], labels=[f"tile {i}" for i in range(4)]))
    # a lazy batch larger than the window (4 jobs per worker thread) completes
    assert sorted(ex.map(abs, (-i for i in range(30)))) == [(i, i) for i in range(30)]


RULES = """
[layers.A]
gds = [1, 0]
purpose = "routing"
[layers.B]
gds = [2, 0]
purpose = "routing"
[[rules]]
id = "A.W"
kind = "width"
layer = "A"
value = 1.0
[[rules]]
id = "A.S"
kind = "spacing"
layer = "A"
value = 1.0
[[rules]]
id = "B.EN.A"
kind = "enclosure"
layer = "B"
other = "A"
value = 0.5
[[rules]]
id = "A.AREA"
kind = "area"
layer = "A"
value = 4.0
"""


def test_tiled_drc_on_cluster(cluster, tmp_path):
    """Tiles checked on the workers give the markers of the local untiled run."""
    from flow.drc.core import rect
    from flow.drc.engine import run_drc
    from flow.geometry.gdsio import LayoutShapes
    from pdk.schema import load_rules_file

    _, client = cluster
    (tmp_path / "r.toml").write_text(RULES)
    kit = load_rules_file(tmp_path / "r.toml")
    rng = np.random.default_rng(7)
    polys: dict[str, list] = {"A": [], "B": []}
    for _ in range(300):
        layer = "A" if rng.random() < 0.6 else "B"
        x, y = (rng.integers(0, 8000, 2) * 5).tolist()
        w, h = (rng.integers(60, 900, 2) * 5).tolist()
        polys[layer].append(rect(x, y, x + w, y + h))
    polys["A"].append(rect(0, 20_000, 40_000, 20_600))  # a narrow wire across tiles
    shapes = LayoutShapes(MappingProxyType(polys), MappingProxyType({"A": [], "B": []}), "TOP", dbu_um=0.001)
    ref = run_drc(shapes, kit, tile_um=0)
    local = run_drc(shapes, kit, tile_um=12.0, jobs=1)
    got = run_drc(shapes, kit, tile_um=12.0, executor=DaskExecutor(client=client))
    assert got.notes == local.notes and any(n.startswith("tiled: 4 x 4 tiles") for n in got.notes)
    assert set(ref.counts()) == {"A.W", "A.S", "B.EN.A", "A.AREA"}
    assert got.counts() == ref.counts()
    # the same markers (a merged border polygon may start at another vertex:
    # tiles finish in any order)
    assert sorted(map(_canon, got.violations)) == sorted(map(_canon, local.violations)) == sorted(map(_canon, ref.violations))

    # the same through the command line (drc --tile --scheduler)
    import gdstk

    lib = gdstk.Library(unit=1e-6, precision=1e-9)
    top = lib.new_cell("TOP")
    for name, (layer, dt) in (("A", (1, 0)), ("B", (2, 0))):
        for p in polys[name]:
            top.add(gdstk.Polygon(p * 0.001, layer=layer, datatype=dt))
    gds = tmp_path / "t.gds"
    lib.write_gds(str(gds))
    addr = cluster[0].scheduler_address
    j = tmp_path / "d.json"
    r = CliRunner().invoke(cli, ["drc", str(gds), "--rules", str(tmp_path / "r.toml"), "--tile", "12", "--scheduler", addr, "--json", str(j)])
    assert r.exit_code == 1, r.output
    import json

    assert json.loads(j.read_text())["counts"] == dict(sorted(ref.counts().items()))
    assert "note: tiled: 4 x 4 tiles" in r.output and "not tiled" not in r.output
    r = CliRunner().invoke(cli, ["drc", str(gds), "--rules", str(tmp_path / "r.toml"), "--scheduler", addr])
    assert r.exit_code == 1 and f"note: not tiled, so checked in this process, not on {addr}" in r.output


def _canon(v) -> tuple:
    """A marker independent of where its outline starts (edge pairs ordered)."""
    if v.is_edge_pair:
        return (v.rule_id, "e", tuple(sorted(v.marker)))
    pts = list(v.marker)
    k = pts.index(min(pts))
    return (v.rule_id, "p", tuple(pts[k:] + pts[:k]))
