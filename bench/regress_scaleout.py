"""Benchmark: the regression batch (every sample design) on each executor.

Not a test: runs designs/ once per executor in the same script run (this
process; N local processes; a Dask LocalCluster of N single-thread worker
processes), prints wall time and CPU load, and checks that every executor
measured the same figures (run time aside).

    python bench/regress_scaleout.py [--workers 2] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flow.batch import design_dirs  # noqa: E402
from flow.executor import DaskExecutor, LocalExecutor  # noqa: E402
from flow.regress import measure, run_designs  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    dirs, _ = design_dirs([ROOT / "designs"])
    results = []
    figures = {}

    def bench(name, make):
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            load0 = os.getloadavg()[0]
            with make() as ex:
                t1 = time.perf_counter()
                recs = run_designs(dirs, Path(tmp), ex)
            t2 = time.perf_counter()
        figures[name] = {r["name"]: {k: v for k, v in measure(r["metrics"]).items() if k != "runtime_s"} for r in recs}
        stage = sum(measure(r["metrics"])["runtime_s"] for r in recs)
        results.append({"executor": name, "designs": len(recs), "startup_s": round(t1 - t0, 2), "batch_s": round(t2 - t1, 2),
                        "sum_stage_s": round(stage, 2), "load_before": round(load0, 2), "errors": sum(1 for r in recs if r["error"])})

    bench("local, 1 process", lambda: LocalExecutor(1))
    bench(f"local, {args.workers} processes", lambda: LocalExecutor(args.workers))

    def dask():
        import distributed

        cluster = distributed.LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=logging.ERROR)
        client = distributed.Client(cluster, set_as_default=False)

        class Ex(DaskExecutor):
            def close(self):
                client.close()
                cluster.close()

        return Ex(client=client)

    bench(f"Dask LocalCluster, {args.workers} workers", dask)
    ref = next(iter(figures.values()))
    same = all(f == ref for f in figures.values())
    head = ["executor", "designs", "startup_s", "batch_s", "sum_stage_s", "load_before", "errors"]
    print(" | ".join(head))
    print(" | ".join("---" for _ in head))
    for r in results:
        print(" | ".join(str(r[h]) for h in head))
    print(f"same figures on every executor: {'yes' if same else 'NO'}")
    if args.json:
        args.json.write_text(json.dumps({"results": results, "same": same}, indent=2))


if __name__ == "__main__":
    main()
