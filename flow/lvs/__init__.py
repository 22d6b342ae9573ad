"""Layout versus schematic: extraction from the GDS (:mod:`flow.lvs.extract`),
comparison with the source netlist (:mod:`flow.lvs.compare`) and reports
(:mod:`flow.lvs.report`)."""
