"""Process design kits: discovery, loading and device generation.

Built-in kits live in ``pdk/<name>/`` (``pdk.toml`` + ``devices.py``);
third-party kits register a module in the entry-point group
``pilotflow.pdks`` whose folder holds the same two files.
"""

from __future__ import annotations

import importlib
from functools import cache
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType

from flow.errors import PDKError
from pdk.schema import PDK, load_pdk_file

_HERE = Path(__file__).resolve().parent


def _kits() -> dict[str, str]:
    """name -> module path of every known kit (built-in first)."""
    kits = {
        d.name: f"pdk.{d.name}"
        for d in sorted(_HERE.iterdir())
        if d.is_dir() and (d / "pdk.toml").is_file()
    }
    for ep in entry_points(group="pilotflow.pdks"):
        kits.setdefault(ep.name, ep.value)
    return kits


def available() -> list[str]:
    """Names of the PDKs that can be loaded."""
    return sorted(_kits())


def _module(name: str) -> ModuleType:
    kits = _kits()
    if name not in kits:
        raise PDKError([f"unknown PDK '{name}'; available PDKs are {', '.join(sorted(kits)) or '(none)'}"])
    return importlib.import_module(kits[name])


@cache
def load(name: str) -> PDK:
    """Load and validate the kit called ``name``."""
    mod = _module(name)
    path = Path(mod.__file__).resolve().parent / "pdk.toml"
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
        raise PDKError([f"{kit.path}: kit '{kit.name}' has no devices.py ({e})"]) from None
