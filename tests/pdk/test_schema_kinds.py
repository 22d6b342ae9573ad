"""Per-kind validation of [[rules]]: values, tables, extra keys, metrics."""

import pytest

from flow.errors import PDKError
from pdk.schema import RULE_KINDS, load_rules_file

LAYERS = """
[layers.MET1]
gds = [10, 0]
purpose = "routing"
label = [10, 10]
[layers.VIA1]
gds = [11, 0]
purpose = "cut"
"""


def _load(tmp_path, rules: str):
    f = tmp_path / "r.toml"
    f.write_text(LAYERS + rules)
    return load_rules_file(f)


def _problems(tmp_path, rules: str) -> list[str]:
    with pytest.raises(PDKError) as e:
        _load(tmp_path, rules)
    return [str(p) for p in e.value.problems]


def test_every_kind_has_a_description():
    for name, ks in RULE_KINDS.items():
        assert ks.other in ("never", "optional", "required"), name
        assert ks.value in ("length", "length0", "area", "fraction", "angle", "none"), name
        assert ks.doc, name


def test_table_kinds_load_and_look_up(tmp_path):
    kit = _load(
        tmp_path,
        """
[[rules]]
id = "M1.VS"
kind = "voltage_spacing"
layer = "MET1"
table = [[0, 2.0], [100, 5.0], [300, 13.0]]
[[rules]]
id = "M1.WS"
kind = "wide_spacing"
layer = "MET1"
table = [[10, 3.0], [35, 6.0]]
""",
    )
    vs, ws = kit.rules
    assert vs.value == 0.0 and vs.table == ((0.0, 2.0), (100.0, 5.0), (300.0, 13.0))
    # "differ by more than a": 0 V difference needs nothing, 650 V the last row
    assert [vs.spacing_for(v) for v in (0, 5, 100, 101, 650)] == [0.0, 2.0, 2.0, 5.0, 13.0]
    assert ws.spacing_for(10) == 0.0 and ws.spacing_for(10.001) == 3.0 and ws.spacing_for(40) == 6.0


def test_density_rule(tmp_path):
    kit = _load(
        tmp_path,
        '[[rules]]\nid = "M1.D"\nkind = "density"\nlayer = "MET1"\nvalue = 0.2\nmax = 0.8\nwindow = 100.0\nstep = 50.0\n',
    )
    (r,) = kit.rules
    assert (r.value, r.max, r.window, r.step) == (0.2, 0.8, 100.0, 50.0)


def test_kind_specific_problems_are_all_listed(tmp_path):
    probs = _problems(
        tmp_path,
        """
[[rules]]
id = "A"
kind = "voltage_spacing"
layer = "MET1"
value = 3.0
table = [[100, 5.0], [50, 13.0]]
[[rules]]
id = "B"
kind = "density"
layer = "MET1"
value = 0.5
max = 0.3
[[rules]]
id = "C"
kind = "angle"
layer = "MET1"
value = 30
[[rules]]
id = "D"
kind = "width"
layer = "MET1"
value = 1.0
metric = "manhattan"
window = 3.0
[[rules]]
id = "E"
kind = "area"
layer = "MET1"
other = "VIA1"
value = 4.0
[[rules]]
id = "F"
kind = "wide_spacing"
layer = "MET1"
""",
    )
    text = "\n".join(probs)
    assert "rules[0].value: this rule kind takes no value" in text
    assert "rules[0].table[1][0]: must be greater than the row before" in text
    assert "rules[1].max: must be a fraction between value" in text
    assert "rules[1].window: missing required key" in text and "rules[1].step: missing required key" in text
    assert "rules[2].value: must be 45 or 90" in text
    assert "rules[3].metric: 'manhattan' is not a metric" in text
    assert "rules[3].window: a width rule takes no 'window'" in text
    assert "rules[4].other: a area rule takes no second layer" in text
    assert "rules[5].table: missing required key" in text


def test_enclosure_may_be_zero_width_may_not(tmp_path):
    kit = _load(tmp_path, '[[rules]]\nid = "E"\nkind = "enclosure"\nlayer = "MET1"\nother = "VIA1"\nvalue = 0\n')
    assert kit.rules[0].value == 0.0
    probs = _problems(tmp_path, '[[rules]]\nid = "W"\nkind = "width"\nlayer = "MET1"\nvalue = 0\n')
    assert any("must be positive" in p for p in probs)


def test_em_layer_keys(tmp_path):
    f = tmp_path / "r.toml"
    f.write_text(
        LAYERS.replace('label = [10, 10]', 'label = [10, 10]\njmax_ma_per_um = 5.0\njmax_ref_c = 105\nem_ea_ev = 0.9')
    )
    kit = load_rules_file(f)
    m1 = kit.layers["MET1"]
    assert (m1.jmax_ma_per_um, m1.jmax_ref_c, m1.em_ea_ev) == (5.0, 105.0, 0.9)
