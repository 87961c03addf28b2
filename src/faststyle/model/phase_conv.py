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

from faststyle.model.adapters import AdaptedConv2d
from faststyle.model.transform_net import ConvNormAct, Styled, StyledSequential, TransformNet


def phased(w: torch.Tensor) -> torch.Tensor:
    """A k x k kernel [C', C, k, k] as the stride-2 kernel of its four output phases, [4C', C, k+1, k+1].

    Phase (a, b) of output channel o is channel o*4 + a*2 + b, as pixel_shuffle reads it: the
    kernel placed at offset (a, b) in the (k+1) x (k+1) window. Built with pads so that a
    kernel computed in the graph (a style's adapted kernel) is phased there too.
    """
    shifted = [F.pad(w, (b, 1 - b, a, 1 - a)) for a in range(2) for b in range(2)]
    return torch.stack(shifted, 1).flatten(0, 1)


class PhaseConv(Styled):
    """Reflect pad + k x k conv (stride 1) on an even-sized map, as a stride-2 conv + pixel_shuffle.

    [N, C, H, W] -> [N, C', H, W], H and W even (the net's maps are multiples of its stride 4).
    A conv with per-style adapters keeps them: its kernel for style weights [S] is computed and
    phased on the fly (in the ONNX graph too); per-image weights [N, S] run it as it was.
    """

    def __init__(self, layer: ConvNormAct):
        super().__init__()
        pad, conv = cast(nn.ReflectionPad2d, layer[0]), cast(AdaptedConv2d, layer[1])
        self.pad = pad.padding
        assert conv.bias is not None  # the net's convs are built with a bias
        self.bias = nn.Parameter(conv.bias.detach().repeat_interleave(4))  # [4C'], phase-major like the kernel
        # A conv with adapters computes its phased kernel per style in forward; only a plain one stores it.
        self.adapted = conv if conv.adapted else None
        self.weight = None if conv.adapted else nn.Parameter(phased(conv.weight.detach()))  # [4C', C, k+1, k+1]
        self.post = StyledSequential(*list(layer)[2:])  # instance norm + ReLU if the layer had them

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        x = F.pad(x, self.pad, mode="reflect")  # [N, C, H+k-1, W+k-1] -> conv -> [N, 4C', H/2, W/2]
        if self.adapted is None:
            assert self.weight is not None
            y = F.conv2d(x, self.weight, self.bias, stride=2)
        elif style.dim() == 1:
            y = F.conv2d(x, phased(self.adapted.kernel(style)), self.bias, stride=2)
        else:  # one style per image: the adapted conv as it was, [N, C', H, W]
            return cast(torch.Tensor, self.post(self.adapted(x, style), style))
        out: torch.Tensor = self.post(F.pixel_shuffle(y, 2), style)
        return out


def inference_net(net: TransformNet) -> TransformNet:
    """A copy of `net` with the final conv in phase form; same outputs, faster on CPU."""
    fast = copy.deepcopy(net).eval()
    fast.decoder[-1] = PhaseConv(cast(ConvNormAct, fast.decoder[-1]))
    return fast
