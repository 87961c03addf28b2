"""Single-style models before and after a retrain, at the sizes people use.

    python bench/retrained.py --style starry_night -m before=OLD.onnx -m after=NEW.onnx \
        [--style wave -m before=... -m after=...] [--sizes 512 1024] [--count 6]

Each --style is followed by its models (NAME=PATH). For each style and size, `faststyle
evaluate` scores every model on the first --count held-out photos of ../shared/data/photos_eval
that are at least 1024 px long, against ../shared/styles/STYLE.jpg. Issue 48's target for the
retrained single-style models: at its own peak side, the new model's similarity is at least the
old one's at its own peak, and its strokes are visibly larger at 1024 px (the sheet).
Writes bench/results/retrained.json, docs/retrained.md and docs/retrained_1024.jpg (per photo,
512 px crops at 1:1 of the 1024 px outputs: photo | each model, for each style).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
from anchors import CROP, SHARED, centre_crop, held_out

ROOT = Path(__file__).resolve().parents[1]


def parse(argv: list[str] | None) -> tuple[argparse.Namespace, dict[str, dict[str, str]]]:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--style", action="append", required=True, help="a painting in ../shared/styles; repeatable")
    p.add_argument("-m", "--model", action="append", required=True, help="NAME=PATH, for the --style before it")
    p.add_argument("--sizes", type=int, nargs="+", default=[512, 1024])
    p.add_argument("--count", type=int, default=6, help="held-out photos (default %(default)s)")
    p.add_argument("--sheet-photos", type=int, default=2, help="photos in the contact sheet (default %(default)s)")
    p.add_argument("--out", default=str(ROOT / "bench" / "results" / "retrained.json"))
    p.add_argument("--sheet", default=str(ROOT / "docs" / "retrained_1024.jpg"))
    p.add_argument("--doc", default=str(ROOT / "docs" / "retrained.md"))
    args = p.parse_args(argv)
    # -m flags belong to the --style given before them: argparse keeps no order, so read argv itself
    argv = sys.argv[1:] if argv is None else argv
    groups: dict[str, dict[str, str]] = {}
    style = None
    for flag, value in itertools.pairwise(argv):
        if flag == "--style":
            style = value
            groups.setdefault(style, {})
        elif flag in ("-m", "--model"):
            if style is None:
                p.error("give --style before its -m models")
            name, _, path = value.partition("=")
            groups[style][name] = path
    return args, groups


def main(argv: list[str] | None = None) -> int:
    args, groups = parse(argv)
    os.environ.setdefault("FASTSTYLE_VGG_WEIGHTS", str(SHARED / "weights" / "vgg16_imagenet_features.pth"))

    from faststyle.cpu import cpu_summary
    from faststyle.image_io import fit_rgb, load_rgb, save_rgb
    from faststyle.quality.contact_sheet import contact_sheet
    from faststyle.quality.evaluate import EvaluateRequest, evaluate
    from faststyle.runtime import Stylizer

    photos = held_out(args.count)
    results: dict[str, dict[str, dict[str, object]]] = {}
    sheet_rows: list[list[np.ndarray]] = [[] for _ in photos[: args.sheet_photos]]
    labels = ["photo"]
    with tempfile.TemporaryDirectory() as tmp:
        content = Path(tmp) / "photos"
        content.mkdir()
        for photo in photos:
            (content / photo.name).symlink_to(photo)
        for style, models in groups.items():
            painting = SHARED / "styles" / f"{style}.jpg"
            results[style] = {}
            for size in args.sizes:
                results[style][str(size)] = {}
                for who, path in models.items():
                    print(f"{style} {size} px: {who}", file=sys.stderr, flush=True)
                    out = Path(tmp) / f"{style}_{size}_{who}"
                    report = evaluate(
                        EvaluateRequest(path, content, painting, size=size, gatys_steps=(), out_dir=out, timing_runs=1)
                    )
                    results[style][str(size)][who] = report["mean"]["model"]
            labels += [f"{who} {style}" for who in models]
            for path in models.values():
                stylizer = Stylizer(path)
                if len(stylizer.styles) > 1:  # a multi-style model: its style of this name, as evaluate scores it
                    stylizer = Stylizer(path, style=style)
                for row, photo in zip(sheet_rows, photos, strict=False):
                    image = fit_rgb(load_rgb(photo), max_size=1024)
                    if not row:
                        row.append(centre_crop(image, CROP))
                    row.append(centre_crop(stylizer(image), CROP))
    record = {
        "command": "python bench/retrained.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": cpu_summary(),
        "photos": [p.name for p in photos],
        "results": results,
    }
    Path(args.out).write_text(json.dumps(record, indent=1) + "\n")
    save_rgb(contact_sheet(sheet_rows, labels), args.sheet, quality=80)
    page = doc(record, Path(args.sheet))
    Path(args.doc).write_text(page)
    print(page)
    print(f"wrote {args.out}, {args.doc} and {args.sheet}")
    return 0


def doc(record: dict[str, object], sheet: Path) -> str:
    photos = record["photos"]
    assert isinstance(photos, list)
    return "\n".join(
        [
            "# Shipped single-style models before and after the 512 px stroke scale",
            "",
            f"Written by `{record['command']}` on {record['machine']}, from bench/results/retrained.json.",
            f"Means over {len(photos)} held-out photos of ../shared/data/photos_eval ({', '.join(photos)}),",
            "each resized so its longer side is the size given. Peak similarity: the highest Gram cosine to",
            "the painting over its longer side L in 256..1024 px (mean over relu1_2..relu4_3); stroke scale:",
            "the L where it peaks; structure: distance of the output's VGG features from the photo's (lower",
            "keeps more of the photo). Target (issue 48): the retrained model's peak similarity at least the",
            "old one's, with visibly larger strokes at 1024 px.",
            "",
            table(record["results"]),  # type: ignore[arg-type]
            "",
            f"![photo, then each model: 512 px crops at 1:1 of 1024 px outputs]({sheet.name})",
            "",
        ]
    )


def table(results: dict[str, dict[str, dict[str, dict[str, object]]]]) -> str:
    lines = [
        "| style | size | model | peak similarity | stroke scale | similarity at L=512 | structure |",
        "|---|---|---|---|---|---|---|",
    ]
    for style, sizes in results.items():
        for size, rows in sizes.items():
            for who, scores in rows.items():
                by_side = scores["similarity_by_side"]
                assert isinstance(by_side, dict)
                curve = {str(side): value for side, value in by_side.items()}  # int keys until saved as JSON
                at512 = f"{curve['512']:.3f}" if "512" in curve else "-"
                lines.append(
                    f"| {style} | {size} | {who} | {max(curve.values()):.3f} | {scores['stroke_scale']:.0f} px | "
                    f"{at512} | {scores['structure']:.3f} |"
                )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
