"""Which model a `-m` argument means: a file path, or the name of a bundled model.

Bundled models are the ONNX files in the project's `export/` folder (STYLE.onnx), plus
any in the folders listed in the FASTSTYLE_MODELS environment variable (separated by
os.pathsep, ':' on Linux and macOS); an earlier folder wins when two hold the same name.
"""

from __future__ import annotations

import os
from pathlib import Path

from faststyle.errors import ModelError

DEFAULT_MODEL = "starry_night"
MODEL_SUFFIXES = (".onnx", ".ckpt", ".pth")
EXPORT_DIR = Path(__file__).resolve().parents[3] / "export"


def model_dirs() -> list[Path]:
    """Folders searched for bundled models, highest priority first."""
    extra = [Path(p).expanduser() for p in os.environ.get("FASTSTYLE_MODELS", "").split(os.pathsep) if p]
    return extra + [EXPORT_DIR]


def list_models() -> dict[str, Path]:
    """Bundled model name -> path of its .onnx file, sorted by name."""
    found: dict[str, Path] = {}
    for folder in model_dirs():
        if folder.is_dir():
            for path in sorted(folder.glob("*.onnx")):
                found.setdefault(path.stem, path)
    return dict(sorted(found.items()))


def resolve_model(spec: str | os.PathLike | None = None) -> Path:
    """A model path (.onnx/.ckpt/.pth) or a bundled name (default 'starry_night') -> a file path."""
    spec = DEFAULT_MODEL if spec is None else spec
    path = Path(spec).expanduser()
    if path.suffix.lower() in MODEL_SUFFIXES or path.is_file() or os.sep in str(spec):
        if not path.is_file():
            raise ModelError(f"{path}: no such model file")
        return path
    models = list_models()
    if str(spec) in models:
        return models[str(spec)]
    available = ", ".join(models) or "none; pass a .onnx, .ckpt or .pth file with -m"
    raise ModelError(f"no bundled model '{spec}' (available: {available})")
