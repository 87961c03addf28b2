"""Perceptual loss (content + style + total variation), with self-normalising weights.

Each term is a *relative* error, so the weights mean the same thing for every style image
and every loss network:
    content = |phi(y) - phi(x)|^2 / |phi(x)|^2                   at the content layer
    style   = mean over style layers l of w_l |S(y) - S(s)|^2 / |S(s)|^2  (S = Gram, or mean+std;
              w_l the layer weights, scaled to mean 1)
    tv      = mean |dy/dh| + mean |dy/dw| on the [0, 1] output image
Scaling every VGG activation by k scales numerator and denominator alike (k^2 or k^4),
so training is identical, and the raw Gram magnitudes that differ by orders of magnitude
between style images (the reason other implementations need a per-style weight search)
cancel out. --style-weight is then "how much a relative style error counts against the
same relative content error".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from numpy.typing import NDArray
from torch import nn

from faststyle.image_io import fit_rgb
from faststyle.loss.defaults import (
    CONTENT_LAYER,
    DEFAULT_CONTENT_WEIGHT,
    DEFAULT_STYLE_LAYER_WEIGHTS,
    DEFAULT_STYLE_LOSS,
    DEFAULT_STYLE_SIZE,
    DEFAULT_STYLE_WEIGHT,
    DEFAULT_TV_WEIGHT,
    STYLE_LAYERS,
    STYLE_LOSSES,
)
from faststyle.loss.gram import gram
from faststyle.loss.statistics import mean_std
from faststyle.loss.vgg import VGGFeatures
from faststyle.pixels import array_to_net

RELATIVE_VARIANCE_EPS = 1e-5


def total_variation(y: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference between neighbouring pixels of [N, 3, H, W]."""
    return (y[..., 1:, :] - y[..., :-1, :]).abs().mean() + (y[..., :, 1:] - y[..., :, :-1]).abs().mean()


class PerceptualLoss(nn.Module):
    """Scores a stylized batch against its content photos and one style image."""

    def __init__(
        self,
        features: nn.Sequential,
        content_layer: str = CONTENT_LAYER,
        style_layers: Sequence[str] = STYLE_LAYERS,
        content_weight: float = DEFAULT_CONTENT_WEIGHT,
        style_weight: float = DEFAULT_STYLE_WEIGHT,
        tv_weight: float = DEFAULT_TV_WEIGHT,
        style_loss: str = DEFAULT_STYLE_LOSS,
        vgg_scale: float = 1.0,
        style_layer_weights: Sequence[float] = DEFAULT_STYLE_LAYER_WEIGHTS,
    ):
        super().__init__()
        if style_loss not in STYLE_LOSSES:
            raise ValueError(f"style_loss must be 'gram' or 'meanstd', not {style_loss!r}")
        self.style_layers = tuple(style_layers)
        self.layer_weights = self._scaled(style_layer_weights)
        self.vgg = VGGFeatures(features, [content_layer, *style_layers], scale=vgg_scale)
        self.content_layer = content_layer
        self.weights = {"content": content_weight, "style": style_weight, "tv": tv_weight}
        self.style_loss = style_loss
        self.num_styles = 0  # set_style(s) gives the targets
        self.style_weight_each: torch.Tensor  # [S] buffer: each style's weight, set with the targets
        self.layer_weight_each: torch.Tensor  # [S, L] buffer: each style's layer weights, likewise
        self.counted_layers: list[str] = []

    def statistics(self, feat: torch.Tensor) -> list[torch.Tensor]:
        """[N, C, H, W] -> the style statistics compared between images."""
        if self.style_loss == "gram":
            return [gram(feat)]  # [N, C, C], as gram_matrix(feat, "chw") with a faster backward
        # eps [N, 1]: a fraction of each image's own mean square (in float32, so 16-bit runs
        # cannot round it to 0); the floor only matters for a layer that is all zeros.
        feat = feat.float()
        mean_square = feat.detach().pow(2).mean(dim=(1, 2, 3))
        eps = RELATIVE_VARIANCE_EPS * mean_square.clamp_min(1e-30)[:, None]
        return list(mean_std(feat, eps))  # 2 x [N, C]

    @torch.no_grad()
    def set_style(self, style: torch.Tensor) -> None:
        """Compute the target statistics of one style image [1, 3, h, w] in [0, 1]."""
        self.set_styles([style])

    def _scaled(self, given: Sequence[float]) -> dict[str, float]:
        """Style layer weights scaled to mean 1, so equal weights are the plain mean over layers and
        --style-weight keeps its meaning."""
        given = list(given)
        if len(given) != len(self.style_layers) or min(given) < 0 or not any(given):
            raise ValueError(f"need {len(self.style_layers)} style layer weights >= 0, not all 0: {given}")
        return {n: w * len(given) / sum(given) for n, w in zip(self.style_layers, given, strict=True)}

    @torch.no_grad()
    def set_styles(
        self,
        styles: Iterable[torch.Tensor],
        style_weights: Sequence[float] | None = None,
        layer_weights: Sequence[Sequence[float]] | None = None,
    ) -> None:
        """Targets for several style images (each [1, 3, h, w] in [0, 1], sizes may differ);
        style index s of `forward`'s `style_ids` means styles[s]. `style_weights`: each style's
        own weight of its style term (default: the style weight for all); `layer_weights`: each
        style's own style layer weights (default: the loss's for all).

        `styles` may be a generator: each image's features are reduced to its statistics before
        the next is read, and only the layers some style counts are kept (thousands of paintings:
        their Grams up to relu3_3 take 0.35 MB each)."""
        rows = [self.layer_weights] if layer_weights is None else [self._scaled(w) for w in layer_weights]
        counted = self._layer_table(rows).any(0).tolist()
        layers = [n for n, c in zip(self.style_layers, counted, strict=True) if c]
        stats: dict[str, list[torch.Tensor]] = {}
        count = 0
        for style in styles:
            feats = self.vgg(style, upto=layers[-1])
            for name in layers:
                for i, stat in enumerate(self.statistics(feats[name])):
                    stats.setdefault(f"{name}_{i}", []).append(stat)
            count += 1
        if not count:
            raise ValueError("set_styles needs at least one style image")
        self.set_targets({key: torch.cat(parts) for key, parts in stats.items()}, style_weights, layer_weights)

    @torch.no_grad()
    def set_targets(
        self,
        targets: dict[str, torch.Tensor],
        style_weights: Sequence[float] | None = None,
        layer_weights: Sequence[Sequence[float]] | None = None,
    ) -> None:
        """Targets already computed: {"LAYER_I": statistic i of LAYER for every style, [S, ...]} for the
        counted layers, as `style_targets` returns them (set_styles computes them from images)."""
        count = len(next(iter(targets.values())))
        weights = [self.weights["style"]] * count if style_weights is None else list(style_weights)
        if len(weights) != count:
            raise ValueError(f"{len(weights)} style weights for {count} styles")
        self.register_buffer("style_weight_each", torch.tensor(weights, dtype=torch.float32), persistent=False)
        rows = None if layer_weights is None else [self._scaled(w) for w in layer_weights]
        if rows is not None and len(rows) != count:
            raise ValueError(f"{len(rows)} rows of style layer weights for {count} styles")
        table = self._layer_table(rows or [self.layer_weights] * count)
        self.register_buffer("layer_weight_each", table, persistent=False)  # [S, L]
        # the layers some style counts, decided here: a per-step test would sync a GPU
        self.counted_layers = [n for n, c in zip(self.style_layers, table.any(0).tolist(), strict=True) if c]
        # Non-persistent buffers: they follow the module across devices but stay out of
        # checkpoints, which are rebuilt from the style images instead.
        for key, target in targets.items():  # [S, C, C] or [S, C]
            self.register_buffer(f"target_{key}", target, persistent=False)
            norm = target.pow(2).sum(tuple(range(1, target.ndim))).clamp_min(1e-12)  # [S]
            self.register_buffer(f"target_norm_{key}", norm, persistent=False)
        self.num_styles = count

    def style_targets(self) -> dict[str, torch.Tensor]:
        """The counted layers' targets, as set_targets takes them."""
        n = 1 if self.style_loss == "gram" else 2
        return {f"{name}_{i}": getattr(self, f"target_{name}_{i}") for name in self.counted_layers for i in range(n)}

    def _layer_table(self, rows: Sequence[dict[str, float]]) -> torch.Tensor:
        """Scaled layer weights, one dict per style -> [S, L] in style_layers order."""
        return torch.tensor([[row[n] for n in self.style_layers] for row in rows], dtype=torch.float32)

    def targets(self, name: str) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """(statistic [S, ...], its squared norm [S]) for each statistic of a style layer."""
        n = 1 if self.style_loss == "gram" else 2
        return [(getattr(self, f"target_{name}_{i}"), getattr(self, f"target_norm_{name}_{i}")) for i in range(n)]

    def forward(
        self,
        output: torch.Tensor,
        content: torch.Tensor,
        style_ids: torch.Tensor | None = None,
        per_image: bool = False,
    ) -> dict[str, torch.Tensor]:
        """output, content: [N, 3, H, W] in [0, 1]; style_ids: LongTensor [N], the style each image
        is scored against (default: style 0) -> weighted terms and their sum ("loss"); with
        `per_image`, also "style_each" [N], each image's weighted style term (for per-style logs).

        Under autocast (bf16-mixed) only the VGG convolutions run in 16 bits: the Gram matrices,
        norms, means and the content term are taken in float32 with autocast off, since a 16-bit
        Gram of a 64x64 feature map loses most of its digits (`gram` upcasts the bf16 taps
        itself and returns their gradient in bf16; see faststyle.loss.gram).
        """
        if not self.num_styles:
            raise RuntimeError("call set_style() before computing the loss")
        if style_ids is None:
            style_ids = torch.zeros(len(output), dtype=torch.long, device=output.device)
        with torch.no_grad():
            target = self.vgg(content, upto=self.content_layer)[self.content_layer].float()
        feats = self.vgg(output)  # the taps in the VGG's dtype
        with torch.autocast(output.device.type, enabled=False):
            terms = self._terms(output.float(), feats, target, style_ids)
        if not per_image:
            del terms["style_each"]
        return terms

    def _terms(
        self, output: torch.Tensor, feats: dict[str, torch.Tensor], target: torch.Tensor, style_ids: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        mine, theirs = _flat_alike(feats[self.content_layer].float(), target)
        content_term = F.mse_loss(mine, theirs) / target.pow(2).mean().clamp_min(1e-12)

        each = output.new_zeros(len(output))  # [N]: each image's relative style error
        weights = self.layer_weight_each[style_ids]  # [N, L]
        for j, name in enumerate(self.style_layers):
            if name not in self.counted_layers:
                continue
            for mine, (theirs, norm) in zip(self.statistics(feats[name]), self.targets(name), strict=True):
                dims = tuple(range(1, mine.ndim))
                error = (mine - theirs[style_ids]).pow(2).sum(dims) / norm[style_ids]
                each = each + weights[:, j] * error
        each = self.style_weight_each[style_ids] * each / len(self.style_layers)

        terms = {
            "content": self.weights["content"] * content_term,
            "style": each.mean(),
            "tv": self.weights["tv"] * total_variation(output),
        }
        terms["loss"] = terms["content"] + terms["style"] + terms["tv"]
        terms["style_each"] = each.detach()
        return terms


def _flat_alike(a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Two [N, C, H, W] maps -> 1-D, both in `a`'s memory order: a view of `a`, `b` copied only
    if its layout differs (an ONNX output scored against a channels-last photo's target).

    A mean over a channels-last map back-propagates through an expanded scalar that CPU kernels
    walk element by element; in memory order it is one contiguous stream (content term fwd+bwd
    at relu2_2, batch 4, 128 px: 6.9 -> 2.1 ms on the AMX Xeon)."""
    if a.is_contiguous(memory_format=torch.channels_last):
        return a.permute(0, 2, 3, 1).reshape(-1), b.permute(0, 2, 3, 1).reshape(-1)
    return a.reshape(-1), b.reshape(-1)


def style_tensor(style: NDArray[np.uint8], style_size: int | None = DEFAULT_STYLE_SIZE) -> torch.Tensor:
    """uint8 [H, W, 3] -> [1, 3, h, w] in [0, 1], longer side capped at `style_size` as in training."""
    return array_to_net(fit_rgb(style, max_size=style_size))


def style_loss_for(
    features: nn.Sequential,
    style: NDArray[np.uint8],
    style_size: int | None = DEFAULT_STYLE_SIZE,
    content_weight: float = DEFAULT_CONTENT_WEIGHT,
    style_weight: float = DEFAULT_STYLE_WEIGHT,
    tv_weight: float = DEFAULT_TV_WEIGHT,
    style_loss: str = DEFAULT_STYLE_LOSS,
    content_layer: str = CONTENT_LAYER,
    style_layers: Sequence[str] = STYLE_LAYERS,
    style_layer_weights: Sequence[float] = DEFAULT_STYLE_LAYER_WEIGHTS,
) -> PerceptualLoss:
    """The training objective for one style image (uint8 [H, W, 3]), its targets already set."""
    loss_fn = PerceptualLoss(
        features,
        content_layer,
        style_layers,
        content_weight,
        style_weight,
        tv_weight,
        style_loss,
        style_layer_weights=style_layer_weights,
    )
    loss_fn.set_style(style_tensor(style, style_size).to(next(features.parameters()).device))
    return loss_fn
