"""DRC on several processes gives exactly the one-process result."""

from __future__ import annotations

import json

import numpy as np
from click.testing import CliRunner

import pytest

import flow.drc.engine as engine
from flow.cli import cli
from flow.drc.engine import _rule_groups, run_drc
from flow.geometry.gdsio import shapes_from_library


@pytest.fixture(autouse=True)
def _always_parallel(monkeypatch):
    """These layouts are small: use workers anyway."""
    monkeypatch.setattr(engine, "PARALLEL_MIN_POINTS", 0)


def _busy_layout(layout, seed=7, n=300):
    rng = np.random.default_rng(seed)
    shapes = {"M1": [], "M2": [], "V1": []}
    for name in shapes:
        for _ in range(n):
            x, y = rng.uniform(0, 200, 2)
            w, h = rng.uniform(0.3, 4.0, 2)
            shapes[name].append((round(x, 3), round(y, 3), round(x + w, 3), round(y + h, 3)))
    return layout(shapes)


def test_parallel_equals_serial(kit, layout):
    shapes = shapes_from_library(_busy_layout(layout), kit)
    # M1 rules and the M2/V1 rule share no layer: two workers
    rules = [r for r in kit.rules if r.id != "M1.S.M2"]
    assert len(_rule_groups(rules, shapes)) == 2
    one = run_drc(shapes, kit, rules=rules, jobs=1)
    assert len(one.violations) > 100 and len(one.counts()) == 3
    for jobs in (2, 3, 0):
        many = run_drc(shapes, kit, rules=rules, jobs=jobs)
        assert many.violations == one.violations
        assert many.to_json(kit) == one.to_json(kit)


def test_rule_groups_share_layers(kit, layout):
    shapes = shapes_from_library(_busy_layout(layout), kit)
    groups = _rule_groups(kit.rules, shapes)
    ids = [[kit.rules[i].id for i in g] for g in groups]
    # M1.S.M2 ties M1 and M2 together, M2.EN.V1 adds V1: one group
    assert sorted(sum(ids, [])) == sorted(r.id for r in kit.rules)
    assert len(groups) == 1


def test_progress_reported(kit, layout):
    shapes = shapes_from_library(_busy_layout(layout, n=20), kit)
    seen = []
    run_drc(shapes, kit, progress=lambda msg, frac: seen.append((msg, frac)))
    assert [m for m, _ in seen] == [f"rule {r.id} ({i + 1}/4)" for i, r in enumerate(kit.rules)]
    seen.clear()
    # M1.W and M2.EN.V1 share no layer: two groups, two workers
    rules = [r for r in kit.rules if r.id in ("M1.W", "M2.EN.V1")]
    assert len(_rule_groups(rules, shapes)) == 2
    res = run_drc(shapes, kit, rules=rules, jobs=2, progress=lambda msg, frac: seen.append((msg, frac)))
    assert seen[-1] == ("2/2 rules checked", 1.0)
    assert res.violations == run_drc(shapes, kit, rules=rules).violations


def test_cli_jobs(kit, layout, tmp_path):
    lib = _busy_layout(layout, n=100)
    gds = tmp_path / "x.gds"
    lib.write_gds(str(gds))
    rules = tmp_path / "rules.toml"
    outs = []
    for jobs in ("1", "2"):
        j = tmp_path / f"d{jobs}.json"
        r = CliRunner().invoke(cli, ["drc", str(gds), "--rules", str(rules), "--jobs", jobs, "--json", str(j)])
        assert r.exit_code == 1, r.output
        outs.append(json.loads(j.read_text()))
    assert outs[0] == outs[1]
    r = CliRunner().invoke(cli, ["drc", str(gds), "--rules", str(rules), "--jobs", "-1"])
    assert r.exit_code == 2 and "Traceback" not in r.output
