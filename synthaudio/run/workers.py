"""Worker process pools that stop promptly and report errors as one line.

``worker_pool`` is a ``ProcessPoolExecutor`` (fork where available) whose workers ignore
Ctrl-C (the parent stops them: one SIGINT to the whole process group ends the run once, not
once per worker) and die with the parent (Linux), and which terminates and reaps its workers
when the ``with`` block is left by an exception, Ctrl-C included. ``portable_error`` makes
an error raised in a worker arrive in the parent as the same one-line error.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import pickle
import signal
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, TypeVar

from synthaudio.errors import SynthaudioError

T = TypeVar("T")
_PR_SET_PDEATHSIG = 1  # prctl option: signal sent to this process when its parent dies
_JOIN_S = 2.0  # seconds to wait for a terminated worker before killing it


@contextlib.contextmanager
def _sigint_blocked() -> Iterator[None]:
    """Block SIGINT in this thread, so that a worker forked here starts with it blocked."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _worker_init(parent_pid: int, initializer: Callable[..., None] | None,
                 initargs: tuple[Any, ...]) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops the pool
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent_pid:  # the parent died before prctl took effect
            os._exit(1)
    if initializer is not None:
        initializer(*initargs)


class _Pool(ProcessPoolExecutor):
    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        with _sigint_blocked():  # workers are forked inside submit
            return super().submit(fn, *args, **kwargs)


def stop_pool(pool: ProcessPoolExecutor) -> None:
    """Terminate the pool's workers now, drop queued work, and reap the workers."""
    procs = list((getattr(pool, "_processes", None) or {}).values())
    for proc in procs:
        with contextlib.suppress(Exception):
            proc.terminate()
    pool.shutdown(wait=False, cancel_futures=True)
    for proc in procs:
        with contextlib.suppress(Exception):
            proc.join(_JOIN_S)
            if proc.is_alive():
                proc.kill()
                proc.join(_JOIN_S)


@contextlib.contextmanager
def worker_pool(jobs: int, initializer: Callable[..., None] | None = None,
                initargs: tuple[Any, ...] = ()) -> Iterator[ProcessPoolExecutor]:
    """A process pool of ``jobs`` workers; leaving the block by an exception stops them."""
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    pool = _Pool(max_workers=jobs, mp_context=ctx, initializer=_worker_init,
                 initargs=(os.getpid(), initializer, initargs))
    try:
        yield pool
    except BaseException:
        stop_pool(pool)
        raise
    pool.shutdown(wait=True)


def portable_error(exc: SynthaudioError) -> SynthaudioError:
    """``exc`` if it survives pickling (the trip from a worker to the parent), else a plain
    SynthaudioError with the same message."""
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return SynthaudioError(str(exc))
    return exc


def os_error(exc: OSError) -> SynthaudioError:
    """A one-line SynthaudioError for an OSError: the path it names, then the reason."""
    reason = exc.strerror or str(exc)
    where = exc.filename if exc.filename is not None else type(exc).__name__
    return SynthaudioError(f"{where}: {reason}")
