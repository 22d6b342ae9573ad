"""flow.lvs.compare on netlists: the sample designs' source netlists against
layout-like copies (devices renamed, nets unnamed except labelled ones) with
one fault each; every fault must come out in its own category."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

import pdk as pdks
from flow.config import load_design
from flow.lvs.compare import LayoutView, Tolerance, compare, device_rules
from flow.netlist.model import Instance, Netlist
from flow.netlist.spice import read_spice

DESIGNS = Path(__file__).resolve().parents[2] / "designs"
NAMES = sorted(p.name for p in DESIGNS.iterdir() if (p / "design.toml").is_file())


KITS: dict[str, object] = {}


def source_of(name: str) -> tuple[Netlist, object]:
    cfg = load_design(DESIGNS / name)
    kit = pdks.load(cfg.pdk)
    src = read_spice(cfg.netlist, root=cfg.folder, kit=kit, top=cfg.top)
    KITS[src.top] = kit
    return src, kit


def with_defaults(kit, inst: Instance) -> dict[str, float]:
    """The instance's SI parameters with the kit's defaults filled in (what
    an extraction measures)."""
    out = dict(inst.params)
    for name, spec in kit.device(inst.model).params.items():
        out.setdefault(name, spec.default * (1e-6 if spec.unit == "um" else 1.0))
    return out


def as_layout(src: Netlist, *, labelled=None, seed: int = 1, edit=None, kit=None) -> LayoutView:
    """A layout-like copy: devices renamed and shuffled, nets renamed to
    ``$k`` except ``labelled`` ones (default: all), whose label is the name.
    ``edit(instances)`` changes the instance list first (source names)."""
    kit = kit or KITS[src.top]
    insts = [Instance(i.name, i.model, dict(i.pins), with_defaults(kit, i)) for i in src.instances]
    if edit is not None:
        insts = edit(insts)
    labelled = set(src.nets) if labelled is None else set(labelled)
    nets = sorted({n for i in insts for n in i.pins.values()})
    rename = {n: (n if n in labelled else f"${k}") for k, n in enumerate(nets)}
    rng = random.Random(seed)
    rng.shuffle(insts)
    out = [Instance(f"D{k}", i.model, {t: rename[n] for t, n in i.pins.items()}, i.params) for k, i in enumerate(insts)]
    locs = {n: (("MET1", float(k), 0.0),) for k, n in enumerate(rename.values())}
    labels = {n: locs[n] for n in rename.values() if n in labelled}
    return LayoutView(Netlist(src.top, tuple(out)), locs, {}, labels)


def replace_inst(insts, name, **kw):
    out = []
    for i in insts:
        if i.name == name:
            i = Instance(i.name, kw.get("model", i.model), kw.get("pins", i.pins), kw.get("params", i.params))
        out.append(i)
    return out


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("labelled", ["all", "ports", "none"])
def test_identical_layout_matches(name, labelled):
    src, kit = source_of(name)
    lab = {"all": None, "ports": set(src.ports), "none": set()}[labelled]
    res = compare(src, as_layout(src, labelled=lab), kit)
    assert res.status == "match", res.counts()
    assert res.clean
    assert len(res.device_map) == len(src.instances)
    # the device map is the true correspondence up to symmetry: every pin
    # lands on the image of its net
    lay = as_layout(src, labelled=lab)
    assert len(set(res.device_map.values())) == len(src.instances)
    assert len(res.net_map) == len(src.nets)


def test_deleted_device_is_missing():
    src, kit = source_of("gan_ringosc")
    victim = "X3/XD"
    res = compare(src, as_layout(src, edit=lambda ii: [i for i in ii if i.name != victim]), kit)
    assert res.status == "mismatch"
    assert [m["device"] for m in res.missing_devices] == [victim]
    assert res.missing_devices[0]["model"] == "hemte"
    others = {k: v for k, v in res.counts().items() if k != "missing_devices"}
    assert not any(others.values()), others


@pytest.mark.parametrize("labelled", ["all", "ports"])
def test_finger_count_is_a_parameter_mismatch(labelled):
    src, kit = source_of("gan_ringosc")
    victim = "XB2/XD"
    nf = src.by_name[victim].params.get("nf")
    assert nf == 2

    def edit(ii):
        i = next(x for x in ii if x.name == victim)
        return replace_inst(ii, victim, params={**i.params, "nf": 3})

    res = compare(src, as_layout(src, labelled=None if labelled == "all" else set(src.ports), edit=edit), kit)
    assert res.status == "mismatch"
    (pm,) = res.parameter_mismatches
    assert (pm["device"], pm["param"], pm["source"], pm["layout"]) == (victim, "nf", 2, 3)
    others = {k: v for k, v in res.counts().items() if k != "parameter_mismatches"}
    assert not any(others.values()), others


def test_width_within_tolerance_matches_and_outside_does_not():
    src, kit = source_of("gan_ringosc")
    victim = "X1/XD"
    w = src.by_name[victim].params["w"]

    def edit(factor):
        def f(ii):
            i = next(x for x in ii if x.name == victim)
            return replace_inst(ii, victim, params={**i.params, "w": w * factor})
        return f

    assert compare(src, as_layout(src, edit=edit(1.001)), kit).status == "match"
    res = compare(src, as_layout(src, edit=edit(1.1)), kit)
    (pm,) = res.parameter_mismatches
    assert pm["param"] == "w" and pm["source"] == pytest.approx(w * 1e6) and pm["layout"] == pytest.approx(w * 1.1e6)
    assert pm["unit"] == "um"


@pytest.mark.parametrize("labelled", ["all", "ports", "none"])
def test_swapped_gate_and_drain(labelled):
    src, kit = source_of("gan_ringosc")
    victim = "X2/XD"

    def edit(ii):
        i = next(x for x in ii if x.name == victim)
        p = dict(i.pins)
        p["g"], p["d"] = p["d"], p["g"]
        return replace_inst(ii, victim, pins=p)

    lab = {"all": None, "ports": set(src.ports), "none": set()}[labelled]
    res = compare(src, as_layout(src, labelled=lab, edit=edit), kit)
    assert res.status == "mismatch"
    if labelled == "none":
        # without any name, a gate/drain swap in a ring is a different but
        # valid-looking circuit: it must still be flagged somehow
        assert any(res.counts().values())
        return
    (sw,) = res.swapped_connections
    assert sw["device"] == victim and sw["terminals"] == ["d", "g"]
    assert sw["source"] == {"d": src.by_name[victim].pins["d"], "g": src.by_name[victim].pins["g"]}
    others = {k: v for k, v in res.counts().items() if k != "swapped_connections"}
    assert not any(others.values()), others


def test_open_splits_a_net():
    src, kit = source_of("gan_ringosc")
    net = "n3"
    pins = src.net_pins[net]
    moved = pins[-1]  # one pin goes to a new, unconnected piece

    def edit(ii):
        i = next(x for x in ii if x.name == moved[0])
        return replace_inst(ii, moved[0], pins={**i.pins, moved[1]: "piece"})

    res = compare(src, as_layout(src, labelled=set(src.nets), edit=edit), kit)
    assert res.status == "mismatch"
    (op,) = res.opens
    assert op["net"] == net and len(op["layout_nets"]) == 2
    assert op["pins"][op["layout_nets"][1]] == [f"{moved[0]}.{moved[1]}"]
    assert op["location"] is not None
    others = {k: v for k, v in res.counts().items() if k != "opens"}
    assert not any(others.values()), others


@pytest.mark.parametrize("labels", ["both", "one"])
def test_short_merges_two_nets(labels):
    src, kit = source_of("gan_ringosc")
    a, b = "n2", "n4"

    def edit(ii):
        return [Instance(i.name, i.model, {t: (a if n == b else n) for t, n in i.pins.items()}, i.params) for i in ii]

    view = as_layout(src, edit=edit)
    lab = dict(view.labels)
    if labels == "both":
        lab[b] = (("MET2", 5.0, 7.0),)  # the second label lands on the merged net
    view = LayoutView(view.netlist, {**view.net_locations, a: (("MET1", 0.0, 0.0), ("MET2", 5.0, 7.0))}, {}, lab)
    res = compare(src, view, kit)
    assert res.status == "mismatch"
    (sh,) = res.shorts
    assert set(sh["nets"]) == {a, b} and sh["layout_net"] == a
    if labels == "both":
        assert sh["paths"] and sh["paths"][0]["length_um"] > 0
    others = {k: v for k, v in res.counts().items() if k != "shorts"}
    assert not any(others.values()), others


def test_interchangeable_resistor_ends_match():
    kit = pdks.load("sic1200")
    src = Netlist("t", (Instance("R1", "rpoly", {"p": "a", "n": "b"}, {"r": 20.0}), Instance("M", "nmos", {"d": "b", "g": "a", "s": "c"})), ("a", "b", "c"))
    lay = Netlist("t", (Instance("r", "rpoly", {"p": "b", "n": "a"}, {"r": 20.0}), Instance("m", "nmos", {"d": "c", "g": "a", "s": "b"})))
    res = compare(src, LayoutView(lay), kit)
    assert res.match, res.counts()
    assert res.status == "incomplete"  # the layout netlist has no w, l: not claimed
    assert device_rules(kit)["rpoly"].groups == (("p", "n"),)


def test_hemt_source_drain_not_interchangeable():
    kit = pdks.load("gan650")
    src = Netlist("t", (Instance("Q", "hemte", {"d": "a", "g": "g", "s": "b"}),), ("a", "g", "b"))
    lay = Netlist("t", (Instance("q", "hemte", {"d": "b", "g": "g", "s": "a"}),))
    res = compare(src, LayoutView(lay), kit)
    (sw,) = res.swapped_connections
    assert sw["terminals"] == ["d", "s"]


def test_port_pads_are_infrastructure_and_other_pads_extra():
    kit = pdks.load("gan650")
    src = Netlist("t", (Instance("Q", "hemte", {"d": "a", "g": "g", "s": "b"}),), ("a", "g", "b"))
    lay = Netlist("t", (
        Instance("q", "hemte", {"d": "a", "g": "g", "s": "b"}),
        Instance("p1", "pad", {"p": "a"}), Instance("p2", "pad", {"p": "g"}), Instance("p3", "pad", {"p": "b"}),
    ))
    res = compare(src, LayoutView(lay), kit)
    assert res.match, res.counts()
    assert len(res.infrastructure) == 3
    lay2 = Netlist("t", lay.instances[:3] + (Instance("p4", "pad", {"p": "x"}),))
    res = compare(src, LayoutView(lay2), kit)
    assert [p["port"] for p in res.ports] == ["b"]
    assert res.ports[0]["problem"] == "no pad on the port's net"
    assert [e["device"] for e in res.extra_devices] == ["p4"]


def test_parameters_not_measured_are_not_claimed():
    src, kit = source_of("gan_ringosc")

    def edit(ii):
        return [Instance(i.name, i.model, i.pins, {k: v for k, v in i.params.items() if k != "lgd"}) for i in ii]

    res = compare(src, as_layout(src, edit=edit), kit)
    assert res.match and res.status == "incomplete" and not res.clean
    assert any(s.startswith("hemte.lgd: not measured") for s in res.not_compared)


def test_tolerance():
    t = Tolerance(0.01, 0.002)
    assert t.agrees(100.0, 100.9) and not t.agrees(100.0, 101.1)
    assert t.agrees(0.1, 0.102) and not t.agrees(0.1, 0.103)


def test_models_without_recognition_are_not_compared_not_missing():
    kit = pdks.load("sic1200")
    assert kit.devices["vmos"].lvs is None  # the kit has no LVS table for it
    src = Netlist("t", (
        Instance("M", "nmos", {"d": "a", "g": "b", "s": "c"}, {"w": 20e-6, "l": 2e-6, "nf": 1}),
        Instance("V", "vmos", {"d": "a", "g": "b", "s": "c"}),
    ), ("a", "b", "c"))
    lay = Netlist("t", (Instance("m", "nmos", {"d": "a", "g": "b", "s": "c"}, {"w": 20e-6, "l": 2e-6, "nf": 1}),))
    res = compare(src, LayoutView(lay), kit)
    assert res.match and res.status == "incomplete"
    assert not res.missing_devices
    assert any(x.startswith("vmos: PDK sic1200 has no LVS recognition") for x in res.not_compared)
