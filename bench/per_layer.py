"""Where a model's style similarity comes from: the Gram cosine against the painting at each VGG
layer, beside the structure distance, for several models of one style on the held-out photos.

    python bench/per_layer.py --style mosaic -m anchor=../shared/anchors/pytorch_examples_mosaic.onnx \\
        -m multistyle [-m NAME=PATH ...] [--sizes 512 1024] [--count 6]

`faststyle evaluate`'s style similarity is the mean of these four cosines (the painting at its
own size here, never enlarged); the anchors' targets read it at the side where the anchor peaks,
which for candy and mosaic is their full size. A model that trails the anchor at one layer only
lacks what that layer sees: relu1_2 colour, relu2_2 and relu3_3 brushwork and texture, relu4_3
object-sized motifs. Writes bench/results/per_layer_STYLE.json.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from anchors import SHARED, held_out  # bench/ is not a package
from speed_record import Printed, add_record_option, command_line, this_machine, write_record

LAYERS = ("relu1_2", "relu2_2", "relu3_3", "relu4_3")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--style", default="mosaic", help="a painting of ../shared/styles, by name")
    p.add_argument("-m", "--model", action="append", required=True, help="NAME=PATH or a bundled name; repeatable")
    p.add_argument("--sizes", type=int, nargs="+", default=[512])
    p.add_argument("--count", type=int, default=6, help="held-out photos (default %(default)s)")
    add_record_option(p, "per_layer")
    args = p.parse_args(argv)
    if args.record.endswith("per_layer.json"):
        args.record = args.record.replace("per_layer.json", f"per_layer_{args.style}.json")
    os.environ.setdefault("FASTSTYLE_VGG_WEIGHTS", str(SHARED / "weights" / "vgg16_imagenet_features.pth"))
    import torch

    from faststyle.image_io import fit_rgb, load_rgb
    from faststyle.loss.statistics import gram_matrix, style_similarity
    from faststyle.loss.structure import StructureDistance
    from faststyle.loss.vgg import VGGFeatures, load_vgg16_features
    from faststyle.model_files import resolve_model
    from faststyle.pixels import array_to_net
    from faststyle.runtime import Stylizer

    torch.set_grad_enabled(False)
    features = load_vgg16_features()
    taps, structure = VGGFeatures(features, list(LAYERS)), StructureDistance(features)
    painting = load_rgb(SHARED / "styles" / f"{args.style}.jpg")
    target = {n: gram_matrix(v, "chw") for n, v in taps(array_to_net(painting)).items()}
    photos = held_out(args.count)
    show = Printed()
    show(f"{args.style}: Gram cosine against the painting at its own size, per layer, and the structure distance;")
    show(f"means over {len(photos)} held-out photos of photos_eval at each output size")
    show("")
    show("| model | size | " + " | ".join(LAYERS) + " | mean | structure |")
    show("|---" * (len(LAYERS) + 4) + "|")
    for spec in args.model:
        name, _, path = spec.rpartition("=")
        model = resolve_model(path)
        # a model holding several styles is run on the painting's, a one-style model as it is
        stylizer = Stylizer(model)
        if len(stylizer.styles) > 1:
            stylizer = Stylizer(model, style=args.style)
        for size in args.sizes:
            sims, distance = np.zeros(len(LAYERS)), 0.0
            for photo in photos:
                x = fit_rgb(load_rgb(photo), max_size=size)
                out, pic = array_to_net(np.asarray(stylizer(x))), array_to_net(x)
                grams = {n: gram_matrix(v, "chw") for n, v in taps(out).items()}
                sims += [float(style_similarity(grams[n], target[n])[0]) for n in LAYERS]
                distance += float(structure(out, pic)[0])
            sims /= len(photos)
            cells = " | ".join(f"{s:.3f}" for s in sims)
            show(f"| {name or path} | {size} | {cells} | {sims.mean():.3f} | {distance / len(photos):.3f} |")
    table = f"per-layer-{args.style}"  # the name of its block in a docs page
    write_record(args.record, show.text(), (table,), command_line("per_layer", argv), this_machine())
    return 0


if __name__ == "__main__":
    sys.exit(main())
