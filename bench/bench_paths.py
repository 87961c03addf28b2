"""The inference paths bench/run.py times, opened the same way in the benchmark and in the
fresh processes that measure their memory."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def available(backend: str, precision: str) -> bool:
    """Whether this machine runs the path at all (OpenVINO installed; bf16 in the CPU)."""
    from faststyle.cpu import cpu_has_bf16
    from faststyle.inference.choose import openvino_installed

    if backend == "openvino" and not openvino_installed():
        return False
    return precision != "bf16" or cpu_has_bf16()


def open_path(backend: str, precision: str, onnx_path: str | Path, pth: str | Path, threads: int) -> Any:
    """A callable uint8 [H, W, 3] -> uint8 [H, W, 3] for one path (int8: NAME.int8.onnx beside)."""
    if backend == "torch":
        from faststyle.inference.torch_backend import TorchStylizer

        return TorchStylizer(pth, "cpu", threads, None, precision)
    from faststyle.inference.choose import open_engine

    return open_engine(Path(onnx_path), backend, precision, threads)
