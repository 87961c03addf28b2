"""What each output is called: the one planner of output names (`claim`), shared by `stylize`
and `batch`, and the files `stylize` takes from a folder (images and videos; the scan itself
is faststyle.scan)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

from faststyle.image_io import IMAGE_SUFFIXES
from faststyle.inference.video import CONTAINERS, VIDEO_SUFFIXES
from faststyle.style_record import safe_name

MEDIA_SUFFIXES = IMAGE_SUFFIXES | VIDEO_SUFFIXES


def output_name(src: Path, style: str, tag: str = "", animated: bool = False) -> str:
    """photo.png -> photo_<style>.jpg (photo_<tag>_<style>.jpg with a tag); a video keeps its
    container (clip.mov -> clip_<style>.mov), an `animated` image its format (cat.gif -> cat_<style>.gif)."""
    suffix = src.suffix.lower() if animated or src.suffix.lower() in CONTAINERS else ".jpg"
    return f"{src.stem}{'_' + tag if tag else ''}_{safe_name(style)}{suffix}"


def claim(dest: Path, tagged: Path, taken: set[Path], inputs: set[Path] | frozenset[Path] = frozenset()) -> Path:
    """The output path for one input: `dest`, or, when an earlier input already has it (x.png,
    x.gif and x.ppm all make x.png), `tagged` (the name with the input's own extension in it),
    then tagged_2, tagged_3, ...; never an input's own path. Records the claim in `taken`
    (resolved paths). Shared by stylize and batch, so two inputs never share an output."""
    for candidate in itertools.chain([dest], _numbered(tagged)):
        if candidate.resolve() not in taken and candidate.resolve() not in inputs:
            taken.add(candidate.resolve())
            return candidate
    raise AssertionError("unreachable: the numbered names never run out")


def _numbered(path: Path) -> Iterator[Path]:
    """path, then path_2, path_3, ... (before the suffix)."""
    yield path
    for n in itertools.count(2):
        yield path.with_name(f"{path.stem}_{n}{path.suffix}")
