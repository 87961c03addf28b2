"""Where training photos come from: a local folder or a Hub dataset, through Hugging Face
`datasets`, with the images left undecoded so that we decode them (and skip bad ones) ourselves."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from faststyle.errors import ImageError, UserError
from faststyle.image_io import IMAGE_SUFFIXES, decode_rgb_bytes, load_rgb

if TYPE_CHECKING:
    import datasets

STREAM_ABOVE_BYTES = 2 * 1024**3  # Hub datasets larger than this (or of unknown size) are streamed


def wants_streaming(data: str, streaming: str) -> bool:
    """auto: local folders are read in place; Hub datasets stream unless known to be small."""
    if streaming in ("on", "off"):
        return streaming == "on"
    if os.path.isdir(data):
        return False
    try:
        import datasets

        size = datasets.load_dataset_builder(data).info.dataset_size
    except Exception:
        size = None
    return size is None or size > STREAM_ABOVE_BYTES


def local_images(folder: str) -> list[str]:
    """Every image file below `folder`, at any depth, sorted; linked folders are followed once
    each (a link loop is not walked twice)."""
    found, seen = [], set()
    for root, dirs, names in os.walk(folder, followlinks=True):
        real = os.path.realpath(root)
        if real in seen:
            dirs[:] = []
            continue
        seen.add(real)
        dirs.sort()
        found += [os.path.join(root, n) for n in names if os.path.splitext(n)[1].lower() in IMAGE_SUFFIXES]
    return sorted(found)


def open_dataset(
    data: str, split: str = "train", image_column: str = "image", streaming: bool = False
) -> datasets.Dataset | datasets.IterableDataset:
    """A `datasets` dataset whose `image_column` holds undecoded images ({"bytes", "path"})."""
    import datasets

    if os.path.isdir(data):
        # A local folder means every image below it: the files are listed here, because given the
        # folder `datasets` guesses splits from names (a sub-folder test/ or files named train_*
        # would make a split of their own, or the only one). Indexed in moments: no progress bars.
        files = local_images(data)
        if not files:
            raise UserError(f"--data '{data}' holds no images (jpg, png, webp, ... anywhere below it)")
        bars = datasets.is_progress_bar_enabled()
        datasets.disable_progress_bars()
        try:
            ds = datasets.load_dataset(
                "imagefolder", data_files={"train": files}, split="train", streaming=streaming, drop_labels=True
            )
        finally:
            if bars:
                datasets.enable_progress_bars()
        image_column = "image"
    elif os.path.exists(data) or data.startswith((".", "/")):
        raise UserError(f"--data '{data}' is not a folder of images (pass a folder or a Hub dataset id)")
    else:
        try:
            ds = datasets.load_dataset(data, split=split, streaming=streaming)
        except Exception as e:
            raise UserError(
                f"--data '{data}': cannot load this Hub dataset/split '{split}' ({type(e).__name__}: {e})"
            ) from None
    columns = ds.column_names or list(ds.features or {}) or (list(next(iter(ds), {})) if streaming else [])
    if image_column not in columns:
        raise UserError(f"--data '{data}' has no column '{image_column}' (columns: {columns}); pass --image-column")
    if not streaming and len(ds) == 0:
        raise UserError(f"--data '{data}' holds no images (jpg, png, webp, ... anywhere below it)")
    ds = ds.cast_column(image_column, datasets.Image(decode=False))
    return ds.rename_column(image_column, "image") if image_column != "image" else ds


def decode(item: dict[str, Any]) -> NDArray[np.uint8]:
    """An undecoded `datasets` image -> uint8 [H, W, 3]; ImageError if unusable."""
    if item.get("bytes"):
        return decode_rgb_bytes(item["bytes"], label=item.get("path") or "image bytes")
    if item.get("path"):
        return load_rgb(item["path"])
    raise ImageError("image record holds neither bytes nor a path")


def check_local_data(data: str) -> None:
    """A local --data folder must hold at least one image, found before any training starts."""
    if not os.path.isdir(data):
        if os.path.exists(data) or data.startswith((".", "/")):
            raise UserError(f"--data '{data}' is not a folder of images (pass a folder or a Hub dataset id)")
        parts = data.rstrip("/").split("/")
        if len(parts) > 2 or (len(parts) == 2 and os.path.isdir(parts[0])):  # a path, not OWNER/NAME
            raise UserError(f"--data '{data}': no such folder")
        check_hub_dataset(data)
        return
    for _, _, names in os.walk(data):
        if any(os.path.splitext(n)[1].lower() in IMAGE_SUFFIXES for n in names):
            return
    raise UserError(f"--data '{data}' holds no images (jpg, png, webp, ... anywhere below it)")


def check_hub_dataset(data: str) -> None:
    """A Hub id that is not there, or a Hub that cannot be reached, found in a second, not after
    `datasets` has retried for a minute. HF_HUB_OFFLINE=1 skips it (a cached copy is used)."""
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on"):
        return
    from huggingface_hub import HfApi
    from huggingface_hub.errors import RepositoryNotFoundError

    try:
        HfApi().dataset_info(data, timeout=20)
    except RepositoryNotFoundError:
        raise UserError(f"--data '{data}': no such folder here, and no such dataset on the Hub") from None
    except Exception as e:  # the network's own errors differ by huggingface_hub version
        raise UserError(
            f"--data '{data}': no such folder here, and the Hugging Face Hub cannot be reached ({type(e).__name__}); "
            "pass a local folder, or set HF_HUB_OFFLINE=1 to use a copy already in the cache"
        ) from None
