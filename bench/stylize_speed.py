"""Milliseconds per image for torch eager, ONNX Runtime fp32 and ONNX Runtime int8.

    python bench/stylize_speed.py [MODEL.pth|.ckpt|.onnx] [--sizes 256 512 1024] [--runs 5] [--threads N]

Without MODEL, a randomly initialised 'johnson' net is saved and exported to a temp folder
(speed does not depend on the weights; int8 quality does, so pass a trained model to judge
that). Each cell is the median of --runs timed runs after one warm-up, on one square
uint8 image. int8 is ORT dynamic quantisation (uint8 weights, ConvInteger); its PSNR
against the fp32 output is printed, and it is marked rejected below 30 dB.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

MIN_PSNR = 30.0


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def prepare(model: str | None, tmp: Path) -> tuple[Path | None, Path]:
    """-> (torch model file or None, fp32 ONNX file)."""
    if model is None:
        import torch

        from faststyle.model.checkpoint import save_model
        from faststyle.model.transform_net import TransformNet

        torch.manual_seed(0)
        model = str(save_model(TransformNet("johnson"), tmp / "random_johnson.pth", "random", {"arch": "johnson"}))
    path = Path(model)
    if path.suffix == ".onnx":
        return None, path
    from faststyle.export.onnx_export import export_onnx

    return path, export_onnx(path, tmp / "fp32.onnx", verify=False)


def quantize(fp32: Path, tmp: Path) -> Path:
    import logging

    from onnxruntime.quantization import QuantType, quantize_dynamic

    out = tmp / "int8.onnx"
    # The quantizer logs a warning per non-float tensor (our uint8 input, casts); they are expected.
    logging.getLogger().setLevel(logging.ERROR)
    quantize_dynamic(str(fp32), str(out), weight_type=QuantType.QUInt8)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "model", nargs="?", help="a .pth/.ckpt (all three columns) or .onnx (ORT only) [default: random johnson]"
    )
    p.add_argument("--sizes", type=int, nargs="+", default=[256, 512, 1024], help="square image sides to time")
    p.add_argument("--runs", type=int, default=5, help="timed runs per cell (the median is shown)")
    p.add_argument("--threads", type=int, default=os.cpu_count(), help="CPU threads for torch and ORT")
    args = p.parse_args(argv)

    from faststyle.runtime import Stylizer
    from faststyle.timing import median_ms

    with tempfile.TemporaryDirectory(prefix="faststyle-bench-") as tmp_name:
        tmp = Path(tmp_name)
        torch_model, fp32 = prepare(args.model, tmp)
        ort32 = Stylizer(fp32, threads=args.threads)
        ort8 = Stylizer(quantize(fp32, tmp), threads=args.threads)
        torch_fn = None
        if torch_model is not None:
            from faststyle.inference.torch_backend import TorchStylizer

            torch_fn = TorchStylizer(torch_model, threads=args.threads)
        print(
            f"model: {args.model or 'random johnson'}; {args.threads} threads; median of {args.runs} runs; "
            f"ms per image (uint8 RGB in and out)"
        )
        print(f"{'size':>6} {'torch eager':>12} {'ORT fp32':>10} {'ORT int8':>10} {'int8 PSNR':>10}")
        for size in args.sizes:
            x = np.random.default_rng(size).integers(0, 256, (size, size, 3), dtype=np.uint8)
            t_torch = f"{median_ms(lambda: torch_fn(x), args.runs):12.0f}" if torch_fn else f"{'-':>12}"
            t32 = median_ms(lambda: ort32(x), args.runs)
            quality = psnr(ort8(x), ort32(x))
            t8 = f"{median_ms(lambda: ort8(x), args.runs):10.0f}" if quality >= MIN_PSNR else f"{'rejected':>10}"
            print(f"{size:>6} {t_torch} {t32:10.0f} {t8} {quality:8.1f} dB", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
