"""Style statistics, exactly as the literature defines them, for torch tensors and numpy arrays.

For a feature map F with C channels and M = H*W positions (F reshaped to [C, M]),
the Gram matrix is G = F F^T / M (normalize="hw", the default), F F^T / (C*M)
(normalize="chw", Johnson et al.'s choice), or F F^T (normalize=None).

Gatys' style loss 1/(4 C^2 M^2) * sum((G - A)^2) on unnormalised Grams equals
1/(4 C^2) * MMD^2 between the two sets of M feature columns under the kernel
k(x, y) = (x^T y)^2 (Li et al. 2017), since sum_ij (x_i^T y_j)^2 = trace(G A).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, TypeVar

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:  # only for the hints: this module does not import torch
    import torch

Normalize = Literal["hw", "chw", None]
# torch.Tensor or np.ndarray: every function returns the kind it got
# (a numpy result that is one value comes as a numpy scalar, which acts as a 0-d array)
Array = TypeVar("Array", "torch.Tensor", "NDArray[np.floating[Any]]")


def gram_matrix(features: Array, normalize: Normalize = "hw") -> Array:
    """[C, H, W] -> [C, C], or [N, C, H, W] -> [N, C, C]."""
    if features.ndim not in (3, 4):
        raise ValueError(f"expected a [C, H, W] or [N, C, H, W] feature map, got shape {tuple(features.shape)}")
    *lead, c, h, w = features.shape
    flat = features.reshape(*lead, c, h * w)  # [(N,) C, M]
    if isinstance(features, np.ndarray):
        g = flat @ np.swapaxes(flat, -1, -2)
    else:
        g = flat @ flat.transpose(-1, -2)
    if normalize == "hw":
        g = g / (h * w)
    elif normalize == "chw":
        g = g / (c * h * w)
    elif normalize is not None:
        raise ValueError(f"normalize must be 'hw', 'chw' or None, not {normalize!r}")
    return g


def style_similarity(g1: Array, g2: Array) -> Array:
    """Cosine similarity of two Gram matrices: sum(G1*G2) / (|G1| |G2|), in [0, 1] for Grams.

    Batched [N, C, C] inputs give one value per item.
    """
    dims = (-2, -1)
    if isinstance(g1, np.ndarray):
        sim: Array = (g1 * g2).sum(axis=dims) / (np.linalg.norm(g1, axis=dims) * np.linalg.norm(g2, axis=dims))
        return sim
    sim = (g1 * g2).sum(dim=dims) / (g1.flatten(-2).norm(dim=-1) * g2.flatten(-2).norm(dim=-1))
    return sim


def mean_std(features: Array, eps: float | Array = 1e-5) -> tuple[Array, Array]:
    """Per-channel mean and standard deviation (AdaIN's statistics): [.., C, H, W] -> two [.., C].

    std = sqrt(population variance + eps); eps keeps sqrt's gradient finite for a constant
    channel, and may be an array that broadcasts against [.., C] (e.g. one value per image).
    """
    if isinstance(features, np.ndarray):
        return features.mean(axis=(-2, -1)), np.sqrt(features.var(axis=(-2, -1)) + eps)
    return features.mean(dim=(-2, -1)), (features.var(dim=(-2, -1), unbiased=False) + eps).sqrt()


def gatys_style_loss(f: Array, a: Array) -> Array:
    """Gatys et al.'s layer loss 1/(4 C^2 M^2) sum((G - A)^2) for two [C, H, W] feature maps."""
    c, h, w = f.shape
    diff = gram_matrix(f, None) - gram_matrix(a, None)
    loss: Array = (diff**2).sum() / (4 * c**2 * (h * w) ** 2)
    return loss


def mmd2_poly2(x: Array, y: Array) -> Array:
    """Biased MMD^2 between the columns of x [C, M] and y [C, M] under k(u, v) = (u^T v)^2."""

    def k(a: Array, b: Array) -> Array:
        t = a.swapaxes(0, 1)  # the same method (a transpose) on np.ndarray and torch.Tensor
        mean: Array = ((t @ b) ** 2).mean()
        return mean

    mmd2: Array = k(x, x) + k(y, y) - 2 * k(x, y)
    return mmd2
