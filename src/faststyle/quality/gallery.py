"""A picture grid: one row per photo, columns photo | each model's stylization (torch-free for .onnx models)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from faststyle.errors import UserError
from faststyle.image_io import IMAGE_SUFFIXES, fit_rgb, load_rgb, save_rgb
from faststyle.inference.inputs import expand_inputs
from faststyle.inference.registry import list_models
from faststyle.inference.stylizer import load_stylizer
from faststyle.quality.contact_sheet import contact_sheet


def gallery(
    content: Sequence[str],
    models: Sequence[str] | None = None,
    size: int = 320,
    out: str | os.PathLike[str] = "gallery.jpg",
) -> Path:
    """Stylize every photo in `content` (files, folders, globs) with every model (default: all
    bundled ones), each photo's longer side at most `size`; write the grid to `out`."""
    photos, errors = expand_inputs(list(content), suffixes=IMAGE_SUFFIXES)
    if errors or not photos:
        raise UserError(errors[0] if errors else "no photos found in --content")
    names = list(models) if models else list(list_models())
    if not names:
        raise UserError("no models: pass -m MODEL, or list folders of .onnx files in $FASTSTYLE_MODELS")
    stylizers = [load_stylizer(name) for name in names]
    rows = []
    for path in photos:
        image = load_rgb(path)
        image = fit_rgb(image, max_size=size)
        rows.append([image] + [stylize(image) for stylize in stylizers])
    labels = ["photo"] + [s.style for s in stylizers]
    return save_rgb(contact_sheet(rows, labels), Path(out))
