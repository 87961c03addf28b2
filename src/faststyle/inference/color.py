"""Post-processing that mixes the photo back in: keep its colours, or dial the style down.

Both work on uint8 RGB arrays of one shape [H, W, 3] and need only numpy and pillow.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from PIL import Image


def preserve_color(stylized: NDArray[np.uint8], original: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """Luminance from the stylized image, chroma from the photo -> uint8 [H, W, 3] RGB.

    The style's brush strokes and texture live mostly in luminance; taking Cb/Cr from the
    photo keeps its colours (Gatys et al. 2016, "Preserving color in neural artistic style
    transfer"). Pillow's YCbCr is the full-range BT.601 (JPEG) transform.
    """
    if stylized.shape != original.shape:
        raise ValueError(f"preserve_color needs equal shapes, got {stylized.shape} and {original.shape}")
    y, _, _ = Image.fromarray(stylized, "RGB").convert("YCbCr").split()
    _, cb, cr = Image.fromarray(original, "RGB").convert("YCbCr").split()
    return np.asarray(Image.merge("YCbCr", (y, cb, cr)).convert("RGB"))


def blend(stylized: NDArray[np.uint8], original: NDArray[np.uint8], strength: float) -> NDArray[np.uint8]:
    """Linear mix: strength 1 is the stylized image, 0 the photo, 0.5 halfway -> uint8 [H, W, 3]."""
    if not 0.0 <= strength <= 1.0:
        raise ValueError(f"strength must be between 0 and 1, got {strength}")
    if stylized.shape != original.shape:
        raise ValueError(f"blend needs equal shapes, got {stylized.shape} and {original.shape}")
    if strength == 1.0:
        return stylized
    if strength == 0.0:
        copy: NDArray[np.uint8] = original.copy()  # numpy's hints give copy() as Any
        return copy
    mixed = original.astype(np.float32) + strength * (stylized.astype(np.float32) - original)
    return np.clip(np.rint(mixed), 0, 255).astype(np.uint8)
