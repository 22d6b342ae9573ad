"""Shared fixtures: the repository root, the external bench folder, kits."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DESIGNS = ROOT / "designs"
BENCH = ROOT.parent / "shared" / "bench"


def bench_path(*parts: str) -> Path:
    """A file under ../shared/bench, or skip the test with a clear message."""
    p = BENCH.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"external benchmark data not found at {p} (the ../shared/bench folder is absent)")
    return p


@pytest.fixture(scope="session")
def gan650():
    import pdk

    return pdk.load("gan650")
