"""Export a model's style predictor as a graph of its own: a painting -> the style embedding the
transform graph takes as its "style" input. An app runs it once per painting and keeps the
embedding for every photo or frame it paints.

    input  "painting": uint8 [N, h, w, 3] RGB, the longer side PREDICTOR_SIDE px
           (faststyle.painting.predictor_pixels sizes it; the graph does not resize)
    output "embedding": float32 [N, R], R the transform graph's style rows

Verified like every export: onnx.checker, then ONNX Runtime against torch on real-sized inputs.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import onnx
import torch
from torch import nn

import faststyle
from faststyle.errors import UserError
from faststyle.image_io import atomic_path
from faststyle.model.style_predictor import StylePredictor
from faststyle.painting import MIN_PREDICTED_SIDE, PREDICTOR_SIDE
from faststyle.pixels import pixels_to_net

OPSET = 18
# the embedding drives every norm's scale and shift; ORT's float32 convolutions sum in another
# order than torch's, which moves it by ~1e-5 of its spread, far below a visible change (the
# transform graph's own check, 1 level, is what a user sees)
TOLERANCE = 1e-3


class PaintingEmbedder(nn.Module):
    """uint8 [N, h, w, 3] painting -> float32 [N, R] embedding."""

    def __init__(self, predictor: StylePredictor):
        super().__init__()
        self.predictor = predictor

    def forward(self, painting: torch.Tensor) -> torch.Tensor:
        return self.predictor(pixels_to_net(painting))  # type: ignore[no-any-return]


def predictor_file(transform_onnx: str | os.PathLike[str]) -> Path:
    """Where the predictor graph of NAME.onnx lives: NAME.predictor.onnx, beside it."""
    path = Path(transform_onnx)
    return path.with_name(f"{path.stem}.predictor.onnx")


def export_predictor(
    predictor: StylePredictor, out: str | os.PathLike[str], model_name: str, verify: bool = True
) -> Path:
    """StylePredictor -> an ONNX file at `out` (written atomically), verified unless told not to."""
    module = PaintingEmbedder(predictor.eval()).eval()
    example = torch.randint(0, 256, (2, PREDICTOR_SIDE, 192, 3), dtype=torch.uint8)
    side = {
        "min": MIN_PREDICTED_SIDE,
        "max": 4 * PREDICTOR_SIDE,
    }  # the longer side is PREDICTOR_SIDE; a thin painting's shorter one small
    dims = {0: torch.export.Dim("batch"), 1: torch.export.Dim("height", **side), 2: torch.export.Dim("width", **side)}
    with torch.no_grad():
        program = torch.onnx.export(
            module,
            (example,),
            input_names=["painting"],
            output_names=["embedding"],
            dynamic_shapes=(dims,),
            opset_version=OPSET,
            dynamo=True,
            optimize=True,
            verbose=False,
        )
    assert program is not None
    proto = program.model_proto
    for value, names in (
        (proto.graph.input[0], ("batch", "height", "width", None)),
        (proto.graph.output[0], ("batch", None)),
    ):
        for dim, name in zip(value.type.tensor_type.shape.dim, names, strict=True):
            if name is not None:
                dim.dim_param = name
    onnx.helper.set_model_props(
        proto,
        {
            "model": model_name,
            "faststyle_version": faststyle.__version__,
            "predictor_side": str(PREDICTOR_SIDE),
            "rows": str(predictor.rows),
            "input": f"painting: uint8 [N, h, w, 3] RGB, longer side {PREDICTOR_SIDE} px",
            "output": f"embedding: float32 [N, {predictor.rows}], the style input of {model_name}.onnx",
            "description": f"faststyle {model_name} style predictor (after Ghiasi et al. 2017): a painting -> "
            f"the {predictor.rows}-number style embedding its transform graph paints with.",
        },
    )
    proto.producer_name, proto.producer_version = "faststyle", faststyle.__version__
    out = Path(out)
    with atomic_path(out) as tmp:
        onnx.save_model(proto, tmp)
        if verify:
            verify_predictor(tmp, module)
    return out


def verify_predictor(path: str | os.PathLike[str], module: nn.Module) -> float:
    """onnx.checker full check + ORT vs torch on a landscape, a portrait and a batch of two;
    returns the worst difference relative to the embedding's spread."""
    import onnxruntime as ort

    onnx.checker.check_model(str(path), full_check=True)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    worst = 0.0
    for i, (n, h, w) in enumerate(((1, 192, PREDICTOR_SIDE), (1, PREDICTOR_SIDE, 171), (2, 160, PREDICTOR_SIDE))):
        painting = torch.randint(0, 256, (n, h, w, 3), dtype=torch.uint8, generator=torch.Generator().manual_seed(i))
        with torch.no_grad():
            ref = module(painting).numpy().astype(np.float64)
        got = session.run(None, {"painting": painting.numpy()})[0].astype(np.float64)
        err = float(np.abs(got - ref).max() / max(float(np.abs(ref).max()), 1e-6))
        worst = max(worst, err)
        if got.shape != ref.shape or err > TOLERANCE:
            raise UserError(f"{path}: the predictor graph differs from torch by {err:.2g} of its range at {n}x{h}x{w}")
    return worst
