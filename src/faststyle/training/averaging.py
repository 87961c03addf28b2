"""The running average of the transform net's weights that --ema-decay saves as the model."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch


def ema_update(decay: float) -> Callable[[Sequence[torch.Tensor], Sequence[torch.Tensor], torch.Tensor | int], None]:
    """AveragedModel's update for an exponential moving average whose decay ramps up as
    (1 + n) / (10 + n) until it reaches `decay`: a short run averages its last few steps rather
    than leaning on its starting weights. lerp leaves a weight that did not move (a frozen base
    row) bit-identical."""

    @torch.no_grad()
    def update(averaged: Sequence[torch.Tensor], current: Sequence[torch.Tensor], count: torch.Tensor | int) -> None:
        n = float(count)
        weight = 1.0 - min(decay, (1.0 + n) / (10.0 + n))
        for a, c in zip(averaged, current, strict=True):
            a.lerp_(c, weight)

    return update
