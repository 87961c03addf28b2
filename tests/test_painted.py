"""Any painting as the style, at inference: the predictor graph beside the transform graph, the
runtime's style_image, `stylize --style-image`, and one-line errors for paintings it cannot use."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import photo_array, train_args
from PIL import Image

from faststyle.commands.cli import main as cli_main
from faststyle.commands.stylize import main as stylize_main
from faststyle.commands.train import main as train_main
from faststyle.export.predictor_export import predictor_file
from faststyle.image_io import load_rgb
from faststyle.inference.load import load_stylizer
from faststyle.inference.painted import StylePredictor, read_painting
from faststyle.model.checkpoint import load_model
from faststyle.model_files import list_models, resolve_model
from faststyle.pixels import array_to_net, net_to_array
from faststyle.runtime import Stylizer
from faststyle.training.styles import norm_row_keys, plan_styles, predicted_weights, style_entries


@pytest.fixture(scope="session")
def painting(shared) -> Path:
    return shared / "styles" / "mosaic.jpg"


def test_the_onnx_graphs_paint_what_torch_paints(painter_onnx, painting):
    loaded = load_model(painter_onnx.with_suffix(".pth"))
    assert loaded.predictor is not None and loaded.net.num_styles == 6 and loaded.style_names == ["a", "b"]
    photo = photo_array(64, 48)
    with torch.no_grad():
        embedding = loaded.predictor(array_to_net(read_painting(painting)))[0]
        expected = net_to_array(loaded.net(array_to_net(photo), embedding))
    stylizer = Stylizer(painter_onnx, style_image=painting, backend="ort", precision="fp32")
    np.testing.assert_allclose(stylizer.embedding, embedding.numpy(), rtol=0, atol=1e-3 * embedding.abs().max().item())
    got = stylizer(photo)
    assert np.abs(got.astype(int) - expected.astype(int)).max() <= 1
    assert stylizer.style == "mosaic" and stylizer.styles == ["a", "b", "mosaic"]


def test_an_embedding_kept_and_reused_paints_the_same_pixels(painter_onnx, painting):
    embedding = StylePredictor(painter_onnx)(painting)  # once, as an app does per painting
    plain = Stylizer(painter_onnx, backend="ort", precision="fp32")
    painted = Stylizer(painter_onnx, style_image=painting, backend="ort", precision="fp32")
    photos = np.stack([photo_array(48, 40, seed=s) for s in range(3)])
    assert np.array_equal(plain(photos, weights=embedding), painted(photos))
    assert not np.array_equal(plain(photos), painted(photos))  # not the model's first style


def test_a_painting_blends_with_the_models_own_styles(painter_onnx, painting):
    plain = Stylizer(painter_onnx, backend="ort", precision="fp32")
    embedding = StylePredictor(painter_onnx)(painting)
    blend = Stylizer(painter_onnx, style_image=painting, style="mosaic=0.25,b=0.75", backend="ort", precision="fp32")
    rows = 0.25 * embedding + 0.75 * np.eye(6, dtype=np.float32)[1]
    photo = photo_array(40, 40, seed=3)
    assert np.abs(blend(photo).astype(int) - plain(photo, weights=rows).astype(int)).max() <= 1
    # a call's weights over the named styles and the painting blend the same way
    assert np.array_equal(blend(photo, weights=np.array([0, 0.75, 0.25], np.float32)), blend(photo))


def test_a_painting_shrinks_to_the_predictors_side_whatever_its_mode(tmp_path, painting):
    rgb = load_rgb(painting)
    for mode in ("L", "RGBA", "P", "CMYK"):
        path = tmp_path / f"p_{mode}.png" if mode != "CMYK" else tmp_path / "p.jpg"
        Image.fromarray(rgb).convert(mode).save(path)
        assert max(read_painting(path).shape[:2]) == 256
    huge = tmp_path / "huge.png"
    Image.new("RGB", (6000, 4000), (200, 40, 40)).save(huge)
    assert read_painting(huge).shape == (171, 256, 3)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: p.write_bytes(b"not an image at all"), "not an image"),
        (lambda p: Image.new("RGB", (300, 20)).save(p, "PNG"), "too small or too thin"),
        (lambda p: Image.new("RGB", (40, 2400)).save(p, "PNG"), "too small or too thin"),
        (lambda p: p.write_bytes(b""), "empty file"),
        (lambda p: None, "no such file"),
    ],
)
def test_a_painting_it_cannot_use_is_one_line(painter_onnx, tmp_path, capsys, make, message):
    bad = tmp_path / "bad.png"
    make(bad)
    out = tmp_path / "out.jpg"
    photo = tmp_path / "photo.png"
    Image.fromarray(photo_array()).save(photo)
    assert stylize_main([str(photo), "-m", str(painter_onnx), "--style-image", str(bad), "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1 and "Traceback" not in err
    assert not out.exists()


def test_stylize_paints_any_painting_and_names_the_output_after_it(painter_onnx, painting, tmp_path, capsys):
    photo = tmp_path / "photo.png"
    Image.fromarray(photo_array(64, 48)).save(photo)
    args = [str(photo), "-m", str(painter_onnx), "--style-image", str(painting), "--backend", "ort"]
    assert stylize_main([*args, "--strength", "0.5", "--preserve-color"]) == 0
    written = tmp_path / "photo_mosaic.jpg"
    assert written.is_file()
    # the checkpoint (exported on the fly) and the torch engine paint the same painting
    pth = painter_onnx.with_suffix(".pth")
    onnx_run = load_stylizer(painter_onnx, backend="ort", precision="fp32", style_image=painting)
    for backend in ("ort", "torch"):
        from_pth = load_stylizer(pth, backend=backend, precision="fp32", style_image=painting)
        assert np.abs(from_pth(photo_array()).astype(int) - onnx_run(photo_array()).astype(int)).max() <= 1


def test_a_model_without_a_predictor_says_so(multi_onnx, painting, tmp_path, capsys):
    photo = tmp_path / "photo.png"
    Image.fromarray(photo_array()).save(photo)
    assert stylize_main([str(photo), "-m", str(multi_onnx), "--style-image", str(painting)]) == 2
    assert "paints only its own styles" in capsys.readouterr().err


def test_the_predictor_graph_is_part_of_its_model_not_a_model(painter_onnx, monkeypatch):
    monkeypatch.setenv("FASTSTYLE_MODELS", str(painter_onnx.parent))
    models = list_models()
    assert "painter" in models and predictor_file(painter_onnx).stem not in models


def test_batch_paints_a_painting_as_the_runtime_does(painter_onnx, painting, tmp_path, capsys):
    photos = tmp_path / "photos"
    photos.mkdir()
    Image.fromarray(photo_array(44, 30)).save(photos / "a.png")
    args = ["batch", str(photos), str(tmp_path / "out"), "-m", str(painter_onnx), "--style-image", str(painting)]
    assert cli_main([*args, "-q", "--backend", "ort", "--precision", "fp32", "--workers", "1"]) == 0
    stylizer = Stylizer(painter_onnx, style_image=painting, backend="ort", precision="fp32")
    assert np.array_equal(load_rgb(tmp_path / "out" / "a.png"), stylizer(load_rgb(photos / "a.png")))


def test_a_fine_tune_can_start_where_the_predictor_puts_its_painting(painter_onnx, shared, photos, tmp_path):
    base = load_model(painter_onnx.with_suffix(".pth"))
    assert base.predictor is not None
    new = style_entries([shared / "styles" / "candy.jpg"], 256)
    plan = plan_styles(new, base, "styles", start="predicted")
    weights = predicted_weights(base, new)[0]
    state = base.net.state_dict()
    for key in norm_row_keys(base.net):
        assert plan.init_state is not None and plan.init_state[key].shape[0] == 3  # a, b and candy: no spare rows
        torch.testing.assert_close(plan.init_state[key][:2], state[key][:2], rtol=0, atol=0)
        torch.testing.assert_close(plan.init_state[key][2], weights @ state[key], rtol=1e-5, atol=1e-6)
    # the run from it: a plain three-style model
    ck = tmp_path / "ck"
    args = train_args(shared, photos, ck, "--base", str(painter_onnx.with_suffix(".pth")))
    assert train_main([*args, "--new-style-start", "predicted", "--max-steps", "1"]) == 0
    tuned = load_model(next(ck.glob("*.pth")))
    assert tuned.style_names == ["a", "b", "mosaic"] and tuned.net.num_styles == 3 and tuned.predictor is None


def test_a_predicted_start_needs_a_base_with_a_predictor(multi_pth, shared, photos, tmp_path, capsys):
    args = train_args(shared, photos, tmp_path / "ck", "--base", str(multi_pth), "--new-style-start", "predicted")
    assert train_main(args) == 2
    assert "needs a --base with a style predictor" in capsys.readouterr().err


def test_list_says_which_models_paint_any_painting(painter_onnx, multi_onnx, tmp_path, monkeypatch, capsys):
    import shutil

    for path in (painter_onnx, painter_onnx.with_name("painter.predictor.onnx"), multi_onnx):
        shutil.copy(path, tmp_path / path.name)
    monkeypatch.setenv("FASTSTYLE_MODELS", str(tmp_path))
    assert stylize_main(["--list"]) == 0
    lines = {line.split("\t")[0]: line for line in capsys.readouterr().out.splitlines()}
    assert "any painting (--style-image)" in lines["painter"] and "any painting" not in lines["multi"]
    assert "painter.predictor" not in lines


def test_the_bundled_predictor_puts_the_bases_own_paintings_at_their_rows(shared):
    # each of anystyle's 21 styles, given as its painting, is predicted as its own scales and shifts
    # (bench/ship_model.py fits the predictor's head to them: StylePredictor.fit_known)
    loaded = load_model(resolve_model("anystyle", prefer_checkpoint=True))
    assert loaded.predictor is not None
    keys = sorted(norm_row_keys(loaded.net))
    rows = torch.cat([loaded.net.state_dict()[k].float() for k in keys], dim=1)  # [R, all scales and shifts]
    own = rows[: len(loaded.styles)]
    relative = []
    for index, style in enumerate(loaded.styles):
        folder = next(f for f in ("styles", "styles_extra") if (shared / f / style["image"]).is_file())
        with torch.no_grad():
            weights = loaded.predictor(array_to_net(read_painting(shared / folder / style["image"])))[0]
        distances = (own - weights @ rows).norm(dim=1)
        assert int(distances.argmin()) == index, style["name"]
        relative.append(float(distances[index] / own[index].norm()))
    assert max(relative) < 1e-3, relative
