"""Quality against speed, one row per transform-net width: the table the shipped default is chosen from.

    python bench/arch_table.py MODEL.pth [MODEL.pth ...] --style STYLE.jpg [--content DIR]

Train one model per arch on the same budget first, e.g. for a in tiny slim johnson:
    python train.py --style ../shared/styles/starry_night.jpg --data ../shared/data/coco128 \\
        --config configs/cpu.yaml --arch $a --max-steps 500 --checkpoint-dir runs/arch/$a --no-export
Each row: conv GFLOP per 512x512 image; ONNX Runtime ms per image at 512 and 1024 px (the
model's exported graph, median of --runs after a warm-up); and `faststyle evaluate`'s mean
scores on the content photos at 256 px (the training objective: loss and its content and
style terms; style similarity, 1 = the style's Gram statistics exactly). Lower loss is better.
Writes the table, with the command, machine and date, to bench/results/arch_table.json (--record;
bench/speed_record.py).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from speed_record import Printed, add_record_option, command_line, this_machine, write_record  # bench/ is not a package

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("models", nargs="+", help=".pth/.ckpt models, one per arch, trained on the same budget")
    p.add_argument("--style", required=True, help="the style image they were trained on")
    p.add_argument("--content", default=str(ROOT.parent / "shared" / "content"), help="folder of photos to score")
    p.add_argument("--size", type=int, default=256, help="longer side of the photos when scored")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    add_record_option(p, "arch_table")
    args = p.parse_args(argv)

    from faststyle.export.onnx_export import export_onnx
    from faststyle.model.checkpoint import load_model
    from faststyle.model.transform_net import count_flops
    from faststyle.quality.evaluate import EvaluateRequest, evaluate
    from faststyle.runtime import Stylizer
    from faststyle.timing import median_ms

    show = Printed()
    show("| arch | params | GFLOP @512 | ORT ms @512 | ORT ms @1024 | loss | content | style | style sim. |")
    show("|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="faststyle-arch-") as tmp:
        for i, model in enumerate(args.models):
            loaded = load_model(model)
            net = loaded.net
            onnx_path = export_onnx(loaded, Path(tmp) / f"{i}.onnx", verify=False)
            ort = Stylizer(onnx_path, threads=args.threads)
            images = [np.random.default_rng(s).integers(0, 256, (s, s, 3), dtype=np.uint8) for s in (512, 1024)]
            ms = [median_ms(lambda: ort(x), args.runs) for x in images]
            request = EvaluateRequest(
                model, args.content, args.style, size=args.size, gatys_steps=(), out_dir=Path(tmp) / f"report{i}"
            )
            m = evaluate(request)["mean"]["model"]
            params = sum(t.numel() for t in net.parameters()) / 1e6
            show(
                f"| {net.arch} | {params:.2f} M | {count_flops(net, 512, 512) / 1e9:.1f} | {ms[0]:.0f} | {ms[1]:.0f} "
                f"| {m['loss']:.3f} | {m['content']:.3f} | {m['style']:.3f} | {m['style_similarity']:.3f} |"
            )
    write_record(args.record, show.text(), ("archs",), command_line("arch_table", argv), this_machine())
    return 0


if __name__ == "__main__":
    sys.exit(main())
