"""``pdk check`` extracts every device alone with its LVS description and
compares the measured parameters with the generated ones."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import pdk as pdks
from pdk.check import check_kit, load_target

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("kit", ["gan650", "ganrf025", "sic1200"])
def test_bundled_devices_extract_as_generated(kit):
    rep = check_kit(pdks.load(kit), sections=["devices"])
    assert rep.ok, [f.detail for f in rep.findings if not f.ok]
    for f in rep.findings:
        if f.subject != "sealring":
            assert "LVS extracts it with" in f.detail, f.detail


def _copy(tmp_path: Path, old: str, new: str) -> Path:
    dst = tmp_path / "gan650"
    dst.mkdir()
    for f in ("pdk.toml", "devices.py", "CHANGELOG.md"):
        shutil.copy(ROOT / "pdk" / "gan650" / f, dst / f)
    t = (dst / "pdk.toml").read_text()
    assert old in t
    (dst / "pdk.toml").write_text(t.replace(old, new, 1))
    return dst / "pdk.toml"


def test_wrong_capacitance_per_area_fails(tmp_path):
    kit, _ = load_target(_copy(tmp_path, "lvs.per_um2 = 0.3e-15", "lvs.per_um2 = 0.2e-15"))
    (f,) = [f for f in check_kit(kit, sections=["devices"]).findings if f.subject == "mim"]
    assert not f.ok and "LVS measures c=" in f.detail and "generated 1e-12" in f.detail


def test_recognition_that_finds_nothing_fails(tmp_path):
    kit, _ = load_target(_copy(tmp_path, 'lvs.recognize = "GATE & MESA - PGAN"', 'lvs.recognize = "GATE & MESA & TFR"'))
    (f,) = [f for f in check_kit(kit, sections=["devices"]).findings if f.subject == "hemtd"]
    assert not f.ok and "LVS finds nothing in it, not one hemtd" in f.detail
