"""`faststyle optimize --content PHOTO --style ART -o OUT.jpg`: Gatys et al. on one image.

The objective is the training objective (faststyle.loss.perceptual, same default weights), so a
preview here shows what a model trained with the same flags aims for.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from faststyle.allocator import keep_freed_memory
from faststyle.commands.common import Parser, add_device, add_vgg_weights
from faststyle.errors import UserError, run_cli
from faststyle.loss.defaults import MIN_VGG_SIDE
from faststyle.training.config_sources import add_arguments
from faststyle.training.objective import OBJECTIVE, check_objective
from faststyle.values import at_least, positive_float, positive_int


def build_parser(prog: str = "faststyle optimize") -> argparse.ArgumentParser:
    p = Parser(
        prog=prog,
        description="Stylize one photo by optimising its pixels (Gatys et al. 2016) "
        "under the training objective: a quality reference and a preview of a style.",
    )
    a = p.add_argument
    a("--content", required=True, metavar="PHOTO", help="the photo to stylize")
    a("--style", required=True, metavar="IMG", help="the style image")
    a("-o", "--output", required=True, metavar="OUT", help="image to write (.jpg, .png, .webp)")
    a(
        "--steps",
        type=positive_int,
        metavar="N",
        default=100,
        help="L-BFGS iterations, or Adam steps (default %(default)s)",
    )
    a(
        "--size",
        type=at_least(MIN_VGG_SIDE),
        metavar="PX",
        default=256,
        help="longer side of the output in px; the photo is resized to it (default %(default)s)",
    )
    a(
        "--method",
        choices=["lbfgs", "adam"],
        default="lbfgs",
        help="optimiser; L-BFGS needs far fewer steps (default %(default)s)",
    )
    a("--lr", type=positive_float, default=None, help="step size [default: 1.0 for L-BFGS, 0.02 for Adam]")
    # the objective's flags: training's own declarations (faststyle.training.config), with their defaults
    add_arguments(p, names=OBJECTIVE, defaults=True)
    add_vgg_weights(p)
    add_device(p)
    a("--overwrite", action="store_true", help="replace OUT if it exists")
    a("--quiet", action="store_true", help="no progress bar")
    return p


def check(args: argparse.Namespace) -> None:
    """Everything that can be wrong with the flags, before minutes of optimisation."""
    from PIL import Image

    check_objective(args.content_weight, args.style_weight, args.style_layer_weights, doing="optimise")
    out = Path(args.output)
    for flag, given in (("--content", args.content), ("--style", args.style)):
        if out.exists() and out.resolve() == Path(given).resolve():
            raise UserError(f"-o {args.output} is the {flag} image; choose another -o")
    if out.exists() and not args.overwrite:
        raise UserError(f"-o {args.output} exists; pass --overwrite to replace it")
    suffix = Path(args.output).suffix.lower()
    if suffix not in Image.registered_extensions():
        raise UserError(f"-o {args.output}: unknown image format '{suffix}' (use .jpg, .png or .webp)")


def run(args: argparse.Namespace) -> int:
    check(args)
    keep_freed_memory()  # each L-BFGS step reuses the last one's pages
    import torch
    from tqdm import tqdm

    from faststyle.hardware import pick_device
    from faststyle.image_io import load_rgb, save_rgb
    from faststyle.loss.perceptual import style_loss_for
    from faststyle.loss.vgg import load_vgg16_features
    from faststyle.pixels import net_to_array
    from faststyle.quality.gatys import gatys, load_image

    device = pick_device(args.device)
    content = load_image(args.content, args.size).to(device)
    style = load_rgb(args.style)
    features = load_vgg16_features(args.vgg_weights).to(device)
    loss_fn = style_loss_for(features, style, **{name: getattr(args, name) for name in OBJECTIVE})
    with torch.no_grad():
        start = float(loss_fn(content, content)["loss"])  # step 0: the photo itself
    with tqdm(total=args.steps, desc="optimize", unit="step", disable=args.quiet) as bar:

        def progress(step: int, terms: dict[str, float]) -> None:
            bar.set_postfix({k: f"{v:.4g}" for k, v in terms.items()}, refresh=False)
            bar.update(1)

        result = gatys(loss_fn, content, args.steps, method=args.method, lr=args.lr, progress=progress)[args.steps]
    with torch.no_grad():
        final = float(loss_fn(result, content)["loss"])
    path = save_rgb(net_to_array(result), args.output)
    print(
        f"wrote {path} ({result.shape[3]}x{result.shape[2]} px, loss {start:.4g} -> {final:.4g} in {args.steps} steps)"
    )
    return 0


def main(argv: list[str] | None = None, prog: str = "faststyle optimize") -> int:
    return run_cli(lambda: run(build_parser(prog).parse_args(argv)))
