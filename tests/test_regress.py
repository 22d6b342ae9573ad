"""``pilotflow regress``: the sample designs against the committed baseline.

The whole set runs once (module fixture, on 2 local processes) and must pass
designs/baseline.toml, as CI requires; a limit tightened below the measured
value must fail with the table naming it; malformed baselines are bad input.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from flow.cli import cli
from flow.regress import METRICS, Baseline, Limit, baseline_text, compare, fmt, load_baseline, measure, updated

ROOT = Path(__file__).resolve().parents[1]
DESIGNS = ROOT / "designs"
BASELINE = DESIGNS / "baseline.toml"
DESIGN_NAMES = sorted(p.name for p in DESIGNS.iterdir() if (p / "design.toml").is_file())


def _rows(output: str) -> list[list[str]]:
    """The table's data rows (split on runs of 2+ spaces)."""
    import re

    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("design  "))
    out = []
    for line in lines[start + 1 :]:
        if line.startswith(("regress:", "not checked", "wrote")):
            break
        out.append(re.split(r"\s{2,}", line.strip()))
    return out


@pytest.fixture(scope="module")
def full(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("regress")
    r = CliRunner().invoke(cli, ["regress", str(DESIGNS), "--baseline", str(BASELINE), "-o", str(tmp / "runs"), "--jobs", "2", "--json", str(tmp / "t.json")])
    return r, tmp


def test_samples_pass_committed_baseline(full):
    r, tmp = full
    assert r.exit_code == 0, r.output
    rows = _rows(r.output)
    by_design = {}
    for design, metric, base, now, limit, verdict in rows:
        by_design.setdefault(design, {})[metric] = (now, verdict)
        assert verdict == "ok", (design, metric, now, limit)
    # every sample design has a baseline entry and every metric is checked
    assert sorted(by_design) == DESIGN_NAMES, "add new designs with: pilotflow regress --update"
    for design, got in by_design.items():
        assert set(got) == set(METRICS), design
        m = json.loads((tmp / "runs" / design / "metrics.json").read_text())
        assert got["wirelength_um"][0] == fmt(m["wirelength_um"])
        assert got["lvs_status"][0] == m["lvs_status"] == "match"
    assert f"regress: {len(rows)} checks, 0 failed" in r.output
    # no attempt folders left behind
    assert not [p for p in (tmp / "runs").iterdir() if p.name.startswith(".")]
    table = json.loads((tmp / "t.json").read_text())
    assert len(table["rows"]) == len(rows) and len(table["runs"]) == len(DESIGN_NAMES)


def test_tightened_limit_fails(full, tmp_path):
    """A threshold set below the current value is a regression: exit 1, the
    table names the design and metric; the other checks still pass."""
    _, tmp = full
    design = "sic1200_ringosc"
    now = json.loads((tmp / "runs" / design / "metrics.json").read_text())["wirelength_um"]
    base = load_baseline(BASELINE)
    limits = dict(base.designs[design])
    limits["wirelength_um"] = dataclasses.replace(limits["wirelength_um"], max=now - 1)
    tight = tmp_path / "tight.toml"
    tight.write_text(baseline_text({**base.designs, design: limits}))
    r = CliRunner().invoke(cli, ["regress", str(DESIGNS / design), "--baseline", str(tight), "-o", str(tmp_path / "runs")])
    assert r.exit_code == 1, r.output
    rows = _rows(r.output)
    failed = [row for row in rows if row[-1] == "FAIL"]
    assert failed == [[design, "wirelength_um", fmt(limits["wirelength_um"].baseline), fmt(now), f"<= {fmt(now - 1)}", "FAIL"]]
    assert len(rows) == len(METRICS)
    assert f"1 failed: {design} wirelength_um" in r.output
    # only the design given runs: the baseline's others are not "missing"
    assert {row[0] for row in rows} == {design}


def test_update_writes_a_passing_baseline(full, tmp_path):
    """--update from one design's run: the new file loads, holds the measured
    values, and the same run passes it."""
    _, tmp = full
    runs = json.loads((tmp / "t.json").read_text())["runs"]
    new = tmp_path / "baseline.toml"
    r = CliRunner().invoke(cli, ["regress", str(DESIGNS / "gan_ringosc"), "--baseline", str(new), "-o", str(tmp_path / "runs"), "--update"])
    assert r.exit_code == 0, r.output
    assert f"wrote {new}" in r.output
    b = load_baseline(new)
    assert list(b.designs) == ["gan_ringosc"]
    m = json.loads((tmp_path / "runs" / "gan_ringosc" / "metrics.json").read_text())
    got = {k: lim.baseline for k, lim in b.designs["gan_ringosc"].items()}
    assert got == {k: v for k, v in measure(m).items() if v is not None}
    # the committed run of the same design measured the same (deterministic flow)
    ref = next(x for x in runs if x["name"] == "gan_ringosc")
    assert {k: v for k, v in measure(ref["metrics"]).items() if k != "runtime_s"} == {k: v for k, v in got.items() if k != "runtime_s"}
    assert all(row.verdict == "ok" for row in compare(b, [ref], full_set=False))


def _record(name, **metrics):
    m = {"die_area_um2": 100.0, "hpwl_um": 50.0, "wirelength_um": 40.0, "vias": 10, "nets_unrouted": 0, "drc_violations": 0,
         "drc_not_checked": [], "lvs_status": "match", "lvs_not_compared": [], "stage_seconds": {"a": 1.0},
         "current_density_worst": {"n": {"ratio": 0.5}}}
    m.update(metrics)
    return {"name": name, "metrics": m, "error": None, "exit_code": 0, "rundir": "x"}


def test_current_density_ratio_counts_via_arrays():
    """A via array over its per-cut limit fails the current-density check like
    a wire over its density limit (the worst of both is measured)."""
    measure_ratio = METRICS["current_density_ratio"].measure
    assert measure_ratio(_record("d")["metrics"]) == 0.5
    assert measure_ratio(_record("d", current_density_worst={"n": {"ratio": 0.5, "via_ratio": 2.0}})["metrics"]) == 2.0
    assert measure_ratio(_record("d", current_density_worst={"n": {"ratio": 0.5, "via_ratio": None}})["metrics"]) == 0.5
    base = updated(None, [_record("d")])
    rows = compare(Baseline(Path("b.toml"), base), [_record("d", current_density_worst={"n": {"ratio": 0.5, "via_ratio": 2.0}})], full_set=False)
    assert [r.verdict for r in rows if r.metric == "current_density_ratio"] == ["FAIL"]


def test_update_keeps_hand_set_margins():
    old = updated(None, [_record("d")])
    assert old["d"]["wirelength_um"].max == 44.0 and old["d"]["vias"].max == 12
    assert old["d"]["current_density_ratio"].max == 1.0 and old["d"]["runtime_s"].max == 35.0
    # a hand-set limit (2 % over) keeps its margin, a default one is recomputed
    old["d"]["wirelength_um"] = dataclasses.replace(old["d"]["wirelength_um"], max=40.8)
    new = updated(Baseline(Path("b.toml"), old), [_record("d", wirelength_um=50.0, vias=20), _record("e")])
    assert new["d"]["wirelength_um"] == Limit("wirelength_um", 50.0, max=51.0)
    assert new["d"]["vias"] == Limit("vias", 20, max=24)
    assert list(new) == ["d", "e"]
    # a design that failed to run keeps its old entry
    failed = {"name": "d", "metrics": None, "error": "StageError: x", "exit_code": None, "rundir": "x"}
    assert updated(Baseline(Path("b.toml"), new), [failed])["d"] == new["d"]


def test_compare_verdicts(tmp_path):
    p = tmp_path / "b.toml"
    p.write_text(baseline_text(updated(None, [_record("d"), _record("gone")])))
    base = load_baseline(p)
    err = {"name": "broken", "metrics": None, "error": "StageError: net X unroutable", "exit_code": None, "rundir": "x"}
    rows = compare(base, [_record("d", vias=13, lvs_status="mismatch", drc_not_checked=["R1: skipped"]), _record("new1"), err], full_set=True)
    bad = {(r.design, r.metric) for r in rows if r.verdict == "FAIL"}
    assert bad == {("d", "vias"), ("d", "lvs_status"), ("d", "drc_not_checked"), ("broken", "run"), ("gone", "design")}
    assert [r.design for r in rows if r.verdict == "new"] == ["new1"]
    # a metric that was not measured (its stage did not run) fails, never passes
    rows = compare(base, [_record("d", wirelength_um=None)], full_set=False)
    assert [(r.metric, r.verdict) for r in rows if r.verdict != "ok"] == [("wirelength_um", "FAIL")]


BAD = [
    ("format = 1\n[design.d]\nvias = { baseline = 3, max = }\n", 3, "not valid TOML"),
    ("format = 1\n\n[design.d]\nvias = { baseline = 3, max = 4 }\nwirelenght_um = { baseline = 1.0, max = 2.0 }\n", 5, "design.d.wirelenght_um: unknown metric"),
    ("format = 1\n[design.d]\nvias = { baseline = 3, max = \"4\" }\n", 3, "design.d.vias: max must be a number"),
    ("format = 1\n[design.d]\nvias = { baseline = 3 }\n", 3, "design.d.vias: give a limit"),
    ("format = 1\n[design.d]\nlvs_status = { baseline = \"match\", expect = \"match\", max = 1 }\n", 3, "max does not apply"),
    ("# no format\n[design.d]\nvias = { baseline = 3, max = 4 }\n", 1, "format: must be 1"),
    ("format = 1\ndesigns = 3\n", 2, "designs: unknown key"),
    ("format = 1\n[design]\nd = 3\n", 3, "design.d: must be a table"),
]


@pytest.mark.parametrize("text, line, problem", BAD)
def test_bad_baseline_is_one_error_line(tmp_path, text, line, problem):
    p = tmp_path / "b.toml"
    p.write_text(text)
    r = CliRunner().invoke(cli, ["regress", str(DESIGNS / "gan_ringosc"), "--baseline", str(p), "-o", str(tmp_path / "runs")])
    assert r.exit_code == 2, r.output
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: {p}:{line}: "), lines
    assert problem in lines[0]
    assert not (tmp_path / "runs").exists()  # nothing ran


def test_bad_designs_argument(tmp_path):
    r = CliRunner().invoke(cli, ["regress", str(tmp_path / "nope")])
    assert r.exit_code == 2 and "not a folder" in r.output
    (tmp_path / "empty").mkdir()
    r = CliRunner().invoke(cli, ["regress", str(tmp_path / "empty")])
    assert r.exit_code == 2 and "no design folders" in r.output
    r = CliRunner().invoke(cli, ["regress", str(DESIGNS / "gan_ringosc"), "--baseline", str(tmp_path / "none.toml")])
    assert r.exit_code == 2 and "file not found (write one with pilotflow regress --update)" in r.output


def test_design_that_fails_to_run_is_a_regression(tmp_path):
    """A design whose netlist became invalid: its row says why, exit 1; the
    baseline's designs that the folder lacks are reported missing."""
    import shutil

    folder = tmp_path / "designs"
    shutil.copytree(DESIGNS / "gan_ringosc", folder / "gan_ringosc")
    bad = folder / "gan_ringosc" / "ringosc.sp"
    bad.write_text(bad.read_text().replace("X5 n5 n1 VDD GND dcfl_inv", "X5 n5 n1 VDD GND no_such_cell"))
    r = CliRunner().invoke(cli, ["regress", str(folder), "--baseline", str(BASELINE), "-o", str(tmp_path / "runs")])
    assert r.exit_code == 1, r.output
    rows = _rows(r.output)
    assert rows[0][:3] == ["gan_ringosc", "run", "ran"] and rows[0][-2:] == ["runs", "FAIL"]
    assert "no_such_cell" in rows[0][3] and rows[0][3].startswith("InputError: ")
    # the baseline's other designs are missing from this folder of designs
    missing = {row[0] for row in rows[1:]}
    assert missing == set(DESIGN_NAMES) - {"gan_ringosc"}
    assert all(row[1:] == ["design", "in baseline", "no such design folder", "exists", "FAIL"] for row in rows[1:])
