"""tinykit: a tiny example PDK for pilotflow (pdk.toml, devices.py, CHANGELOG.md)."""
