"""Gatys et al.'s optimisation-based style transfer: the quality reference and a preview.

It optimises the pixels of one image with the very PerceptualLoss that trains the
feed-forward network (`faststyle.loss.perceptual.style_loss_for`), so its loss values are
directly comparable to a model's.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable

import numpy as np
import torch
from numpy.typing import NDArray

from faststyle.errors import UserError
from faststyle.image_io import fit_size, load_rgb, resize_rgb
from faststyle.loss.defaults import MIN_VGG_SIDE
from faststyle.loss.perceptual import PerceptualLoss
from faststyle.pixels import array_to_net


def resize_longer_side(image: NDArray[np.uint8], size: int | None) -> NDArray[np.uint8]:
    """uint8 [H, W, 3] -> uint8 [h, w, 3] whose longer side is exactly `size` (None: unchanged).

    Unlike a cap, small images are enlarged too, so a step count or a score at "256 px"
    always means the same amount of image.
    """
    if size is None:
        return image
    if size < MIN_VGG_SIDE:
        raise UserError(f"image size {size} is too small; use at least {MIN_VGG_SIDE} px")
    h, w = image.shape[:2]
    return resize_rgb(image, fit_size(h, w, scale=size / max(h, w)))


def load_image(path: str | os.PathLike[str], size: int | None = None) -> torch.Tensor:
    """An image file -> [1, 3, H, W] in [0, 1], its longer side resized to `size` if given."""
    return array_to_net(resize_longer_side(load_rgb(path), size))


def gatys(
    loss_fn: PerceptualLoss,
    content: torch.Tensor,
    steps: int | Iterable[int] = 100,
    method: str = "lbfgs",
    lr: float | None = None,
    progress: Callable[[int, dict[str, float]], None] | None = None,
) -> dict[int, torch.Tensor]:
    """Optimise an image starting from `content` [1, 3, H, W] in [0, 1].

    `steps` is one count or several (e.g. (50, 100)); one run produces a snapshot at each.
    One step is one L-BFGS iteration (the unit papers count), a few loss evaluations each.
    Returns {steps: image [1, 3, H, W] clamped to [0, 1]}.
    """
    wanted = sorted({steps} if isinstance(steps, int) else set(steps))
    if wanted and wanted[0] < 0:
        raise ValueError(f"step counts must not be negative, got {wanted[0]}")
    if method not in ("lbfgs", "adam"):
        raise ValueError(f"method must be 'lbfgs' or 'adam', not {method!r}")
    image = content.detach().clone(memory_format=torch.contiguous_format).requires_grad_(True)
    if method == "lbfgs":
        opt: torch.optim.LBFGS | torch.optim.Adam = torch.optim.LBFGS(
            [image], lr=lr or 1.0, max_iter=1, history_size=50, line_search_fn="strong_wolfe"
        )
    else:
        opt = torch.optim.Adam([image], lr=lr or 0.02)
    last: dict[str, torch.Tensor] = {}

    def closure() -> torch.Tensor:
        opt.zero_grad()
        terms: dict[str, torch.Tensor] = loss_fn(image, content)
        terms["loss"].backward()
        last.update({k: v.detach() for k, v in terms.items()})
        return terms["loss"]

    snapshots: dict[int, torch.Tensor] = {}
    if wanted and wanted[0] == 0:
        snapshots[0] = content.detach().clone()
    for step in range(1, (wanted[-1] if wanted else 0) + 1):
        opt.step(closure)
        if method == "adam":
            with torch.no_grad():
                image.clamp_(0, 1)
        if progress is not None:
            progress(step, {k: float(v) for k, v in last.items()})
        if step in wanted:
            snapshots[step] = image.detach().clamp(0, 1).clone()
    return snapshots
