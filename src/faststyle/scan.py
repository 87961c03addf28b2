"""What the user's INPUT arguments name: the one scan of files, folders and globs, shared by
`stylize`, `gallery`, `evaluate` and `train --style`, and the one way a symlink loop met on
the way is told (`batch` walks its folders itself, and tells loops the same way).
"""

from __future__ import annotations

import errno
import glob
import os
import sys
from collections.abc import Iterable
from pathlib import Path

from faststyle.image_io import IMAGE_SUFFIXES
from faststyle.values import user_path


def expand_inputs(
    args: list[str], skip_suffix: str = "", suffixes: set[str] | frozenset[str] = IMAGE_SUFFIXES
) -> tuple[list[Path], list[str]]:
    """Command-line INPUTs -> (files to process, one-line errors for inputs that name nothing).

    A file is taken as given (its format is checked when it is read). A folder gives its files
    with one of `suffixes` (images by default), not recursing into subfolders,
    skipping hidden files and names ending in `skip_suffix` (our own earlier outputs, e.g.
    "_starry_night"). Anything else with * ? [ in it is expanded as a glob (for shells that
    do not, like cmd.exe). An unreadable folder is an error line, not a stop.

    A symlink loop (a link that leads back to where it is) named as an INPUT is an error line,
    as an unreadable file is; one met in a folder or by a glob is a warning on stderr, as it is
    no photo the folder was scanned for. Either way the other inputs go on.
    """
    files: list[Path] = []
    errors: list[str] = []
    for arg in args:
        path = user_path(arg)
        if symlink_loop(path):
            errors.append(f"{path}: {LOOP}")
            continue
        try:
            is_dir, exists = path.is_dir(), path.exists()
        except OSError as e:  # e.g. a file inside a folder the user may not enter
            errors.append(f"{path}: cannot read it ({e.strerror or type(e).__name__})")
            continue
        if is_dir:
            try:
                entries = sorted(path.iterdir())
            except OSError as e:
                errors.append(f"{path}: cannot read this folder ({e.strerror or type(e).__name__})")
                continue
            found = files_among(
                p
                for p in entries
                if p.suffix.lower() in suffixes
                and not p.name.startswith(".")
                and not (skip_suffix and p.stem.endswith(skip_suffix))
            )
            if not found:
                kinds = "images or videos" if set(suffixes) - IMAGE_SUFFIXES else "images"
                errors.append(f"{path}: no {kinds} in this folder")
            files += found
        elif not exists and any(c in arg for c in "*?["):
            found = files_among(Path(p) for p in sorted(glob.glob(str(path))))
            if not found:
                errors.append(f"{arg}: no files match this pattern")
            files += found
        else:
            files.append(path)  # a missing or unreadable file is reported when it is read, in input order
    seen: set[Path] = set()
    unique = []
    for p in files:
        key = p.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(p)
    return unique, errors


LOOP = "symlink loop: skipped (the link leads back to where it is)"


def symlink_loop(path: Path) -> bool:
    """Whether `path` (or a folder on the way to it) is a link that never reaches a file: the
    OS gives up on it (ELOOP), and Path.resolve raised RuntimeError, a traceback."""
    try:
        os.stat(path)
    except OSError as e:
        return e.errno == errno.ELOOP
    return False


def leads_back(path: Path) -> bool:
    """Whether `path` is a symlink loop, or a link to a folder that holds it (a walk down it
    would never end: `batch` does not follow it, and says so)."""
    if symlink_loop(path):
        return True
    if not path.is_symlink() or not path.is_dir():
        return False
    target, here = path.resolve(), path.parent.resolve()
    return target == here or target in here.parents


def warn_loop(path: Path) -> None:
    print(f"warning: {path}: {LOOP}", file=sys.stderr)


def files_among(paths: Iterable[Path]) -> list[Path]:
    """The files among `paths`. A symlink loop is neither a file nor a folder, so a scan would
    drop it without a word: it is named in a warning instead."""
    files = []
    for p in paths:
        if p.is_file():
            files.append(p)
        elif symlink_loop(p):
            warn_loop(p)
    return files
