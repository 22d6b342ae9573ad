"""``report.html``: a self-contained run report (jinja2, autoescaped)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2

from flow.design import Design
from flow.fileio import atomic_write_text

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("flow.report", "templates"),
    autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
    undefined=jinja2.StrictUndefined,
)


def render_report(design: Design, kit, metrics: dict[str, Any]) -> str:
    rules = {r.id: r for r in kit.rules}
    return _ENV.get_template("report.html.j2").render(design=design, kit=kit, m=metrics, rules=rules)


def write_report(design: Design, kit, metrics: dict[str, Any], rundir: Path) -> None:
    atomic_write_text(rundir / "report.html", render_report(design, kit, metrics))
