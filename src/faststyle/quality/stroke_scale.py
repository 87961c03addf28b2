"""At which size of the painting does an output copy its strokes: the stroke scale, measured.

A transform network paints strokes of a fixed size in pixels. Compare an output's Gram matrices
with the painting's taken at several longer sides L: where the similarity peaks is the L at which
the painting's strokes are as large, in pixels, as the output's. That peak is the output's
stroke scale. Two models compared at one L only differ in "style" when they share their peak;
otherwise a mismatch of scale reads as less style. The painting is never enlarged, so sides
above its own collapse to it.

The output's Gram matrices are taken once; each side costs one pass of the painting through VGG,
once per evaluation, not per photo.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import torch
from numpy.typing import NDArray

from faststyle.loss.perceptual import style_tensor
from faststyle.loss.statistics import gram_matrix, style_similarity
from faststyle.loss.vgg import VGGFeatures

# Longer sides of the painting, a factor sqrt(2) apart: from the 256 px every figure used to be
# taken at, to 1024 px (a painting's own size, or more, for most of ours).
SIDES = (256, 362, 512, 724, 1024)


def sides_for(painting_side: int, sides: Sequence[int] = SIDES) -> list[int]:
    """The sides at which a painting of longer side `painting_side` can be taken (never enlarged):
    those below it, and its own side if it is smaller than the largest asked for."""
    kept = sorted({s for s in sides if s < painting_side})
    if painting_side <= max(sides):
        kept.append(painting_side)
    return kept


def peak_side(similarity: Mapping[int, float]) -> float:
    """The side where a similarity curve {side: similarity} peaks, refined between the sampled
    sides by a parabola through the best one and its neighbours in log2(side). A peak at the
    first or last side is that side: the true one may lie beyond the sampled range."""
    sides = sorted(similarity)
    best = max(range(len(sides)), key=lambda i: similarity[sides[i]])
    if best in (0, len(sides) - 1):
        return float(sides[best])
    x = [math.log2(sides[best + d]) for d in (-1, 0, 1)]
    y = [similarity[sides[best + d]] for d in (-1, 0, 1)]
    # vertex of the parabola through the three points
    den = (x[0] - x[1]) * (x[0] - x[2]) * (x[1] - x[2])
    a = (x[2] * (y[1] - y[0]) + x[1] * (y[0] - y[2]) + x[0] * (y[2] - y[1])) / den
    b = (x[2] ** 2 * (y[0] - y[1]) + x[1] ** 2 * (y[2] - y[0]) + x[0] ** 2 * (y[1] - y[2])) / den
    if a >= 0:  # not a maximum (flat or noisy): the best sample
        return float(sides[best])
    vertex = min(max(-b / (2 * a), x[0]), x[2])
    return float(2**vertex)


class ScaleSweep:
    """Similarity of an image [1, 3, H, W] in [0, 1] to one painting at each of several sides."""

    def __init__(self, taps: VGGFeatures, painting: NDArray[np.uint8], sides: Sequence[int] = SIDES):
        self.taps = taps
        self.sides = sides_for(max(painting.shape[:2]), sides)
        device = next(taps.parameters()).device
        self.grams: dict[int, dict[str, torch.Tensor]] = {}
        with torch.no_grad():
            for side in self.sides:
                feats = taps(style_tensor(painting, side).to(device))
                self.grams[side] = {name: gram_matrix(f) for name, f in feats.items()}  # [1, C, C] each

    @torch.no_grad()
    def __call__(self, image: torch.Tensor) -> dict[int, float]:
        """{side: mean Gram cosine over the taps' layers} for one image."""
        return self.of_grams({name: gram_matrix(f) for name, f in self.taps(image).items()})

    def of_grams(self, grams: Mapping[str, torch.Tensor]) -> dict[int, float]:
        """The same from an image's Gram matrices [1, C, C] at the taps' layers, already taken."""
        return {
            side: float(np.mean([float(style_similarity(grams[n], target[n])[0]) for n in grams]))
            for side, target in self.grams.items()
        }


def mean_curve(curves: Sequence[Mapping[int | str, float]]) -> dict[int, float]:
    """The mean of several {side: similarity} curves (keys may have become strings in JSON)."""
    sides = sorted(int(s) for s in curves[0])
    return {s: float(np.mean([c[s] if s in c else c[str(s)] for c in curves])) for s in sides}
