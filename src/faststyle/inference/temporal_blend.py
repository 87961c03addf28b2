"""`stylize clip.mp4 --temporal`: per-frame stylization, steadied by the previous output.

For each frame after the first, OpenCV's DIS optical flow (at the output's size) says where each
pixel was in the previous frame; the previous *output* is warped along it and mixed into this
frame's stylization where the flow is reliable:

    out_t = (1 - a m) stylize(frame_t) + a m warp(out_t-1)

with a = `blend` and m in [0, 1] the product of two checks: a forward-backward check (a pixel
that the backward flow sends to the previous frame and the forward flow brings back within
`tolerance` px) and a brightness check (the photo there looked the same, within about
`brightness` levels). Occluded and badly matched pixels fall to 0, and so does a cut to another
scene, even where both flows are near zero over flat areas: those pixels show this frame's
stylization alone, and the old scene does not ghost. Needs `pip install "faststyle-transfer[video]"`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from faststyle.errors import UserError

Transform = Callable[[NDArray[np.uint8]], NDArray[np.uint8]]


def require_opencv() -> Any:
    """cv2, or a one-line UserError saying how to get it."""
    try:
        import cv2
    except ImportError:
        raise UserError('--temporal needs OpenCV for optical flow: pip install "faststyle-transfer[video]"') from None
    return cv2


class TemporalBlend:
    """A stateful frame transform: `transform` (the per-frame stylizer) steadied along the flow."""

    def __init__(self, transform: Transform, blend: float = 0.5, tolerance: float = 1.0, brightness: float = 12.0):
        if not 0 <= blend < 1:
            raise UserError(f"temporal blend must be in [0, 1), got {blend}")
        self.cv2 = require_opencv()
        self.transform, self.blend, self.tolerance, self.brightness = transform, blend, tolerance, brightness
        self.flow = self.cv2.DISOpticalFlow_create(self.cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
        self.previous: tuple[NDArray[np.uint8], NDArray[np.float32]] | None = None  # (gray, output)

    def __call__(self, frame: NDArray[np.uint8]) -> NDArray[np.uint8]:
        styled = self.transform(frame)
        h, w = styled.shape[:2]
        cv2 = self.cv2
        small = frame if frame.shape[:2] == (h, w) else cv2.resize(frame, (w, h), interpolation=cv2.INTER_AREA)
        gray = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)
        out = styled.astype(np.float32)
        if self.previous is not None and self.previous[0].shape == gray.shape:
            before, previous_out = self.previous
            warped, weight = self._follow(before, gray, previous_out)
            mix = (self.blend * weight)[..., None]  # [H, W, 1]
            out = (1 - mix) * out + mix * warped
        self.previous = (gray, out)
        return np.clip(np.rint(out), 0, 255).astype(np.uint8)

    def _follow(
        self, before: NDArray[np.uint8], now: NDArray[np.uint8], previous_out: NDArray[np.float32]
    ) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
        """The previous output moved onto this frame, and how far to trust it per pixel [H, W]."""
        cv2 = self.cv2
        x, y, mismatch, inside, _ = flow_back(self.flow, before, now)
        warped = cv2.remap(previous_out, x, y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        seen = cv2.remap(before.astype(np.float32), x, y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        changed = (now.astype(np.float32) - seen) / self.brightness  # a cut: the photo is not what it was
        weight = np.exp(-((mismatch / self.tolerance) ** 2) - changed**2) * inside
        return warped, weight.astype(np.float32)


def flow_back(
    dis: Any, before: NDArray[np.uint8], now: NDArray[np.uint8]
) -> tuple[NDArray[np.float32], NDArray[np.float32], NDArray[np.float32], NDArray[np.bool_], NDArray[np.float32]]:
    """Where each pixel of `now` was in `before` (grey [H, W] frames, DIS flow both ways).

    Returns the source positions x, y [H, W] (for cv2.remap), the forward-backward mismatch in
    px (0 where following the flow back and then forward returns to the pixel; large where it
    is occluded or badly matched), whether the source lies inside `before`, and how far each
    pixel moved (the backward flow's length, px).
    """
    import cv2

    back = dis.calc(now, before, None)  # [H, W, 2]
    forward = dis.calc(before, now, None)
    h, w = now.shape
    grid = np.stack(np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32)), -1)
    where = grid + back
    x, y = where[..., 0], where[..., 1]
    returned = cv2.remap(forward, x, y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    mismatch = np.linalg.norm(back + returned, axis=-1)
    inside = (x >= 0) & (x <= w - 1) & (y >= 0) & (y <= h - 1)
    return x, y, mismatch, inside, np.linalg.norm(back, axis=-1)
