"""A Triton Inference Server model repository for one model: `faststyle export --triton DIR`.

    DIR/NAME/config.pbtxt     dynamic batching, variable H and W, the ONNX Runtime backend
    DIR/NAME/1/model.onnx     the pixels layout (uint8 [N, H, W, 3] in and out)

Triton batches every input of a model with dynamic batching, so a multi-style model is exported
with per-image style weights: `style` float32 [N, S], one row per request. A model that paints
any painting also gets its style predictor as a model of its own, NAME_predictor
(`painting` uint8 [N, h, w, 3], longer side 256 -> `embedding` float32 [N, R]): a client runs it
once per painting and sends the embedding as the `style` of every image after. Requests are batched
together when their images have the same size (Triton's rule for variable dimensions).

`backend="python"` writes the same inputs, outputs and batching for Triton's Python backend,
with a model.py that runs the ONNX file with ONNX Runtime: for a server built without the ONNX
Runtime backend (the one bundled in the nvidia-pytriton wheel is such a server).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from faststyle.errors import UserError
from faststyle.export.onnx_export import export_onnx
from faststyle.export.predictor_export import predictor_file
from faststyle.model.checkpoint import LoadedModel, load_model
from faststyle.style_record import safe_name

BACKENDS = ("onnxruntime", "python")
PYTHON_MODEL = Path(__file__).with_name("triton_python_model.py")


def config_text(name: str, backend: str, num_styles: int, max_batch_size: int = 8) -> str:
    """config.pbtxt: Triton's text format of its ModelConfig protobuf."""
    style = (
        f"""
  {{
    name: "style"
    data_type: TYPE_FP32
    dims: [ {num_styles} ]
  }},"""
        if num_styles > 1
        else ""
    )
    return f"""name: "{name}"
backend: "{backend}"
max_batch_size: {max_batch_size}
input [{style}
  {{
    name: "image"
    data_type: TYPE_UINT8
    dims: [ -1, -1, 3 ]
  }}
]
output [
  {{
    name: "stylized"
    data_type: TYPE_UINT8
    dims: [ -1, -1, 3 ]
  }}
]
dynamic_batching {{
  max_queue_delay_microseconds: 5000
}}
"""


def predictor_config_text(name: str, backend: str, rows: int, max_batch_size: int = 8) -> str:
    """config.pbtxt of a model's style predictor: a painting in, its embedding out."""
    return f"""name: "{name}"
backend: "{backend}"
max_batch_size: {max_batch_size}
input [
  {{
    name: "painting"
    data_type: TYPE_UINT8
    dims: [ -1, -1, 3 ]
  }}
]
output [
  {{
    name: "embedding"
    data_type: TYPE_FP32
    dims: [ {rows} ]
  }}
]
dynamic_batching {{
  max_queue_delay_microseconds: 5000
}}
"""


def write_repository(
    model: str | os.PathLike[str] | LoadedModel,
    repository: str | os.PathLike[str],
    name: str | None = None,
    backend: str = "onnxruntime",
    max_batch_size: int = 8,
    verify: bool = True,
) -> Path:
    """Export `model` into a Triton model repository; returns the model's folder in it (a model
    with a style predictor also gets NAME_predictor beside it).

    The files are built beside their final place and moved in when all are whole, so a failed
    export leaves nothing behind. Into a folder that is already there, only this export's own
    files (config.pbtxt, 1/model.onnx, 1/model.py) are replaced: other versions and files of
    the user's stay.
    """
    if backend not in BACKENDS:
        raise UserError(f"--triton-backend must be one of {', '.join(BACKENDS)}, not {backend!r}")
    loaded = model if isinstance(model, LoadedModel) else load_model(model)
    name = safe_name(name or loaded.name)  # one folder inside the repository, never a path out of it
    repository = Path(repository)
    rows = loaded.net.num_styles
    names = model_folders(name, loaded.predictor is not None)
    for part, kind in zip(names, ("transform", "predictor")[: len(names)], strict=True):
        found = folder_kind(repository / part)
        if found not in (None, kind):  # two exports' names meet (a model named NAME_predictor)
            raise UserError(
                f"{repository / part} holds a {found} model, not this export's {kind}; export it under another name"
            )
    try:
        repository.mkdir(parents=True, exist_ok=True)
        building = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=repository))
    except OSError as e:
        raise UserError(f"{repository}: cannot write there ({e.strerror}); choose another --triton folder") from None
    try:
        onnx_path = export_onnx(loaded, building / name / "1" / "model.onnx", verify=verify, per_image_style=rows > 1)
        (building / name / "config.pbtxt").write_text(config_text(name, backend, rows, max_batch_size))
        if loaded.predictor is not None:  # exported beside the transform graph, moved to a model of its own
            (building / names[1] / "1").mkdir(parents=True)
            os.replace(predictor_file(onnx_path), building / names[1] / "1" / "model.onnx")
            (building / names[1] / "config.pbtxt").write_text(
                predictor_config_text(names[1], backend, rows, max_batch_size)
            )
        for part in names:
            if backend == "python":
                shutil.copyfile(PYTHON_MODEL, building / part / "1" / "model.py")
            _move_in(building / part, repository / part)
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return repository / name


def model_folders(name: str, predictor: bool) -> list[str]:
    """The repository folders an export of model `name` writes: its own, and its predictor's."""
    return [name, f"{name}_predictor"] if predictor else [name]


def folder_kind(folder: Path) -> str | None:
    """What a repository folder already holds: "predictor" (it takes a painting), "transform", or
    None (no model config there)."""
    config = folder / "config.pbtxt"
    if not config.is_file():
        return None
    return "predictor" if 'name: "painting"' in config.read_text(errors="replace") else "transform"


def _move_in(built: Path, folder: Path) -> None:
    """A whole built model folder into the repository: renamed in, or its files over an existing one's."""
    built.chmod(0o755)
    if not folder.exists():
        built.rename(folder)
        return
    (folder / "1").mkdir(exist_ok=True)
    for part in sorted(p.relative_to(built) for p in built.rglob("*") if p.is_file()):
        os.replace(built / part, folder / part)
