"""Style statistics, exactly as the literature defines them, for torch tensors and numpy arrays.

For a feature map F with C channels and M = H*W positions (F reshaped to [C, M]),
the Gram matrix is G = F F^T / M (normalize="hw", the default), F F^T / (C*M)
(normalize="chw", Johnson et al.'s choice), or F F^T (normalize=None).

Gatys' style loss 1/(4 C^2 M^2) * sum((G - A)^2) on unnormalised Grams equals
1/(4 C^2) * MMD^2 between the two sets of M feature columns under the kernel
k(x, y) = (x^T y)^2 (Li et al. 2017), since sum_ij (x_i^T y_j)^2 = trace(G A).
"""

from __future__ import annotations

from typing import Literal, TypeVar

import numpy as np

Normalize = Literal["hw", "chw", None]
Array = TypeVar("Array")  # torch.Tensor or np.ndarray: every function returns the kind it got


def _is_numpy(x) -> bool:
    return isinstance(x, np.ndarray)


def gram_matrix(features: Array, normalize: Normalize = "hw") -> Array:
    """[C, H, W] -> [C, C], or [N, C, H, W] -> [N, C, C]."""
    if features.ndim not in (3, 4):
        raise ValueError(f"expected a [C, H, W] or [N, C, H, W] feature map, got shape {tuple(features.shape)}")
    *lead, c, h, w = features.shape
    flat = features.reshape(*lead, c, h * w)  # [(N,) C, M]
    if _is_numpy(features):
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
    if _is_numpy(g1):
        return (g1 * g2).sum(axis=dims) / (np.linalg.norm(g1, axis=dims) * np.linalg.norm(g2, axis=dims))
    return (g1 * g2).sum(dim=dims) / (g1.flatten(-2).norm(dim=-1) * g2.flatten(-2).norm(dim=-1))


def mean_std(features: Array, eps: float | Array = 1e-5) -> tuple[Array, Array]:
    """Per-channel mean and standard deviation (AdaIN's statistics): [.., C, H, W] -> two [.., C].

    std = sqrt(population variance + eps); eps keeps sqrt's gradient finite for a constant
    channel, and may be an array that broadcasts against [.., C] (e.g. one value per image).
    """
    if _is_numpy(features):
        return features.mean(axis=(-2, -1)), np.sqrt(features.var(axis=(-2, -1)) + eps)
    return features.mean(dim=(-2, -1)), (features.var(dim=(-2, -1), unbiased=False) + eps).sqrt()


def gatys_style_loss(f: Array, a: Array) -> Array:
    """Gatys et al.'s layer loss 1/(4 C^2 M^2) sum((G - A)^2) for two [C, H, W] feature maps."""
    c, h, w = f.shape
    diff = gram_matrix(f, None) - gram_matrix(a, None)
    return (diff**2).sum() / (4 * c**2 * (h * w) ** 2)


def mmd2_poly2(x: Array, y: Array) -> Array:
    """Biased MMD^2 between the columns of x [C, M] and y [C, M] under k(u, v) = (u^T v)^2."""

    def k(a, b):
        t = np.swapaxes(a, 0, 1) if _is_numpy(a) else a.transpose(0, 1)
        return ((t @ b) ** 2).mean()

    return k(x, x) + k(y, y) - 2 * k(x, y)
