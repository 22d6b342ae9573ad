"""Third-party kits: a plug-in PDK installed as a Python package, end to end.

``tests/pdk/plugin_kit/`` is a tiny kit package (``tinykit``: pdk.toml,
devices.py with two generators, CHANGELOG.md, and a pyproject.toml with the
``pilotflow.pdks`` entry point) plus a design using it.  The test builds a
wheel of it from its pyproject.toml (by hand with zipfile: no network and no
``wheel`` package needed), installs it with ``pip install --no-deps
--no-index --target SITE``, and runs ``pilotflow`` in a subprocess with SITE
on ``PYTHONPATH``: ``pdk list``, ``pdk check``, ``pdk docs`` and ``run`` on
the design, which must come out clean (every net routed, 0 DRC violations by
pilotflow and by the KLayout deck exported from the kit).

Broken plug-ins (failing import, missing or invalid pdk.toml, a clash with a
bundled kit, a module that does not exist) are installed next to the good
one: ``pdk list`` still lists every good kit, prints one ``Error:`` line per
broken plug-in and exits 2.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import gdstk
import pytest

import pdk as pdks

ROOT = Path(__file__).resolve().parents[2]
SRC = Path(__file__).resolve().parent / "plugin_kit"
KLAYOUT = shutil.which("klayout")


# ----------------------------------------------------- wheels by hand --


def build_wheel(out: Path, dist: str, version: str, files: dict[str, bytes], entry_points: dict[str, dict[str, str]]) -> Path:
    """A pure-Python wheel (PEP 427) of ``files`` with ``entry_points``."""
    norm = dist.replace("-", "_")
    info = f"{norm}-{version}.dist-info"
    files = dict(files)
    files[f"{info}/METADATA"] = f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n".encode()
    files[f"{info}/WHEEL"] = b"Wheel-Version: 1.0\nGenerator: pilotflow-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    files[f"{info}/entry_points.txt"] = "".join(
        f"[{group}]\n" + "".join(f"{k} = {v}\n" for k, v in eps.items()) + "\n" for group, eps in entry_points.items()
    ).encode()

    def digest(data: bytes) -> str:
        return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()

    files[f"{info}/RECORD"] = ("".join(f"{n},{digest(d)},{len(d)}\n" for n, d in files.items()) + f"{info}/RECORD,,\n").encode()
    whl = out / f"{norm}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(whl, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)
    return whl


def wheel_from_pyproject(src: Path, out: Path) -> Path:
    """The wheel ``pip wheel src`` would build for a one-package project
    (``[tool.setuptools] packages``, ``package-data``)."""
    meta = tomllib.loads((src / "pyproject.toml").read_text())
    proj, st = meta["project"], meta["tool"]["setuptools"]
    files: dict[str, bytes] = {}
    for pkg in st["packages"]:
        data = st.get("package-data", {}).get(pkg, [])
        for f in sorted((src / pkg).iterdir()):
            if f.suffix == ".py" or any(f.match(g) for g in data):
                files[f"{pkg}/{f.name}"] = f.read_bytes()
    return build_wheel(out, proj["name"], proj["version"], files, proj.get("entry-points", {}))


def pip_install(wheels: list[Path], target: Path) -> Path:
    r = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--quiet", "--target", str(target), *map(str, wheels)],
        capture_output=True, text=True, timeout=300,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    return target


def pilotflow(args: list[str], sites: list[Path], cwd: Path) -> subprocess.CompletedProcess:
    """``pilotflow ARGS`` in a subprocess seeing this checkout and ``sites``."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), *map(str, sites)]))
    return subprocess.run([sys.executable, "-m", "flow.cli", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def good_site(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("tinykit")
    return pip_install([wheel_from_pyproject(SRC, work)], work / "site")


TOML = (SRC / "tinykit" / "pdk.toml").read_text()


def _kit_files(pkg: str, toml: str | None, init: str = "") -> dict[str, bytes]:
    files = {f"{pkg}/__init__.py": init.encode(), f"{pkg}/devices.py": (SRC / "tinykit" / "devices.py").read_bytes()}
    if toml is not None:
        files[f"{pkg}/pdk.toml"] = toml.replace('name = "tinykit"', f'name = "{pkg}"', 1).encode()
        files[f"{pkg}/CHANGELOG.md"] = (SRC / "tinykit" / "CHANGELOG.md").read_bytes()
    return files


#: name -> (files, entry points, the Error line must contain)
BROKEN = {
    "kitboom": (_kit_files("kitboom", TOML, "raise ImportError('kitboom is broken')\n"), {"kitboom": "kitboom"},
                "PDK 'kitboom': entry point kitboom = kitboom (distribution kitboom 1.0.0): cannot import 'kitboom': ImportError: kitboom is broken"),
    "kitnotoml": (_kit_files("kitnotoml", None), {"kitnotoml": "kitnotoml"},
                  "PDK 'kitnotoml': entry point kitnotoml = kitnotoml (distribution kitnotoml 1.0.0): no pdk.toml in "),
    "kitbad": (_kit_files("kitbad", TOML.replace('layer = "MET2"\nvalue = 3.0', 'layer = "MET3"\nvalue = 3.0', 1).replace("value = 2.0", "value = -2.0", 1)),
               {"kitbad": "kitbad"}, "'MET3' is not a layer; layers are RES, MET1, VIA1, MET2, PASS, BOUNDARY"),
    "kitclash": ({"kitclash/__init__.py": b""}, {"gan650": "kitclash"},
                 "PDK 'gan650': entry point gan650 = kitclash (distribution kitclash 1.0.0) clashes with the bundled kit 'gan650'"),
    "kitghost": ({}, {"kitghost": "kitghost_missing"},
                 "PDK 'kitghost': entry point kitghost = kitghost_missing (distribution kitghost 1.0.0): cannot import 'kitghost_missing': ModuleNotFoundError"),
    "kitother": (_kit_files("kitother", TOML.replace('name = "tinykit"', 'name = "someother"')), {"kitother": "kitother"},
                 "pdk.name: 'someother' does not match the kit's registered name 'kitother'"),
    "kitobj": ({}, {"kitobj": "kitother:devices"},
               "PDK 'kitobj': entry point kitobj = kitother:devices (distribution kitobj 1.0.0) must name a package (module), not an object"),
    # two distributions registering the same kit name with different packages
    "kitdup": ({}, {"kitdup": "kitboom"}, "PDK 'kitdup': registered by more than one plug-in: "),
    "kitdup2": ({}, {"kitdup": "kitnotoml"}, None),
}


@pytest.fixture(scope="module")
def broken_site(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("broken")
    wheels = [build_wheel(work, name, "1.0.0", files, {"pilotflow.pdks": eps}) for name, (files, eps, _) in BROKEN.items()]
    return pip_install(wheels, work / "site")


# -------------------------------------------------------------- good kit --


def test_pyproject_declares_the_entry_point():
    meta = tomllib.loads((SRC / "pyproject.toml").read_text())
    assert meta["project"]["entry-points"]["pilotflow.pdks"] == {"tinykit": "tinykit"}


def test_pdk_list_shows_plugin(good_site, tmp_path):
    r = pilotflow(["pdk", "list"], [good_site], tmp_path)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    names = [line.split()[0] for line in r.stdout.splitlines()]
    assert names == sorted(pdks.available() + ["tinykit"])
    line = next(x for x in r.stdout.splitlines() if x.startswith("tinykit"))
    assert line.split()[1] == "0.1.0" and "Tiny example kit" in line


def test_pdk_check_plugin(good_site, tmp_path):
    r = pilotflow(["pdk", "check", "tinykit"], [good_site], tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == f"PDK tinykit 0.1.0 ({good_site / 'tinykit' / 'pdk.toml'})"
    assert lines[-1].startswith("tinykit 0.1.0: OK; 10/10 rules self-tested")
    assert "  PASS  res " in r.stdout and "  PASS  pad " in r.stdout
    assert "FAIL" not in r.stdout


def test_pdk_docs_plugin(good_site, tmp_path):
    r = pilotflow(["pdk", "docs", "tinykit"], [good_site], tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    md = (tmp_path / "tinykit-manual" / "manual.md").read_text()
    assert md.startswith("# tinykit 0.1.0: rule manual")
    assert "| MET2.EN.PASS | enclosure | MET2 / PASS | 5 um |" in md
    assert sorted(p.name for p in (tmp_path / "tinykit-manual" / "devices").iterdir()) == ["pad.svg", "res.svg"]


def test_run_design_on_plugin_kit(good_site, tmp_path):
    design = tmp_path / "tiny_divider"
    shutil.copytree(SRC / "design", design)
    out = tmp_path / "run"
    r = pilotflow(["run", str(design), "-o", str(out)], [good_site], tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "on tinykit 0.1.0" in r.stdout and "DRC: 0 violations" in r.stdout
    m = json.loads((out / "metrics.json").read_text())
    assert (m["pdk"], m["pdk_version"]) == ("tinykit", "0.1.0")
    assert m["instances"] == 2 and m["nets"] == 3
    assert m["nets_unrouted"] == 0 and m["nets_routed"] == 3
    assert m["drc_violations"] == 0 and m["drc_not_checked"] == []
    gds = out / "divider.gds"
    lib = gdstk.read_gds(gds)
    assert lib.name.endswith(" tinykit-0.1.0")

    # KLayout reads the kit's layers and the net labels
    import klayout.db as kdb

    ly = kdb.Layout()
    ly.read(str(gds))
    top = ly.cell("divider")
    res = ly.find_layer(5, 0)
    assert res is not None and sum(1 for _ in top.begin_shapes_rec(res)) == 2
    labels = set()
    for dt_layer in ((10, 10), (12, 10)):
        li = ly.find_layer(*dt_layer)
        if li is not None:
            labels |= {it.shape().text_string for it in top.begin_shapes_rec(li) if it.shape().is_text()}
    assert {"IN", "OUT", "GND"} <= labels

    # and the KLayout deck exported from the plug-in kit finds nothing
    if KLAYOUT is None:
        pytest.skip("KLayout batch binary 'klayout' not on PATH (Debian: apt-get install klayout)")
    r = pilotflow(["pdk", "export-klayout", "tinykit", "-o", str(tmp_path / "k")], [good_site], tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "DRC deck: 10 of 10 rules" in r.stdout
    report = tmp_path / "k.lyrdb"
    k = subprocess.run(
        [KLAYOUT, "-b", "-r", str(tmp_path / "k" / "tinykit.lydrc"), "-rd", f"input={gds}", "-rd", f"report={report}"],
        capture_output=True, text=True, timeout=600,
    )
    assert k.returncode == 0, k.stdout + k.stderr
    assert report.is_file() and "<item>" not in report.read_text()


# ----------------------------------------------------------- broken kits --


def test_broken_plugins_listed_as_errors(good_site, broken_site, tmp_path):
    r = pilotflow(["pdk", "list"], [good_site, broken_site], tmp_path)
    assert r.returncode == 2
    names = [line.split()[0] for line in r.stdout.splitlines()]
    assert names == sorted(pdks.available() + ["tinykit"])  # good kits still listed, gan650 the bundled one
    assert "Traceback" not in r.stderr
    errors = r.stderr.splitlines()
    expected_lines = [e for _, _, e in BROKEN.values() if e is not None]
    assert len(errors) == len(expected_lines), r.stderr
    assert all(e.startswith("Error: ") for e in errors)
    for expected in expected_lines:
        assert sum(expected in e for e in errors) == 1, (expected, r.stderr)
    dup = next(e for e in errors if "kitdup" in e)
    assert "distribution kitdup 1.0.0" in dup and "distribution kitdup2 1.0.0" in dup
    bad = next(e for e in errors if "kitbad" in e)
    assert "must be positive, got -2.0" in bad  # every problem of the invalid kit


@pytest.mark.parametrize("name", ["kitboom", "kitnotoml", "kitbad", "kitghost", "kitother", "kitobj", "kitdup"])
def test_broken_plugin_check_fails_cleanly(good_site, broken_site, tmp_path, name):
    r = pilotflow(["pdk", "check", name], [good_site, broken_site], tmp_path)
    assert r.returncode == 2, r.stdout + r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and BROKEN[name][2] in lines[0], r.stderr


def test_bundled_kit_wins_a_clash(good_site, broken_site, tmp_path):
    r = pilotflow(["pdk", "show", "gan650"], [good_site, broken_site], tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f"gan650 {pdks.load('gan650').version} ")
    assert "hemte" in r.stdout


# ------------------------------------------------ in-process discovery --


@pytest.fixture()
def fake_plugins(monkeypatch, tmp_path):
    """Register entry points in-process: ``add(name, value)``; sys.path gets tmp_path."""
    from importlib.metadata import EntryPoint

    eps: list[EntryPoint] = []
    monkeypatch.setattr(pdks, "entry_points", lambda group: [e for e in eps if e.group == group])
    monkeypatch.syspath_prepend(str(tmp_path))
    pdks.refresh()
    yield lambda name, value: (eps.append(EntryPoint(name, value, pdks.GROUP)), pdks.refresh())
    pdks.refresh()
    for mod in [m for m in sys.modules if m.startswith("tinyfake")]:
        del sys.modules[mod]


def test_broken_devices_module_is_a_pdk_error(fake_plugins, tmp_path):
    from flow.errors import PDKError
    from pdk.base import generate

    pkg = tmp_path / "tinyfake"
    shutil.copytree(SRC / "tinykit", pkg)
    (pkg / "pdk.toml").write_text(TOML.replace('name = "tinykit"', 'name = "tinyfake"', 1))
    (pkg / "devices.py").write_text("raise RuntimeError('devices broken')\n")
    fake_plugins("tinyfake", "tinyfake")
    assert "tinyfake" in pdks.available()
    kit = pdks.load("tinyfake")
    with pytest.raises(PDKError, match=r"devices.py of kit 'tinyfake' fails to import: RuntimeError: devices broken"):
        generate(kit, "res")


def test_pilotflow_registers_its_own_kits_without_clash(fake_plugins):
    fake_plugins("gan650", "pdk.gan650")  # as pilotflow's pyproject.toml does
    good, bad = pdks.load_all()
    assert bad == [] and "gan650" in [k.name for k in good]
    fake_plugins("gan650", "elsewhere")
    good, bad = pdks.load_all()
    assert "gan650" in [k.name for k in good]
    assert bad == ["PDK 'gan650': entry point gan650 = elsewhere clashes with the bundled kit 'gan650' (plug-in ignored; rename it)"]
