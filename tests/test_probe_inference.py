"""What the robustness probe (issue 49) found in inference: a damaged model file is a one-line
ModelError that `serve` skips, a broken engine cache is measured again, and a stylizer call with
bad weights or an empty image is a one-line UserError on every engine, not an engine's trace or
a black picture."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper
from PIL import Image

from faststyle.commands.stylize import main as stylize_main
from faststyle.errors import ModelError, UserError
from faststyle.inference import choose
from faststyle.model_files import BUNDLED_DIR
from faststyle.runtime import Stylizer
from faststyle.web import server as serving

TINY = BUNDLED_DIR / "starry_night_tiny.onnx"  # one style
MULTI = BUNDLED_DIR / "multistyle.onnx"  # 21 styles, with a style input
ENGINES = ["ort", "openvino", "torch"]


def one_line(error: pytest.ExceptionInfo[BaseException]) -> str:
    text = str(error.value)
    assert text and "\n" not in text, text
    return text


def with_metadata(src: Path, dst: Path, **changes: str) -> Path:
    """A copy of the model `src` at `dst` with some metadata properties replaced."""
    proto = onnx.load(str(src))
    helper.set_model_props(proto, {p.key: p.value for p in proto.metadata_props} | changes)
    onnx.save(proto, str(dst))
    return dst


def identity_model(path: Path, dtype: int, shape: list[int | str], layout: str = "pixels", **meta: str) -> Path:
    """A graph that hands its input back, with faststyle's metadata: only our checks can refuse it."""
    image = helper.make_tensor_value_info("image", dtype, shape)
    out = helper.make_tensor_value_info("stylized", dtype, shape)
    graph = helper.make_graph([helper.make_node("Identity", ["image"], ["stylized"])], "identity", [image], [out])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8  # one every ONNX Runtime release loads
    helper.set_model_props(model, {"style": "fake", "faststyle_version": "0.1.0", "layout": layout, **meta})
    onnx.save(model, str(path))
    return path


def photo_file(tmp_path: Path) -> Path:
    Image.new("RGB", (24, 16), (30, 140, 200)).save(tmp_path / "photo.png")
    return tmp_path / "photo.png"


# --- a model file whose metadata or graph is not what faststyle exports ------------------------

BAD_STYLES = {
    "not json": "{not json",
    "a number": "42",
    "no names": '[{"nam": 1}]',
    "no records": "[]",
    "names, not records": '["starry_night"]',
    "a size that is no number": '[{"name": "starry_night", "stroke_scale": "big"}]',
}


def open_ort(path: Path) -> object:
    return Stylizer(path, backend="ort", precision="fp32")


def open_openvino(path: Path) -> object:
    pytest.importorskip("openvino")
    from faststyle.inference.openvino_runtime import OpenVinoStylizer

    return OpenVinoStylizer(path)


@pytest.mark.parametrize("opener", [open_ort, open_openvino], ids=["ort", "openvino"])
@pytest.mark.parametrize("styles", BAD_STYLES.values(), ids=BAD_STYLES.keys())
def test_malformed_styles_metadata_is_a_model_error_naming_the_file(styles, opener, tmp_path):
    bad = with_metadata(TINY, tmp_path / "bad.onnx", styles=styles)
    with pytest.raises(ModelError) as error:
        opener(bad)
    assert str(bad) in one_line(error) and "faststyle export" in str(error.value)


def test_stylize_with_malformed_styles_metadata_says_so_in_one_line(tmp_path, capsys):
    bad = with_metadata(TINY, tmp_path / "bad.onnx", styles="{not json")
    rc = stylize_main([str(photo_file(tmp_path)), "-m", str(bad), "-o", str(tmp_path / "out.png")])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "bad.onnx" in err and "styles" in err
    assert not (tmp_path / "out.png").exists()


def test_serve_skips_models_with_malformed_styles_or_a_float_input(tmp_path):
    folder = tmp_path / "models"
    folder.mkdir()
    with_metadata(TINY, folder / "good.onnx")
    with_metadata(TINY, folder / "garbled.onnx", styles="{not json")
    with_metadata(TINY, folder / "shapeless.onnx", styles="42")
    identity_model(folder / "floaty.onnx", TensorProto.FLOAT, ["N", "H", "W", 3])
    for name in ("garbled", "shapeless", "floaty"):
        with pytest.raises(ModelError) as error:
            serving.read_model(folder / f"{name}.onnx")
        assert f"{name}.onnx" in one_line(error)
    try:
        serving.check_web_files()  # building the site links the page and onnxruntime-web
    except UserError as e:
        pytest.skip(str(e))
    log = io.StringIO()
    listed = serving.build_site(tmp_path / "site", {p.stem: p for p in sorted(folder.glob("*.onnx"))}, log=log)
    assert [m["name"] for m in listed] == ["good"]
    skipped = log.getvalue().splitlines()
    assert len(skipped) == 3 and all(line.startswith("skipping ") for line in skipped), skipped


@pytest.mark.parametrize("opener", [open_ort, open_openvino], ids=["ort", "openvino"])
def test_a_float_input_graph_is_refused_at_open_saying_uint8(opener, tmp_path):
    floaty = identity_model(tmp_path / "floaty.onnx", TensorProto.FLOAT, ["N", "H", "W", 3])
    with pytest.raises(ModelError, match=r"uint8 \[N, H, W, 3\]") as error:
        opener(floaty)
    assert "floaty.onnx" in one_line(error) and "float32" in str(error.value)


@pytest.mark.parametrize("opener", [open_ort, open_openvino], ids=["ort", "openvino"])
def test_styles_the_graph_has_no_input_for_are_refused_at_open(opener, tmp_path):
    """Metadata listing 2 styles on a graph without a style input: style= and weights would do nothing."""
    two = json.dumps([{"name": "a"}, {"name": "b"}])
    with pytest.raises(ModelError, match="no style input") as error:
        opener(with_metadata(TINY, tmp_path / "two.onnx", styles=two))
    assert "two.onnx" in one_line(error)


def test_weights_for_a_style_fixed_at_export_are_refused(tmp_path):
    """The net layout fixes the style at export: weights for a call cannot change it."""
    from faststyle.inference.onnx_runtime import OrtStylizer

    two = json.dumps([{"name": "a"}, {"name": "b"}])
    net = identity_model(tmp_path / "net.onnx", TensorProto.FLOAT, ["N", 3, "H", "W"], layout="net", styles=two)
    stylizer = OrtStylizer(net)
    photo = np.full((16, 16, 3), 80, np.uint8)
    assert stylizer(photo).shape == photo.shape
    with pytest.raises(UserError, match="fixed when it was exported") as error:
        stylizer(photo, np.array([0.0, 1.0], np.float32))
    one_line(error)


# --- the remembered engine choices: a cache, rebuilt when broken -------------------------------

OPTIONS = [("ort", "fp32"), ("openvino", "fp32")]
BROKEN_ENTRIES = {
    "a list": lambda key: [1, 2],
    "an entry that is a number": lambda key: {key: 5},
    "an entry without a precision": lambda key: {key: {"backend": "openvino"}},
    "a bogus engine": lambda key: {key: {"backend": "bogus", "precision": "fp32"}},
    "an engine not among the options": lambda key: {key: {"backend": "ort", "precision": "int8"}},
}


@pytest.mark.parametrize("broken", BROKEN_ENTRIES.values(), ids=BROKEN_ENTRIES.keys())
def test_a_broken_engine_cache_is_measured_again_and_written_over(broken, tmp_path, monkeypatch):
    monkeypatch.setenv("FASTSTYLE_CACHE", str(tmp_path))
    monkeypatch.setattr(choose, "candidates", lambda *a, **k: OPTIONS)
    trials = [choose.Trial("ort", "fp32", 100.0, 0.0, 0, 99.0), choose.Trial("openvino", "fp32", 50.0, 0.0, 1, 80.0)]
    calls = []
    monkeypatch.setattr(choose, "measure", lambda *a, **k: calls.append(1) or trials)
    key = choose.cache_key(TINY, OPTIONS, None)
    choose.cache_file().write_text(json.dumps(broken(key)))
    assert choose.choose(TINY, quiet=True) == ("openvino", "fp32")
    assert json.loads(choose.cache_file().read_text())[key]["backend"] == "openvino", "the good choice is remembered"
    assert choose.choose(TINY, quiet=True) == ("openvino", "fp32")
    assert calls == [1], "measured once more, then read from the rewritten cache"


# --- calls: weights and images checked the same way on every engine ----------------------------


@pytest.fixture(scope="module")
def engines() -> dict[tuple[str, str], object]:
    """(engine, model) -> stylizer, opened once for the module."""
    return {}


def stylizer(engines: dict[tuple[str, str], object], engine: str, model: Path):
    if (engine, model.stem) not in engines:
        if engine == "torch":
            from faststyle.inference.torch_backend import TorchStylizer

            engines[engine, model.stem] = TorchStylizer(model.with_suffix(".pth"), "cpu")
        else:
            if engine == "openvino":
                pytest.importorskip("openvino")
            engines[engine, model.stem] = Stylizer(model, backend=engine, precision="fp32", threads=1)
    return engines[engine, model.stem]


PHOTO = np.random.default_rng(0).integers(0, 256, (12, 10, 3), dtype=np.uint8)
FIRST = np.eye(21, dtype=np.float32)[0]
BAD_WEIGHTS = {
    "nan": (np.full(21, np.nan, np.float32), "finite"),
    "inf": (np.where(FIRST > 0, np.inf, 0).astype(np.float32), "finite"),
    "negative": (-FIRST, "0 or more"),
    "all 0": (np.zeros(21, np.float32), "not all 0"),
    "too few": (np.ones(3, np.float32), "expected 21"),
    "one row per image": (FIRST[None], "expected 21"),
    "a string": ("candy", "expected 21"),
}


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("weights, says", BAD_WEIGHTS.values(), ids=BAD_WEIGHTS.keys())
def test_bad_weights_are_one_line_user_errors(engine, weights, says, engines):
    with pytest.raises(UserError, match=says) as error:
        stylizer(engines, engine, MULTI)(PHOTO, weights)
    one_line(error)


@pytest.mark.parametrize("engine", ENGINES)
def test_weights_are_scaled_to_sum_to_1_like_a_style_blend(engine, engines):
    """weights=[2, 1, 0, ...] paints what style="candy=2,composition_vii=1" paints, as [2/3, 1/3, 0, ...] does."""
    s = stylizer(engines, engine, MULTI)
    blend = np.zeros(21, np.float32)
    blend[:2] = 2 / 3, 1 / 3
    assert np.abs(s(PHOTO, blend * 3).astype(int) - s(PHOTO, blend)).max() <= 1


@pytest.mark.parametrize("engine", ENGINES)
def test_a_single_style_model_checks_weights_too(engine, engines):
    s = stylizer(engines, engine, TINY)
    assert np.array_equal(s(PHOTO, np.ones(1, np.float32)), s(PHOTO)), "its one style, at any positive weight"
    for weights in ("abc", np.ones(5, np.float32), np.array([np.nan], np.float32)):
        with pytest.raises(UserError) as error:
            s(PHOTO, weights)
        one_line(error)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("shape", [(0, 10, 3), (12, 0, 3), (2, 0, 10, 3)], ids=["0xW", "Hx0", "batch of Hx0"])
def test_an_image_without_pixels_is_a_one_line_user_error(engine, shape, engines):
    with pytest.raises(UserError, match="empty") as error:
        stylizer(engines, engine, TINY)(np.zeros(shape, np.uint8))
    one_line(error)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("model", [TINY, MULTI], ids=["one style", "multi-style"])
def test_a_batch_of_no_images_gives_no_images_on_every_engine(engine, model, engines):
    out = stylizer(engines, engine, model)(np.zeros((0, 12, 10, 3), np.uint8))
    assert out.shape == (0, 12, 10, 3) and out.dtype == np.uint8


def test_a_batch_of_no_images_at_a_stroke_scale_gives_no_images():
    out = Stylizer(TINY, backend="ort", precision="fp32", stroke_scale=2)(np.zeros((0, 12, 10, 3), np.uint8))
    assert out.shape == (0, 12, 10, 3) and out.dtype == np.uint8


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(
    "image, says",
    [(PHOTO.astype(np.float32), "uint8"), (np.zeros((12, 10, 4), np.uint8), "RGB"), (PHOTO[..., 0], "RGB")],
    ids=["float pixels", "4 channels", "grey"],
)
def test_pixels_that_are_not_uint8_rgb_are_one_line_user_errors(engine, image, says, engines):
    with pytest.raises(UserError, match=says) as error:
        stylizer(engines, engine, TINY)(image)
    one_line(error)
