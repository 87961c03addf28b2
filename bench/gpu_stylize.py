"""Milliseconds per 1080p frame on a GPU: torch fp32 and bf16, ONNX Runtime CUDA when installed.

    python bench/gpu_stylize.py [MODEL ...] [--runs 20] [--size 1920x1080]

MODEL: bundled names or .pth files (default: starry_night, the slim single-style model, and
multistyle, the johnson-width base). Each cell is the median of --runs end-to-end calls after
a warm-up: a uint8 frame in host memory to a stylized uint8 frame back in host memory, as
`stylize` and `faststyle.runtime` use it. ORT CPU is timed too, on all cores, as a reference.
"""

from __future__ import annotations

import argparse
import os

import numpy as np
import torch

from faststyle.inference.torch_backend import TorchStylizer
from faststyle.model_files import resolve_model
from faststyle.timing import median_ms


def frame(width: int, height: int) -> np.ndarray:
    """A smooth random frame (a test card, not noise: noise stresses nothing a photo does not)."""
    rng = np.random.default_rng(0)
    small = rng.integers(0, 256, (height // 40 + 1, width // 40 + 1, 3), dtype=np.uint8)
    return np.ascontiguousarray(np.repeat(np.repeat(small, 40, 0), 40, 1)[:height, :width])


def ort_ms(onnx_path: str, image: np.ndarray, runs: int, cuda: bool) -> str:
    import onnxruntime as ort

    from faststyle.errors import UserError
    from faststyle.inference.onnx_runtime import OrtStylizer
    from faststyle.inference.stylizer import ort_providers

    try:
        providers = ort_providers("cuda" if cuda else "cpu")
    except UserError:
        return f"n/a (onnxruntime {ort.__version__} has no CUDAExecutionProvider)"
    stylizer = OrtStylizer(onnx_path, threads=os.cpu_count(), providers=providers)
    return f"{median_ms(lambda: stylizer(image), runs):.1f}"


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("models", nargs="*", default=["starry_night", "multistyle"])
    p.add_argument("--runs", type=int, default=20, help="timed calls per cell (the median is shown)")
    p.add_argument("--size", default="1920x1080", help="frame WIDTHxHEIGHT")
    args = p.parse_args(argv)
    width, height = (int(v) for v in args.size.split("x"))
    image = frame(width, height)
    print(f"{torch.cuda.get_device_name()}; torch {torch.__version__}; {width}x{height} uint8 frame, ms per frame")
    print("| model | torch fp32 | torch bf16 | ORT CUDA fp32 | ORT CPU fp32 |")
    print("|---|---|---|---|---|")
    for name in args.models:
        path = resolve_model(name, prefer_checkpoint=True)
        cells = []
        for precision in ("fp32", "bf16"):
            stylizer = TorchStylizer(path, device="cuda", precision=precision)
            cells.append(f"{median_ms(lambda s=stylizer: s(image), args.runs, torch.cuda.synchronize):.1f}")
        onnx_path = str(resolve_model(name))
        cells += [ort_ms(onnx_path, image, args.runs, cuda=True), ort_ms(onnx_path, image, min(args.runs, 5), False)]
        print(f"| {name} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
