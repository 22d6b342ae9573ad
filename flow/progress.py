"""Progress for long work: shown on a terminal, silent in CI or with --quiet."""

from __future__ import annotations

import os
import sys
import time
from typing import TextIO


class Progress:
    """Prints ``[stage] message  42%`` lines, rewriting one line on a TTY.

    Silent when ``quiet`` is set, when ``CI`` is set in the environment, or
    when the stream is not a terminal (log files stay clean).
    """

    def __init__(self, quiet: bool = False, stream: TextIO | None = None):
        self.stream = stream or sys.stderr
        self.enabled = (
            not quiet
            and not os.environ.get("CI")
            and hasattr(self.stream, "isatty")
            and self.stream.isatty()
        )
        self._last = 0.0
        self._stage = ""

    def stage(self, name: str) -> None:
        self._stage = name
        self.update("started", None, force=True)

    def update(self, message: str, fraction: float | None = None, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self._last < 0.2:
            return
        self._last = now
        pct = "" if fraction is None else f" {100 * max(0.0, min(1.0, fraction)):3.0f}%"
        self.stream.write(f"\r\033[K[{self._stage}] {message}{pct}")
        self.stream.flush()

    def done(self, message: str) -> None:
        if self.enabled:
            self.stream.write(f"\r\033[K[{self._stage}] {message}\n")
            self.stream.flush()

    def __call__(self, message: str, fraction: float | None = None) -> None:
        self.update(message, fraction)


class Quiet(Progress):
    def __init__(self) -> None:
        super().__init__(quiet=True)
