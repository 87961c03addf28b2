"""Strokes S times larger (or smaller) at the same output size, with the photo's own edges kept.

A transform network's strokes have a fixed size in pixels: on a 4000 px photo they are tiny. At
stroke scale S the network runs on the photo shrunk by 1/S, so each stroke covers S times as
many of the photo's pixels, and the result is brought back to full size by a guided
upsampling: a local linear model of the low-resolution result in terms of the low-resolution
photo's luminance (He and Sun's fast guided filter), its coefficients upsampled and applied to
the full-resolution photo, plus the part of the result that the model does not explain (the
painting's own texture), upsampled bicubically. So an edge of the photo stays as sharp as the
photo has it, in the stylized colours, while the strokes are S times as large; shrunk again by S
the result is the network's low-resolution output. S < 1 runs the network on the photo
enlarged by 1/S and shrinks the result, which keeps every detail.

Needs only numpy and pillow: every engine (ONNX Runtime, OpenVINO, PyTorch, the Triton Python
model) gets it from the same code, around its own forward pass.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from faststyle.errors import UserError
from faststyle.image_io import MAX_PIXELS, resize_rgb
from faststyle.net_geometry import MIN_SIZE

MIN_SIDE = MIN_SIZE  # the photo's shorter side after shrinking by 1/S: the net's own minimum
RADIUS = 2  # the guided filter's window at low resolution: (2r + 1)^2 pixels
EPS = 1e-3  # luminance variance (0-1 scale) below which a window counts as flat: ~8 levels RMS
LUMA = np.array([0.299, 0.587, 0.114], np.float32)

Stylize = Callable[[NDArray[np.uint8]], NDArray[np.uint8]]
Floats = NDArray[np.floating[Any]]


def check_stroke_scale(scale: float | str, height: int | None = None, width: int | None = None) -> float:
    """A usable stroke scale for a photo of `height` x `width` (UserError in one line if not)."""
    try:
        value = float(scale)
    except (TypeError, ValueError):
        raise UserError(f"--stroke-scale {scale!r}: expected a number such as 2 (strokes twice as large)") from None
    if not math.isfinite(value) or value <= 0:
        raise UserError(f"--stroke-scale {scale}: must be a finite number above 0 (1 = as trained, 2 = twice as large)")
    if height is None or width is None:
        return value
    h, w = low_size(height, width, value)
    if min(h, w) < MIN_SIDE and value > 1:
        largest = min(height, width) / MIN_SIDE
        raise UserError(
            f"--stroke-scale {scale:g}: a {width}x{height} photo would be painted at {w}x{h} px, below the "
            f"network's {MIN_SIDE} px; the largest stroke scale for it is {math.floor(largest * 10) / 10:g}"
        )
    if h * w > MAX_PIXELS:
        raise UserError(
            f"--stroke-scale {scale:g}: a {width}x{height} photo would be painted at {w}x{h} px "
            f"({h * w / 1e6:.0f} Mpx), more than {MAX_PIXELS / 1e6:.0f} Mpx; use a larger stroke scale"
        )
    return value


def low_size(height: int, width: int, scale: float) -> tuple[int, int]:
    """(h, w) of the photo the network paints at stroke scale `scale`."""
    return max(1, round(height / scale)), max(1, round(width / scale))


def at_stroke_scale(stylize: Stylize, photo: NDArray[np.uint8], scale: float) -> NDArray[np.uint8]:
    """uint8 [H, W, 3] photo -> uint8 [H, W, 3] result whose strokes are `scale` times the net's."""
    height, width = photo.shape[:2]
    scale = check_stroke_scale(scale, height, width)
    size = low_size(height, width, scale)
    if size == (height, width):
        return stylize(photo)
    painted = stylize(resize_rgb(photo, size))
    if scale < 1:  # painted larger than the photo: shrinking loses nothing
        return resize_rgb(painted, (height, width))
    return guided_upsample(painted, photo)


def box(x: Floats, r: int) -> Floats:
    """Mean over a (2r + 1)^2 window, edges by reflection: [h, w, ...] -> the same."""
    pad = [(r, r), (r, r)] + [(0, 0)] * (x.ndim - 2)
    padded = np.pad(x, pad, mode="reflect" if min(x.shape[:2]) > r else "edge").astype(np.float64)
    c = padded.cumsum(0).cumsum(1)
    c = np.pad(c, [(1, 0), (1, 0)] + [(0, 0)] * (x.ndim - 2))
    n = 2 * r + 1
    window: Floats = (c[n:, n:] - c[:-n, n:] - c[n:, :-n] + c[:-n, :-n]) / (n * n)
    return window.astype(np.float32)


def upsample(x: Floats, size: tuple[int, int]) -> Floats:
    """Bicubic resize of a float [h, w, C] array to (H, W), channel by channel (Pillow's 'F' mode)."""
    h, w = size
    planes = [
        np.asarray(Image.fromarray(x[..., c]).resize((w, h), Image.Resampling.BICUBIC)) for c in range(x.shape[2])
    ]
    return np.stack(planes, axis=-1)


def luma(image: NDArray[np.uint8]) -> Floats:
    """uint8 [H, W, 3] -> luminance [H, W, 1] in [0, 1]."""
    return (image.astype(np.float32) @ (LUMA / 255.0))[..., None]


def guided_upsample(low: NDArray[np.uint8], photo: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """The network's uint8 [h, w, 3] output on the shrunk photo -> uint8 [H, W, 3], edges from `photo`."""
    height, width = photo.shape[:2]
    guide = luma(resize_rgb(photo, low.shape[:2]))  # [h, w, 1]: the photo as the net saw it
    target = low.astype(np.float32) / 255.0  # [h, w, 3]
    mean_g, mean_t = box(guide, RADIUS), box(target, RADIUS)
    var_g = box(guide * guide, RADIUS) - mean_g * mean_g
    a: Floats = (box(guide * target, RADIUS) - mean_g * mean_t) / (var_g + EPS)  # [h, w, 3]: per unit of luminance
    b: Floats = mean_t - a * mean_g
    a, b = box(a, RADIUS), box(b, RADIUS)
    rest = target - (a * guide + b)  # the strokes the photo does not explain
    coeffs = upsample(np.concatenate([a, b + rest], axis=-1), (height, width))  # [H, W, 6]
    full = coeffs[..., :3] * luma(photo) + coeffs[..., 3:]
    out: NDArray[np.uint8] = np.clip(np.rint(full * 255.0), 0, 255).astype(np.uint8)
    return out
