"""Junction fills of a net the router had to narrow.

A net whose current needs far more metal than the region leaves is routed
narrower (``RouteResult.drawn``) and reported over its limit.  Its junctions
are filled to the width of its own wires, not to the full need: a fill
wider than the wire carries nothing more, and necks judged against the full
need span the whole net (gan_ringosc with a 20 A supply: every shape of the
die lay within the 4 mm its current needs, and the fills never finished).
"""

from __future__ import annotations

from route_cases import all_shapes, connectivity_problems, drc_violations, pin, rect_um, scene

from flow.route import route, router
from flow.route.netclass import limits, net_rules


def test_narrowed_net_filled_to_its_drawn_width(gan650, monkeypatch):
    obs, terms = scene({
        "p": [pin("p", "MET1", 20, 20, 35.5, 30), pin("p", "MET1", 180, 150, 195.5, 160)],
        "q": [pin("q", "MET1", 20, 60, 30, 70), pin("q", "MET1", 200, 60, 210, 70)],
    })
    rules = net_rules(gan650, {"p": (6.0, 3.0), "q": (6.0, 0.005)}, limits(gan650))
    asked: list[int] = []
    real = router.junction_fills

    def spy(own, device, width, *a, **k):
        asked.append(width)
        return real(own, device, width, *a, **k)

    monkeypatch.setattr(router, "junction_fills", spy)
    r = route(gan650, rect_um(0, 0, 240, 240), obs, terms, rules=rules)
    assert r.unrouted == {}
    drawn = r.drawn["p"]["width_um"]
    need = rules["p"].need
    # the precondition: narrowed on every metal it uses
    assert drawn and all(drawn[m] < need[m] for m in drawn)
    assert asked, "no junction was looked at"
    assert max(asked) <= max(gan650.dbu(w) for w in drawn.values())
    assert drc_violations(gan650, all_shapes(obs, r)) == []
    assert connectivity_problems(gan650, obs, terms, r) == []
