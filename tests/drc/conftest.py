"""Shared helpers for the DRC tests: a tiny rule kit and layout builders."""

from __future__ import annotations

from pathlib import Path

import gdstk
import pytest

from pdk.schema import PDK, load_rules_file

RULES_TOML = """
[layers.M1]
gds = [1, 0]
label = [1, 10]
purpose = "routing"
[layers.M2]
gds = [2, 0]
purpose = "routing"
[layers.V1]
gds = [3, 0]
purpose = "cut"

[[rules]]
id = "M1.W"
kind = "width"
layer = "M1"
value = 1.0
doc = "M1 width"
[[rules]]
id = "M1.S"
kind = "spacing"
layer = "M1"
value = 1.0
doc = "M1 spacing"
[[rules]]
id = "M1.S.M2"
kind = "spacing"
layer = "M1"
other = "M2"
value = 0.5
doc = "M1 to M2 separation"
[[rules]]
id = "M2.EN.V1"
kind = "enclosure"
layer = "M2"
other = "V1"
value = 0.2
doc = "M2 enclosure of V1"
"""

LAYER = {"M1": 1, "M2": 2, "V1": 3}


@pytest.fixture
def kit(tmp_path: Path) -> PDK:
    path = tmp_path / "rules.toml"
    path.write_text(RULES_TOML)
    return load_rules_file(path)


def build_layout(shapes: dict[str, list[tuple[float, float, float, float] | list[tuple[float, float]]]]) -> gdstk.Library:
    """A one-cell library; rectangles (x0, y0, x1, y1) or point lists in um."""
    lib = gdstk.Library(unit=1e-6, precision=1e-9)
    top = lib.new_cell("TOP")
    for name, items in shapes.items():
        for it in items:
            if isinstance(it, tuple) and len(it) == 4 and not isinstance(it[0], tuple):
                top.add(gdstk.rectangle(it[:2], it[2:], layer=LAYER[name]))
            else:
                top.add(gdstk.Polygon(it, layer=LAYER[name]))
    return lib


@pytest.fixture
def layout():
    """The :func:`build_layout` helper."""
    return build_layout
