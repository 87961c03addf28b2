"""Do the default loss weights suit every style? Gatys previews of one photo in all styles.

    python bench/default_weights.py [--photo PHOTO] [--styles DIR] [--steps 60] [-o docs/default_weights.jpg]

Optimises the photo (longer side 256) for each style image with the default weights of
faststyle.loss.perceptual, the objective training uses, and writes one grid (style | result) plus
one line of loss terms per style. A training run per style is the real test; this is the
minute-per-style check that the relative weighting puts every style in the same range.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from faststyle.image_io import fit_rgb, load_rgb, save_rgb
from faststyle.loss.perceptual import style_loss_for
from faststyle.loss.vgg import load_vgg16_features
from faststyle.pixels import array_to_net, net_to_array
from faststyle.quality.contact_sheet import contact_sheet
from faststyle.quality.gatys import gatys

SHARED = Path(__file__).resolve().parents[2] / "shared"


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--photo", default=str(SHARED / "content" / "chicago.jpg"))
    p.add_argument("--styles", default=str(SHARED / "styles"))
    p.add_argument("--steps", type=int, default=60, help="L-BFGS iterations per style")
    p.add_argument("-o", "--output", default="docs/default_weights.jpg")
    args = p.parse_args(argv)
    features = load_vgg16_features()
    photo = load_rgb(args.photo)
    photo = fit_rgb(photo, max_size=256)
    content = array_to_net(photo)
    rows = []
    for style_path in sorted(Path(args.styles).glob("*.jpg")):
        style = load_rgb(style_path)
        loss_fn = style_loss_for(features, style)
        start = time.perf_counter()
        result = gatys(loss_fn, content, args.steps)[args.steps]
        with torch.no_grad():
            terms = {k: round(float(v), 3) for k, v in loss_fn(result, content).items()}
        print(f"{style_path.stem:<16} {terms}  {time.perf_counter() - start:.0f} s", flush=True)
        rows.append([fit_rgb(style, max_size=170), net_to_array(result)])
    print(f"wrote {save_rgb(contact_sheet(rows, ['style', f'Gatys {args.steps}, default weights']), args.output)}")


if __name__ == "__main__":
    main()
