"""The one stylizer contract every engine keeps, and the checks they share.

Every engine (ONNX Runtime, OpenVINO, torch) is a callable with the same behaviour:

    stylizer(image)   uint8 [H, W, 3] or [N, H, W, 3] RGB -> stylized uint8 of the same shape
    stylizer.style    the name of what it paints: the model's style, the chosen style of a
                      multi-style model, or a label for a blend ("starry_night0.7_wave0.3")
    stylizer.styles   the names of every style the model holds, in row order
    stylizer.backend  "ort", "openvino" or "torch"
    stylizer.precision "fp32", "bf16" or "int8"
    stylizer.hparams  the training recipe when the model file has it ({} for ONNX files)

faststyle.inference.load.load_stylizer turns a model name or file into one.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from faststyle.errors import UserError

# The choices of --backend and --precision (stylize, batch, the runtime's Stylizer): "auto" lets
# faststyle.inference.choose measure which engine is fastest and correct on this machine.
BACKENDS = ("auto", "ort", "openvino", "torch")
TORCH_FREE_BACKENDS = tuple(b for b in BACKENDS if b != "torch")  # what faststyle.runtime runs without torch
PRECISIONS = ("auto", "fp32", "bf16", "int8")


class Stylizer(Protocol):
    style: str
    styles: list[str]
    backend: str
    hparams: dict[str, Any]

    def __call__(self, image: NDArray[np.uint8], weights: NDArray[np.float32] | None = None) -> NDArray[np.uint8]:
        """uint8 [H, W, 3] or [N, H, W, 3] -> the same; `weights` [S] override the style for the call."""
        ...


def ort_providers(device: str) -> list[str]:
    """ONNX Runtime execution providers for a --device value (auto: CUDA when this ORT has it); on CUDA, the CPU
    stays second as the fallback for any op CUDA lacks."""
    import onnxruntime as ort

    available = ort.get_available_providers()
    if device == "auto":
        device = "cuda" if "CUDAExecutionProvider" in available else "cpu"
    if device == "cpu":
        return ["CPUExecutionProvider"]
    if device.split(":")[0] == "cuda":
        if "CUDAExecutionProvider" not in available:
            raise UserError(
                "this onnxruntime has no CUDA support (pip install onnxruntime-gpu, "
                "or use --device cpu / --backend torch)"
            )
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    if device.split(":")[0] in ("mps", "xpu"):
        raise UserError(f"--device {device}: ONNX Runtime runs on cpu or cuda (use --backend torch for {device})")
    raise UserError(f"--device {device}: not a device (use auto, cpu, cuda, cuda:N or, with --backend torch, mps)")


def check_pixels(image: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """An engine's input, checked: uint8 [H, W, 3] or [N, H, W, 3] RGB -> [N, H, W, 3], contiguous.
    A batch of no images passes (each engine answers it with no images, without running); an
    image with no pixels is refused here, where engines would each fail their own way."""
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise UserError(f"Stylizer expects uint8 pixels, got {image.dtype}")
    if image.ndim not in (3, 4) or image.shape[-1] != 3:
        raise UserError(f"Stylizer expects [H, W, 3] or [N, H, W, 3] RGB, got shape {image.shape}")
    height, width = image.shape[-3:-1]
    if height == 0 or width == 0:
        raise UserError(f"the image is empty ({width}x{height} pixels, shape {image.shape}); give it at least 1x1")
    return np.ascontiguousarray(image[None] if image.ndim == 3 else image)


def no_images(image: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """The answer to a batch of 0 images, the same on every engine (OpenVINO refuses to run one)."""
    return np.zeros(np.shape(image), np.uint8)
