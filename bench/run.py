"""One benchmark table for this machine: stylization ms/image, training images/s, memory, FLOPs.

    python bench/run.py [MODEL.pth] [--sizes 256 512 1024] [--runs 5] [--compile] [--skip-train]

Stylization (one square uint8 image, median of --runs after a warm-up), each also as a
ratio to plain torch eager fp32 timed in the same run:
  torch eager fp32 (the trained net, NCHW) | torch fast (channels-last + the phase-conv form of
  faststyle.model.phase_conv: what `stylize --backend torch` runs) | torch.compile of it (with --compile) |
  ONNX Runtime fp32 | ONNX Runtime int8 (dynamic quantisation; shown only when its output
  stays within 30 dB PSNR of fp32).
Training step (batch 4, 128 and 256 px): faststyle's step against a straightforward loop.
Also: conv FLOPs per image of the model's arch and the fraction of this CPU's measured
fp32 matmul peak that ORT reaches, and the peak resident memory of one ORT run per size.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from stylize_speed import MIN_PSNR, prepare, psnr, quantize

from faststyle.quality.timing import median_ms


def matmul_peak_gflops(n: int = 2048, runs: int = 5) -> float:
    """This CPU's practical fp32 peak: the best of a few large matrix products."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    best = min(_time(lambda: a @ b) for _ in range(runs))
    return 2 * n**3 / best / 1e9


def _time(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def peak_rss_mb(onnx_path: Path, size: int, threads: int) -> float:
    """Peak resident memory of a fresh process that stylizes one size x size image with ORT.

    Read from VmHWM (this process image's own high-water mark): getrusage's ru_maxrss would
    also count the benchmark's memory, which a forked child inherits as its starting maximum.
    """
    code = (
        f"import numpy as np; from faststyle.runtime import Stylizer; "
        f"s = Stylizer({str(onnx_path)!r}, threads={threads}); "
        f"s(np.zeros(({size}, {size}, 3), np.uint8)); "
        f"print([l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')][0])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1]) / 1024


def torch_fn(net: torch.nn.Module, channels_last: bool):
    from faststyle.export.layouts import PixelStylizer

    module = PixelStylizer(net).eval()
    if channels_last:
        module = module.to(memory_format=torch.channels_last)

    def run(x: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return module(torch.from_numpy(x)[None])[0].numpy()

    return run, module


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "model", nargs="?", help=".pth/.ckpt model [default: the shipped starry_night, else a random slim net]"
    )
    p.add_argument("--sizes", type=int, nargs="+", default=[256, 512, 1024])
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--compile", action="store_true", help="also time torch.compile (minutes of compiling on CPU)")
    p.add_argument("--skip-train", action="store_true", help="leave out the training-step rows")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    shipped = Path(__file__).resolve().parents[1] / "src" / "faststyle" / "models" / "starry_night.pth"
    model = args.model or (str(shipped) if shipped.is_file() else None)

    from faststyle.model.checkpoint import load_model
    from faststyle.model.phase_conv import inference_net
    from faststyle.model.transform_net import count_flops
    from faststyle.runtime import Stylizer

    peak = matmul_peak_gflops()
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, {args.threads} threads; "
        f"torch {torch.__version__}; fp32 matmul peak {peak:.0f} GFLOP/s"
    )
    with tempfile.TemporaryDirectory(prefix="faststyle-bench-") as tmp_name:
        tmp = Path(tmp_name)
        torch_model, fp32 = prepare(model, tmp)
        if torch_model is None:
            sys.exit("bench/run.py needs a .pth/.ckpt model (the torch columns run it)")
        net = load_model(torch_model).net
        print(f"model: {model or 'random johnson'} (arch {net.arch}); median of {args.runs} runs; ms per image")
        ort32 = Stylizer(fp32, threads=args.threads)
        ort8 = Stylizer(quantize(fp32, tmp), threads=args.threads)
        eager, _ = torch_fn(net, channels_last=False)
        last, module = torch_fn(inference_net(net), channels_last=True)
        compiled = None
        if args.compile:
            cmod = torch.compile(module)
            compiled = lambda x: cmod(torch.from_numpy(x)[None])[0].numpy()

        cols = ["eager", "torch fast"] + (["compile"] if compiled else []) + ["ORT fp32", "ORT int8"]
        print(
            f"{'size':>6} " + " ".join(f"{c:>16}" for c in cols) + f" {'GFLOP':>7} {'ORT %peak':>9} {'ORT RSS MB':>10}"
        )
        for size in args.sizes:
            x = np.random.default_rng(size).integers(0, 256, (size, size, 3), dtype=np.uint8)
            with torch.inference_mode():
                base = median_ms(lambda: eager(x), args.runs)
                times = [base, median_ms(lambda: last(x), args.runs)]
                if compiled:
                    times.append(median_ms(lambda: compiled(x), args.runs))
            times.append(median_ms(lambda: ort32(x), args.runs))
            quality = psnr(ort8(x), ort32(x))
            times.append(median_ms(lambda: ort8(x), args.runs) if quality >= MIN_PSNR else None)
            cells = [f"{t:8.0f} ({base / t:4.2f}x)" if t else f"{'< 30 dB':>16}" for t in times]
            gflop = count_flops(net, size, size) / 1e9
            ort_ms = times[len(times) - 2]
            rss = peak_rss_mb(fp32, size, args.threads)
            print(
                f"{size:>6} "
                + " ".join(f"{c:>16}" for c in cells)
                + f" {gflop:7.1f} {100 * gflop / (ort_ms / 1000) / peak:8.0f}% {rss:10.0f}",
                flush=True,
            )
        print(f"int8 PSNR vs fp32 at the last size: {quality:.1f} dB")

    if not args.skip_train:
        import train_speed

        print()
        train_speed.main(["--arch", net.arch, "--sizes", "128,256", "--steps", str(args.runs)])
    return 0


if __name__ == "__main__":
    sys.exit(main())
