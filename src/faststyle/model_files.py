"""Which model file a name means: the one resolution behind `stylize -m`, `train --base`,
`batch`, `serve` and `evaluate`.

Bundled models ship inside the package (`faststyle/models/NAME.onnx`, with `NAME.pth`, the
checkpoint it was exported from, beside it), so they are there however faststyle was installed.
Folders listed in the FASTSTYLE_MODELS environment variable (separated by os.pathsep, ':' on
Linux and macOS) are searched first; an earlier folder wins when two hold the same name.
"""

from __future__ import annotations

import os
from pathlib import Path

from faststyle.errors import ModelError
from faststyle.values import user_path

DEFAULT_MODEL = "starry_night"
PAINTING_MODEL = "anystyle"  # the bundled model that paints any painting (stylize --style-image)
MODEL_SUFFIXES = (".onnx", ".ckpt", ".pth")
BUNDLED_DIR = Path(__file__).resolve().parent / "models"
PREDICTOR_SUFFIX = ".predictor"  # NAME.predictor.onnx: the style predictor of model NAME, no model itself


def model_dirs() -> list[Path]:
    """Folders searched for models by name, highest priority first."""
    extra = [user_path(p) for p in os.environ.get("FASTSTYLE_MODELS", "").split(os.pathsep) if p]
    return [*extra, BUNDLED_DIR]


def list_models() -> dict[str, Path]:
    """Model name -> path of its .onnx file, sorted by name."""
    found: dict[str, Path] = {}
    for folder in model_dirs():
        if folder.is_dir():
            for path in sorted(folder.glob("*.onnx")):
                if not path.stem.endswith(PREDICTOR_SUFFIX):
                    found.setdefault(path.stem, path)
    return dict(sorted(found.items()))


def checkpoint_of(onnx_path: Path) -> Path | None:
    """The checkpoint a named model was exported from, when it sits beside it (NAME.pth)."""
    pth = onnx_path.with_suffix(".pth")
    return pth if pth.is_file() else None


def resolve_model(spec: str | os.PathLike[str] | None = None, prefer_checkpoint: bool = False) -> Path:
    """A model path (.onnx/.ckpt/.pth) or a model name (default 'starry_night') -> a file path.

    With `prefer_checkpoint`, a name resolves to its checkpoint when it has one (what the torch
    backend and fine-tuning need), else to its ONNX file.
    """
    spec = DEFAULT_MODEL if spec is None else spec
    path = user_path(spec)
    if path.suffix.lower() in MODEL_SUFFIXES or path.is_file() or os.sep in str(spec):
        if path.is_dir():
            raise ModelError(f"{path}: a folder, not a model file (pass a .onnx, .ckpt or .pth file)")
        if not path.is_file():
            raise ModelError(f"{path}: no such model file")
        return path
    models = list_models()
    if str(spec) in models:
        onnx_path = models[str(spec)]
        return (checkpoint_of(onnx_path) or onnx_path) if prefer_checkpoint else onnx_path
    if path.is_dir():  # not a name either: a folder the user meant as a model
        raise ModelError(f"{path}: a folder, not a model file (pass a .onnx, .ckpt or .pth file)")
    available = ", ".join(models) or "none; pass a .onnx, .ckpt or .pth file with -m"
    raise ModelError(f"no bundled model '{spec}' (available: {available})")
