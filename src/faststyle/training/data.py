"""Training photos through Hugging Face `datasets`: a local folder or a Hub dataset id.

Data order is a pure function of (seed, global step): sample p of the run is drawn from
epoch p // n's seeded permutation, its crop/flip come from a generator seeded by p, and the
style it is trained towards (when the net learns several) from `StyleOrder`.
So `--resume` continues with exactly the batches an uninterrupted run would have seen,
whatever the number of workers, and DDP ranks interleave one global stream.

Images are decoded here rather than by `datasets`, so a corrupt, truncated, empty or
enormous file is skipped (the next photo takes its place, so batches stay full) and
reported to the training system, which counts it in the log; it never stops a run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import lightning.pytorch as L
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from faststyle.errors import ImageError, UserError
from faststyle.pixels import eval_transform, train_transform
from faststyle.training.config import TrainConfig
from faststyle.training.order import StyleOrder
from faststyle.training.records import decode, open_dataset, wants_streaming
from faststyle.training.stream import Sample, StreamingPhotos

# Workers start from a clean server process, not a fork of this one: a process that has
# already run another runtime's thread pools (OpenVINO's TBB, OpenCV) can crash when it
# forks (seen in the test suite, which stylizes and trains in one process). The cost is a
# second or two per worker, once per run: the sampler spans the whole run in one pass.
WORKER_START = "forkserver"

if TYPE_CHECKING:
    import datasets

PREVIEW_IMAGES = 4
MAX_RETRIES = 16


class PhotoDataset(Dataset[Sample]):
    """Map-style photos; __getitem__((index, draw, style)) -> (image [3, S, S], [(index, reason), ...], style)."""

    def __init__(self, records: datasets.Dataset, image_size: int):
        self.records = records
        self.transform = train_transform(image_size)

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, key: tuple[int, int, int]) -> Sample:
        index, draw, style = key
        bad: list[tuple[int, str]] = []
        for attempt in range(MAX_RETRIES):
            i = (index + attempt) % len(self.records)
            item = self.records[i]["image"]
            try:
                pixels = decode(item)
            except ImageError as e:
                bad.append((i, str(e)))
                continue
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(draw)  # augmentation depends on the stream position only
                return self.transform(pixels), bad, style
        raise UserError(
            f"{MAX_RETRIES} images in a row could not be decoded near index {index}; is --data really photos?"
        )


def collate(samples: list[Sample]) -> dict[str, Any]:
    """[(image, bad, style), ...] -> {"image": [B, 3, S, S], "bad": [(index, reason), ...], "style": [B]}."""
    images = torch.stack([img for img, _, _ in samples])
    bad = [b for _, reasons, _ in samples for b in reasons]
    return {"image": images, "bad": bad, "style": torch.tensor([s for _, _, s in samples])}


class StreamSampler(Sampler[tuple[int, int, int]]):
    """This rank's share of the run's global sample stream, from the current step up to `total`.

    `position()` gives the global sample index to start from each time iteration begins: Lightning
    may begin a new pass after a resume (it counts batches per "epoch"), and each pass must pick
    up at the step actually reached, not where the sampler was built.
    """

    def __init__(
        self,
        n: int,
        seed: int,
        position: Callable[[], int],
        total: int,
        rank: int = 0,
        world: int = 1,
        styles: StyleOrder | None = None,
    ):
        self.n, self.seed, self.position, self.total, self.rank, self.world = n, seed, position, total, rank, world
        self.styles = styles or StyleOrder(1, seed)

    def _first(self) -> int:
        start = self.position()
        return start + (self.rank - start) % self.world

    def __len__(self) -> int:
        return max(0, (self.total - self._first() + self.world - 1) // self.world)

    def __iter__(self) -> Iterator[tuple[int, int, int]]:
        perm_epoch = -1
        perm: list[int] = []  # drawn at the first sample: no epoch is -1
        p = self._first()
        while p < self.total:
            epoch = p // self.n
            if epoch != perm_epoch:
                g = torch.Generator().manual_seed(self.seed * 100_003 + epoch)
                perm, perm_epoch = torch.randperm(self.n, generator=g).tolist(), epoch
            yield perm[p % self.n], self.seed * 1_000_000_007 + p, self.styles(p)
            p += self.world


class PhotoDataModule(L.LightningDataModule):
    """Random-resized crops of photos, in [0, 1], batch [B, 3, S, S]."""

    def __init__(self, config: TrainConfig, num_styles: int = 1, shares: list[int] | None = None):
        super().__init__()
        self.num_styles, self.style_mixing, self.shares = num_styles, config.style_mixing, shares
        assert config.data is not None
        self.data, self.image_size, self.batch_size = config.data, config.image_size, config.batch_size
        self.num_workers, self.data_split, self.image_column = (
            config.num_workers,
            config.data_split,
            config.image_column,
        )
        self.seed, self.max_steps, self.streaming = config.seed, config.max_steps, config.streaming
        self.train_records: datasets.Dataset | datasets.IterableDataset | None = None
        self.preview_records: datasets.Dataset | list[dict[str, Any]] | None = None
        self.stream = False

    def setup(self, stage: str | None = None) -> None:
        if self.train_records is not None:
            return
        self.stream = wants_streaming(self.data, self.streaming)
        ds = open_dataset(self.data, self.data_split, self.image_column, streaming=self.stream)
        if self.stream:
            self.preview_records = list(ds.take(PREVIEW_IMAGES))
            self.train_records = ds.skip(PREVIEW_IMAGES)
            return
        # Hold a few photos out of training for the preview grid, when there are enough.
        k = PREVIEW_IMAGES if len(ds) >= 4 * PREVIEW_IMAGES else 0
        self.train_records = ds.select(range(len(ds) - k)) if k else ds
        self.preview_records = (
            ds.select(range(len(ds) - k, len(ds))) if k else ds.select(range(min(len(ds), PREVIEW_IMAGES)))
        )

    def train_dataloader(self) -> DataLoader[Sample]:
        assert self.train_records is not None  # setup() ran first
        trainer = self.trainer
        world = trainer.world_size if trainer else 1
        rank = trainer.global_rank if trainer else 0
        per_step = self.batch_size * world
        position = lambda: (trainer.global_step if trainer else 0) * per_step
        styles = StyleOrder(self.num_styles, self.seed, self.style_mixing, per_step, self.shares)
        loading: dict[str, Any] = dict(  # how batches are loaded, whichever way photos are read
            batch_size=self.batch_size,
            num_workers=self.num_workers,
            multiprocessing_context=WORKER_START if self.num_workers else None,
            collate_fn=collate,
            pin_memory=torch.cuda.is_available(),
        )
        if self.stream:
            stream = StreamingPhotos(
                self.train_records,
                self.image_size,
                self.batch_size,
                self.seed,
                position,
                self.max_steps * per_step,
                rank,
                world,
                styles,
            )
            return DataLoader(stream, **loading)
        sampler = StreamSampler(
            len(self.train_records), self.seed, position, self.max_steps * per_step, rank, world, styles
        )
        return DataLoader(
            PhotoDataset(self.train_records, self.image_size),
            sampler=sampler,
            persistent_workers=False,
            drop_last=True,
            **loading,
        )

    def preview_batch(self) -> torch.Tensor:
        """The held-out photos, centre-cropped: [K, 3, S, S]."""
        tf = eval_transform(self.image_size)
        images = []
        assert self.preview_records is not None  # setup() ran first
        for rec in self.preview_records:
            try:
                images.append(tf(decode(rec["image"])))
            except ImageError:
                continue
        return torch.stack(images) if images else torch.zeros(0, 3, self.image_size, self.image_size)
