"""Convolutions a new style can bend: per-style low-rank corrections of a shared kernel.

Fine-tuning only a new style's instance-norm scales and shifts over a frozen multi-style base
keeps every other style bit-identical, but it caps what the new style can draw: measured on
Monet (README: time to quality), it stays above what unfreezing the convolutions reaches in
minutes. A low-rank adapter (as LoRA does for language models) gives each added style a
correction of its own to every shared kernel, still leaving the base untouched:

    W(w) = W + sum_a w[S-A+a] * up[a] @ down[a] / sqrt(r * Cin*k*k)
    up: [A, Cout, r], down: [A, r, Cin*k*k]

The last A of the net's S styles own one adapter each (the base's styles own none, so a
base without adapters is exactly nn.Conv2d and old checkpoints load unchanged). A style
vector w blends the adapters with the same weights that blend the norm rows; a style whose
adapter weight is zero sees W exactly. `up` starts at zero, so a new style starts as its
norm rows alone; `down` starts random (unit variance) so `up` gets a gradient. The fixed
1/sqrt(r * fan-in) keeps both factors near unit scale, like the norm rows they train beside:
`up` takes the norm rows' learning rate (a step of lr on `up` moves each kernel entry by about
lr / sqrt(fan-in), what lr/30 would on the kernel itself for a 128-channel 3x3 conv), and the
step size does not depend on the rank.

Both factors train: with `down` fixed (a random projection, as in LoRA-FA) a 5-minute Monet
fine-tune scored 1.533, against 1.422 with both, barely better than scales and shifts alone
(1.538). With both at the fine-tune's lr of 3e-2 the two factors of a layer grew together and
the loss jumped for good after 400-600 steps (one layer's correction 24x its kernel by step
1,000); the trainer therefore gives `down` 1/16 of the rate (--adapter-down-lr), which at rank
16 ran 1,251 steps without a jump (README: time to quality).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

ADAPTER_PARAMS = ("adapter_up", "adapter_down")  # an AdaptedConv2d's per-style tensors, [A, ...] each


class AdaptedConv2d(nn.Conv2d):
    """nn.Conv2d (padding 0) that may hold low-rank corrections for the last A styles.

    forward(x, style): style is float weights [S] (one style for the batch) or [N, S] (one per
    image). Two exact forms of the same sum:
      merged (weights [S]): the corrections are added into the kernel, one conv. Training and
        the ONNX graph run this way: 34.9 training steps/min against 27.1 for the other form (a
        fine-tune of the johnson-width base, 2-core AMX Xeon, bf16), and at 512 px OpenVINO
        bf16 274 ms (the base alone 272) against 357, ONNX Runtime fp32 1014 ms against 1164
        (base 874): the other form's small A*r-channel convs are bound by memory traffic.
      beside (weights [N, S]): `down` as a conv to A*r channels, each scaled by its image's
        style weight, then `up` as a 1x1 conv, added to the shared conv's output.
    Without adapters, or with style None, it is nn.Conv2d.
    """

    adapter_up: nn.Parameter | None
    adapter_down: nn.Parameter | None

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1):
        super().__init__(cin, cout, kernel, stride)
        self.register_parameter("adapter_up", None)
        self.register_parameter("adapter_down", None)

    def add_adapters(self, count: int, rank: int) -> None:
        """Give the last `count` styles an adapter of rank `rank` each (up zero, down random)."""
        fan_in = self.in_channels * self.kernel_size[0] * self.kernel_size[1]
        self.adapter_up = nn.Parameter(torch.zeros(count, self.out_channels, rank))
        self.adapter_down = nn.Parameter(torch.randn(count, rank, fan_in))

    def forward(self, x: torch.Tensor, style: torch.Tensor | None = None) -> torch.Tensor:
        up, down = self.adapter_up, self.adapter_down
        if up is None or down is None or style is None:
            return super().forward(x)
        count, cout, rank = up.shape
        mix = style[..., -count:] / math.sqrt(rank * down.shape[2])  # [A] or [N, A]: adapted styles' weights
        if style.dim() == 1:  # [Cout, A*r] @ [A*r, Cin*k*k] -> one kernel
            scaled = (up * mix[:, None, None]).transpose(0, 1).reshape(cout, count * rank)
            delta = (scaled @ down.reshape(count * rank, -1)).view_as(self.weight)
            merged: torch.Tensor = self._conv_forward(x, self.weight + delta.to(self.weight.dtype), self.bias)
            return merged
        z = self._conv_forward(x, down.reshape(count * rank, *self.weight.shape[1:]), None)  # [N, A*r, H', W']
        z = z * mix.repeat_interleave(rank, dim=-1).reshape(-1, count * rank, 1, 1).to(z.dtype)
        correction = F.conv2d(z, up.transpose(0, 1).reshape(cout, count * rank, 1, 1).to(z.dtype))
        return super().forward(x) + correction


def adapter_shape(state: dict[str, torch.Tensor]) -> tuple[int, int]:
    """(adapted styles A, rank r) of a transform net's state dict; (0, 0) when it has no adapters."""
    for key, value in state.items():
        if key.endswith(ADAPTER_PARAMS[0]):
            return int(value.shape[0]), int(value.shape[2])
    return 0, 0
