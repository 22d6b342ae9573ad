"""ganrf025: generic 0.25 um GaN-on-SiC RF HEMT / MMIC process (data in pdk.toml, generators in devices.py)."""
