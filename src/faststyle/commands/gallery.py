"""`faststyle gallery --content DIR [-m MODEL ...] -o grid.jpg`: photos x styles in one picture."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from faststyle.commands.common import Parser
from faststyle.errors import UserError, run_cli
from faststyle.net_geometry import MIN_SIZE
from faststyle.values import at_least


def build_parser(prog: str = "faststyle gallery") -> argparse.ArgumentParser:
    p = Parser(prog=prog, description="One picture: a row per photo, a column per model.")
    p.add_argument("--content", nargs="+", required=True, help="photos: files, folders or globs")
    p.add_argument("-m", "--model", nargs="+", help="models (bundled names or .onnx/.ckpt/.pth) [default: all bundled]")
    p.add_argument(
        "--size",
        type=at_least(MIN_SIZE),
        default=512,
        help=f"longer side of each picture in the grid (px, at least {MIN_SIZE}; default %(default)s)",
    )
    p.add_argument(
        "--styles",
        nargs="+",
        metavar="STYLE",
        help="for a multi-style model: the columns, each a style or a blend (a=0.5,b=0.5) [default: every style]",
    )
    p.add_argument("-o", "--output", default="gallery.jpg", help="where to write the grid (.jpg or .png)")
    p.add_argument("--overwrite", action="store_true", help="replace the output if it exists")
    return p


def main(argv: list[str] | None = None, prog: str = "faststyle gallery") -> int:
    from faststyle.quality.gallery import gallery

    def run() -> int:
        args = build_parser(prog).parse_args(argv)
        if Path(args.output).exists() and not args.overwrite:
            raise UserError(f"-o {args.output} exists; pass --overwrite to replace it")
        path, problems = gallery(args.content, args.model, args.size, args.output, args.styles)
        for problem in problems:
            print(f"error: {problem}", file=sys.stderr)
        print(f"wrote {path}" + (f" without {len(problems)} photo(s)" if problems else ""))
        return 1 if problems else 0

    return run_cli(run)
