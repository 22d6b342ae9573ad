"""``pilotflow pdk export-klayout``: a kit as KLayout files.

Three files, rendered from the jinja2 templates in ``pdk/templates/``:

``NAME.lyp``
    layer properties: one entry per drawing layer (the kit's colour, a fill
    pattern by purpose), plus the pin and label datatypes;
``NAME.lyt``
    technology: name, dbu, the layer properties file, and the kit's
    connectivity for KLayout's net tracer;
``NAME.lydrc``
    DRC deck (KLayout's Ruby DSL): reads ``$input`` (optionally
    ``$topcell``), writes every rule's markers to category ``rule.id`` of
    the report ``$report``.  Each rule's statements come from its kind's
    :attr:`flow.drc.core.KindImpl.klayout`; rules whose kind cannot be
    expressed (``None``) or is not implemented are listed in a comment at the
    top of the deck and in :attr:`KLayoutExport.not_exported`.

Run the deck in batch mode with
``klayout -b -r NAME.lydrc -rd input=LAYOUT.gds -rd report=OUT.lyrdb``; its
marker counts per rule equal pilotflow's on the rules' self-test layouts
(``tests/pdk/test_klayout_export.py`` checks this with Debian's KLayout 0.28).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import jinja2

import flow
import flow.drc.kinds  # noqa: F401  (registers every rule kind)
from flow.drc.core import IMPLS
from flow.drc.kinds.basic import ruby_str
from flow.drc.nets import net_layers
from flow.errors import InputError
from pdk.schema import PDK
from pdk.style import layer_colours

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("pdk", "templates"),
    # XML files are escaped; the Ruby deck is plain text (escaped once more
    # when it is wrapped into the .lydrc XML)
    autoescape=lambda name: name is not None and not name.endswith(".drc.j2"),
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
)

#: KLayout standard fill ("dither") pattern by layer purpose: I0 solid,
#: I1 hollow, I3 coarsely dotted, I5 lightly left-hatched, I9 lightly
#: right-hatched, I13 lightly cross-hatched.
FILL_BY_PURPOSE = {
    "device": "I9",
    "implant": "I3",
    "routing": "I5",
    "cut": "I0",
    "pad": "I13",
    "marker": "I1",
    "boundary": "I1",
}



@dataclass(frozen=True)
class KLayoutExport:
    """What :func:`export_klayout` wrote.

    ``exported``: ids of the rules in the deck; ``not_exported``:
    ``(rule id, reason)`` for the others.
    """

    lyp: Path
    lyt: Path
    lydrc: Path
    exported: tuple[str, ...]
    not_exported: tuple[tuple[str, str], ...]

    @property
    def paths(self) -> tuple[Path, Path, Path]:
        return (self.lyp, self.lyt, self.lydrc)


def ruby_vars(kit: PDK) -> dict[str, str]:
    """layer name -> Ruby variable of the deck (``l_met1``), unique per kit."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for name in kit.layers:
        base = "l_" + re.sub(r"[^a-z0-9_]", "_", name.lower())
        var, k = base, 2
        while var in used:
            var, k = f"{base}_{k}", k + 1
        used.add(var)
        out[name] = var
    return out


def render_lyp(kit: PDK) -> str:
    """The ``.lyp`` text: drawing, pin and label datatype of every layer."""
    entries = []
    colours = layer_colours(kit)  # pdk.style: the same colours as pilotflow's own pictures
    for name, lay in kit.layers.items():
        col = colours[name]
        fill = FILL_BY_PURPOSE.get(lay.purpose, "I1")
        width = 2 if lay.purpose == "boundary" else 1
        entries.append({"name": f"{name} {lay.gds[0]}/{lay.gds[1]}", "gds": lay.gds, "color": col, "dither": fill, "width": width, "xfill": lay.purpose == "cut"})
        if lay.pin is not None:
            entries.append({"name": f"{name}.pin {lay.pin[0]}/{lay.pin[1]}", "gds": lay.pin, "color": col, "dither": "I1", "width": 2, "xfill": True})
        if lay.label is not None:
            entries.append({"name": f"{name}.label {lay.label[0]}/{lay.label[1]}", "gds": lay.label, "color": col, "dither": "I1", "width": 1, "xfill": False})
    return _ENV.get_template("klayout.lyp.j2").render(kit=kit, entries=entries, version=flow.__version__)


def render_lyt(kit: PDK, lyp_name: str) -> str:
    """The ``.lyt`` text (technology named after the kit)."""
    used = dict.fromkeys(n for group in kit.connect for n in group)
    connections = [",".join(group) if len(group) == 3 else f"{group[0]},,{group[1]}" for group in kit.connect]
    symbols = [(n, kit.layers[n].gds) for n in used]
    return _ENV.get_template("klayout.lyt.j2").render(
        kit=kit, dbu=f"{kit.dbu_um:.12g}", lyp=lyp_name, connections=connections, symbols=symbols, version=flow.__version__
    )


def deck_rules(kit: PDK) -> tuple[list[dict[str, str]], list[tuple[str, str]]]:
    """Each rule's deck statements, and ``(id, reason)`` of rules left out."""
    var_of = ruby_vars(kit)

    def var(name: str) -> str:
        if name not in var_of:
            raise InputError(f"PDK {kit.name}: '{name}' is not a layer; layers are {', '.join(kit.layers)}")
        return var_of[name]

    exported: list[dict[str, str]] = []
    skipped: list[tuple[str, str]] = []
    for rule in kit.rules:
        impl = IMPLS.get(rule.kind)
        if impl is None:
            skipped.append((rule.id, f"kind '{rule.kind}' is not implemented by pilotflow's DRC engine"))
            continue
        snippet = impl.klayout(rule, kit, var) if impl.klayout is not None else None
        if not snippet:
            skipped.append((rule.id, f"kind '{rule.kind}' has no KLayout DSL form"))
            continue
        on = rule.layer + (f" / {rule.other}" if rule.other else "")
        exported.append({"id": rule.id, "kind": rule.kind, "on": on, "doc": " ".join(rule.doc.split()), "snippet": snippet.strip()})
    return exported, skipped


def render_nets(kit: PDK, exported: list[dict[str, str]]) -> str:
    """The deck's nets section (connectivity, net labels, the ``pfn_*`` Ruby
    helpers of ``klayout.nets.drc.j2``) when a net-aware rule is exported,
    else ``""``."""
    net_rules = [r for r in kit.rules if r.id in {e["id"] for e in exported} and IMPLS[r.kind].net_aware]
    if not net_rules:
        return ""
    var_of = ruby_vars(kit)
    names = net_layers(kit, [n for r in net_rules for n in (r.layer, r.other) if n])
    used = set(var_of.values())
    labels = []
    for n in names:
        gds = kit.layers[n].label
        if gds is None:
            continue
        var, k = var_of[n] + "_lbl", 2
        while var in used:
            var, k = f"{var_of[n]}_lbl{k}", k + 1
        used.add(var)
        labels.append({"name": n, "var": var, "gds": gds})
    # net ties: a tied conductor is traced with the markers cut out of it
    ties: dict[str, list[str]] = {}
    for n, lay in kit.layers.items():
        if lay.net_tie and lay.net_tie in names:
            ties.setdefault(lay.net_tie, []).append(var_of[n])
    traced = dict(var_of)
    tied = []
    for n, marks in ties.items():
        var, k = var_of[n] + "_tied", 2
        while var in used:
            var, k = f"{var_of[n]}_tied{k}", k + 1
        used.add(var)
        traced[n] = var
        tied.append({"var": var, "expr": " - ".join([var_of[n], *marks]), "name": n})
    connect: list[tuple[str, str]] = []
    for g in kit.connect:
        steps = [(g[0], g[1])] if len(g) == 2 else [(g[0], g[1]), (g[1], g[2])]
        connect += [(traced[a], traced[b]) for a, b in steps]
    connect += [(traced[lb["name"]], lb["var"]) for lb in labels]
    joined = {v for pair in connect for v in pair}
    # a layer taking part in no connection is still traced (its own nets)
    connect += [(traced[n], traced[n]) for n in names if traced[n] not in joined]
    return _ENV.get_template("klayout.nets.drc.j2").render(
        kinds=", ".join(dict.fromkeys(r.kind for r in net_rules)),
        labels=labels,
        connect=connect,
        dbu=repr(float(kit.dbu_um)),
        layers=", ".join(f"[{ruby_str(n)}, {traced[n]}]" for n in names),
        tied=tied,
        models="|".join(re.escape(m) for m in kit.devices) or "(?!)",
        gds=", ".join(f"{ruby_str(n)} => [{kit.layers[n].gds[0]}, {kit.layers[n].gds[1]}]" for n in names),
    )


def render_deck(kit: PDK, deck_name: str | None = None) -> tuple[str, list[dict[str, str]], list[tuple[str, str]]]:
    """The Ruby DSL text of the DRC deck: ``(script, exported, not exported)``."""
    exported, skipped = deck_rules(kit)
    var_of = ruby_vars(kit)
    layers = [{"name": n, "var": var_of[n], "gds": lay.gds, "purpose": lay.purpose} for n, lay in kit.layers.items()]
    script = _ENV.get_template("klayout.drc.j2").render(
        kit=kit,
        deck=deck_name or f"{kit.name}.lydrc",
        title=ruby_str(f"pilotflow DRC {kit.name} {kit.version}"),
        layers=layers,
        exported=exported,
        not_exported=skipped,
        nets=render_nets(kit, exported),
        version=flow.__version__,
        device_ratings=bool(kit.devices) and any(r["kind"] == "current_density" for r in exported),
    )
    return script, exported, skipped


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def export_klayout(kit: PDK, folder: str | os.PathLike[str]) -> KLayoutExport:
    """Write ``NAME.lyp``, ``NAME.lyt`` and ``NAME.lydrc`` of ``kit`` into ``folder``.

    Parameters
    ----------
    kit
        A loaded kit (or standalone rule set).
    folder
        Output folder, created if needed.  Files are written atomically.

    Returns
    -------
    KLayoutExport
        The paths written and the rules left out of the deck.

    Examples
    --------
    >>> import pdk, tempfile
    >>> kit = pdk.load("gan650")
    >>> res = export_klayout(kit, tempfile.mkdtemp())
    >>> [p.name for p in res.paths], len(res.exported) == len(kit.rules), res.not_exported
    (['gan650.lyp', 'gan650.lyt', 'gan650.lydrc'], True, ())
    """
    out = Path(folder)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InputError(f"{out}: cannot create the output folder ({e.strerror})") from None
    lyp, lyt, lydrc = (out / f"{kit.name}{ext}" for ext in (".lyp", ".lyt", ".lydrc"))
    script, exported, skipped = render_deck(kit, lydrc.name)
    macro = _ENV.get_template("klayout.lydrc.j2").render(
        kit=kit, description=f"pilotflow DRC {kit.name} {kit.version}", script=script
    )
    _write(lyp, render_lyp(kit))
    _write(lyt, render_lyt(kit, lyp.name))
    _write(lydrc, macro)
    return KLayoutExport(lyp, lyt, lydrc, tuple(r["id"] for r in exported), tuple(skipped))


__all__ = ["FILL_BY_PURPOSE", "KLayoutExport", "deck_rules", "export_klayout", "render_deck", "render_lyp", "render_lyt", "ruby_vars"]
