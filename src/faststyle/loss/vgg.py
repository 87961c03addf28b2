"""The frozen VGG-16 loss network: weights loading and layer taps.

Weights come from, in order: an explicit path, the FASTSTYLE_VGG_WEIGHTS environment
variable, or torchvision's VGG16_Weights.IMAGENET1K_V1 (downloaded once by torchvision
on a machine with internet). A path holds a state dict for `torchvision.models.vgg16().features`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import torch
from torch import nn
from torchvision.models import VGG16_Weights, vgg16

from faststyle.errors import UserError
from faststyle.pixels import vgg_normalize

# Index of each ReLU in torchvision's vgg16().features.
LAYERS: dict[str, int] = {
    "relu1_1": 1,
    "relu1_2": 3,
    "relu2_1": 6,
    "relu2_2": 8,
    "relu3_1": 11,
    "relu3_2": 13,
    "relu3_3": 15,
    "relu4_1": 18,
    "relu4_2": 20,
    "relu4_3": 22,
    "relu5_1": 25,
    "relu5_2": 27,
    "relu5_3": 29,
}
ENV_VAR = "FASTSTYLE_VGG_WEIGHTS"


def resolve_weights(path: str | os.PathLike[str] | None = None) -> str | None:
    """The weights file to use, or None for torchvision's own download."""
    path = path or os.environ.get(ENV_VAR) or None
    if path is None:
        return None
    if not Path(path).is_file():
        raise UserError(f"VGG-16 weights not found at '{path}' (set --vgg-weights or ${ENV_VAR} to a .pth file)")
    return str(Path(path).resolve())  # absolute: subprocesses (DDP ranks) and resumes may run elsewhere


def load_vgg16_features(path: str | os.PathLike[str] | None = None) -> nn.Sequential:
    """torchvision's vgg16().features with ImageNet weights, frozen and in eval mode."""
    path = resolve_weights(path)
    if path is None:
        try:  # torchvision downloads once into its cache (~/.cache/torch/hub/checkpoints)
            features: nn.Sequential = vgg16(weights=VGG16_Weights.IMAGENET1K_V1).features
        except Exception as e:
            raise UserError(
                f"cannot get torchvision's VGG-16 weights ({type(e).__name__}: {e}); "
                f"without internet pass --vgg-weights PATH or set ${ENV_VAR}"
            ) from None
    else:
        # Build on the meta device: skips initialising the 120M-parameter classifier we drop.
        with torch.device("meta"):
            features = vgg16().features
        features = features.to_empty(device="cpu")
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
            features.load_state_dict(state)
        except Exception as e:
            raise UserError(f"'{path}' is not a VGG-16 features state dict ({type(e).__name__})") from None
    return features.eval().requires_grad_(False)


class VGGFeatures(nn.Module):
    """Taps named ReLU outputs of a VGG-16 `features` stack; input in [0, 1].

    Only the layers up to the deepest tap are kept, so no compute is wasted above it.
    A scale factor multiplies every tap; it exists so tests can check that the loss
    weighting is invariant to the loss network's activation scale.
    """

    def __init__(self, features: nn.Sequential, layers: Iterable[str], scale: float = 1.0):
        super().__init__()
        unknown = set(layers) - set(LAYERS)
        if unknown:
            raise ValueError(f"unknown VGG layers {sorted(unknown)}; choose from {list(LAYERS)}")
        self.taps = {LAYERS[name]: name for name in layers}
        self.body = features[: max(self.taps) + 1]
        # inplace ReLUs would overwrite taps we return; use out-of-place ones.
        for i, mod in enumerate(self.body):
            if isinstance(mod, nn.ReLU):
                self.body[i] = nn.ReLU(inplace=False)
        self.scale = scale
        self.eval().requires_grad_(False)

    def train(self, mode: bool = True) -> VGGFeatures:
        return super().train(False)  # always frozen in eval mode

    def forward(self, x: torch.Tensor, upto: str | None = None) -> dict[str, torch.Tensor]:
        """[N, 3, H, W] in [0, 1] -> {layer name: [N, C, h, w]}; stops after `upto` if given."""
        stop = LAYERS[upto] if upto else max(self.taps)
        out: dict[str, torch.Tensor] = {}
        x = vgg_normalize(x)
        for i, mod in enumerate(self.body):
            x = mod(x)
            if i in self.taps:
                out[self.taps[i]] = x * self.scale if self.scale != 1.0 else x
            if i >= stop:
                break
        return out
