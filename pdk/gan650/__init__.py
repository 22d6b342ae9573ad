"""gan650: generic 650 V GaN-on-Si power IC process (data in pdk.toml, generators in devices.py)."""
