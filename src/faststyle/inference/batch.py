"""Stylize a whole dataset: a folder tree, or a Hugging Face `datasets` image dataset, into a
mirrored tree of outputs.

Resumable: an output that exists is skipped, and every output is written atomically, so an
interrupted job run again writes only what is missing. Local jobs use one process per core,
each with its own engine on one thread (decoding and encoding run in parallel too); the Ray
engine (faststyle.inference.batch_ray) runs the same work as a Ray Data pipeline.

A multi-style model can give every image its own style, for style augmentation: --style
random (one of its styles per image) or random-blend (a random mix of two), seeded by the
image's place in the job so a rerun gives every image the same style again.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from faststyle.errors import UserError
from faststyle.image_io import IMAGE_SUFFIXES, save_rgb
from faststyle.inference.animation import ANIMATED_SUFFIXES, is_animated
from faststyle.inference.inputs import claim
from faststyle.inference.load import load_stylizer
from faststyle.inference.pipeline import Options, stylize_array, stylize_path
from faststyle.inference.stylizer import Stylizer
from faststyle.scan import leads_back, warn_loop
from faststyle.training.records import decode, open_dataset

WRITABLE = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"}
RANDOM_STYLES = ("random", "random-blend")


@dataclass(frozen=True)
class Item:
    """One image of the job: a file, or row `index` of a dataset; and where its output goes."""

    key: str  # the relative path (folder) or the row index (dataset): names the item, seeds its style
    dest: Path
    source: str = ""  # the file; "" for a dataset row
    index: int = -1


@dataclass
class Source:
    """Where the images come from: a folder tree, or a dataset (id or local folder, split, column)."""

    root: str
    dataset: bool = False
    split: str = "train"
    image_column: str = "image"
    _records: Any = field(default=None, repr=False)

    def records(self) -> Any:
        if self._records is None:
            self._records = open_dataset(self.root, self.split, self.image_column)
        return self._records

    def load(self, item: Item) -> NDArray[np.uint8]:
        """A dataset row's image (a folder's files are read by stylize_path)."""
        return decode(self.records()[item.index]["image"])


def plan(source: Source, output: Path) -> list[Item]:
    """Every input and its output path, in a fixed order."""
    if not source.dataset:
        root = Path(source.root)
        if not root.is_dir():
            raise UserError(f"{root}: not a folder (pass a folder tree of images, or --dataset for a dataset)")
        out = output.resolve()
        if out == root.resolve():
            raise UserError(f"{output}: OUTPUT is INPUT; name another folder (outputs would overwrite the photos)")
        inside = root.resolve() in out.parents  # an OUTPUT inside INPUT holds earlier results, not photos
        files, unreadable = [], 0
        for p in sorted(root.rglob("*")):  # linked folders are not walked into
            try:
                if p.is_file():
                    if p.suffix.lower() in IMAGE_SUFFIXES and not (inside and out in p.resolve().parents):
                        files.append(p)
                elif leads_back(p):  # folders and broken links are passed by; a loop is worth a word
                    warn_loop(p)
            except OSError:  # an entry this user may not even look at (say, under /proc): not a photo of theirs
                unreadable += 1
        if unreadable:
            print(f"warning: {unreadable} entries below {root} could not be read and were passed by", file=sys.stderr)
        if not files:
            raise UserError(f"{root}: no images anywhere below it")
        taken: set[Path] = set()
        inputs = {p.resolve() for p in files}
        claimed: dict[Path, Path] = {}
        keeps = {p: keeps_format(p) for p in files}
        # x.png, x.gif and x.ppm would all make x.png: the file that keeps its own name has it
        # (formats written as they are go first), the others keep their extension (x_gif.png)
        for path in sorted(files, key=lambda p: not keeps[p]):
            rel = path.relative_to(root)
            dest = output / (rel if keeps[path] else rel.with_suffix(".png"))
            tagged = dest.with_name(f"{dest.stem}_{path.suffix.lstrip('.').lower()}{dest.suffix}")
            claimed[path] = claim(dest, tagged, taken, inputs)
        items = [Item(str(p.relative_to(root)), claimed[p], source=str(p)) for p in files]
        return items
    n = len(source.records())
    width = max(6, len(str(n)))
    return [Item(str(i), output / source.split / f"{i:0{width}d}.jpg", index=i) for i in range(n)]


def keeps_format(path: Path) -> bool:
    """Whether `path`'s output is written in its own format: one save_rgb writes, or an animation,
    whose every frame is kept as `stylize` keeps them (cat.gif -> cat.gif, not a still cat.png)."""
    suffix = path.suffix.lower()
    return suffix in WRITABLE or (suffix in ANIMATED_SUFFIXES and is_animated(path))  # opens GIFs only


def style_of(mode: str | None, key: str, names: list[str], seed: int = 0) -> NDArray[np.float32] | None:
    """The style weights [S] for one image: None (the stylizer's own), or a seeded random choice."""
    if mode not in RANDOM_STYLES:
        return None
    digest = hashlib.sha256(f"{seed}:{key}".encode()).digest()
    rng = np.random.default_rng(int.from_bytes(digest[:8], "little"))
    weights = np.zeros(len(names), np.float32)
    a, b = rng.choice(len(names), size=2, replace=len(names) < 2)
    share = float(rng.uniform()) if mode == "random-blend" else 0.0
    weights[a] += 1.0 - share
    weights[b] += share
    return weights


@dataclass
class Settings:
    """What every worker needs to rebuild the job's engine and apply the same options."""

    model: str
    backend: str
    precision: str
    style: str | None
    options: Options
    source: Source
    seed: int = 0
    style_image: str | None = None  # a painting for a model with a style predictor


_worker: dict[str, Any] = {}


def worker_stylizer(settings: Settings) -> Stylizer:
    """The job's engine as each worker (a local process or a Ray actor) rebuilds it: one thread."""
    fixed = None if settings.style in RANDOM_STYLES else settings.style
    return load_stylizer(
        settings.model,
        settings.backend,
        "cpu",
        threads=1,
        style=fixed,
        precision=settings.precision,
        quiet=True,
        style_image=settings.style_image,
    )


def _start_worker(settings: Settings) -> None:
    _worker["stylizer"] = worker_stylizer(settings)
    _worker["settings"] = settings


def process(item: Item) -> str | None:
    """Stylize one item in this worker; a one-line problem, or None when it was written."""
    stylizer, settings = _worker["stylizer"], _worker["settings"]
    try:
        weights = style_of(settings.style, item.key, stylizer.styles, settings.seed)
        stylize = partial(stylizer, weights=weights)
        if item.source:  # a file: as `stylize` does it, every frame of an animation included
            stylize_path(stylize, item.source, item.dest, settings.options)
        else:
            save_rgb(stylize_array(stylize, settings.source.load(item), settings.options), item.dest)
    except Exception as e:  # one broken image must not stop a million-image job
        return problem_line(item.source or item.key, e)
    return None


def problem_line(where: str, e: Exception) -> str:
    """The one line a failed image is reported by (both engines)."""
    if isinstance(e, UserError):  # load_rgb's errors already start with the file's name
        return str(e) if str(e).startswith(where) else f"{where}: {e}"
    return f"{where}: failed ({type(e).__name__}: {str(e).splitlines()[0][:160] if str(e) else ''})"


@dataclass
class Report:
    written: int = 0
    skipped: int = 0
    failed: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def images_per_s(self) -> float:
        return self.written / self.seconds if self.seconds else 0.0


def run_local(items: list[Item], settings: Settings, workers: int, progress: bool = True) -> Report:
    """Stylize the items whose outputs are missing, in `workers` processes."""
    from tqdm import tqdm

    todo = [item for item in items if not item.dest.exists()]
    report = Report(skipped=len(items) - len(todo))
    start = time.perf_counter()
    context = multiprocessing.get_context("spawn")  # no runtime state is copied into a worker
    with (
        context.Pool(workers, initializer=_start_worker, initargs=(settings,)) as pool,
        tqdm(total=len(todo), unit="image", disable=not progress or None, smoothing=0.1) as bar,
    ):
        for problem in pool.imap_unordered(process, todo, chunksize=4):
            if problem is None:
                report.written += 1
            else:
                report.failed.append(problem)
                tqdm.write(f"error: {problem}", file=sys.stderr)
            bar.update(1)
            bar.set_postfix(images_per_s=f"{(report.written + len(report.failed)) / (time.perf_counter() - start):.1f}")
    report.seconds = time.perf_counter() - start
    return report


def batches(items: list[Item], size: int) -> Iterator[list[Item]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def default_workers() -> int:
    return os.cpu_count() or 1
