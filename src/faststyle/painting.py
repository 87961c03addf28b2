"""How the style predictor sees a painting, without torch: training, the ONNX predictor graph's
callers (the runtime, the page) and `stylize --style-image` all shrink or enlarge it the same way.

The predictor reads a painting with its longer side at PREDICTOR_SIDE px, whatever its size: its
statistics (channel means and spreads of VGG features) then describe the same amount of painting
in training and in use. Resizing happens here, in Pillow's Lanczos filter, not inside the graph:
ONNX Resize's antialiasing differs from torch's by up to 0.3 of the range. It is done one axis at
a time, the width first, so that the pixels are the same whatever Pillow's version (Pillow 13
picks the order of its two passes itself) and the web page can reproduce them bit for bit
(faststyle/web/static/painting.js).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from faststyle.image_io import fit_size

PREDICTOR_SIDE = 256
# Below the first, a painting holds too little of its strokes for the statistics the predictor
# reads; below the second its shorter side, once the longer is PREDICTOR_SIDE, is too thin for
# the predictor graph (whose VGG pools it twice)
MIN_PAINTING_SIDE = 32
MIN_PREDICTED_SIDE = 16


def predictor_pixels(painting: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """uint8 [H, W, 3] -> uint8 [h, w, 3] whose longer side is exactly PREDICTOR_SIDE."""
    h, w = painting.shape[:2]
    out_h, out_w = fit_size(h, w, scale=PREDICTOR_SIDE / max(h, w))
    image = Image.fromarray(painting)
    if out_w != w:  # one pass along the rows ...
        image = image.resize((out_w, h), Image.Resampling.LANCZOS)
    if out_h != h:  # ... then one along the columns, each rounded to 8 bits
        image = image.resize((out_w, out_h), Image.Resampling.LANCZOS)
    return np.asarray(image)
