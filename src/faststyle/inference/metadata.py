"""What an exported faststyle ONNX file says about itself, read without starting a runtime
(needs only `onnx`, never torch), and the one graph edit some runtimes need.

Metadata properties written by `faststyle export`: style (the model's name), styles (JSON list
of style records, faststyle.style_record: {name, image, style_size, stroke_scale}, in the order
of the `style` input's weights; absent in files
from before multi-style models, which hold one style), layout ("pixels" or "zoo"), arch,
faststyle_version, source_checkpoint, input, output, description.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from faststyle.errors import ModelError


def read_proto(path: str | os.PathLike[str]) -> Any:
    """The ONNX ModelProto of `path`; ModelError if it is no readable ONNX file."""
    import onnx

    path = Path(path)
    if not path.is_file():
        raise ModelError(f"{path}: no such model file")
    try:
        return onnx.load_from_string(path.read_bytes())
    except Exception as e:
        raise ModelError(f"{path}: not a readable ONNX model ({type(e).__name__})") from None


def metadata_of(proto: Any) -> dict[str, str]:
    return {p.key: p.value for p in proto.metadata_props}


def style_names(meta: dict[str, str]) -> list[str]:
    """The styles a model holds, in the order of its `style` input's weights."""
    if "styles" in meta:
        return [s["name"] for s in json.loads(meta["styles"])]
    return [meta.get("style", "?")]


def without_style_default(proto: Any) -> tuple[Any, bool]:
    """The graph with the `style` input's default value removed, so the input is a plain
    required one: onnxruntime-web refuses to override a default, and OpenVINO folds it into a
    constant. Returns (proto, whether anything was removed); the proto is changed in place."""
    defaults = [init for init in proto.graph.initializer if init.name == "style"]
    for init in defaults:
        proto.graph.initializer.remove(init)
    return proto, bool(defaults)
