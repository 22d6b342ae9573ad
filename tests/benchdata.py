"""Where the external benchmark data lives (``../shared/bench``), for tests.

Imported as ``from benchdata import bench_path`` (tests/ is on ``sys.path``
through the root conftest); a module of its own because several test folders
have a ``conftest.py`` and ``from conftest import ...`` would pick whichever
was loaded first.
"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT.parent / "shared" / "bench"


def bench_path(*parts: str) -> Path:
    """A file under ../shared/bench, or skip the test with a clear message."""
    p = BENCH.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"external benchmark data not found at {p} (the ../shared/bench folder is absent)")
    return p
