"""What every command shares: a parser whose errors are one line, and the flags that mean the
same thing in every command (--device, --vgg-weights, --stroke-scale)."""

from __future__ import annotations

import argparse
import re
import sys
from typing import NoReturn

from faststyle.errors import UserError
from faststyle.inference.stroke_scale import check_stroke_scale


class Parser(argparse.ArgumentParser):
    """argparse, but a bad argument gives one `error:` line (no usage block) and exit status 2:
    "error: --size 8: must be at least 16 (see faststyle evaluate --help)"."""

    def error(self, message: str) -> NoReturn:
        if message.startswith("argument "):  # argparse's "argument --size: 8: must be ..."
            flag, _, problem = message[len("argument ") :].partition(": ")
            flag = flag.split("/")[-1]  # "-o/--output" -> "--output"
            # our checkers say "VALUE: problem" -> "--size 8: problem"; argparse's own words keep a colon
            message = f"{flag} {problem}" if re.match(r"'?[^\s:']*'?: ", problem) else f"{flag}: {problem}"
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


DEVICE_HELP = "auto (a GPU if there is one), cpu, cuda, cuda:N or mps"


def add_device(p: argparse.ArgumentParser, default: str = "auto") -> None:
    p.add_argument("--device", default=default, metavar="DEV", help=f"{DEVICE_HELP} (default: %(default)s)")


def stroke_scale(text: str | float) -> float:
    """A --stroke-scale value: a finite number above 0 (the photo's own limit is checked per photo)."""
    try:
        return check_stroke_scale(text)
    except UserError as e:
        raise argparse.ArgumentTypeError(str(e).removeprefix("--stroke-scale ")) from None


stroke_scale.__name__ = "stroke scale"


def add_stroke_scale(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--stroke-scale",
        type=stroke_scale,
        default=1.0,
        metavar="S",
        help="strokes S times as large as the model paints them (2: twice; 0.5: half) at the same output size: "
        "the model paints the photo shrunk by 1/S, and the result is brought back to full size guided by the "
        "photo's own edges (default %(default)s; `stylize --list` shows each model's stroke scale)",
    )


def add_vgg_weights(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--vgg-weights",
        metavar="PATH",
        default=None,
        help="VGG-16 features state dict [default: $FASTSTYLE_VGG_WEIGHTS, else torchvision's download]",
    )


def say(message: str) -> None:
    """Progress messages go to stderr, so stdout stays the command's result."""
    print(message, file=sys.stderr, flush=True)
