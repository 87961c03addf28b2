"""Convolutions a new style can bend: per-style corrections of a shared kernel.

Fine-tuning only a new style's instance-norm scales and shifts over a frozen multi-style base
keeps every other style bit-identical, but it caps what the new style can draw: measured on
Monet (README: time to quality), it stays above what unfreezing the convolutions reaches in
minutes. An adapter gives each added style a correction of its own to every shared kernel that
feeds a norm (full ones to the output conv too), still leaving the base untouched, in one of
two forms:

    full (rank FULL, the default):  W(w) = W + sum_a w[S-A+a] * delta[a] / sqrt(Cin*k*k)
        delta: [A, Cout, Cin*k*k], as many numbers as the shared kernels
    low rank r (as LoRA):           W(w) = W + sum_a w[S-A+a] * up[a] @ down[a] / sqrt(r * Cin*k*k)
        up: [A, Cout, r], down: [A, r, Cin*k*k]

The last A of the net's S styles own one adapter each (the base's styles own none, so a
base without adapters is exactly nn.Conv2d and old checkpoints load unchanged). A style
vector w blends the adapters with the same weights that blend the norm rows; a style whose
adapter weight is zero sees W exactly. `delta` and `up` start at zero, so a new style starts
as its norm rows alone; `down` starts random (unit variance) so `up` gets a gradient. The
fixed 1/sqrt(fan-in) (times 1/sqrt(r)) keeps the trained tensors near unit scale, like the
norm rows they train beside: at the norm rows' learning rate a step moves each kernel entry by
about lr / sqrt(fan-in), 9e-4 at the fine-tune's 3e-2 for a 128-channel 3x3 conv, about the
1e-3 that `--finetune all` gives every weight.

Full is Adam on W itself, kept per style: it learns as `--finetune all` does and keeps the
base's styles bit-identical, for 6.7 MB per style on the johnson-width base. On Monet it
scored 1.299 after 1,251 steps of the 30-minute cosine, against 1.367 for rank 16 (1 MB per
style); correcting the output conv (9x9 to RGB, no norm after it) too, 1.277, near the 1.273
of `--finetune all`, which is what full does by default now. A rank would save nothing on a
conv with 3 outputs, so low-rank adapters leave that conv shared.

In the low-rank form both factors train: with `down` fixed (a random projection, as in
LoRA-FA) a 5-minute Monet fine-tune scored 1.533, against 1.422 with both. With both at the
fine-tune's lr of 3e-2 the two factors of a layer grew together and the loss jumped for good
after 400-600 steps (one layer's correction 24x its kernel by step 1,000); the trainer
therefore gives `down` 1/16 of the rate (--adapter-down-lr), which at rank 16 ran 1,251 steps
without a jump (README: time to quality).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from faststyle.model.archs import FULL

ADAPTER_PARAMS = ("adapter_up", "adapter_down", "adapter_delta")  # an AdaptedConv2d's per-style tensors, [A, ...]


class AdaptedConv2d(nn.Conv2d):
    """nn.Conv2d (padding 0) that may hold corrections (full or low-rank) for the last A styles.

    forward(x, style): style is float weights [S] (one style for the batch) or [N, S] (one per
    image). Two exact forms of the same sum:
      merged (weights [S]): the corrections are added into the kernel, one conv. Training and
        the ONNX graph run this way: 34.9 training steps/min against 27.1 for the other form (a
        fine-tune of the johnson-width base, 2-core AMX Xeon, bf16), and at 512 px OpenVINO
        bf16 274 ms (the base alone 272) against 357, ONNX Runtime fp32 1014 ms against 1164
        (base 874): the other form's small A*r-channel convs are bound by memory traffic.
      beside (weights [N, S]): `down` as a conv to A*r channels, each scaled by its image's
        style weight, then `up` as a 1x1 conv (full: each delta as a conv, scaled and summed),
        added to the shared conv's output.
    Without adapters, or with style None, it is nn.Conv2d.
    """

    adapter_up: nn.Parameter | None
    adapter_down: nn.Parameter | None
    adapter_delta: nn.Parameter | None

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1):
        super().__init__(cin, cout, kernel, stride)
        for name in ADAPTER_PARAMS:
            self.register_parameter(name, None)

    @property
    def adapted(self) -> bool:
        return self.adapter_up is not None or self.adapter_delta is not None

    def add_adapters(self, count: int, rank: int) -> None:
        """Give the last `count` styles an adapter of rank `rank` each (up zero, down random), or
        with rank FULL a whole kernel correction each (zero)."""
        fan_in = self.in_channels * self.kernel_size[0] * self.kernel_size[1]
        if rank == FULL:
            self.adapter_delta = nn.Parameter(torch.zeros(count, self.out_channels, fan_in))
            return
        self.adapter_up = nn.Parameter(torch.zeros(count, self.out_channels, rank))
        self.adapter_down = nn.Parameter(torch.randn(count, rank, fan_in))

    def kernel(self, style: torch.Tensor | None) -> torch.Tensor:
        """The kernel style weights [S] see: W plus the adapted styles' corrections, [Cout, Cin, k, k]."""
        up, down, full = self.adapter_up, self.adapter_down, self.adapter_delta
        if style is None or not self.adapted:
            return self.weight
        if full is not None:  # [A] @ [A, Cout*Cin*k*k]
            count, fan_in = full.shape[0], full.shape[2]
            delta = (style[-count:] / math.sqrt(fan_in)) @ full.reshape(count, -1)
        else:  # [Cout, A*r] @ [A*r, Cin*k*k]
            assert up is not None and down is not None
            count, cout, rank = up.shape
            mix = style[-count:] / math.sqrt(rank * down.shape[2])
            scaled = (up * mix[:, None, None]).transpose(0, 1).reshape(cout, count * rank)
            delta = scaled @ down.reshape(count * rank, -1)
        return self.weight + delta.view_as(self.weight).to(self.weight.dtype)

    def forward(self, x: torch.Tensor, style: torch.Tensor | None = None) -> torch.Tensor:
        if style is None or style.dim() == 1 or not self.adapted:
            merged: torch.Tensor = self._conv_forward(x, self.kernel(style), self.bias)
            return merged
        # one style per image, [N, S]: each adapted style's correction as a conv beside the shared one
        shape = self.weight.shape[1:]
        if self.adapter_delta is not None:
            full = self.adapter_delta  # [A, Cout, Cin*k*k]
            count, cout, fan_in = full.shape
            z = self._conv_forward(x, full.reshape(count * cout, *shape), None)  # [N, A*Cout, H', W']
            mix = style[:, -count:, None, None, None] / math.sqrt(fan_in)
            beside: torch.Tensor = super().forward(x) + (z.unflatten(1, (count, cout)) * mix.to(z.dtype)).sum(1)
            return beside
        up, down = self.adapter_up, self.adapter_down
        assert up is not None and down is not None
        count, cout, rank = up.shape
        mix = style[:, -count:] / math.sqrt(rank * down.shape[2])  # [N, A]: adapted styles' weights
        z = self._conv_forward(x, down.reshape(count * rank, *shape), None)  # [N, A*r, H', W']
        z = z * mix.repeat_interleave(rank, dim=-1).reshape(-1, count * rank, 1, 1).to(z.dtype)
        correction = F.conv2d(z, up.transpose(0, 1).reshape(cout, count * rank, 1, 1).to(z.dtype))
        return super().forward(x) + correction


def adapter_shape(state: dict[str, torch.Tensor]) -> tuple[int, int]:
    """(adapted styles A, rank r or FULL) of a transform net's state dict; (0, 0) when it has no adapters."""
    for key, value in state.items():
        if key.endswith(ADAPTER_PARAMS[0]):
            return int(value.shape[0]), int(value.shape[2])
        if key.endswith(ADAPTER_PARAMS[2]):
            return int(value.shape[0]), FULL
    return 0, 0
