"""DRC waivers: markers a designer has reviewed and accepted, with a reason.

A waiver file is TOML, one ``[[waiver]]`` table per waiver::

    [[waiver]]
    rule = "MET2.S.1"              # a rule id, or an fnmatch pattern ("MET2.*")
    region = [100.0, 40.0, 180.0, 90.0]   # x0, y0, x1, y1 in um (top-cell coordinates)
    reason = "Bond-pad fanout, reviewed with the fab (ticket 142)"
    author = "A. Designer"

A marker is waived when its rule id matches ``rule`` and its bounding box lies
entirely inside ``region`` (edges included).  Waived markers are not
violations: they move to :attr:`~flow.drc.engine.DrcResult.waived`, which every
report (JSON, lyrdb, CLI, run report) shows with the waiver's reason and
author.  A waiver that matches no marker is reported as unused, so stale
waivers don't pile up silently.

Example
-------
>>> w = Waiver("MET1.*", (0.0, 0.0, 10.0, 10.0), "test", "me", "w.toml:1")
>>> w.matches_rule("MET1.W.1"), w.matches_rule("MET2.W.1")
(True, False)
"""

from __future__ import annotations

import fnmatch
import os
import re
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from flow.errors import InputError

if TYPE_CHECKING:
    from flow.drc.core import Violation
    from flow.drc.engine import DrcResult
    from pdk.schema import PDK

_KEYS = ("rule", "region", "reason", "author")


@dataclass(frozen=True)
class Waiver:
    """One waiver: rule id or pattern, region (um), reason, author, source ``file:line``."""

    rule: str
    region: tuple[float, float, float, float]
    reason: str
    author: str
    source: str = ""

    def matches_rule(self, rule_id: str) -> bool:
        """``rule_id`` equals ``rule`` or matches it as an fnmatch pattern (case-sensitive)."""
        return rule_id == self.rule or fnmatch.fnmatchcase(rule_id, self.rule)

    def to_json(self) -> dict[str, object]:
        return {
            "rule": self.rule,
            "region_um": list(self.region),
            "reason": self.reason,
            "author": self.author,
            "source": self.source,
        }


def _header_lines(text: str) -> list[int]:
    """1-based line numbers of the ``[[waiver]]`` headers, in order."""
    return [i for i, line in enumerate(text.splitlines(), 1) if re.match(r"\s*\[\[\s*waiver\s*\]\]", line)]


def _number(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def load_waivers(path: str | os.PathLike[str], shown: str | None = None) -> tuple[Waiver, ...]:
    """Read a waiver file; raise one :class:`InputError` listing every problem.

    ``shown`` is how the file is named in messages (default: ``path``).
    """
    path = Path(path)
    shown = shown or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{shown}: waiver file not found") from None
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"{shown}: cannot read waiver file: {e}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise InputError(f"{shown}: not valid TOML: {e}") from None

    problems: list[str] = []
    for k in data:
        if k != "waiver":
            problems.append(f"{shown}: unknown key '{k}'; a waiver file holds only [[waiver]] tables")
    entries = data.get("waiver", [])
    if not isinstance(entries, list):
        problems.append(f"{shown}: 'waiver' must be an array of tables ([[waiver]])")
        entries = []
    lines = _header_lines(text)
    out: list[Waiver] = []
    for i, w in enumerate(entries):
        line = lines[i] if i < len(lines) else None
        at = f"{shown}:{line}: waiver {i + 1}" if line else f"{shown}: waiver {i + 1}"
        if not isinstance(w, dict):
            problems.append(f"{at}: must be a table")
            continue
        bad = False
        for k in w:
            if k not in _KEYS:
                problems.append(f"{at}: unknown key '{k}'; keys are {', '.join(_KEYS)}")
                bad = True
        for k in _KEYS:
            if k not in w:
                problems.append(f"{at}: missing '{k}'")
                bad = True
        for k in ("rule", "reason", "author"):
            if k in w and (not isinstance(w[k], str) or not w[k].strip()):
                problems.append(f"{at}: '{k}' must be a non-empty string")
                bad = True
        region = w.get("region")
        if "region" in w:
            if not (isinstance(region, list) and len(region) == 4 and all(_number(x) for x in region)):
                problems.append(f"{at}: 'region' must be [x0, y0, x1, y1] in um, got {region!r}")
                bad = True
            elif not (region[0] < region[2] and region[1] < region[3]):
                problems.append(f"{at}: 'region' must have x0 < x1 and y0 < y1, got {region!r}")
                bad = True
        if bad:
            continue
        out.append(
            Waiver(
                rule=w["rule"].strip(),
                region=tuple(float(x) for x in region),  # type: ignore[arg-type]
                reason=w["reason"].strip(),
                author=w["author"].strip(),
                source=f"{shown}:{line}" if line else shown,
            )
        )
    if problems:
        if len(problems) == 1:
            raise InputError(problems[0])
        raise InputError(f"{len(problems)} problems: " + "; ".join(problems))
    return tuple(out)


def _marker_bbox(v: Violation) -> tuple[int, int, int, int]:
    if v.is_edge_pair:
        xs = [e[0] for e in v.marker] + [e[2] for e in v.marker]  # type: ignore[index]
        ys = [e[1] for e in v.marker] + [e[3] for e in v.marker]  # type: ignore[index]
    else:
        xs = [p[0] for p in v.marker]
        ys = [p[1] for p in v.marker]
    return min(xs), min(ys), max(xs), max(ys)


def apply_waivers(result: DrcResult, waivers: tuple[Waiver, ...] | list[Waiver], kit: PDK) -> DrcResult:
    """Move the markers matched by ``waivers`` from ``violations`` to ``waived``.

    The first matching waiver (file order) takes a marker.  Unused waivers are
    listed in ``waivers_unused`` (as ``"file:line: rule"``).
    """
    if not waivers:
        return result
    boxes = []
    for w in waivers:
        x0, y0, x1, y1 = w.region
        boxes.append((kit.dbu(x0), kit.dbu(y0), kit.dbu(x1), kit.dbu(y1)))
    kept: list[Violation] = []
    waived: list[tuple[Violation, Waiver]] = []
    used = [False] * len(waivers)
    for v in result.violations:
        bx0, by0, bx1, by1 = _marker_bbox(v)
        for i, (w, (x0, y0, x1, y1)) in enumerate(zip(waivers, boxes)):
            if w.matches_rule(v.rule_id) and x0 <= bx0 and y0 <= by0 and bx1 <= x1 and by1 <= y1:
                waived.append((v, w))
                used[i] = True
                break
        else:
            kept.append(v)
    unused = tuple(f"{w.source}: {w.rule}" for w, u in zip(waivers, used) if not u)
    return replace(
        result,
        violations=tuple(kept),
        waived=result.waived + tuple(waived),
        waivers_unused=result.waivers_unused + unused,
    )
