"""An exact re-parameterisation of a trained TransformNet that runs faster at inference.

Profiling ONNX Runtime on CPU showed the final 9x9 conv (C -> 3 channels at full
resolution) taking about a quarter of the whole net's time for under a tenth of its FLOPs:
with only 3 outputs, the convolution kernel is bound by loading its 81*C input taps per
pixel, not by multiply-adds. Computing the four output phases (2i+a, 2j+b) at once as one
stride-2 conv with 4*3 outputs and a 10x10 kernel (each phase's 9x9 kernel placed at offset
(a, b)) loads each input tap a quarter as often; pixel_shuffle interleaves the phases
back. Same arithmetic, so outputs match the original net to float rounding
(tests/test_export.py); `faststyle export` puts this form in the ONNX graph.

The same trick for the two nearest-upsample + 3x3 convs was measured too and not kept:
those convs already ran at the residual blocks' efficiency, and the extra pixel_shuffle
cost more than the smaller pad saved.
"""

from __future__ import annotations

import copy
from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

from faststyle.model.transform_net import ConvNormAct, TransformNet


class PhaseConv(nn.Module):
    """Reflect pad + k x k conv (stride 1) on an even-sized map, as a stride-2 conv + pixel_shuffle.

    [N, C, H, W] -> [N, C', H, W], H and W even (the net's maps are multiples of its stride 4).
    """

    def __init__(self, layer: ConvNormAct):
        super().__init__()
        pad, conv = cast(nn.ReflectionPad2d, layer[0]), cast(nn.Conv2d, layer[1])
        w = conv.weight.detach()  # [C', C, k, k]
        cout, cin, k, _ = w.shape
        # phase (a, b) of output channel o is channel o*4 + a*2 + b, as pixel_shuffle reads it
        phased = torch.zeros(cout, 2, 2, cin, k + 1, k + 1, dtype=w.dtype)
        for a in range(2):
            for b in range(2):
                phased[:, a, b, :, a : a + k, b : b + k] = w
        self.pad = pad.padding
        self.conv = nn.Conv2d(cin, 4 * cout, k + 1, stride=2)
        assert conv.bias is not None and self.conv.bias is not None  # both convs are built with a bias
        with torch.no_grad():
            self.conv.weight.copy_(phased.reshape(4 * cout, cin, k + 1, k + 1))
            self.conv.bias.copy_(conv.bias.detach().repeat_interleave(4))
        self.post = nn.Sequential(*list(layer)[2:])  # instance norm + ReLU if the layer had them

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.pad(x, self.pad, mode="reflect")  # [N, C, H+k-1, W+k-1] -> conv -> [N, 4C', H/2, W/2]
        y: torch.Tensor = self.post(F.pixel_shuffle(self.conv(x), 2))
        return y


def inference_net(net: TransformNet) -> TransformNet:
    """A copy of `net` with the final conv in phase form; same outputs, faster on CPU."""
    fast = copy.deepcopy(net).eval()
    fast.decoder[-1] = PhaseConv(cast(ConvNormAct, fast.decoder[-1]))
    return fast
