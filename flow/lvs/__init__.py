"""Layout versus schematic: extraction from the GDS alone (:mod:`.extract`),
wiring parasitics (:mod:`.parasitics`) and comparison with the source netlist."""
