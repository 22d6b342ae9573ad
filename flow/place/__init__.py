"""Placement engine: pure algorithms on integer dbu coordinates.

No file I/O and no PDK here: the flow's place stage turns devices into
:class:`Obj` boxes and nets into :class:`NetPins`, calls :func:`place`, and
reads back :class:`PlaceResult`.  The legality rules are defined once, in
:mod:`flow.place.model`, and checked by :func:`check_legal`.

Modules: ``model`` (data and rules), ``global_`` (quadratic placement and
spreading), ``legalize`` (occupancy raster, greedy legaliser), ``detail``
(HPWL-lowering swaps and shifts), ``check`` (legality, HPWL, pair rules:
voltage keep-out and thermal spacing), ``report`` (bin density, overflow,
density-map SVG), ``engine`` (the driver).
"""

from flow.place.check import check_legal, hpwl
from flow.place.engine import place
from flow.place.model import NetPins, Obj, PairRules, PlaceResult

__all__ = ["NetPins", "Obj", "PairRules", "PlaceResult", "check_legal", "hpwl", "place"]
