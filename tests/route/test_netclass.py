"""Net-class sizing: widths from current, cut counts, voltage clearances, densities."""

from __future__ import annotations

import math
from dataclasses import replace
from types import MappingProxyType

import pytest

import pdk as pdks
from flow.route.netclass import clearance, density, derating, has_voltage_rules, limits, net_rules
from pdk.schema import Rule


@pytest.fixture(scope="module")
def kit():
    return pdks.load("gan650")


def with_layer(kit, name, **changes):
    layers = dict(kit.layers)
    layers[name] = replace(layers[name], **changes)
    return replace(kit, layers=MappingProxyType(layers))


def without_vs(kit):
    """``kit`` without its own voltage_spacing rules."""
    return replace(kit, rules=tuple(r for r in kit.rules if r.kind != "voltage_spacing"))


def with_vs(kit):
    """``kit`` with these tests' voltage tables instead of its own."""
    rules = without_vs(kit).rules + (
        Rule("MET1.VS.1", "voltage_spacing", "MET1", 0.0, table=((0.0, 3.0), (100.0, 5.0), (300.0, 8.0), (600.0, 13.0))),
        Rule("MET2.VS.1", "voltage_spacing", "MET2", 0.0, table=((0.0, 4.0), (300.0, 10.0))),
    )
    return replace(kit, rules=rules)


def test_width_from_current(kit):
    lim = limits(kit)
    assert lim.jmax["MET1"] == kit.layers["MET1"].jmax_ma_per_um
    r = net_rules(kit, {"p": (None, 0.1), "q": (None, 0.0101), "z": (5.0, None)}, lim)
    j1, j2 = lim.jmax["MET1"], lim.jmax["MET2"]
    # 100 mA needs 100/j um, rounded up to 0.5 um, never below min width
    assert r["p"].width["MET1"] == kit.dbu(math.ceil(100 / j1 / 0.5) * 0.5)
    assert r["p"].width["MET2"] == kit.dbu(max(kit.min_width("MET2"), math.ceil(100 / j2 / 0.5) * 0.5))
    assert r["p"].need["MET1"] == pytest.approx(100 / j1)
    assert r["p"].wide
    # 10.1 mA on MET1 needs 2.02 um: rounded up to 2.5 (never down to the 2 um minimum)
    if 10.1 / j1 > kit.min_width("MET1"):
        assert r["q"].width["MET1"] == kit.dbu(math.ceil(10.1 / j1 / 0.5) * 0.5)
    # no current: minimum widths, one cut, not wide
    assert r["z"].width == {m: kit.dbu(kit.min_width(m)) for m in kit.routing_metals}
    assert dict(r["z"].cuts) == {"VIA1": 1}
    assert not r["z"].wide


def test_ten_amps_on_gan650(kit):
    """10 A: every metal's width carries it at or under its limit; cuts too."""
    lim = limits(kit)
    r = net_rules(kit, {"SW": (650.0, 10.0)}, lim)["SW"]
    for m in kit.routing_metals:
        w_um = r.width[m] * kit.dbu_um
        assert 10_000 / w_um <= lim.jmax[m] + 1e-9
        assert w_um - 0.5 < max(10_000 / lim.jmax[m], kit.min_width(m))  # not over-sized by a step
    assert r.cuts["VIA1"] * lim.imax["VIA1"] >= 10_000
    assert (r.cuts["VIA1"] - 1) * lim.imax["VIA1"] < 10_000


def test_defaults_are_reported(kit):
    """A kit with no EM data: conservative defaults, each said in the notes."""
    bare = with_layer(with_layer(kit, "MET1", jmax_ma_per_um=None, thickness_um=None), "MET2", jmax_ma_per_um=None)
    bare = with_layer(bare, "VIA1", imax_ma_per_cut=None)
    lim = limits(bare)
    assert lim.jmax["MET1"] == pytest.approx(0.5)  # 1 mA/um/um x assumed 0.5 um
    assert lim.jmax["MET2"] == pytest.approx(kit.layers["MET2"].thickness_um * 1.0)
    assert lim.imax["VIA1"] == pytest.approx(0.5 * kit.min_width("VIA1"))  # weaker metal, cut-wide wire
    text = "\n".join(lim.notes)
    assert "MET1: no jmax_ma_per_um nor thickness_um" in text
    assert "MET2: no jmax_ma_per_um" in text
    assert "VIA1: no imax_ma_per_cut" in text
    # the kit's own per-cut limit wins over the default
    lim2 = limits(with_layer(kit, "VIA1", imax_ma_per_cut=50.0))
    assert lim2.imax["VIA1"] == 50.0
    assert not any(n.startswith("VIA1") for n in lim2.notes)


def test_derating(kit):
    assert derating(None, 105, 0.9) == 1.0
    assert derating(100, 105, 0.9) == 1.0
    hot = derating(150, 105, 0.7)
    assert 0 < hot < 1
    assert derating(150, 105, 0.9) < hot  # larger Ea derates harder
    k = with_layer(kit, "MET2", jmax_ref_c=105.0, em_ea_ev=0.7)
    k = with_layer(k, "MET1", jmax_ref_c=None, em_ea_ev=None)  # a metal without EM data
    lim = limits(k, temperature_c=150.0)
    assert lim.jmax["MET2"] == pytest.approx(kit.layers["MET2"].jmax_ma_per_um * hot)
    # MET1 gives no reference temperature: assumed 25 C, derated with the default Ea, and said so
    assert lim.jmax["MET1"] < kit.layers["MET1"].jmax_ma_per_um
    assert any("MET1: no jmax_ref_c" in n for n in lim.notes)
    # a hotter die needs wider wires
    cold = net_rules(k, {"a": (None, 1.0)}, limits(k))["a"]
    warm = net_rules(k, {"a": (None, 1.0)}, lim)["a"]
    assert warm.width["MET2"] > cold.width["MET2"]


def test_clearance_from_voltage_table(kit):
    bare = without_vs(kit)
    assert not has_voltage_rules(bare, bare.routing_metals)
    assert clearance(bare, "MET1", 0.0, 650.0) == kit.dbu(kit.min_spacing("MET1"))
    vk = with_vs(kit)
    assert has_voltage_rules(vk, ["MET1"])
    assert clearance(vk, "MET1", 0.0, 650.0) == kit.dbu(13.0)
    assert clearance(vk, "MET1", 650.0, 656.0) == kit.dbu(3.0)
    assert clearance(vk, "MET1", 0.0, 100.0) == kit.dbu(3.0)  # step: the row for dV > 0
    assert clearance(vk, "MET1", 0.0, 100.5) == kit.dbu(5.0)
    assert clearance(vk, "MET2", 6.0, 656.0) == kit.dbu(10.0)
    # an unknown voltage: the basic spacing (the DRC says not checked)
    assert clearance(vk, "MET1", None, 650.0) == kit.dbu(kit.min_spacing("MET1"))
    # equal voltages: no row applies ("more than 0 V"), the basic spacing holds
    assert clearance(vk, "MET2", 1.0, 1.0) == kit.dbu(kit.min_spacing("MET2"))
    assert clearance(vk, "MET2", 1.0, 2.0) == kit.dbu(4.0)


def test_density_report(kit):
    lim = limits(kit)
    r = net_rules(kit, {"a": (6.0, 0.5)}, lim)["a"]
    full = density(kit, r, lim, {m: r.width[m] for m in kit.routing_metals}, dict(r.cuts))
    assert full["ratio"] <= 1.0
    assert full["vias"]["VIA1"]["ratio"] <= 1.0
    thin = density(kit, r, lim, {"MET1": kit.dbu(2.0)}, {"VIA1": 1})
    assert thin["layer"] == "MET1"
    assert thin["ma_per_um"] == pytest.approx(250.0)
    assert thin["ratio"] == pytest.approx(250.0 / lim.jmax["MET1"], rel=1e-3)
    assert thin["vias"]["VIA1"]["ma_per_cut"] == pytest.approx(500.0)
    # every metal is reported on its own, the worst one is the headline
    both = density(kit, r, lim, {"MET1": kit.dbu(2.0), "MET2": kit.dbu(100.0)}, {"VIA1": 1})
    assert set(both["layers"]) == {"MET1", "MET2"}
    assert both["layers"]["MET2"]["ma_per_um"] == pytest.approx(5.0)
    assert both["layers"]["MET2"]["width_um"] == pytest.approx(100.0)
    assert both["layers"]["MET1"]["ratio"] == both["ratio"] > both["layers"]["MET2"]["ratio"]
    none = density(kit, net_rules(kit, {"b": (None, None)}, lim)["b"], lim, {"MET1": 2000}, {})
    assert none["ratio"] is None and none["current_a"] is None
