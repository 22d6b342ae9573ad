"""Where the external LEF/DEF benchmark files are; tests skip when absent."""

from __future__ import annotations

from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2].parent / "shared" / "bench"


def bench_path(*parts: str) -> Path:
    """A file under ../shared/bench, or skip the test with a clear message."""
    p = BENCH.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"external benchmark data not found at {p} (the ../shared/bench folder is absent)")
    return p
