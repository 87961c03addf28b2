"""A stability term for training: the net should commute with small camera motions and shrug off
sensor noise (Gupta et al. 2017; the single-image form of Wang et al. 2020 needs no video).

    T       a random small affine warp of the photo: shift, rotation and zoom
    loss    mean over the region T keeps in view of (net(T(x) + noise) - T(net(x)))^2,
            in uint8 levels squared / 100 (an RMS difference of 10 levels scores 1)

A net that is exactly translation-equivariant scores 0 on an integer shift without noise.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

LEVELS = 255.0
SCALE = 100.0  # levels^2: a 10-level RMS change counts 1


@dataclass(frozen=True)
class Perturbation:
    """The largest warp and noise the term samples from (uniform in each range)."""

    shift_px: float = 2.0
    rotate_deg: float = 1.0
    zoom: float = 0.01
    noise_levels: float = 2.0  # Gaussian sigma, uint8 levels
    margin_px: int = 4  # also ignored at the border: padding makes any conv net differ there


def random_affine(n: int, height: int, width: int, p: Perturbation, generator: torch.Generator | None) -> torch.Tensor:
    """[N, 2, 3] affine matrices in affine_grid's normalised coordinates (align_corners=False)."""

    def uniform(limit: float) -> torch.Tensor:
        return (torch.rand(n, generator=generator) * 2 - 1) * limit

    angle = uniform(math.radians(p.rotate_deg))
    scale = 1 + uniform(p.zoom)
    # normalised coordinates span 2 over the side: a shift of s px is 2 s / side
    tx, ty = uniform(p.shift_px) * 2 / width, uniform(p.shift_px) * 2 / height
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    aspect = height / width  # rotation in pixels, not in the stretched normalised square
    return torch.stack(
        [torch.stack([cos, -sin * aspect, tx], 1), torch.stack([sin / aspect, cos, ty], 1)], 1
    )  # [N, 2, 3]


def warp(images: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """images [N, C, H, W] resampled by theta [N, 2, 3] (bilinear; outside the frame: 0)."""
    grid = F.affine_grid(theta.to(images.dtype), list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def valid_region(theta: torch.Tensor, height: int, width: int, margin: int) -> torch.Tensor:
    """[N, 1, H, W] 1 where the warp samples fully inside the frame, at least `margin` px in."""
    ones = torch.ones(theta.shape[0], 1, height, width)
    if margin:
        ones[:, :, :margin] = ones[:, :, -margin:] = 0
        ones[:, :, :, :margin] = ones[:, :, :, -margin:] = 0
    inside = warp(ones, theta.float()) > 0.999
    if margin:
        inside[:, :, :margin] = inside[:, :, -margin:] = False
        inside[:, :, :, :margin] = inside[:, :, :, -margin:] = False
    return inside.float()


def stability_loss(
    net: Callable[[torch.Tensor], torch.Tensor],
    content: torch.Tensor,
    styled: torch.Tensor,
    perturbation: Perturbation = Perturbation(),
    generator: torch.Generator | None = None,
    theta: torch.Tensor | None = None,
) -> torch.Tensor:
    """content [N, 3, H, W] in [0, 1] and styled = net(content) -> the scalar stability term.

    `theta` fixes the warp (tests); otherwise one is drawn per image from `perturbation`.
    """
    n, _, h, w = content.shape
    if theta is None:
        theta = random_affine(n, h, w, perturbation, generator)
    theta = theta.to(content.device)
    moved = warp(content, theta)
    if perturbation.noise_levels:
        noise = torch.randn(moved.shape, generator=generator).to(moved.device) * (perturbation.noise_levels / LEVELS)
        moved = (moved + noise).clamp(0, 1)
    expected = warp(styled.float(), theta)  # T(net(x)): gradients flow through both branches
    got = net(moved.to(content.dtype)).float()
    mask = valid_region(theta.cpu(), h, w, perturbation.margin_px).to(content.device)
    squared = ((got - expected) * LEVELS) ** 2 * mask
    return squared.sum() / (mask.sum() * got.shape[1]).clamp(min=1) / SCALE
