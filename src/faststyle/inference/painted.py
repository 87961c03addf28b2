"""Any painting as the style, in one pass: its embedding from the model's predictor graph, then
painted (or blended with the model's own styles) by the transform graph. numpy and ONNX Runtime
only, like faststyle.runtime.

    embedding = StylePredictor("anystyle.onnx")("scream.jpg")   # float32 [R], once per painting
    stylizer(photo, weights=embedding)                           # for every photo or frame after

`PaintedStylizer` wraps any engine so that the painting is one more style beside the model's own:
style "scream" paints it, "scream=0.6,candy=0.4" blends it with a bundled style, exactly as two
bundled styles blend (each norm's scale and shift are linear in the weights).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from faststyle.blend import StyleSpec, check_weights, style_weights, to_rows
from faststyle.errors import ModelError, UserError
from faststyle.export.metadata import metadata_of, read_proto
from faststyle.image_io import load_rgb
from faststyle.inference.stylizer import Stylizer, ort_providers
from faststyle.painting import MIN_PAINTING_SIDE, MIN_PREDICTED_SIDE, PREDICTOR_SIDE, predictor_pixels
from faststyle.style_record import safe_name


def no_predictor(model: str | os.PathLike[str]) -> ModelError:
    """The one-line error for --style-image with a model that paints only its own styles."""
    return ModelError(
        f"{Path(model).name} paints only its own styles (it has no style predictor); "
        "use a model that paints any painting, such as -m anystyle"
    )


def predictor_graph(model: str | os.PathLike[str]) -> Path:
    """The predictor graph a transform graph names in its metadata, beside it; a one-line
    ModelError for a model that paints only its own styles."""
    model = Path(model)
    name = metadata_of(read_proto(model)).get("predictor")
    if not name:
        raise no_predictor(model)
    path = model.with_name(Path(name).name)  # a file name, never a path out of the model's folder
    if not path.is_file():
        raise ModelError(f"{model.name}: its predictor graph {path.name} is missing beside it; export the model again")
    return path


def read_painting(painting: str | os.PathLike[str] | NDArray[np.uint8]) -> NDArray[np.uint8]:
    """A painting file (any mode: greyscale, RGBA and palettes become RGB) or uint8 [H, W, 3] array
    -> the uint8 [h, w, 3] the predictor reads (longer side faststyle.painting.PREDICTOR_SIDE)."""
    label = "the painting" if isinstance(painting, np.ndarray) else str(painting)
    image = painting if isinstance(painting, np.ndarray) else load_rgb(painting)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise UserError(f"{label}: expected uint8 [H, W, 3] RGB pixels, got {image.dtype} {list(image.shape)}")
    h, w = image.shape[:2]
    pixels = predictor_pixels(image) if min(h, w) >= MIN_PAINTING_SIDE else image
    if min(h, w) < MIN_PAINTING_SIDE or min(pixels.shape[:2]) < MIN_PREDICTED_SIDE:
        raise UserError(
            f"{label}: {w}x{h} pixels is too small or too thin to take a style from; give a painting at least "
            f"{MIN_PAINTING_SIDE} px on its shorter side, at most {PREDICTOR_SIDE // MIN_PREDICTED_SIDE} times as long"
        )
    return pixels


class StylePredictor:
    """A model's predictor graph in ONNX Runtime: painting -> float32 [R] embedding."""

    def __init__(self, model: str | os.PathLike[str], threads: int | None = None, providers: list[str] | None = None):
        import onnxruntime as ort

        self.path = predictor_graph(model)
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        options.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(str(self.path), options, providers=providers or ort_providers("cpu"))
        except Exception as e:
            raise ModelError(f"{self.path}: not a readable ONNX model ({type(e).__name__})") from None

    def __call__(self, painting: str | os.PathLike[str] | NDArray[np.uint8]) -> NDArray[np.float32]:
        pixels = read_painting(painting)
        try:
            embedding: NDArray[np.float32] = self.session.run(None, {"painting": pixels[None]})[0][0]
        except Exception as e:  # a graph that is not a faststyle predictor's
            raise ModelError(f"{self.path}: cannot run it on the painting ({str(e).splitlines()[0][:160]})") from None
        if not np.isfinite(embedding).all():
            which = "the painting" if isinstance(painting, np.ndarray) else painting
            raise ModelError(f"{self.path}: it gave a style with NaN or infinite values for {which}")
        return embedding


def painting_label(painting: str | os.PathLike[str] | NDArray[np.uint8], names: list[str]) -> str:
    """The name the painting goes by among the model's styles: its file's stem ("painting" for an
    array), made distinct from theirs."""
    label = "painting" if isinstance(painting, np.ndarray) else safe_name(Path(painting).stem)
    return label if label not in names else f"{label}_painting"


class PaintedStylizer:
    """An engine (the Stylizer contract) whose styles are the model's own plus one painting.

    `.styles` lists the model's styles then the painting's label; `.style` is what it paints,
    by default the painting; `.embedding` is the painting's [R] embedding. A call's `weights`
    are over `.styles` (blends with the painting), or an embedding of the model's rows.
    """

    def __init__(self, engine: Stylizer, embedding: NDArray[np.float32], label: str, style: StyleSpec = None):
        self.engine, self.embedding, self.label = engine, np.asarray(embedding, np.float32), label
        self.rows: int = getattr(engine, "rows", len(engine.styles))
        if self.embedding.shape != (self.rows,):
            raise ModelError(f"the painting's embedding has shape {self.embedding.shape}, the model takes {self.rows}")
        self.styles: list[str] = [*engine.styles, label]
        weights, self.style = style_weights(label if style is None else style, self.styles)
        self.weights = self._rows(weights)

    def _rows(self, weights: NDArray[np.float32]) -> NDArray[np.float32]:
        """Weights over .styles (summing to 1) -> the transform graph's style input [R]."""
        rows: NDArray[np.float32] = to_rows(weights[:-1], self.rows) + weights[-1] * self.embedding
        return rows

    def __getattr__(self, name: str) -> Any:
        return getattr(self.__dict__["engine"], name)

    def __repr__(self) -> str:
        return f"PaintedStylizer({self.engine!r}, style={self.style!r})"

    def __call__(self, image: NDArray[np.uint8], weights: NDArray[np.float32] | None = None) -> NDArray[np.uint8]:
        # an embedding [R] passes as it is; weights over .styles are blended (an embedding first,
        # should a model have exactly one more row than its named styles)
        if weights is not None and np.shape(weights) == (len(self.styles),) != (self.rows,):
            checked = check_weights(weights, self.styles)
            assert checked is not None
            weights = self._rows(checked)
        out: NDArray[np.uint8] = self.engine(image, self.weights if weights is None else weights)
        return out
