"""Runs of the gan650 sample designs shared by the handoff tests (each flow
run takes a few seconds; the session runs each design once, gan_ringosc twice
for the determinism checks)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _run(design: str, rundir: Path) -> Path:
    from flow.flow import run

    res = run(ROOT / "designs" / design, rundir)
    assert res.exit_code == 0, f"{design} is not clean: {res.metrics}"
    return rundir


@pytest.fixture(scope="session")
def gan_runs(tmp_path_factory):
    """design -> a clean run directory, for the three gan650 samples."""
    base = tmp_path_factory.mktemp("handoff_runs")
    return {d: _run(d, base / d) for d in ("gan_ringosc", "gan_kelvin", "gan_halfbridge")}


@pytest.fixture(scope="session")
def ringosc_second_run(tmp_path_factory):
    """A second, independent run of gan_ringosc (another run directory)."""
    return _run("gan_ringosc", tmp_path_factory.mktemp("handoff_again") / "elsewhere" / "ringosc_run")


@pytest.fixture(scope="session")
def gan_bundles(gan_runs, tmp_path_factory):
    """design -> a tapeout bundle of each clean gan650 sample run."""
    from flow.handoff.tapeout import write_bundle

    base = tmp_path_factory.mktemp("handoff_bundles")
    return {d: write_bundle(r, base / d).path for d, r in gan_runs.items()}
