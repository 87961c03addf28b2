"""Gatys et al.'s optimisation-based style transfer: the quality reference and a preview.

It optimises the pixels of one image with the very PerceptualLoss that trains the
feed-forward network, so its loss values are directly comparable to a model's. The helpers
above `gatys` prepare images and that loss exactly as training does, for the `optimize`
and `evaluate` commands.
"""

from __future__ import annotations

import os
from typing import Callable, Iterable, Sequence

import numpy as np
import torch
from torch import nn

from faststyle.errors import UserError
from faststyle.image_io import fit_rgb, fit_size, load_rgb, resize_rgb
from faststyle.pixels import array_to_net
from faststyle.loss.perceptual import (CONTENT_LAYER, DEFAULT_CONTENT_WEIGHT, DEFAULT_STYLE_LOSS, DEFAULT_STYLE_SIZE,
                              DEFAULT_STYLE_WEIGHT, DEFAULT_TV_WEIGHT, STYLE_LAYERS, PerceptualLoss)


def pick_device(name: str = "auto") -> torch.device:
    """'auto' (the GPU if there is one) or a torch device string -> a device; UserError if unusable."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
        torch.empty(0, device=device)  # fails now if the device is absent or not built in
    except (RuntimeError, AssertionError) as e:
        raise UserError(f"--device {name}: not usable here ({str(e).splitlines()[0] if str(e) else type(e).__name__})") from None
    return device


def resize_longer_side(image: np.ndarray, size: int | None) -> np.ndarray:
    """uint8 [H, W, 3] -> uint8 [h, w, 3] whose longer side is exactly `size` (None: unchanged).

    Unlike a cap, small images are enlarged too, so a step count or a score at "256 px"
    always means the same amount of image.
    """
    if size is None:
        return image
    if size < 16:
        raise UserError(f"image size {size} is too small; use at least 16 px")
    h, w = image.shape[:2]
    return resize_rgb(image, fit_size(h, w, scale=size / max(h, w)))


def load_image(path: str | os.PathLike, size: int | None = None) -> torch.Tensor:
    """An image file -> [1, 3, H, W] in [0, 1], its longer side resized to `size` if given."""
    return array_to_net(resize_longer_side(load_rgb(path), size))


def style_loss_for(
    features: nn.Sequential,
    style: np.ndarray,
    style_size: int | None = DEFAULT_STYLE_SIZE,
    content_weight: float = DEFAULT_CONTENT_WEIGHT,
    style_weight: float = DEFAULT_STYLE_WEIGHT,
    tv_weight: float = DEFAULT_TV_WEIGHT,
    style_loss: str = DEFAULT_STYLE_LOSS,
    content_layer: str = CONTENT_LAYER,
    style_layers: Sequence[str] = STYLE_LAYERS,
) -> PerceptualLoss:
    """The training objective for one style image (uint8 [H, W, 3]), its targets already set."""
    loss_fn = PerceptualLoss(features, content_layer, style_layers, content_weight, style_weight,
                             tv_weight, style_loss)
    loss_fn.set_style(style_tensor(style, style_size).to(next(features.parameters()).device))
    return loss_fn


def style_tensor(style: np.ndarray, style_size: int | None = DEFAULT_STYLE_SIZE) -> torch.Tensor:
    """uint8 [H, W, 3] -> [1, 3, h, w] in [0, 1], longer side capped at `style_size` as in training."""
    return array_to_net(fit_rgb(style, max_size=style_size))


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
        opt = torch.optim.LBFGS([image], lr=lr or 1.0, max_iter=1, history_size=50,
                                line_search_fn="strong_wolfe")
    else:
        opt = torch.optim.Adam([image], lr=lr or 0.02)
    last: dict[str, torch.Tensor] = {}

    def closure() -> torch.Tensor:
        opt.zero_grad()
        terms = loss_fn(image, content)
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
