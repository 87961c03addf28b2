"""The image transformation network of Johnson et al. (2016), as a plain nn.Module.

Layout (for arch "johnson", widths 32-64-128):
    9x9 conv 3->32, two stride-2 3x3 convs (->64->128), 5 residual blocks at 1/4 size,
    two (nearest 2x upsample + 3x3 conv) back to full size, 9x9 conv ->3.
Instance norm after every conv but the last, reflection padding throughout (no border
artefacts), and a sigmoid on the output so it lands in the [0, 1] range of
`faststyle.pixels` without clipping gradients away.

Any H and W go in and come out unchanged: the input is padded (edge replicate) to a
multiple of the network's stride of 4, and to at least MIN_SIZE so every reflection pad
is valid, then the output is cropped back. The same code runs in the ONNX graph.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

# Channel widths of the three stages. "slim" halves Johnson's widths (his instance-norm
# release reported no quality loss at half width); "tiny" halves them again for phones.
ARCHS: dict[str, tuple[int, int, int]] = {
    "johnson": (32, 64, 128),
    "slim": (16, 32, 64),
    "tiny": (8, 16, 32),
}
STRIDE = 4
MIN_SIZE = 16  # at 1/4 size that is 4 px, enough for the 3x3 reflection pads


class ConvNormAct(nn.Sequential):
    """Reflection pad + conv (+ instance norm + ReLU unless `last`)."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, act: bool = True):
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(kernel // 2),
            nn.Conv2d(cin, cout, kernel, stride),
        ]
        if act:
            layers += [nn.InstanceNorm2d(cout, affine=True), nn.ReLU(inplace=True)]
        super().__init__(*layers)


class ResidualBlock(nn.Module):
    """Two 3x3 convs with instance norm; identity shortcut (no ReLU after the sum)."""

    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(
            ConvNormAct(channels, channels, 3),
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3),
            nn.InstanceNorm2d(channels, affine=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y: torch.Tensor = self.body(x)
        return x + y


class Upsample(nn.Module):
    """Nearest-neighbour 2x then conv: avoids the checkerboard of transposed convs."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv = ConvNormAct(cin, cout, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y: torch.Tensor = self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))
        return y


class TransformNet(nn.Module):
    """[N, 3, H, W] in [0, 1] -> stylized [N, 3, H, W] in (0, 1)."""

    def __init__(self, arch: str = "johnson", num_residual: int = 5):
        super().__init__()
        if arch not in ARCHS:
            raise ValueError(f"unknown arch '{arch}'; choose one of {sorted(ARCHS)}")
        self.arch = arch
        c1, c2, c3 = ARCHS[arch]
        self.encoder = nn.Sequential(
            ConvNormAct(3, c1, 9),
            ConvNormAct(c1, c2, 3, stride=2),
            ConvNormAct(c2, c3, 3, stride=2),
        )
        self.residuals = nn.Sequential(*[ResidualBlock(c3) for _ in range(num_residual)])
        self.decoder = nn.Sequential(
            Upsample(c3, c2),
            Upsample(c2, c1),
            ConvNormAct(c1, 3, 9, act=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        # Pad bottom/right up to a multiple of the stride (and at least MIN_SIZE): [N,3,H',W']
        ph = max(MIN_SIZE, (h + STRIDE - 1) // STRIDE * STRIDE) - h
        pw = max(MIN_SIZE, (w + STRIDE - 1) // STRIDE * STRIDE) - w
        y = F.pad(x, (0, pw, 0, ph), mode="replicate")
        y = self.decoder(self.residuals(self.encoder(y)))
        return torch.sigmoid(y[..., :h, :w])


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
