"""Kit versions: recorded in every run, checked when resuming, matched by the changelog.

* a run records the kit name and version in every stage's state.json and in
  metrics.json (the GDS library name is checked in tests/test_designs.py);
* resuming (``--from STAGE``) a run made with another PDK name or another
  version of the kit is refused: one ``Error:`` line naming both, exit 2, and
  the run directory left as it was;
* every kit's CHANGELOG.md has the pdk.toml version as its top entry, and
  ``pdk check`` fails a kit whose changelog is ahead of or behind it.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

import pdk as pdks
from flow.cli import cli
from pdk.check import check_kit

ROOT = Path(__file__).resolve().parents[1]
DESIGN = "gan_ringosc"


@pytest.fixture()
def runner():
    return CliRunner()


@pytest.fixture()
def partial_run(runner, tmp_path):
    """gan_ringosc run up to floorplan: (design folder, run folder)."""
    d = tmp_path / DESIGN
    shutil.copytree(ROOT / "designs" / DESIGN, d)
    out = tmp_path / "run"
    r = runner.invoke(cli, ["-q", "run", str(d), "-o", str(out), "--to", "floorplan"])
    assert r.exit_code == 0, r.output
    return d, out


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _refused(r, start: str) -> str:
    lines = r.output.strip().splitlines()
    assert r.exit_code == 2, r.output
    assert len(lines) == 1 and lines[0].startswith("Error: "), r.output
    assert "Traceback" not in r.output
    assert start in lines[0]
    return lines[0]


def test_run_records_kit_version(partial_run):
    _, out = partial_run
    kit = pdks.load("gan650")
    m = json.loads((out / "metrics.json").read_text())
    assert (m["pdk"], m["pdk_version"]) == (kit.name, kit.version)
    for state in out.glob("*/state.json"):
        s = json.loads(state.read_text())
        assert (s["pdk"], s["pdk_version"]) == (kit.name, kit.version), state


def test_resume_same_version_continues(runner, partial_run):
    d, out = partial_run
    r = runner.invoke(cli, ["-q", "run", str(d), "-o", str(out), "--from", "place", "--to", "place"])
    assert r.exit_code == 0, r.output
    assert (out / "02-place" / "state.json").is_file()


def test_resume_refuses_new_kit_version(runner, partial_run, monkeypatch):
    """The kit itself moves on to a new version between the run and the resume."""
    d, out = partial_run
    before = _snapshot(out)
    real = pdks.load("gan650")
    newer = dataclasses.replace(real, version="99.0.0")
    monkeypatch.setattr(pdks, "load", lambda name: newer if name == "gan650" else real)
    r = runner.invoke(cli, ["run", str(d), "-o", str(out), "--from", "place"])
    line = _refused(r, f"state.json: made with PDK gan650 {real.version}, but gan650 is now 99.0.0")
    assert "rerun from the start (without --from)" in line
    assert _snapshot(out) == before


def test_resume_refuses_other_kit(runner, partial_run):
    """design.toml switched to another kit between the run and the resume."""
    d, out = partial_run
    before = _snapshot(out)
    other = next(k for k in pdks.available() if k != "gan650")
    toml = d / "design.toml"
    toml.write_text(toml.read_text().replace('pdk = "gan650"', f'pdk = "{other}"'))
    r = runner.invoke(cli, ["run", str(d), "-o", str(out), "--from", "place"])
    kit = pdks.load(other)
    _refused(r, f"made with PDK gan650 {pdks.load('gan650').version}, but the design now uses PDK {other} {kit.version}")
    assert _snapshot(out) == before


def test_resume_refuses_state_without_version(runner, partial_run):
    d, out = partial_run
    state = out / "01-floorplan" / "state.json"
    data = json.loads(state.read_text())
    del data["pdk_version"]
    state.write_text(json.dumps(data))
    r = runner.invoke(cli, ["run", str(d), "-o", str(out), "--from", "place"])
    _refused(r, f"made with PDK gan650 (no version recorded), but gan650 is now {pdks.load('gan650').version}")


# ------------------------------------------------------------ changelog --


@pytest.mark.parametrize("name", pdks.available())
def test_changelog_top_entry_is_kit_version(name):
    kit = pdks.load(name)
    text = (kit.path.parent / "CHANGELOG.md").read_text()
    top = re.search(r"^##\s*\[?v?(\d+\.\d+\.\d+)", text, re.MULTILINE)
    assert top and top[1] == kit.version


def _kit_with_changelog(tmp_path, changelog: str):
    src = ROOT / "pdk" / "gan650"
    dst = tmp_path / "gan650"
    dst.mkdir()
    shutil.copy(src / "devices.py", dst / "devices.py")
    # a fixed kit version, whatever gan650's own is
    toml, n = re.subn(r'^version = "[0-9.]+"', 'version = "1.4.0"', (src / "pdk.toml").read_text(), count=1, flags=re.MULTILINE)
    assert n == 1
    (dst / "pdk.toml").write_text(toml)
    (dst / "CHANGELOG.md").write_text(changelog)
    from pdk.schema import load_pdk_file

    return load_pdk_file(dst / "pdk.toml")


@pytest.mark.parametrize(
    "changelog, ok, detail",
    [
        ("# c\n\n## 1.4.0\n\n- first\n", True, "top entry is 1.4.0, the kit version"),
        # the changelog was bumped but pdk.toml was not
        ("# c\n\n## 1.5.0\n\n- new rule\n\n## 1.4.0\n\n- first\n", False, "top entry is 1.5.0, but the kit version is 1.4.0"),
        # pdk.toml was bumped but the changelog was not (1.3.9 < 1.4.0)
        ("# c\n\n## 1.3.9\n\n- old\n", False, "no entry '## 1.4.0'"),
        ("# c\n\nno entries at all\n", False, "entries: none"),
    ],
)
def test_pdk_check_changelog(tmp_path, changelog, ok, detail):
    kit = _kit_with_changelog(tmp_path, changelog)
    report = check_kit(kit, sections=["changelog"])
    (f,) = report.section("changelog")
    assert f.ok is ok and detail in f.detail, f.detail


@pytest.mark.parametrize(
    "text, message",
    [
        ("{not json", "unreadable saved state ("),
        ("[1, 2]", "unreadable saved state (not a JSON object)"),
        ('{"pdk": "gan650", "pdk_version": "KITVERSION"}', "saved state has no netlist, floorplan, which stage 'place' needs"),
    ],
)
def test_resume_unreadable_state(runner, partial_run, text, message):
    d, out = partial_run
    (out / "01-floorplan" / "state.json").write_text(text.replace("KITVERSION", pdks.load("gan650").version))
    r = runner.invoke(cli, ["run", str(d), "-o", str(out), "--from", "place"])
    _refused(r, "01-floorplan/state.json: " + message)
