"""`faststyle COMMAND ...`: one entry point for every tool; each command lives in faststyle.commands."""

from __future__ import annotations

import argparse
import importlib
import sys

# name -> (module in faststyle.commands, one-line help). Modules load only when used,
# so `faststyle stylize` never pays for importing the training stack.
COMMANDS = {
    "stylize": ("stylize", "stylize photos, folders, globs or videos with a trained model"),
    "train": ("train", "train a model for one or more style images (same as python train.py)"),
    "export": ("export", "export a checkpoint to a verified ONNX file"),
    "optimize": ("optimize", "Gatys-style optimisation of one image: quality reference and quick preview"),
    "evaluate": ("evaluate", "losses, style similarity and speed of a model, against the Gatys baseline"),
    "gallery": ("gallery", "a grid of photos x models, as in the README"),
    "serve": ("serve", "the stylizer in a web page, served on localhost (runs in the browser)"),
    "batch": ("batch", "stylize a folder tree or a dataset into a mirrored tree (resumable; local or Ray)"),
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    listing = "\n".join(f"  {name:<10} {help_}" for name, (_, help_) in COMMANDS.items())
    parser = argparse.ArgumentParser(
        prog="faststyle",
        description="Fast neural style transfer.",
        epilog=f"commands:\n{listing}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("command", choices=list(COMMANDS), help="one of the commands below")
    parser.add_argument(
        "args", nargs=argparse.REMAINDER, help="the command's own arguments (see faststyle COMMAND --help)"
    )
    if not argv or argv[0] in ("-h", "--help"):
        parser.print_help()
        return 0 if argv else 2
    if argv[0] not in COMMANDS:
        print(f"error: {argv[0]!r} is not a faststyle command (one of {', '.join(COMMANDS)})", file=sys.stderr)
        return 2
    ns = parser.parse_args(argv[:1])
    module = importlib.import_module(f"faststyle.commands.{COMMANDS[ns.command][0]}")
    code: int = module.main(argv[1:], prog=f"faststyle {ns.command}")  # every command's main returns an exit code
    return code


if __name__ == "__main__":
    sys.exit(main())
