"""pilotflow: netlist-to-GDS layout flow for GaN and SiC pilot lines."""

from importlib.metadata import PackageNotFoundError, version as _version

try:
    __version__ = _version("pilotflow")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0+local"
