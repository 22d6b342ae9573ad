"""The local executor (flow.executor): results, the shared argument, errors."""

from __future__ import annotations

import os
import pickle
from types import MappingProxyType

import pytest
from click.testing import CliRunner

from flow.cli import cli
from flow.errors import InputError
from flow.executor import LocalExecutor, SchedulerError, TaskError, make_executor


def _pid_square(x: int) -> tuple[int, int]:
    return os.getpid(), x * x


def _add_shared(shared: dict, x: int) -> int:
    return shared["base"] + x


def _boom(x: int) -> int:
    if x == 2:
        raise ValueError(f"bad item {x}")
    return x


def _die(x: int) -> int:
    if x == 1:
        os._exit(7)
    return x


def _input_error(x: int) -> int:
    raise InputError(f"netlist.sp:{x}: unknown device")


@pytest.mark.parametrize("jobs", [1, 2])
def test_map_gives_every_result(jobs):
    with LocalExecutor(jobs) as ex:
        got = dict(ex.map(_pid_square, list(range(6))))
    assert {i: sq for i, (_, sq) in got.items()} == {i: i * i for i in range(6)}
    pids = {pid for pid, _ in got.values()}
    if jobs == 1:
        assert pids == {os.getpid()}
    else:
        assert os.getpid() not in pids and 1 <= len(pids) <= 2


@pytest.mark.parametrize("jobs", [1, 2])
def test_shared_argument(jobs):
    shared = {"base": 100, "kit": MappingProxyType({"a": 1})}
    with LocalExecutor(jobs) as ex:
        assert sorted(ex.map(_add_shared, [1, 2, 3], shared=shared)) == [(0, 101), (1, 102), (2, 103)]


@pytest.mark.parametrize("jobs", [1, 2])
def test_failed_job_names_its_item(jobs):
    with LocalExecutor(jobs) as ex, pytest.raises(TaskError, match=r"^design b: ValueError: bad item 2$") as e:
        list(ex.map(_boom, [0, 1, 2, 3], labels=["design x", "design a", "design b", "design c"]))
    assert e.value.exit_code == 3


@pytest.mark.parametrize("jobs", [1, 2])
def test_pilotflow_error_passes_through(jobs):
    with LocalExecutor(jobs) as ex, pytest.raises(InputError, match=r"^netlist.sp:[34]: unknown device$"):
        list(ex.map(_input_error, [3, 4]))


def test_dead_worker_is_reported():
    with LocalExecutor(2) as ex, pytest.raises(TaskError, match="worker process died"):
        list(ex.map(_die, [0, 1, 2, 3]))


def test_frozen_values_pickle():
    """PDKs hold MappingProxyType; jobs for a Dask cluster must pickle them."""
    import pdk

    kit = pdk.load("gan650")
    back = pickle.loads(pickle.dumps(kit))
    assert back == kit and isinstance(back.layers, MappingProxyType)


def test_jobs_zero_is_one_per_core():
    assert LocalExecutor(0).workers == (os.cpu_count() or 1)
    assert make_executor(3).describe() == "3 local processes"


@pytest.mark.parametrize("addr", ["localhost:8786", "nonsense"])
def test_bad_scheduler_address(addr):
    with pytest.raises(SchedulerError, match="not a scheduler address"):
        make_executor(1, addr)
    r = CliRunner().invoke(cli, ["regress", "designs/gan_ringosc", "--scheduler", addr])
    assert r.exit_code == 2
    assert r.output.strip().splitlines() == [f"Error: --scheduler '{addr}': not a scheduler address like tcp://HOST:8786"]


@pytest.mark.parametrize("jobs", [1, 2])
def test_lazy_items_are_consumed_as_workers_free_up(jobs):
    """A generator of jobs is not drained up front: at most 2 per worker
    are taken ahead of the results."""
    pulled = []

    def gen():
        for i in range(20):
            pulled.append(i)
            yield i

    with LocalExecutor(jobs) as ex:
        it = ex.map(_pid_square, gen())
        first = next(it)
        assert len(pulled) <= 2 * jobs
        rest = list(it)
    assert sorted(sq for _, (_, sq) in [first, *rest]) == [i * i for i in range(20)]
