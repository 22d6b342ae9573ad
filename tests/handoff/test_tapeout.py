"""pilotflow tapeout: sign-off gate, bundle contents, determinism, bad input."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import klayout.db as kdb
import pytest
from click.testing import CliRunner

from flow.cli import cli
from flow.handoff.tapeout import read_bundle

ROOT = Path(__file__).resolve().parents[2]


def tapeout(run, out):
    return CliRunner().invoke(cli, ["--quiet", "tapeout", str(run), "-o", str(out)])


def copy_run(run: Path, dest: Path) -> Path:
    shutil.copytree(run, dest)
    return dest


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


# ------------------------------------------------------------ accepted -----
def test_bundle_contents(gan_runs, tmp_path):
    run = gan_runs["gan_ringosc"]
    res = tapeout(run, tmp_path / "b")
    assert res.exit_code == 0, res.output
    b = tmp_path / "b"
    names = sorted(p.name for p in b.iterdir())
    assert names == sorted(
        ["README.txt", "bundle.json", "drc.json", "drc.lyrdb", "layermap.csv", "lvs.json", "lvs.txt",
         "manifest.sha256", "ringosc.gds", "ringosc.oas"]
    )
    assert leftovers(tmp_path) == []
    # the manifest lists every other file with its SHA-256
    manifest = dict(reversed(line.split("  ")) for line in (b / "manifest.sha256").read_text().splitlines())
    assert sorted(manifest) == sorted(n for n in names if n != "manifest.sha256")
    for name, digest in manifest.items():
        assert hashlib.sha256((b / name).read_bytes()).hexdigest() == digest
    # the fab's own check: sha256sum -c in the bundle folder
    check = subprocess.run(["sha256sum", "-c", "manifest.sha256"], cwd=b, capture_output=True, text=True)
    assert check.returncode == 0 and check.stdout.count(": OK") == len(manifest), check.stdout
    # the GDS is the run's file, byte for byte
    assert (b / "ringosc.gds").read_bytes() == (run / "ringosc.gds").read_bytes()
    meta = read_bundle(b)
    assert (meta["design"], meta["top"], meta["pdk"]) == ("gan_ringosc", "ringosc", "gan650")
    assert meta["pdk_version"] == json.loads((run / "metrics.json").read_text())["pdk_version"]
    assert meta["seal_ring"] is True and meta["scribe_um"] == 40.0
    assert meta["gds_sha256"] == manifest["ringosc.gds"]
    readme = (b / "README.txt").read_text()
    assert meta["gds_sha256"] in readme and "ringosc" in readme and "gan650" in readme
    assert "LVS: match" in readme and "10/0  MET1 (routing)" in readme
    assert str(tmp_path) not in readme and str(run) not in (b / "bundle.json").read_text()
    # layer map: every kit layer with its GDS numbers and purpose
    import pdk

    kit = pdk.load("gan650")
    rows = [r.split(",") for r in (b / "layermap.csv").read_text().splitlines()[1:]]
    drawing = {r[0]: (int(r[1]), int(r[2]), r[3]) for r in rows if r[4] == "drawing"}
    assert drawing == {n: (*lay.gds, lay.purpose) for n, lay in kit.layers.items()}


def test_oasis_same_layout_as_gds(gan_bundles):
    b = gan_bundles["gan_kelvin"]
    meta = read_bundle(b)
    a, o = kdb.Layout(), kdb.Layout()
    a.read(str(b / meta["gds"]))
    o.read(str(b / meta["oasis"]))
    assert o.top_cell().name == a.top_cell().name == meta["top"]
    layers = {(i.layer, i.datatype) for i in (a.get_info(k) for k in a.layer_indexes())}
    assert layers == {(i.layer, i.datatype) for i in (o.get_info(k) for k in o.layer_indexes())}
    for ld in layers:
        ra = kdb.Region(a.top_cell().begin_shapes_rec(a.layer(*ld)))
        ro = kdb.Region(o.top_cell().begin_shapes_rec(o.layer(*ld)))
        assert (ra ^ ro).is_empty(), ld
        assert ra.area() == ro.area()


def test_two_runs_give_identical_bundles(gan_runs, ringosc_second_run, tmp_path):
    one, two = tmp_path / "one", tmp_path / "sub" / "two"
    assert tapeout(gan_runs["gan_ringosc"], one).exit_code == 0
    assert tapeout(ringosc_second_run, two).exit_code == 0
    files = sorted(p.name for p in one.iterdir())
    assert files == sorted(p.name for p in two.iterdir())
    for f in files:
        assert (one / f).read_bytes() == (two / f).read_bytes(), f
    # and the run's own GDS was already byte-identical between the two runs
    assert (gan_runs["gan_ringosc"] / "ringosc.gds").read_bytes() == (ringosc_second_run / "ringosc.gds").read_bytes()


def test_existing_bundle_is_replaced(gan_runs, tmp_path):
    b = tmp_path / "b"
    assert tapeout(gan_runs["gan_ringosc"], b).exit_code == 0
    before = (b / "manifest.sha256").read_bytes()
    assert tapeout(gan_runs["gan_kelvin"], b).exit_code == 0
    assert read_bundle(b)["design"] == "gan_kelvin"
    assert (b / "manifest.sha256").read_bytes() != before
    assert not (b / "ringosc.gds").exists()
    assert leftovers(tmp_path) == []


# ------------------------------------------------------------ refused ------
def _broken_drc(run: Path, waivers=()) -> dict:
    """A real DRC of the run's GDS with MET1.S.1 tightened to 50 um (so it
    flags the routed MET1), as the run's drc.json would be."""
    import pdk
    from flow.drc.engine import run_drc
    from flow.config import load_design
    from flow.geometry.gdsio import read_gds
    from flow.stages.drc import design_context

    kit = pdk.load("gan650")
    rules = tuple(dataclasses.replace(r, value=50.0) if r.id == "MET1.S.1" else r for r in kit.rules)
    kit = dataclasses.replace(kit, rules=rules)
    cfg = load_design(ROOT / "designs" / "gan_ringosc")
    ctx = design_context(cfg.net_classes, cfg.temperature_c)
    res = run_drc(read_gds(run / "ringosc.gds", kit, "ringosc"), kit, ctx=ctx, waivers=waivers)
    assert res.counts().get("MET1.S.1", 0) + res.waived_counts().get("MET1.S.1", 0) > 0
    return res.to_json(kit)


def test_refuses_unwaived_drc_marker(gan_runs, tmp_path):
    run = copy_run(gan_runs["gan_ringosc"], tmp_path / "run")
    drc = _broken_drc(run)
    (run / "drc.json").write_text(json.dumps(drc))
    res = tapeout(run, tmp_path / "b")
    assert res.exit_code == 1, res.output
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: tapeout refused")
    assert f"MET1.S.1 ({drc['counts']['MET1.S.1']})" in lines[0]
    assert not (tmp_path / "b").exists() and leftovers(tmp_path) == []


def test_accepts_all_waived_markers(gan_runs, tmp_path):
    from flow.drc.waivers import Waiver

    run = copy_run(gan_runs["gan_ringosc"], tmp_path / "run")
    w = Waiver("MET1.S.1", (-1e6, -1e6, 1e6, 1e6), "spacing tightened for this test; reviewed", "tester", "w.toml:1")
    drc = _broken_drc(run, waivers=(w,))
    assert drc["violations"] == 0 and drc["waived"] > 0
    (run / "drc.json").write_text(json.dumps(drc))
    res = tapeout(run, tmp_path / "b")
    assert res.exit_code == 0, res.output
    readme = (tmp_path / "b" / "README.txt").read_text()
    assert f"{drc['waived']} waived" in readme
    assert "MET1.S.1: spacing tightened for this test; reviewed (tester; w.toml:1)" in readme
    # a waiver without a reason does not count
    for r in drc["rules"]:
        for m in r["waived"]:
            m["reason"] = " "
    (run / "drc.json").write_text(json.dumps(drc))
    res = tapeout(run, tmp_path / "c")
    assert res.exit_code == 1 and "waived without a reason on MET1.S.1" in res.output


def test_refuses_drc_not_checked(gan_runs, tmp_path):
    run = copy_run(gan_runs["gan_ringosc"], tmp_path / "run")
    drc = json.loads((run / "drc.json").read_text())
    drc["not_checked"] = ["MET2.D.1: rule kind 'density' is not supported"]
    drc["layers_ignored"] = [[99, 0]]
    (run / "drc.json").write_text(json.dumps(drc))
    res = tapeout(run, tmp_path / "b")
    assert res.exit_code == 1
    assert "DRC not checked: MET2.D.1: rule kind 'density' is not supported" in res.output
    assert "not in the rule set (not checked): 99/0" in res.output


def test_refuses_lvs_mismatch(gan_runs, tmp_path):
    run = copy_run(gan_runs["gan_ringosc"], tmp_path / "run")
    src = tmp_path / "src"
    shutil.copytree(ROOT / "designs" / "gan_ringosc", src)
    sp = src / "ringosc.sp"
    sp.write_text(sp.read_text().replace("X5 n5 n1 VDD GND dcfl_inv", "X5 n5 n1 VDD GND dcfl_inv wd=20u"))
    r = CliRunner().invoke(cli, ["--quiet", "lvs", str(run / "ringosc.gds"), str(sp), "--pdk", "gan650", "--json", str(run / "lvs.json")])
    assert r.exit_code == 1, r.output
    res = tapeout(run, tmp_path / "b")
    assert res.exit_code == 1
    assert "LVS status is mismatch (1 parameter mismatches)" in res.output
    assert not (tmp_path / "b").exists()


def test_refuses_incomplete_lvs(gan_runs, tmp_path):
    run = copy_run(gan_runs["gan_ringosc"], tmp_path / "run")
    lvs = json.loads((run / "lvs.json").read_text())
    lvs["status"], lvs["not_compared"] = "incomplete", ["device Xr1 (model r2deg): parameter r"]
    (run / "lvs.json").write_text(json.dumps(lvs))
    res = tapeout(run, tmp_path / "b")
    assert res.exit_code == 1
    assert "LVS status is incomplete; LVS not compared: device Xr1 (model r2deg): parameter r" in res.output


# ------------------------------------------------------------ bad input ----
@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda r: shutil.rmtree(r), "no such run directory"),
        (lambda r: (r / "metrics.json").unlink(), "not a pilotflow run directory"),
        (lambda r: (r / "drc.json").unlink(), "DRC has not run"),
        (lambda r: (r / "lvs.json").write_text("{ not json"), "lvs.json:1: not a readable JSON file"),
        (lambda r: (r / "ringosc.gds").unlink(), "no such file"),
        (lambda r: (r / "ringosc.gds").write_bytes(b"garbage"), "not a readable GDS file"),
        (lambda r: shutil.rmtree(r / "06-gds"), "the gds stage has not run"),
        (lambda r: (r / "lvs.json").write_text((r / "lvs.json").read_text().replace('"ringosc.gds"', '"other.gds"')), "compared layout other.gds"),
    ],
)
def test_bad_run_dir(gan_runs, tmp_path, damage, message):
    run = copy_run(gan_runs["gan_ringosc"], tmp_path / "run")
    damage(run)
    res = tapeout(run, tmp_path / "b")
    assert res.exit_code == 2, res.output
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and message in lines[0]
    assert not (tmp_path / "b").exists() and leftovers(tmp_path) == []


def test_refuses_to_overwrite_other_folder(gan_runs, tmp_path):
    other = tmp_path / "important"
    other.mkdir()
    (other / "notes.txt").write_text("keep me")
    res = tapeout(gan_runs["gan_ringosc"], other)
    assert res.exit_code == 2 and "is not a pilotflow bundle; not overwriting it" in res.output
    assert (other / "notes.txt").read_text() == "keep me"


def test_read_bundle_detects_tampering(gan_bundles, tmp_path):
    from flow.errors import InputError

    b = shutil.copytree(gan_bundles["gan_ringosc"], tmp_path / "b")
    read_bundle(b)
    (b / "ringosc.gds").write_bytes((b / "ringosc.gds").read_bytes() + b"\0")
    with pytest.raises(InputError, match="ringosc.gds does not match its checksum"):
        read_bundle(b)
