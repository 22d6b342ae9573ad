"""``pilotflow pdk docs``: the rule manual of every bundled kit, pictures, escaping, bad input.

Kits, rules, layers and devices are iterated, never listed, so kits and rule
kinds added later are covered.  Pictures are cross-checked with KLayout: the
SVG of a device holds exactly as many polygons per GDS layer/datatype as
KLayout reads from the same cell written as GDS.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import gdstk
import klayout.db as kdb
import pytest
from click.testing import CliRunner

import pdk as pdks
from flow.cli import cli
from pdk.base import generate
from pdk.docs import layer_colours, render, rule_extras, write_manual
from pdk.schema import Rule, load_rules_file

ROOT = Path(__file__).resolve().parents[2]
KITS = pdks.available()
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture()
def runner():
    return CliRunner()


def copy_kit(tmp_path: Path, edit=None, name: str = "gan650", devices_edit=None) -> Path:
    """A copy of a bundled kit folder; ``edit`` / ``devices_edit`` change its files."""
    src = ROOT / "pdk" / name
    dst = tmp_path / name
    dst.mkdir()
    for f in ("pdk.toml", "devices.py", "CHANGELOG.md"):
        shutil.copy(src / f, dst / f)
    for fname, fn in (("pdk.toml", edit), ("devices.py", devices_edit)):
        if fn is not None:
            p = dst / fname
            new = fn(p.read_text())
            assert new != p.read_text(), "the edit changed nothing"
            p.write_text(new)
    return dst


def svg_polygons(path: Path) -> Counter:
    """(layer, datatype) -> number of polygons in a gdstk SVG (class ``lLdD``)."""
    root = ET.parse(path).getroot()
    assert root.tag == f"{SVG}svg"
    out: Counter = Counter()
    for el in root.iter(f"{SVG}polygon"):
        m = re.fullmatch(r"l(\d+)d(\d+)", el.get("class", ""))
        assert m, f"{path.name}: polygon without a layer class"
        out[(int(m[1]), int(m[2]))] += 1
    return out


def klayout_polygons(kit, cell: gdstk.Cell, tmp_path: Path) -> Counter:
    """(layer, datatype) -> polygon count of ``cell`` as KLayout reads it."""
    lib = gdstk.Library(unit=1e-6, precision=kit.dbu_um * 1e-6)
    lib.add(cell, *cell.dependencies(True))
    gds = tmp_path / f"{cell.name}.gds"
    lib.write_gds(gds)
    ly = kdb.Layout()
    ly.read(str(gds))
    top = ly.cell(cell.name)
    out: Counter = Counter()
    for li in ly.layer_indexes():
        info = ly.get_info(li)
        n = sum(1 for it in top.begin_shapes_rec(li) if it.shape().is_polygon() or it.shape().is_box() or it.shape().is_path())
        if n:
            out[(info.layer, info.datatype)] = n
    return out


# ---------------------------------------------------------- bundled kits --


@pytest.mark.parametrize("fmt", ["md", "html"])
@pytest.mark.parametrize("name", KITS)
def test_manual_of_every_kit(runner, tmp_path, name, fmt):
    kit = pdks.load(name)
    out = tmp_path / "m"
    r = runner.invoke(cli, ["pdk", "docs", name, "-o", str(out), "--format", fmt])
    assert r.exit_code == 0, r.output
    manual = out / f"manual.{fmt}"
    text = manual.read_text()
    assert r.output.splitlines()[0] == f"wrote {manual}: {len(kit.layers)} layers, {len(kit.rules)} rules, {len(kit.devices)} devices"
    assert f"{kit.name} {kit.version}" in text.splitlines()[0 if fmt == "md" else 4]
    for lay in kit.layers.values():
        row = f"| {lay.name} | {lay.gds[0]}/{lay.gds[1]} |" if fmt == "md" else f"<tr><td>{lay.name}</td><td class=\"num\">{lay.gds[0]}/{lay.gds[1]}</td>"
        assert row in text, lay.name
    rules_part = text[text.index("Rules"):text.index("Rule kinds used")] if kit.rules else ""
    heading = re.compile(r"^### (.+)$" if fmt == "md" else r'<h3 id="rules-([^"]+)">', re.MULTILINE)
    for rule in kit.rules:
        row = f"| {rule.id} | {rule.kind} |" if fmt == "md" else f"<td>{rule.id}</td><td>{rule.kind}</td>"
        assert rules_part.count(row) == 1, rule.id
        # under the heading of its layer
        at = rules_part.index(row)
        assert [m[1] for m in heading.finditer(rules_part, 0, at)][-1] == rule.layer, rule.id
    # one picture per device, referenced from the manual, valid SVG
    pictures = sorted(p.name for p in (out / "devices").iterdir())
    assert pictures == sorted(f"{m}.svg" for m in kit.devices)
    for model, dev in kit.devices.items():
        ref = f"](devices/{model}.svg)" if fmt == "md" else f'<img src="devices/{model}.svg"'
        assert ref in text
        for p in dev.params.values():
            assert p.name in text
    for f in (out / "devices").iterdir():
        assert svg_polygons(f)
    assert not list(out.rglob("*.tmp")) and not list(out.rglob(".*"))


@pytest.mark.parametrize("name", KITS)
def test_pictures_show_every_polygon_in_kit_colours(tmp_path, name):
    """Each device picture has every polygon KLayout reads from the device,
    on the right layer, filled with the kit's colour for that layer."""
    kit = pdks.load(name)
    res = write_manual(kit, tmp_path / "m")
    colours = layer_colours(kit)
    by_gds = {lay.gds: n for n, lay in kit.layers.items()}
    for model, path in zip(kit.devices, res.pictures):
        assert path.name == f"{model}.svg"
        cell = generate(kit, model).cell
        got = svg_polygons(path)
        assert got == klayout_polygons(kit, cell, tmp_path), model
        style = ET.parse(path).getroot().find(f"{SVG}defs/{SVG}style").text
        for gds in got:
            if gds in by_gds:
                assert re.search(rf"\.l{gds[0]}d{gds[1]} {{fill:{colours[by_gds[gds]]};", style), (model, gds)


def test_colours_from_kit_else_palette(gan650):
    colours = layer_colours(gan650)
    for name, lay in gan650.layers.items():
        assert colours[name] == lay.color.lower()
    bare = dataclasses.replace(gan650, layers={n: dataclasses.replace(l, color=None) for n, l in gan650.layers.items()})
    c2 = layer_colours(bare)
    assert all(re.fullmatch(r"#[0-9a-f]{6}", c) for c in c2.values())
    assert len(set(c2.values())) > 1


def test_manual_is_reproducible(tmp_path, gan650):
    a = write_manual(gan650, tmp_path / "a", fmt="html")
    b = write_manual(gan650, tmp_path / "b", fmt="html")
    for x, y in zip((a.manual, *a.pictures), (b.manual, *b.pictures)):
        assert x.read_bytes() == y.read_bytes(), x.name


def test_metal_stack_and_connectivity(gan650):
    text = render(gan650, "md")
    stack = text[text.index("## Metal stack"):text.index("## Connectivity")]
    for name, lay in gan650.layers.items():
        if lay.jmax_ma_per_um is not None:
            assert f"| {name} | {lay.purpose} |" in stack
            assert f"| {lay.jmax_ma_per_um:g} |" in stack
    assert "| PASS |" not in stack  # no stack figures, no row
    for group in gan650.connect:
        assert f"`{' / '.join(group)}`" in text
    assert "routing stack, bottom up: " + " / ".join(gan650.routing) in text


def test_default_folder_and_default_format(runner, tmp_path):
    with runner.isolated_filesystem(temp_dir=tmp_path) as cwd:
        r = runner.invoke(cli, ["pdk", "docs", "gan650"])
        assert r.exit_code == 0, r.output
        assert (Path(cwd) / "gan650-manual" / "manual.md").is_file()
        assert not (Path(cwd) / "gan650-manual" / "manual.html").exists()


# ------------------------------------------------------------- escaping --


def test_html_escapes_rule_docs(runner, tmp_path):
    evil = '<script>alert("x")</script> & | pipe'
    kit = copy_kit(tmp_path, lambda t: t.replace('doc = "Minimum MESA width"', f"doc = '{evil}'", 1))
    out = tmp_path / "h"
    r = runner.invoke(cli, ["pdk", "docs", str(kit), "-o", str(out), "--format", "html"])
    assert r.exit_code == 0, r.output
    html = (out / "manual.html").read_text()
    assert "<script" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; | pipe" in html
    # Markdown: no raw HTML, and the pipe does not split the table row
    r = runner.invoke(cli, ["pdk", "docs", str(kit), "-o", str(tmp_path / "m")])
    md = (tmp_path / "m" / "manual.md").read_text()
    assert "<script" not in md
    row = next(line for line in md.splitlines() if line.startswith("| MESA.W.1 |"))
    assert row.endswith("&lt;script&gt;alert(\"x\")&lt;/script&gt; &amp; \\| pipe |")
    assert len(re.split(r"(?<!\\)\|", row)) == 8  # 6 cells


# ----------------------------------------------- rule fields, generically --


def test_extra_rule_fields_are_shown(tmp_path):
    rules = tmp_path / "rules.toml"
    rules.write_text(
        """
[layers.M1]
gds = [10, 0]
purpose = "routing"
[[rules]]
id = "M1.DEN"
kind = "density"
layer = "M1"
value = 0.2
max = 0.8
window = 100.0
step = 50.0
doc = "M1 density"
[[rules]]
id = "M1.WS"
kind = "wide_spacing"
layer = "M1"
table = [[10.0, 3.0], [30.0, 6.0]]
doc = "wide M1 spacing"
[[rules]]
id = "M1.S.P"
kind = "spacing"
layer = "M1"
value = 2.0
metric = "projection"
doc = "M1 spacing"
"""
    )
    kit = load_rules_file(rules)
    text = render(kit, "md")
    assert "| M1.DEN | density | M1 | 0.2 | max = 0.8; window = 100; step = 50 | M1 density |" in text
    assert "| M1.WS | wide_spacing | M1 | - | table = [[10, 3], [30, 6]] | wide M1 spacing |" in text
    assert "| M1.S.P | spacing | M1 | 2 um | metric = projection | M1 spacing |" in text
    assert "The kit has no devices." in text
    html = render(kit, "html")
    assert "<td>max = 0.8<br>window = 100<br>step = 50</td>" in html


def test_fields_of_kinds_added_later_show():
    """A field added to Rule later (a new kind's) is rendered without a template change."""

    @dataclasses.dataclass(frozen=True)
    class NewRule(Rule):
        halo: float | None = None

    r = NewRule(id="X.1", kind="width", layer="M1", value=1.0, halo=2.5)
    assert rule_extras(r) == [("halo", "2.5")]
    assert rule_extras(Rule(id="X.2", kind="width", layer="M1", value=1.0)) == []


# ------------------------------------------------------------ bad input --


def _one_error(r, start: str) -> str:
    lines = r.output.strip().splitlines()
    assert r.exit_code == 2, r.output
    assert len(lines) == 1 and lines[0].startswith(start), r.output
    assert "Traceback" not in r.output
    return lines[0]


def test_unknown_kit(runner, tmp_path):
    out = tmp_path / "x"
    line = _one_error(runner.invoke(cli, ["pdk", "docs", "nokit", "-o", str(out)]), "Error: unknown PDK 'nokit'; available PDKs are ")
    assert "gan650" in line
    assert not out.exists()


def test_bad_format(runner, tmp_path):
    r = runner.invoke(cli, ["pdk", "docs", "gan650", "-o", str(tmp_path / "x"), "--format", "pdf"])
    assert r.exit_code == 2 and "'pdf' is not one of 'md', 'html'" in r.output
    assert not (tmp_path / "x").exists()


def test_invalid_kit_file(runner, tmp_path):
    kit = copy_kit(tmp_path, lambda t: t.replace('layer = "MESA"', 'layer = "MESAX"', 1))
    line = _one_error(runner.invoke(cli, ["pdk", "docs", str(kit), "-o", str(tmp_path / "x")]), "Error: ")
    assert "'MESAX' is not a layer" in line
    assert not (tmp_path / "x").exists()


def test_device_failing_writes_nothing(runner, tmp_path):
    kit = copy_kit(
        tmp_path,
        devices_edit=lambda t: t.replace("def pad(kit: PDK, *, name: str, size: float = 80.0) -> DeviceCell:\n", "def pad(kit: PDK, *, name: str, size: float = 80.0) -> DeviceCell:\n    raise RuntimeError('broken pad')\n"),
    )
    out = tmp_path / "x"
    line = _one_error(runner.invoke(cli, ["pdk", "docs", str(kit), "-o", str(out)]), "Error: ")
    assert "device 'pad' does not generate at its default parameters: RuntimeError: broken pad" in line
    assert not out.exists()


def test_output_is_a_file(runner, tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    r = runner.invoke(cli, ["pdk", "docs", "gan650", "-o", str(f)])
    assert r.exit_code == 2 and "Traceback" not in r.output
    assert f.read_text() == "x"


def test_metal_stack_derating_columns(gan650):
    """Derating figures get their columns (and only layers with figures get rows)."""
    bare = {f: None for f in ("imax_ma_per_cut", "jmax_ref_c", "em_ea_ev")}
    layers = {n: dataclasses.replace(lay, **bare) for n, lay in gan650.layers.items()}
    layers["MET2"] = dataclasses.replace(layers["MET2"], jmax_ref_c=110.0, em_ea_ev=0.8)
    layers["VIA1"] = dataclasses.replace(layers["VIA1"], imax_ma_per_cut=12.5)
    kit = dataclasses.replace(gan650, layers=layers)
    text = render(kit, "md")
    stack = text[text.index("## Metal stack"):text.index("## Connectivity")]
    assert "| current per cut (mA) | limits at (deg C) | EM derating Ea (eV) |" in stack
    v, m = layers["VIA1"], layers["MET2"]
    assert f"| VIA1 | cut | {'-' if v.thickness_um is None else f'{v.thickness_um:g}'} | - | - | 12.5 | - | - |" in stack
    assert f"| MET2 | routing | {m.thickness_um:g} | {m.sheet_ohm:g} | {m.jmax_ma_per_um:g} | - | 110 | 0.8 |" in stack
    assert "the 'limits at' column" in stack and "the 'EM derating Ea' column" in stack
    html = render(kit, "html")
    assert "<th>EM derating Ea (eV)</th>" in html and '<td class="num">110</td>' in html


def test_manual_lists_terminal_ratings():
    """Every device's terminal ratings at default parameters, as the
    generator computes them (the 6 mm hemtek's drain: ten 4 um MET1 fingers,
    200 mA; its channel 2.4 A), in both formats; a capacitor passes no DC."""
    kit = pdks.load("gan650")
    md = render(kit, "md")
    sec = md[md.index("### hemtek"):md.index("### sbd")]
    assert "| d | 200 mA | 10 drain finger(s) 4 um wide: 40 um of MET1 at 5 mA/um | 2.4 A |" in sec
    assert "| ks | 50 mA | Kelvin neck: 10 um of MET1 at 5 mA/um | - |" in sec
    mim = md[md.index("### mim"):]
    assert "| no DC |" in mim
    html = render(kit, "html")
    assert "<td>d</td><td class=\"num\">200 mA</td>" in html
    assert generate(kit, "hemtek", {}).rating("d").amps(kit) == 0.2
