"""Export a trained transform net to one self-contained ONNX file, then prove it is right.

Default signature (an app just feeds pixels):
    input  "image": uint8 [N, H, W, 3] RGB, N/H/W dynamic
    output "stylized": uint8 [N, H, W, 3] RGB
Cast, layout, value scaling, padding to the stride and cropping back, clamping and rounding
all happen inside the graph, traced from `faststyle.pixels` and the net's own forward.
`layout="zoo"` gives the ONNX Model Zoo convention instead: float32 [N, 3, H, W], 0-255.
The graph holds the faster but equivalent form of the net from `faststyle.model.phase_conv`.

Every export is verified: onnx.checker (full check), then ONNX Runtime against the
original torch net within 1 uint8 level at 256x256, 257x383 and a batch of 2.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnx
import torch
from torch import nn

import faststyle
from faststyle.errors import UserError
from faststyle.image_io import atomic_path
from faststyle.model.checkpoint import LoadedModel, load_model
from faststyle.model.phase_conv import inference_net
from faststyle.model.transform_net import TransformNet
from faststyle.pixels import net_to_pixels, pixels_to_net

OPSET = 18
CHECK_SHAPES = ((1, 256, 256), (1, 257, 383), (2, 96, 80))
DESCRIPTIONS = {
    "pixels": ("uint8 RGB image batch [N, H, W, 3], any N, H, W", "uint8 RGB stylized batch [N, H, W, 3], same shape"),
    "zoo": ("float32 RGB batch [N, 3, H, W], values 0-255", "float32 RGB stylized batch [N, 3, H, W], values 0-255"),
}


class PixelStylizer(nn.Module):
    """uint8 [N, H, W, 3] -> uint8 [N, H, W, 3]: the whole pipeline, so ORT users feed raw pixels."""

    def __init__(self, net: TransformNet):
        super().__init__()
        self.net = net

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return net_to_pixels(self.net(pixels_to_net(image)))


class ZooStylizer(nn.Module):
    """float32 [N, 3, H, W] in 0-255 -> the same, clamped (ONNX Model Zoo convention)."""

    def __init__(self, net: TransformNet):
        super().__init__()
        self.net = net

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        nhwc = image.permute(0, 2, 3, 1)
        return net_to_pixels(self.net(pixels_to_net(nhwc))).permute(0, 3, 1, 2).to(torch.float32)


def example_input(layout: str, n: int, h: int, w: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    pixels = torch.randint(0, 256, (n, h, w, 3), dtype=torch.uint8, generator=g)
    return pixels if layout == "pixels" else pixels.permute(0, 3, 1, 2).to(torch.float32)


def export_onnx(
    model: str | os.PathLike[str] | LoadedModel,
    out: str | os.PathLike[str],
    layout: str = "pixels",
    verify: bool = True,
) -> Path:
    """Checkpoint (.ckpt/.pth) or loaded model -> verified ONNX file at `out` (written atomically)."""
    if layout not in DESCRIPTIONS:
        raise UserError(f"layout must be one of {list(DESCRIPTIONS)}, not {layout!r}")
    loaded = model if isinstance(model, LoadedModel) else load_model(model)
    net = loaded.net.eval().to(memory_format=torch.contiguous_format)
    cls = PixelStylizer if layout == "pixels" else ZooStylizer
    wrapper = cls(net).eval()  # the reference the exported graph is checked against
    out = Path(out)

    example = example_input(layout, 1, 64, 96)
    n, h, w = torch.export.Dim("batch"), torch.export.Dim("height"), torch.export.Dim("width")
    dims = {0: n, 1: h, 2: w} if layout == "pixels" else {0: n, 2: h, 3: w}
    with torch.no_grad():
        program = torch.onnx.export(
            cls(inference_net(net)).eval(),
            (example,),
            input_names=["image"],
            output_names=["image_out"],
            dynamic_shapes=({**dims},),
            opset_version=OPSET,
            dynamo=True,
            optimize=True,
            verbose=False,
        )
    assert program is not None  # dynamo=True always returns the ONNXProgram
    proto = program.model_proto
    # ONNX forbids one name for an input and an output; "image" in, "stylized" out.
    _rename_output(proto, "image_out", "stylized")
    inp, outp = DESCRIPTIONS[layout]
    meta = {
        "style": loaded.style,
        "source_checkpoint": Path(loaded.source).name,
        "faststyle_version": faststyle.__version__,
        "arch": net.arch,
        "layout": layout,
        "input": inp,
        "output": outp,
        "description": f"faststyle {loaded.style} stylizer (Johnson et al. 2016, arch {net.arch}). "
        f"Input: {inp}. Output: {outp}.",
    }
    onnx.helper.set_model_props(proto, meta)
    proto.producer_name, proto.producer_version = "faststyle", faststyle.__version__

    with atomic_path(out) as tmp:
        onnx.save_model(proto, tmp)
        if verify:
            verify_onnx(tmp, wrapper, layout)
    return out


def _rename_output(proto: onnx.ModelProto, old: str, new: str) -> None:
    for node in proto.graph.node:
        node.output[:] = [new if o == old else o for o in node.output]
    for o in proto.graph.output:
        if o.name == old:
            o.name = new


def verify_onnx(
    path: str | os.PathLike[str], wrapper: nn.Module, layout: str, shapes: Sequence[tuple[int, int, int]] = CHECK_SHAPES
) -> float:
    """onnx.checker full check + ORT vs torch on several shapes; returns the worst max-abs error."""
    import onnxruntime as ort

    onnx.checker.check_model(str(path), full_check=True)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    worst = 0.0
    for i, (n, h, w) in enumerate(shapes):
        x = example_input(layout, n, h, w, seed=i + 1)
        with torch.no_grad():
            ref = wrapper(x).numpy().astype(np.int32)
        got = session.run(None, {"image": x.numpy()})[0].astype(np.int32)
        if got.shape != ref.shape:
            raise UserError(f"{path}: ONNX output shape {got.shape} != torch {ref.shape} at {n}x{h}x{w}")
        err = float(np.abs(got - ref).max())
        worst = max(worst, err)
        if err > 1:
            raise UserError(f"{path}: ONNX Runtime differs from torch by {err} levels at {n}x{h}x{w}")
    return worst
