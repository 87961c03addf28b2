"""What an exported faststyle ONNX file says about itself and whether its graph takes what
faststyle exports, read without starting a runtime (needs only `onnx`, never torch: the
torch-free faststyle.runtime reads models with it), the one graph edit some runtimes need, and
where a model's int8 twin lives.

Metadata properties written by `faststyle export`: style (the model's name), styles (JSON list
of style records, faststyle.style_record: {name, image, style_size, stroke_scale}, in the order
of the `style` input's weights; absent in files from before multi-style models, which hold one
style), layout ("pixels", "zoo" or "net"), arch, faststyle_version, format_version (the
checkpoint format, faststyle.model.checkpoint_format, the records follow; absent before it had
one), source_checkpoint, input, output, description; fixed_style_weights in the net layout,
precision in an int8 twin; style_rows and predictor in a model that paints any painting.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from faststyle.errors import ModelError

# The graph layouts `faststyle export --layout` writes (faststyle.export.layouts builds them):
# uint8 pixels in and out, the ONNX Model Zoo's float NCHW 0-255, and the bare network.
LAYOUTS = ("pixels", "zoo", "net")


def int8_path(path: Path) -> Path:
    """Where the quantized twin of NAME.onnx lives: NAME.int8.onnx (`faststyle export --int8`)."""
    return path.with_name(f"{path.stem}.int8.onnx")


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


def style_records(meta: dict[str, str], path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The style records a model lists, in the order of its `style` input's weights; ModelError
    naming `path` when `styles` is not a list of them (a damaged or hand-edited file, which
    `serve` then skips rather than dying on)."""
    if "styles" not in meta:
        return [{"name": meta.get("style", "?")}]
    try:
        records = json.loads(meta["styles"])
    except (ValueError, RecursionError):
        records = None
    if not isinstance(records, list) or not records or not all(map(_is_style_record, records)):
        raise ModelError(
            f"{path}: its 'styles' metadata is not a list of style records (damaged?); "
            "export it again with `faststyle export`"
        )
    return [dict(r) for r in records]


def _is_style_record(record: object) -> bool:
    """A name to pick the style by, and sizes that are positive numbers where given (--list shows them)."""
    if not isinstance(record, dict) or not isinstance(record.get("name"), str) or not record["name"]:
        return False
    sizes = [record.get(key) for key in ("style_size", "stroke_scale")]
    return all(
        size is None or (isinstance(size, int | float) and not isinstance(size, bool) and 0 < size < math.inf)
        for size in sizes
    )


def style_names(meta: dict[str, str], path: str | os.PathLike[str]) -> list[str]:
    """The styles a model holds, in the order of its `style` input's weights."""
    return [r["name"] for r in style_records(meta, path)]


def style_rows(meta: dict[str, str], path: str | os.PathLike[str]) -> int:
    """How many numbers the model's `style` input takes: one per style, or, for a model that paints
    any painting, its `style_rows` (the embedding its predictor graph, named by `predictor`, gives)."""
    styles = len(style_names(meta, path))
    if "style_rows" not in meta:
        return styles
    rows = meta["style_rows"]
    if not rows.isdigit() or int(rows) < styles:
        raise ModelError(f"{path}: its 'style_rows' metadata is {rows!r}, not a count of at least {styles} (damaged?)")
    return int(rows)


# What `faststyle export` writes for each layout's image input (metadata "layout").
IMAGE_INPUTS = {
    "pixels": ("uint8", "[N, H, W, 3]"),
    "zoo": ("float32", "[N, 3, H, W]"),
    "net": ("float32", "[N, 3, H, W]"),
}

Dims = list[int | str | None]  # an input's shape: sizes, names of free dimensions, or unknown


def check_inputs(path: str | os.PathLike[str], layout: str, inputs: dict[str, tuple[str, Dims]], styles: int) -> str:
    """The image input's name, once the graph's inputs ({name: (numpy dtype name, dims)}) are the
    ones `faststyle export` writes for `layout`: an image of that layout, and for a multi-style
    model (but in the net layout) a float32 [styles] weights input named "style". A ModelError
    naming `path` otherwise: any other graph fails later, at its first picture, with the
    runtime's own message."""
    image = "image" if "image" in inputs else next(iter(inputs), "")
    dtype, dims = inputs.get(image, ("", []))
    if not image or set(inputs) - {image, "style"}:
        raise ModelError(f"{path}: expected a 4-d image input (and a style input), found {list(inputs)}")
    want_dtype, want_dims = IMAGE_INPUTS[layout]
    channels = 3 if layout == "pixels" else 1
    shape_fits = len(dims) == 4 and (dims[channels] == 3 or not isinstance(dims[channels], int))  # or a free size
    if dtype != want_dtype or not shape_fits:
        raise ModelError(
            f"{path}: its input '{image}' is {dtype} {_shape(dims)}, but a faststyle {layout}-layout model "
            f"takes {want_dtype} {want_dims} images, as `faststyle export` writes them"
        )
    if "style" not in inputs and styles > 1 and layout != "net":  # only the net layout fixes the style at export
        raise ModelError(f"{path}: its metadata lists {styles} styles, but it has no style input to choose one")
    if "style" in inputs and inputs["style"] != ("float32", [styles]):
        style_dtype, style_dims = inputs["style"]
        raise ModelError(
            f"{path}: its style input is {style_dtype} {_shape(style_dims)}, not float32 [{styles}] "
            f"(one weight per style its metadata lists); export it again with `faststyle export`"
        )
    return image


def _shape(dims: Dims) -> str:
    return "[" + ", ".join("?" if d is None else str(d) for d in dims) + "]"


def proto_inputs(proto: Any) -> dict[str, tuple[str, Dims]]:
    """A graph's inputs as `check_inputs` takes them (initializers other than "style", the
    default of an input, are weights that old exports also listed as inputs)."""
    import onnx

    weights = {init.name for init in proto.graph.initializer} - {"style"}
    found: dict[str, tuple[str, Dims]] = {}
    for value in proto.graph.input:
        if value.name in weights:
            continue
        tensor = value.type.tensor_type
        try:
            dtype = onnx.helper.tensor_dtype_to_np_dtype(tensor.elem_type).name
        except KeyError:  # no tensor type (a sequence or map input): nothing faststyle exports
            dtype = "?"
        dims: Dims = [d.dim_value if d.HasField("dim_value") else d.dim_param or None for d in tensor.shape.dim]
        found[value.name] = (dtype, dims)
    return found


def without_style_default(proto: Any) -> tuple[Any, bool]:
    """The graph with the `style` input's default value removed, so the input is a plain
    required one: onnxruntime-web refuses to override a default, and OpenVINO folds it into a
    constant. Returns (proto, whether anything was removed); the proto is changed in place."""
    defaults = [init for init in proto.graph.initializer if init.name == "style"]
    for init in defaults:
        proto.graph.initializer.remove(init)
    return proto, bool(defaults)
