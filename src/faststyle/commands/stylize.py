"""`stylize INPUT... [-m MODEL] [-o OUT]`: stylize photos, folders, globs and videos.

Exit status: 0 when every input was written, 1 when any input failed (each failure is one
`error: <file>: <problem>` line on stderr, and the other inputs are still processed),
2 for a bad model or bad arguments.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from faststyle.allocator import keep_freed_memory
from faststyle.commands.common import Parser, add_device, add_stroke_scale
from faststyle.errors import UserError, run_cli
from faststyle.inference.stylizer import BACKENDS, PRECISIONS
from faststyle.net_geometry import MIN_SIZE
from faststyle.values import at_least, non_negative_int, positive_float, thread_count, unit_float

if TYPE_CHECKING:
    from faststyle.inference.pipeline import Options
    from faststyle.inference.stylizer import Stylizer


def _tile(text: str) -> int:
    from faststyle.inference.tiling import MIN_TILE

    value = int(non_negative_int(text))
    if value != 0 and value < MIN_TILE:
        raise argparse.ArgumentTypeError(f"{text}: must be 0 (never tile) or at least {MIN_TILE}")
    return value


def _blend(text: str) -> float:
    value = float(unit_float(text))
    if value >= 1:
        raise argparse.ArgumentTypeError(f"{text}: must be below 1 (1 would repeat the first frame forever)")
    return value


def build_parser(prog: str = "stylize") -> argparse.ArgumentParser:
    p = Parser(
        prog=prog,
        description="Stylize photos and videos with a fast neural style-transfer model.",
        epilog="Folders are not searched recursively. Outputs are named NAME_STYLE.jpg (videos keep "
        "their container, animated GIF/WebP/PNG files their format and every frame) beside each input, "
        "or in -o. Exit status: 0 all written, 1 some inputs failed, 2 bad model or arguments.",
    )
    p.add_argument("inputs", nargs="*", metavar="INPUT", help="image or video files, folders of them, or glob patterns")
    p.add_argument(
        "-m",
        "--model",
        default=None,
        help="bundled model name, or a .onnx / .ckpt / .pth file [default: starry_night; anystyle with --style-image]",
    )
    p.add_argument(
        "--style",
        metavar="NAME",
        help="for a model holding several styles (see --list): the style to paint with, or a blend such as "
        "starry_night=0.7,wave=0.3 [default: its first style]",
    )
    p.add_argument(
        "--style-image",
        metavar="PAINTING",
        help="paint in the style of any painting, with no training (one pass of the model's style predictor); "
        "the painting then also counts as a style named after its file, so --style can blend it, e.g. "
        "scream=0.7,candy=0.3 [default model then: anystyle]",
    )
    p.add_argument(
        "-o",
        "--output",
        type=Path,
        default=None,
        help="output folder (created if missing), or an output file when there is one input",
    )
    p.add_argument("--list", action="store_true", help="list the bundled models and exit")
    p.add_argument(
        "--max-size", type=at_least(MIN_SIZE), metavar="N", help="shrink so the longer side is at most N pixels first"
    )
    p.add_argument("--scale", type=positive_float, metavar="F", help="resize by factor F first (before --max-size)")
    add_stroke_scale(p)
    p.add_argument(
        "--preserve-color",
        action="store_true",
        help="keep the photo's colours, take only light and texture from the style",
    )
    p.add_argument(
        "--strength",
        type=unit_float,
        default=1.0,
        metavar="S",
        help="mix with the photo: 1 full style (default), 0 the photo unchanged",
    )
    p.add_argument(
        "--temporal",
        action="store_true",
        help="videos and animations: steady the strokes from frame to frame by mixing in the previous output, "
        "moved along the optical flow, where the flow is reliable (softens fine detail a little; "
        "needs 'faststyle-transfer[video]')",
    )
    p.add_argument(
        "--temporal-blend",
        type=_blend,
        default=None,
        metavar="A",
        help="with --temporal: the previous output's share, below 1 (default 0.5)",
    )
    p.add_argument(
        "--tile",
        type=_tile,
        metavar="N",
        help="stylize in overlapping NxN tiles to bound memory; 0 never [default: 2048 above 6 Mpx]",
    )
    p.add_argument(
        "--backend",
        choices=BACKENDS,
        default="auto",
        help="auto (default): the fastest engine that stays within 1 level mean / 24 max of ONNX Runtime fp32 on "
        "this machine, measured once per model and remembered (on a GPU that this onnxruntime cannot use: PyTorch "
        "there, for models with a checkpoint); ort: ONNX Runtime; openvino: OpenVINO (pip install "
        "'faststyle-transfer[openvino]'); torch: PyTorch, needs a .ckpt/.pth model",
    )
    p.add_argument(
        "--precision",
        choices=PRECISIONS,
        default="auto",
        help="auto (default) follows --backend's choice; bf16 needs a CPU with AMX or AVX512-BF16 (OpenVINO, torch); "
        "int8 needs NAME.int8.onnx beside the model (faststyle export --int8)",
    )
    add_device(p)
    p.add_argument(
        "--threads",
        type=thread_count,
        metavar="N",
        help="CPU threads to use, at most the core count [default: all cores]",
    )
    p.add_argument(
        "--overwrite", action="store_true", help="replace existing output files (inputs are never overwritten)"
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars and no 'wrote' lines")
    return p


def list_bundled() -> int:
    from faststyle.inference.registry import paints_any_painting, style_records
    from faststyle.model_files import DEFAULT_MODEL, list_models, model_dirs
    from faststyle.style_record import describe_stroke_scales

    models = list_models()
    if not models:
        print(f"no bundled models (looked in: {', '.join(str(d) for d in model_dirs())})")
        return 0
    for name, path in models.items():
        records = style_records(path)
        styles = [r.get("name", "?") for r in records]
        held = f"\t{len(styles)} styles: {', '.join(styles)}" if len(styles) > 1 else ""
        if paints_any_painting(path):
            held += ", and any painting (--style-image)"
        strokes = f"\t{describe_stroke_scales(records)}" if records else ""
        print(f"{name}{' (default)' if name == DEFAULT_MODEL else ''}\t{path}{strokes}{held}")
    return 0


def _check_output_suffix(out: Path | None) -> None:
    """-o c.avif would otherwise be taken for a new folder named so, and filled with .jpg files."""
    from faststyle.image_io import IMAGE_SUFFIXES
    from faststyle.inference.video import VIDEO_SUFFIXES

    if out is None or out.exists() or not out.suffix or out.suffix.lower() in IMAGE_SUFFIXES | VIDEO_SUFFIXES:
        return
    raise UserError(
        f"-o {out}: unknown output format '{out.suffix}' (use .jpg, .png, .webp, a video's "
        f"{', '.join(sorted(VIDEO_SUFFIXES))}, or a folder; for a new folder of that name, create it first)"
    )


def _plan(files: list[Path], out: Path | None, style: str) -> list[tuple[Path, Path | str]]:
    """Each input -> its output path, or a one-line error that makes it skipped."""
    from faststyle.image_io import IMAGE_SUFFIXES
    from faststyle.inference.animation import is_animated
    from faststyle.inference.inputs import claim, output_name
    from faststyle.inference.video import VIDEO_SUFFIXES

    out_is_file = out is not None and not out.is_dir() and out.suffix.lower() in IMAGE_SUFFIXES | VIDEO_SUFFIXES
    if out_is_file and len(files) > 1:
        raise UserError(f"-o {out}: with {len(files)} inputs, -o must be a folder")
    inputs = {f.resolve() for f in files}
    plan: list[tuple[Path, Path | str]] = []
    taken: set[Path] = set()
    for src in files:
        animated = is_animated(src)  # opens the file: once per input
        name = output_name(src, style, animated=animated)
        dest = out if out is not None and out_is_file else (out or src.parent) / name
        if dest.resolve() in inputs:
            plan.append((src, f"{src}: output {dest} would overwrite an input file; choose another -o"))
        elif out_is_file:
            plan.append((src, dest))
        else:
            # good.jpg and good.png in one folder: the later one's name keeps its extension
            # (good_png_starry_night.jpg), or, failing that, a number
            tagged = dest.parent / output_name(src, style, tag=src.suffix.lstrip(".").lower(), animated=animated)
            plan.append((src, claim(dest, tagged, taken, inputs)))
    return plan


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    if args.list:
        return list_bundled()
    if not args.inputs:
        parser.error("give at least one INPUT (or --list)")
    from tqdm import tqdm

    from faststyle.inference.inputs import MEDIA_SUFFIXES
    from faststyle.inference.load import load_stylizer
    from faststyle.inference.pipeline import Options
    from faststyle.model_files import PAINTING_MODEL
    from faststyle.scan import expand_inputs
    from faststyle.style_record import safe_name

    if args.temporal_blend is not None and not args.temporal:
        parser.error("--temporal-blend sets --temporal's mix; add --temporal")
    _check_output_suffix(args.output)
    if args.temporal:  # said once, before any work, not once per video
        from faststyle.inference.temporal_blend import require_opencv

        require_opencv()
    stylizer = load_stylizer(
        args.model if args.model is not None or args.style_image is None else PAINTING_MODEL,
        backend=args.backend,
        device=args.device,
        threads=args.threads,
        style=args.style,
        precision=args.precision,
        quiet=args.quiet,
        style_image=args.style_image,
    )
    if stylizer.backend == "torch":  # ONNX Runtime and OpenVINO keep arenas of their own
        keep_freed_memory()  # each photo or frame reuses the last one's pages: 1.5x at 1024 px
    files, errors = expand_inputs(args.inputs, skip_suffix=f"_{safe_name(stylizer.style)}", suffixes=MEDIA_SUFFIXES)
    for line in errors:
        print(f"error: {line}", file=sys.stderr)
    progress = False if args.quiet else None
    opts = Options(
        max_size=args.max_size,
        scale=args.scale,
        tile=args.tile,
        stroke_scale=args.stroke_scale,
        preserve_color=args.preserve_color,
        strength=args.strength,
        temporal=(0.5 if args.temporal_blend is None else args.temporal_blend) if args.temporal else 0.0,
        progress=progress,
    )
    failed = len(errors)
    plan = _plan(files, args.output, stylizer.style)
    # the file bar: never with -q or for one file; else on a terminal only (tqdm: disable=None)
    with tqdm(plan, unit="file", disable=True if args.quiet or len(plan) < 2 else None) as bar:
        for src, dest in bar:
            problem = dest if isinstance(dest, str) else None
            if problem is None and dest.is_dir():
                problem = f"{src}: output {dest} is a folder; name a file, or pass -o {dest}/ to write into it"
            if problem is None and dest.exists() and not args.overwrite:
                problem = f"{src}: output {dest} exists (pass --overwrite to replace it)"
            if problem is None:
                problem = _stylize_one(stylizer, src, dest, opts)
            if problem is not None:
                failed += 1
                tqdm.write(f"error: {problem}", file=sys.stderr)
            elif not args.quiet:
                tqdm.write(f"wrote {dest}", file=sys.stdout)
    return 1 if failed else 0


def _stylize_one(stylizer: Stylizer, src: Path, dest: Path, opts: Options) -> str | None:
    """Run the pipeline on one file; a one-line problem for the user, or None on success."""
    from faststyle.inference.pipeline import stylize_path

    try:
        stylize_path(stylizer, src, dest, opts)
    except UserError as e:
        return str(e)
    except MemoryError:
        return f"{src}: out of memory (try --tile 1024 or --max-size)"
    except Exception as e:  # one broken file must not stop the rest of the batch
        text = str(e).strip().splitlines()[0][:200] if str(e).strip() else ""
        return f"{src}: failed ({type(e).__name__}: {text})"
    return None


def main(argv: list[str] | None = None, prog: str = "stylize") -> int:
    parser = build_parser(prog)
    return run_cli(lambda: run(parser.parse_intermixed_args(argv), parser))


if __name__ == "__main__":
    sys.exit(main())
