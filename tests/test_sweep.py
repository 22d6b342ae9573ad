"""``pilotflow sweep``: variants of a design.toml, each run in its own folder."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from flow.cli import cli
from flow.errors import InputError
from flow.sweep import parse_param, variant_name, variants

DESIGN = Path(__file__).resolve().parents[1] / "designs" / "gan_ringosc"


def test_parse_param_values():
    assert parse_param("floorplan.utilization=0.3,0.4") == ("floorplan.utilization", [0.3, 0.4])
    assert parse_param("place.global=quadratic, eplace") == ("place.global", ["quadratic", "eplace"])
    assert parse_param("route.size_for_current=true,false") == ("route.size_for_current", [True, False])
    assert parse_param("floorplan.die=[900, 800],[1000,900]") == ("floorplan.die", [[900, 800], [1000, 900]])
    assert parse_param('place.global="a,b",c') == ("place.global", ["a,b", "c"])
    assert parse_param("floorplan.spacing=20") == ("floorplan.spacing", [20])


@pytest.mark.parametrize("spec", ["utilization=0.3", "floorplan.utilization", "floorplan.utilization=0.3,,0.4", "=1,2", "floorplan.utilization="])
def test_parse_param_rejects(spec):
    with pytest.raises(InputError, match=r"^--param "):
        parse_param(spec)


def test_variants_are_the_cartesian_product():
    vs = variants([("a.x", [1, 2]), ("b.y", ["p", "q", "r"])])
    assert len(vs) == 6 and vs[0] == {"a.x": 1, "b.y": "p"} and vs[-1] == {"a.x": 2, "b.y": "r"}
    assert len({variant_name(i, v) for i, v in enumerate(vs)}) == 6
    assert variant_name(3, {"floorplan.die": [900.0, 800.0]}) == "03_floorplan.die=900.0x800.0"
    with pytest.raises(InputError, match="given twice"):
        variants([("a.x", [1]), ("a.x", [2])])


def test_sweep_runs_each_variant(tmp_path):
    """Two utilisations on 2 local processes: a lower target utilisation
    gives a larger die; the CSV, the JSON and each run's metrics.json agree."""
    out = tmp_path / "sw"
    r = CliRunner().invoke(cli, ["sweep", str(DESIGN), "--param", "floorplan.utilization=0.2,0.4", "-o", str(out), "--jobs", "2"])
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader((out / "sweep.csv").open()))
    assert [row["floorplan.utilization"] for row in rows] == ["0.2", "0.4"]
    data = json.loads((out / "sweep.json").read_text())
    assert [v["floorplan.utilization"] for v in data["variants"]] == [0.2, 0.4]
    areas = []
    for row, v in zip(rows, data["variants"]):
        m = json.loads((Path(v["rundir"]) / "metrics.json").read_text())
        assert Path(v["rundir"]).parent == out
        assert float(row["die_area_um2"]) == m["die_area_um2"] == v["die_area_um2"]
        assert float(row["wirelength_um"]) == m["wirelength_um"]
        assert row["lvs_status"] == m["lvs_status"] and row["error"] == ""
        areas.append(m["die_area_um2"])
    assert areas[0] > areas[1]
    assert "01_floorplan.utilization=0.2" in r.output and "02_floorplan.utilization=0.4" in r.output


def test_sweep_bad_value_is_input_error(tmp_path):
    r = CliRunner().invoke(cli, ["sweep", str(DESIGN), "--param", "floorplan.utilization=0.3,2.0", "-o", str(tmp_path / "sw")])
    assert r.exit_code == 2
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "floorplan.utilization: must be a number in (0, 0.9], got 2.0" in lines[0]
    assert "(with floorplan.utilization=2.0)" in lines[0]
    r = CliRunner().invoke(cli, ["sweep", str(DESIGN), "--param", "floorplan.utilisation=0.3", "-o", str(tmp_path / "sw")])
    assert r.exit_code == 2 and "floorplan.utilisation: unknown key" in r.output
    r = CliRunner().invoke(cli, ["sweep", str(DESIGN), "--param", "design.pdk.x=1", "-o", str(tmp_path / "sw")])
    assert r.exit_code == 2 and "design.pdk: is not a table" in r.output
    assert not (tmp_path / "sw").exists()
