"""`faststyle export CKPT -o export/NAME.onnx`."""

from __future__ import annotations

import argparse
from pathlib import Path

from faststyle.commands.common import Parser
from faststyle.errors import UserError, run_cli
from faststyle.export.metadata import LAYOUTS


def build_parser(prog: str = "faststyle export") -> argparse.ArgumentParser:
    p = Parser(
        prog=prog,
        description="Export a trained model to one verified ONNX file "
        "(onnx.checker + ONNX Runtime vs torch within 1 uint8 level).",
    )
    p.add_argument("checkpoint", help="a training .ckpt or a final model .pth")
    p.add_argument("-o", "--output", help="ONNX file to write [default: export/STYLE.onnx]")
    p.add_argument(
        "--layout",
        choices=LAYOUTS,
        default="pixels",
        help="pixels: uint8 [N,H,W,3] in and out, any size (default); zoo: float32 [N,3,H,W] 0-255 (ONNX Model "
        "Zoo); net: the bare network, float32 [N,3,H,W] 0-1, H and W multiples of 4 and at least 16, the caller "
        "pads (no Shape ops: OpenCV 4.x loads it)",
    )
    p.add_argument(
        "--style",
        metavar="NAME",
        help="with --layout net and a multi-style model: the style (or blend, a=0.7,b=0.3) fixed in the graph "
        "[default: the first]",
    )
    p.add_argument("--no-verify", dest="verify", action="store_false", help="skip the ORT-vs-torch check")
    p.add_argument("--overwrite", action="store_true", help="replace the output file if it exists")
    p.add_argument(
        "--triton",
        metavar="DIR",
        help="write a Triton Inference Server model repository instead: DIR/NAME/config.pbtxt (dynamic batching, "
        "variable H and W) and DIR/NAME/1/model.onnx",
    )
    p.add_argument(
        "--triton-backend",
        choices=["onnxruntime", "python"],
        default="onnxruntime",
        help="Triton backend: onnxruntime (default), or python (model.py runs the file with ONNX Runtime: for a "
        "server without the ONNX Runtime backend)",
    )
    p.add_argument(
        "--int8",
        action="store_true",
        help="also write NAME.int8.onnx beside it: static int8 (QDQ) quantization, its ranges calibrated on "
        "--calibration photos; faststyle.runtime uses it where it is faster and within 1 level mean / 24 max",
    )
    p.add_argument(
        "--calibration",
        metavar="DIR",
        help="photos to calibrate --int8 on (up to 16, sorted by name) [default: faststyle's calibration photo]",
    )
    return p


def run(args: argparse.Namespace) -> int:
    from faststyle.export.onnx_export import export_onnx
    from faststyle.model.checkpoint import load_model

    if args.triton:
        given = (("-o", args.output), ("--int8", args.int8), ("--style", args.style))
        clashing = [flag for flag, value in given if value]
        if clashing or args.layout != "pixels":
            flag = clashing[0] if clashing else "--layout"
            raise UserError(f"{flag} does not apply to --triton (a repository holds the pixels layout); drop it")
    if args.calibration and not args.int8:
        raise UserError("--calibration picks the photos for --int8; add --int8 or drop it")
    if args.output and Path(args.output).suffix.lower() != ".onnx":
        raise UserError(f"-o {args.output}: an ONNX model is written to a .onnx file")
    if args.int8:  # checked before the float file is written, not after
        from faststyle.export.quantize import calibration_images

        if args.layout != "pixels":
            raise UserError("--int8 quantizes the pixels layout only; drop --layout or --int8")
        if args.calibration and not Path(args.calibration).exists():
            raise UserError(f"--calibration {args.calibration}: no such file or folder")
        if args.calibration:
            calibration_images(args.calibration)
    loaded = load_model(args.checkpoint)
    if args.triton:
        from faststyle.export.triton import model_folders, write_repository

        taken = [
            t for f in model_folders(loaded.name, loaded.predictor is not None) if (t := Path(args.triton) / f).exists()
        ]
        if taken and not args.overwrite:
            raise UserError(f"{taken[0]} exists; pass --overwrite to replace it, or another --triton folder")
        print(f"wrote {write_repository(loaded, args.triton, backend=args.triton_backend, verify=args.verify)}")
        return 0
    out = Path(args.output or Path("export") / f"{loaded.name}.onnx")
    if out.exists() and not args.overwrite:
        raise UserError(f"{out} exists; pass --overwrite to replace it, or -o another file")
    if args.style and args.layout != "net":
        raise UserError("--style fixes a style for --layout net; the pixels and zoo layouts take it as an input")
    path = export_onnx(loaded, out, layout=args.layout, verify=args.verify, style=args.style)
    print(f"wrote {path}")
    if loaded.predictor is not None and args.layout != "net":
        from faststyle.export.predictor_export import predictor_file

        print(f"wrote {predictor_file(path)} (its style predictor: any painting as the style)")
    if args.int8:
        from faststyle.export.quantize import quantize_int8
        from faststyle.inference.choose import CALIBRATION_PHOTO

        print(f"wrote {quantize_int8(path, args.calibration or CALIBRATION_PHOTO)}")
    return 0


def main(argv: list[str] | None = None, prog: str = "faststyle export") -> int:
    return run_cli(lambda: run(build_parser(prog).parse_args(argv)))
