"""The signatures an exported graph can have, each a torch module traced by the exporter.

    pixels  uint8 [N, H, W, 3] RGB in and out, any N, H, W; casts, padding to the net's stride
            and cropping back, clamping and rounding inside (the default: an app feeds pixels)
    zoo     float32 [N, 3, H, W] in 0-255, in and out (the ONNX Model Zoo convention)
    net     the bare network: float32 [N, 3, H, W] in 0-1, H and W multiples of 4 and at least 16
            (the caller pads), out the same; no Shape ops, so OpenCV 4.x's DNN module loads it,
            and a multi-style model's style (weights) is fixed at export

pixels and zoo take the style weights [S] as a second input when the model has several styles.
"""

from __future__ import annotations

import torch
from torch import nn

from faststyle.model.transform_net import TransformNet
from faststyle.net_geometry import MIN_SIZE, STRIDE
from faststyle.pixels import net_to_pixels, pixels_to_net

DESCRIPTIONS = {
    "pixels": ("uint8 RGB image batch [N, H, W, 3], any N, H, W", "uint8 RGB stylized batch [N, H, W, 3], same shape"),
    "zoo": ("float32 RGB batch [N, 3, H, W], values 0-255", "float32 RGB stylized batch [N, 3, H, W], values 0-255"),
    "net": (
        f"float32 RGB batch [N, 3, H, W], values 0-1; H and W multiples of {STRIDE}, at least {MIN_SIZE} "
        "(the caller pads)",
        "float32 RGB stylized batch [N, 3, H, W], values 0-1",
    ),
}
# Shapes the export is verified at: odd ones where the graph pads, stride multiples where the caller must.
CHECK_SHAPES = {
    "pixels": ((1, 256, 256), (1, 257, 383), (2, 96, 80)),
    "zoo": ((1, 256, 256), (1, 257, 383), (2, 96, 80)),
    "net": ((1, 256, 256), (1, 260, 384), (2, 96, 80)),
}


class PixelStylizer(nn.Module):
    """uint8 [N, H, W, 3] (+ style weights [S]) -> uint8 [N, H, W, 3]: the whole pipeline, so
    ORT users feed raw pixels."""

    def __init__(self, net: TransformNet):
        super().__init__()
        self.net = net

    def forward(self, image: torch.Tensor, style: torch.Tensor | None = None) -> torch.Tensor:
        return net_to_pixels(self.net(pixels_to_net(image), style))


class ZooStylizer(nn.Module):
    """float32 [N, 3, H, W] in 0-255 (+ style weights [S]) -> the same, clamped (ONNX Model Zoo convention)."""

    def __init__(self, net: TransformNet):
        super().__init__()
        self.net = net

    def forward(self, image: torch.Tensor, style: torch.Tensor | None = None) -> torch.Tensor:
        nhwc = image.permute(0, 2, 3, 1)
        return net_to_pixels(self.net(pixels_to_net(nhwc), style)).permute(0, 3, 1, 2).to(torch.float32)


class BareNet(nn.Module):
    """float32 [N, 3, H, W] in 0-1, H and W multiples of the stride -> the same: TransformNet.core
    with the style weights fixed (a buffer, so they become a constant of the graph)."""

    weights: torch.Tensor

    def __init__(self, net: TransformNet, weights: torch.Tensor):
        super().__init__()
        self.net = net
        self.register_buffer("weights", weights.float())

    def forward(self, image: torch.Tensor, style: torch.Tensor | None = None) -> torch.Tensor:
        return self.net.core(image, self.weights if style is None else style)


def wrap(layout: str, net: TransformNet, weights: torch.Tensor) -> nn.Module:
    if layout == "pixels":
        return PixelStylizer(net)
    if layout == "zoo":
        return ZooStylizer(net)
    return BareNet(net, weights)


def example_input(layout: str, n: int, h: int, w: int, seed: int = 0) -> torch.Tensor:
    """A random batch in the layout's own format."""
    g = torch.Generator().manual_seed(seed)
    pixels = torch.randint(0, 256, (n, h, w, 3), dtype=torch.uint8, generator=g)
    if layout == "pixels":
        return pixels
    nchw = pixels.permute(0, 3, 1, 2).to(torch.float32)
    return nchw if layout == "zoo" else nchw / 255.0


def dynamic_dims(layout: str, n: object | None = None) -> dict[int, object]:
    """torch.export dims of the image input: batch (`n`, shared with a per-image style input),
    height, width (stride multiples for `net`)."""
    n = n or torch.export.Dim("batch")
    if layout == "net":  # H = 4 * h4: the graph then needs no Shape ops to pad or crop
        h = STRIDE * torch.export.Dim("h4", min=MIN_SIZE // STRIDE)
        w = STRIDE * torch.export.Dim("w4", min=MIN_SIZE // STRIDE)
        return {0: n, 2: h, 3: w}
    h, w = torch.export.Dim("height"), torch.export.Dim("width")
    return {0: n, 1: h, 2: w} if layout == "pixels" else {0: n, 2: h, 3: w}
