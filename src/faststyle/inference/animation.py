"""Animated GIF, WebP and PNG (APNG) files: every frame stylized, timing and looping kept.

Pillow hands out each frame composited onto the ones before it (a GIF frame is often only
the patch that changed), so every frame is a whole picture to stylize, and the result is
written with full frames and the source's per-frame durations and loop count, as they are:
a 0 ms delay stays 0 (browsers show it as 100 ms, other players as fast as they can: theirs to
choose, not ours), and a GIF that plays once is not made to loop. Frames are independent
pictures, as a video's are; `stylize --temporal` steadies them the same way.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageSequence, UnidentifiedImageError

from faststyle.errors import UserError
from faststyle.image_io import MAX_PIXELS, atomic_path, pillow_limit, pillow_to_rgb

# The formats that hold an animation, and Pillow's name for each.
ANIMATED_SUFFIXES = {".gif": "GIF", ".webp": "WEBP", ".png": "PNG"}
# Every frame's result is held until the file is written: cap the frames' pixels in all.
MAX_TOTAL_PIXELS = 4 * MAX_PIXELS
# What Pillow raises past its bomb guard (pillow_limit turns the warning into an error too).
BOMB = (Image.DecompressionBombError, Image.DecompressionBombWarning)


def _open(path: str | os.PathLike[str], data: bytes | None) -> Image.Image:
    """The file at `path`, or its bytes `data` where they were read already (batch's Ray engine
    reads them on the node that holds the file)."""
    return Image.open(io.BytesIO(data) if data is not None else path)


def is_animated(path: str | os.PathLike[str], data: bytes | None = None) -> bool:
    """Whether `path` is an image file of more than one frame (False for anything unreadable:
    the still-image reader then says what is wrong with it)."""
    if Path(path).suffix.lower() not in ANIMATED_SUFFIXES:
        return False
    try:
        with pillow_limit(), _open(path, data) as img:
            return bool(getattr(img, "is_animated", False))
    except (OSError, UnidentifiedImageError, ValueError, *BOMB):
        return False


def frame_count(path: str | os.PathLike[str], data: bytes | None = None) -> int:
    with pillow_limit(), _open(path, data) as img:
        return int(getattr(img, "n_frames", 1))


def stylize_animation(
    in_path: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    transform: Callable[[NDArray[np.uint8]], NDArray[np.uint8]],
    progress: bool | None = None,
    data: bytes | None = None,
) -> Path:
    """Each frame of `in_path` (or of its bytes `data`) through `transform` (uint8 [H, W, 3] ->
    [h, w, 3]) into the animated file `out_path` (.gif, .webp or .png), written atomically."""
    from tqdm import tqdm

    in_path, out_path = Path(in_path), Path(out_path)
    fmt = ANIMATED_SUFFIXES.get(out_path.suffix.lower())
    if fmt is None:
        raise UserError(f"{out_path}: an animation needs a .gif, .webp or .png output")
    try:
        with pillow_limit(), _open(in_path, data) as img:
            n = int(getattr(img, "n_frames", 1))
            if n * img.width * img.height > MAX_TOTAL_PIXELS:
                raise UserError(
                    f"{in_path}: {n} frames of {img.width}x{img.height} are too many to hold at once; "
                    "convert it to a video (.mp4) and stylize that"
                )
            # no "loop": a GIF without the looping extension, which plays once: saved without it
            # too, or as 1 play in a WebP or APNG (whose writers would make it loop forever)
            loop = {"loop": img.info["loop"]} if "loop" in img.info else {} if fmt == "GIF" else {"loop": 1}
            frames: list[Image.Image] = []
            durations: list[float] = []
            # progress None: a bar on a terminal only (tqdm's disable=None), as video.py's frame bar
            disable = None if progress is None else not progress
            with tqdm(total=n, desc=in_path.name, unit="frame", leave=False, disable=disable) as bar:
                for frame in ImageSequence.Iterator(img):
                    rgb = pillow_to_rgb(frame)  # transparent pixels white, as in a still; sets a WebP frame's duration
                    # no "duration": a GIF frame without a delay, i.e. 0 ms (Pillow writes 0 so too)
                    durations.append(frame.info.get("duration", 0))
                    frames.append(Image.fromarray(transform(rgb), "RGB"))
                    bar.update()
    except (OSError, UnidentifiedImageError, ValueError, *BOMB) as e:
        raise UserError(f"{in_path}: cannot read its frames ({e})") from None
    extra = {"quality": 95} if fmt == "WEBP" else {}
    with atomic_path(out_path) as tmp:
        frames[0].save(tmp, format=fmt, save_all=True, append_images=frames[1:], duration=durations, **loop, **extra)
    return out_path
