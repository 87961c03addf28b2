"""The Gram matrix with a backward pass written for it, in the feature map's own memory layout.

Autograd's backward of G = F F^T / k computes dF as two batched matmuls (dG F and dG^T F, one
of them into a transposed layout) and adds them with mismatched strides; on a CPU that strided
add of two [N, C, H*W] tensors cost more than the matmuls (38 ms of a 490 ms bf16 training step
at 128 px, for relu1_2 alone). Here dF = (dG + dG^T) F / k: one matmul on a [C, C] sum.

VGG runs channels-last, where F viewed as [N, H*W, C] is free and F as [N, C, H*W] is a copy;
the Gram is then computed as F_t^T F_t on that view, and its gradient comes back channels-last,
so it adds to the next layer's gradient without another strided pass. Values match
faststyle.loss.statistics.gram_matrix(features, "chw"), the reference definition.

Under bf16-mixed the VGG's taps arrive in bf16. The Gram itself is always taken in float32 (a
bf16 Gram of a 64x64 map loses most of its digits), but the gradient goes back into a bf16
network, so dF is computed as a bf16 matmul (fp32 accumulation inside oneDNN) of the saved bf16
features and the [C, C] sum rounded once: no float32 copy of F is kept for the backward, and no
[N, C, H, W] float32 gradient is made and cast down. On the 2-core AMX Xeon the bf16 training
step ran 1.11-1.14x faster for it at 128 px and 1.11-1.23x at 256 (slim, batch 4; johnson at
256 px 1.13x); the gradient is as close to float32's as before (cosine 0.9966 on a COCO batch).
"""

from __future__ import annotations

from typing import Any

import torch


class _Gram(torch.autograd.Function):
    """flat [N, C, M] (channels_last=False) or [N, M, C] (True) -> G [N, C, C] / divisor."""

    @staticmethod
    def forward(ctx: Any, flat: torch.Tensor, divisor: int, channels_last: bool) -> torch.Tensor:
        ctx.save_for_backward(flat)  # in its own dtype: bf16 taps are kept at half the memory
        ctx.divisor, ctx.channels_last = divisor, channels_last
        full = flat.float() if flat.element_size() < 4 else flat  # bf16/fp16 taps: the Gram in float32
        if channels_last:
            return torch.bmm(full.transpose(1, 2), full) / divisor
        return torch.bmm(full, full.transpose(1, 2)) / divisor

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, None, None]:
        (flat,) = ctx.saved_tensors
        if not ctx.needs_input_grad[0]:
            return None, None, None
        sym = ((grad + grad.transpose(1, 2)) / ctx.divisor).to(flat.dtype)  # [N, C, C]
        return (torch.bmm(flat, sym) if ctx.channels_last else torch.bmm(sym, flat)), None, None


def gram(features: torch.Tensor) -> torch.Tensor:
    """[N, C, H, W] -> [N, C, C], F F^T / (C H W) (Johnson et al.'s normalisation): float32 for
    16-bit features, else in their dtype; the gradient comes back in the features' dtype."""
    n, c, h, w = features.shape
    if c > 1 and features.is_contiguous(memory_format=torch.channels_last):
        flat = features.permute(0, 2, 3, 1).reshape(n, h * w, c)  # a view: [N, M, C]
        out: torch.Tensor = _Gram.apply(flat, c * h * w, True)
    else:
        out = _Gram.apply(features.reshape(n, c, h * w), c * h * w, False)
    return out
