"""pilotflow reticle: three different gan650 sample dies, PCMs, seal rings,
labels and marks on one reticle; DRC-clean (pilotflow and a KLayout
cross-check), deterministic; bad input."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import klayout.db as kdb
import pytest
from click.testing import CliRunner

import pdk
from flow.cli import cli
from flow.handoff.reticle import build_reticle, parse_size, write_reticle
from pdk.pcm import clearance, kit_pcms, line_rules

SIZE = "3.4x3.4mm"


def reticle(*args):
    return CliRunner().invoke(cli, ["--quiet", "reticle", *map(str, args)])


@pytest.fixture(scope="module")
def three_die_reticle(gan_bundles, tmp_path_factory):
    out = tmp_path_factory.mktemp("reticle") / "mpw.gds"
    res = reticle(*gan_bundles.values(), "-o", out, "--size", SIZE)
    return res, out


def test_reticle_of_three_dies_is_drc_clean(three_die_reticle):
    res, out = three_die_reticle
    assert res.exit_code == 0, res.output
    rep = json.loads(out.with_suffix(".json").read_text())
    assert rep["drc"]["clean"] and rep["drc"]["violations"] == 0 and rep["drc"]["not_checked"] == []
    assert rep["drc"]["rules_checked"] == len(pdk.load("gan650").rules)
    assert rep["pcms_not_placed"] == []


def test_klayout_counts_dies_labels_pcms(three_die_reticle, gan_bundles):
    _, out = three_die_reticle
    kit = pdk.load("gan650")
    ly = kdb.Layout()
    ly.read(str(out))
    top = ly.top_cell()
    assert top.name == "RETICLE"
    kids = [ly.cell(i.cell_index).name for i in top.each_inst()]
    assert sorted(k for k in kids if k.startswith("DIE_")) == ["DIE_gan_halfbridge", "DIE_gan_kelvin", "DIE_gan_ringosc"]
    assert sorted(k for k in kids if k.startswith("LABEL_")) == ["LABEL_gan_halfbridge", "LABEL_gan_kelvin", "LABEL_gan_ringosc"]
    assert sorted(k for k in kids if k.startswith("PCM_")) == sorted(p.cell.name for p in kit_pcms(kit))
    assert len([k for k in kids if k.startswith("ALIGN_")]) == 4
    assert kids.count("TITLE_RETICLE") == 1  # reticle name and kit in the frame
    # each die's own top cell is inside its footprint, renamed with the design prefix
    for design, b in gan_bundles.items():
        top_name = json.loads((b / "bundle.json").read_text())["top"]
        assert ly.cell(f"{design}__{top_name}") is not None
    # labels are polygons on the top metal, no text objects
    met2 = ly.layer(*kit.layers["MET2"].gds)
    lab = ly.cell("LABEL_gan_kelvin")
    assert lab.shapes(met2).size() > 5 and all(not s.is_text() for s in lab.shapes(met2).each())


def _flat(ly: kdb.Layout, gds) -> kdb.Region:
    return kdb.Region(ly.top_cell().begin_shapes_rec(ly.layer(*gds))).merged()


def test_klayout_cross_check_and_layout(three_die_reticle):
    """KLayout's own width/space checks on both metals, seal rings around the
    dies that had none, footprints apart, everything inside the reticle."""
    _, out = three_die_reticle
    kit = pdk.load("gan650")
    ly = kdb.Layout()
    ly.read(str(out))
    for metal in ("MET1", "MET2"):
        w, _ = line_rules(kit, metal)
        reg = _flat(ly, kit.layers[metal].gds)
        assert reg.width_check(w).count() == 0, metal
        for kind, check in (("spacing", reg.space_check), ("notch", reg.notch_check)):
            for r in kit.rules:
                if r.kind == kind and r.layer == metal and r.other in (None, metal):
                    assert check(kit.dbu(r.value)).count() == 0, r.id
    rep = json.loads(out.with_suffix(".json").read_text())
    seal = _flat(ly, kit.layers["SEAL"].gds)
    dies = [i for i in rep["items"] if i["kind"] == "die"]
    assert len(dies) == 3
    for d in dies:
        box = kdb.Box(*(kit.dbu(v) for v in d["rect_um"]))
        ring = seal & kdb.Region(box)
        assert ring.count() == 1 and ring.holes().count() == 1, d["name"]  # one closed seal ring per die
        # the ring keeps a 40 um half scribe lane (own or added) from the footprint edge
        assert ring.bbox() == box.enlarged(-kit.dbu(40.0), -kit.dbu(40.0)), d["name"]
    c = clearance(kit)
    rects = [kdb.Box(*(kit.dbu(v) for v in i["rect_um"])) for i in rep["items"]]
    outline = kdb.Box(0, 0, kit.dbu(3400.0), kit.dbu(3400.0))
    for i, a in enumerate(rects):
        assert outline.contains(a.p1) and outline.contains(a.p2)
        for b in rects[i + 1 :]:
            assert not a.enlarged(c - 1, c - 1).overlaps(b), (a, b)


def test_reticle_is_deterministic(gan_bundles, three_die_reticle, tmp_path):
    _, out = three_die_reticle
    again = build_reticle(list(gan_bundles.values()), parse_size(SIZE), check=False)
    write_reticle(again, tmp_path / "again.gds")
    assert hashlib.sha256((tmp_path / "again.gds").read_bytes()).digest() == hashlib.sha256(out.read_bytes()).digest()


def test_reticle_too_small(gan_bundles, tmp_path):
    res = reticle(*gan_bundles.values(), "-o", tmp_path / "r.gds", "--size", "2x2")
    assert res.exit_code == 2
    assert "too small for 3 dies; they need at least" in res.output
    need = res.output.split("at least ")[1].split(" mm")[0]
    w, h = (float(v) for v in need.split(" x "))
    assert w > 2 and h > 2
    assert not (tmp_path / "r.gds").exists()
    # the size it asks for is enough for the dies
    ok = build_reticle(list(gan_bundles.values()), (w * 1000, h * 1000), check=False)
    assert len(ok.of("die")) == 3


def _retag(bundle: Path, dest: Path, **changes) -> Path:
    """A copy of ``bundle`` with bundle.json changed and the manifest redone."""
    b = shutil.copytree(bundle, dest)
    meta = json.loads((b / "bundle.json").read_text())
    meta.update(changes)
    (b / "bundle.json").write_text(json.dumps(meta, indent=2) + "\n")
    lines = []
    for line in (b / "manifest.sha256").read_text().splitlines():
        name = line.split("  ", 1)[1]
        lines.append(f"{hashlib.sha256((b / name).read_bytes()).hexdigest()}  {name}\n")
    (b / "manifest.sha256").write_text("".join(lines))
    return b


def test_reticle_bad_input(gan_bundles, tmp_path):
    ring, kelvin = gan_bundles["gan_ringosc"], gan_bundles["gan_kelvin"]
    other = _retag(kelvin, tmp_path / "other", pdk="sic1200", pdk_version="0.5.0")
    cases = [
        ((ring, other), "--size", "5x5", "must share one PDK"),
        ((ring, tmp_path / "missing"), "--size", "5x5", "no such bundle directory"),
        ((ring, tmp_path), "--size", "5x5", "not a pilotflow bundle"),
        ((ring,), "--size", "5by5", "is not WxH"),
        ((ring,), "--size", "0x5", "must be positive"),
    ]
    for bundles, opt, size, message in cases:
        res = reticle(*bundles, "-o", tmp_path / "r.gds", opt, size)
        assert res.exit_code == 2, (message, res.output)
        lines = res.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: ") and message in lines[0]
    tampered = shutil.copytree(ring, tmp_path / "tampered")
    (tampered / "ringosc.gds").write_bytes(b"x" + (tampered / "ringosc.gds").read_bytes())
    res = reticle(tampered, "-o", tmp_path / "r.gds", "--size", "5x5")
    assert res.exit_code == 2 and "does not match its checksum" in res.output
    assert not (tmp_path / "r.gds").exists()


def test_parse_size_units():
    assert parse_size("20x15") == (20000.0, 15000.0)
    assert parse_size("4.5x3mm") == (4500.0, 3000.0)
    assert parse_size("3000x2500um") == (3000.0, 2500.0)
    assert parse_size("5X4MM") == (5000.0, 4000.0)


def test_same_die_twice_gets_numbered_labels(gan_bundles):
    ring, kelvin = gan_bundles["gan_ringosc"], gan_bundles["gan_kelvin"]
    res = build_reticle([ring, kelvin, ring], parse_size("3.5x3.5"), check=False)
    dies = res.of("die")
    assert [d.cell.name for d in dies].count("DIE_gan_ringosc") == 2
    assert sorted(p.cell.name for p in res.of("label")) == ["LABEL_gan_kelvin", "LABEL_gan_ringosc_1", "LABEL_gan_ringosc_2"]
    assert "gan_ringosc-2" in next(p.doc for p in res.of("label") if p.cell.name == "LABEL_gan_ringosc_2")
