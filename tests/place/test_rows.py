"""flow.place.rows: segments, Abacus legalisation, row legality, detailed placement."""

from __future__ import annotations

import numpy as np
import pytest

from flow.errors import StageError
from flow.place.model import NetPins, net_hpwl, pin_arrays
from flow.place.rows import RowSpec, check_rows, improve_rows, legalize_rows, pin_offsets, segments

SW, RH = 100, 1000


def _rows(n_rows=6, n_sites=60, orient_alt=True):
    return [RowSpec(0, k * RH, n_sites, SW, RH, ("FS" if k % 2 == 0 else "N") if orient_alt else "N") for k in range(n_rows)]


def test_segments_cut_rows_at_blockages():
    rows = _rows(3, 50)
    segs = segments(rows, [(1050, 500, 2000, 1500)])  # rows 0 and 1, sites 10..19
    got = [(s.row, s.s0, s.s1) for s in segs]
    assert got == [(0, 0, 10), (0, 20, 50), (1, 0, 10), (1, 20, 50), (2, 0, 50)]
    # a blockage just touching a row's top edge does not cut it
    assert [(s.row, s.s0, s.s1) for s in segments(rows, [(0, -500, 5000, 0)])] == [(0, 0, 50), (1, 0, 50), (2, 0, 50)]


def test_legal_targets_stay_put():
    rows = _rows()
    w = np.array([300, 500, 200])
    t = np.array([[0, 0], [300, 0], [1000, 2000]], dtype=float)
    pos, _ = legalize_rows(segments(rows, []), w, t)
    assert pos.tolist() == [[0, 0], [300, 0], [1000, 2000]]


def test_two_cells_on_one_spot_share_the_displacement():
    # one row, two 400-wide cells wanting x = 1000: Abacus puts the pair's
    # centre of mass on the target: 800 and 1200
    rows = [RowSpec(0, 0, 40, SW, RH)]
    pos, _ = legalize_rows(segments(rows, []), np.array([400, 400]), np.array([[1000.0, 0], [1000.0, 0]]))
    assert sorted(pos[:, 0].tolist()) == [800, 1200]


def test_cells_pushed_off_the_row_end_are_clamped():
    rows = [RowSpec(0, 0, 10, SW, RH)]
    pos, _ = legalize_rows(segments(rows, []), np.array([300, 300, 300]), np.array([[900.0, 0]] * 3))
    assert sorted(pos[:, 0].tolist()) == [100, 400, 700]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_cells_are_legal_and_near_their_targets(seed):
    rng = np.random.default_rng(seed)
    rows = _rows(8, 80)
    block = (3000, 2000, 4500, 5000)
    segs = segments(rows, [block])
    m = 100
    w = rng.integers(2, 7, m) * SW  # ~400 of ~600 free sites
    t = np.column_stack([rng.uniform(0, 7000, m), rng.uniform(0, 7000, m)])
    pos, seg_of = legalize_rows(segs, w, t)
    h = np.full(m, RH)
    assert check_rows(pos, w, h, rows, [block]) == []
    for i in range(m):
        s = segs[seg_of[i]]
        assert s.y == pos[i, 1] and s.x_of(s.s0) <= pos[i, 0] and pos[i, 0] + w[i] <= s.x_of(s.s1)
    # utilisation ~ 2/3: no cell moves more than a few rows
    assert np.abs(pos[:, 1] - t[:, 1]).max() <= 3 * RH


def test_too_full_is_a_stage_error():
    rows = [RowSpec(0, 0, 10, SW, RH)]
    with pytest.raises(StageError, match="too full"):
        legalize_rows(segments(rows, []), np.array([600, 600]), np.zeros((2, 2)))
    with pytest.raises(StageError, match="no free row"):
        legalize_rows([], np.array([100]), np.zeros((1, 2)))


def test_check_rows_reports_each_kind_of_problem():
    rows = _rows(2, 20)
    w = np.array([300, 300, 300, 300, 300])
    h = np.full(5, RH)
    pos = np.array([[0, 0], [200, 0], [550, 1000], [1900, 1000], [700, 500]])
    probs = check_rows(pos, w, h, rows, [(1800, 0, 2000, 2000)], names=list("abcde"))
    text = "\n".join(probs)
    assert "'a' and 'b' overlap" in text
    assert "'c' at (550, 1000) is not on a row's site grid" in text
    assert "'d' at (1900, 1000)" in text  # runs past the row end
    assert "'e' at (700, 500)" in text  # between rows
    assert "'d' overlaps blockage #0" in text
    assert check_rows(np.array([[0, 0], [300, 0]]), w[:2], h[:2], rows, []) == []  # abutting is fine


def test_pin_offsets_follow_the_row_orientation():
    assert pin_offsets("N", 400, 1000, 100, 200) == (100, 200)
    assert pin_offsets("FS", 400, 1000, 100, 200) == (100, 800)
    assert pin_offsets("FN", 400, 1000, 100, 200) == (300, 200)
    assert pin_offsets("S", 400, 1000, 100, 200) == (300, 800)


def _chain_case(seed, m=120):
    rng = np.random.default_rng(seed)
    rows = _rows(8, 60)
    segs = segments(rows, [])
    w = rng.integers(2, 6, m) * SW
    # a random netlist of 2..4-pin nets plus two fixed pads (objects m, m+1)
    nets = []
    for k in range(m):
        others = rng.choice(m + 2, size=rng.integers(1, 4), replace=False)
        pins = [(k, 50, 300)] + [(int(o), 50, 700) for o in others if o != k]
        if len(pins) >= 2:
            nets.append(NetPins(f"n{k}", tuple(pins)))
    t = np.column_stack([rng.uniform(0, 5000, m), rng.uniform(0, 7000, m)])
    pos_m, seg_of = legalize_rows(segs, w, t)
    pos = np.vstack([pos_m, [[-200, 3000], [6200, 3000]]])
    wa = np.concatenate([w, [100, 100]])
    ha = np.concatenate([np.full(m, RH), [100, 100]])
    seg_all = np.concatenate([seg_of, [-1, -1]])
    movable = np.concatenate([np.ones(m, bool), [False, False]])
    return rows, segs, pos, seg_all, movable, wa, ha, nets, m


def _orient_hpwl(pa, pos, seg_all, segs, w, h):
    dx, dy = pa.dx.copy(), pa.dy.copy()
    for t in range(len(pa.obj)):
        o = pa.obj[t]
        if seg_all[o] >= 0:
            dx[t], dy[t] = pin_offsets(segs[seg_all[o]].orient, int(w[o]), int(h[o]), int(pa.dx[t]), int(pa.dy[t]))
    return int(net_hpwl(type(pa)(pa.obj, dx, dy, pa.net, pa.start, pa.weight), pos).sum())


@pytest.mark.parametrize("seed", [4, 5])
def test_detailed_placement_lowers_hpwl_and_stays_legal(seed):
    rows, segs, pos, seg_all, movable, w, h, nets, m = _chain_case(seed)
    pa = pin_arrays(nets)
    before = _orient_hpwl(pa, pos, seg_all, segs, w, h)
    new, new_seg = improve_rows(segs, pos, seg_all, movable, w, h, pa, passes=3)
    after = _orient_hpwl(pa, new, new_seg, segs, w, h)
    assert after < 0.9 * before  # random targets leave a lot to gain
    assert check_rows(new[:m], w[:m], h[:m], rows, []) == []
    assert new[m:].tolist() == pos[m:].tolist()  # pads untouched
    for i in range(m):
        assert segs[new_seg[i]].y == new[i, 1]


def test_place_tall_uses_the_nearest_free_stack_of_rows():
    from flow.place.rows import place_tall

    rows = [RowSpec(0, 100 * k, 20, 10, 100) for k in range(3)]
    block = (0, 0, 60, 200)  # covers x < 60 of the two lower rows
    w, h = np.array([30, 30]), np.array([200, 200])
    pos, orient = place_tall(rows, [block], w, h, np.array([[12.0, 10.0], [14.0, 0.0]]))
    # both want x ~ 12, y ~ 0: the first goes right of the blockage, the second
    # next to it (still cheaper than one row up: 76^2 < 100^2)
    assert pos.tolist() == [[60, 0], [90, 0]]
    assert check_rows(pos, w, h, rows, [block]) == []
    assert orient == ["N", "N"]
    # no room anywhere: a clear error
    with pytest.raises(StageError, match="multi-row cell"):
        place_tall(rows, [(0, 0, 200, 300)], w[:1], h[:1], np.array([[0.0, 0.0]]))
