"""The stylize pipeline behind the `stylize` command, as importable functions.

    stylizer = load_stylizer("starry_night")              # faststyle.inference.load
    stylize_path(stylizer, "photo.jpg", "photo_starry_night.jpg", Options(max_size=1024))

Per image: load (any mode, EXIF upright) at the --max-size/--scale size (a big photo
reduced while it is decoded) -> stylize, whole
or in tiles, at the asked stroke scale (faststyle.inference.stroke_scale) -> optionally keep
the photo's colours -> blend with the photo (--strength)
-> save atomically. Videos and animated images run the same per-frame steps through
faststyle.inference.video and faststyle.inference.animation.

The ONNX Runtime backend needs no torch; torch is imported only for .ckpt/.pth models.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from faststyle.errors import UserError
from faststyle.image_io import MAX_PIXELS, decode_rgb_bytes, fit_rgb, fit_size, load_rgb, save_rgb
from faststyle.inference.animation import ANIMATED_SUFFIXES, frame_count, is_animated, stylize_animation
from faststyle.inference.color import blend, preserve_color
from faststyle.inference.stroke_scale import at_stroke_scale, check_stroke_scale, low_size
from faststyle.inference.temporal_blend import TemporalBlend
from faststyle.inference.tiling import count_tiles, stylize_tiled
from faststyle.inference.video import is_video, stylize_video

if TYPE_CHECKING:
    from tqdm import tqdm

# Untiled, the Johnson net in ONNX Runtime peaks near 1.3 kB per pixel (5.4 GB at 2048^2),
# so images above AUTO_TILE_PIXELS are tiled with AUTO_TILE unless the user says otherwise.
AUTO_TILE_PIXELS = 6_000_000
AUTO_TILE = 2048


@dataclass
class Options:
    """What to do to each image or frame; the defaults stylize at full size, full strength."""

    max_size: int | None = None  # cap on the longer side, in pixels
    scale: float | None = None  # resize factor applied first
    tile: int | None = None  # tile side; None: auto (AUTO_TILE above AUTO_TILE_PIXELS), 0: never tile
    stroke_scale: float = 1.0  # strokes this many times the net's own size, at the same output size
    preserve_color: bool = False
    strength: float = 1.0  # 1: stylized, 0: the photo
    temporal: float = 0.0  # videos: share of the flow-warped previous output mixed in (0: frames alone)
    progress: bool | None = None  # tqdm bars: True, False, or None for "on a terminal"


def _bar(total: int, desc: str, progress: bool | None) -> tqdm:
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, leave=False, disable=None if progress is None else not progress)


def stylize_array(
    stylizer: Callable[[NDArray[np.uint8]], NDArray[np.uint8]],
    image: NDArray[np.uint8],
    opts: Options | None = None,
    desc: str = "tiles",
) -> NDArray[np.uint8]:
    """uint8 [H, W, 3] photo -> uint8 [h, w, 3] result, (h, w) after --max-size/--scale."""
    opts = opts or Options()
    h, w = fitted_size(image.shape[0], image.shape[1], opts)
    check_stroke_scale(opts.stroke_scale, h, w)  # before the resize and before any work
    photo = fit_rgb(image, opts.max_size, opts.scale)
    if opts.strength == 0:
        copy: NDArray[np.uint8] = photo.copy()  # nothing of the style would survive the blend
        return copy
    # tiles are decided on what the network paints: the photo shrunk (or enlarged) by the stroke scale
    h, w = low_size(photo.shape[0], photo.shape[1], opts.stroke_scale)
    tile = opts.tile
    if tile is None:
        tile = AUTO_TILE if h * w > AUTO_TILE_PIXELS else 0

    def paint(picture: NDArray[np.uint8]) -> NDArray[np.uint8]:
        if not tile or max(h, w) <= tile:
            return stylizer(picture)
        n = count_tiles(h, w, tile)
        with _bar(n, desc, opts.progress if n > 1 else False) as bar:
            return stylize_tiled(picture, stylizer, tile, on_tile=bar.update)

    styled = at_stroke_scale(paint, photo, opts.stroke_scale)
    if opts.preserve_color:
        styled = preserve_color(styled, photo)
    return blend(styled, photo, opts.strength)


def fitted_size(h: int, w: int, opts: Options) -> tuple[int, int]:
    """(h, w) after --max-size/--scale; refused past MAX_PIXELS before the resize, which alone
    would take gigabytes."""
    h, w = fit_size(h, w, opts.max_size, opts.scale)
    if h * w > MAX_PIXELS:
        raise UserError(
            f"the result would be {w}x{h} ({h * w / 1e6:.0f} Mpx), more than {MAX_PIXELS / 1e6:.0f} Mpx; "
            "use a smaller --scale or a --max-size"
        )
    return h, w


def stylize_path(
    stylizer: Callable[[NDArray[np.uint8]], NDArray[np.uint8]],
    in_path: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    opts: Options | None = None,
    data: bytes | None = None,
) -> Path:
    """Stylize one image, animation or video file into `out_path` (written atomically; format
    from its suffix). An animated GIF/WebP/PNG written as a still gets its first frame, and a note.
    `data`: an image file's bytes, where they were read already (batch's Ray engine)."""
    opts = opts or Options()
    in_path = Path(in_path)
    if data is None and is_video(in_path):
        return stylize_video(in_path, out_path, _frame_transform(stylizer, opts), progress=opts.progress)
    if is_animated(in_path, data):
        if Path(out_path).suffix.lower() in ANIMATED_SUFFIXES:
            transform = _frame_transform(stylizer, opts)
            return stylize_animation(in_path, out_path, transform, progress=opts.progress, data=data)
        print(
            f"note: {in_path} has {frame_count(in_path, data)} frames and {Path(out_path).name} holds one: "
            "only the first is stylized (name a .gif, .webp or .png output for all of them)",
            file=sys.stderr,
        )
    # decoded straight at the size asked for: a big photo is reduced while decoding (image_io)
    size = partial(fitted_size, opts=opts)
    if data is None:
        image = load_rgb(in_path, size=size)
    else:
        image = decode_rgb_bytes(data, label=str(in_path), size=size)
    try:
        result = stylize_array(stylizer, image, replace(opts, max_size=None, scale=None), desc=in_path.name)
    except UserError as e:  # "the result would be ... Mpx": say which photo
        raise UserError(f"{in_path}: {e}") from None
    return save_rgb(result, out_path)


def _frame_transform(
    stylizer: Callable[[NDArray[np.uint8]], NDArray[np.uint8]], opts: Options
) -> Callable[[NDArray[np.uint8]], NDArray[np.uint8]]:
    """One video or animation frame -> its result, with --temporal's blend if asked for."""
    # Frames never get a tile bar of their own: the frame bar is the progress.
    frame_opts = replace(opts, progress=False)
    transform: Callable[[NDArray[np.uint8]], NDArray[np.uint8]] = lambda frame: stylize_array(
        stylizer, frame, frame_opts
    )
    if opts.temporal:
        transform = TemporalBlend(transform, opts.temporal)
    return transform
