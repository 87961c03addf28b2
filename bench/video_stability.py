"""How much a model's video flickers, per frame and with `stylize --temporal`, with a picture.

    python bench/video_stability.py MODEL [MODEL ...] [--content ../shared/content] [--frames 8]
        [--size 256] [--blend 0.5] [-o docs/video_stability.jpg]

For each model, on synthetic camera motion built from each content photo (faststyle.quality.temporal:
a 1 px pan and a 1% zoom per frame): the warping error of per-frame stylization and of the
flow-guided blend (--temporal), in uint8 levels, and the outputs' fine detail (mean absolute
Laplacian, which blending can soften). The picture: for the first photo's pan, each variant's
frame t, frame t+1, and their difference after undoing the motion, amplified 4x (flicker shows
as bright texture; a steady model's difference is dark). Writes the table, with the command,
machine and date, to bench/results/video_stability.json (--record; bench/speed_record.py).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from speed_record import Printed, add_record_option, command_line, this_machine, write_record  # bench/ is not a package

ROOT = Path(__file__).resolve().parents[1]


def detail(images: np.ndarray) -> float:
    """Mean absolute Laplacian of the grey images [T, H, W, 3]: fine detail."""
    grey = images.astype(np.float64).mean(-1)
    lap = 4 * grey[:, 1:-1, 1:-1] - grey[:, :-2, 1:-1] - grey[:, 2:, 1:-1] - grey[:, 1:-1, :-2] - grey[:, 1:-1, 2:]
    return float(np.abs(lap).mean())


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("models", nargs="+", help="bundled names or .onnx/.pth files")
    p.add_argument("--content", type=Path, default=ROOT.parent / "shared" / "content")
    p.add_argument("--frames", type=int, default=8)
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--blend", type=float, default=0.5, help="--temporal's share of the previous output")
    p.add_argument("-o", "--output", type=Path, default=ROOT / "docs" / "video_stability.jpg")
    add_record_option(p, "video_stability")
    args = p.parse_args(argv)

    from faststyle.image_io import IMAGE_SUFFIXES, load_rgb, save_rgb
    from faststyle.inference.load import load_stylizer
    from faststyle.inference.temporal_blend import TemporalBlend
    from faststyle.quality import temporal as T
    from faststyle.quality.contact_sheet import contact_sheet

    photos = [
        T.fit_photo(load_rgb(path), args.size, args.frames)
        for path in sorted(args.content.iterdir())
        if path.suffix.lower() in IMAGE_SUFFIXES
    ]
    show = Printed()
    show(f"{len(photos)} photos, {args.frames} frames at {args.size} px; warping error in levels (lower = steadier)")
    show("| model | per frame: pan | zoom | detail | --temporal: pan | zoom | detail |")
    show("|---|---|---|---|---|---|---|")
    rows, labels = [], ["frame t", "frame t+1", "difference x4"]
    for name in args.models:
        stylizer = load_stylizer(name, backend="ort" if name.endswith(".onnx") else "auto", quiet=True)
        scores: dict[str, list[float]] = {}
        for i, photo in enumerate(photos):
            for motion, frames, undo in (
                ("pan", T.pan_frames(photo, args.size, args.frames), T.unpan),
                ("zoom", T.zoom_frames(photo, args.size, args.frames), T.unzoom),
            ):
                alone = np.stack([stylizer(f) for f in frames])
                blend = TemporalBlend(stylizer, args.blend)
                steadied = np.stack([blend(f) for f in frames])
                for variant, out in (("frame", alone), ("temporal", steadied)):
                    scores.setdefault(f"{variant} {motion}", []).append(T.warping_error(out, undo))
                    scores.setdefault(f"{variant} detail", []).append(detail(out[1:]))
                    if i == 0 and motion == "pan":
                        back, valid = T.unpan(out[1])
                        diff = np.abs(out[0].astype(np.float64) - back) * valid[..., None]
                        rows.append([out[0], out[1], np.clip(diff * 4, 0, 255).astype(np.uint8)])
        m = {k: float(np.mean(v)) for k, v in scores.items()}
        show(
            f"| {stylizer.style} | {m['frame pan']:.2f} | {m['frame zoom']:.2f} | {m['frame detail']:.1f} "
            f"| {m['temporal pan']:.2f} | {m['temporal zoom']:.2f} | {m['temporal detail']:.1f} |"
        )
    save_rgb(contact_sheet(rows, labels), args.output)
    write_record(args.record, show.text(), ("synthetic-motion",), command_line("video_stability", argv), this_machine())
    print(f"wrote {args.output} (rows: each model per frame, then with --temporal {args.blend})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
