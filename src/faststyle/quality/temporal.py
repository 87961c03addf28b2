"""How steady is a stylizer when the picture barely changes: synthetic camera motion with known
flow, built from still photos, and sensor-like noise.

    pan     a window sliding 1 px right per frame: frame t+1's content is frame t's, 1 px left
    zoom    a centred crop shrinking 1% per frame (a 1% zoom-in), resampled to the window size
    noise   Gaussian noise of sigma 2 levels added to the photo

Warping error: the mean absolute difference, in uint8 levels, between consecutive outputs after
undoing the known motion (the later output moved back onto the earlier frame), over the region
both frames see. Noise instability: the mean absolute change of the output under the noise.
Both are also given relative to the output's contrast (its pixel standard deviation), so a
model that flattens everything does not look steady for free. The same numbers for the photo
frames themselves (an identity model) are the floor: zero for the pan, the resampling error of
the zoom.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import pairwise
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image

Frames = NDArray[np.uint8]  # [T, H, W, 3]
Stylize = Callable[[NDArray[np.uint8]], NDArray[np.uint8]]  # uint8 [N, H, W, 3] -> the same
ZOOM = 1.01  # per frame
NOISE_SIGMA = 2.0  # levels
METRICS = ("pan", "zoom", "noise")


def pan_frames(photo: NDArray[np.uint8], window: int, frames: int = 8, step: int = 1) -> Frames:
    """`frames` crops of window x window, each `step` px right of the last (photo [H, W, 3])."""
    h, w = photo.shape[:2]
    if h < window or w < window + step * (frames - 1):
        raise ValueError(f"photo {w}x{h} too small for a {window} px pan over {frames} frames")
    y, x = (h - window) // 2, (w - window - step * (frames - 1)) // 2
    return np.stack([photo[y : y + window, x + t * step : x + t * step + window] for t in range(frames)])


def zoom_frames(photo: NDArray[np.uint8], window: int, frames: int = 8, zoom: float = ZOOM) -> Frames:
    """A centred square crop shrinking by `zoom` per frame, each resampled to window x window."""
    image = Image.fromarray(photo)
    h, w = photo.shape[:2]
    side, cx, cy = min(h, w), w / 2, h / 2
    out = []
    for t in range(frames):
        half = side / zoom**t / 2
        box = (cx - half, cy - half, cx + half, cy + half)
        out.append(np.asarray(image.resize((window, window), Image.Resampling.BICUBIC, box=box)))
    return np.stack(out)


def unpan(later: NDArray[np.uint8], step: int = 1) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """Frame t+1 moved back onto frame t's pixels, and where that is known (both see it)."""
    h, w = later.shape[:2]
    back = np.zeros((h, w, 3))
    back[:, step:] = later[:, : w - step]
    valid = np.zeros((h, w), bool)
    valid[:, step:] = True
    return back, valid


def unzoom(later: NDArray[np.uint8], zoom: float = ZOOM) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """Frame t+1 (zoomed in by `zoom`) resampled onto frame t's pixels, and where it covers them.

    A point at distance d from the centre in frame t sits at distance d * zoom in frame t+1, so
    frame t's pixels near the border fall outside frame t+1: those are masked.
    """
    h, w = later.shape[:2]
    cx, cy = w / 2, h / 2
    # PIL's affine maps an output position (x, y) to the input position (a x + b y + c, d x + e y + f)
    matrix = (zoom, 0.0, cx * (1 - zoom), 0.0, zoom, cy * (1 - zoom))
    back = np.asarray(
        Image.fromarray(later).transform((w, h), Image.Transform.AFFINE, matrix, Image.Resampling.BILINEAR),
        dtype=np.float64,
    )
    ys, xs = np.mgrid[0:h, 0:w] + 0.5
    sx, sy = cx + zoom * (xs - cx), cy + zoom * (ys - cy)
    valid = (sx >= 1) & (sx <= w - 1) & (sy >= 1) & (sy <= h - 1)  # one pixel in: no edge blending
    return back, valid


def warping_error(outputs: Frames, undo: Callable[[NDArray[np.uint8]], tuple[Any, Any]]) -> float:
    """Mean |out_t - undo(out_t+1)| over the valid region, averaged over consecutive pairs (levels)."""
    errors = []
    for earlier, later in pairwise(outputs):
        back, valid = undo(later)
        errors.append(float(np.abs(earlier.astype(np.float64) - back)[valid].mean()))
    return float(np.mean(errors))


def noise_instability(stylize: Stylize, photo: NDArray[np.uint8], seed: int = 0) -> float:
    """Mean |stylize(photo + noise) - stylize(photo)| in levels, noise N(0, NOISE_SIGMA) rounded."""
    rng = np.random.default_rng(seed)
    noisy = np.clip(np.rint(photo + rng.normal(0.0, NOISE_SIGMA, photo.shape)), 0, 255).astype(np.uint8)
    clean, shaken = stylize(np.stack([photo, noisy]))
    return float(np.abs(clean.astype(np.float64) - shaken).mean())


def temporal_scores(stylize: Stylize, photo: NDArray[np.uint8], window: int = 256, frames: int = 8) -> dict[str, float]:
    """pan, zoom (warping errors), noise (instability), contrast (output std), each metric's ratio
    to the contrast (`*_rel`), for one photo; the photo must exceed `window` by `frames` px."""
    pans = stylize(pan_frames(photo, window, frames))
    zooms = stylize(zoom_frames(photo, window, frames))
    still = pan_frames(photo, window, 1)[0]
    scores = {
        "pan": warping_error(pans, unpan),
        "zoom": warping_error(zooms, unzoom),
        "noise": noise_instability(stylize, still),
        "contrast": float(pans.astype(np.float64).std()),
    }
    for metric in METRICS:
        scores[f"{metric}_rel"] = scores[metric] / max(scores["contrast"], 1e-6)
    return scores


def fit_photo(photo: NDArray[np.uint8], window: int, frames: int) -> NDArray[np.uint8]:
    """Resize so the shorter side is window + frames px (the pan needs that much room)."""
    h, w = photo.shape[:2]
    scale = (window + frames) / min(h, w)
    size = (max(window + frames, round(w * scale)), max(window + frames, round(h * scale)))
    return np.asarray(Image.fromarray(photo).resize(size, Image.Resampling.LANCZOS))


def temporal_entry(stylize: Stylize, pixels: NDArray[np.uint8], size: int, frames: int) -> dict[str, Any]:
    """evaluate --temporal's scores for one photo: the photo frames' own, and the model's."""
    photo = fit_photo(pixels, size, frames)
    return {
        "photo": temporal_scores(lambda x: x, photo, size, frames),
        "model": temporal_scores(lambda x: np.asarray(stylize(x)), photo, size, frames),
    }
