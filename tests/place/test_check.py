"""flow.place.check: hpwl() and check_legal(), each rule, and against KLayout."""

from __future__ import annotations

import numpy as np
import pytest
from place_cases import UM, klayout_legal

from flow.errors import InputError
from flow.place import NetPins, Obj, check_legal, hpwl

REGION = (0, 0, 1000, 1000)


def _legal(objs, pos, **kw):
    args = {"spacing": 10, "grid": 5, "keepouts": ()}
    args.update(kw)
    return check_legal(objs, pos, REGION, **args)


# -- hpwl ---------------------------------------------------------------------


def test_hpwl_hand_computed():
    objs = [Obj("a", 10, 20), Obj("b", 30, 30), Obj("c", 5, 5, fixed=(-50, 0))]
    pos = [(0, 0), (100, 200), (-50, 0)]
    nets = [
        # pins at (5, 10) and (130, 230): 125 + 220
        NetPins("n1", ((0, 5, 10), (1, 30, 30))),
        # pins at (0, 20), (100, 200), (-48, 3): x -48..100 = 148, y 3..200 = 197
        NetPins("n2", ((0, 0, 20), (1, 0, 0), (2, 2, 3)), weight=5.0),
        # one pin: 0
        NetPins("n3", ((1, 1, 1),)),
        # two pins on the same object: (2,2)..(8,18) -> 6 + 16
        NetPins("n4", ((0, 2, 2), (0, 8, 18))),
        NetPins("empty", ()),
    ]
    assert hpwl(objs, pos, nets) == (125 + 220) + (148 + 197) + 0 + (6 + 16)


def test_hpwl_no_nets_is_zero():
    assert hpwl([Obj("a", 1, 1)], [(3, 4)], []) == 0


def test_hpwl_bad_input():
    with pytest.raises(InputError, match="object index 5"):
        hpwl([Obj("a", 1, 1)], [(0, 0)], [NetPins("n", ((0, 0, 0), (5, 0, 0)))])
    with pytest.raises(InputError, match="weight"):
        hpwl([Obj("a", 1, 1)], [(0, 0)], [NetPins("n", ((0, 0, 0),), weight=-1.0)])


# -- check_legal: each rule -------------------------------------------------------


def test_legal_placement_has_no_problems():
    objs = [Obj("a", 100, 100), Obj("b", 100, 100), Obj("pad", 50, 50, fixed=(-60, 3))]
    assert _legal(objs, [(0, 0), (110, 0), (-60, 3)]) == []  # exactly `spacing` apart; pad outside, off grid


def test_overlap_detected():
    objs = [Obj("a", 100, 100), Obj("b", 100, 100)]
    problems = _legal(objs, [(0, 0), (50, 50)])
    assert problems == ["'a' and 'b' overlap"]


def test_spacing_detected_and_exact_limit():
    objs = [Obj("a", 100, 100), Obj("b", 100, 100)]
    problems = _legal(objs, [(0, 0), (105, 0)])
    assert len(problems) == 1 and "'a' and 'b' are 5 dbu apart; spacing needs 10" in problems[0]
    assert _legal(objs, [(0, 0), (110, 0)]) == []
    assert _legal(objs, [(0, 0), (0, 110)]) == []
    # abutting boxes violate any positive spacing, but are legal with spacing 0
    assert len(_legal(objs, [(0, 0), (100, 0)])) == 1
    assert _legal(objs, [(0, 0), (100, 0)], spacing=0) == []


def test_diagonal_needs_clearance_in_x_or_y():
    """Corner to corner 7 dbu apart in both x and y (Euclidean ~9.9) violates spacing 10."""
    objs = [Obj("a", 100, 100), Obj("b", 100, 100)]
    assert len(_legal(objs, [(0, 0), (107, 107)], grid=1)) == 1
    assert _legal(objs, [(0, 0), (110, 105)], grid=1) == []  # 10 in x suffices


def test_larger_halo_counts():
    objs = [Obj("a", 100, 100, halo=20), Obj("b", 100, 100, halo=5)]
    assert len(_legal(objs, [(0, 0), (125, 0)])) == 1  # needs 10 + 20 = 30
    assert "spacing needs 30" in _legal(objs, [(0, 0), (125, 0)])[0]
    assert _legal(objs, [(0, 0), (130, 0)]) == []


def test_outside_region_detected():
    objs = [Obj("a", 100, 100)]
    for pos in [(-5, 0), (0, -5), (905, 0), (0, 905)]:
        problems = _legal(objs, [pos])
        assert len(problems) == 1 and "outside the region" in problems[0]
    assert _legal(objs, [(900, 900)]) == []  # touching the edge is inside


def test_off_grid_detected():
    objs = [Obj("a", 100, 100)]
    problems = _legal(objs, [(7, 10)])
    assert problems == ["'a' lower-left (7, 10) is not on the 5 dbu grid"]
    assert len(_legal(objs, [(10, 12)])) == 1
    assert _legal(objs, [(-0, 995 - 100)]) == []


def test_keepout_detected():
    objs = [Obj("a", 100, 100), Obj("h", 100, 100, halo=15)]
    ko = [(300, 300, 400, 400)]
    # overlapping the keepout
    problems = _legal(objs, [(0, 0), (350, 350)], keepouts=ko)
    assert any("'h' overlaps keepout #0" in p for p in problems)
    # 5 dbu from it: spacing 10 violated
    problems = _legal(objs, [(195, 300), (600, 600)], keepouts=ko)
    assert len(problems) == 1 and "5 dbu from keepout #0" in problems[0]
    # halo applies to keepouts: 'h' needs 25
    assert len(_legal(objs, [(0, 0), (180, 300)], keepouts=ko)) == 1
    assert _legal(objs, [(0, 0), (175, 300)], keepouts=ko) == []
    # fixed objects are exempt
    fixed = [Obj("pad", 100, 100, fixed=(320, 320))]
    assert _legal(fixed, [(320, 320)], keepouts=ko) == []


def test_fixed_moved_detected():
    objs = [Obj("pad", 10, 10, fixed=(0, 0))]
    assert _legal(objs, [(5, 0)]) == ["fixed 'pad' moved from (0, 0) to (5, 0)"]


def test_count_mismatch_and_bad_arguments():
    objs = [Obj("a", 10, 10)]
    assert "positions given" in _legal(objs, [])[0]
    with pytest.raises(InputError, match="grid"):
        _legal(objs, [(0, 0)], grid=0)
    with pytest.raises(InputError, match="spacing"):
        _legal(objs, [(0, 0)], spacing=-1)
    with pytest.raises(InputError, match="region"):
        check_legal(objs, [(0, 0)], (0, 0, 0, 10), spacing=1, grid=1)
    with pytest.raises(InputError, match="keepout #0"):
        _legal(objs, [(0, 0)], keepouts=[(5, 5, 1, 1)])
    with pytest.raises(InputError, match="size"):
        _legal([Obj("z", 0, 10)], [(0, 0)])
    with pytest.raises(InputError, match="halo"):
        _legal([Obj("z", 10, 10, halo=-1)], [(0, 0)])


def test_reports_every_problem():
    objs = [Obj("a", 100, 100), Obj("b", 100, 100), Obj("c", 100, 100)]
    problems = _legal(objs, [(0, 0), (0, 0), (3, 950)])
    # c outside, c off grid, a-b overlap; c is far from a and b
    assert len(problems) == 3
    assert any("'c'" in p and "outside" in p for p in problems)
    assert any("'c'" in p and "grid" in p for p in problems)
    assert "'a' and 'b' overlap" in problems


# -- check_legal against an independent oracle ------------------------------------------------


@pytest.mark.parametrize("seed", range(12))
def test_agrees_with_klayout_on_random_placements(seed):
    rng = np.random.default_rng(seed)
    n = 25
    halo = int(rng.choice([0, 4]))
    objs = [Obj(f"o{i}", int(rng.integers(20, 120)), int(rng.integers(20, 120)), halo=halo) for i in range(n)]
    ko = [(400, 400, 520, 470)]
    verdicts = set()
    for trial in range(40):
        # sparse placements: some legal, some not
        pos = [(int(rng.integers(0, 50)) * 20, int(rng.integers(0, 50)) * 20) for _ in objs]
        spacing = int(rng.choice([0, 10, 20]))
        ours = check_legal(objs, pos, REGION, spacing=spacing, grid=20, keepouts=ko) == []
        theirs = klayout_legal(objs, pos, REGION, spacing, keepouts=ko)
        assert ours == theirs, (seed, trial)
        verdicts.add(ours)
    # a second family with few objects so legal cases occur too
    for trial in range(40):
        k = 6
        pos = [(int(rng.integers(0, 50)) * 20, int(rng.integers(0, 50)) * 20) for _ in range(k)]
        ours = check_legal(objs[:k], pos, REGION, spacing=10, grid=20, keepouts=ko) == []
        assert ours == klayout_legal(objs[:k], pos, REGION, 10, keepouts=ko), (seed, trial)
        verdicts.add(ours)
    assert verdicts == {True, False}


def test_scales_to_thousands_of_objects():
    n = 3000
    side = 55
    objs = [Obj(f"o{i}", 20 * UM, 20 * UM) for i in range(n)]
    pos = [((i % side) * 30 * UM, (i // side) * 30 * UM) for i in range(n)]
    region = (0, 0, side * 30 * UM, side * 30 * UM)
    assert check_legal(objs, pos, region, spacing=10 * UM, grid=UM) == []
    assert len(check_legal(objs, pos, region, spacing=10 * UM + 1, grid=UM)) > 5000
