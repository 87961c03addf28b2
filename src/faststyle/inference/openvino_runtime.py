"""Run an exported faststyle ONNX file with OpenVINO on the CPU, in float32 or bfloat16.

OpenVINO reads the ONNX file itself (no conversion step). On CPUs with AMX or AVX512-BF16 it
runs in bfloat16 by default, which is several times faster and a few levels different from
float32; `precision="fp32"` asks for float32 exactness. Torch-free, like faststyle.runtime:
needs the `openvino` package (pip install "faststyle-transfer[openvino]").
"""

from __future__ import annotations

import os
import tempfile
import threading
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from faststyle.blend import StyleSpec, check_weights, style_weights, to_rows
from faststyle.cpu import cpu_has_bf16
from faststyle.errors import ModelError, UserError
from faststyle.export.metadata import (
    check_inputs,
    metadata_of,
    proto_inputs,
    read_proto,
    style_names,
    style_rows,
    without_style_default,
)
from faststyle.inference.stylizer import check_pixels, no_images

PRECISIONS = {"fp32": "f32", "bf16": "bf16"}


class OpenVinoStylizer:
    """uint8 [H, W, 3] or [N, H, W, 3] -> stylized uint8 of the same shape, with OpenVINO."""

    backend = "openvino"
    layout = "pixels"  # the page-and-app layout; zoo-layout files run on ONNX Runtime

    def __init__(
        self,
        path: str | os.PathLike[str],
        precision: str = "fp32",
        threads: int | None = None,
        style: StyleSpec = None,
    ):
        try:
            import openvino as ov
        except ImportError:
            raise UserError("OpenVINO is not installed (pip install 'faststyle-transfer[openvino]')") from None
        if precision not in PRECISIONS:
            raise UserError(f"OpenVINO runs fp32 or bf16, not {precision}")
        if precision == "bf16" and not cpu_has_bf16():
            raise UserError("--precision bf16: this CPU has no native bf16 (amx_bf16 or avx512_bf16)")
        self.path, self.precision = Path(path), precision
        proto = read_proto(self.path)
        self.metadata = metadata_of(proto)
        if "style" not in self.metadata or self.metadata.get("layout", "pixels") != "pixels":
            raise ModelError(f"{self.path}: not a faststyle pixels-layout model (export it with `faststyle export`)")
        self.styles = style_names(self.metadata, self.path)
        self.rows = style_rows(self.metadata, self.path)
        inputs = proto_inputs(proto)
        self._input = check_inputs(self.path, self.layout, inputs, self.rows)
        weights, label = style_weights(style, self.styles)
        weights = to_rows(weights, self.rows)
        self.style = self.metadata["style"] if len(self.styles) == 1 else label
        self.hparams: dict[str, Any] = {}
        proto, _ = without_style_default(proto)
        self._feeds: dict[str, NDArray[np.float32]] = {"style": weights} if "style" in inputs else {}
        config: dict[str, Any] = {"INFERENCE_PRECISION_HINT": PRECISIONS[precision]}
        if threads:
            config["INFERENCE_NUM_THREADS"] = threads
        core = ov.Core()
        try:
            with tempfile.TemporaryDirectory(prefix="faststyle-ov-") as tmp:
                onnx_path = Path(tmp) / "model.onnx"
                onnx_path.write_bytes(proto.SerializeToString())
                self._compiled = core.compile_model(core.read_model(str(onnx_path)), "CPU", config)
        except RuntimeError as e:
            raise ModelError(f"{self.path}: OpenVINO cannot compile it ({str(e).splitlines()[0][:160]})") from None
        # An infer request holds one call's buffers: shared between threads, calls collided
        # ("Infer Request is busy") or returned another thread's picture. Each thread gets its own.
        self._local = threading.local()

    def _request(self) -> Any:
        request = getattr(self._local, "request", None)
        if request is None:
            request = self._local.request = self._compiled.create_infer_request()
        return request

    def __repr__(self) -> str:
        return f"OpenVinoStylizer({str(self.path)!r}, style={self.style!r}, precision={self.precision!r})"

    def __call__(self, image: NDArray[np.uint8], weights: NDArray[np.float32] | None = None) -> NDArray[np.uint8]:
        batch = check_pixels(image)
        chosen = check_weights(weights, self.styles, self.rows)  # checked even where one style leaves nothing to choose
        feeds = self._feeds if chosen is None or not self._feeds else {"style": chosen}
        if not len(batch):
            return no_images(image)  # OpenVINO refuses a batch of 0 rather than return one
        request = self._request()
        request.infer({self._input: batch, **feeds})
        out: NDArray[np.uint8] = request.get_output_tensor(0).data.copy()
        return out[0] if np.ndim(image) == 3 else out
