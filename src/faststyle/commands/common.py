"""What every command shares: a parser whose errors are one line, and the flags that mean the
same thing in every command (--device, --vgg-weights)."""

from __future__ import annotations

import argparse
import re
import sys
from typing import NoReturn


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
