"""Process design kits: discovery, loading and device generation.

Built-in kits live in ``pdk/<name>/`` (``pdk.toml`` + ``devices.py`` +
``CHANGELOG.md``).  Third-party kits are Python packages registering an entry
point in the group ``pilotflow.pdks``: its name is the kit's name, its value
the package (module) whose folder holds the same three files::

    [project.entry-points."pilotflow.pdks"]
    tinykit = "tinykit"

Discovery is robust: a plug-in whose entry point clashes with a bundled kit
or another plug-in, whose package fails to import, or whose folder has no
(valid) ``pdk.toml`` does not hide the other kits.  :func:`discover` lists
every kit with its problem, if any; :func:`available` names the kits that
may load; :func:`load` raises a :class:`~flow.errors.PDKError` naming the
plug-in and its distribution for a broken one.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import cache
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from types import ModuleType

from flow.errors import PDKError
from pdk.schema import PDK, load_pdk_file

_HERE = Path(__file__).resolve().parent

#: Entry-point group of third-party kits.
GROUP = "pilotflow.pdks"


@dataclass(frozen=True)
class KitSource:
    """Where a kit comes from: ``module`` (import name) and ``origin``
    (``bundled`` or ``entry point NAME = VALUE (distribution DIST)``);
    ``problem`` says why it cannot be used, ``None`` when it can be tried."""

    name: str
    module: str
    origin: str
    problem: str | None = None


def _origin(ep: EntryPoint) -> str:
    dist = getattr(ep, "dist", None)
    who = f" (distribution {dist.name} {dist.version})" if dist is not None and getattr(dist, "name", None) else ""
    return f"entry point {ep.name} = {ep.value}{who}"


@cache
def _discover() -> tuple[dict[str, KitSource], tuple[str, ...]]:
    """``(name -> source, problems)``: every known kit, bundled first, then
    plug-ins; ``problems`` are entry points ignored (clashes with a bundled
    kit), one line each."""
    kits: dict[str, KitSource] = {
        d.name: KitSource(d.name, f"pdk.{d.name}", "bundled")
        for d in sorted(_HERE.iterdir())
        if d.is_dir() and (d / "pdk.toml").is_file()
    }
    problems: list[str] = []
    plugins: dict[str, list[EntryPoint]] = {}
    for ep in entry_points(group=GROUP):
        same = plugins.setdefault(ep.name, [])
        if all(e.value != ep.value for e in same):  # one distribution seen twice on the path
            same.append(ep)
    for name, eps in sorted(plugins.items()):
        if name in kits:  # bundled
            for e in eps:
                if e.value.strip() != kits[name].module:  # pilotflow registers its own kits too
                    problems.append(f"PDK '{name}': {_origin(e)} clashes with the bundled kit '{name}' (plug-in ignored; rename it)")
            continue
        ep = eps[0]
        if len(eps) > 1:
            kits[name] = KitSource(name, ep.value, _origin(ep), f"PDK '{name}': registered by more than one plug-in: " + "; ".join(_origin(e) for e in eps))
        elif ":" in ep.value or not ep.value.strip():
            kits[name] = KitSource(name, ep.value, _origin(ep), f"PDK '{name}': {_origin(ep)} must name a package (module), not an object")
        else:
            kits[name] = KitSource(name, ep.value.strip(), _origin(ep))
    return kits, tuple(problems)


def refresh() -> None:
    """Forget discovered and loaded kits (after installing a plug-in at run time)."""
    _discover.cache_clear()
    load.cache_clear()
    importlib.invalidate_caches()


def discover() -> tuple[list[KitSource], list[str]]:
    """Every known kit sorted by name (with its problem, if known before
    loading), and the entry points ignored, one problem line each."""
    kits, problems = _discover()
    return [s for _, s in sorted(kits.items())], list(problems)


def available() -> list[str]:
    """Names of the PDKs that can be tried (no discovery problem), sorted."""
    return sorted(n for n, s in _discover()[0].items() if s.problem is None)


def _names() -> str:
    return ", ".join(available()) or "(none)"


def _module(name: str) -> ModuleType:
    kits = _discover()[0]
    if name not in kits:
        raise PDKError([f"unknown PDK '{name}'; available PDKs are {_names()}"])
    src = kits[name]
    if src.problem is not None:
        raise PDKError([src.problem])
    try:
        return importlib.import_module(src.module)
    except Exception as e:  # noqa: BLE001 - a plug-in's own code failing
        raise PDKError([f"PDK '{name}': {src.origin}: cannot import '{src.module}': {type(e).__name__}: {e}"]) from None


def _folder(name: str, mod: ModuleType) -> Path:
    src = _discover()[0][name]
    paths = list(getattr(mod, "__path__", ()))
    if not paths and getattr(mod, "__file__", None):
        paths = [str(Path(mod.__file__).parent)]
    if not paths:
        raise PDKError([f"PDK '{name}': {src.origin}: '{src.module}' has no folder (a package holding pdk.toml is needed)"])
    return Path(paths[0]).resolve()


@cache
def load(name: str) -> PDK:
    """Load and validate the kit called ``name``.

    Raises
    ------
    PDKError
        Unknown name, a plug-in that clashes, fails to import, has no
        ``pdk.toml`` or an invalid one (every problem listed), or a
        ``pdk.toml`` whose ``[pdk] name`` is not ``name``.
    """
    mod = _module(name)
    path = _folder(name, mod) / "pdk.toml"
    src = _discover()[0][name]
    if not path.is_file():
        raise PDKError([f"PDK '{name}': {src.origin}: no pdk.toml in {path.parent}"])
    kit = load_pdk_file(path)
    if kit.name != name:
        raise PDKError([f"{path}: pdk.name: '{kit.name}' does not match the kit's registered name '{name}'"])
    return kit


def generators(kit: PDK) -> ModuleType:
    """The module holding ``kit``'s device generators (``devices.py``)."""
    mod = _module(kit.name)
    try:
        return importlib.import_module(f"{mod.__name__}.devices")
    except ModuleNotFoundError as e:
        if e.name != f"{mod.__name__}.devices":
            raise PDKError([f"{kit.path}: devices.py of kit '{kit.name}' fails to import: {e}"]) from None
        raise PDKError([f"{kit.path}: kit '{kit.name}' has no devices.py ({e})"]) from None
    except Exception as e:  # noqa: BLE001 - a kit's own code failing
        raise PDKError([f"{kit.path}: devices.py of kit '{kit.name}' fails to import: {type(e).__name__}: {e}"]) from None


def load_all() -> tuple[list[PDK], list[str]]:
    """Every kit that loads, and one problem line per kit that does not."""
    sources, problems = discover()
    good: list[PDK] = []
    bad: list[str] = list(problems)
    for src in sources:
        if src.problem is not None:
            bad.append(src.problem)
            continue
        try:
            good.append(load(src.name))
        except PDKError as e:
            bad.append(str(e))
    return good, bad
