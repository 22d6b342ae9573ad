"""Voltage keep-outs, thermal margins and fences (PairRules, Obj.region):
the checker finds every violation, the engine never leaves one, and KLayout
agrees."""

from __future__ import annotations

import klayout.db as kdb
import numpy as np
import pytest
from place_cases import UM, mixed_case

from flow.errors import InputError, StageError
from flow.place import NetPins, Obj, check_legal, place
from flow.place.check import check_pairs
from flow.place.model import PairRules

SPACING = 10 * UM


def _rules(vclass, gaps, thermal=(), power=()):
    """Voltage classes 0..K-1 at the volts in ``gaps`` keys; ``gaps[(a, b)]`` dbu."""
    k = 1 + max([c for c in vclass if c >= 0], default=0)
    vgap = [[0] * k for _ in range(k)]
    dv = [[0.0] * k for _ in range(k)]
    for (a, b), g in gaps.items():
        vgap[a][b] = vgap[b][a] = g
        dv[a][b] = dv[b][a] = 100.0 * abs(a - b)
    return PairRules(
        vclass=tuple(vclass), vgap=tuple(map(tuple, vgap)), dv=tuple(map(tuple, dv)),
        labels=tuple(f"c{i}" for i in range(k)), thermal=tuple(thermal), power=tuple(power),
    )


def _klayout_pair_violations(objs, positions, rules) -> int:
    """Independent count of violating pairs: box a grown by the pair's need
    (KLayout Box.enlarged, square corners) overlaps the interior of box b."""
    boxes = [kdb.Box(x, y, x + o.w, y + o.h) for o, (x, y) in zip(objs, positions)]
    bad = 0
    for i in range(len(objs)):
        for j in range(i + 1, len(objs)):
            needs = []  # voltage and thermal are separate rules
            ci, cj = rules.vclass[i], rules.vclass[j]
            if ci >= 0 and cj >= 0:
                needs.append(rules.vgap[ci][cj])
            if rules.thermal and rules.thermal[i] > 0 and rules.thermal[j] > 0:
                needs.append(rules.thermal[i] + rules.thermal[j])
            for need in needs:
                if need > 0 and (kdb.Region(boxes[i].enlarged(need, need)) & kdb.Region(boxes[j])).area() > 0:
                    bad += 1
    return bad


def test_check_pairs_reports_objects_distance_and_rule():
    objs = [Obj("hv", 100, 100), Obj("lv", 100, 100), Obj("p1", 50, 50), Obj("p2", 50, 50)]
    rules = _rules([1, 0, -1, -1], {(0, 1): 300}, thermal=[0, 0, 40, 40], power=[0, 0, 2.0, 3.0])
    pos = [(0, 0), (250, 0), (1000, 0), (1120, 0)]  # hv-lv 150 apart (< 300), p1-p2 70 apart (< 80)
    v = check_pairs(objs, pos, rules)
    assert [(x.kind, x.a, x.b, x.gap, x.need) for x in v] == [("voltage", "hv", "lv", 150, 300), ("thermal", "p1", "p2", 70, 80)]
    assert "c1 vs c0: 100 V difference" in v[0].detail
    assert "2 W and 3 W" in v[1].detail
    assert v[0].message(1000, "um") == "voltage keep-out: 'hv' and 'lv' are 0.15 um apart, need 0.3 um (c1 vs c0: 100 V difference)"
    # check_legal reports them too, one line each
    probs = check_legal(objs, pos, (0, 0, 2000, 2000), spacing=10, grid=1, rules=rules)
    assert len(probs) == 2 and probs[0].startswith("voltage keep-out") and probs[1].startswith("thermal spacing")
    assert _klayout_pair_violations(objs, pos, rules) == 2
    # far enough: nothing (diagonal separation counts on the larger axis)
    pos_ok = [(0, 0), (400, 0), (1000, 0), (1000, 130)]
    assert check_pairs(objs, pos_ok, rules) == []
    assert _klayout_pair_violations(objs, pos_ok, rules) == 0
    # exactly at the limit is legal, one dbu less is not
    assert check_pairs(objs, [(0, 0), (400, 0), (1000, 0), (1130, 0)], rules) == []
    assert len(check_pairs(objs, [(0, 0), (399, 0), (1000, 0), (1130, 0)], rules)) == 1


def test_pair_rules_bad_input():
    objs = [Obj("a", 10, 10), Obj("b", 10, 10)]
    with pytest.raises(InputError, match="describe 1 objects"):
        check_pairs(objs, [(0, 0), (50, 0)], PairRules(vclass=(0,), vgap=((0,),)))
    with pytest.raises(InputError, match="classes in -1..0"):
        check_pairs(objs, [(0, 0), (50, 0)], PairRules(vclass=(0, 3), vgap=((0,),)))
    with pytest.raises(InputError, match="integers >= 0"):
        place(objs, [], (0, 0, 100, 100), spacing=1, grid=1, rules=PairRules(vclass=(0, 0), vgap=((-5,),)))


@pytest.mark.parametrize("seed", range(6))
def test_place_keeps_voltage_keepouts_and_thermal_margins(seed):
    """Random mixed-size cases with three voltage classes and a few power
    devices: the result is legal by the checker and by KLayout."""
    rng = np.random.default_rng(500 + seed)
    objs, nets, region = mixed_case(seed, n=30, pads=8, halos=bool(seed % 2), max_w=300, max_h=200)
    n = len(objs)
    vclass = [int(rng.integers(-1, 3)) for _ in range(n)]
    gaps = {(0, 1): 0, (0, 2): 120 * UM, (1, 2): 80 * UM}
    movable = [i for i, o in enumerate(objs) if o.fixed is None]
    hot = rng.choice(movable, size=3, replace=False)
    thermal = [0] * n
    power = [0.0] * n
    for i in hot:
        thermal[i] = int(rng.integers(30, 120)) * UM
        power[i] = 1.0
    rules = _rules(vclass, gaps, thermal, power)
    # pads of different classes may already be too close: fixed objects are
    # not moved, so give them no voltage here
    rules = PairRules(
        vclass=tuple(-1 if objs[i].fixed is not None else c for i, c in enumerate(rules.vclass)),
        vgap=rules.vgap, dv=rules.dv, labels=rules.labels, thermal=rules.thermal, power=rules.power,
    )
    r = place(objs, nets, region, spacing=SPACING, grid=UM, seed=seed, rules=rules)
    assert check_legal(objs, r.positions, region, spacing=SPACING, grid=UM, rules=rules) == []
    assert check_pairs(objs, r.positions, rules) == []
    assert _klayout_pair_violations(objs, r.positions, rules) == 0
    # the rules did bite: without them the same case breaks some of them
    r0 = place(objs, nets, region, spacing=SPACING, grid=UM, seed=seed)
    assert check_legal(objs, r0.positions, region, spacing=SPACING, grid=UM) == []
    assert len(check_pairs(objs, r0.positions, rules)) == _klayout_pair_violations(objs, r0.positions, rules)
    # figures for reports
    st = r.stats
    assert st["hpwl_detail"] == r.hpwl and st["hpwl_global"] > 0 and st["displacement_max"] >= st["displacement_mean"] >= 0
    assert r.global_positions is not None and len(r.global_positions) == n


def test_rules_bite_on_a_chain():
    """A chain hv - lv - hv of small objects: without the keep-out the
    objects sit at the spacing, with it the lv object keeps 200 um away."""
    objs = [Obj(f"o{i}", 20 * UM, 20 * UM) for i in range(3)]
    nets = [NetPins("a", ((0, 10 * UM, 10 * UM), (1, 10 * UM, 10 * UM))), NetPins("b", ((1, 10 * UM, 10 * UM), (2, 10 * UM, 10 * UM)))]
    rules = _rules([1, 0, 1], {(0, 1): 200 * UM})
    region = (0, 0, 1000 * UM, 1000 * UM)
    r0 = place(objs, nets, region, spacing=SPACING, grid=UM)
    assert check_pairs(objs, r0.positions, rules)  # too close without the rule
    r = place(objs, nets, region, spacing=SPACING, grid=UM, rules=rules)
    assert check_pairs(objs, r.positions, rules) == []
    (x0, y0), (x1, y1) = r.positions[0], r.positions[1]
    assert max(abs(x1 - x0), abs(y1 - y0)) - 20 * UM >= 200 * UM
    assert r.hpwl > r0.hpwl


def test_fixed_objects_that_break_a_pair_rule_are_refused():
    objs = [Obj("a", 10, 10, fixed=(0, 0)), Obj("b", 10, 10, fixed=(30, 0)), Obj("c", 10, 10)]
    rules = _rules([0, 1, -1], {(0, 1): 50})
    with pytest.raises(StageError, match="fixed objects already violate.*voltage keep-out: 'a' and 'b' are 20 dbu apart, need 50"):
        place(objs, [], (0, 0, 200, 200), spacing=1, grid=1, rules=rules)


def test_fences_hold_and_are_checked():
    objs, nets, region = mixed_case(3, n=20, pads=4, halos=False, max_w=200, max_h=200)
    fence = (100 * UM, 100 * UM, 900 * UM, 700 * UM)
    fenced = [0, 1, 2, 3]
    objs = [Obj(o.name, o.w, o.h, o.fixed, o.halo, region=fence if i in fenced else None) for i, o in enumerate(objs)]
    r = place(objs, nets, region, spacing=SPACING, grid=UM)
    assert check_legal(objs, r.positions, region, spacing=SPACING, grid=UM) == []
    for i in fenced:
        x, y = r.positions[i]
        assert kdb.Box(*fence).contains(kdb.Point(x, y)) and kdb.Box(*fence).contains(kdb.Point(x + objs[i].w, y + objs[i].h))
    moved = list(r.positions)
    moved[0] = (0, 0)
    assert any("outside its region" in p for p in check_legal(objs, moved, region, spacing=SPACING, grid=UM))
    with pytest.raises(InputError, match="larger than its region"):
        place([Obj("big", 100, 100, region=(0, 0, 50, 200))], [], (0, 0, 500, 500), spacing=1, grid=1)


def test_too_tight_keepout_is_a_clear_error():
    objs = [Obj(f"o{i}", 100, 100) for i in range(4)]
    rules = _rules([0, 1, 0, 1], {(0, 1): 10_000})
    with pytest.raises(StageError, match="do not fit.*voltage keep-out"):
        place(objs, [], (0, 0, 1000, 1000), spacing=10, grid=1, rules=rules)


def test_global_placement_separates_keepout_pairs():
    """separate_pairs (the pair-aware end of global placement) moves the
    targets of the chain apart until every keep-out holds, never moves a
    fixed object; the engine's legalisation then displaces less than with
    the keep-out left to it alone, on the same case."""
    from flow.place.engine import _clearance_classes, separate_pairs

    objs = [Obj(f"o{i}", 20 * UM, 20 * UM) for i in range(3)] + [Obj("pad", 20 * UM, 20 * UM, fixed=(500 * UM, 0))]
    rules = _rules([1, 0, 1, 0], {(0, 1): 200 * UM})
    cls, gap, _ = _clearance_classes(objs, rules)
    region = (0, 0, 1000 * UM, 1000 * UM)
    mov = np.array([0, 1, 2])
    pos = np.array([[0, 0], [0, 0], [0, 0], [500 * UM, 0]], dtype=np.int64)
    w = np.full(4, 20 * UM, dtype=np.int64)
    targets = np.array([[480.0 * UM, 500 * UM], [490.0 * UM, 505 * UM], [500.0 * UM, 498 * UM]])
    out, pushes = separate_pairs(targets, w[:3], w[:3], mov, pos, w, w, gap, cls, np.array([True, True, True, False]), region)
    assert pushes > 0
    assert check_pairs(objs[:3], [tuple(map(round, p)) for p in out], PairRules(vclass=rules.vclass[:3], vgap=rules.vgap, dv=rules.dv, labels=rules.labels)) == []
    assert ((out >= 0) & (out <= 980 * UM)).all()
    # the engine on mixed cases with three classes: legal either way, less
    # displacement by legalisation with it
    for seed in (0, 1):
        rng = np.random.default_rng(500 + seed)
        objs, nets, region = mixed_case(seed, n=30, pads=8, halos=bool(seed % 2), max_w=300, max_h=200)
        vc = [-1 if o.fixed is not None else int(rng.integers(-1, 3)) for o in objs]
        rr = _rules(vc, {(0, 1): 0, (0, 2): 120 * UM, (1, 2): 80 * UM})
        on = place(objs, nets, region, spacing=SPACING, grid=UM, seed=seed, rules=rr)
        off = place(objs, nets, region, spacing=SPACING, grid=UM, seed=seed, rules=rr, pair_aware=False)
        for r in (on, off):
            assert check_legal(objs, r.positions, region, spacing=SPACING, grid=UM, rules=rr) == []
        assert on.stats["pair_pushes"] > 0 and off.stats["pair_pushes"] == 0
        assert on.stats["displacement_total"] < off.stats["displacement_total"]
