"""Stylize an image too large for one pass in overlapping tiles, blended without seams.

Each tile is a `tile` x `tile` square (smaller only where the image is smaller); neighbours
overlap by at least `overlap` pixels (default tile // 4), and inside an overlap the two
tiles are cross-faded with raised-cosine weights that sum to one, so no edge is visible.

Memory stays bounded: we accumulate one strip of tile rows at a time (float32
[<= 2 * tile, W, 3] plus a [<= 2 * tile, W] weight map), writing finished rows into the
uint8 output, so a 48 Mpx photo needs the output itself plus ~2 * tile * W * 16 bytes.

Caveat: the transform net uses instance norm, whose per-channel mean and variance are
taken over whatever it is shown. A tile sees different statistics than the whole
image, so tiled output drifts slightly from untiled (a few uint8 levels on average with
tile 256 on a photo; see tests/test_stylize.py). Larger tiles and overlaps reduce it.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

MIN_TILE = 32  # smaller tiles leave the net's 1/4-resolution stage only a few pixels


def tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Start offsets of tiles covering [0, length), evenly spaced, each overlap >= `overlap`."""
    if length <= tile:
        return [0]
    n = math.ceil((length - overlap) / (tile - overlap))
    return [round(i * (length - tile) / (n - 1)) for i in range(n)]


def _ramp(n: int) -> NDArray[np.float32]:
    """Raised-cosine rise over n pixels, strictly inside (0, 1); ramp + ramp[::-1] == 1."""
    return (0.5 - 0.5 * np.cos(np.pi * (np.arange(n) + 0.5) / n)).astype(np.float32)


def axis_weights(starts: list[int], size: int, length: int) -> list[NDArray[np.float32]]:
    """One weight vector per tile along an axis: rise over the overlap with the previous
    tile, fall over the overlap with the next, 1 elsewhere (image borders are not faded)."""
    out = []
    for i, s in enumerate(starts):
        n = min(size, length - s)
        w = np.ones(n, np.float32)
        if i > 0:
            rise = starts[i - 1] + size - s  # pixels shared with the previous tile
            w[:rise] = _ramp(rise)
        if i + 1 < len(starts):
            fall = s + n - starts[i + 1]  # pixels shared with the next tile
            w[n - fall :] = np.minimum(w[n - fall :], _ramp(fall)[::-1])
        out.append(w)
    return out


def count_tiles(height: int, width: int, tile: int, overlap: int | None = None) -> int:
    overlap = tile // 4 if overlap is None else overlap
    return len(tile_starts(height, tile, overlap)) * len(tile_starts(width, tile, overlap))


def stylize_tiled(
    image: NDArray[np.uint8],
    fn: Callable[[NDArray[np.uint8]], NDArray[np.uint8]],
    tile: int,
    overlap: int | None = None,
    on_tile: Callable[[], object] | None = None,
) -> NDArray[np.uint8]:
    """Apply `fn` (uint8 [h, w, 3] -> uint8 [h, w, 3]) to `image` (uint8 [H, W, 3]) tile by tile.

    Returns uint8 [H, W, 3]. `on_tile` is called after every tile (for a progress bar).
    """
    if tile < MIN_TILE:
        raise ValueError(f"tile must be at least {MIN_TILE} pixels, got {tile}")
    overlap = tile // 4 if overlap is None else overlap
    if not 0 <= overlap <= tile // 2:
        raise ValueError(f"overlap must be between 0 and tile/2 ({tile // 2}), got {overlap}")
    H, W = image.shape[:2]
    ys, xs = tile_starts(H, tile, overlap), tile_starts(W, tile, overlap)
    wy, wx = axis_weights(ys, tile, H), axis_weights(xs, tile, W)

    out = np.empty((H, W, 3), np.uint8)
    lo = 0  # first image row held in the strip buffers
    acc = np.zeros((0, W, 3), np.float32)  # weighted sum of tile outputs, rows [lo, lo + len)
    wsum = np.zeros((0, W), np.float32)  # sum of weights, same rows
    for r, y0 in enumerate(ys):
        y1 = min(y0 + tile, H)
        grow = y1 - lo - acc.shape[0]
        if grow > 0:
            acc = np.concatenate([acc, np.zeros((grow, W, 3), np.float32)])
            wsum = np.concatenate([wsum, np.zeros((grow, W), np.float32)])
        for c, x0 in enumerate(xs):
            x1 = min(x0 + tile, W)
            styled = fn(image[y0:y1, x0:x1])  # uint8 [th, tw, 3]
            if styled.shape != (y1 - y0, x1 - x0, 3):
                raise ValueError(f"tile function returned shape {styled.shape}, expected {(y1 - y0, x1 - x0, 3)}")
            w = wy[r][:, None] * wx[c][None, :]  # [th, tw]
            acc[y0 - lo : y1 - lo, x0:x1] += styled * w[..., None]
            wsum[y0 - lo : y1 - lo, x0:x1] += w
            if on_tile is not None:
                on_tile()
        # Rows above the next strip's first row get no more tiles: finish and drop them.
        done = ys[r + 1] if r + 1 < len(ys) else H
        k = done - lo
        out[lo:done] = np.clip(np.rint(acc[:k] / wsum[:k, :, None]), 0, 255).astype(np.uint8)
        acc, wsum, lo = acc[k:].copy(), wsum[k:].copy(), done
    return out
