"""pdk.toml LVS tables: ``[devices.X.lvs]`` and ``[pdk.lvs]`` are read
strictly; every problem is reported with its key path, all at once."""

from __future__ import annotations

from pathlib import Path

import pytest

import pdk as pdks
from flow.errors import PDKError
from pdk.schema import LVS_METHODS, expression_layers, load_pdk_file

ROOT = Path(__file__).resolve().parents[2]


def _load_edited(tmp_path: Path, kit: str, edit) -> None:
    text = (ROOT / "pdk" / kit / "pdk.toml").read_text()
    new = edit(text)
    assert new != text, "the edit changed nothing"
    p = tmp_path / "pdk.toml"
    p.write_text(new)
    load_pdk_file(p)


@pytest.mark.parametrize("kit", ["gan650", "ganrf025", "sic1200"])
def test_bundled_kits_describe_their_devices(kit):
    k = pdks.load(kit)
    for model, dev in k.devices.items():
        assert dev.lvs is not None, model
        roles, measures = LVS_METHODS[dev.lvs.method]
        if dev.lvs.method != "none":
            assert set(dev.lvs.terminals) == set(dev.terminals)
        assert set(dev.lvs.terminals.values()) <= roles
        assert {m.split(":")[0] for m in dev.lvs.measure.values()} <= measures
        assert set(dev.lvs.tolerance) <= set(dev.lvs.measure)


def test_expression_layers():
    assert expression_layers("A & (B | C) - D") == ["A", "B", "C", "D"]
    for bad in ("", "A &", "(A", "A B", "A + B", "& A"):
        assert expression_layers(bad) is None, bad


@pytest.mark.parametrize(
    "old,new,message",
    [
        ('lvs.method = "fet"\nlvs.recognize = "GATE & MESA & PGAN"', 'lvs.method = "mosfet"\nlvs.recognize = "GATE & MESA & PGAN"',
         "devices.hemte.lvs.method: 'mosfet' is not an LVS method; methods are fet,"),
        ('lvs.recognize = "GATE & MESA & PGAN"', 'lvs.recognize = "GATE & MESA & PGANN"',
         "devices.hemte.lvs.recognize: 'PGANN' is not a layer; layers are MESA,"),
        ('lvs.recognize = "GATE & MESA & PGAN"', 'lvs.recognize = "GATE & & PGAN"',
         "devices.hemte.lvs.recognize: 'GATE & & PGAN' is not a layer expression"),
        ('lvs.terminals = { d = "drain", g = "gate", s = "source" }', 'lvs.terminals = { d = "drain", g = "gate", s = "emitter" }',
         "devices.hemte.lvs.terminals.s: 'emitter' is not a terminal role of method 'fet'"),
        ('lvs.terminals = { d = "drain", g = "gate", s = "source" }', 'lvs.terminals = { d = "drain", g = "gate" }',
         "devices.hemte.lvs.terminals.s: missing: every terminal needs a role"),
        ('nf = "fingers", lgd = "gap:OHMIC", lfp', 'nf = "fingers", lgd = "gap", lfp',
         "devices.hemte.lvs.measure.lgd: 'gap' names a layer: 'gap:LAYER'"),
        ('nf = "fingers", lgd = "gap:OHMIC", lfp', 'nf = "area", lgd = "gap:OHMIC", lfp',
         "devices.hemte.lvs.measure.nf: 'area' is not a measure of method 'fet'"),
        ('nf = "fingers", lgd = "gap:OHMIC", lfp', 'nf = "fingers:0", lgd = "gap:OHMIC", lfp',
         "devices.hemte.lvs.measure.nf: 'fingers' takes an optional positive divisor"),
        ('w = "width", l = "length", nf', 'w = "width:MET1", l = "length", nf',
         "devices.hemte.lvs.measure.w: 'width' takes no argument"),
        ('lvs.tolerance = { w = 0.01, l = 0.01, lgd = 0.02, lfp', 'lvs.tolerance = { w = -0.01, l = 0.01, lgd = 0.02, lfp',
         "devices.hemte.lvs.tolerance.w: must not be negative"),
        ('lvs.group = "MESA"', 'lvs.group = "MESA"\nlvs.colour = "red"',
         "devices.hemte.lvs.colour: unknown key; allowed keys are"),
        ('lvs.per_um2 = 0.3e-15\n', '',
         "devices.mim.lvs.per_um2: a capacitor measured by 'value' needs per_um2"),
    ],
)
def test_bad_device_lvs(tmp_path, old, new, message):
    with pytest.raises(PDKError) as e:
        _load_edited(tmp_path, "gan650", lambda t: t.replace(old, new, 1))
    assert message in str(e.value)


def test_bad_pdk_lvs_collects_every_problem(tmp_path):
    edit = lambda t: t.replace(  # noqa: E731
        'derived = { SD = "ACTIVE - POLY", GPOLY = "POLY - RPOLY" }',
        'derived = { SD = "ACTIVE - POLYY", MET1 = "POLY", X = "(POLY" }\nswitch = 1',
    )
    with pytest.raises(PDKError) as e:
        _load_edited(tmp_path, "sic1200", edit)
    msg = str(e.value)
    assert "pdk.lvs.derived.SD: 'POLYY' is not a layer" in msg
    assert "pdk.lvs.derived.MET1: 'MET1' is already a layer" in msg
    assert "pdk.lvs.derived.X: '(POLY' is not a layer expression" in msg
    assert "pdk.lvs.switch: unknown key" in msg
    # the devices that used GPOLY now name a layer the kit lacks
    assert "devices.nmos.lvs.gate: 'GPOLY' is not a layer" in msg


def test_device_halo(tmp_path):
    """devices.<model>.halo: um the placer keeps clear around the device;
    0 when absent, never negative."""
    text = (ROOT / "pdk" / "gan650" / "pdk.toml").read_text().replace("[devices.hemtek]\n", "[devices.hemtek]\nhalo = 40.0\n", 1)
    (tmp_path / "pdk.toml").write_text(text)
    kit = load_pdk_file(tmp_path / "pdk.toml")
    assert kit.devices["hemtek"].halo == 40.0 and kit.devices["hemte"].halo == 0.0
    with pytest.raises(PDKError, match="devices.hemtek.halo: must not be negative"):
        _load_edited(tmp_path, "gan650", lambda t: t.replace('[devices.hemtek]\n', '[devices.hemtek]\nhalo = -1\n', 1))
