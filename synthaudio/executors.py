"""Where work runs: in this process, on a local process pool, or on a Ray cluster.

``run_tasks`` is the one loop behind ``generate``, ``augment``, ``evaluate`` and the
WebDataset export. Work is a sequence of items (chunks of utterance indices, in practice);
``task(item)`` does one item in a worker and returns a small result, which the parent gets
through ``on_result`` in completion order. Every worker runs ``init(*init_args)`` once before
its first task (a renderer, an augmenter, an ASR decoder), so shared read-only resources are
loaded once per worker, not once per task. Tasks derive their randomness from the seed and
the indices they are given, never from the worker or the order, so every executor and any
number of workers write the same bytes.

- ``local`` with ``jobs == 1``: everything in this process (easiest to debug).
- ``local`` with ``jobs > 1``: :func:`synthaudio.workers.worker_pool` (fork; Ctrl-C and
  errors stop the workers).
- ``ray``: Ray tasks with one CPU each on the cluster at ``ray_address`` (or a local Ray
  instance with ``jobs`` CPUs, or the one this process already joined). ``init_args`` go to
  Ray's object store once; each Ray worker process initializes once per run. Files are
  written by the tasks: OUT must be a folder every node can reach (a shared file system).

``task`` and ``init`` must be module-level functions (they are pickled by reference).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from typing import Any, TypeVar

from synthaudio.errors import ConfigError, SynthaudioError
from synthaudio.workers import worker_pool

I = TypeVar("I")  # noqa: E741 - an item of work
R = TypeVar("R")  # the result of one item

EXECUTORS = ("local", "ray")
IN_FLIGHT_PER_JOB = 3  # items queued per worker: enough to keep it busy, bounded memory


def check_executor(executor: str) -> None:
    if executor not in EXECUTORS:
        raise ConfigError(f"--executor must be one of {', '.join(EXECUTORS)}, got {executor!r}")


def run_tasks(
    task: Callable[[I], R],
    items: Iterable[I],
    on_result: Callable[[R], None],
    *,
    jobs: int = 1,
    init: Callable[..., None] | None = None,
    init_args: tuple[Any, ...] = (),
    executor: str = "local",
    ray_address: str | None = None,
) -> None:
    """Run ``task`` on every item; hand each result to ``on_result`` as it arrives.

    At most ``IN_FLIGHT_PER_JOB * jobs`` items are queued at a time, so ``items`` may be a
    lazy iterator over a corpus of any size. The first error a task raises stops the run
    (the workers are stopped, queued items dropped) and is raised here.
    """
    check_executor(executor)
    if executor == "ray":
        _run_ray(task, items, on_result, jobs, init, init_args, ray_address)
        return
    if jobs <= 1:
        if init is not None:
            init(*init_args)
        for item in items:
            on_result(task(item))
        return
    with worker_pool(jobs, init, init_args) as pool:
        queued = iter(items)
        running: set[Future[R]] = set()
        for item in queued:
            running.add(pool.submit(task, item))
            if len(running) >= IN_FLIGHT_PER_JOB * jobs:
                break
        while running:
            finished, running = wait(running, return_when=FIRST_COMPLETED)
            for fut in finished:
                on_result(fut.result())
                nxt = next(queued, _END)
                if nxt is not _END:
                    running.add(pool.submit(task, nxt))


_END: Any = object()

# ---- Ray ----------------------------------------------------------------------------------

_RAY_RUN: str | None = None  # the run this Ray worker process was last initialized for


def _ray_call(run: str, init: Callable[..., None] | None, init_args: tuple[Any, ...],
              task: Callable[[Any], Any], item: Any) -> Any:
    """The body of every Ray task: initialize this worker once per run, then do the item."""
    global _RAY_RUN
    if _RAY_RUN != run:
        if init is not None:
            init(*init_args)
        _RAY_RUN = run
    return task(item)


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


def _run_ray(task: Callable[[I], R], items: Iterable[I], on_result: Callable[[R], None],
             jobs: int, init: Callable[..., None] | None, init_args: tuple[Any, ...],
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
