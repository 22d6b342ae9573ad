"""The command line: exit codes, one-line errors, nothing half-written."""

from __future__ import annotations

import json
from pathlib import Path
import shutil

import gdstk
import pytest
from click.testing import CliRunner

import flow
import pdk as pdks
from flow.cli import cli

DESIGNS = Path(__file__).resolve().parents[1] / "designs"


@pytest.fixture()
def runner():
    return CliRunner()


def test_version_and_help(runner):
    r = runner.invoke(cli, ["--version"])
    assert r.exit_code == 0 and flow.__version__ in r.output
    r = runner.invoke(cli, ["--help"])
    assert r.exit_code == 0
    for cmd in ("run", "drc", "pdk"):
        assert cmd in r.output


def test_pdk_list_and_show(runner):
    r = runner.invoke(cli, ["pdk", "list"])
    assert r.exit_code == 0 and "gan650" in r.output
    r = runner.invoke(cli, ["pdk", "show", "gan650"])
    assert r.exit_code == 0
    assert "MET1.W.1" in r.output and "hemte" in r.output and "MET1 / VIA1 / MET2" in r.output
    r = runner.invoke(cli, ["pdk", "show", "nope"])
    lines = r.output.strip().splitlines()
    assert r.exit_code == 2 and len(lines) == 1
    assert lines[0].startswith("Error: unknown PDK 'nope'; available PDKs are ") and "gan650" in lines[0]


def _copy_design(tmp_path, name="gan_ringosc"):
    dst = tmp_path / name
    shutil.copytree(DESIGNS / name, dst)
    return dst


@pytest.mark.parametrize(
    "edit, expected",
    [
        # a syntax error: an instance line with no model
        (lambda t: t.replace("X5 n5 n1 VDD GND dcfl_inv", "X5"), "ringosc.sp:12:"),
        # an unknown device model
        (lambda t: t.replace("X5 n5 n1 VDD GND dcfl_inv", "X5 n5 n1 VDD GND hemtx"), "ringosc.sp:12: unknown"),
        # a missing include
        (lambda t: t.replace('.include "dcfl.sp"', '.include "nothere.sp"'), "ringosc.sp:5:"),
    ],
    ids=["syntax", "unknown-model", "missing-include"],
)
def test_bad_netlist_one_line_exit_2(runner, tmp_path, monkeypatch, edit, expected):
    d = _copy_design(tmp_path)
    sp = d / "ringosc.sp"
    sp.write_text(edit(sp.read_text()))
    monkeypatch.chdir(tmp_path)
    r = runner.invoke(cli, ["run", "gan_ringosc", "-o", "out"])
    assert r.exit_code == 2, r.output
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: gan_ringosc/ringosc.sp:") and expected in lines[0], r.output
    assert "Traceback" not in r.output
    # nothing half-written: no final files
    out = tmp_path / "out"
    assert not (out / "metrics.json").exists() or json.loads((out / "metrics.json").read_text())["instances"] is None
    assert not list(out.glob("*.gds"))


def test_unknown_model_message(runner, tmp_path, monkeypatch):
    d = _copy_design(tmp_path)
    sp = d / "ringosc.sp"
    sp.write_text(sp.read_text().replace("X5 n5 n1 VDD GND dcfl_inv", "X5 n5 n1 VDD GND hemtx"))
    monkeypatch.chdir(tmp_path)
    r = runner.invoke(cli, ["run", "gan_ringosc"])
    assert r.output.strip() == "Error: gan_ringosc/ringosc.sp:12: unknown device model 'hemtx'; models are hemte, hemtd, r2deg, pad, hemtek, sbd, rtf, mim, sealring"


def test_debug_shows_traceback(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = runner.invoke(cli, ["--debug", "run", "nowhere"])
    assert r.exit_code == 2
    assert "Traceback" in r.output and "Error: nowhere: not a design folder" in r.output


def test_run_stop_and_resume(runner, tmp_path):
    d = _copy_design(tmp_path)
    out = tmp_path / "run"
    r = runner.invoke(cli, ["--quiet", "run", str(d), "-o", str(out), "--to", "place"])
    assert r.exit_code == 0, r.output
    m = json.loads((out / "metrics.json").read_text())
    assert m["hpwl_um"] > 0 and m["wirelength_um"] is None and m["drc_violations"] is None
    assert not list(out.glob("*.gds"))
    assert (out / "02-place" / "state.json").is_file()
    r = runner.invoke(cli, ["--quiet", "run", str(d), "-o", str(out), "--from", "route"])
    assert r.exit_code == 0, r.output
    m = json.loads((out / "metrics.json").read_text())
    assert m["nets_unrouted"] == 0 and m["drc_violations"] == 0
    assert set(m["stage_seconds"]) == {"import", "floorplan", "place", "route", "drc", "lvs", "gds"}
    assert m["lvs_clean"] is True and (out / "lvs.json").is_file()
    assert (out / "ringosc.gds").is_file()


def test_resume_refuses_other_pdk_version(runner, tmp_path):
    d = _copy_design(tmp_path)
    out = tmp_path / "run"
    assert runner.invoke(cli, ["-q", "run", str(d), "-o", str(out), "--to", "floorplan"]).exit_code == 0
    state = out / "01-floorplan" / "state.json"
    data = json.loads(state.read_text())
    data["pdk_version"] = "0.0.1"
    state.write_text(json.dumps(data))
    r = runner.invoke(cli, ["run", str(d), "-o", str(out), "--from", "place"])
    assert r.exit_code == 2 and "made with PDK gan650 0.0.1" in r.output


def test_resume_without_state(runner, tmp_path):
    d = _copy_design(tmp_path)
    r = runner.invoke(cli, ["run", str(d), "-o", str(tmp_path / "fresh"), "--from", "route"])
    assert r.exit_code == 2 and "no saved state of stage 'place'" in r.output
    r = runner.invoke(cli, ["run", str(d), "--from", "bogus"])
    assert r.exit_code == 2 and "unknown stage 'bogus'" in r.output


def _violating_gds(path):
    lib = gdstk.Library(unit=1e-6, precision=1e-9)
    c = lib.new_cell("TOP")
    c.add(gdstk.rectangle((0, 0), (1.0, 20), layer=10, datatype=0))  # MET1 1.0 wide < 2.0
    c.add(gdstk.rectangle((10, 0), (20, 20), layer=10, datatype=0))
    c.add(gdstk.rectangle((21, 0), (30, 20), layer=10, datatype=0))  # 1.0 gap < 2.0
    lib.write_gds(str(path))


def test_drc_cli(runner, tmp_path):
    gds = tmp_path / "v.gds"
    _violating_gds(gds)
    r = runner.invoke(cli, ["drc", str(gds), "--pdk", "gan650", "--json", str(tmp_path / "d.json"), "--lyrdb", str(tmp_path / "d.lyrdb")])
    assert r.exit_code == 1, r.output
    assert "MET1.W.1: 1" in r.output and "MET1.S.1: 1" in r.output
    data = json.loads((tmp_path / "d.json").read_text())
    assert data["counts"] == {"MET1.S.1": 1, "MET1.W.1": 1}
    assert (tmp_path / "d.lyrdb").is_file()


def test_drc_cli_rules_file_and_bad_input(runner, tmp_path):
    gds = tmp_path / "v.gds"
    _violating_gds(gds)
    rules = tmp_path / "r.toml"
    rules.write_text('[layers.M1]\ngds = [10, 0]\npurpose = "routing"\n[[rules]]\nid = "W"\nkind = "width"\nlayer = "M1"\nvalue = 0.5\n')
    r = runner.invoke(cli, ["drc", str(gds), "--rules", str(rules)])
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli, ["drc", str(gds)])
    assert r.exit_code == 2 and "exactly one of --pdk" in r.output
    r = runner.invoke(cli, ["drc", str(tmp_path / "missing.gds"), "--pdk", "gan650"])
    assert r.exit_code == 2 and "Error:" in r.output and "Traceback" not in r.output
    junk = tmp_path / "junk.gds"
    junk.write_bytes(b"\x00\x01garbage" * 10)
    r = runner.invoke(cli, ["drc", str(junk), "--pdk", "gan650"])
    assert r.exit_code == 2 and "not a readable GDS" in r.output
    bad = tmp_path / "bad.toml"
    bad.write_text('[layers.M1]\ngds = [10, 0]\npurpose = "routing"\n[[rules]]\nid = "W"\nkind = "width"\nlayer = "M3"\nvalue = -1\nfoo = 1\n')
    r = runner.invoke(cli, ["drc", str(gds), "--rules", str(bad)])
    assert r.exit_code == 2
    assert "'M3' is not a layer" in r.output and "must be positive" in r.output and "rules[0].foo: unknown key" in r.output


def test_pdk_list_and_show_sic1200(runner):
    r = runner.invoke(cli, ["pdk", "list"])
    assert r.exit_code == 0 and any(line.startswith("sic1200 ") for line in r.output.splitlines())
    r = runner.invoke(cli, ["pdk", "show", "sic1200"])
    assert r.exit_code == 0
    for text in ("nmos", "pmos", "lmos", "vmos", "rpoly", "BACKMET", "JTE.W.1", "MET1 / VIA1 / MET2"):
        assert text in r.output, text


def test_generator_error_names_the_netlist_line(runner, tmp_path, monkeypatch):
    """A parameter set inside the ranges that a generator still cannot draw:
    one line with file:line, exit 2, no run files."""
    d = _copy_design(tmp_path)
    sp = d / "ringosc.sp"
    sp.write_text(sp.read_text().replace(".ends ringosc", "RX OUT GND rtf r=10 w=10u\n.ends ringosc"))
    monkeypatch.chdir(tmp_path)
    r = runner.invoke(cli, ["run", "gan_ringosc"])
    assert r.exit_code == 2
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.output
    assert lines[0] == (
        "Error: gan_ringosc/ringosc.sp:16: rtf: r=10 ohm with w=10 um needs a 2 um body, outside [3, 300] um; "
        "use 15 um <= w <= 40 um"
    )


def test_seal_ring_floorplan_and_resume(runner, tmp_path):
    """[floorplan] seal_ring: the die grows by the scribe lane and the ring's
    band on each side, pads and core move in, the ring sits one scribe lane
    inside the die edge; the floorplan state keeps it for a resumed run."""
    from flow.design import Floorplan

    kit = pdks.load("gan650")
    plain = _copy_design(tmp_path / "a")
    ring = _copy_design(tmp_path / "b")
    for d, extra in ((plain, ""), (ring, "seal_ring = true\nscribe = 30.0\n")):
        toml = d / "design.toml"
        lines = [x for x in toml.read_text().splitlines(keepends=True) if not x.startswith(("seal_ring", "scribe"))]
        toml.write_text("".join(lines).replace("utilization = 0.4\n", "utilization = 0.4\n" + extra))
    fps = []
    for d in (plain, ring):
        out = d.parent / "run"
        r = runner.invoke(cli, ["-q", "run", str(d), "-o", str(out), "--to", "floorplan"])
        assert r.exit_code == 0, r.output
        state = json.loads((out / "01-floorplan" / "state.json").read_text())
        fps.append(Floorplan.from_json(state["floorplan"]))
    a, b = fps
    off = kit.dbu(30.0) + kit.dbu(kit.device("sealring").params["width"].default)
    assert a.seal_ring is None and b.seal_ring is not None and b.seal_ring.model == "sealring"
    assert b.seal_ring_at == (kit.dbu(30.0), kit.dbu(30.0))
    assert b.die == (0, 0, a.die[2] + 2 * off, a.die[3] + 2 * off)
    assert b.core == tuple(c + off for c in a.core)
    assert {k: (x + off, y + off) for k, (x, y) in a.pad_positions.items()} == dict(b.pad_positions)
    assert Floorplan.from_json(b.to_json()) == b
    # the rest of the flow resumes from that state, ring included, and is clean
    out = ring.parent / "run"
    r = runner.invoke(cli, ["-q", "run", str(ring), "-o", str(out), "--from", "place"])
    assert r.exit_code == 0, r.output
    m = json.loads((out / "metrics.json").read_text())
    assert m["nets_unrouted"] == 0 and m["drc_violations"] == 0
    assert m["die_area_um2"] == pytest.approx(kit.um(b.die[2]) * kit.um(b.die[3]))


def test_seal_ring_needs_a_kit_device(runner, tmp_path):
    d = _copy_design(tmp_path, "ganrf025_pa")
    toml = d / "design.toml"
    toml.write_text(toml.read_text().replace("[floorplan]\n", "[floorplan]\nseal_ring = true\n"))
    r = runner.invoke(cli, ["run", str(d), "-o", str(tmp_path / "run")])
    assert r.exit_code == 2
    assert 'floorplan.seal_ring: PDK ganrf025 has no seal ring device (kind = "sealring")' in r.output
    assert len(r.output.strip().splitlines()) == 1


def test_closed_pipe_is_not_an_internal_error():
    """``pilotflow pdk show gan650 | head -1``: the reader closes the pipe
    before pilotflow writes; pilotflow stops quietly (exit 141, as a shell
    tool killed by SIGPIPE reports) instead of printing an internal error."""
    import subprocess
    import sys

    p = subprocess.Popen(
        [sys.executable, "-m", "flow.cli", "pdk", "show", "gan650"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=Path(flow.__file__).resolve().parent.parent,
    )
    p.stdout.close()  # before the interpreter has even started
    err = p.stderr.read().decode()
    assert p.wait(timeout=60) == 141, err
    assert err == ""
