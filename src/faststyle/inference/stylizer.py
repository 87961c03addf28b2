"""The one stylizer contract, and the function that turns a model spec into one.

Every backend (ONNX Runtime, torch) is a callable with the same behaviour:

    stylizer(image)   uint8 [H, W, 3] or [N, H, W, 3] RGB -> stylized uint8 of the same shape
    stylizer.style    the name of what it paints: the model's style, the chosen style of a
                      multi-style model, or a label for a blend ("starry_night0.7_wave0.3")
    stylizer.styles   the names of every style the model holds, in row order
    stylizer.backend  "ort", "openvino" or "torch"
    stylizer.precision "fp32", "bf16" or "int8"
    stylizer.hparams  the training recipe when the model file has it ({} for ONNX files)

`stylize`, `serve`'s model list, `gallery` and `evaluate` all take stylizers from `load_stylizer`.
"""

from __future__ import annotations

import importlib.util
import math
import os
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from faststyle.errors import ModelError, UserError
from faststyle.inference.registry import checkpoint_of, resolve_model

BACKENDS = ("auto", "ort", "openvino", "torch")
PRECISIONS = ("auto", "fp32", "bf16", "int8")


StyleSpec = str | Mapping[str, float] | None  # a name, "a=0.7,b=0.3", or {name: weight}


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


def gpu_only_for_torch() -> bool:
    """An NVIDIA GPU that PyTorch can use and this onnxruntime cannot (the CPU build of it).
    Checks the device node first, so a machine without one never pays for importing torch."""
    if not os.path.exists("/dev/nvidiactl") or importlib.util.find_spec("torch") is None:
        return False
    if ort_providers("auto")[0] != "CPUExecutionProvider":
        return False
    import torch

    return torch.cuda.is_available()


def load_stylizer(
    spec: str | os.PathLike[str] | None = None,
    backend: str | None = "auto",
    device: str = "auto",
    threads: int | None = None,
    style: StyleSpec = None,
    precision: str = "auto",
    quiet: bool = False,
) -> Stylizer:
    """A model name or file -> a Stylizer.

    backend "auto" runs the model on the fastest engine that stays correct on this machine
    (faststyle.inference.choose, among ONNX Runtime fp32/int8 and OpenVINO fp32/bf16), or PyTorch
    on the GPU when there is one that this onnxruntime cannot use and the model has a checkpoint; "ort"
    and "openvino" pick one, with `precision` auto or forced; .ckpt/.pth files are exported to
    a temporary ONNX file first (unverified, ~10 s). "torch" runs .ckpt/.pth files (and the
    checkpoint beside a bundled name), fp32 or bf16. None runs the model as it is, in float32
    (torch for checkpoints, ONNX Runtime for .onnx): what `evaluate` scores.
    """
    if backend is not None and backend not in BACKENDS:
        raise UserError(f"unknown backend {backend!r} (use one of {', '.join(BACKENDS)})")
    if precision not in PRECISIONS:
        raise UserError(f"unknown precision {precision!r} (use one of {', '.join(PRECISIONS)})")
    path = resolve_model(spec, prefer_checkpoint=backend in ("torch", None))
    kind = path.suffix.lower()
    if kind not in (".onnx", ".ckpt", ".pth"):
        raise ModelError(f"{path}: unknown model type '{path.suffix}' (use .onnx, .ckpt or .pth)")
    if backend is None:
        backend, precision = ("ort" if kind == ".onnx" else "torch"), "fp32"
    if (backend, precision, device) == ("auto", "auto", "auto") and gpu_only_for_torch():
        # a 1080p frame on an H200: 14 ms in PyTorch there, 886 ms for ONNX Runtime on its 16 CPU cores
        checkpoint = path if kind != ".onnx" else checkpoint_of(path)
        if checkpoint is not None:
            if not quiet:
                print(
                    f"faststyle: {path.name} runs on the GPU with PyTorch (this onnxruntime has no CUDA)",
                    file=sys.stderr,
                )
            backend, path, kind = "torch", checkpoint, checkpoint.suffix.lower()
    if backend == "torch":
        if kind == ".onnx":
            raise UserError(f"{path}: --backend torch needs a .ckpt or .pth model (run .onnx with another backend)")
        from faststyle.inference.torch_backend import TorchStylizer

        return TorchStylizer(path, device, threads, style, precision)
    from faststyle.runtime import Stylizer as EngineStylizer

    providers = ort_providers(device)
    if providers[0] != "CPUExecutionProvider" and (backend, precision) not in (
        ("auto", "auto"),
        ("ort", "auto"),
        ("ort", "fp32"),
    ):
        raise UserError(f"--device {device} runs ONNX Runtime in fp32 (or --backend torch), not {backend} {precision}")
    if kind == ".onnx":
        return EngineStylizer(path, style, threads, backend, precision, providers, quiet)
    from faststyle.export.onnx_export import export_onnx
    from faststyle.model.checkpoint import load_model

    loaded = load_model(path)  # a ModelError here names the user's file, not a temp file
    with tempfile.TemporaryDirectory(prefix="faststyle-") as tmp:
        onnx_path = export_onnx(loaded, Path(tmp) / f"{path.stem}.onnx", verify=False)
        stylizer = EngineStylizer(onnx_path, style, threads, backend, precision, providers, quiet)  # in memory now
    stylizer.hparams = dict(loaded.hparams)
    return stylizer


def style_weights(spec: StyleSpec, names: list[str]) -> tuple[np.ndarray, str]:
    """A style choice -> (float32 weights [S] over the model's styles, summing to 1; a label).

    None picks the first style; "wave" one style; "starry_night=0.7,wave=0.3" or a
    {name: weight} mapping blends them (weights are scaled to sum to 1).
    """
    weights = np.zeros(len(names), np.float32)
    if spec is None:
        weights[0] = 1.0
        return weights, names[0]
    if isinstance(spec, str):
        pairs = [part.partition("=") for part in spec.split(",") if part.strip()]
        try:
            mix = {n.strip(): float(w) if sep else 1.0 for n, sep, w in pairs}
        except ValueError:
            raise UserError(f"--style {spec!r}: expected NAME or NAME=WEIGHT,NAME=WEIGHT") from None
    else:
        mix = {str(k): float(v) for k, v in spec.items()}
    unknown = [n for n in mix if n not in names]
    if unknown:
        raise UserError(f"style {unknown[0]!r} is not in this model (its styles: {', '.join(names)})")
    total = sum(mix.values())
    if not mix or any(not (w >= 0) for w in mix.values()) or not 0 < total < math.inf:
        # inf (or weights whose sum overflows) would blend to NaN: a black picture, not an error
        raise UserError(f"style weights must be finite, 0 or more and not all 0, got {spec!r}")
    for name, w in mix.items():
        weights[names.index(name)] += w / total
    if len(mix) == 1:
        return weights, next(iter(mix))
    return weights, "_".join(f"{n}{w / total:.2g}" for n, w in mix.items())


def check_weights(weights: object, names: list[str]) -> NDArray[np.float32] | None:
    """A call's `weights` over the model's styles (None: the stylizer's own style), checked as
    `style_weights` checks a blend and scaled to sum to 1 the same way, so that `weights=[2, 1]`
    paints what `style="a=2,b=1"` paints. A one-line UserError otherwise: an engine given NaN or
    inf paints black without a word, and one given the wrong length fails with its own trace."""
    if weights is None:
        return None
    try:
        vector = np.asarray(weights, np.float64)
    except (TypeError, ValueError):  # a string or an object that is no list of numbers
        vector = np.asarray(None)
    if vector.dtype != np.float64 or vector.shape != (len(names),):
        got = f"shape {vector.shape}" if vector.dtype == np.float64 else type(weights).__name__
        shown = ", ".join(names[:4]) + (f", ... ({len(names)} in all)" if len(names) > 4 else "")
        raise UserError(f"weights: expected {len(names)} number(s), one per style in .styles ({shown}), got {got}")
    bad = [i for i, w in enumerate(vector) if not 0 <= w < math.inf]  # NaN fails every comparison
    total = float(vector.sum())
    if bad or not 0 < total < math.inf:
        why = f"{names[bad[0]]}'s is {vector[bad[0]]}" if bad else "all are 0" if total == 0 else "their sum overflows"
        raise UserError(f"style weights must be finite, 0 or more and not all 0; {why}")
    return (vector / total).astype(np.float32)


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
