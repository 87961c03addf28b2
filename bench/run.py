"""One benchmark table for this machine: every inference path, and training images/s.

    python bench/run.py [MODEL.pth] [--sizes 256 512 1024] [--runs 5] [--skip-train] [-o bench/results]

Inference paths, each on one square uint8 image (median of --runs after a warm-up):
  ORT fp32 (the reference) | ORT int8 (static QDQ, calibrated on ../shared coco128 photos) |
  OpenVINO fp32 | OpenVINO bf16 (CPUs with AMX/AVX512-BF16) | torch fp32 and bf16 (NCHW on a CPU,
  the phase-conv form: `stylize --backend torch`) | auto (what `stylize` picks here).
For each: ms per size and its speed-up over ORT fp32 (same run), whether it is correct (on
../shared/content, within 1 level mean and 24 max of ORT fp32; PSNR shown), the peak resident
memory of a fresh process that runs it once at each size, and the share of this CPU's measured
matrix-product peak for its precision (fp32, or bf16 where the CPU has it) that it reaches.
Training: faststyle's step fp32 vs bf16 at 128 and 256 px against a plain PyTorch loop
(bench/train_speed.py). Prints markdown and writes the record, with the command and the CPU
model and flags, to -o/<cpu>-<family>-<model>-<widest matrix flag>.json and its page, rendered
from it (bench/speed_record.py), beside it as .md; bench/report.py renders the page and
docs/speed.md's tables of it again from the .json.
"""

from __future__ import annotations

import argparse
import io
import itertools
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import numpy as np
import torch

from faststyle.hardware import matmul_peak_tflops

sys.path.insert(0, str(Path(__file__).resolve().parent))
from speed_record import FORMAT, doc, dumps, parse_table, row  # bench/ is not a package

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
PATHS = [
    ("ort", "fp32"),
    ("ort", "int8"),
    ("openvino", "fp32"),
    ("openvino", "bf16"),
    ("torch", "fp32"),
    ("torch", "bf16"),
]

# Runs in a fresh process: one path, one image, then its own high-water mark (VmHWM, not
# getrusage, which a child inherits from the benchmark that started it).
MEMORY_SCRIPT = """
import json, sys, numpy as np
from bench_paths import open_path
from faststyle.allocator import keep_freed_memory
backend, precision, onnx_path, pth, size, threads = json.loads(sys.argv[1])
if backend == "torch":
    keep_freed_memory()  # as stylize runs it
engine = open_path(backend, precision, onnx_path, pth, threads)
engine(np.zeros((size, size, 3), np.uint8))
print([l.split()[1] for l in open("/proc/self/status") if l.startswith("VmHWM")][0])
"""


def peak_rss_mb(backend: str, precision: str, onnx_path: Path, pth: Path, size: int, threads: int) -> float:
    args = json.dumps([backend, precision, str(onnx_path), str(pth), size, threads])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "bench"), os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run(
        [sys.executable, "-c", MEMORY_SCRIPT, args], capture_output=True, text=True, check=True, env=env
    )
    return float(out.stdout.strip().splitlines()[-1]) / 1024


def content_photos(limit_side: int = 512) -> list[np.ndarray]:
    from PIL import Image

    from faststyle.image_io import IMAGE_SUFFIXES, load_rgb

    photos = []
    for path in sorted((SHARED / "content").iterdir()):
        if path.suffix.lower() in IMAGE_SUFFIXES:
            image = Image.fromarray(load_rgb(path))
            image.thumbnail((limit_side, limit_side))
            photos.append(np.asarray(image))
    return photos


def agreement(engine, reference, photos: list[np.ndarray]) -> tuple[float, int, float]:
    """(mean, max levels, PSNR dB) of `engine` against `reference` over the photos."""
    diffs = [np.abs(engine(p).astype(np.int16) - reference(p).astype(np.int16)) for p in photos]
    mean = float(np.mean([d.mean() for d in diffs]))
    worst = int(max(d.max() for d in diffs))
    mse = float(np.mean([(d.astype(np.float64) ** 2).mean() for d in diffs]))
    return mean, worst, 99.0 if mse == 0 else 10 * np.log10(255.0**2 / mse)


def inference_columns(sizes: list[int]) -> list[str]:
    return [
        "path",
        *(f"{s} px ms" for s in sizes),
        "correct (mean/max levels, PSNR)",
        *(f"peak MB {s}" for s in sizes),
        f"% of peak at {sizes[-1]}",
    ]


def inference_row(
    name: str,
    times: list[float],
    reference_ms: list[float],
    agreement: tuple[float, int, float],
    correct: bool,
    memory: list[float],
    share: str,
) -> list[str]:
    """One path's cells: ms (and speed-up over the reference) per size, correctness, peak MB, share."""
    mean, worst, psnr = agreement
    return [
        name,
        *(f"{t:.0f} ({r / t:.2f}x)" for r, t in zip(reference_ms, times, strict=True)),
        f"{'yes' if correct else 'no'} ({mean:.2f}/{worst}, {psnr:.0f} dB)",
        *(f"{m:.0f}" for m in memory),
        share,
    ]


def training_table(arch: str, printed: str) -> dict[str, Any]:
    """The first table bench/train_speed.py printed for one net (batch 4, its default): its
    images/s; the utilisation table after it is not part of this record's format."""
    rows = printed.splitlines()
    start = next(i for i, line in enumerate(rows) if line.startswith("|"))
    lines = list(itertools.takewhile(lambda line: line.startswith("|"), rows[start:]))
    return {"arch": arch, "batch": 4, "heading": [f"{arch} net:"], **parse_table(lines)}


def inference_table(model: Path, sizes: list[int], runs: int, threads: int, tmp: Path) -> dict[str, Any]:
    from bench_paths import available, open_path

    from faststyle.allocator import keep_freed_memory
    from faststyle.cpu import cpu_has_bf16
    from faststyle.export.onnx_export import export_onnx
    from faststyle.export.quantize import quantize_int8
    from faststyle.inference.choose import MAX_LEVELS, MAX_MEAN_LEVELS, choose
    from faststyle.model.checkpoint import load_model
    from faststyle.model.transform_net import count_flops
    from faststyle.timing import median_ms

    onnx_path = export_onnx(model, tmp / f"{model.stem}.onnx")
    quantize_int8(onnx_path, SHARED / "data" / "coco128" / "train2017")
    auto = choose(onnx_path, threads=threads, quiet=True)
    net = load_model(model).net
    peaks = {"fp32": 1000 * matmul_peak_tflops(torch.device("cpu"), torch.float32)}
    if cpu_has_bf16():
        peaks["bf16"] = 1000 * matmul_peak_tflops(torch.device("cpu"), torch.bfloat16)
    photos = content_photos()
    paths = [p for p in PATHS if available(*p)]
    engines = {p: open_path(*p, onnx_path, model, threads) for p in paths}
    reference = engines[("ort", "fp32")]
    heading = (
        f"model: {model.name} (arch {net.arch}, {count_flops(net, 512, 512) / 1e9:.1f} GFLOP at 512 px); "
        f"{threads} threads; ms per image, median of {runs}; matmul peak "
        + ", ".join(f"{k} {v:.0f} GFLOP/s" for k, v in peaks.items())
        + f"; auto = {auto[0]} {auto[1]}"
    )
    table: dict[str, Any] = {"heading": [heading], "columns": inference_columns(sizes), "rows": []}
    reference_ms: list[float] = []
    for path in paths:
        engine = engines[path]
        if path[0] == "torch":  # as `stylize --backend torch` runs (the torch paths come last)
            keep_freed_memory()
        times = []
        for size in sizes:
            x = np.random.default_rng(size).integers(0, 256, (size, size, 3), dtype=np.uint8)
            times.append(median_ms(lambda: engine(x), runs))
        if path == ("ort", "fp32"):
            reference_ms = times
        mean, worst, psnr = agreement(engine, reference, photos)
        correct = mean <= MAX_MEAN_LEVELS and worst <= MAX_LEVELS
        memory = [peak_rss_mb(*path, onnx_path, model, s, threads) for s in sizes]
        precision_peak = peaks.get(path[1], peaks["fp32"]) if path[1] != "int8" else None
        gflop = count_flops(net, sizes[-1], sizes[-1]) / 1e9
        share = f"{100 * gflop / (times[-1] / 1000) / precision_peak:.0f}%" if precision_peak else "-"
        name = f"{path[0]} {path[1]}" + (" **(auto)**" if path == auto else "")
        table["rows"].append(inference_row(name, times, reference_ms, (mean, worst, psnr), correct, memory, share))
        print(row(table["rows"][-1]), flush=True)
    return table


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model", nargs="?", type=Path, default=ROOT / "src" / "faststyle" / "models" / "starry_night.pth")
    p.add_argument("--sizes", type=int, nargs="+", default=[256, 512, 1024])
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--skip-train", action="store_true", help="leave out the training rows")
    p.add_argument("-o", "--output", type=Path, default=ROOT / "bench" / "results")
    args = p.parse_args(argv)
    os.environ.setdefault("FASTSTYLE_VGG_WEIGHTS", str(SHARED / "weights" / "vgg16_imagenet_features.pth"))
    torch.set_num_threads(args.threads)
    from faststyle.cpu import BF16_CPU_FLAGS, cpu_flags, cpu_generation, cpu_model, cpu_summary

    machine = f"{cpu_summary()}; torch {torch.__version__}"
    command = shlex.join(["python", "bench/run.py", *(sys.argv[1:] if argv is None else argv)])
    record: dict[str, Any] = {"format": FORMAT, "command": command, "machine": machine}
    record |= {"title": cpu_model(), "header": [machine]}
    print(f"# {cpu_model()}\n\n{machine}\n", flush=True)
    with tempfile.TemporaryDirectory(prefix="faststyle-bench-") as tmp:
        os.environ["FASTSTYLE_CACHE"] = tmp  # the chooser measures afresh, and leaves nothing behind
        record["inference"] = inference_table(args.model, args.sizes, args.runs, args.threads, Path(tmp))
    if not args.skip_train:
        import train_speed

        intro = "Training images/s (batch 4; in parentheses: times the plain loop in fp32):"
        record["training"] = {"intro": [intro], "tables": []}
        for arch in ("slim", "johnson"):
            captured = io.StringIO()
            with redirect_stdout(captured):
                # its tables go into this record, not a record of their own
                train_speed.main(["--arch", arch, "--sizes", "128,256", "--steps", str(args.runs), "--record", ""])
            record["training"]["tables"].append(training_table(arch, captured.getvalue()))
    text = doc(record)
    print(text)
    args.output.mkdir(parents=True, exist_ok=True)
    # The model name alone does not tell machines apart here (an "AMD EPYC" with AVX2 only, a
    # Zen 4 and a Zen 5 with AVX512-BF16), so the file is also named by the CPU family and model
    # numbers and the widest matrix instructions the CPU has.
    tier = next((f for f in (*BF16_CPU_FLAGS, "avx512f", "avx2") if f in cpu_flags()), "baseline")
    slug = re.sub(r"[^a-z0-9]+", "-", f"{cpu_model()} {cpu_generation()} {tier}".lower()).strip("-")
    (args.output / f"{slug}.json").write_text(dumps(record) + "\n")
    (args.output / f"{slug}.md").write_text(text)
    print(f"wrote {args.output / f'{slug}.json'} and its page {args.output / f'{slug}.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
