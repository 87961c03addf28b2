"""`faststyle evaluate -m MODEL --content DIR --style IMG`: scores, speed and a contact sheet."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from faststyle.allocator import keep_freed_memory
from faststyle.commands.common import Parser, add_device, add_stroke_scale, add_vgg_weights
from faststyle.errors import UserError, run_cli
from faststyle.loss.defaults import MIN_VGG_SIDE
from faststyle.net_geometry import MIN_SIZE
from faststyle.quality.request import EvaluateRequest
from faststyle.values import at_least, positive_int

# the flags' defaults, applied only with their measurement
FRAMES, VIDEO_FRAMES, TEMPORAL_BLEND = (
    EvaluateRequest.frames,
    EvaluateRequest.video_frames,
    EvaluateRequest.temporal_blend,
)


def build_parser(prog: str = "faststyle evaluate") -> argparse.ArgumentParser:
    p = Parser(
        prog=prog,
        description="Score a model on photos with its own training objective "
        "(content, style, tv), Gram style similarity and ms per image, beside the Gatys "
        "baseline; writes report.json and contact_sheet.png and prints a table.",
    )
    a = p.add_argument
    a(
        "-m",
        "--model",
        required=True,
        metavar="MODEL",
        help="a training .ckpt, a final model .pth, or an exported .onnx",
    )
    a("--content", required=True, metavar="DIR", help="folder of photos (or one photo) to stylize")
    a("--style", required=True, metavar="IMG", help="the style image the model was trained on")
    a(
        "--gatys-steps",
        default="50,100",
        metavar="N,N",
        help="L-BFGS step counts at which to score the Gatys baseline (one run); 0 skips it (default %(default)s)",
    )
    a(
        "--size",
        type=at_least(MIN_SIZE),
        nargs="+",
        default=[512],
        metavar="PX",
        help="longer side the photos are resized to; several sizes (--size 512 1024) score each into a folder "
        "of its own, -o/size_PX (default 512)",
    )
    a(
        "-o",
        "--output",
        default="report",
        metavar="DIR",
        help="folder for report.json and contact_sheet.png (default %(default)s)",
    )
    a(
        "--style-size",
        type=at_least(MIN_VGG_SIDE),
        metavar="PX",
        help="score under this style size instead of the model's own (from its checkpoint, else 256): for a model "
        "trained at another scale, such as pytorch/examples' at the style image's own size",
    )
    a(
        "--timing-runs",
        type=positive_int,
        default=5,
        metavar="N",
        help="timed model runs per image; the median is reported (default %(default)s)",
    )
    a(
        "--model-style",
        metavar="NAME",
        help="for a model holding several styles: the one to score [default: the one named like --style's file]",
    )
    a(
        "--temporal",
        action="store_true",
        help="also measure steadiness: the warping error under a 1 px pan and a 1%% zoom per frame, and the change "
        "under 2-level noise (uint8 levels, and relative to the output's contrast), for the model and the photo",
    )
    a(
        "--frames",
        type=at_least(2),
        metavar="N",
        help=f"frames of each synthetic camera motion with --temporal (default {FRAMES})",
    )
    a(
        "--video",
        metavar="FILE",
        help="also measure flicker on a real video: the warping error between consecutive outputs along OpenCV's "
        "DIS optical flow (occlusions masked by a forward-backward check), per frame and with stylize --temporal; "
        'needs pip install "faststyle-transfer[video]"',
    )
    a(
        "--video-frames",
        type=at_least(2),
        metavar="N",
        help=f"frames read from the start of --video (default {VIDEO_FRAMES})",
    )
    a(
        "--temporal-blend",
        type=float,
        metavar="A",
        help=f"the blend scored on --video as 'model --temporal' (stylize --temporal-blend; default {TEMPORAL_BLEND})",
    )
    add_stroke_scale(p)
    add_device(p)
    a("--overwrite", action="store_true", help="replace a report already in the output folder")
    add_vgg_weights(p)
    return p


def run(args: argparse.Namespace) -> int:
    # each only shapes a measurement its own flag asks for: given without it, it would be ignored
    if args.frames is not None and not args.temporal:
        raise UserError("--frames sets the length of --temporal's camera motions; add --temporal")
    for flag, value in (("--video-frames", args.video_frames), ("--temporal-blend", args.temporal_blend)):
        if value is not None and not args.video:
            raise UserError(f"{flag} shapes the --video measurement; add --video FILE")
    sizes = sorted(set(args.size))
    outs = [Path(args.output)] if len(sizes) == 1 else [Path(args.output) / f"size_{s}" for s in sizes]
    written = [out / name for out in outs for name in ("report.json", "contact_sheet.png")]
    if any(p.exists() for p in written) and not args.overwrite:  # minutes of scoring must not eat an old report
        raise UserError(f"-o {args.output} already holds a report; pass --overwrite to replace it, or another -o")
    keep_freed_memory()  # the models' passes and Gatys' steps reuse the last one's pages
    skipped = False
    for size, out in zip(sizes, outs, strict=True):
        if len(sizes) > 1:
            print(f"\n== {size} px", flush=True)
        skipped |= bool(evaluate_one(args, size, out))
    return 1 if skipped else 0  # photos that could not be read each had their error line


def evaluate_one(args: argparse.Namespace, size: int, out: Path) -> list[str]:
    """One size's report, printed and written to `out`; the photos that could not be read."""
    from faststyle.quality.evaluate import evaluate, parse_steps
    from faststyle.quality.report_table import format_table

    given = {  # flags left unset take the request's own defaults
        "frames": args.frames,
        "video_frames": args.video_frames,
        "temporal_blend": args.temporal_blend,
    }
    request = EvaluateRequest(
        args.model,
        args.content,
        args.style,
        size=size,
        gatys_steps=parse_steps(args.gatys_steps),
        out_dir=out,
        timing_runs=args.timing_runs,
        device=args.device,
        vgg_weights=args.vgg_weights,
        model_style=args.model_style,
        style_size=args.style_size,
        temporal=args.temporal,
        video=args.video,
        stroke_scale=args.stroke_scale,
        **{k: v for k, v in given.items() if v is not None},
    )
    report = evaluate(request, progress=lambda msg: print(msg, file=sys.stderr))
    print(format_table(report))
    print(f"wrote {report['report']} and {report['contact_sheet']}")
    skipped: list[str] = report["skipped"]
    return skipped


def main(argv: list[str] | None = None, prog: str = "faststyle evaluate") -> int:
    return run_cli(lambda: run(build_parser(prog).parse_args(argv)))
