"""Handoff to the pilot line: tapeout bundles and multi-project reticles.

:mod:`flow.handoff.tapeout` turns a signed-off run directory into a
deterministic, checksummed bundle for the fab; :mod:`flow.handoff.reticle`
places several bundles' dies on a reticle with scribe lanes, seal rings,
alignment marks, die labels and process-control monitors.
"""
