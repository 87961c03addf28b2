"""What `faststyle evaluate` is asked to score, and how: a request, checked before any work.
Torch-free, so the command's --help reads its defaults without loading the scorer."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass

from faststyle.errors import UserError
from faststyle.inference.stroke_scale import check_stroke_scale
from faststyle.loss.defaults import MIN_VGG_SIDE
from faststyle.net_geometry import MIN_SIZE


@dataclass(frozen=True)
class EvaluateRequest:
    """What `evaluate` scores, and how (the `faststyle evaluate` flags take their defaults from here).

    A model holding several styles is scored on `model_style`, by default the one named like
    the style image's file, under the objective it was trained with; `style_size` replaces that
    objective's style size (a model trained at another scale). `temporal` adds
    faststyle.quality.temporal's steadiness scores (a `size` px window panned and zoomed over
    `frames` frames, and noise), for the model and for the photo frames themselves. `video` adds
    the warping error along optical flow over its first `video_frames` frames (at `size` px), per
    frame and with `stylize --temporal`'s blend of `temporal_blend` (faststyle.quality.temporal_video).
    `stroke_scale` runs the model as `stylize --stroke-scale` does.
    """

    model: str | os.PathLike[str]
    content: str | os.PathLike[str]
    style: str | os.PathLike[str]
    size: int = 512
    gatys_steps: Iterable[int] = (50, 100)
    out_dir: str | os.PathLike[str] = "report"
    timing_runs: int = 5
    device: str = "auto"
    vgg_weights: str | None = None
    model_style: str | None = None
    style_size: int | None = None
    temporal: bool = False
    frames: int = 8
    video: str | os.PathLike[str] | None = None
    video_frames: int = 30
    temporal_blend: float = 0.5
    stroke_scale: float = 1.0

    def check(self) -> None:
        """What no request may be, as one-line errors before any work."""
        if self.size < MIN_SIZE:
            raise UserError(f"--size {self.size}: too small; use at least {MIN_SIZE} px")
        if self.style_size is not None and self.style_size < MIN_VGG_SIDE:
            raise UserError(f"--style-size {self.style_size}: too small; use at least {MIN_VGG_SIDE} px")
        if not 0 <= self.temporal_blend < 1:
            raise UserError(f"--temporal-blend {self.temporal_blend}: the previous output's share must be in [0, 1)")
        check_stroke_scale(self.stroke_scale)
