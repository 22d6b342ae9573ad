"""Layout-versus-schematic comparison of two flat netlists.

:func:`compare` matches the *source* netlist (the SPICE the designer wrote,
flattened) with the *layout* netlist extracted from the GDS and explains
every difference in terms a designer can act on: **opens** (one source net
split into several layout nets), **shorts** (several source nets joined in
one layout net), **missing** and **extra devices**, **parameter
mismatches** (both values) and **wrong or swapped connections** (e.g. a
HEMT's gate and drain exchanged).  Locations are in microns.

How the matching works
----------------------
Both netlists are bipartite graphs (device nodes, net nodes; an edge per
device terminal, labelled with the device model and the terminal's *class*:
terminals the PDK declares interchangeable, such as a resistor's two ends,
share a class).  Matching is colour refinement (Weisfeiler-Lehman /
partition refinement, as netgen does) over both graphs at once:

1. Nets named the same on both sides (source net name = layout text label,
   unique on both sides) start as matched *anchors*.
2. Every round, each unmatched node gets a new colour from its colour and
   the multiset of (edge label, neighbour colour); a colour held by exactly
   one source and one layout node matches them.  Matched nodes keep a fixed
   colour of their own, so a fault's influence stops at matched neighbours
   and does not spread over the whole circuit.
   A new pair also matches its neighbours directly where each side has
   exactly one unmatched neighbour on the same edge label and both have the
   same pin counts (a chain of gates resolves in one pass, not one round
   per stage).
3. When the partition stops getting finer, a class with as many source as
   layout nodes is a symmetry (e.g. a ring oscillator without labels): one
   pair is matched (closest parameters first) and refinement continues.
4. What is left after that is the neighbourhood of real differences.  Pairs
   that are each other's unique best are committed first (devices scored by
   terminals whose nets already correspond, nets by the device pins they
   share), then refinement runs again; only when nothing is certain are the
   rest assigned by the Hungarian method (scipy).
5. Finally a hill-climb exchanges the images of two nets or two devices of
   one model while that lowers the number of disagreeing terminals, so the
   report explains the layout with the fewest faults.

Each round costs O(E log E) for E terminals; rounds are bounded by the
graph's diameter, and only symmetric classes cost extra rounds.  The
residual step scores only pairs that share a matched neighbour.

Parameters are compared only after matching (a parameter mismatch never
breaks the structural match), in the PDK's units, with the tolerances of
the kit's ``[devices.X.lvs]`` table (defaults: integers exact, lengths
0.5 % or 2 database units, other values 2 %).
"""

from __future__ import annotations

import itertools
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from flow.netlist.model import Instance, Netlist
from pdk.schema import PDK

#: Device kinds whose two terminals are interchangeable unless the PDK says
#: otherwise (a resistor or inductor conducts the same both ways; a lateral
#: low-voltage MOSFET is symmetric).  HEMTs and power devices are not: their
#: gate-drain distance and field plates make source and drain different.
DEFAULT_SWAPPABLE: Mapping[str, tuple[tuple[str, ...], ...]] = MappingProxyType(
    {"resistor": (("p", "n"),), "inductor": (("p", "n"),), "mosfet": (("d", "s"),)}
)
#: Device kinds that a layout may hold without the source netlist naming
#: them: the floorplan's port pads (when the netlist has none of the kit's
#: pad model) and seal rings.
INFRASTRUCTURE_KINDS = ("pad", "sealring")

_NET_UNNAMED = -1


# ---------------------------------------------------------------- rules ------
@dataclass(frozen=True)
class Tolerance:
    """A parameter agrees when ``|a - b| <= max(abs, rel * |a|)``."""

    rel: float = 0.0
    abs: float = 0.0

    def agrees(self, a: float, b: float) -> bool:
        return abs(a - b) <= max(self.abs, self.rel * abs(a)) + 1e-12 * max(abs(a), abs(b), 1.0)

    def to_json(self) -> dict[str, float]:
        return {"rel": self.rel, "abs": self.abs}


@dataclass(frozen=True)
class DeviceRule:
    """How one device model is compared.

    ``groups``: sets of interchangeable terminals (each of at least two
    terminals); ``params``: compared parameter -> tolerance (PDK units);
    ``ignored``: parameters the kit says not to compare; ``origin``:
    ``"pdk"`` when the kit's ``[devices.X.lvs]`` table set this, else
    ``"default"``.
    """

    model: str
    kind: str
    terminals: tuple[str, ...]
    groups: tuple[tuple[str, ...], ...] = ()
    params: Mapping[str, Tolerance] = field(default_factory=lambda: MappingProxyType({}))
    ignored: tuple[str, ...] = ()
    origin: str = "default"

    def terminal_class(self, terminal: str) -> str:
        for g in self.groups:
            if terminal in g:
                return "|".join(g)
        return terminal


def _default_tolerance(kit: PDK, spec) -> Tolerance:
    if spec.integer:
        return Tolerance(0.0, 0.0)
    if spec.unit == "um":
        return Tolerance(0.005, 2 * kit.dbu_um)
    return Tolerance(0.02, 0.0)


def device_rules(kit: PDK) -> dict[str, DeviceRule]:
    """Comparison rules of every device model of ``kit``.

    Reads the kit's ``[devices.X.lvs]`` table where there is one (``swap``:
    groups of interchangeable terminals, none when absent; ``tolerance``:
    relative tolerance per parameter); defaults otherwise (see
    :data:`DEFAULT_SWAPPABLE` and the module docstring).  Integer parameters
    (finger counts) always compare exactly.
    """
    out: dict[str, DeviceRule] = {}
    for model, dev in kit.devices.items():
        lvs = getattr(dev, "lvs", None)
        groups = tuple(g for g in DEFAULT_SWAPPABLE.get(dev.kind, ()) if all(t in dev.terminals for t in g))
        params = {name: _default_tolerance(kit, spec) for name, spec in dev.params.items()}
        ignored: tuple[str, ...] = ()
        origin = "default"
        if lvs is not None:
            origin = "pdk"
            groups = tuple(tuple(g) for g in (_get(lvs, "swap", ()) or ()) if len(tuple(g)) > 1)
            ignored = tuple(_get(lvs, "ignore", ()) or ())
            for name, tol in dict(_get(lvs, "tolerance", {}) or {}).items():
                if name in params and not dev.params[name].integer:
                    params[name] = _as_tolerance(tol, params[name])
            params = {k: v for k, v in params.items() if k not in ignored}
        out[model] = DeviceRule(model, dev.kind, tuple(dev.terminals), groups, MappingProxyType(params), ignored, origin)
    return out


def _get(obj: Any, key: str, default: Any) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(key, default)
    return getattr(obj, key, default)


def _as_tolerance(tol: Any, base: Tolerance) -> Tolerance:
    if isinstance(tol, Tolerance):
        return tol
    if isinstance(tol, (int, float)):
        return Tolerance(float(tol), base.abs)
    rel = _get(tol, "rel", None)
    ab = _get(tol, "abs", None)
    return Tolerance(base.rel if rel is None else float(rel), base.abs if ab is None else float(ab))


# ---------------------------------------------------------------- layout view
@dataclass(frozen=True)
class LayoutView:
    """What :func:`compare` needs of an extraction (the
    :class:`flow.lvs.extract.Extraction` fields): the netlist, net and device
    locations and text labels, all in microns.  Build one directly to compare
    two netlists without a GDS."""

    netlist: Netlist
    net_locations: Mapping[str, tuple[tuple[str, float, float], ...]] = field(default_factory=dict)
    device_locations: Mapping[str, tuple[float, float, float, float]] = field(default_factory=dict)
    labels: Mapping[str, tuple[tuple[str, float, float], ...]] | None = None


def net_labels(view) -> dict[str, set[str]]:
    """layout net -> the text labels on it.

    A label whose text names a layout net belongs to that net (extraction
    names nets after their labels); another label (e.g. the second name on
    two shorted nets) goes to the net that lists the label's place among its
    location points (within 0.01 um, on the label's layer when that layer
    has points); a label no net lists is left out.  Without a ``labels``
    table every layout net is taken as labelled with its own name.
    """
    nl: Netlist = view.netlist
    out: dict[str, set[str]] = {n: set() for n in nl.nets}
    labels = getattr(view, "labels", None)
    if labels is None:
        for n in nl.nets:
            out[n].add(n)
        return out
    names = set(nl.nets)
    locs = getattr(view, "net_locations", {}) or {}
    pts: list[tuple[float, float]] = []
    owners: list[str] = []
    layers: list[str] = []
    for net, ps in locs.items():
        if net not in out:
            continue
        for lay, x, y in ps:
            pts.append((x, y))
            owners.append(net)
            layers.append(lay)
    arr = np.asarray(pts, float).reshape(-1, 2)
    lay_arr = np.asarray(layers, object)
    for text, places in labels.items():
        if text in names:
            out[text].add(text)
            continue
        if not len(arr):
            continue
        for lay, x, y in places:
            d = np.hypot(arr[:, 0] - x, arr[:, 1] - y)
            same = lay_arr == lay
            if same.any():
                d = np.where(same, d, np.inf)
            i = int(np.argmin(d))
            if d[i] <= 0.01:  # the extraction lists a net's label points among its locations
                out[owners[i]].add(text)
    return out


# ---------------------------------------------------------------- result -----
@dataclass
class LvsResult:
    """Everything :func:`compare` found.  ``to_json`` is the lvs.json body."""

    source_top: str
    layout_top: str
    devices: dict[str, int]
    nets: dict[str, int]
    device_map: dict[str, str]
    net_map: dict[str, str]
    opens: list[dict[str, Any]] = field(default_factory=list)
    shorts: list[dict[str, Any]] = field(default_factory=list)
    missing_devices: list[dict[str, Any]] = field(default_factory=list)
    extra_devices: list[dict[str, Any]] = field(default_factory=list)
    parameter_mismatches: list[dict[str, Any]] = field(default_factory=list)
    swapped_connections: list[dict[str, Any]] = field(default_factory=list)
    wrong_connections: list[dict[str, Any]] = field(default_factory=list)
    ports: list[dict[str, Any]] = field(default_factory=list)
    label_conflicts: list[dict[str, Any]] = field(default_factory=list)
    not_compared: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    infrastructure: list[dict[str, Any]] = field(default_factory=list)

    CATEGORIES = (
        "opens", "shorts", "missing_devices", "extra_devices", "parameter_mismatches",
        "swapped_connections", "wrong_connections", "ports", "label_conflicts",
    )

    def counts(self) -> dict[str, int]:
        return {c: len(getattr(self, c)) for c in self.CATEGORIES}

    @property
    def match(self) -> bool:
        """The circuits are the same (for what was compared)."""
        return not any(self.counts().values())

    @property
    def status(self) -> str:
        """``match`` (clean), ``mismatch``, or ``incomplete`` (no difference
        found, but something was not compared: see ``not_compared``)."""
        if not self.match:
            return "mismatch"
        return "incomplete" if self.not_compared else "match"

    @property
    def clean(self) -> bool:
        """True only when everything was compared and nothing differs."""
        return self.status == "match"


# ---------------------------------------------------------------- engine -----
class _Side:
    """One netlist as integer arrays for refinement."""

    def __init__(self, nl: Netlist, rules: Mapping[str, DeviceRule], edge_ids: dict[str, int]):
        self.nl = nl
        self.devs: list[Instance] = list(nl.instances)
        self.dev_index = {d.name: i for i, d in enumerate(self.devs)}
        self.nets: list[str] = list(nl.nets)
        self.net_index = {n: i for i, n in enumerate(self.nets)}
        self.dev_edges: list[list[tuple[int, int]]] = []
        self.net_edges: list[list[tuple[int, int]]] = [[] for _ in self.nets]
        for di, d in enumerate(self.devs):
            rule = rules.get(d.model)
            edges = []
            for term, net in d.pins.items():
                cls = rule.terminal_class(term) if rule else term
                lab = edge_ids.setdefault(f"{d.model}:{cls}", len(edge_ids))
                ni = self.net_index[net]
                edges.append((lab, ni))
                self.net_edges[ni].append((lab, di))
            self.dev_edges.append(edges)
        self.dmatch: list[int] = [-1] * len(self.devs)
        self.nmatch: list[int] = [-1] * len(self.nets)


class _Matcher:
    def __init__(self, src: _Side, lay: _Side, anchors: Mapping[str, str], param_key):
        self.s, self.l = src, lay
        self.counter = itertools.count(1)
        self.param_key = param_key
        self.guesses = 0
        self.fresh: list[tuple[str, int]] = []
        model_ids: dict[str, int] = {}
        self.dcol_s = [model_ids.setdefault(d.model, -(len(model_ids) + 10)) for d in src.devs]
        self.dcol_l = [model_ids.setdefault(d.model, -(len(model_ids) + 10)) for d in lay.devs]
        self.ncol_s = [_NET_UNNAMED] * len(src.nets)
        self.ncol_l = [_NET_UNNAMED] * len(lay.nets)
        for sname, lname in anchors.items():
            self._match_net(src.net_index[sname], lay.net_index[lname])

    # -- matching ----------------------------------------------------------
    def _match_dev(self, i: int, j: int) -> None:
        c = next(self.counter)
        self.s.dmatch[i], self.l.dmatch[j] = j, i
        self.dcol_s[i] = self.dcol_l[j] = c
        self.fresh.append(("d", i))

    def _match_net(self, i: int, j: int) -> None:
        c = next(self.counter)
        self.s.nmatch[i], self.l.nmatch[j] = j, i
        self.ncol_s[i] = self.ncol_l[j] = c
        self.fresh.append(("n", i))

    def _flush(self) -> int:
        made = 0
        while self.fresh:
            seeds, self.fresh = self.fresh, []
            made += self._propagate(seeds)
        return made

    def _propagate(self, seeds: list[tuple[str, int]]) -> int:
        """From newly matched pairs, match neighbours that are the only
        unmatched neighbour on the same edge label on both sides (a chain of
        gates resolves in one pass instead of one refinement round per
        stage).  Returns the number of pairs made."""
        s, l = self.s, self.l
        made = 0
        work = list(seeds)
        while work:
            kind, i = work.pop()
            if kind == "d":
                j = s.dmatch[i]
                es, el = s.dev_edges[i], l.dev_edges[j]
                ms, ml, fn, nxt = s.nmatch, l.nmatch, self._match_net, "n"
            else:
                j = s.nmatch[i]
                es, el = s.net_edges[i], l.net_edges[j]
                ms, ml, fn, nxt = s.dmatch, l.dmatch, self._match_dev, "d"
            if j < 0:
                continue
            us: dict[int, set[int]] = defaultdict(set)
            ul: dict[int, set[int]] = defaultdict(set)
            for lab, x in es:
                if ms[x] < 0:
                    us[lab].add(x)
            for lab, x in el:
                if ml[x] < 0:
                    ul[lab].add(x)
            for lab, xs in us.items():
                ys = ul.get(lab)
                if len(xs) == 1 and ys is not None and len(ys) == 1:
                    (x,), (y,) = xs, ys
                    if ms[x] < 0 and ml[y] < 0 and self._compatible(nxt, x, y):
                        fn(x, y)  # queued in self.fresh for the next pass
                        made += 1
        return made

    def _compatible(self, kind: str, x: int, y: int) -> bool:
        """Propagation only joins nodes of the same degree per edge label
        (a net with a missing or extra pin is left to the residual step)."""
        if kind == "d":
            return self.s.devs[x].model == self.l.devs[y].model and Counter(a for a, _ in self.s.dev_edges[x]) == Counter(a for a, _ in self.l.dev_edges[y])
        return Counter(a for a, _ in self.s.net_edges[x]) == Counter(a for a, _ in self.l.net_edges[y])

    def refine(self) -> None:
        """Refine until stable; break symmetries by guessing."""
        last = -1
        while True:
            made = self._round()
            made += self._flush()
            classes = self._classes()
            if made:
                last = -1
                continue
            if len(classes) != last:
                last = len(classes)
                continue
            if not self._guess(classes):
                return
            last = -1

    def _round(self) -> int:
        s, l = self.s, self.l
        table: dict[tuple, int] = {}

        def new(sig: tuple) -> int:
            c = table.get(sig)
            if c is None:
                c = table[sig] = next(self.counter)
            return c

        nd_s = [
            new(("d", self.dcol_s[i], tuple(sorted((lab, self.ncol_s[n]) for lab, n in s.dev_edges[i])))) if s.dmatch[i] < 0 else self.dcol_s[i]
            for i in range(len(s.devs))
        ]
        nd_l = [
            new(("d", self.dcol_l[i], tuple(sorted((lab, self.ncol_l[n]) for lab, n in l.dev_edges[i])))) if l.dmatch[i] < 0 else self.dcol_l[i]
            for i in range(len(l.devs))
        ]
        nn_s = [
            new(("n", self.ncol_s[i], tuple(sorted((lab, self.dcol_s[d]) for lab, d in s.net_edges[i])))) if s.nmatch[i] < 0 else self.ncol_s[i]
            for i in range(len(s.nets))
        ]
        nn_l = [
            new(("n", self.ncol_l[i], tuple(sorted((lab, self.dcol_l[d]) for lab, d in l.net_edges[i])))) if l.nmatch[i] < 0 else self.ncol_l[i]
            for i in range(len(l.nets))
        ]
        self.dcol_s, self.dcol_l, self.ncol_s, self.ncol_l = nd_s, nd_l, nn_s, nn_l
        made = 0
        for kind, cs, cl, ms, ml, fn in (
            ("d", nd_s, nd_l, s.dmatch, l.dmatch, self._match_dev),
            ("n", nn_s, nn_l, s.nmatch, l.nmatch, self._match_net),
        ):
            count_s: dict[int, list[int]] = defaultdict(list)
            count_l: dict[int, list[int]] = defaultdict(list)
            for i, c in enumerate(cs):
                if ms[i] < 0:
                    count_s[c].append(i)
            for j, c in enumerate(cl):
                if ml[j] < 0:
                    count_l[c].append(j)
            for c, si in count_s.items():
                lj = count_l.get(c)
                if lj is not None and len(si) == 1 and len(lj) == 1:
                    fn(si[0], lj[0])
                    made += 1
        return made

    def _classes(self) -> dict[tuple[str, int], tuple[list[int], list[int]]]:
        out: dict[tuple[str, int], tuple[list[int], list[int]]] = {}
        for kind, cs, cl, ms, ml in (
            ("d", self.dcol_s, self.dcol_l, self.s.dmatch, self.l.dmatch),
            ("n", self.ncol_s, self.ncol_l, self.s.nmatch, self.l.nmatch),
        ):
            for i, c in enumerate(cs):
                if ms[i] < 0:
                    out.setdefault((kind, c), ([], []))[0].append(i)
            for j, c in enumerate(cl):
                if ml[j] < 0:
                    out.setdefault((kind, c), ([], []))[1].append(j)
        return out

    def _guess(self, classes) -> bool:
        best = None
        for key, (si, lj) in classes.items():
            if len(si) == len(lj) > 1:
                # devices first (they carry parameters), smallest class first
                rank = (key[0] != "d", len(si), key[1])
                if best is None or rank < best[0]:
                    best = (rank, key, si, lj)
        if best is None:
            return False
        _, key, si, lj = best
        if key[0] == "d":
            i = min(si, key=lambda k: self.s.devs[k].name)
            j = min(lj, key=lambda k: (self.param_key(self.s.devs[i], self.l.devs[k]), self.l.devs[k].name != self.s.devs[i].name, self.l.devs[k].name))
            self._match_dev(i, j)
        else:
            i = min(si, key=lambda k: self.s.nets[k])
            j = min(lj, key=lambda k: (self.l.nets[k] != self.s.nets[i], self.l.nets[k]))
            self._match_net(i, j)
        self.guesses += 1
        return True

    # -- residual assignment -------------------------------------------------
    def residual(self, confident: bool) -> int:
        """Pair what refinement left: devices by agreeing terminals, nets by
        shared pins of matched devices.  ``confident``: only pairs that are
        each other's unique best (committed before anything is guessed);
        otherwise an optimal assignment (Hungarian method, scipy) of the
        rest, greedy by score when the rest is very large.  Scores are sparse:
        only pairs sharing a matched neighbour are scored, and nets with more
        than :data:`_HUB` pins of one kind (supplies) do not propose
        candidates.  Returns the number of new pairs."""
        s, l = self.s, self.l
        made = 0
        pairs_d: list[tuple[int, int]] = []
        index: dict[tuple[int, int], list[int]] = defaultdict(list)
        for j, d in enumerate(l.devs):
            if l.dmatch[j] < 0:
                for lab, n in l.dev_edges[j]:
                    if l.nmatch[n] >= 0:
                        index[(lab, n)].append(j)
        entries: dict[tuple[int, int], float] = {}
        for i, d in enumerate(s.devs):
            if s.dmatch[i] >= 0:
                continue
            cands: set[int] = set()
            for lab, n in s.dev_edges[i]:
                m = s.nmatch[n]
                if m >= 0:
                    js = index.get((lab, m), ())
                    if len(js) <= _HUB:
                        cands.update(js)
            for j in cands:
                if l.devs[j].model == d.model:
                    entries[(i, j)] = self._dev_score(i, j) - 1e-3 * min(self.param_key(d, l.devs[j]), 100.0)
        pairs_d = _pick_sparse(entries, 0.5, confident)
        names = {l.nets[j]: j for j in range(len(l.nets)) if l.nmatch[j] < 0}
        nentries: dict[tuple[int, int], float] = defaultdict(float)
        for i in range(len(s.nets)):
            if s.nmatch[i] >= 0:
                continue
            edges = s.net_edges[i]
            for lab, d in edges:
                dj = s.dmatch[d]
                if dj < 0:
                    continue
                same = [n2 for lab2, n2 in l.dev_edges[dj] if lab2 == lab]
                for n2 in same:
                    if l.nmatch[n2] < 0:
                        nentries[(i, n2)] += 1.0 / len(same)
            j = names.get(s.nets[i])
            if j is not None:
                nentries[(i, j)] += 0.25
        pairs_n = _pick_sparse(nentries, 0.25, confident)
        for i, j in pairs_d:
            self._match_dev(i, j)
            made += 1
        for i, j in pairs_n:
            self._match_net(i, j)
            made += 1
        return made

    # -- local improvement ------------------------------------------------------
    def improve(self, fixed_nets: set[int], max_passes: int = 50) -> int:
        """Hill-climb on the matching around the differences: exchange the
        images of two source nets, or of two source devices of one model,
        whenever that lowers the number of device terminals whose nets
        disagree.  Refinement and residual assignment pick *a* consistent
        match; near a fault there can be several, and the one that explains
        the layout with the fewest wrong pins is the one to report (a
        gate/drain swap in an unlabelled ring is one swapped device, not five
        wrong connections).  Returns the number of exchanges made."""
        s, l = self.s, self.l
        cost = {i: self._dev_cost(i) for i in range(len(s.devs)) if s.dmatch[i] >= 0}
        moves = 0
        for _ in range(max_passes):
            bad_devs = [i for i, c in cost.items() if c > 0]
            if not bad_devs:
                break
            sus_nets = sorted({n for i in bad_devs for _, n in s.dev_edges[i] if s.nmatch[n] >= 0 and n not in fixed_nets})
            sus_devs = sorted({d for n in sus_nets for _, d in s.net_edges[n] if s.dmatch[d] >= 0} | set(bad_devs))
            improved = False
            for a, b in itertools.combinations(sus_nets, 2):
                touched = {d for _, d in s.net_edges[a] if s.dmatch[d] >= 0} | {d for _, d in s.net_edges[b] if s.dmatch[d] >= 0}
                before = sum(cost[d] for d in touched)
                s.nmatch[a], s.nmatch[b] = s.nmatch[b], s.nmatch[a]
                after = {d: self._dev_cost(d) for d in touched}
                if sum(after.values()) < before:
                    l.nmatch[s.nmatch[a]], l.nmatch[s.nmatch[b]] = a, b
                    cost.update(after)
                    moves += 1
                    improved = True
                    break
                s.nmatch[a], s.nmatch[b] = s.nmatch[b], s.nmatch[a]
            if improved:
                continue
            for a, b in itertools.combinations(sus_devs, 2):
                if s.devs[a].model != s.devs[b].model:
                    continue
                before = cost[a] + cost[b]
                s.dmatch[a], s.dmatch[b] = s.dmatch[b], s.dmatch[a]
                ca, cb = self._dev_cost(a), self._dev_cost(b)
                if ca + cb < before:
                    l.dmatch[s.dmatch[a]], l.dmatch[s.dmatch[b]] = a, b
                    cost[a], cost[b] = ca, cb
                    moves += 1
                    improved = True
                    break
                s.dmatch[a], s.dmatch[b] = s.dmatch[b], s.dmatch[a]
            if not improved:
                break
        return moves

    def _dev_cost(self, i: int) -> float:
        return len(self.s.dev_edges[i]) - self._dev_score(i, self.s.dmatch[i])

    def _dev_score(self, i: int, j: int) -> float:
        """Terminals of source device i whose net's image is on the same
        terminal class of layout device j."""
        s, l = self.s, self.l
        have = Counter((lab, n) for lab, n in l.dev_edges[j])
        score = 0.0
        for lab, n in s.dev_edges[i]:
            m = s.nmatch[n]
            if m >= 0 and have[(lab, m)] > 0:
                have[(lab, m)] -= 1
                score += 1
        return score


# ---------------------------------------------------------------- compare ----
def _normalise(kit: PDK, inst: Instance, *, defaults: bool) -> dict[str, float]:
    dev = kit.devices.get(inst.model)
    if dev is None:
        return dict(inst.params)
    vals = _to_kit_units(kit, inst.model, dict(inst.params))
    if defaults:
        for name, spec in dev.params.items():
            vals.setdefault(name, float(spec.default))
    return vals


def _to_kit_units(kit: PDK, model: str, params: dict[str, float]) -> dict[str, float]:
    from flow.stages.importer import to_kit_units  # the import stage's conversion, same units

    return to_kit_units(kit, model, params)


def _bbox_centre(b: Sequence[float] | None) -> list[float] | None:
    if not b:
        return None
    return [round((b[0] + b[2]) / 2, 3), round((b[1] + b[3]) / 2, 3)]


def _closest(a: Sequence[tuple[str, float, float]], b: Sequence[tuple[str, float, float]]):
    """The closest pair of points of two point lists: (pa, pb, distance)."""
    if not a or not b:
        return None
    from scipy.spatial import cKDTree

    pb = np.asarray([(x, y) for _, x, y in b], float)
    pa = np.asarray([(x, y) for _, x, y in a], float)
    d, idx = cKDTree(pb).query(pa)
    k = int(np.argmin(d))
    return a[k], b[int(idx[k])], float(d[k])


def _pt(p: tuple[str, float, float]) -> list:
    return [p[0], round(p[1], 3), round(p[2], 3)]


def compare(
    source: Netlist,
    layout,
    kit: PDK,
    *,
    rules: Mapping[str, DeviceRule] | None = None,
    geometry=None,
) -> LvsResult:
    """Compare ``source`` (flat netlist) with ``layout`` (an extraction or a
    :class:`LayoutView`).

    Parameters
    ----------
    source
        The flat source netlist, parameters in SI units as the SPICE reader
        gives them (missing parameters take the PDK's defaults).
    layout
        Anything with ``netlist``, ``net_locations``, ``device_locations`` and
        ``labels`` (an :class:`~flow.lvs.extract.Extraction`); a bare
        :class:`Netlist` is wrapped in a :class:`LayoutView`.
    kit
        The PDK: device kinds, terminal classes and tolerances.
    geometry
        Optional :class:`flow.lvs.paths.LayoutGeometry` of the layout: shorts
        then report the shortest path between their labels through the
        shapes, opens the place where the pieces come closest, and a label
        on several unconnected pieces is an open even when the extraction
        gave the pieces one name.  Without it, locations come from the
        extraction's net points (straight lines between labels).

    Examples
    --------
    >>> import pdk
    >>> from flow.netlist.model import Instance, Netlist
    >>> kit = pdk.load("gan650")
    >>> src = Netlist("inv", (Instance("XL", "hemtd", {"d": "vdd", "g": "out", "s": "out"}),
    ...                       Instance("XD", "hemte", {"d": "out", "g": "in", "s": "gnd"})), ("in", "out", "vdd", "gnd"))
    >>> lay = Netlist("inv", (Instance("m1", "hemtd", {"d": "vdd", "g": "out", "s": "out"}),
    ...                       Instance("m2", "hemte", {"d": "in", "g": "out", "s": "gnd"})))
    >>> res = compare(src, lay, kit)
    >>> res.status, [s["terminals"] for s in res.swapped_connections]
    ('mismatch', [['d', 'g']])
    """
    if isinstance(layout, Netlist):
        layout = LayoutView(layout)
    lnl: Netlist = layout.netlist
    rules = dict(rules) if rules is not None else device_rules(kit)
    rules = _with_extraction_rules(rules, layout)
    res = LvsResult(source.top, lnl.top, {}, {}, {}, {})
    net_locs = dict(getattr(layout, "net_locations", {}) or {})
    dev_locs = dict(getattr(layout, "device_locations", {}) or {})
    label_places = dict(getattr(layout, "labels", None) or {})
    term_pts = dict(getattr(layout, "terminal_points", None) or {})

    def tpoint(dev: str, term: str) -> list | None:
        p = (term_pts.get(dev) or {}).get(term)
        return _pt(p) if p else None

    # -- source devices the PDK gives no way to recognise in a layout: not
    # compared (said so), never reported as missing
    blind = {m for m in {i.model for i in source.instances} if m in kit.devices and getattr(kit.devices[m], "lvs", None) is None}
    if blind:
        for m in sorted(blind):
            n = sum(1 for i in source.instances if i.model == m)
            res.not_compared.append(f"{m}: PDK {kit.name} has no LVS recognition for this model ([devices.{m}.lvs]); {n} device{'s' if n != 1 else ''} not compared")
        blind_nets = {n for i in source.instances if i.model in blind for n in i.pins.values()}
        source = Netlist(source.top, tuple(i for i in source.instances if i.model not in blind), source.ports)
    else:
        blind_nets = set()

    # -- infrastructure devices the source does not name (port pads, seal rings)
    src_models = Counter(i.model for i in source.instances)
    infra: list[Instance] = []
    keep: list[Instance] = []
    for inst in lnl.instances:
        rule = rules.get(inst.model)
        if rule is not None and rule.kind in INFRASTRUCTURE_KINDS and src_models[inst.model] == 0:
            infra.append(inst)
        else:
            keep.append(inst)
    lay_nl = Netlist(lnl.top, tuple(keep), tuple(n for n in lnl.ports))
    labels = net_labels(LayoutView(lnl, net_locs, dev_locs, getattr(layout, "labels", None)))

    unknown = sorted({i.model for i in source.instances if i.model not in rules} | {i.model for i in keep if i.model not in rules})
    for m in unknown:
        res.notes.append(f"device model '{m}' is not in PDK {kit.name}: compared by name only")

    # -- anchors: a source net named like exactly one layout net's only label
    by_label: dict[str, list[str]] = defaultdict(list)
    for net, texts in labels.items():
        if net in lay_nl.nets:
            for t in texts:
                by_label[t].append(net)
    anchors: dict[str, str] = {}
    src_nets = set(source.nets)
    for s in source.nets:
        owners = by_label.get(s, [])
        if len(owners) == 1 and len(labels[owners[0]] & src_nets) == 1:
            anchors[s] = owners[0]
    # an anchor net must have pins on both sides to be useful
    src_net_set = set(source.net_pins)
    anchors = {s: l for s, l in anchors.items() if s in src_net_set}

    src_params = {i.name: _normalise(kit, i, defaults=True) for i in source.instances}
    lay_params = {i.name: _normalise(kit, i, defaults=False) for i in keep}

    def param_key(a: Instance, b: Instance) -> float:
        pa, pb = src_params.get(a.name, {}), lay_params.get(b.name, {})
        tot = 0.0
        for k, v in pb.items():
            if k in pa:
                tot += abs(v - pa[k]) / max(abs(pa[k]), 1e-30)
        return tot

    edge_ids: dict[str, int] = {}
    S = _Side(source, rules, edge_ids)
    L = _Side(lay_nl, rules, edge_ids)
    M = _Matcher(S, L, anchors, param_key)
    while True:
        M.refine()
        if not (M.residual(confident=True) or M.residual(confident=False)):
            break
    anchored = {S.net_index[a] for a in anchors}
    M.improve(anchored)

    dmap = {S.devs[i].name: L.devs[j].name for i, j in enumerate(S.dmatch) if j >= 0}
    nmap = {S.nets[i]: L.nets[j] for i, j in enumerate(S.nmatch) if j >= 0}
    inv_n = {v: k for k, v in nmap.items()}
    res.device_map, res.net_map = dmap, nmap
    res.devices = {"source": len(S.devs), "layout": len(L.devs), "matched": len(dmap), "infrastructure": len(infra)}
    res.nets = {"source": len(S.nets), "layout": len(L.nets), "matched": len(nmap)}
    if M.guesses:
        res.notes.append(f"{M.guesses} symmetric choice(s) made while matching (interchangeable devices or nets without labels)")

    def lay_where(net: str) -> list:
        return [_pt(p) for p in net_locs.get(net, ())[:1]]

    # -- pins of matched devices: choose the best order in each swappable group
    pin_pairs: list[tuple[str, str, str, str, str]] = []  # (src dev, term, src net, layout term, layout net)
    for sd, ld in dmap.items():
        a, b = source.by_name[sd], lay_nl.by_name[ld]
        rule = rules.get(a.model)
        groups = rule.groups if rule else ()
        done: set[str] = set()
        for g in groups:
            terms = [t for t in g if t in a.pins and t in b.pins]
            best = None
            for perm in itertools.permutations(terms):
                ok = sum(nmap.get(a.pins[t]) == b.pins[p] for t, p in zip(terms, perm))
                if best is None or ok > best[0]:
                    best = (ok, perm)
            for t, p in zip(terms, best[1] if best else ()):
                pin_pairs.append((sd, t, a.pins[t], p, b.pins[p]))
                done.add(t)
        for t, n in a.pins.items():
            if t in done:
                continue
            if t in b.pins:
                pin_pairs.append((sd, t, n, t, b.pins[t]))
            else:
                res.wrong_connections.append({
                    "device": sd, "layout_device": ld, "model": a.model, "terminal": t,
                    "source_net": n, "layout_net": None, "problem": "terminal missing in the layout device",
                    "bbox": list(dev_locs.get(ld, ())) or None, "location": _bbox_centre(dev_locs.get(ld)),
                })

    lay_net_src: dict[str, Counter] = defaultdict(Counter)  # layout net -> source nets of its pins
    src_net_lay: dict[str, Counter] = defaultdict(Counter)
    for sd, t, sn, lt, ln in pin_pairs:
        lay_net_src[ln][sn] += 1
        src_net_lay[sn][ln] += 1
    bad = [p for p in pin_pairs if nmap.get(p[2]) != p[4]]

    # -- opens: unmatched layout nets whose pins all belong to one matched source net
    fragments: dict[str, list[str]] = defaultdict(list)
    for ln, srcs in lay_net_src.items():
        if ln in inv_n:
            continue
        if len(srcs) == 1:
            (sn,) = srcs
            if sn in nmap:
                fragments[sn].append(ln)
    explained: set[tuple[str, str]] = set()
    for sn in sorted(fragments):
        main = nmap[sn]
        pieces = [main] + sorted(fragments[sn])
        gaps = []
        for frag in pieces[1:]:
            g = None
            if geometry is not None:
                ia, ib = geometry.net_of(net_locs.get(main, ())), geometry.net_of(net_locs.get(frag, ()))
                if ia is not None and ib is not None and ia != ib:
                    g = geometry.gap(ia, ib)
            if g is not None:
                gaps.append({"between": [main, frag], **g})
                continue
            c = _closest(net_locs.get(main, ()), net_locs.get(frag, ()))
            if c is not None:
                x = [round((c[0][1] + c[1][1]) / 2, 3), round((c[0][2] + c[1][2]) / 2, 3)]
                gaps.append({"between": [main, frag], "from": _pt(c[0]), "to": _pt(c[1]), "distance_um": round(c[2], 3), "location": x})
        pins = {
            piece: sorted(f"{sd}.{t}" for sd, t, s2, lt, ln in pin_pairs if s2 == sn and ln == piece)
            for piece in pieces
        }
        for sd, t, s2, lt, ln in pin_pairs:
            if s2 == sn and ln in fragments[sn]:
                explained.add((sd, t))
        loc = gaps[0]["location"] if gaps else None
        res.opens.append({
            "net": sn, "layout_nets": pieces, "pins": pins, "gaps": gaps, "location": loc,
            "labels": {p: sorted(labels.get(p, ())) for p in pieces},
        })

    # -- opens the extraction's names hide: one label on unconnected pieces
    if geometry is not None:
        opened_now = {o["net"] for o in res.opens}
        for name, pieces in sorted(geometry.split_names().items()):
            if name in opened_now or name not in src_nets:
                continue
            gaps = []
            for other in pieces[1:]:
                g = geometry.gap(pieces[0], other)
                if g is not None:
                    gaps.append({"between": [f"{name} (piece 1)", f"{name} (piece {pieces.index(other) + 1})"], **g})
            res.opens.append({
                "net": name, "layout_nets": [name] * len(pieces), "pins": {},
                "labels": {f"piece {k + 1}": geometry.label_places(name, p) for k, p in enumerate(pieces)},
                "gaps": gaps, "location": gaps[0]["location"] if gaps else None,
                "note": f"label {name} is on {len(pieces)} unconnected pieces of metal, which the extraction named alike; which pins are on which piece is not known",
            })

    # -- shorts: matched layout nets that also carry pins of unmatched source nets
    merged: dict[str, set[str]] = defaultdict(set)
    for sd, t, sn, lt, ln in bad:
        if sn not in nmap and ln in inv_n:
            merged[ln].add(sn)
    # and layout nets whose labels name two source nets (a bridge between
    # labelled nets, even when one side has no device pins)
    for ln, texts in labels.items():
        if ln in inv_n:
            others = {t for t in texts & src_nets if t != inv_n[ln] and t not in nmap}
            merged[ln] |= others
    for ln in sorted(merged):
        if not merged[ln]:
            continue
        nets = [inv_n[ln]] + sorted(merged[ln])
        for sd, t, sn, lt, l2 in bad:
            if l2 == ln and sn in merged[ln]:
                explained.add((sd, t))
        entry: dict[str, Any] = {"nets": nets, "layout_net": ln, "labels": {}}
        for n in nets:
            entry["labels"][n] = [_pt(p) for p in label_places.get(n, ())]
        paths = []
        for other in nets[1:]:
            pa, pb = label_places.get(nets[0], ()), label_places.get(other, ())
            path = None
            if geometry is not None and pa and pb:
                path = geometry.short_path(ln, nets[0], other)
            if path is None and pa and pb:
                c = _closest(pa, pb)
                path = {"from": _pt(c[0]), "to": _pt(c[1]), "length_um": round(c[2], 3), "points": [_pt(c[0]), _pt(c[1])], "method": "straight line between the labels (no geometry)"}
            if path is not None:
                path = {"nets": [nets[0], other], **path}
                paths.append(path)
        entry["paths"] = paths
        loc = None
        if paths and paths[0].get("location"):
            loc = paths[0]["location"]
        elif paths:
            p = paths[0]["points"]
            mid = p[len(p) // 2]
            loc = [mid[1], mid[2]]
        elif net_locs.get(ln):
            loc = [round(net_locs[ln][0][1], 3), round(net_locs[ln][0][2], 3)]
        entry["location"] = loc
        res.shorts.append(entry)

    # -- swapped and wrong connections on matched devices
    by_dev: dict[str, list[tuple[str, str, str, str, str]]] = defaultdict(list)
    for p in bad:
        if (p[0], p[1]) not in explained:
            by_dev[p[0]].append(p)
    for sd in sorted(by_dev):
        items = by_dev[sd]
        ld = dmap[sd]
        model = source.by_name[sd].model
        used: set[int] = set()
        for x, y in itertools.combinations(range(len(items)), 2):
            if x in used or y in used:
                continue
            a, b = items[x], items[y]
            if nmap.get(a[2]) == b[4] and nmap.get(b[2]) == a[4]:
                used |= {x, y}
                res.swapped_connections.append({
                    "device": sd, "layout_device": ld, "model": model, "terminals": sorted([a[1], b[1]]),
                    "source": {a[1]: a[2], b[1]: b[2]}, "layout": {a[3]: a[4], b[3]: b[4]},
                    "terminal_points": {t: tpoint(ld, t) for t in (a[3], b[3])},
                    "bbox": list(dev_locs.get(ld, ())) or None, "location": _bbox_centre(dev_locs.get(ld)),
                })
        for k, (s_, t, sn, lt, ln) in enumerate(items):
            if k in used:
                continue
            res.wrong_connections.append({
                "device": sd, "layout_device": ld, "model": model, "terminal": t,
                "source_net": sn, "layout_net": ln, "layout_net_matches": inv_n.get(ln),
                "expected_layout_net": nmap.get(sn), "terminal_point": tpoint(ld, lt),
                "bbox": list(dev_locs.get(ld, ())) or None, "location": _bbox_centre(dev_locs.get(ld)),
            })

    # -- missing / extra devices
    for i, d in enumerate(S.devs):
        if S.dmatch[i] >= 0:
            continue
        images = [nmap.get(n) for n in d.pins.values()]
        loc = _expected_spot_geometry(geometry, [net_locs.get(n, ()) for n in dict.fromkeys(images) if n]) if geometry is not None else None
        if loc is None:
            loc = _expected_spot([net_locs.get(n, ()) for n in images if n])
        res.missing_devices.append({
            "device": d.name, "model": d.model, "pins": dict(d.pins),
            "layout_nets": {t: nmap.get(n) for t, n in d.pins.items()},
            "params": src_params.get(d.name, {}), "source": str(d.source) if d.source else None,
            "location": loc,
        })
    for j, d in enumerate(L.devs):
        if L.dmatch[j] >= 0:
            continue
        res.extra_devices.append({
            "device": d.name, "model": d.model, "pins": dict(d.pins),
            "source_nets": {t: inv_n.get(n) for t, n in d.pins.items()},
            "params": lay_params.get(d.name, {}),
            "bbox": list(dev_locs.get(d.name, ())) or None, "location": _bbox_centre(dev_locs.get(d.name)),
        })

    # opens right where a missing device was are most likely its own metal
    # (its pins joined the wires): say so
    for o in res.opens:
        if not o.get("location"):
            continue
        for m in res.missing_devices:
            if o["net"] in m["pins"].values() and m.get("location"):
                d = math.hypot(o["location"][0] - m["location"][0], o["location"][1] - m["location"][1])
                if d <= 50.0:
                    o["likely_cause"] = f"missing device {m['device']} (its pins joined the pieces; {d:.1f} um away)"
                    break

    # -- parameters of matched devices
    unmeasured: dict[tuple[str, str], int] = Counter()
    for sd, ld in dmap.items():
        a = source.by_name[sd]
        rule = rules.get(a.model)
        if rule is None:
            continue
        pa, pb = src_params[sd], lay_params[ld]
        spec = kit.devices[a.model].params if a.model in kit.devices else {}
        for name, tol in rule.params.items():
            if name not in pb:
                unmeasured[(a.model, name)] += 1
                continue
            va, vb = pa.get(name), pb[name]
            if va is None:
                continue
            if not tol.agrees(va, vb):
                unit = spec[name].unit if name in spec else ""
                res.parameter_mismatches.append({
                    "device": sd, "layout_device": ld, "model": a.model, "param": name,
                    "source": va, "layout": vb, "unit": unit, "tolerance": tol.to_json(),
                    "bbox": list(dev_locs.get(ld, ())) or None, "location": _bbox_centre(dev_locs.get(ld)),
                })
    for (model, name), n in sorted(unmeasured.items()):
        res.not_compared.append(f"{model}.{name}: not measured by the extraction ({n} device{'s' if n != 1 else ''})")
    for model, rule in sorted(rules.items()):
        if rule.ignored and src_models[model]:
            res.notes.append(f"{model}: {', '.join(rule.ignored)} not compared (PDK [devices.{model}.lvs] ignore)")

    # -- ports: each source port's layout net, its pad and label
    infra_nets: dict[str, list[str]] = defaultdict(list)
    for inst in infra:
        for n in inst.pins.values():
            infra_nets[n].append(inst.name)
    pads_present = any(rules[i.model].kind == "pad" for i in infra)
    port_images = set()
    shorted_into = {n: sh["layout_net"] for sh in res.shorts for n in sh["nets"]}
    for p in source.ports:
        ln = nmap.get(p) or shorted_into.get(p)
        if ln is None and p in source.net_pins and not source.net_pins[p]:
            # a port with no device: find it by its label
            owners = by_label.get(p, [])
            ln = owners[0] if len(owners) == 1 else None
        if ln is None:
            # a port net with no pins at all is found by its pad label
            cand = [n for n, t in labels.items() if p in t]
            ln = cand[0] if len(cand) == 1 else None
        pieces = [ln] + list(fragments.get(p, ())) if ln else []
        pad = [x for piece in pieces for x in infra_nets.get(piece, ()) if rules[lnl.by_name[x].model].kind == "pad"]
        port_images.update(pieces)
        entry = {"port": p, "layout_net": ln, "pads": pad, "label": bool(ln and p in labels.get(ln, ()))}
        problem = None
        missing_here = {m["device"] for m in res.missing_devices}
        if ln is None and source.net_pins.get(p) and all(d in missing_here for d, _ in source.net_pins[p]):
            continue  # every device on the port is missing: reported there
        if ln is None and p in blind_nets and not source.net_pins.get(p):
            # the port's devices are all of models the PDK cannot recognise:
            # its net cannot be told apart in the layout, so it is not checked
            res.not_compared.append(f"port {p}: only devices that are not compared are on it")
            continue
        if ln is None:
            problem = "no layout net found for the port"
        elif pads_present and not pad:
            problem = "no pad on the port's net"
        if problem:
            entry["problem"] = problem
            res.ports.append(entry)
    for inst in infra:
        rule = rules[inst.model]
        nets = list(inst.pins.values())
        if rule.kind == "pad" and not any(n in port_images for n in nets):
            res.extra_devices.append({
                "device": inst.name, "model": inst.model, "pins": dict(inst.pins),
                "source_nets": {t: inv_n.get(n) for t, n in inst.pins.items()},
                "params": _normalise(kit, inst, defaults=False), "problem": "pad on a net that is not a port",
                "bbox": list(dev_locs.get(inst.name, ())) or None, "location": _bbox_centre(dev_locs.get(inst.name)),
            })
        else:
            res.infrastructure.append({"device": inst.name, "model": inst.model, "pins": dict(inst.pins), "kind": rule.kind})

    # -- labels naming a different source net than the one matched
    shorted = {n for s in res.shorts for n in s["nets"]}
    opened = {o["net"] for o in res.opens}
    for ln, texts in sorted(labels.items()):
        if ln not in inv_n:
            continue
        sn = inv_n[ln]
        for t in sorted(texts & src_nets):
            if t != sn and t not in shorted and not (t in opened or sn in opened):
                res.label_conflicts.append({
                    "layout_net": ln, "matches": sn, "label": t, "label_net_in_layout": nmap.get(t),
                    "places": [_pt(p) for p in label_places.get(t, ())],
                    "location": [label_places[t][0][1], label_places[t][0][2]] if label_places.get(t) else None,
                })

    # unmatched nets that nothing above explains (only notes: the devices
    # around them are already reported)
    loose_s = [n for n in source.nets if n not in nmap and n not in shorted and source.net_pins.get(n)]
    frag_nets = {f for fs in fragments.values() for f in fs}
    loose_l = [n for n in lay_nl.nets if n not in inv_n and n not in frag_nets]
    if loose_s:
        res.notes.append("source nets without a layout counterpart: " + ", ".join(loose_s[:20]) + (" ..." if len(loose_s) > 20 else ""))
    if loose_l:
        res.notes.append("layout nets without a source counterpart: " + ", ".join(loose_l[:20]) + (" ..." if len(loose_l) > 20 else ""))
    return res


def _with_extraction_rules(rules: dict[str, DeviceRule], layout) -> dict[str, DeviceRule]:
    """Interchangeable terminals and relative tolerances the extraction read
    from the PDK (``Extraction.swappable`` / ``.tolerances``) override the
    defaults."""
    from dataclasses import replace

    swap = getattr(layout, "swappable", None) or {}
    tols = getattr(layout, "tolerances", None) or {}
    out = dict(rules)
    for model, rule in rules.items():
        changes: dict[str, Any] = {}
        if model in swap:
            changes["groups"] = tuple(tuple(g) for g in swap[model] if len(tuple(g)) > 1)
        if model in tols:
            params = dict(rule.params)
            for name, rel in tols[model].items():
                if name in params:
                    params[name] = Tolerance(float(rel), params[name].abs)
            changes["params"] = MappingProxyType(params)
        if changes:
            out[model] = replace(rule, **changes)
    return out


#: A net with more pins than this on one edge label (a supply) proposes no
#: candidates in the residual pairing: it does not tell devices apart.
_HUB = 64


def _pick_sparse(entries: Mapping[tuple[int, int], float], floor: float, confident: bool) -> list[tuple[int, int]]:
    """:func:`_pick` over a sparse score table ``(row, col) -> score``."""
    entries = {k: v for k, v in entries.items() if v >= floor}
    if not entries:
        return []
    rows = sorted({a for a, _ in entries})
    cols = sorted({b for _, b in entries})
    if confident:
        best_r: dict[int, list] = {}
        best_c: dict[int, list] = {}
        for (a, b), v in entries.items():
            r = best_r.setdefault(a, [v, b, 0])
            if v > r[0]:
                r[:] = [v, b, 1]
            elif v == r[0]:
                r[2] += 1
                if r[2] == 1:
                    r[1] = b
            c = best_c.setdefault(b, [v, a, 0])
            if v > c[0]:
                c[:] = [v, a, 1]
            elif v == c[0]:
                c[2] += 1
                if c[2] == 1:
                    c[1] = a
        return sorted(
            (a, r[1]) for a, r in best_r.items()
            if r[2] == 1 and best_c[r[1]][2] == 1 and best_c[r[1]][1] == a
        )
    if len(rows) * len(cols) <= 4_000_000:
        ri = {a: k for k, a in enumerate(rows)}
        ci = {b: k for k, b in enumerate(cols)}
        score = np.zeros((len(rows), len(cols)))
        for (a, b), v in entries.items():
            score[ri[a], ci[b]] = v
        return [(rows[a], cols[b]) for a, b in _pick(score, floor, False)]
    out, used_r, used_c = [], set(), set()
    for (a, b), v in sorted(entries.items(), key=lambda kv: (-kv[1], kv[0])):
        if a not in used_r and b not in used_c:
            out.append((a, b))
            used_r.add(a)
            used_c.add(b)
    return out


def _pick(score: np.ndarray, floor: float, confident: bool) -> list[tuple[int, int]]:
    """Pairs (row, column) to commit from a score matrix: with ``confident``,
    every entry at least ``floor`` that is the strict maximum of its row and
    of its column; otherwise an optimal assignment's entries of at least
    ``floor``."""
    if score.size == 0:
        return []
    if not confident:
        from scipy.optimize import linear_sum_assignment

        ra, cb = linear_sum_assignment(-score)
        return [(int(a), int(b)) for a, b in zip(ra, cb) if score[a, b] >= floor]
    out = []
    rmax = score.max(axis=1)
    cmax = score.max(axis=0)
    for a in range(score.shape[0]):
        if rmax[a] < floor:
            continue
        b = int(np.argmax(score[a]))
        if score[a, b] != cmax[b]:
            continue
        if (score[a] == rmax[a]).sum() == 1 and (score[:, b] == cmax[b]).sum() == 1:
            out.append((a, b))
    return out


def _expected_spot_geometry(geometry, point_sets) -> list[float] | None:
    """Where a missing device probably was, from the shapes: the middle of
    the places where each pair of the nets it should join come closest."""
    idx = [geometry.net_of(ps) for ps in point_sets]
    idx = list(dict.fromkeys(i for i in idx if i is not None))
    mids = []
    for a, b in itertools.combinations(idx, 2):
        g = geometry.gap(a, b)
        if g is not None:
            mids.append(g["location"])
    if not mids:
        return None
    return [round(float(np.median([m[0] for m in mids])), 3), round(float(np.median([m[1] for m in mids])), 3)]


def _expected_spot(point_sets: Iterable[Sequence[tuple[str, float, float]]]) -> list[float] | None:
    """Where a missing device probably was: the middle of the closest points
    of the nets it should join."""
    sets = [s for s in point_sets if s]
    if not sets:
        return None
    if len(sets) == 1:
        p = sets[0][0]
        return [round(p[1], 3), round(p[2], 3)]
    mids = []
    for a, b in itertools.combinations(sets, 2):
        c = _closest(a, b)
        if c is not None:
            mids.append(((c[0][1] + c[1][1]) / 2, (c[0][2] + c[1][2]) / 2))
    x = sum(m[0] for m in mids) / len(mids)
    y = sum(m[1] for m in mids) / len(mids)
    return [round(x, 3), round(y, 3)]
