"""``pilotflow pdk check``: bundled kits pass; broken kits fail with clear lines.

Kinds and rules are iterated, never listed, so kinds added later are covered.
Broken kits are copies of gan650 in a temporary folder with one defect each,
or a broken engine (a kind's check patched to miss or over-report markers):
the self-tests must notice.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
from pathlib import Path

import gdstk
import pytest
from click.testing import CliRunner

import pdk as pdks
from flow.cli import cli
from flow.drc import core
from flow.errors import PDKError
from pdk.check import check_kit, format_report, load_target, selftest_cases, selftest_shapes
from pdk.schema import RULE_KINDS

ROOT = Path(__file__).resolve().parents[2]
KITS = pdks.available()


@pytest.fixture()
def runner():
    return CliRunner()


def copy_kit(tmp_path: Path, edit=None, name: str = "gan650") -> Path:
    """A copy of a bundled kit folder; ``edit(text) -> text`` changes its pdk.toml."""
    src = ROOT / "pdk" / name
    dst = tmp_path / name
    dst.mkdir()
    for f in ("pdk.toml", "devices.py", "CHANGELOG.md"):
        shutil.copy(src / f, dst / f)
    if edit is not None:
        toml = dst / "pdk.toml"
        new = edit(toml.read_text())
        assert new != toml.read_text(), "the edit changed nothing"
        toml.write_text(new)
    return dst / "pdk.toml"


def fails(report) -> dict[str, list[str]]:
    """subject -> details of the failed findings."""
    out: dict[str, list[str]] = {}
    for f in report.findings:
        if not f.ok:
            out.setdefault(f.subject, []).append(f.detail)
    return out


# ---------------------------------------------------------- bundled kits --


@pytest.mark.parametrize("name", KITS)
def test_bundled_kit_passes_with_every_rule_selftested(name):
    kit = pdks.load(name)
    report = check_kit(kit)
    assert fails(report) == {}
    assert report.ok and report.selftested == report.rules == len(kit.rules)
    rule_lines = {f.subject: f for f in report.section("rules")}
    assert set(rule_lines) == {r.id for r in kit.rules}
    # every rule has a pass case and a fail case, and they ran
    cases = selftest_cases(kit)
    for r in kit.rules:
        mine = [c.test for c in cases if c.rule.id == r.id]
        assert any(t.expected == 0 for t in mine) and any(t.expected > 0 for t in mine), r.id
    assert report.layouts == len(cases)
    assert {f.subject for f in report.section("devices")} == set(kit.devices)
    assert [f.ok for f in report.section("changelog")] == [True]


@pytest.mark.parametrize("name", KITS)
def test_cli_check_bundled_kit(runner, name):
    r = runner.invoke(cli, ["pdk", "check", name])
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    kit = pdks.load(name)
    for rule in kit.rules:
        assert sum(line.split()[:2] == ["PASS", rule.id] for line in lines) == 1, rule.id
    assert lines[-1] == f"{name} {kit.version}: OK; {len(kit.rules)}/{len(kit.rules)} rules self-tested on {len(selftest_cases(kit))} layouts"
    assert "FAIL" not in r.output


def test_selftests_fit_every_kit_value():
    """Self-tests of every implemented kind, on every bundled kit rule, draw
    only on the rule's kit layers, at integer dbu coordinates."""
    for name in KITS:
        kit = pdks.load(name)
        for c in selftest_cases(kit):
            assert set(c.test.shapes) <= set(kit.layers), (c.rule.id, c.test.name)
            shapes = selftest_shapes(kit, c.test)
            assert any(len(p) for p in shapes.polygons.values()), (c.rule.id, c.test.name)
            for polys in shapes.polygons.values():
                for p in polys:
                    assert p.dtype.kind == "i" and p.shape[1] == 2


# ----------------------------------------------------------- broken kits --


def test_rule_value_without_a_fail_case(tmp_path):
    """A width of one dbu cannot be undercut: the rule is unverified -> FAIL."""
    path = copy_kit(tmp_path, lambda t: t.replace('id = "MET1.W.1"\nkind = "width"\nlayer = "MET1"\nvalue = 2.0', 'id = "MET1.W.1"\nkind = "width"\nlayer = "MET1"\nvalue = 0.001'))
    kit, standalone = load_target(path)
    report = check_kit(kit, standalone=standalone)
    assert not report.ok
    bad = fails(report)
    assert "MET1.W.1" in bad and "lack a fail case" in bad["MET1.W.1"][0]
    # the devices are now also checked against the changed rule set, nothing else fails
    assert set(bad) == {"MET1.W.1"}


@pytest.mark.parametrize(
    "broken, expect",
    [
        # the engine misses narrow shapes: the fail case catches it
        (lambda impl: dataclasses.replace(impl, check=lambda r, k, lay, ctx: []), "self-test '1 dbu below value' gave 0 markers, expected 1"),
        # the engine flags exact widths (<= instead of <): the pass case catches it
        (
            lambda impl: dataclasses.replace(
                impl, check=lambda r, k, lay, ctx: impl.check(dataclasses.replace(r, value=k.um(k.dbu(r.value) + 1)), k, lay, ctx)
            ),
            "self-test 'at value' gave 4 markers, expected 0",  # bar, column, both arms of the L
        ),
    ],
    ids=["misses", "off-by-one"],
)
def test_broken_engine_fails_selftests(monkeypatch, runner, broken, expect):
    monkeypatch.setitem(core.IMPLS, "width", broken(core.IMPLS["width"]))
    kit = pdks.load("gan650")
    report = check_kit(kit)
    bad = fails(report)
    widths = {r.id for r in kit.rules if r.kind == "width"}
    assert widths <= set(bad)
    for rid in widths:
        assert any(expect in d for d in bad[rid]), bad[rid]
    r = runner.invoke(cli, ["pdk", "check", "gan650"])
    assert r.exit_code == 1
    line = next(x for x in r.output.splitlines() if x.split()[:2] == ["FAIL", "MET1.W.1"])
    assert expect in line
    assert r.output.splitlines()[-1].startswith(f"gan650 {kit.version}: FAILED (")


def test_unimplemented_kind_and_missing_selftests(tmp_path, monkeypatch, runner):
    kind = "angle"
    assert kind in RULE_KINDS
    monkeypatch.delitem(core.IMPLS, kind, raising=False)
    monkeypatch.setitem(core.IMPLS, "spacing", dataclasses.replace(core.IMPLS["spacing"], selftests=None))
    # a layer and id the kit has no angle rule for
    path = copy_kit(tmp_path, lambda t: t + f'\n[[rules]]\nid = "GATE.T.1"\nkind = "{kind}"\nlayer = "GATE"\nvalue = 90\ndoc = "Manhattan GATE"\n')
    r = runner.invoke(cli, ["pdk", "check", str(path)])
    assert r.exit_code == 1, r.output
    lines = r.output.splitlines()
    a = next(x for x in lines if x.split()[:2] == ["FAIL", "GATE.T.1"])
    assert f"kind '{kind}' is not implemented by the DRC engine" in a
    s = next(x for x in lines if x.split()[:2] == ["FAIL", "MET1.S.1"])
    assert "kind 'spacing' has no self-tests: the rule is unverified" in s
    assert any(x.split()[:2] == ["PASS", "MET1.W.1"] for x in lines)


def test_changelog_entry_required(tmp_path, runner):
    import pdk as pdks

    v = pdks.load("gan650").version
    path = copy_kit(tmp_path, lambda t: t.replace(f'version = "{v}"', 'version = "9.0.0"', 1))
    entries = re.findall(r"^## (\S+)", (path.parent / "CHANGELOG.md").read_text(), re.M)
    r = runner.invoke(cli, ["pdk", "check", str(path)])
    assert r.exit_code == 1
    assert "FAIL  CHANGELOG.md" in r.output and f"no entry '## 9.0.0' for the kit version 9.0.0 (entries: {', '.join(entries)})" in r.output
    (path.parent / "CHANGELOG.md").write_text(f"# gan650 changelog\n\n## 9.0.0\n\n- tighter rules\n\n## {v}\n\n- first\n")
    assert runner.invoke(cli, ["pdk", "check", str(path)]).exit_code == 0
    (path.parent / "CHANGELOG.md").unlink()
    r = runner.invoke(cli, ["pdk", "check", str(path.parent)])
    assert r.exit_code == 1 and "no CHANGELOG.md next to" in r.output


def test_duplicate_check(tmp_path):
    dup = '\n[[rules]]\nid = "MET1.W.2"\nkind = "width"\nlayer = "MET1"\nvalue = 3.0\ndoc = "again"\n'
    dup += '\n[[rules]]\nid = "OHMIC.S.PGAN"\nkind = "spacing"\nlayer = "OHMIC"\nother = "PGAN"\nvalue = 1.0\n'
    kit, _ = load_target(copy_kit(tmp_path, lambda t: t + dup))
    bad = fails(check_kit(kit, sections=["schema"]))
    assert bad["MET1.W.2"] == ["repeats the width check of MET1.W.1 on the same layers (value 3 vs 2: one of them is redundant)"]
    # spacing is symmetric: OHMIC to PGAN is PGAN.S.OHMIC again
    assert bad["OHMIC.S.PGAN"] == ["repeats the spacing check of PGAN.S.OHMIC on the same layers (the same value)"]


@pytest.mark.parametrize(
    "connect, expect",
    [
        ('[["OHMIC", "CONT", "MET1"], ["GATE", "CONT", "MET1"], ["MET2", "VIA1", "MET1"]]',
         "lists it upside down as ['MET2', 'VIA1', 'MET1']"),
        ('[["OHMIC", "CONT", "MET1"], ["GATE", "CONT", "MET1"]]',
         "routing stack MET1/VIA1/MET2 is missing from [pdk.connectivity] as ['MET1', 'VIA1', 'MET2']"),
        ('[["OHMIC", "CONT", "MET1"], ["MET1", "VIA1", "MET2"], ["MET2", "CONT", "OHMIC"]]',
         "form a loop (OHMIC -> MET1 -> MET2 -> OHMIC)"),
        ('[["OHMIC", "CONT"], ["MET1", "VIA1", "MET2"]]',
         "cut layer CONT may only join layers as the middle of [lower, cut, upper]"),
        ('[["CONT", "VIA1", "MET2"], ["MET1", "VIA1", "MET2"]]', "cut layer CONT stands where a conductor must"),
    ],
    ids=["upside-down", "missing", "loop", "cut-in-pair", "cut-as-conductor"],
)
def test_connectivity_problems(tmp_path, connect, expect):
    # the kit's whole connect list (a list of lists, possibly over several lines)
    old = re.compile(r"^connect = \[(?:[^\[\]]|\[[^\[\]]*\])*\]", re.MULTILINE)
    kit, _ = load_target(copy_kit(tmp_path, lambda t: old.sub(f"connect = {connect}", t, count=1)))
    report = check_kit(kit, sections=["connectivity"])
    assert [f.section for f in report.findings] == ["connectivity"] * len(report.findings)
    details = [f.detail for f in report.section("connectivity") if not f.ok]
    assert any(expect in d for d in details), details


DEVICES_PY = '''
from pdk.base import CellBuilder
import gdstk


def good(kit, *, name, w=4.0):
    b = CellBuilder(kit, name)
    b.pin("a", "M1", 0, 0, w, w)
    b.pin("b", "M1", 3 * w, 0, 4 * w, w)
    return b.build("good", {"w": w})


def stray(kit, *, name, w=4.0):
    b = CellBuilder(kit, name)
    b.pin("a", "M1", 0, 0, w, w)
    b.cell.add(gdstk.rectangle((0, 0), (1, 1), layer=99))
    return b.build("stray", {"w": w})


def narrow(kit, *, name, w=4.0):
    b = CellBuilder(kit, name)
    b.pin("a", "M1", 0, 0, 0.5, w)
    return b.build("narrow", {"w": w})


def boom(kit, *, name, w=4.0):
    raise ValueError("no room for the contact")
'''

KIT_TOML = '''
[pdk]
name = "tiny"
version = "1.0.0"
dbu_um = 0.001
routing = ["M1", "V1", "M2"]

[pdk.connectivity]
connect = [["M1", "V1", "M2"]]

[layers.M1]
gds = [1, 0]
label = [1, 10]
purpose = "routing"
[layers.V1]
gds = [2, 0]
purpose = "cut"
[layers.M2]
gds = [3, 0]
label = [3, 10]
purpose = "routing"

[[rules]]
id = "M1.W"
kind = "width"
layer = "M1"
value = 1.0
[[rules]]
id = "M1.S"
kind = "spacing"
layer = "M1"
value = 1.0
[[rules]]
id = "M2.EN.V1"
kind = "enclosure"
layer = "M2"
other = "V1"
value = 0.0

[devices.good]
generator = "good"
kind = "res"
terminals = ["a", "b"]
params.w = { default = 4.0, min = 1.0, max = 10.0, unit = "um" }
[devices.stray]
generator = "stray"
kind = "res"
terminals = ["a", "b"]
params.w = { default = 4.0, min = 1.0, max = 10.0, unit = "um" }
[devices.narrow]
generator = "narrow"
kind = "res"
terminals = ["a"]
params.w = { default = 4.0, min = 1.0, max = 10.0, unit = "um" }
[devices.boom]
generator = "boom"
kind = "res"
terminals = ["a"]
params.w = { default = 4.0, min = 1.0, max = 10.0, unit = "um" }
[devices.ghost]
generator = "nothere"
kind = "res"
terminals = ["a"]
'''


def test_device_findings(tmp_path):
    d = tmp_path / "tiny"
    d.mkdir()
    (d / "pdk.toml").write_text(KIT_TOML)
    (d / "devices.py").write_text(DEVICES_PY)
    (d / "CHANGELOG.md").write_text("## 1.0.0\n\n- first\n")
    kit, standalone = load_target(d)
    assert not standalone and kit.name == "tiny"
    report = check_kit(kit)
    dev = {f.subject: f for f in report.section("devices")}
    assert dev["good"].ok and "2 terminals pinned, layers M1, DRC clean" in dev["good"].detail
    assert not dev["stray"].ok
    assert "draws on GDS layers the kit does not define: 99/0" in dev["stray"].detail
    assert "terminal 'b' has no pin" in dev["stray"].detail
    assert not dev["narrow"].ok and "not DRC-clean alone: M1.W 1" in dev["narrow"].detail
    assert not dev["boom"].ok and "does not generate at its default parameters: ValueError: no room for the contact" in dev["boom"].detail
    assert not dev["ghost"].ok and "generator 'nothere' is not in devices.py" in dev["ghost"].detail
    # the rules themselves (a zero enclosure included) are fine
    assert all(f.ok for f in report.section("rules")) and report.selftested == 3
    assert [f.ok for f in report.section("changelog")] == [True]


def test_kit_without_devices_py(tmp_path):
    d = tmp_path / "tiny"
    d.mkdir()
    (d / "pdk.toml").write_text(KIT_TOML)
    (d / "CHANGELOG.md").write_text("## 1.0.0\n")
    report = check_kit(load_target(d)[0])
    [f] = report.section("devices")
    assert not f.ok and "has no devices.py next to its pdk.toml" in f.detail


# ------------------------------------------------ files that do not load --

BAD_RULES = '[layers.M1]\ngds = [10, 0]\npurpose = "routing"\n[[rules]]\nid = "W"\nkind = "width"\nlayer = "M3"\nvalue = -1\nfoo = 1\n'


def _gds(path: Path) -> Path:
    lib = gdstk.Library(unit=1e-6, precision=1e-9)
    lib.new_cell("TOP").add(gdstk.rectangle((0, 0), (10, 10), layer=10))
    lib.write_gds(str(path))
    return path


def _assert_three_problems(r, where: str) -> None:
    assert r.exit_code == 2, r.output
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: 3 problems: "), r.output
    assert f"{where}: rules[0].layer: 'M3' is not a layer; layers are" in lines[0]
    assert f"{where}: rules[0].value: must be positive, got -1" in lines[0]
    assert f"{where}: rules[0].foo: unknown key; allowed keys are" in lines[0]
    assert "Traceback" not in r.output


def test_bad_rule_file_rejected_by_check_and_drc(tmp_path, runner):
    bad = tmp_path / "bad.toml"
    bad.write_text(BAD_RULES)
    gds = _gds(tmp_path / "x.gds")
    _assert_three_problems(runner.invoke(cli, ["pdk", "check", str(bad)]), str(bad))
    _assert_three_problems(runner.invoke(cli, ["drc", str(gds), "--rules", str(bad)]), str(bad))


def test_bad_kit_file_rejected_by_check_and_drc(tmp_path, runner):
    """The same three defects in a full pdk.toml: same answer from both commands."""
    text = (ROOT / "pdk" / "gan650" / "pdk.toml").read_text()
    start = text.index("[[rules]]")
    head, rules = text[:start], text[start:]
    first = '[[rules]]\nid = "W"\nkind = "width"\nlayer = "M3"\nvalue = -1\nfoo = 1\n\n'
    d = tmp_path / "gan650"
    d.mkdir()
    (d / "pdk.toml").write_text(head + first + rules)
    gds = _gds(tmp_path / "x.gds")
    path = d / "pdk.toml"
    for args in (["pdk", "check", str(path)], ["drc", str(gds), "--rules", str(path)]):
        r = runner.invoke(cli, args)
        assert r.exit_code == 2, r.output
        line = r.output.strip()
        assert line.startswith("Error: 3 problems: ") and "\n" not in line
        assert f"{path}: rules[0].layer: 'M3' is not a layer; layers are MESA, OHMIC" in line
        assert f"{path}: rules[0].value: must be positive, got -1" in line
        assert f"{path}: rules[0].foo: unknown key" in line


def test_unknown_kit_name_and_missing_file(runner, tmp_path):
    r = runner.invoke(cli, ["pdk", "check", "nope"])
    assert r.exit_code == 2 and r.output.startswith("Error: unknown PDK 'nope'; available PDKs are ")
    r = runner.invoke(cli, ["pdk", "check", str(tmp_path / "none.toml")])
    assert r.exit_code == 2 and "none.toml: file not found" in r.output
    r = runner.invoke(cli, ["pdk", "check", str(tmp_path)])
    assert r.exit_code == 2 and "no pdk.toml in this folder" in r.output


def test_standalone_rule_file_checked_without_changelog(tmp_path, runner):
    good = tmp_path / "rules.toml"
    good.write_text(
        '[layers.M1]\ngds = [1, 0]\npurpose = "routing"\n[layers.V1]\ngds = [2, 0]\npurpose = "cut"\n'
        '[[rules]]\nid = "M1.W"\nkind = "width"\nlayer = "M1"\nvalue = 0.5\n'
        '[[rules]]\nid = "M1.EN.V1"\nkind = "enclosure"\nlayer = "M1"\nother = "V1"\nvalue = 0.1\n'
    )
    r = runner.invoke(cli, ["pdk", "check", str(good)])
    assert r.exit_code == 0, r.output
    assert r.output.startswith(f"rule file rules 0.0.0 ({good})")
    assert "changelog:" not in r.output
    assert r.output.splitlines()[-1] == "rules 0.0.0: OK; 2/2 rules self-tested on 5 layouts"


def test_load_target_forms():
    kit, standalone = load_target("gan650")
    assert kit.name == "gan650" and not standalone
    k2, s2 = load_target(ROOT / "pdk" / "gan650")
    k3, s3 = load_target(str(ROOT / "pdk" / "gan650" / "pdk.toml"))
    assert k2.rules == k3.rules == kit.rules and not s2 and not s3
    with pytest.raises(PDKError):
        load_target("no_such_kit")


def test_unknown_section():
    with pytest.raises(ValueError, match="unknown section"):
        check_kit(pdks.load("gan650"), sections=["nope"])


def test_format_report_lines():
    kit = pdks.load("gan650")
    report = check_kit(kit)
    lines = format_report(report)
    assert lines[0] == f"PDK gan650 {kit.version} ({kit.path})"
    heads = [x for x in lines if not x.startswith(" ")]
    assert heads[1:-1] == ["schema:", "connectivity:", "devices:", "rules:", "changelog:"]
    assert len(lines) == 1 + 5 + len(report.findings) + 1
