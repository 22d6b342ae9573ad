from pathlib import Path

import pytest

from flow.config import load_design
from flow.errors import InputError


def write(folder: Path, text: str, netlist: str | None = "* empty\n") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "design.toml").write_text(text)
    if netlist is not None:
        (folder / "n.sp").write_text(netlist)
    return folder


def test_minimal(tmp_path):
    d = write(tmp_path / "x", '[design]\npdk = "gan650"\nnetlist = "n.sp"\n')
    cfg = load_design(d)
    assert cfg.name == "x" and cfg.pdk == "gan650" and cfg.top is None
    assert cfg.netlist == (d / "n.sp").resolve()
    assert cfg.die is None and cfg.utilization == 0.25


def test_full(tmp_path):
    d = write(
        tmp_path / "x",
        """
[design]
name = "hb"
top = "top"
pdk = "gan650"
netlist = "n.sp"
[floorplan]
die = [1000, 800.5]
spacing = 30
[pins]
A = { side = "north" }
B = { position = [10.0, 0] }
[[net_class]]
name = "hv"
nets = ["SW*", "VBUS"]
voltage = 650
current = 10
""",
    )
    cfg = load_design(d)
    assert cfg.die == (1000.0, 800.5) and cfg.spacing == 30.0
    assert cfg.pins["A"].side == "north" and cfg.pins["B"].position == (10.0, 0.0)
    assert cfg.net_class("SW1").voltage == 650.0
    assert cfg.net_class("VBUS").current == 10.0
    assert cfg.net_class("GND") is None


def test_all_problems_reported_at_once(tmp_path):
    d = write(
        tmp_path / "x",
        """
[design]
pdk = "gan650"
netlist = "missing.sp"
colour = "red"
[floorplan]
utilization = 2
[pins]
A = { side = "up" }
[[net_class]]
nets = []
""",
    )
    with pytest.raises(InputError) as e:
        load_design(d)
    msg = str(e.value)
    assert "design.toml" in msg and "problems" in msg
    for part in ("design.colour: unknown key", "design.netlist", "floorplan.utilization", "pins.A.side", "net_class[0].nets"):
        assert part in msg, part


def test_netlist_outside_folder_refused(tmp_path):
    (tmp_path / "secret.sp").write_text("* outside\n")
    d = write(tmp_path / "x", '[design]\npdk = "gan650"\nnetlist = "../secret.sp"\n')
    with pytest.raises(InputError, match="outside the design folder"):
        load_design(d)


def test_missing_folder_and_file(tmp_path):
    with pytest.raises(InputError, match="not a design folder"):
        load_design(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="design.toml: file not found"):
        load_design(tmp_path / "empty")


def test_bad_toml(tmp_path):
    d = write(tmp_path / "x", "[design\n")
    with pytest.raises(InputError, match="not valid TOML"):
        load_design(d)


def test_route_size_for_current(tmp_path):
    base = '[design]\npdk = "gan650"\nnetlist = "n.sp"\n'
    assert load_design(write(tmp_path / "a", base)).size_for_current is True
    assert load_design(write(tmp_path / "b", base + "[route]\nsize_for_current = false\n")).size_for_current is False
    with pytest.raises(InputError, match="route.size_for_current: must be true or false"):
        load_design(write(tmp_path / "c", base + '[route]\nsize_for_current = "no"\n'))
    with pytest.raises(InputError, match="route.widths: unknown key"):
        load_design(write(tmp_path / "d", base + "[route]\nwidths = 1\n"))


def test_floorplan_seal_ring_and_scribe(tmp_path):
    base = '[design]\npdk = "gan650"\nnetlist = "n.sp"\n'
    cfg = load_design(write(tmp_path / "a", base))
    assert cfg.seal_ring is False and cfg.scribe == 40.0
    cfg = load_design(write(tmp_path / "b", base + "[floorplan]\nseal_ring = true\nscribe = 25\n"))
    assert cfg.seal_ring is True and cfg.scribe == 25.0
    assert cfg.to_json()["seal_ring"] is True and cfg.to_json()["scribe"] == 25.0
    cfg = load_design(write(tmp_path / "c", base + "[floorplan]\nseal_ring = true\nscribe = 0\n"))
    assert cfg.scribe == 0.0
    with pytest.raises(InputError) as e:
        load_design(write(tmp_path / "d", base + '[floorplan]\nseal_ring = "yes"\nscribe = -5\n'))
    msg = str(e.value)
    assert "2 problems" in msg
    assert "floorplan.seal_ring: must be true or false, got 'yes'" in msg
    assert "floorplan.scribe: must be a number of um, 0 or more, got -5" in msg
    with pytest.raises(InputError, match="floorplan.scribe: is the lane outside the seal ring: set seal_ring = true too"):
        load_design(write(tmp_path / "e", base + "[floorplan]\nscribe = 30.0\n"))
