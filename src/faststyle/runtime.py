"""The public, torch-free way to run an exported model in Python:

    from faststyle.runtime import Stylizer
    stylizer = Stylizer("starry_night.onnx")      # uint8 [H, W, 3] or [N, H, W, 3] in, same out
    stylizer = Stylizer("multistyle.onnx", style="wave=0.7,candy=0.3")
    stylizer = Stylizer("starry_night.onnx", stroke_scale=2)   # strokes twice as large
    stylizer = Stylizer("wave")                                 # a bundled model, by name
    stylizer = Stylizer("anystyle.onnx", style_image="scream.jpg")  # any painting, no training

It needs onnxruntime, numpy and pillow (and uses OpenVINO when it is installed). By default it
runs the model on the fastest engine that stays correct on this machine (see
faststyle.inference.choose: measured once per model and machine, then remembered);
`backend="ort"`, `precision="fp32"` ask for one engine in particular.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from faststyle.blend import StyleSpec
from faststyle.image_io import load_rgb, save_rgb
from faststyle.inference.choose import agrees, choose, open_engine
from faststyle.inference.painted import PaintedStylizer, StylePredictor, painting_label
from faststyle.inference.stroke_scale import at_stroke_scale, check_stroke_scale
from faststyle.inference.stylizer import check_pixels
from faststyle.model_files import resolve_model

__all__ = ["Stylizer"]


class Stylizer:
    """One exported faststyle model on its fastest correct engine; call it on uint8 RGB images.

    Attributes of the engine (style, styles, backend, precision, metadata, layout) read through.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        style: StyleSpec = None,
        threads: int | None = None,
        backend: str = "auto",
        precision: str = "auto",
        providers: list[str] | None = None,
        quiet: bool = True,
        stroke_scale: float = 1.0,
        style_image: str | os.PathLike[str] | NDArray[np.uint8] | None = None,
    ):
        """`stroke_scale`: strokes that many times as large as the model paints them, at the same
        output size (faststyle.inference.stroke_scale). `style_image`: a painting (file or uint8
        [H, W, 3]) whose style a model with a style predictor paints (faststyle.inference.painted);
        it joins the model's styles under its file's stem, so `style` can blend it with them."""
        self.path = resolve_model(path)  # a file, or a bundled model's name
        self.stroke_scale = check_stroke_scale(stroke_scale)
        self.hparams: dict[str, Any] = {}  # the training recipe, when the model came from a checkpoint
        # the reference engine first: a bad file or style fails here, in one line
        # the painting first: one it cannot use fails before any engine is measured
        embedding = None if style_image is None else StylePredictor(self.path, threads)(style_image)
        own_style = None if style_image is not None else style  # a blend with the painting is chosen below
        self.engine = reference = open_engine(self.path, "ort", "fp32", threads, own_style, providers)
        if not providers or providers[0] == "CPUExecutionProvider":  # on a GPU: ORT's own providers, no choice
            chosen = choose(self.path, backend, precision, threads, quiet=quiet)
            if chosen != ("ort", "fp32"):
                self.engine = open_engine(self.path, *chosen, threads=threads, style=own_style)
                automatic = (backend, precision) == ("auto", "auto")
                if embedding is not None and automatic and not agrees(self.engine, reference, embedding):
                    self.engine = reference  # the faster engine drifts on this painting's style
        if style_image is not None and embedding is not None:
            label = painting_label(style_image, list(self.engine.styles))
            self.engine = PaintedStylizer(self.engine, embedding, label, style)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.__dict__["engine"], name)

    def __repr__(self) -> str:
        return f"Stylizer({self.engine!r})"

    def __call__(self, image: NDArray[np.uint8], weights: NDArray[np.float32] | None = None) -> NDArray[np.uint8]:
        """uint8 [H, W, 3] or [N, H, W, 3] RGB -> stylized uint8 of the same shape; `weights` [S]
        overrides the style for this call (weights over a multi-style model's styles)."""
        if self.stroke_scale == 1:
            out: NDArray[np.uint8] = self.engine(image, weights)
            return out
        batch = check_pixels(image)  # [N, H, W, 3]: each photo is shrunk and guided back on its own
        if not len(batch):
            return self.engine(image, weights)  # no photos: the engine's empty answer (and its check of weights)
        styled = [at_stroke_scale(lambda x: self.engine(x, weights), photo, self.stroke_scale) for photo in batch]
        return styled[0] if np.ndim(image) == 3 else np.stack(styled)

    def stylize_file(self, in_path: str | os.PathLike[str], out_path: str | os.PathLike[str]) -> Path:
        """Read an image file, stylize it whole, write the result atomically (format from suffix)."""
        return save_rgb(self(load_rgb(in_path)), out_path)
