"""Run an exported faststyle ONNX model with ONNX Runtime: numpy in, numpy out, no torch.

    from faststyle.inference.onnx_runtime import OrtStylizer
    stylizer = OrtStylizer("export/starry_night.onnx")
    out = stylizer(photo)            # uint8 [H, W, 3] -> uint8 [H, W, 3]
    stylizer.stylize_file("photo.jpg", "photo_starry_night.jpg")

The file must be one written by `faststyle.export.onnx_export.export_onnx`: its metadata names the
style and the tensor layout ("pixels": uint8 [N, H, W, 3] in and out; "zoo": float32
[N, 3, H, W] in 0-255; "net": float32 [N, 3, H, W] in 0-1, padded here to the net's stride).
Anything else is refused with a one-line ModelError. Apps use faststyle.runtime.Stylizer, which
runs the same file on the fastest correct engine.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from faststyle.blend import StyleSpec, check_weights, style_weights, to_rows
from faststyle.errors import ModelError, UserError
from faststyle.export.metadata import LAYOUTS, Dims, check_inputs, style_names, style_rows
from faststyle.image_io import load_rgb, save_rgb
from faststyle.inference.stylizer import check_pixels, no_images, ort_providers
from faststyle.net_geometry import padded


def _ort_reason(e: Exception) -> str:
    """The useful tail of an ORT load error ('... failed:Protobuf parsing failed.')."""
    text = " ".join(str(e).split()) or type(e).__name__
    reason = text.split("failed:", 1)[-1].strip()
    if reason.startswith("/") and ") " in reason:  # a C++ source location and signature come first
        reason = reason.rsplit(") ", 1)[-1]
    return reason[:200]


def _dtype(ort_type: str) -> str:
    """ONNX Runtime's 'tensor(float)' -> numpy's 'float32', the name `check_inputs` compares."""
    name = ort_type.removeprefix("tensor(").removesuffix(")")
    return {"float": "float32", "double": "float64", "float16": "float16"}.get(name, name)


class OrtStylizer:
    """One faststyle ONNX model in an ONNX Runtime session; call it on uint8 RGB images
    (the `faststyle.inference.stylizer.Stylizer` contract)."""

    backend = "ort"

    def __init__(
        self,
        path: str | os.PathLike[str],
        threads: int | None = None,
        providers: list[str] | None = None,
        style: StyleSpec = None,
    ):
        """`style` picks or blends the styles of a multi-style model: a name, "a=0.7,b=0.3" or
        {name: weight}; None means the model's first (or only) style."""
        import onnxruntime as ort

        self.path = Path(path)
        self.precision = "int8" if self.path.name.endswith(".int8.onnx") else "fp32"
        if not self.path.is_file():
            raise ModelError(f"{self.path}: no such model file")
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        options.log_severity_level = 3  # ORT's warnings are about graph internals, not the user's input
        try:
            self.session = ort.InferenceSession(str(self.path), options, providers=providers or ort_providers("cpu"))
        except Exception as e:
            raise ModelError(f"{self.path}: not a readable ONNX model ({_ort_reason(e)})") from None
        self.metadata: dict[str, str] = dict(self.session.get_modelmeta().custom_metadata_map)
        if "style" not in self.metadata or "faststyle_version" not in self.metadata:
            raise ModelError(
                f"{self.path}: an ONNX model, but not a faststyle one (no style metadata); "
                "export one with `faststyle export`"
            )
        self.styles: list[str] = style_names(self.metadata, self.path)
        self.rows = style_rows(self.metadata, self.path)  # the style input's length
        weights, label = style_weights(style, self.styles)
        weights = to_rows(weights, self.rows)
        self.style: str = self.metadata["style"] if len(self.styles) == 1 else label
        self.hparams: dict[str, Any] = {}  # the training recipe is in the checkpoint, not the ONNX file
        self.layout: str = self.metadata.get("layout", "pixels")
        if self.layout not in LAYOUTS:
            raise ModelError(f"{self.path}: unknown faststyle layout '{self.layout}' (expected one of {LAYOUTS})")
        # an input with a default value ("style") is listed by ORT as an overridable initializer
        inputs = {i.name: i for i in [*self.session.get_inputs(), *self.session.get_overridable_initializers()]}
        described: dict[str, tuple[str, Dims]] = {name: (_dtype(i.type), list(i.shape)) for name, i in inputs.items()}
        self._input = check_inputs(self.path, self.layout, described, self.rows)
        # the style weights travel with every call, so one session serves any style or blend
        self._extra = {"style": weights} if "style" in inputs else {}
        self._output = self.session.get_outputs()[0].name

    def __repr__(self) -> str:
        return f"OrtStylizer({str(self.path)!r}, style={self.style!r}, layout={self.layout!r})"

    def __call__(self, image: NDArray[np.uint8], weights: NDArray[np.float32] | None = None) -> NDArray[np.uint8]:
        """uint8 [H, W, 3] or [N, H, W, 3] RGB -> stylized uint8 of the same shape; `weights` [S]
        overrides this stylizer's style for the call (a multi-style model's style weights)."""
        batch = check_pixels(image)  # [N, H, W, 3]
        chosen = check_weights(weights, self.styles, self.rows)
        if chosen is not None and not self._extra and len(self.styles) > 1:
            raise UserError(
                f"{self.path.name}: its style was fixed when it was exported (layout {self.layout}); "
                "call it without weights, or export it in the pixels layout to choose one per call"
            )
        extra = self._extra if chosen is None or not self._extra else {"style": chosen}
        if not len(batch):
            return no_images(image)
        image = np.asarray(image)
        out: NDArray[np.uint8]
        if self.layout == "pixels":
            out = self.session.run([self._output], {self._input: batch, **extra})[0]
        elif self.layout == "zoo":
            # Zoo layout: float32 [N, 3, H, W] in 0-255 both ways; round and clamp back to pixels.
            nchw = np.ascontiguousarray(batch.transpose(0, 3, 1, 2), dtype=np.float32)
            zoo = self.session.run([self._output], {self._input: nchw, **extra})[0]
            out = np.clip(np.rint(zoo), 0, 255).astype(np.uint8).transpose(0, 2, 3, 1)
        else:
            out = self._run_net(batch)
        return out[0] if image.ndim == 3 else out

    def _run_net(self, batch: NDArray[np.uint8]) -> NDArray[np.uint8]:
        """The net layout: pad (edge) to the stride as the pixels graph does, 0-1 NCHW in and out, crop."""
        h, w = batch.shape[1:3]
        ph, pw = padded(h) - h, padded(w) - w
        grown = np.pad(batch, ((0, 0), (0, ph), (0, pw), (0, 0)), mode="edge")
        nchw = np.ascontiguousarray(grown.transpose(0, 3, 1, 2), dtype=np.float32) / 255.0
        styled: NDArray[np.float32] = self.session.run([self._output], {self._input: nchw})[0][:, :, :h, :w]
        pixels: NDArray[np.uint8] = np.clip(np.rint(styled * 255.0), 0, 255).astype(np.uint8)
        return np.ascontiguousarray(pixels.transpose(0, 2, 3, 1))

    def stylize_file(self, in_path: str | os.PathLike[str], out_path: str | os.PathLike[str]) -> Path:
        """Read an image file, stylize it whole, write the result atomically (format from suffix)."""
        return save_rgb(self(load_rgb(in_path)), out_path)
