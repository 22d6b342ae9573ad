from pathlib import Path

import pytest

import pdk
from flow.errors import PDKError
from pdk.schema import load_pdk_file, load_rules_file

RULES = """
[layers.MET1]
gds = [10, 0]
purpose = "routing"
label = [10, 10]
[layers.VIA1]
gds = [11, 0]
purpose = "cut"
[layers.MET2]
gds = [12, 0]
purpose = "routing"
label = [12, 10]
"""


def test_gan650_loads():
    kit = pdk.load("gan650")
    assert kit.name == "gan650" and kit.dbu_um == 0.001
    assert kit.routing_metals == ("MET1", "MET2") and kit.routing_cuts == ("VIA1",)
    assert {"hemte", "hemtd", "r2deg", "pad"} <= set(kit.devices)
    assert kit.device("hemte").terminals == ("d", "g", "s")
    assert kit.min_width("MET1") == 2.0 and kit.min_spacing("MET2") == 3.0
    assert kit.enclosure("MET1", "VIA1") == 0.5
    assert kit.dbu(1.2345) == 1234 or kit.dbu(1.2345) == 1235
    assert pdk.available() == ["gan650"] or "gan650" in pdk.available()
    # every rule names real layers
    for r in kit.rules:
        assert r.layer in kit.layers and (r.other is None or r.other in kit.layers)


def test_standalone_rules_file(tmp_path):
    f = tmp_path / "r.toml"
    f.write_text(RULES + '[[rules]]\nid = "M1.W"\nkind = "width"\nlayer = "MET1"\nvalue = 0.5\n')
    kit = load_rules_file(f)
    assert [r.id for r in kit.rules] == ["M1.W"]


def test_every_problem_listed(tmp_path):
    f = tmp_path / "bad.toml"
    f.write_text(
        RULES
        + """
[[rules]]
id = "M1.W"
kind = "width"
layer = "MET3"
value = 1.0
[[rules]]
id = "M2.W"
kind = "width"
layer = "MET2"
value = -2.0
[[rules]]
id = "M2.S"
kind = "spacing"
layer = "MET2"
value = 1.0
colour = "blue"
"""
    )
    for loader in (load_rules_file,):
        with pytest.raises(PDKError) as e:
            loader(f)
        probs = e.value.problems
        assert len(probs) == 3, probs
        text = " | ".join(probs)
        assert "rules[0].layer: 'MET3' is not a layer; layers are MET1, VIA1, MET2" in text
        assert "rules[1].value: must be positive, got -2.0" in text
        assert "rules[2].colour: unknown key" in text
        assert all(p.startswith(str(f)) for p in probs)


def test_full_pdk_checks(tmp_path):
    f = tmp_path / "pdk.toml"
    f.write_text(
        '[pdk]\nname = "t"\nversion = "1.0"\ndbu_um = 0.001\nrouting = ["MET1", "MET2"]\n'
        + RULES
        + '[[rules]]\nid = "X"\nkind = "enclosure"\nlayer = "MET1"\nvalue = 0.0005\nother = "VIA1"\n'
        + '[[rules]]\nid = "Y"\nkind = "wiggle"\nlayer = "MET1"\nvalue = 1\n'
        + '[devices.d]\ngenerator = "g"\nkind = "hemt"\nterminals = ["a"]\nparams.w = { default = 5, min = 6, max = 9 }\n'
    )
    with pytest.raises(PDKError) as e:
        load_pdk_file(f)
    text = " | ".join(e.value.problems)
    assert "pdk.version: '1.0' is not a semantic version" in text
    assert "pdk.routing: must alternate" in text
    assert "rules[0].value: 0.0005 is not on the 0.001 um grid" in text
    assert "rules[1].kind: 'wiggle' is not a rule kind" in text
    assert "devices.d.params.w: default 5.0 is outside [6.0, 9.0]" in text


def test_missing_and_broken_files(tmp_path):
    with pytest.raises(PDKError, match="file not found"):
        load_rules_file(tmp_path / "none.toml")
    bad = tmp_path / "b.toml"
    bad.write_text("[layers\n")
    with pytest.raises(PDKError, match="not valid TOML"):
        load_rules_file(bad)


def test_unknown_pdk():
    with pytest.raises(PDKError, match="unknown PDK 'nope'; available PDKs are .*gan650"):
        pdk.load("nope")


def test_net_tie_layer(tmp_path):
    f = tmp_path / "r.toml"
    f.write_text(RULES + '[layers.TIE]\ngds = [31, 0]\npurpose = "marker"\nnet_tie = "MET1"\n')
    assert load_rules_file(f).layers["TIE"].net_tie == "MET1"
    assert load_rules_file(f).layers["MET1"].net_tie is None
    assert pdk.load("gan650").layers["NETTIE"].net_tie == "MET1"
    f.write_text(
        RULES
        + '[layers.TIE]\ngds = [31, 0]\npurpose = "marker"\nnet_tie = "MET3"\n'
        + '[layers.BAD]\ngds = [32, 0]\npurpose = "device"\nnet_tie = "MET1"\n'
    )
    with pytest.raises(PDKError) as e:
        load_rules_file(f)
    assert e.value.problems == [
        f"{f}: layers.TIE.net_tie: 'MET3' is not a layer; layers are MET1, VIA1, MET2, TIE, BAD",
        f"{f}: layers.BAD.net_tie: only a 'marker' layer can be a net tie, not a 'device' layer",
    ]
