"""The models a listing shows and the styles each holds: `serve`'s model folders and `stylize
--list`, read from each model's metadata without starting a session. Which file a model name
means is faststyle.model_files.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from faststyle.errors import UserError
from faststyle.export import metadata
from faststyle.model_files import PREDICTOR_SUFFIX, list_models
from faststyle.values import user_path


def collect(paths: list[str | os.PathLike[str]] | None = None) -> dict[str, Path]:
    """Name -> .onnx file for the given files and folders (first wins on a name clash);
    with no paths, every model `list_models` knows."""
    if not paths:
        return list_models()
    found: dict[str, Path] = {}
    for p in map(Path, paths):
        p = user_path(p)
        if p.is_dir():
            files = sorted(p.glob("*.onnx"))
        elif p.is_file() and p.suffix.lower() == ".onnx":
            files = [p]
        else:
            raise UserError(f"{p}: not a folder of .onnx models nor an .onnx file")
        for f in files:
            if not f.stem.endswith(PREDICTOR_SUFFIX) or f == p:  # a predictor graph is part of its model
                found.setdefault(f.stem, f)
    return dict(sorted(found.items()))


def style_records(onnx_path: Path) -> list[dict[str, Any]]:
    """The style records (faststyle.style_record) of an exported model, from its metadata
    (without starting a session); a model from before multi-style models records only its name."""
    import onnx

    try:
        meta = {p.key: p.value for p in onnx.load(str(onnx_path), load_external_data=False).metadata_props}
        return metadata.style_records(meta, onnx_path)
    except Exception:  # a listing shows what it can: an unreadable model is listed without its styles
        return []


def style_names(onnx_path: Path) -> list[str]:
    """The styles an exported model holds, from its metadata (without starting a session)."""
    return [r.get("name", "?") for r in style_records(onnx_path)]


def paints_any_painting(onnx_path: Path) -> bool:
    """Whether an exported model has a style predictor (`stylize --style-image`), from its metadata."""
    import onnx

    try:
        meta = {p.key: p.value for p in onnx.load(str(onnx_path), load_external_data=False).metadata_props}
    except Exception:  # a listing shows what it can
        return False
    return "predictor" in meta
