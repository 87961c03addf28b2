"""How the style predictor sees a painting, without torch: training, the ONNX predictor graph's
callers (the runtime, the page) and `stylize --style-image` all shrink or enlarge it the same way.

The predictor reads a painting with its longer side at PREDICTOR_SIDE px, whatever its size: its
statistics (channel means and spreads of VGG features) then describe the same amount of painting
in training and in use. Resizing happens here, in PIL's Lanczos filter, not inside the graph:
ONNX Resize's antialiasing differs from torch's by up to 0.3 of the range.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from faststyle.image_io import fit_size, resize_rgb

PREDICTOR_SIDE = 256


def predictor_pixels(painting: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """uint8 [H, W, 3] -> uint8 [h, w, 3] whose longer side is exactly PREDICTOR_SIDE."""
    h, w = painting.shape[:2]
    return resize_rgb(painting, fit_size(h, w, scale=PREDICTOR_SIDE / max(h, w)))
