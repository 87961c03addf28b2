"""Training photos through Hugging Face `datasets`: a local folder or a Hub dataset id.

Data order is a pure function of (seed, global step): sample p of the run is drawn from
epoch p // n's seeded permutation, and its crop/flip come from a generator seeded by p.
So `--resume` continues with exactly the batches an uninterrupted run would have seen,
whatever the number of workers, and DDP ranks interleave one global stream.

Images are decoded here rather than by `datasets`, so a corrupt, truncated, empty or
enormous file is skipped (the next photo takes its place, so batches stay full) and
reported to the training system, which counts it in the log; it never stops a run.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import lightning.pytorch as L
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from faststyle.errors import UserError
from faststyle.training.stream import StreamingPhotos
from faststyle.image_io import ImageError, decode_rgb_bytes, load_rgb
from faststyle.pixels import eval_transform, train_transform

PREVIEW_IMAGES = 4
MAX_RETRIES = 16
STREAM_ABOVE_BYTES = 2 * 1024**3  # Hub datasets larger than this (or of unknown size) are streamed


class DataError(UserError):
    """The training data cannot be used; str() says what to pass instead."""


def open_dataset(data: str, split: str = "train", image_column: str = "image", streaming: bool = False):
    """A `datasets` dataset whose `image_column` holds undecoded images ({"bytes", "path"})."""
    import datasets

    if os.path.isdir(data):
        try:
            ds = datasets.load_dataset("imagefolder", data_dir=data, split="train", streaming=streaming)
        except datasets.data_files.EmptyDatasetError:
            raise DataError(f"--data '{data}' holds no images (jpg, png, webp, ... anywhere below it)") from None
        image_column = "image"
    elif os.path.exists(data) or data.startswith((".", "/")):
        raise DataError(f"--data '{data}' is not a folder of images (pass a folder or a Hub dataset id)")
    else:
        try:
            ds = datasets.load_dataset(data, split=split, streaming=streaming)
        except Exception as e:
            raise DataError(f"--data '{data}': cannot load this Hub dataset/split '{split}' ({type(e).__name__}: {e})") from None
    columns = ds.column_names or list(ds.features or {}) or (list(next(iter(ds), {})) if streaming else [])
    if image_column not in columns:
        raise DataError(f"--data '{data}' has no column '{image_column}' (columns: {columns}); pass --image-column")
    if not streaming and len(ds) == 0:
        raise DataError(f"--data '{data}' holds no images (jpg, png, webp, ... anywhere below it)")
    ds = ds.cast_column(image_column, datasets.Image(decode=False))
    return ds.rename_column(image_column, "image") if image_column != "image" else ds


def decode(item: dict) -> "object":
    """An undecoded `datasets` image -> uint8 [H, W, 3]; ImageError if unusable."""
    if item.get("bytes"):
        return decode_rgb_bytes(item["bytes"], label=item.get("path") or "image bytes")
    if item.get("path"):
        return load_rgb(item["path"])
    raise ImageError("image record holds neither bytes nor a path")


class PhotoDataset(Dataset):
    """Map-style photos; __getitem__((index, draw)) -> (image [3, S, S], [(index, reason), ...])."""

    def __init__(self, records, image_size: int):
        self.records = records
        self.transform = train_transform(image_size)

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, key: tuple[int, int]):
        index, draw = key
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
                return self.transform(pixels), bad
        raise DataError(f"{MAX_RETRIES} images in a row could not be decoded near index {index}; is --data really photos?")


def collate(samples):
    images = torch.stack([img for img, _ in samples])
    bad = [b for _, reasons in samples for b in reasons]
    return {"image": images, "bad": bad}


class StreamSampler(Sampler):
    """This rank's share of the run's global sample stream, from the current step up to `total`.

    `position()` gives the global sample index to start from each time iteration begins: Lightning
    may begin a new pass after a resume (it counts batches per "epoch"), and each pass must pick
    up at the step actually reached, not where the sampler was built.
    """

    def __init__(self, n: int, seed: int, position: Callable[[], int], total: int, rank: int = 0, world: int = 1):
        self.n, self.seed, self.position, self.total, self.rank, self.world = n, seed, position, total, rank, world

    def _first(self) -> int:
        start = self.position()
        return start + (self.rank - start) % self.world

    def __len__(self) -> int:
        return max(0, (self.total - self._first() + self.world - 1) // self.world)

    def __iter__(self):
        perm_epoch, perm = -1, None
        p = self._first()
        while p < self.total:
            epoch = p // self.n
            if epoch != perm_epoch:
                g = torch.Generator().manual_seed(self.seed * 100_003 + epoch)
                perm, perm_epoch = torch.randperm(self.n, generator=g).tolist(), epoch
            yield perm[p % self.n], self.seed * 1_000_000_007 + p
            p += self.world


class PhotoDataModule(L.LightningDataModule):
    """Random-resized crops of photos, in [0, 1], batch [B, 3, S, S]."""

    def __init__(
        self,
        data: str,
        image_size: int = 256,
        batch_size: int = 4,
        num_workers: int = 2,
        data_split: str = "train",
        image_column: str = "image",
        seed: int = 0,
        max_steps: int = 40_000,
        streaming: str = "auto",
    ):
        super().__init__()
        self.data, self.image_size, self.batch_size = data, image_size, batch_size
        self.num_workers, self.data_split, self.image_column = num_workers, data_split, image_column
        self.seed, self.max_steps, self.streaming = seed, max_steps, streaming
        self.train_records = None
        self.preview_records = None
        self.stream = False

    def wants_streaming(self) -> bool:
        """auto: local folders are read in place; Hub datasets stream unless known to be small."""
        if self.streaming in ("on", "off"):
            return self.streaming == "on"
        if os.path.isdir(self.data):
            return False
        try:
            import datasets

            size = datasets.load_dataset_builder(self.data).info.dataset_size
        except Exception:
            size = None
        return size is None or size > STREAM_ABOVE_BYTES

    def setup(self, stage: str | None = None) -> None:
        if self.train_records is not None:
            return
        self.stream = self.wants_streaming()
        ds = open_dataset(self.data, self.data_split, self.image_column, streaming=self.stream)
        if self.stream:
            self.preview_records = list(ds.take(PREVIEW_IMAGES))
            self.train_records = ds.skip(PREVIEW_IMAGES)
            return
        # Hold a few photos out of training for the preview grid, when there are enough.
        k = PREVIEW_IMAGES if len(ds) >= 4 * PREVIEW_IMAGES else 0
        self.train_records = ds.select(range(len(ds) - k)) if k else ds
        self.preview_records = ds.select(range(len(ds) - k, len(ds))) if k else ds.select(range(min(len(ds), PREVIEW_IMAGES)))

    def train_dataloader(self) -> DataLoader:
        trainer = self.trainer
        world = trainer.world_size if trainer else 1
        rank = trainer.global_rank if trainer else 0
        per_step = self.batch_size * world
        position = lambda: (trainer.global_step if trainer else 0) * per_step  # noqa: E731
        if self.stream:
            stream = StreamingPhotos(self.train_records, self.image_size, self.batch_size, self.seed,
                                     position, self.max_steps * per_step, rank, world)
            return DataLoader(stream, batch_size=self.batch_size, num_workers=self.num_workers,
                              collate_fn=collate, pin_memory=torch.cuda.is_available())
        sampler = StreamSampler(len(self.train_records), self.seed, position, self.max_steps * per_step,
                                rank, world)
        return DataLoader(
            PhotoDataset(self.train_records, self.image_size), batch_size=self.batch_size, sampler=sampler,
            num_workers=self.num_workers, collate_fn=collate, persistent_workers=False,
            pin_memory=torch.cuda.is_available(), drop_last=True,
        )

    def preview_batch(self) -> torch.Tensor:
        """The held-out photos, centre-cropped: [K, 3, S, S]."""
        tf = eval_transform(self.image_size)
        images = []
        for rec in self.preview_records:
            try:
                images.append(tf(decode(rec["image"])))
            except ImageError:
                continue
        return torch.stack(images) if images else torch.zeros(0, 3, self.image_size, self.image_size)


def style_name(path: str | os.PathLike) -> str:
    """starry_night.jpg -> starry_night (names checkpoints, exports and output files)."""
    return Path(path).stem
