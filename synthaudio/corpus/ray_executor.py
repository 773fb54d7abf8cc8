"""Rendering render groups on a Ray cluster (``generate --executor ray``).

Each Ray task renders one group exactly as a local worker does (same randomness from
(seed, index), same group boundaries), so a Ray run writes byte-identical files. Workers
build their renderer once and keep it across tasks; the environment resources (RIR bank
index, babble pool) travel once through Ray's object store. OUT must be a folder every node
can write (a shared file system).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from synthaudio.corpus.plan import UtteranceSpec
from synthaudio.errors import SynthaudioError

_INITIALIZED: Any = None  # the init args this Ray worker's renderer was built from


def _task(init_args: tuple[Any, ...], group: int,
          specs: Sequence[UtteranceSpec]) -> list[tuple[str, float]]:
    global _INITIALIZED
    from synthaudio.corpus import generate

    key = (init_args[0].get("seed"), init_args[1], id(init_args[2]))
    if _INITIALIZED != key:
        generate._init_worker(*init_args)
        _INITIALIZED = key
    return generate._render_group(group, specs)


def connect(address: str | None, jobs: int) -> Any:
    """Import ray and connect (``address``) or start a local instance with ``jobs`` CPUs."""
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


def render_groups_ray(
    init_args: tuple[Any, ...], groups: Iterable[tuple[int, Sequence[UtteranceSpec]]],
    jobs: int, address: str | None, advance: Callable[[list[tuple[str, float]]], None],
) -> None:
    """Render every group as a Ray task, at most ``3 * jobs`` in flight."""
    ray = connect(address, jobs)
    remote = ray.remote(num_cpus=1, max_retries=0)(_task)
    args_ref = ray.put(init_args)
    queued = iter(groups)
    running: list[Any] = []
    try:
        for group, specs in queued:
            running.append(remote.remote(args_ref, group, specs))
            if len(running) >= 3 * jobs:
                break
        while running:
            ready, running = ray.wait(running, num_returns=1)
            advance(ray.get(ready[0]))
            nxt = next(queued, None)
            if nxt is not None:
                running.append(remote.remote(args_ref, nxt[0], nxt[1]))
    except ray.exceptions.RayTaskError as exc:
        for ref in running:
            ray.cancel(ref, force=True)
        cause = getattr(exc, "cause", None)
        if isinstance(cause, SynthaudioError):
            raise SynthaudioError(str(cause)) from None
        raise SynthaudioError(f"a Ray task failed: {cause or exc}") from None
    except BaseException:
        for ref in running:
            ray.cancel(ref, force=True)
        raise
