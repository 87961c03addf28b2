"""`faststyle serve [--port 8000] [--host 127.0.0.1] [--models PATH...]`: the stylizer in a web page."""

from __future__ import annotations

import argparse

from faststyle.commands.common import Parser
from faststyle.errors import run_cli


def build_parser(prog: str = "faststyle serve") -> argparse.ArgumentParser:
    p = Parser(
        prog=prog,
        description="Serve the web page and the models on this machine. "
        "The browser runs the model itself (onnxruntime-web, WebAssembly); "
        "nothing is uploaded anywhere.",
    )
    p.add_argument("--port", type=int, default=8000, help="TCP port (0: any free one) [default: 8000]")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on [default: 127.0.0.1, this machine only]")
    p.add_argument(
        "--models",
        nargs="+",
        metavar="PATH",
        help="folders of .onnx models and/or .onnx files to offer, instead of the bundled "
        "models (export/*.onnx and $FASTSTYLE_MODELS)",
    )
    return p


def run(args: argparse.Namespace) -> int:
    from faststyle.errors import UserError
    from faststyle.web.server import serve

    if not 0 <= args.port <= 65535:
        raise UserError(f"--port must be 0-65535, not {args.port}")
    return serve(args.models, host=args.host, port=args.port)


def main(argv: list[str] | None = None, prog: str = "faststyle serve") -> int:
    return run_cli(lambda: run(build_parser(prog).parse_args(argv)))
