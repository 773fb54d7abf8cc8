"""run_tasks: per-worker state from init, errors wrapped in the task, the same results for
any number of workers."""

from __future__ import annotations

import os

import pytest

from synthaudio.errors import InputError, SynthaudioError
from synthaudio.run.executors import run_tasks


def _init(offset: int) -> dict[str, int]:
    return {"offset": offset, "pid": os.getpid()}


def _add(state: dict[str, int], item: int) -> tuple[int, int]:
    if item == -1:
        raise InputError("item -1: bad input")
    if item == -2:
        raise FileNotFoundError(2, "No such file or directory", "/nowhere/x.wav")
    return item + state["offset"], state["pid"]


_OLD: dict[str, int] = {}


def _old_init(offset: int) -> None:
    _OLD["offset"] = offset


def _old_task(item: int) -> int:  # the one-argument form of code written before the state
    return item + _OLD["offset"]


@pytest.mark.parametrize("jobs", [1, 2])
def test_state_is_built_per_worker_and_results_do_not_depend_on_jobs(jobs: int) -> None:
    results: list[tuple[int, int]] = []
    run_tasks(_add, range(20), results.append, jobs=jobs, init=_init, init_args=(100,))
    assert sorted(r for r, _ in results) == list(range(100, 120))
    pids = {pid for _, pid in results}
    assert (pids == {os.getpid()}) if jobs == 1 else (os.getpid() not in pids and len(pids) <= 2)


@pytest.mark.parametrize("jobs", [1, 2])
def test_task_errors_arrive_as_one_line_errors(jobs: int) -> None:
    with pytest.raises(InputError, match=r"^item -1: bad input$"):
        run_tasks(_add, [1, -1, 2], lambda r: None, jobs=jobs, init=_init, init_args=(0,))
    with pytest.raises(SynthaudioError, match=r"^/nowhere/x\.wav: No such file or directory$"):
        run_tasks(_add, [-2], lambda r: None, jobs=jobs, init=_init, init_args=(0,))


@pytest.mark.parametrize("jobs", [1, 2])
def test_one_argument_tasks_still_work(jobs: int) -> None:
    out: list[int] = []
    run_tasks(_old_task, range(5), out.append, jobs=jobs, init=_old_init, init_args=(10,))
    assert sorted(out) == [10, 11, 12, 13, 14]
