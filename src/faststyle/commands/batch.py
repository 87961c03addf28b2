"""`faststyle batch INPUT OUTPUT`: stylize a folder tree or a dataset into a mirrored tree.

Exit status: 0 when every missing output was written, 1 when some images failed (each with
its `error:` line; the others are written), 2 for bad arguments or a bad model.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from faststyle.commands.common import Parser, add_stroke_scale
from faststyle.errors import UserError, run_cli
from faststyle.inference.stylizer import PRECISIONS, TORCH_FREE_BACKENDS
from faststyle.net_geometry import MIN_SIZE
from faststyle.values import at_least, given_path, positive_int, thread_count, unit_float


def build_parser(prog: str = "faststyle batch") -> argparse.ArgumentParser:
    p = Parser(
        prog=prog,
        description="Stylize every image below INPUT into the same tree below OUTPUT (or every image of a "
        "Hugging Face dataset with --dataset). Outputs that exist are skipped, so an interrupted job run again "
        "finishes it; every output is written whole or not at all.",
    )
    a = p.add_argument
    a(
        "input",
        metavar="INPUT",
        type=given_path,
        help="a folder tree of images, or with --dataset a Hub dataset id or a folder",
    )
    a("output", metavar="OUTPUT", type=given_path, help="the folder the stylized tree goes to (created if missing)")
    a(
        "-m",
        "--model",
        default=None,
        help="bundled model name, or a .onnx / .ckpt / .pth file [default: starry_night; anystyle with --style-image]",
    )
    a(
        "--style",
        metavar="NAME",
        help="for a multi-style model: a style or a blend (a=0.7,b=0.3), or random (one of "
        "its styles per image) or random-blend (a random mix of two per image), seeded by --seed [default: the first]",
    )
    a(
        "--dataset",
        action="store_true",
        help="INPUT is a Hugging Face datasets image dataset (Hub id or folder); "
        "outputs are OUTPUT/SPLIT/000123.jpg by row",
    )
    a("--split", default="train", help="the dataset split (default %(default)s)")
    a("--image-column", default="image", help="the dataset's image column (default %(default)s)")
    a(
        "--engine",
        choices=["local", "ray"],
        default="local",
        help="local: one process per core on this machine (default); ray: a Ray Data pipeline (pip install "
        "'faststyle-transfer[ray]'), local or on the cluster RAY_ADDRESS names",
    )
    a("--workers", type=thread_count, default=None, metavar="N", help="processes or Ray actors [default: every core]")
    a("--backend", choices=TORCH_FREE_BACKENDS, default="auto", help="engine, as for stylize (default auto)")
    a("--precision", choices=PRECISIONS, default="auto", help="as for stylize (default auto)")
    a(
        "--style-image",
        metavar="PAINTING",
        help="paint in the style of any painting, with no training (a model with a style predictor, default "
        "anystyle); it joins the model's styles under its file's name, for --style blends and random styles",
    )
    a("--max-size", type=at_least(MIN_SIZE), metavar="N", help="shrink so the longer side is at most N pixels first")
    a("--strength", type=unit_float, default=1.0, metavar="S", help="mix with the photo: 1 full style (default)")
    add_stroke_scale(p)
    a("--preserve-color", action="store_true", help="keep each photo's colours")
    a("--seed", type=positive_int, default=1, help="seed of the random styles (default %(default)s)")
    a("-q", "--quiet", action="store_true", help="no progress bar")
    return p


def run(args: argparse.Namespace) -> int:
    from faststyle.inference.batch import RANDOM_STYLES, Settings, Source, default_workers, plan
    from faststyle.inference.load import load_stylizer
    from faststyle.inference.pipeline import Options
    from faststyle.model_files import PAINTING_MODEL, resolve_model

    source = Source(args.input, args.dataset, args.split, args.image_column)
    output = Path(args.output)
    items = plan(source, output)
    workers = args.workers or default_workers()
    with tempfile.TemporaryDirectory(prefix="faststyle-batch-") as tmp:
        model = resolve_model(PAINTING_MODEL if args.model is None and args.style_image else args.model)
        if model.suffix.lower() != ".onnx":  # export once here, not once per worker
            from faststyle.export.onnx_export import export_onnx

            model = export_onnx(model, Path(tmp) / f"{model.stem}.onnx", verify=False)
        fixed = None if args.style in RANDOM_STYLES else args.style
        probe = load_stylizer(
            model,
            args.backend,
            "cpu",
            threads=1,
            style=fixed,
            precision=args.precision,
            quiet=args.quiet,
            style_image=args.style_image,
        )  # checks model, painting and style, and picks the engine once, here
        if args.style in RANDOM_STYLES and len(probe.styles) < 2:
            raise UserError(f"--style {args.style}: {model.name} holds one style; random styles need several")
        settings = Settings(
            str(model),
            probe.backend,
            getattr(probe, "precision", "fp32"),
            args.style,
            Options(
                max_size=args.max_size,
                stroke_scale=args.stroke_scale,
                preserve_color=args.preserve_color,
                strength=args.strength,
                progress=False,
            ),
            source,
            args.seed,
            args.style_image,
        )
        if args.engine == "ray":
            from faststyle.inference.batch_ray import run_ray

            report = run_ray(items, settings, workers, progress=not args.quiet)
        else:
            from faststyle.inference.batch import run_local

            report = run_local(items, settings, workers, progress=not args.quiet)
    for problem in report.failed if args.engine == "ray" else []:
        print(f"error: {problem}", file=sys.stderr)
    print(
        f"{report.written} written, {report.skipped} already there, {len(report.failed)} failed "
        f"({report.images_per_s:.2f} images/s on {workers} {args.engine} workers, {probe.backend} "
        f"{getattr(probe, 'precision', 'fp32')}) -> {output}"
    )
    return 1 if report.failed else 0


def main(argv: list[str] | None = None, prog: str = "faststyle batch") -> int:
    return run_cli(lambda: run(build_parser(prog).parse_args(argv)))
