"""Shared fixtures: the repository root, the external bench folder, kits."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DESIGNS = ROOT / "designs"
BENCH = ROOT.parent / "shared" / "bench"

from benchdata import bench_path  # noqa: E402,F401  (re-exported)


@pytest.fixture(scope="session")
def gan650():
    import pdk

    return pdk.load("gan650")
