"""Random streams for PyTorch DataLoader workers: distinct per worker, reproducible.

A dataset that augments keeps a Generator (``self.rng``); a DataLoader copies the dataset
into each worker, and without help every worker would draw the same values.
``worker_init_fn`` gives each copy its own stream, seeded from the worker's torch seed
(``torch.utils.data.get_worker_info().seed``: the DataLoader's base seed plus the worker
id, drawn anew each epoch from the DataLoader's ``generator``), so a run with
``generator=torch.Generator().manual_seed(S)`` draws the same values every time, and each
worker and each epoch draws different ones::

    loader = DataLoader(dataset, num_workers=4, worker_init_fn=sa.worker_init_fn,
                        generator=torch.Generator().manual_seed(0))

torch is imported only inside the functions (it is not a dependency of synthaudio).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def worker_rng(seed: int | None = None) -> np.random.Generator:
    """This DataLoader worker's stream; outside a worker, ``default_rng(seed)``.

    In a worker: ``default_rng([torch worker seed])``, or ``default_rng([seed, worker
    seed])`` when ``seed`` is given (a second, independent family of streams).
    """
    from torch.utils.data import get_worker_info

    info = get_worker_info()
    if info is None:
        return np.random.default_rng(seed)
    base = int(info.seed) & ((1 << 64) - 1)
    return np.random.default_rng([base] if seed is None else [seed, base])


@dataclass(frozen=True)
class SeedWorkers:
    """A ``worker_init_fn`` that sets ``dataset.<attr>`` to :func:`worker_rng` (picklable)."""

    attr: str = "rng"  # the dataset attribute holding its Generator
    seed: int | None = None

    def __call__(self, worker_id: int) -> None:
        from torch.utils.data import get_worker_info

        info = get_worker_info()
        if info is None:
            return
        if not hasattr(info.dataset, self.attr):
            raise AttributeError(f"worker_init_fn: the dataset has no {self.attr!r} attribute "
                                 "to hold its random Generator")
        setattr(info.dataset, self.attr, worker_rng(self.seed))


worker_init_fn = SeedWorkers()  # dataset.rng: a stream of its own in each worker
