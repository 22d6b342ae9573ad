"""sic1200: generic 1200 V SiC power process with on-chip CMOS drivers (data in pdk.toml, generators in devices.py)."""
