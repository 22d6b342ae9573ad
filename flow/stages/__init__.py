"""The flow's stages, in order."""

from flow.stages.base import Context, Stage
from flow.stages.drc import DrcStage
from flow.stages.floorplan import FloorplanStage
from flow.stages.gds import GdsStage
from flow.stages.importer import ImportStage
from flow.stages.lvs import LvsStage
from flow.stages.place import PlaceStage
from flow.stages.route import RouteStage

#: Every stage, in flow order.
STAGES: tuple[type[Stage], ...] = (ImportStage, FloorplanStage, PlaceStage, RouteStage, DrcStage, LvsStage, GdsStage)
STAGE_IDS: tuple[str, ...] = tuple(s.id for s in STAGES)

__all__ = ["Context", "Stage", "STAGES", "STAGE_IDS"]
