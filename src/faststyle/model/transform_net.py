"""The image transformation network of Johnson et al. (2016), as a plain nn.Module.

Layout (for arch "johnson", widths 32-64-128):
    9x9 conv 3->32, two stride-2 3x3 convs (->64->128), 5 residual blocks at 1/4 size,
    two (nearest 2x upsample + 3x3 conv) back to full size, 9x9 conv ->3.
Instance norm after every conv but the last (conditional on the style: one scale and shift
per style, so one network holds many styles), reflection padding throughout (no border
artefacts), and a sigmoid on the output so it lands in the [0, 1] range of
`faststyle.pixels` without clipping gradients away.

Any H and W go in and come out unchanged: the input is padded (edge replicate) to a
multiple of the network's stride of 4, and to at least MIN_SIZE so every reflection pad
is valid, then the output is cropped back. The same code runs in the ONNX graph.
"""

from __future__ import annotations

from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

from faststyle.model.adapters import AdaptedConv2d
from faststyle.model.archs import ARCHS, FULL
from faststyle.net_geometry import padded


class CondInstanceNorm(nn.Module):
    """Instance norm whose scale and shift depend on the style (Dumoulin et al. 2017).

    weight, bias: [S, C], one row per style. A style is a weight vector w over the S rows:
    one-hot picks a style, a convex mix blends them (gamma = w @ weight, beta = w @ bias).
    w is [S] (one style for the whole batch) or [N, S] (one per image). With S = 1 and
    w = [1] this computes exactly what nn.InstanceNorm2d(C, affine=True) did, so single-style
    checkpoints from before load as its one row (faststyle.model.checkpoint_format).
    """

    def __init__(self, channels: int, num_styles: int = 1, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(num_styles, channels))
        self.bias = nn.Parameter(torch.zeros(num_styles, channels))

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        gamma, beta = style @ self.weight, style @ self.bias  # [C], or [N, C] for per-image styles
        if style.dim() == 1:  # one style for the batch: the fused op (and ONNX InstanceNormalization)
            return F.instance_norm(x, weight=gamma, bias=beta, eps=self.eps)
        return F.instance_norm(x, eps=self.eps) * gamma[:, :, None, None] + beta[:, :, None, None]


class Styled(nn.Module):
    """A layer whose forward takes the style weights too: forward(x, style)."""


class StyledSequential(nn.Sequential):
    """nn.Sequential that hands the style weights to the layers that use them."""

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        for layer in self:
            styled = isinstance(layer, (Styled, StyledSequential, CondInstanceNorm, AdaptedConv2d))
            x = layer(x, style) if styled else layer(x)
        return x


class ConvNormAct(StyledSequential):
    """Reflection pad + conv (+ conditional instance norm + ReLU unless `act` is False).

    Every conv can hold per-style adapters (faststyle.model.adapters); the output conv (act
    False, no norm after it) only full ones: its 3 output channels leave a rank nothing to save."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, act: bool = True, num_styles: int = 1):
        layers: list[nn.Module] = [nn.ReflectionPad2d(kernel // 2), AdaptedConv2d(cin, cout, kernel, stride)]
        if act:
            layers += [CondInstanceNorm(cout, num_styles), nn.ReLU(inplace=True)]
        super().__init__(*layers)


class ResidualBlock(Styled):
    """Two 3x3 convs with instance norm; identity shortcut (no ReLU after the sum)."""

    def __init__(self, channels: int, num_styles: int = 1):
        super().__init__()
        self.body = StyledSequential(
            ConvNormAct(channels, channels, 3, num_styles=num_styles),
            nn.ReflectionPad2d(1),
            AdaptedConv2d(channels, channels, 3),
            CondInstanceNorm(channels, num_styles),
        )

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        y: torch.Tensor = self.body(x, style)
        return x + y


class Upsample(Styled):
    """Nearest-neighbour 2x then conv: avoids the checkerboard of transposed convs."""

    def __init__(self, cin: int, cout: int, num_styles: int = 1):
        super().__init__()
        self.conv = ConvNormAct(cin, cout, 3, num_styles=num_styles)

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        y: torch.Tensor = self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"), style)
        return y


class TransformNet(nn.Module):
    """[N, 3, H, W] in [0, 1] (+ a style) -> stylized [N, 3, H, W] in (0, 1).

    `num_styles` styles share every convolution; each has its own instance-norm scale and
    shift, and the last `adapted_styles` of them also a rank-`adapter_rank` correction of
    every conv that feeds a norm, and with full adapters of the output conv too (styles added
    over a frozen base). `style` in forward: None
    (the first style), a style index, a LongTensor [N] of indices (one per image), or float
    weights [S] / [N, S] that blend the styles.
    """

    def __init__(
        self,
        arch: str = "johnson",
        num_residual: int = 5,
        num_styles: int = 1,
        adapter_rank: int = 0,
        adapted_styles: int = 0,
    ):
        super().__init__()
        if arch not in ARCHS:
            raise ValueError(f"unknown arch '{arch}'; choose one of {sorted(ARCHS)}")
        if num_styles < 1:
            raise ValueError(f"num_styles must be at least 1, not {num_styles}")
        if not 0 <= adapted_styles <= num_styles or (adapted_styles > 0) != (adapter_rank != 0) or adapter_rank < FULL:
            raise ValueError(f"{adapted_styles} adapted styles of rank {adapter_rank} for {num_styles} styles")
        self.arch, self.num_styles = arch, num_styles
        self.adapter_rank, self.adapted_styles = adapter_rank, adapted_styles
        c1, c2, c3 = ARCHS[arch]
        s = num_styles
        self.encoder = StyledSequential(
            ConvNormAct(3, c1, 9, num_styles=s),
            ConvNormAct(c1, c2, 3, stride=2, num_styles=s),
            ConvNormAct(c2, c3, 3, stride=2, num_styles=s),
        )
        self.residuals = StyledSequential(*[ResidualBlock(c3, s) for _ in range(num_residual)])
        self.decoder = StyledSequential(
            Upsample(c3, c2, s),
            Upsample(c2, c1, s),
            ConvNormAct(c1, 3, 9, act=False),
        )
        if adapted_styles:
            output = cast(ConvNormAct, self.decoder[-1])[1]
            for mod in self.modules():
                if isinstance(mod, AdaptedConv2d) and (mod is not output or adapter_rank == FULL):
                    mod.add_adapters(adapted_styles, adapter_rank)

    def style_weights(self, style: int | torch.Tensor | None, device: torch.device) -> torch.Tensor:
        """Any accepted `style` -> float weights [S] or [N, S]."""
        if style is None:
            style = 0
        if isinstance(style, int):
            if not 0 <= style < self.num_styles:
                raise ValueError(f"style index {style} out of range for {self.num_styles} styles")
            return F.one_hot(torch.tensor(style, device=device), self.num_styles).float()
        if not style.is_floating_point():
            return F.one_hot(style.to(device), self.num_styles).float()  # [N] indices -> [N, S]
        if style.shape[-1] != self.num_styles:
            raise ValueError(f"style weights have {style.shape[-1]} entries for {self.num_styles} styles")
        return style.to(device=device, dtype=torch.float32)

    def forward(self, x: torch.Tensor, style: int | torch.Tensor | None = None) -> torch.Tensor:
        w = self.style_weights(style, x.device)
        h, wd = x.shape[-2:]
        # Pad bottom/right up to a multiple of the stride (and at least MIN_SIZE): [N,3,H',W']
        ph, pw = padded(h) - h, padded(wd) - wd
        y = F.pad(x, (0, pw, 0, ph), mode="replicate")
        return torch.sigmoid(self._logits(y, w)[..., :h, :wd])

    def core(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """The network proper, on an input whose H and W are multiples of STRIDE and at least
        MIN_SIZE, with style weights [S] or [N, S]: [N, 3, H, W] in [0, 1] -> the same."""
        return torch.sigmoid(self._logits(x, weights))

    def _logits(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        y: torch.Tensor = self.decoder(self.residuals(self.encoder(x, weights), weights), weights)
        return y


def count_flops(net: TransformNet, height: int, width: int) -> int:
    """Multiply-adds x2 of the convolutions for one image (what dominates the cost)."""
    flops = 0

    def hook(mod: nn.Conv2d, _inp: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
        nonlocal flops
        k = mod.kernel_size[0] * mod.kernel_size[1] * mod.in_channels // mod.groups
        flops += 2 * k * out.numel()

    handles = [m.register_forward_hook(hook) for m in net.modules() if isinstance(m, nn.Conv2d)]
    try:
        with torch.no_grad():
            net(torch.zeros(1, 3, height, width))
    finally:
        for h in handles:
            h.remove()
    return flops
