"""User-facing errors: one line saying what is wrong and what to do, then a non-zero exit."""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType


class UserError(ValueError):
    """A problem with the user's input or environment; str() is the whole message."""


class ModelError(UserError):
    """A file that is not a usable faststyle model (`serve` skips such a file and goes on)."""


class ImageError(UserError):
    """A file that cannot be used as an image (training skips such a photo and goes on)."""


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that every `finally` and context manager cleans up."""


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise Terminated


def run_cli(fn: Callable[[], object]) -> int:
    """Run an entry point; turn UserErrors, Ctrl-C and SIGTERM into one line on stderr and an exit code."""
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        result = fn()
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except SystemExit as e:  # argparse: --help (0) or a bad argument (2, its one line already printed)
        return e.code if isinstance(e.code, int) else 2
    except Terminated:
        print("terminated", file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    return result if isinstance(result, int) else 0
