"""A model name or file -> a Stylizer (the contract in faststyle.inference.stylizer), on the
engine that suits it here: what `stylize`, `batch`, `gallery` and `evaluate` run models with.

torch, and the export a checkpoint needs before ONNX Runtime or OpenVINO can run it, are
imported only when a checkpoint runs: an ONNX model loads without them.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from faststyle.blend import StyleSpec
from faststyle.errors import ModelError, UserError
from faststyle.inference.painted import PaintedStylizer, painting_label
from faststyle.inference.stylizer import BACKENDS, PRECISIONS, Stylizer, ort_providers
from faststyle.model_files import checkpoint_of, resolve_model
from faststyle.runtime import Stylizer as EngineStylizer


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
    style_image: str | os.PathLike[str] | None = None,
) -> Stylizer:
    """A model name or file -> a Stylizer.

    backend "auto" runs the model on the fastest engine that stays correct on this machine
    (faststyle.inference.choose, among ONNX Runtime fp32/int8 and OpenVINO fp32/bf16), or PyTorch
    on the GPU when there is one that this onnxruntime cannot use and the model has a checkpoint; "ort"
    and "openvino" pick one, with `precision` auto or forced; .ckpt/.pth files are exported to
    a temporary ONNX file first (unverified, ~10 s). "torch" runs .ckpt/.pth files (and the
    checkpoint beside a bundled name), fp32 or bf16. None runs the model as it is, in float32
    (torch for checkpoints, ONNX Runtime for .onnx): what `evaluate` scores. `style_image`: a
    painting for a model with a style predictor to paint (faststyle.inference.painted); `style`
    may then blend it, by its file's stem, with the model's own styles.
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

        if style_image is None:
            return TorchStylizer(path, device, threads, style, precision)
        from faststyle.inference.torch_backend import torch_embedding

        engine = TorchStylizer(path, device, threads, None, precision)
        embedding = torch_embedding(path, style_image)
        return PaintedStylizer(engine, embedding, painting_label(style_image, engine.styles), style)
    providers = ort_providers(device)
    if providers[0] != "CPUExecutionProvider" and (backend, precision) not in (
        ("auto", "auto"),
        ("ort", "auto"),
        ("ort", "fp32"),
    ):
        raise UserError(f"--device {device} runs ONNX Runtime in fp32 (or --backend torch), not {backend} {precision}")
    if kind == ".onnx":
        return EngineStylizer(path, style, threads, backend, precision, providers, quiet, style_image=style_image)
    with tempfile.TemporaryDirectory(prefix="faststyle-") as tmp:
        onnx_path, hparams = _export_checkpoint(path, Path(tmp), with_predictor=style_image is not None)
        stylizer = EngineStylizer(  # in memory now
            onnx_path, style, threads, backend, precision, providers, quiet, style_image=style_image
        )
    stylizer.hparams = hparams
    return stylizer


def _export_checkpoint(path: Path, folder: Path, with_predictor: bool) -> tuple[Path, dict[str, Any]]:
    """A .ckpt/.pth -> its ONNX file (and predictor graph) in `folder`, unverified (~10 s), and its recipe."""
    from faststyle.export.onnx_export import export_onnx
    from faststyle.model.checkpoint import load_model

    loaded = load_model(path)  # a ModelError here names the user's file, not a temp file
    onnx_path = export_onnx(loaded, folder / f"{path.stem}.onnx", verify=False, with_predictor=with_predictor)
    return onnx_path, dict(loaded.hparams)
