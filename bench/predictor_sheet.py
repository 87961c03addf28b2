"""The contact sheet of issue 52: photo | a painting never seen | anystyle's one pass | a 5-minute
fine-tune, one row per painting, each on a held-out photo of photos_eval.

    python bench/predictor_sheet.py [-m anystyle] --finetuned STEM=MODEL.pth ... [--size 512] [-o SHEET.jpg]

The one pass is what `stylize photo.jpg --style-image painting.jpg` gives (ONNX Runtime fp32); a
fine-tune paints its style named like the painting. Paintings default to the three of
../shared/styles_extra that neither the base nor the predictor trained on.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from anchors import SHARED, held_out
from PIL import Image
from predictor import UNSEEN

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-m", "--model", default="anystyle")
    p.add_argument(
        "--finetuned", nargs="+", action="extend", default=[], help="STEM=MODEL.pth: a painting's 5-minute fine-tune"
    )
    p.add_argument("--size", type=int, default=512, help="the photos' longer side")
    p.add_argument("-o", "--output", type=Path, default=ROOT / "docs" / "predictor_sheet.jpg")
    args = p.parse_args(argv)

    from faststyle.image_io import fit_rgb, load_rgb
    from faststyle.inference.load import load_stylizer
    from faststyle.quality.contact_sheet import contact_sheet

    finetuned = dict(spec.split("=", 1) for spec in args.finetuned)
    photos = held_out(len(UNSEEN))
    rows = []
    for stem, photo_path in zip(UNSEEN, photos, strict=True):
        painting = SHARED / "styles_extra" / f"{stem}.jpg"
        photo = fit_rgb(load_rgb(photo_path), max_size=args.size)
        one_pass = load_stylizer(args.model, backend="ort", precision="fp32", style_image=painting, quiet=True)
        row = [photo, fit_rgb(load_rgb(painting), max_size=args.size), one_pass(photo)]
        if stem in finetuned:
            tuned = load_stylizer(finetuned[stem], backend="ort", precision="fp32", style=stem, quiet=True)
            row.append(tuned(photo))
        rows.append(row)
    labels = ["photo (held out)", "painting never seen", "one pass, no training", "5-minute fine-tune"]
    sheet = contact_sheet(rows, labels)
    Image.fromarray(np.asarray(sheet)).save(args.output, quality=90)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
