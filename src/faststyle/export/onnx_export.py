"""Export a trained transform net to one self-contained ONNX file, then prove it is right.

Default signature (an app just feeds pixels):
    input  "image": uint8 [N, H, W, 3] RGB, N/H/W dynamic
    output "stylized": uint8 [N, H, W, 3] RGB
Cast, layout, value scaling, padding to the stride and cropping back, clamping and rounding
all happen inside the graph, traced from `faststyle.pixels` and the net's own forward.
Other layouts (faststyle.export.layouts): "zoo", float32 [N, 3, H, W] in 0-255 (the ONNX Model
Zoo convention), and "net", the bare network for runtimes that cannot handle the Shape ops of
in-graph padding (OpenCV 4.x). The graph holds the faster but equivalent form of the net from
`faststyle.model.phase_conv`.

Every export is verified: onnx.checker (full check), then ONNX Runtime against the
original torch net within 1 uint8 level at three shapes, a batch of 2 among them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import onnx
import torch
from torch import nn

import faststyle
from faststyle.blend import StyleSpec, style_weights, to_rows
from faststyle.errors import UserError
from faststyle.export.layouts import CHECK_SHAPES, DESCRIPTIONS, dynamic_dims, example_input, wrap
from faststyle.export.metadata import LAYOUTS
from faststyle.export.predictor_export import export_predictor, predictor_file
from faststyle.image_io import atomic_path
from faststyle.model.checkpoint import LoadedModel, load_model
from faststyle.model.checkpoint_format import KEY, VERSION
from faststyle.model.phase_conv import inference_net
from faststyle.model.transform_net import TransformNet

OPSET = 18


def first_style(num_styles: int) -> torch.Tensor:
    """The default `style` input: float32 [S], all weight on the first style."""
    return torch.nn.functional.one_hot(torch.tensor(0), num_styles).float()


def export_onnx(
    model: str | os.PathLike[str] | LoadedModel,
    out: str | os.PathLike[str],
    layout: str = "pixels",
    verify: bool = True,
    style: StyleSpec = None,
    per_image_style: bool = False,
    with_predictor: bool = True,
) -> Path:
    """Checkpoint (.ckpt/.pth) or loaded model -> verified ONNX file at `out` (written atomically).

    A multi-style model in the pixels or zoo layout gets a second input, "style" (float32 [S]:
    weights over its styles, one-hot to pick one, a convex mix to blend), stored with the first
    style as its default value, so apps that feed only "image" still work. The net layout fixes
    the style at export: `style` (a name or a blend; default the first). `per_image_style`
    makes the style input float32 [N, S], one row per image and required (what a server that
    batches every input, like Triton, needs).

    A model that paints any painting (a style predictor inside) has a style input of all its
    norm rows, [R] rather than [S], and gets its predictor graph written beside `out`
    (faststyle.export.predictor_export: NAME.predictor.onnx), named in the metadata, unless
    `with_predictor` is False (a caller that paints no painting).
    """
    if layout not in LAYOUTS:
        raise UserError(f"layout must be one of {list(LAYOUTS)}, not {layout!r}")
    loaded = model if isinstance(model, LoadedModel) else load_model(model)
    net = loaded.net.eval().to(memory_format=torch.contiguous_format)
    weights = torch.from_numpy(to_rows(style_weights(style, loaded.style_names)[0], net.num_styles))
    wrapper = wrap(layout, net, weights).eval()  # the reference the exported graph is checked against
    out = Path(out)
    style_input = net.num_styles > 1 and layout != "net"

    example = example_input(layout, 1, 64, 96)
    per_image = style_input and per_image_style
    style_example = first_style(net.num_styles)[None] if per_image else first_style(net.num_styles)
    args = (example, style_example) if style_input else (example,)
    batch = torch.export.Dim("batch")
    with torch.no_grad():
        program = torch.onnx.export(
            wrap(layout, inference_net(net), weights).eval(),
            args,
            input_names=["image", "style"] if style_input else ["image"],
            output_names=["image_out"],
            dynamic_shapes=(dynamic_dims(layout, batch), {0: batch} if per_image else None)
            if style_input
            else (dynamic_dims(layout, batch),),
            opset_version=OPSET,
            dynamo=True,
            optimize=True,
            verbose=False,
        )
    assert program is not None  # dynamo=True always returns the ONNXProgram
    proto = program.model_proto
    # ONNX forbids one name for an input and an output; "image" in, "stylized" out.
    _rename_output(proto, "image_out", "stylized")
    _name_dims(proto, layout)
    if style_input and not per_image:  # an initializer named like an input is that input's default value
        proto.graph.initializer.append(onnx.numpy_helper.from_array(first_style(net.num_styles).numpy(), "style"))
    meta = _metadata(loaded, net, layout, style_input, weights, per_image)
    if loaded.predictor is not None and style_input:
        meta["style_rows"] = str(net.num_styles)
        if with_predictor:
            meta["predictor"] = predictor_file(out).name
            export_predictor(loaded.predictor, predictor_file(out), loaded.name, verify=verify)
    onnx.helper.set_model_props(proto, meta)
    proto.producer_name, proto.producer_version = "faststyle", faststyle.__version__

    with atomic_path(out) as tmp:
        onnx.save_model(proto, tmp)
        if verify:
            verify_onnx(tmp, wrapper, layout, net.num_styles if style_input else 1, per_image=per_image)
    return out


def _metadata(
    loaded: LoadedModel,
    net: TransformNet,
    layout: str,
    style_input: bool,
    weights: torch.Tensor,
    per_image: bool = False,
) -> dict[str, str]:
    inp, outp = DESCRIPTIONS[layout]
    names = ", ".join(loaded.style_names)
    rows = net.num_styles
    over = f"weights over the styles ({names})"
    if rows > len(loaded.styles):
        over = f"a painting's embedding from its predictor graph, or weights over the styles ({names}) then zeros"
    if style_input and per_image:
        inp += f"; style: float32 [N, {rows}] {over}, one row per image"
    elif style_input:
        inp += f"; style: float32 [{rows}] {over}, default the first"
    fixed = {"fixed_style_weights": json.dumps([round(float(w), 6) for w in weights])} if layout == "net" else {}
    return {
        "style": loaded.name,
        "styles": json.dumps(loaded.styles),
        "source_checkpoint": Path(loaded.source).name,
        "faststyle_version": faststyle.__version__,
        KEY: str(VERSION),  # the checkpoint format its style records follow
        "arch": net.arch,
        "layout": layout,
        **fixed,
        "input": inp,
        "output": outp,
        "description": f"faststyle {loaded.name} stylizer (Johnson et al. 2016, arch {net.arch}"
        + (f", {len(loaded.styles)} styles: {names}" if len(loaded.styles) > 1 else "")
        + (", any painting through its predictor graph" if net.num_styles > len(loaded.styles) else "")
        + f"). Input: {inp}. Output: {outp}.",
    }


def _name_dims(proto: onnx.ModelProto, layout: str) -> None:
    """Input and output dimensions named batch, height, width (the exporter names the output's
    after the arithmetic that computed them, and the net layout's after its stride multiples)."""
    names = {
        "pixels": ("batch", "height", "width", None),
        "zoo": ("batch", None, "height", "width"),
        "net": ("batch", None, "height", "width"),
    }[layout]
    for value in [proto.graph.input[0], *proto.graph.output]:
        for dim, name in zip(value.type.tensor_type.shape.dim, names, strict=True):
            if name is not None:
                dim.dim_param = name


def _rename_output(proto: onnx.ModelProto, old: str, new: str) -> None:
    for node in proto.graph.node:
        node.output[:] = [new if o == old else o for o in node.output]
    for o in proto.graph.output:
        if o.name == old:
            o.name = new


def verify_onnx(
    path: str | os.PathLike[str],
    wrapper: nn.Module,
    layout: str,
    num_styles: int = 1,
    shapes: tuple[tuple[int, int, int], ...] | None = None,
    per_image: bool = False,
) -> float:
    """onnx.checker full check + ORT vs torch on several shapes (and, for a model with a style
    input, with the default style, the last style and a blend); returns the worst max-abs error
    (uint8 levels; the float layouts are compared on the 0-255 scale)."""
    import onnxruntime as ort

    onnx.checker.check_model(str(path), full_check=True)
    options = ort.SessionOptions()
    options.log_severity_level = 3  # the overridable "style" default draws a warning meant for converters
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    styles: list[torch.Tensor | None] = [None]
    if num_styles > 1:
        blend = torch.full((num_styles,), 1.0 / num_styles)
        styles += [torch.nn.functional.one_hot(torch.tensor(num_styles - 1), num_styles).float(), blend]
    scale = 255.0 if layout == "net" else 1.0
    worst = 0.0
    for i, (n, h, w) in enumerate(shapes or CHECK_SHAPES[layout]):
        for style in styles:
            x = example_input(layout, n, h, w, seed=i + 1)
            if per_image:  # one row per image: the style under test on every image, the first
                # image the default (first) style when there are several images, so rows mix
                first = torch.nn.functional.one_hot(torch.tensor(0), num_styles).float()
                rows = style if style is not None else first
                style = torch.stack([rows] * n if n == 1 else [first] + [rows] * (n - 1))
            feeds = {"image": x.numpy()} | ({} if style is None else {"style": style.numpy()})
            with torch.no_grad():
                ref = wrapper(x, style).numpy().astype(np.float64) * scale
            got = session.run(None, feeds)[0].astype(np.float64) * scale
            if got.shape != ref.shape:
                raise UserError(f"{path}: ONNX output shape {got.shape} != torch {ref.shape} at {n}x{h}x{w}")
            err = float(np.abs(got - ref).max())
            worst = max(worst, err)
            if err > 1:
                raise UserError(f"{path}: ONNX Runtime differs from torch by {err:.2f} levels at {n}x{h}x{w}")
    return worst
