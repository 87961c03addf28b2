"""An int8 twin of an exported model: ONNX Runtime static quantisation in QDQ form.

Activation ranges are calibrated by running the float model on real photos (the ranges of a
style network depend on the content, so random noise would calibrate them badly); weights are
quantized per channel; the first and last convolutions (image in, image out) stay float.
The uint8 pixels in and out, the metadata and the optional style input
are kept, so NAME.int8.onnx is a drop-in for NAME.onnx, and faststyle.runtime offers it when
it stays within 1 level mean / 24 max of the float model on this machine and is faster.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from faststyle.errors import UserError
from faststyle.export.metadata import int8_path, metadata_of, read_proto
from faststyle.image_io import IMAGE_SUFFIXES, atomic_path, fit_rgb, load_rgb

CALIBRATION_SIZE = 320  # photos become centre squares of this side (histogram calibrators need one shape)


def calibration_images(folder: str | os.PathLike[str], limit: int = 16) -> list[np.ndarray]:
    """Up to `limit` photos from `folder` (sorted by name), as uint8 [1, S, S, 3] centre squares."""
    folder = Path(folder)
    found = [folder] if folder.is_file() else sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    paths = found[:limit]
    if not paths:
        raise UserError(f"--calibration {folder}: no photos to calibrate the int8 ranges on")
    return [_centre_square(load_rgb(p))[None] for p in paths]


def _centre_square(image: np.ndarray, side: int = CALIBRATION_SIZE) -> np.ndarray:
    h, w = image.shape[:2]
    scaled = fit_rgb(image, scale=side / min(h, w))
    top, left = (scaled.shape[0] - side) // 2, (scaled.shape[1] - side) // 2
    return np.ascontiguousarray(scaled[top : top + side, left : left + side])


def calibration_feeds(images: list[np.ndarray], num_styles: int) -> list[dict[str, Any]]:
    """One feed per photo, and for a multi-style model each style at least once: photo i with
    style i mod S. Each style scales its activations differently (and an added style's adapters
    are silent under any other), so ranges calibrated on one style would clip the rest."""
    if num_styles <= 1:
        return [{"image": im} for im in images]
    styles = np.eye(num_styles, dtype=np.float32)
    return [
        {"image": images[i % len(images)], "style": styles[i % num_styles]} for i in range(max(len(images), num_styles))
    ]


class _Photos:
    """The CalibrationDataReader onnxruntime.quantization asks for: one feed dict per call."""

    def __init__(self, feeds: list[dict[str, Any]]):
        self._feeds: Iterator[dict[str, Any]] = iter(feeds)

    def get_next(self) -> dict[str, Any] | None:
        return next(self._feeds, None)

    def rewind(self) -> None:  # the interface has it; one pass is all calibration needs
        pass


def quantize_int8(onnx_path: str | os.PathLike[str], photos: str | os.PathLike[str]) -> Path:
    """NAME.onnx -> NAME.int8.onnx beside it (written atomically); returns its path."""
    import onnx
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    source = Path(onnx_path)
    proto = read_proto(source)
    meta = metadata_of(proto)
    if meta.get("layout", "pixels") != "pixels":
        raise UserError(f"{source}: --int8 quantizes the pixels layout only")
    style = next((i for i in proto.graph.input if i.name == "style"), None)
    dims = [] if style is None else [d.dim_value for d in style.type.tensor_type.shape.dim]  # [S], or [N, S]
    feeds = calibration_feeds(calibration_images(photos), dims[-1] if dims else 1)
    if len(dims) == 2:  # a per-image style input (--per-image-style): one row per image
        feeds = [{**f, "style": f["style"][None]} for f in feeds]
    target = int8_path(source)
    with tempfile.TemporaryDirectory(prefix="faststyle-int8-") as tmp, atomic_path(target) as out:
        prepared = Path(tmp) / "prepared.onnx"
        quant_pre_process(str(source), str(prepared), skip_symbolic_shape=True)
        quantize_static(
            str(prepared),
            out,
            _Photos(feeds),
            quant_format=QuantFormat.QDQ,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            per_channel=True,
            calibrate_method=CalibrationMethod.MinMax,
            op_types_to_quantize=["Conv"],
        )
        quantized = onnx.load(out)
        onnx.helper.set_model_props(quantized, {**meta, "precision": "int8"})
        onnx.save(quantized, out)
    return target
