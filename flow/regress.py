"""Regression runs: every sample design against a committed baseline.

``pilotflow regress designs/`` runs each design (through an
:class:`flow.executor.Executor`), measures the metrics of :data:`METRICS`
and compares each with its per-design limit in the baseline file
(``designs/baseline.toml``)::

    format = 1

    [design.gan_ringosc]
    wirelength_um = { baseline = 2406.0, max = 2646.6 }
    lvs_status = { baseline = "match", expect = "match" }

``baseline`` is the value when the baseline was taken (shown for context),
``max`` / ``min`` the limits the value must stay within, ``expect`` the
value it must equal.  ``--update`` rewrites the file from the current run,
keeping each limit's margin over its baseline (see :func:`updated`).
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flow.errors import InputError

FORMAT = 1


def _worst_ratio(m: Mapping[str, Any]) -> float | None:
    cd = m.get("current_density_worst")
    if cd is None:
        return None
    # a wire's current density or a via array's current per cut, over its limit
    return round(max((max(c["ratio"], c.get("via_ratio") or 0.0) for c in cd.values()), default=0.0), 4)


def _count(key: str) -> Callable[[Mapping[str, Any]], int | None]:
    def f(m: Mapping[str, Any]) -> int | None:
        v = m.get(key)
        return None if v is None else len(v)

    return f


def _key(key: str) -> Callable[[Mapping[str, Any]], Any]:
    return lambda m: m.get(key)


def _runtime(m: Mapping[str, Any]) -> float | None:
    s = m.get("stage_seconds")
    return None if not s else round(sum(s.values()), 2)


def _up(x: float, digits: int = 3) -> float:
    """``x`` rounded up at ``digits`` decimals (a limit never below its value)."""
    f = 10**digits
    return math.ceil(x * f - 1e-9) / f


@dataclass(frozen=True)
class Metric:
    """A checked metric: how it is measured from metrics.json, how it is
    judged (``max``: may not grow past the limit; ``expect``: must equal),
    and the default limit for a baseline value."""

    name: str
    doc: str
    measure: Callable[[Mapping[str, Any]], Any]
    kind: str
    default: Callable[[Any], Any]
    default_doc: str


#: Every metric ``regress`` checks, in table order.
METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("die_area_um2", "die area (um^2)", _key("die_area_um2"), "max", lambda b: _up(b * 1.01), "+1 %"),
        Metric("hpwl_um", "half-perimeter wirelength after placement (um)", _key("hpwl_um"), "max", lambda b: _up(b * 1.10), "+10 %"),
        Metric("wirelength_um", "routed wirelength (um)", _key("wirelength_um"), "max", lambda b: _up(b * 1.10), "+10 %"),
        Metric("vias", "via count", _key("vias"), "max", lambda b: math.ceil(b * 1.20), "+20 %"),
        Metric("nets_unrouted", "nets left unrouted", _key("nets_unrouted"), "max", lambda b: b, "no more than now"),
        Metric("current_density_ratio", "worst current density (or current per via cut) / its limit over all nets", _worst_ratio, "max", lambda b: max(1.0, b), "1.0 (the limit), or now if above"),
        Metric("drc_violations", "unwaived DRC violations", _key("drc_violations"), "max", lambda b: b, "no more than now"),
        Metric("drc_not_checked", "DRC rules not checked", _count("drc_not_checked"), "max", lambda b: b, "no more than now"),
        Metric("lvs_status", "LVS result (match / mismatch)", _key("lvs_status"), "expect", lambda b: b, "the same"),
        Metric("lvs_not_compared", "LVS items not compared", _count("lvs_not_compared"), "max", lambda b: b, "no more than now"),
        Metric("runtime_s", "sum of the stage times (s)", _runtime, "max", lambda b: _up(5 * b + 30, 1), "5 x now + 30 s"),
    )
}

_LIMIT_KEYS = ("baseline", "max", "min", "expect")


@dataclass(frozen=True)
class Limit:
    metric: str
    baseline: Any
    max: float | None = None
    min: float | None = None
    expect: Any = None

    def text(self) -> str:
        parts = []
        if self.min is not None:
            parts.append(f">= {fmt(self.min)}")
        if self.max is not None:
            parts.append(f"<= {fmt(self.max)}")
        if self.expect is not None:
            parts.append(f"== {fmt(self.expect)}")
        return ", ".join(parts)

    def ok(self, now: Any) -> bool:
        if now is None:
            return False
        if self.expect is not None and now != self.expect:
            return False
        if isinstance(now, (int, float)) and not isinstance(now, bool):
            if self.max is not None and now > self.max + 1e-9:
                return False
            if self.min is not None and now < self.min - 1e-9:
                return False
        elif self.max is not None or self.min is not None:
            return False
        return True


@dataclass(frozen=True)
class Baseline:
    path: Path
    designs: dict[str, dict[str, Limit]]


def fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, float):
        return f"{v:.3f}".rstrip("0").rstrip(".") if abs(v) < 1e15 else f"{v:g}"
    return str(v)


# ---------------------------------------------------------------- reading --

_HEADER = re.compile(r"^\s*\[\s*([^\[\]]+?)\s*\]\s*(#.*)?$")
_KEY = re.compile(r"^\s*(\"[^\"]*\"|'[^']*'|[A-Za-z0-9_.-]+)\s*=")


def _parts(dotted: str) -> tuple[str, ...]:
    return tuple(p.strip().strip("\"'") for p in re.findall(r"\"[^\"]*\"|'[^']*'|[^.]+", dotted))


def _lines(text: str) -> dict[tuple[str, ...], int]:
    """Line (1-based) of every table header and key, by its full key path."""
    out: dict[tuple[str, ...], int] = {}
    table: tuple[str, ...] = ()
    for n, line in enumerate(text.splitlines(), 1):
        h = _HEADER.match(line)
        if h:
            table = _parts(h.group(1))
            out.setdefault(table, n)
            continue
        k = _KEY.match(line)
        if k:
            out.setdefault(table + _parts(k.group(1)), n)
    return out


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def load_baseline(path: Path) -> Baseline:
    """Read and check a baseline file; the first problem raises
    :class:`InputError` as ``file:line: problem``."""
    from flow.config import display_path

    shown = display_path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{shown}: file not found (write one with pilotflow regress --update)") from None
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"{shown}: cannot read: {e}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        msg = str(e)
        m = re.search(r"\s*\(at line (\d+), column \d+\)", msg)
        line = m.group(1) if m else "1"
        msg = msg[: m.start()] if m else msg
        raise InputError(f"{shown}:{line}: not valid TOML: {msg}") from None
    lines = _lines(text)

    def bad(keypath: tuple[str, ...], problem: str) -> InputError:
        line = 1
        for i in range(len(keypath), 0, -1):
            if keypath[:i] in lines:
                line = lines[keypath[:i]]
                break
        return InputError(f"{shown}:{line}: {'.'.join(keypath)}: {problem}" if keypath else f"{shown}:{line}: {problem}")

    for k in data:
        if k not in ("format", "design"):
            raise bad((k,), "unknown key; allowed keys are design, format")
    if data.get("format") != FORMAT:
        raise bad(("format",), f"must be {FORMAT} (the baseline format this pilotflow reads), got {data.get('format')!r}")
    designs = data.get("design", {})
    if not isinstance(designs, dict):
        raise bad(("design",), "must be a table of [design.NAME] tables")
    out: dict[str, dict[str, Limit]] = {}
    for name, entry in designs.items():
        if not isinstance(entry, dict):
            raise bad(("design", name), "must be a table of metric = { baseline = ..., max = ... }")
        limits: dict[str, Limit] = {}
        for metric, spec in entry.items():
            kp = ("design", name, metric)
            if metric not in METRICS:
                raise bad(kp, f"unknown metric; metrics are {', '.join(METRICS)}")
            if not isinstance(spec, dict):
                raise bad(kp, "must be a table like { baseline = 10.0, max = 11.0 }")
            for k in spec:
                if k not in _LIMIT_KEYS:
                    raise bad(kp, f"unknown key '{k}'; allowed keys are {', '.join(_LIMIT_KEYS)}")
            if "baseline" not in spec:
                raise bad(kp, "missing baseline (the value the limits were set from)")
            kind = METRICS[metric].kind
            if kind == "max":
                for k in ("baseline", "max", "min"):
                    if k in spec and not _number(spec[k]):
                        raise bad(kp, f"{k} must be a number, got {spec[k]!r}")
                if "expect" in spec:
                    raise bad(kp, "a number has limits max and/or min, not expect")
                if "max" not in spec and "min" not in spec:
                    raise bad(kp, "give a limit: max and/or min")
            else:
                if "expect" not in spec:
                    raise bad(kp, "give the expected value: expect = ...")
                for k in ("max", "min"):
                    if k in spec:
                        raise bad(kp, f"{k} does not apply to {metric}; use expect")
            limits[metric] = Limit(metric, spec["baseline"], spec.get("max"), spec.get("min"), spec.get("expect"))
        out[name] = limits
    return Baseline(path, out)


# ---------------------------------------------------------------- judging --


@dataclass(frozen=True)
class Row:
    design: str
    metric: str
    baseline: Any
    now: Any
    limit: str
    verdict: str  # ok | FAIL | new

    def cells(self) -> list[str]:
        return [self.design, self.metric, fmt(self.baseline), fmt(self.now), self.limit, self.verdict]


def measure(metrics: Mapping[str, Any]) -> dict[str, Any]:
    """The value of every metric of :data:`METRICS` from a metrics.json."""
    return {name: m.measure(metrics) for name, m in METRICS.items()}


def compare(baseline: Baseline, records: list[dict[str, Any]], full_set: bool) -> list[Row]:
    """Table rows: every (design, metric) with its verdict.  A design the
    baseline does not know is ``new`` (not checked); a run that failed and,
    when ``full_set``, a baseline design with no folder are ``FAIL``."""
    rows: list[Row] = []
    seen = set()
    for rec in sorted(records, key=lambda r: r["name"]):
        name = rec["name"]
        seen.add(name)
        limits = baseline.designs.get(name)
        if rec["error"] is not None:
            rows.append(Row(name, "run", "ran", rec["error"], "runs", "FAIL"))
            continue
        now = measure(rec["metrics"])
        if limits is None:
            rows.append(Row(name, "-", None, None, "no baseline entry", "new"))
            continue
        for metric in METRICS:
            lim = limits.get(metric)
            if lim is None:
                continue
            rows.append(Row(name, metric, lim.baseline, now[metric], lim.text(), "ok" if lim.ok(now[metric]) else "FAIL"))
    if full_set:
        for name in sorted(set(baseline.designs) - seen):
            rows.append(Row(name, "design", "in baseline", "no such design folder", "exists", "FAIL"))
    return rows


def table(rows: list[Row]) -> list[str]:
    """The rows as aligned text lines, with a header."""
    head = ["design", "metric", "baseline", "now", "limit", "verdict"]
    cells = [head] + [r.cells() for r in rows]
    w = [max(len(c[i]) for c in cells) for i in range(len(head))]
    return ["  ".join(c[i].ljust(w[i]) for i in range(len(head))).rstrip() for c in cells]


# --------------------------------------------------------------- updating --


def _margin(old: Limit, key: str, new_b: Any, default: Any) -> Any:
    """``old``'s limit ``key`` moved to the new baseline, same margin."""
    old_lim = getattr(old, key)
    if old_lim is None:
        return None
    if not _number(new_b) or not _number(old.baseline):
        return default
    if old.baseline != 0 and new_b != 0:
        v = new_b * old_lim / old.baseline
    else:
        v = new_b + (old_lim - old.baseline)
    if isinstance(old_lim, int) and isinstance(new_b, int):
        return math.ceil(v - 1e-9) if key == "max" else math.floor(v + 1e-9)
    return _up(v) if key == "max" else math.floor(v * 1000 + 1e-9) / 1000


def updated(old: Baseline | None, records: list[dict[str, Any]]) -> dict[str, dict[str, Limit]]:
    """A new baseline from ``records``: each design that ran gets its current
    values; a limit set by hand in ``old`` (not the metric's default for its
    baseline) keeps its margin (the ratio limit / baseline, or the
    difference when either is 0); other limits get the metric's default.  Designs that failed to run, or did not run, keep
    their old entry."""
    out = dict(old.designs) if old is not None else {}
    for rec in records:
        if rec["error"] is not None:
            continue
        now = measure(rec["metrics"])
        prev = out.get(rec["name"], {})
        entry: dict[str, Limit] = {}
        for name, m in METRICS.items():
            b = now[name]
            if b is None:
                continue
            p = prev.get(name)
            if m.kind == "expect":
                entry[name] = Limit(name, b, expect=b)
                continue
            default = m.default(b)
            if p is None or (p.max is None and p.min is None) or (p.min is None and _number(p.baseline) and p.max == m.default(p.baseline)):
                entry[name] = Limit(name, b, max=default)
            else:
                entry[name] = Limit(name, b, max=_margin(p, "max", b, default), min=_margin(p, "min", b, None))
        out[rec["name"]] = entry
    return dict(sorted(out.items()))


def _toml_value(v: Any) -> str:
    import json

    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, float):
        return repr(round(v, 6))
    return str(v)


def _toml_key(k: str) -> str:
    import json

    return k if re.fullmatch(r"[A-Za-z0-9_-]+", k) else json.dumps(k)


def baseline_text(designs: dict[str, dict[str, Limit]]) -> str:
    """The baseline file for ``designs`` (see the module notes)."""
    out = [
        "# pilotflow regression baseline (docs/formats.md).  `pilotflow regress --update`",
        "# writes it from a run; review the diff, and edit any limit by hand.",
        "# Per design and metric: baseline = the value measured then; max / min = the",
        "# limits the value must stay within; expect = the value it must equal.",
        f"format = {FORMAT}",
    ]
    for name, limits in designs.items():
        out.append("")
        out.append(f"[design.{_toml_key(name)}]")
        for metric in METRICS:
            lim = limits.get(metric)
            if lim is None:
                continue
            parts = [f"{k} = {_toml_value(getattr(lim, k))}" for k in _LIMIT_KEYS if getattr(lim, k) is not None]
            out.append(f"{metric} = {{ {', '.join(parts)} }}")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------- running --


@dataclass
class RegressResult:
    rows: list[Row]
    records: list[dict[str, Any]]
    baseline: Baseline | None

    @property
    def failed(self) -> list[Row]:
        return [r for r in self.rows if r.verdict == "FAIL"]

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0


def run_designs(dirs: list[Path], runs: Path, executor: Any, progress: Any = None) -> list[dict[str, Any]]:
    """Run every design folder (each into ``runs/<folder name>``) on
    ``executor``; the records in the order of ``dirs``."""
    from flow.batch import clean_attempts, run_design_job
    from flow.executor import iter_progress

    jobs = [{"name": d.name, "design_dir": str(d.resolve()), "rundir": str((runs / d.name).resolve())} for d in dirs]
    records: list[dict[str, Any] | None] = [None] * len(jobs)
    try:
        for i, rec in iter_progress(executor.map(run_design_job, jobs, labels=[f"design {d.name}" for d in dirs]), len(jobs), progress, "designs run"):
            records[i] = rec
    finally:
        clean_attempts(runs)
    return [r for r in records if r is not None]
