"""Where work runs: in this process, on a local process pool, or on a Ray cluster.

``run_tasks`` is the one loop behind the run engine (``generate``, ``augment``; see
:mod:`synthaudio.run.engine`), ``evaluate`` and the WebDataset export. Work is a sequence of
items (groups of utterance indices, in practice); ``task(state, item)`` does one item in a
worker and returns a small result, which the parent gets through ``on_result`` in completion
order. ``state`` is what ``init(*init_args)`` returned in that worker (a renderer, an
augmenter, an ASR decoder; None without ``init``): every worker builds it once before its
first task, so shared read-only resources are loaded once per worker, not once per task, and
no module of the caller keeps worker globals. Errors are wrapped here too: a
:class:`~synthaudio.errors.SynthaudioError` raised by a task arrives in the parent as the same
one-line error (see :func:`~synthaudio.run.workers.portable_error`), an ``OSError`` as one naming
its path. Tasks derive their randomness from the seed and the indices they are given, never
from the worker or the order, so every executor and any number of workers write the same
bytes.

- ``local`` with ``jobs == 1``: everything in this process (easiest to debug).
- ``local`` with ``jobs > 1``: :func:`synthaudio.run.workers.worker_pool` (fork; Ctrl-C and
  errors stop the workers).
- ``ray``: Ray tasks with one CPU each on the cluster at ``ray_address`` (or a local Ray
  instance with ``jobs`` CPUs, or the one this process already joined). ``init_args`` go to
  Ray's object store once; each Ray worker process initializes once per run. Files are
  written by the tasks: OUT must be a folder every node can reach (a shared file system).

``task`` and ``init`` must be module-level functions (they are pickled by reference).
"""

from __future__ import annotations

import functools
import inspect
import os
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from typing import Any, TypeVar

from synthaudio.errors import ConfigError, SynthaudioError
from synthaudio.run.workers import os_error, portable_error, worker_pool

I = TypeVar("I")  # noqa: E741 - an item of work
R = TypeVar("R")  # the result of one item

EXECUTORS = ("local", "ray")
IN_FLIGHT_PER_JOB = 3  # items queued per worker: enough to keep it busy, bounded memory


def check_executor(executor: str) -> None:
    if executor not in EXECUTORS:
        raise ConfigError(f"--executor must be one of {', '.join(EXECUTORS)}, got {executor!r}")


def usable_cores() -> int:
    """The CPUs this process may run on (its affinity mask: what a container or ``taskset``
    allows, not the machine's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux
        return max(1, os.cpu_count() or 1)


def fit_jobs(jobs: int | None) -> tuple[int, str | None]:
    """The number of local workers for ``-j jobs`` (None: one per usable core), and a note
    when ``jobs`` was more than the usable cores and was lowered to them (more workers than
    cores only add processes to start and switch between; the output is the same)."""
    cores = usable_cores()
    if jobs is None:
        return cores, None
    if jobs > cores:
        return cores, (f"-j {jobs}: only {cores} CPU core(s) are usable here, "
                       f"so {cores} worker(s) are used")
    return jobs, None


# The state ``init`` built in this worker process, per run (a run id: two runs in one
# process, e.g. an export inside a generate run with jobs=1, do not see each other's).
_STATE: dict[str, Any] = {}


def _init_state(run: str, init: Callable[..., Any] | None, init_args: tuple[Any, ...]) -> None:
    _STATE.clear()  # a pool worker serves one run; a forked one drops its parent's state
    _STATE[run] = init(*init_args) if init is not None else None


@functools.lru_cache(maxsize=64)
def _takes_state(task: Callable[..., Any]) -> bool:
    """False for a task of one parameter, ``task(item)``: the form written before tasks got
    their worker's state (it keeps working; its ``init`` sets what it needs itself)."""
    try:
        params = inspect.signature(task).parameters.values()
    except (TypeError, ValueError):
        return True
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) != 1 or any(p.kind is p.VAR_POSITIONAL for p in params)


def call_task(task: Callable[[Any, I], R], state: Any, item: I) -> R:
    """``task(state, item)`` with its errors made one-line SynthaudioErrors that pickle."""
    try:
        if not _takes_state(task):
            return task(item)  # type: ignore[call-arg]
        return task(state, item)
    except SynthaudioError as exc:
        raise portable_error(exc) from None
    except OSError as exc:
        raise os_error(exc) from None


def _pool_call(run: str, task: Callable[[Any, I], R], item: I) -> R:
    return call_task(task, _STATE[run], item)


def run_tasks(
    task: Callable[[Any, I], R],
    items: Iterable[I],
    on_result: Callable[[R], None],
    *,
    jobs: int = 1,
    init: Callable[..., Any] | None = None,
    init_args: tuple[Any, ...] = (),
    executor: str = "local",
    ray_address: str | None = None,
) -> None:
    """Run ``task(state, item)`` on every item; hand each result to ``on_result`` as it
    arrives. ``state`` is ``init(*init_args)``, built once per worker (None without init).

    At most ``IN_FLIGHT_PER_JOB * jobs`` items are queued at a time, so ``items`` may be a
    lazy iterator over a corpus of any size. The first error a task raises stops the run
    (the workers are stopped, queued items dropped) and is raised here.
    """
    check_executor(executor)
    if executor == "ray":
        _run_ray(task, items, on_result, jobs, init, init_args, ray_address)
        return
    jobs = fit_jobs(jobs)[0]  # a local pool never forks more workers than usable cores
    if jobs <= 1:
        state = init(*init_args) if init is not None else None
        for item in items:
            on_result(call_task(task, state, item))
        return
    run = uuid.uuid4().hex
    with worker_pool(jobs, _init_state, (run, init, init_args)) as pool:
        queued = iter(items)
        running: set[Future[R]] = set()
        for item in queued:
            running.add(pool.submit(_pool_call, run, task, item))
            if len(running) >= IN_FLIGHT_PER_JOB * jobs:
                break
        while running:
            finished, running = wait(running, return_when=FIRST_COMPLETED)
            for fut in finished:
                on_result(fut.result())
                nxt = next(queued, _END)
                if nxt is not _END:
                    running.add(pool.submit(_pool_call, run, task, nxt))


_END: Any = object()

# ---- Ray ----------------------------------------------------------------------------------

def _ray_call(run: str, init: Callable[..., Any] | None, init_args: tuple[Any, ...],
              task: Callable[[Any, Any], Any], item: Any) -> Any:
    """The body of every Ray task: initialize this worker once per run, then do the item."""
    if run not in _STATE:
        _init_state(run, init, init_args)
    return call_task(task, _STATE[run], item)


def connect_ray(address: str | None, jobs: int) -> Any:
    """Import ray; join the cluster at ``address``, or start a local one with ``jobs`` CPUs
    (nothing is done when this process already joined one)."""
    try:
        import ray
    except ImportError:
        raise SynthaudioError("--executor ray needs the ray package: "
                              "pip install 'synthaudio[ray]'") from None
    if not ray.is_initialized():
        if address:
            ray.init(address=address, log_to_driver=False)
        else:
            ray.init(num_cpus=jobs, include_dashboard=False, log_to_driver=False)
    return ray


def _run_ray(task: Callable[[Any, I], R], items: Iterable[I], on_result: Callable[[R], None],
             jobs: int, init: Callable[..., Any] | None, init_args: tuple[Any, ...],
             address: str | None) -> None:
    ray = connect_ray(address, jobs)
    remote = ray.remote(num_cpus=1, max_retries=0)(_ray_call)
    run = uuid.uuid4().hex
    args_ref = ray.put(init_args)  # once, not once per task
    queued = iter(items)
    running: list[Any] = []
    in_flight = IN_FLIGHT_PER_JOB * max(jobs, int(ray.cluster_resources().get("CPU", jobs)))
    try:
        for item in queued:
            running.append(remote.remote(run, init, args_ref, task, item))
            if len(running) >= in_flight:
                break
        while running:
            ready, running = ray.wait(running, num_returns=1)
            on_result(ray.get(ready[0]))
            nxt = next(queued, _END)
            if nxt is not _END:
                running.append(remote.remote(run, init, args_ref, task, nxt))
    except ray.exceptions.RayTaskError as exc:
        _cancel(ray, running)
        cause = getattr(exc, "cause", None)
        if isinstance(cause, SynthaudioError):
            raise SynthaudioError(str(cause)) from None
        raise SynthaudioError(f"a Ray task failed: {cause or exc}") from None
    except BaseException:
        _cancel(ray, running)
        raise


def _cancel(ray: Any, refs: list[Any]) -> None:
    for ref in refs:
        try:
            ray.cancel(ref, force=True)
        except Exception:  # noqa: BLE001 - already finished or gone: nothing to stop
            pass
