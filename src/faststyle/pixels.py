"""Pixel conventions: the one place that says which values each network sees.

Every path into and out of the transform network goes through these functions:
training batches, the loss network, `stylize` with the torch backend, and the
ONNX graph (which traces them), so the value ranges cannot drift apart.

- Pixels on disk and at the ONNX boundary: uint8 RGB, [N, H, W, 3].
- The transform network: float32 RGB in [0, 1], [N, 3, H, W], in and out.
- The VGG loss network: [0, 1] normalised with ImageNet mean/std (torchvision's convention).
"""

from __future__ import annotations

import numpy as np
import torch
from numpy.typing import NDArray
from torchvision.transforms import v2

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def pixels_to_net(pixels: torch.Tensor) -> torch.Tensor:
    """uint8 (or 0-255 float) [N, H, W, 3] -> float32 [N, 3, H, W] in [0, 1]."""
    return pixels.permute(0, 3, 1, 2).to(torch.float32) / 255.0


def net_to_pixels(x: torch.Tensor) -> torch.Tensor:
    """float [N, 3, H, W], nominally [0, 1] -> uint8 [N, H, W, 3], clamped and rounded."""
    return (x.clamp(0.0, 1.0) * 255.0).round().to(torch.uint8).permute(0, 2, 3, 1)


def array_to_net(image: NDArray[np.uint8]) -> torch.Tensor:
    """One uint8 [H, W, 3] array -> [1, 3, H, W] in [0, 1]."""
    return pixels_to_net(torch.from_numpy(np.array(image, dtype=np.uint8))[None]).contiguous()


def net_to_array(x: torch.Tensor) -> NDArray[np.uint8]:
    """[1, 3, H, W] in [0, 1] -> one uint8 [H, W, 3] array."""
    return net_to_pixels(x.detach().cpu())[0].numpy()


def vgg_normalize(x: torch.Tensor) -> torch.Tensor:
    """[N, 3, H, W] in [0, 1] -> the normalised input torchvision's VGG-16 expects."""
    mean = x.new_tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = x.new_tensor(IMAGENET_STD).view(1, 3, 1, 1)
    return (x - mean) / std


def train_transform(image_size: int) -> v2.Transform:
    """PIL photo -> [3, S, S] in [0, 1]: the training preset (random crop + flip).

    scale=(0.25, 1) keeps most crops large enough that objects stay objects; the
    paper resized whole COCO images to 256, which this reduces to at scale 1.
    """
    return v2.Compose(
        [
            v2.ToImage(),
            v2.RandomResizedCrop(image_size, scale=(0.25, 1.0), antialias=True),
            v2.RandomHorizontalFlip(),
            v2.ToDtype(torch.float32, scale=True),
        ]
    )


def eval_transform(image_size: int) -> v2.Transform:
    """PIL photo -> [3, S, S] in [0, 1]: deterministic centre crop for held-out previews."""
    return v2.Compose(
        [
            v2.ToImage(),
            v2.Resize(image_size, antialias=True),
            v2.CenterCrop(image_size),
            v2.ToDtype(torch.float32, scale=True),
        ]
    )
