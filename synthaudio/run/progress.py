"""Progress bars for the commands that can run long: tqdm on stderr, off when stderr is not
a terminal (logs and pipes get no bar lines) or when the caller asks for quiet.

Library functions take ``progress: bool`` (the CLI passes ``not --quiet``); the bar shows
only when that is true and stderr is a TTY.
"""

from __future__ import annotations

import sys
import threading
from typing import Any

from tqdm import tqdm

# tqdm's default write lock holds a multiprocessing semaphore that forked children share
# with this process: a child killed while it holds it (SIGKILL, the OOM killer) leaves every
# later bar here waiting forever, even a disabled one (tqdm takes the lock to register any
# bar). Bars are written by the process that made them only, so a lock of its own will do.
tqdm.set_lock(threading.RLock())


def bar_enabled(progress: bool) -> bool:
    """Whether a bar should show: asked for, and stderr is a terminal."""
    try:
        return progress and sys.stderr.isatty()
    except (AttributeError, ValueError):  # stderr replaced or closed
        return False


def progress_bar(total: int, desc: str, unit: str = "utt", progress: bool = True) -> Any:
    """A tqdm bar of ``total`` steps on stderr (disabled: see :func:`bar_enabled`)."""
    tqdm.monitor_interval = 0  # no monitor thread: local pools fork
    return tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, dynamic_ncols=True,
                disable=not bar_enabled(progress), leave=False)
