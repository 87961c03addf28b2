"""User-facing errors: one line saying what is wrong and what to do, then a non-zero exit."""

from __future__ import annotations

import sys
from collections.abc import Callable


class UserError(ValueError):
    """A problem with the user's input or environment; str() is the whole message."""


class ModelError(UserError):
    """A file that is not a usable faststyle model (`serve` skips such a file and goes on)."""


class ImageError(UserError):
    """A file that cannot be used as an image (training skips such a photo and goes on)."""


def run_cli(fn: Callable[[], object]) -> int:
    """Run an entry point; turn UserErrors and Ctrl-C into one line on stderr and an exit code."""
    try:
        result = fn()
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except SystemExit as e:  # argparse: --help (0) or a bad argument (2, its one line already printed)
        return e.code if isinstance(e.code, int) else 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return result if isinstance(result, int) else 0
