"""One way to run many independent jobs: local processes or a Dask cluster.

Batch runs (``pilotflow regress``), parameter sweeps (``pilotflow sweep``)
and the tiles of a tiled DRC run all go through :class:`Executor`::

    with make_executor(jobs=4) as ex:                      # local processes
        for i, result in ex.map(task, items, labels=names):
            ...
    with make_executor(scheduler="tcp://host:8786") as ex:  # a Dask cluster
        ...

A *job* is a module-level function and its arguments, all picklable; the
results come back (in completion order, with the item's index) as they
finish.  ``shared=`` hands every call one more first argument, sent once:
local workers inherit it (fork), a Dask cluster gets it scattered to every
worker.

Jobs must be *idempotent*: Dask runs a job again when the worker running it
is lost, so a job returns its result, or writes files only atomically
(complete files under their final names, see :mod:`flow.fileio`), never
leaving a half-written product behind for a retry to trip over.

A job that raises stops the batch with one :class:`TaskError` naming the
item (``design gan_kelvin: StageError: ...``); jobs that turn expected
failures into results (as the regression runner does) keep the batch going.

Examples
--------
>>> with LocalExecutor(jobs=1) as ex:
...     sorted(ex.map(abs, [-2, 3]))
[(0, 2), (1, 3)]
"""

from __future__ import annotations

import copyreg
import multiprocessing as mp
import os
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from types import MappingProxyType
from typing import Any

from flow.errors import InputError, PilotflowError

# Frozen values (PDKs, layouts, design configs) hold MappingProxyType, which
# pickle refuses; send them as the plain dict they wrap (read-only again on
# arrival).  Needed to ship jobs to a Dask cluster.
def _mappingproxy(d: dict) -> MappingProxyType:
    return MappingProxyType(d)


copyreg.pickle(MappingProxyType, lambda m: (_mappingproxy, (dict(m),)))

_NOTHING = object()


class TaskError(PilotflowError):
    """A job failed (raised, or its worker died too often); exit code 3."""

    exit_code = 3


class SchedulerError(InputError):
    """The Dask scheduler given with ``--scheduler`` cannot be used (exit 2)."""


def _describe(label: str, e: BaseException) -> str:
    msg = str(e).strip().splitlines()[0] if str(e).strip() else ""
    return f"{label}: {type(e).__name__}" + (f": {msg}" if msg else "")


class Executor:
    """Runs ``fn(item)`` (or ``fn(shared, item)``) for many items.

    Subclasses implement :meth:`map`; use an executor as a context manager
    so its workers are released.
    """

    #: How many jobs run at once (for messages).
    workers: int = 1

    def map(
        self,
        fn: Callable[..., Any],
        items: Iterable[Any],
        *,
        shared: Any = _NOTHING,
        labels: Sequence[str] | None = None,
    ) -> Iterator[tuple[int, Any]]:
        """Yield ``(index, fn(item))`` for every item, as jobs finish.

        ``items`` may be lazy (a generator): it is consumed as workers free
        up, a bounded number of jobs ahead.

        ``labels`` name the items in errors (default ``"item N"``).  The
        first job that raises ends the iteration with :class:`TaskError`
        (the other jobs are cancelled).
        """
        raise NotImplementedError

    def describe(self) -> str:
        """Short description for logs, e.g. ``"2 local processes"``."""
        raise NotImplementedError

    def close(self) -> None:
        """Release the workers."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _label(labels: Sequence[str] | None, i: int) -> str:
    return labels[i] if labels is not None else f"item {i}"


# ------------------------------------------------------------------ local --

# The shared argument in a local worker process (set by the pool initializer;
# with fork it is inherited, not pickled).
_SHARED: Any = _NOTHING


def _set_shared(value: Any) -> None:
    global _SHARED
    _SHARED = value


def _call_shared(fn: Callable[..., Any], item: Any) -> Any:
    return fn(_SHARED, item)


class LocalExecutor(Executor):
    """Jobs in this process (``jobs=1``) or in ``jobs`` local worker
    processes (``0``: one per core).  Worker processes are forked where the
    platform can (the shared argument is then inherited, not copied)."""

    def __init__(self, jobs: int = 1):
        self.workers = jobs if jobs > 0 else (os.cpu_count() or 1)

    def describe(self) -> str:
        return "this process" if self.workers == 1 else f"{self.workers} local processes"

    def map(self, fn, items, *, shared=_NOTHING, labels=None):
        n = self.workers if not hasattr(items, "__len__") else min(self.workers, len(items))
        if n <= 1:
            for i, item in enumerate(items):
                try:
                    out = fn(item) if shared is _NOTHING else fn(shared, item)
                except PilotflowError:
                    raise
                except Exception as e:
                    raise TaskError(_describe(_label(labels, i), e)) from e
                yield i, out
            return
        methods = mp.get_all_start_methods()
        ctx = mp.get_context("fork" if "fork" in methods else None)
        init = {} if shared is _NOTHING else {"initializer": _set_shared, "initargs": (shared,)}
        pool = ProcessPoolExecutor(n, mp_context=ctx, **init)
        try:
            pending: dict[Any, int] = {}
            source = enumerate(items)
            more = True
            while more or pending:
                # at most 2 jobs per worker in flight: a lazy ``items`` (say,
                # tiles read from disk) is consumed as the workers free up
                while more and len(pending) < 2 * n:
                    nxt = next(source, None)
                    if nxt is None:
                        more = False
                        break
                    i, item = nxt
                    fut = pool.submit(fn, item) if shared is _NOTHING else pool.submit(_call_shared, fn, item)
                    pending[fut] = i
                if not pending:
                    break
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    i = pending.pop(fut)
                    try:
                        out = fut.result()
                    except BrokenProcessPool as e:
                        raise TaskError(
                            f"{_label(labels, i)}: a worker process died (killed, or out of memory) while the jobs ran"
                        ) from e
                    except PilotflowError:
                        raise
                    except Exception as e:
                        raise TaskError(_describe(_label(labels, i), e)) from e
                    yield i, out
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


# ------------------------------------------------------------------- dask --


class DaskExecutor(Executor):
    """Jobs on a Dask distributed cluster (``dask.distributed.Client``).

    ``address`` is the scheduler (``tcp://HOST:8786``); a ``Client`` may be
    given instead (tests pass one of a ``LocalCluster``).  Jobs are submitted
    as impure tasks (never merged with another identical call) with
    ``retries`` extra attempts when a job raises; a job whose worker is lost
    is rerun by the scheduler on another worker (up to the cluster's
    ``distributed.scheduler.allowed-failures``), which is why jobs must be
    idempotent.  At most ``4 x`` the cluster's threads jobs are in flight,
    so a lazy ``items`` is consumed as the cluster frees up.  The workers
    must be able to import ``flow`` (and ``pdk``) of the same version as the
    client.
    """

    def __init__(self, address: str | None = None, *, client: Any = None, timeout: float = 10.0, retries: int = 0):
        try:
            import distributed
        except ImportError as e:  # pragma: no cover - dask is a dependency
            raise SchedulerError(f"--scheduler needs dask.distributed (pip install 'pilotflow[dask]'): {e}") from None
        self.retries = retries
        self._own = client is None
        if client is None:
            if not address or "://" not in address:
                raise SchedulerError(f"--scheduler {address!r}: not a scheduler address like tcp://HOST:8786")
            try:
                client = distributed.Client(address, timeout=timeout, set_as_default=False)
            except (OSError, TimeoutError) as e:
                raise SchedulerError(f"--scheduler {address}: cannot connect ({type(e).__name__}: {e})") from None
        self.client = client
        self.address = address or client.scheduler.address

    @property
    def workers(self) -> int:  # type: ignore[override]
        try:
            return max(1, sum(w.get("nthreads", 1) for w in self.client.scheduler_info()["workers"].values()))
        except Exception:  # noqa: BLE001 - only used in messages
            return 1

    def describe(self) -> str:
        return f"Dask cluster {self.address} ({self.workers} worker threads)"

    def map(self, fn, items, *, shared=_NOTHING, labels=None):
        from distributed import as_completed
        from distributed.scheduler import KilledWorker

        client = self.client
        source = enumerate(items)
        first = next(source, None)
        if first is None:
            return
        extra = ()
        if shared is not _NOTHING:
            extra = (client.scatter(shared, broadcast=True, hash=False),)
        batch = uuid.uuid4().hex[:12]
        name = getattr(fn, "__name__", "job")
        window = 4 * self.workers
        futures: dict[Any, int] = {}

        def submit(i: int, item: Any) -> Any:
            fut = client.submit(fn, *extra, item, pure=False, retries=self.retries, key=f"pilotflow-{name}-{batch}-{i}")
            futures[fut] = i
            return fut

        pending = as_completed([submit(*first)], loop=client.loop)
        for nxt in source:
            pending.add(submit(*nxt))
            if len(futures) >= window:
                break
        try:
            for fut in pending:
                i = futures.pop(fut)
                try:
                    out = fut.result()
                except KilledWorker as e:
                    raise TaskError(f"{_label(labels, i)}: the workers running it died too often ({e})") from e
                except PilotflowError:
                    raise
                except Exception as e:
                    raise TaskError(_describe(_label(labels, i), e)) from e
                fut.release()
                nxt = next(source, None)
                if nxt is not None:
                    pending.add(submit(*nxt))
                yield i, out
        finally:
            client.cancel(list(futures) + list(extra))

    def close(self) -> None:
        if self._own:
            self.client.close()


def make_executor(jobs: int = 1, scheduler: str | None = None) -> Executor:
    """The executor the ``--jobs`` / ``--scheduler`` options ask for."""
    if scheduler:
        return DaskExecutor(scheduler)
    return LocalExecutor(jobs)


def iter_progress(it: Iterable[tuple[int, Any]], total: int, progress: Any, what: str) -> Iterator[tuple[int, Any]]:
    """Pass ``(index, result)`` pairs through, reporting ``what done/total``."""
    for done, pair in enumerate(it, 1):
        if progress:
            progress(f"{what} {done}/{total}", done / total)
        yield pair
