"""A picture grid: one row per photo, columns photo | each model's stylization (torch-free for .onnx models)."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from faststyle.blend import style_weights
from faststyle.errors import UserError
from faststyle.image_io import IMAGE_SUFFIXES, fit_size, load_rgb, save_rgb
from faststyle.inference.load import load_stylizer
from faststyle.model_files import list_models
from faststyle.quality.contact_sheet import contact_sheet
from faststyle.scan import expand_inputs


def gallery(
    content: Sequence[str],
    models: Sequence[str] | None = None,
    size: int = 512,
    out: str | os.PathLike[str] = "gallery.jpg",
    styles: Sequence[str] | None = None,
) -> tuple[Path, list[str]]:
    """Stylize every photo in `content` (files, folders, globs) with every model (default: all
    bundled ones), each photo's longer side at most `size`; write the grid to `out`.

    A model holding several styles gets a column per style (default every one of its styles;
    `styles` names them, or blends such as "starry_night=0.5,wave=0.5", in order).
    Returns the grid's path and a line for each photo left out (missing or unreadable).
    """
    photos, errors = expand_inputs(list(content), suffixes=IMAGE_SUFFIXES)
    if not photos:
        raise UserError(errors[0] if errors else "no photos found in --content")
    if any(Path(p).resolve() == Path(out).resolve() for p in photos):
        raise UserError(f"-o {out} is one of the --content photos; choose another -o")
    names = list(models) if models else list(list_models())
    if not names:
        raise UserError("no models: pass -m MODEL, or list folders of .onnx files in $FASTSTYLE_MODELS")
    columns: list[tuple[str, str, Callable[[NDArray[np.uint8]], NDArray[np.uint8]]]] = []
    stylizers = [(name, load_stylizer(name)) for name in names]
    if styles and all(len(stylizer.styles) == 1 for _, stylizer in stylizers):
        raise UserError("--styles picks the columns of a multi-style model; none of the models given holds several")
    for name, stylizer in stylizers:
        if len(stylizer.styles) == 1:
            columns.append((name, stylizer.style, stylizer))
            continue
        for spec in styles or stylizer.styles:  # one engine, a weight vector per column
            weights, label = style_weights(spec, stylizer.styles)
            columns.append((name, label, partial(stylizer, weights=weights)))
    rows = []
    for path in photos:
        try:
            image = load_rgb(path, size=partial(fit_size, max_size=size))  # a big photo is reduced while decoding
        except UserError as e:  # one unreadable photo costs its row, not the grid
            errors.append(str(e))
            continue
        rows.append([image] + [stylize(image) for _, _, stylize in columns])
    if not rows:
        raise UserError(f"none of the --content photos could be read ({errors[0]})")
    labels = ["photo", *column_labels([(name, label) for name, label, _ in columns])]
    return save_rgb(contact_sheet(rows, labels), Path(out)), errors


def column_labels(columns: Sequence[tuple[str, str]]) -> list[str]:
    """(model, style label) per column -> the label over each column.

    Two models of one style (a from-scratch run beside a fine-tune, say) would share a label:
    such columns also name their model, by as much of its path as tells the models apart
    ("scratch/min30" and "styles/min30", not "min30" twice).
    """
    models = sorted({name for name, _ in columns})
    tags = {name: name for name in models}
    for depth in range(1, max((len(Path(n).parts) for n in models), default=0) + 1):
        tried = {n: "/".join(Path(n).with_suffix("").parts[-depth:]) for n in models}
        if len(set(tried.values())) == len(models):
            tags = tried
            break
    models_of = Counter(label for _, label in set(columns))  # the same model given twice is one
    return [f"{label} ({tags[name]})" if models_of[label] > 1 else label for name, label in columns]
