"""The Stage base class: subclasses implement only :meth:`Stage.run`.

:meth:`Stage.start` does the bookkeeping once for every stage: it checks that
the fields the stage ``requires`` are present, times ``run``, checks that the
fields it ``provides`` were produced, and writes ``RUNDIR/NN-<id>/state.json``
(atomically) so a later ``--from`` can resume after it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from flow.design import Design
from flow.errors import StageError
from flow.fileio import atomic_write_json
from flow.progress import Progress
from pdk.schema import PDK


@dataclass
class Context:
    """What a stage may use besides the design: the kit, run folder, progress."""

    kit: PDK
    rundir: Path
    progress: Progress = field(default_factory=lambda: Progress(quiet=True))

    def stage_dir(self, index: int, stage_id: str) -> Path:
        return self.rundir / f"{index:02d}-{stage_id}"


class Stage:
    """One step of the flow. Subclasses set ``id``, ``requires``, ``provides``
    and implement :meth:`run`, returning a new :class:`Design`."""

    id: ClassVar[str]
    requires: ClassVar[tuple[str, ...]] = ()
    provides: ClassVar[tuple[str, ...]] = ()

    def run(self, design: Design, ctx: Context) -> Design:  # pragma: no cover - abstract
        raise NotImplementedError

    def start(self, design: Design, ctx: Context, index: int) -> tuple[Design, float]:
        missing = [r for r in self.requires if getattr(design, r) is None]
        if missing:
            raise StageError(f"stage '{self.id}' needs {', '.join(missing)}, which no earlier stage produced")
        ctx.progress.stage(self.id)
        t0 = time.perf_counter()
        out = self.run(design, ctx)
        seconds = time.perf_counter() - t0
        lost = [p for p in self.provides if getattr(out, p) is None]
        if lost:
            raise StageError(f"stage '{self.id}' did not produce {', '.join(lost)}")
        atomic_write_json(ctx.stage_dir(index, self.id) / "state.json", {"stage": self.id, "seconds": seconds, **out.to_json()})
        ctx.progress.done(f"done in {seconds:.2f} s")
        return out, seconds
