"""Streaming photos from a large Hub dataset (or any `datasets.IterableDataset`).

The run's data is one global stream: the dataset shuffled with a buffer (seed + epoch),
repeated epoch after epoch. Sample p of that stream goes to DDP rank p % world; within a
rank, worker w decodes the batches b with b % workers == w, which is the order in which the
DataLoader collects batches from its workers. So the batches match a single-process run,
and a resumed run skips (reads without decoding) the samples already consumed, continuing
exactly where the last checkpoint stopped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
from torch.utils.data import IterableDataset, get_worker_info

from faststyle.errors import ImageError, UserError
from faststyle.pixels import train_transform
from faststyle.training.order import StyleOrder
from faststyle.training.records import decode

if TYPE_CHECKING:
    import datasets

SHUFFLE_BUFFER = 1000
# One training photo [3, S, S] and the (position, reason) of the unreadable ones met on the way
Sample = tuple[torch.Tensor, list[tuple[int, str]], int]  # (image [3, S, S], [(position, reason)], style id)


@dataclass(frozen=True)
class Start:
    """A position fixed when the dataset was handed to a worker: callable like the live one."""

    sample: int

    def __call__(self) -> int:
        return self.sample


class StreamingPhotos(IterableDataset[Sample]):
    """Yields (image [3, S, S], [(position, reason), ...], style id) for this rank and worker."""

    def __init__(
        self,
        records: datasets.IterableDataset,
        image_size: int,
        batch_size: int,
        seed: int,
        position: Callable[[], int],
        total: int,
        rank: int = 0,
        world: int = 1,
        styles: StyleOrder | None = None,
    ):
        super().__init__()
        self.styles = styles or StyleOrder(1, seed)  # sample position -> trained-style id
        self.records, self.batch_size, self.seed = records, batch_size, seed
        self.position, self.total, self.rank, self.world = position, total, rank, world
        self.transform = train_transform(image_size)

    def __getstate__(self) -> dict[str, Any]:
        # Sent to a worker when iteration begins: the position is read now, in the main
        # process, as a forked worker would have read it (the callable holds the trainer).
        state = dict(self.__dict__)
        state["position"] = Start(self.position())
        return state

    def __iter__(self) -> Iterator[Sample]:
        info = get_worker_info()
        worker, workers = (info.id, info.num_workers) if info else (0, 1)
        start = self.position()
        first_local = -(-(start - self.rank) // self.world)  # this rank's first sample index >= start
        stream = self.records.shuffle(seed=self.seed, buffer_size=SHUFFLE_BUFFER)
        p, epoch, last_good = 0, 0, None
        while p < self.total:
            stream.set_epoch(epoch)
            seen = 0
            # .iter() rather than plain iteration: inside a DataLoader worker, plain iteration
            # hands each worker a subset of shards, and every worker here must see the whole stream.
            for rows in stream.iter(batch_size=1):
                row = {k: v[0] for k, v in rows.items()}
                seen += 1
                pos, p = p, p + 1
                if pos >= self.total:
                    return
                if pos < start or pos % self.world != self.rank:
                    continue  # another rank's sample, or consumed before the resume
                batch = (pos // self.world - first_local) // self.batch_size
                if batch % workers != worker:
                    continue
                bad = []
                try:
                    last_good = decode(row["image"])
                except ImageError as e:
                    # Keep positions aligned across workers: reuse this worker's last good photo.
                    bad.append((pos, str(e)))
                    if last_good is None:
                        continue
                with torch.random.fork_rng(devices=[]):
                    torch.manual_seed(self.seed * 1_000_000_007 + pos)
                    yield self.transform(last_good), bad, self.styles(pos)
            if seen == 0:
                raise UserError("the streamed dataset yielded no rows")
            epoch += 1
