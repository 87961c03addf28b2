"""How much of a photo's detail a stylization keeps: a structure distance in the manner of LPIPS.

At relu1_2, relu2_2 and relu3_3 of VGG-16, each position's channel vector is scaled to unit
length (so only the *pattern* of activations counts, not their strength, which the style
changes freely), the squared differences between output and photo are summed over channels,
averaged over positions, then over the three layers. 0 means the same structure; two unrelated
images score around 1. It sees what the loss and the Gram similarity cannot: faces, lettering
and small objects smeared into strokes raise it.
"""

from __future__ import annotations

import torch
from torch import nn

from faststyle.loss.vgg import VGGFeatures

STRUCTURE_LAYERS = ("relu1_2", "relu2_2", "relu3_3")


def unit_channels(feat: torch.Tensor, eps: float = 1e-10) -> torch.Tensor:
    """[N, C, H, W] -> the same with every position's C-vector scaled to unit length."""
    return feat / feat.pow(2).sum(dim=1, keepdim=True).add(eps).sqrt()


class StructureDistance(nn.Module):
    """images, photos: [N, 3, H, W] in [0, 1] -> [N] distances."""

    def __init__(self, features: nn.Sequential):
        super().__init__()
        self.taps = VGGFeatures(features, STRUCTURE_LAYERS)

    @torch.no_grad()
    def forward(self, images: torch.Tensor, photos: torch.Tensor) -> torch.Tensor:
        a, b = self.taps(images), self.taps(photos)
        per_layer = [
            (unit_channels(a[n]) - unit_channels(b[n])).pow(2).sum(1).mean(dim=(1, 2)) for n in STRUCTURE_LAYERS
        ]
        return torch.stack(per_layer).mean(0)
