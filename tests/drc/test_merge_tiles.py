"""The tiled union behind merge_edges equals one global union (and KLayout's merge)."""

from __future__ import annotations

import klayout.db as kdb
import numpy as np
import pytest

from flow.drc import edges as E


def _rects(seed: int, n: int, span: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        x, y = rng.integers(0, span, 2)
        w, h = rng.integers(1, 60, 2)
        out.append(np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]], np.int64))
    # a few long bars crossing many tiles, an L shape, shapes touching exactly
    out.append(np.array([[0, 500], [span, 500], [span, 520], [0, 520]], np.int64))
    out.append(np.array([[700, 0], [720, 0], [720, span], [700, span]], np.int64))
    out.append(np.array([[100, 100], [300, 100], [300, 120], [120, 120], [120, 300], [100, 300]], np.int64))
    out.append(np.array([[1000, 1000], [1050, 1000], [1050, 1050], [1000, 1050]], np.int64))
    out.append(np.array([[1050, 1000], [1100, 1000], [1100, 1050], [1050, 1050]], np.int64))
    return out


def _canonical(edges: np.ndarray, pid: np.ndarray):
    order = np.lexsort(edges.T[::-1])
    e, p = edges[order], pid[order]
    # polygon ids up to renaming: first-occurrence relabelling
    seen: dict[int, int] = {}
    lab = np.array([seen.setdefault(int(x), len(seen)) for x in p])
    return e, lab


@pytest.mark.parametrize("seed, tile", [(1, 20), (2, 50), (3, 7)])
def test_tiled_union_equals_global(monkeypatch, seed, tile):
    polys = _rects(seed, 900, 1500)
    monkeypatch.setattr(E, "UNION_TILE_POLYGONS", 10**9)
    ref = _canonical(*E.merge_edges(polys))
    monkeypatch.setattr(E, "UNION_TILE_POLYGONS", tile)
    got = _canonical(*E.merge_edges(polys))
    assert np.array_equal(ref[0], got[0])
    assert np.array_equal(ref[1], got[1])
    # and KLayout's merged area equals the area enclosed by the merged edges
    region = kdb.Region()
    for p in polys:
        region.insert(kdb.Polygon([kdb.Point(int(x), int(y)) for x, y in p]))
    region.merge()
    e = got[0]
    area2 = np.sum(e[:, 0] * e[:, 3] - e[:, 2] * e[:, 1])
    assert area2 == 2 * region.area()
    assert len(set(got[1].tolist())) == region.count()


def test_unique_ints_and_group_ids():
    a = np.array([5, 3, 5, 9, 3, 3, -2], np.int64)
    assert E.unique_ints(a).tolist() == [-2, 3, 5, 9]
    assert E.unique_ints(np.zeros(0, np.int64)).tolist() == []
    ids = E._group_ids(np.array([1, 2, 1, 1]), np.array([0, 0, 0, 1]))
    assert ids[0] == ids[2] and len({ids[0], ids[1], ids[3]}) == 3


def _brute_box_pairs(ba, bb):
    o = ba if bb is None else bb
    meet = (np.maximum(ba[:, None, 0], o[None, :, 0]) <= np.minimum(ba[:, None, 2], o[None, :, 2])) & (
        np.maximum(ba[:, None, 1], o[None, :, 1]) <= np.minimum(ba[:, None, 3], o[None, :, 3])
    )
    if bb is None:
        meet &= np.triu(np.ones(meet.shape, bool), 1)
    return {(int(i), int(j)) for i, j in zip(*np.nonzero(meet))}


@pytest.mark.parametrize("batch", [E.PAIR_BATCH, 7])
@pytest.mark.parametrize("d", [0.0, 3.0, 25.0])
def test_candidate_pairs_exact_box_pairs(monkeypatch, batch, d):
    """candidate_pairs = every pair of edges whose boxes grown by d/2 meet, once,
    sorted; in particular every pair closer than d (checked by brute force)."""
    monkeypatch.setattr(E, "PAIR_BATCH", batch)
    rng = np.random.default_rng(11)
    p0 = rng.integers(0, 300, (400, 2))
    step = rng.integers(-40, 41, (400, 2))
    step[rng.random(400) < 0.5, 0] = 0  # many Manhattan edges, some long
    ea = np.hstack([p0, p0 + step]).astype(np.int64)
    ea = ea[np.any(ea[:, :2] != ea[:, 2:], axis=1)]
    eb = ea[::3, [2, 3, 0, 1]].copy()
    for other in (None, eb):
        i, j = E.candidate_pairs(ea, other, d)
        got = list(zip(i.tolist(), j.tolist()))
        assert got == sorted(set(got))
        want = _brute_box_pairs(E._boxes(ea, d / 2), None if other is None else E._boxes(other, d / 2))
        assert set(got) == want
        # superset of the truly close pairs
        o = ea if other is None else other
        ii, jj = np.meshgrid(np.arange(len(ea)), np.arange(len(o)), indexing="ij")
        ii, jj = ii.ravel(), jj.ravel()
        if other is None:
            ii, jj = ii[ii < jj], jj[ii < jj]
        dist = E._segment_distance(ea[ii].astype(float), o[jj].astype(float))
        close = {(int(a), int(b)) for a, b in zip(ii[dist < d], jj[dist < d])}
        assert close <= want
