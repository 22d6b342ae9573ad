"""Benchmark: pilotflow on Bookshelf (academic placement contest) benchmarks.

Not a test: prints a table (and writes JSON with --json FILE).  Reads each
benchmark with :mod:`bookshelf` (this folder), places the movable nodes with
pilotflow's standard-cell placer, checks the result with
:func:`flow.place.rows.check_rows` (on the site grid of the rows, no
overlaps, clear of fixed terminals) and reports the benchmark HPWL (pin to
pin, pin offsets from the node centres) of the ``.pl`` given with the
benchmark and of pilotflow's placement.

The default benchmark is ``../shared/bench/bookshelf/simple`` (10 nodes, 4
of the 8 movable cells two rows tall).  Its ``.pl`` is the *initial*
placement (every movable node at (0, 0)), not a reference result; its
``simple.golden`` is the dump of DREAMPlace's Bookshelf parser, used by
``tests/place/test_bookshelf.py`` to cross-check this reader, not a placement
either: neither gives a quality target.

    python bench/place_bookshelf.py [AUX ...] [--scale S] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bookshelf import hpwl, place_bookshelf, read_bookshelf  # noqa: E402

from flow.place.rows import RowSpec, check_rows  # noqa: E402


def legality(bs, x, y, scale: float) -> list[str]:
    """check_rows on the movable nodes at (x, y), terminals (not NI) as blockages."""
    q = lambda v: np.round(np.asarray(v, dtype=float) * scale).astype(np.int64)  # noqa: E731
    mov = np.flatnonzero(~bs.terminal)
    rows = [RowSpec(int(q(r.x)), int(q(r.y)), r.num_sites, int(q(r.spacing)), int(q(r.height))) for r in bs.rows]
    blk = [(int(q(bs.x[i])), int(q(bs.y[i])), int(q(bs.x[i] + bs.w[i])), int(q(bs.y[i] + bs.h[i])))
           for i in np.flatnonzero(bs.terminal & ~bs.non_image)]
    pos = np.column_stack([q(x[mov]), q(y[mov])])
    return check_rows(pos, q(bs.w[mov]), q(bs.h[mov]), rows, blk, names=[bs.nodes[i] for i in mov])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("aux", nargs="*", type=Path)
    ap.add_argument("--scale", type=float, default=1.0, help="file units -> integer placer units (default 1)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    auxes = args.aux or [ROOT.parent / "shared" / "bench" / "bookshelf" / "simple" / "simple.aux"]
    out = []
    for aux in auxes:
        if not aux.is_file():
            sys.exit(f"benchmark not found: {aux}")
        bs = read_bookshelf(aux)
        given = hpwl(bs, bs.x, bs.y)
        given_problems = legality(bs, bs.x, bs.y, args.scale)
        t = time.perf_counter()
        x, y, rep = place_bookshelf(bs, scale=args.scale, seed=args.seed)
        secs = time.perf_counter() - t
        problems = legality(bs, x, y, args.scale)
        out.append({"benchmark": bs.name, "nodes": len(bs.nodes), "movable": int((~bs.terminal).sum()),
                    "multi_row": int(((bs.h > min(r.height for r in bs.rows)) & ~bs.terminal).sum()), "nets": len(bs.nets),
                    "given_hpwl": given, "given_legal": not given_problems, "hpwl": hpwl(bs, x, y), "legal": not problems,
                    "problems": problems[:3], "seconds": secs})
    head = ["benchmark", "nodes", "movable", "multi-row", "nets", "given .pl HPWL", "given legal", "pilotflow HPWL", "legal", "ratio", "pilotflow s"]
    print(" | ".join(head))
    print(" | ".join("---" for _ in head))
    for r in out:
        print(" | ".join([r["benchmark"], str(r["nodes"]), str(r["movable"]), str(r["multi_row"]), str(r["nets"]), f"{r['given_hpwl']:.0f}",
                          "yes" if r["given_legal"] else "no", f"{r['hpwl']:.0f}", "yes" if r["legal"] else "NO",
                          f"{r['hpwl'] / r['given_hpwl']:.3f}" if r["given_hpwl"] else "-", f"{r['seconds']:.2f}"]))
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
