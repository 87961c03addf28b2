"""The stroke scale: recorded with every style, measured by evaluate, changed at inference."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from faststyle.commands import stylize as stylize_cmd
from faststyle.export.onnx_export import export_onnx
from faststyle.image_io import load_rgb, resize_rgb, save_rgb
from faststyle.inference.registry import style_records
from faststyle.inference.stroke_scale import at_stroke_scale, check_stroke_scale
from faststyle.loss.vgg import VGGFeatures
from faststyle.model.checkpoint import load_model, save_model
from faststyle.model.transform_net import TransformNet
from faststyle.pixels import array_to_net
from faststyle.quality.stroke_scale import ScaleSweep, peak_side, sides_for
from faststyle.runtime import Stylizer
from faststyle.style_record import describe_stroke_scales
from faststyle.training.styles import style_entries
from tests.conftest import photo_array

# --- recorded with every style ------------------------------------------------------------


def test_a_style_records_the_side_its_painting_really_had(tmp_path):
    big, small = tmp_path / "big.png", tmp_path / "small.png"
    Image.new("RGB", (1000, 600)).save(big)
    Image.new("RGB", (300, 200)).save(small)
    entries = style_entries([big, small], style_size=512)
    assert [e["stroke_scale"] for e in entries] == [512, 300]  # a painting is never enlarged
    assert describe_stroke_scales(entries) == "strokes at big 512 px, small 300 px"


def test_stroke_scale_travels_from_checkpoint_to_onnx_metadata_and_list(tmp_path, monkeypatch, capsys):
    net = TransformNet("tiny", num_styles=2)
    styles = [
        {"name": "a", "image": None, "style_size": 512, "stroke_scale": 470},
        {"name": "b", "image": None, "style_size": 256},  # a record from before stroke scales were stored
    ]
    pth = save_model(net, tmp_path / "m.pth", "m", {"arch": "tiny"}, styles)
    assert [s["stroke_scale"] for s in load_model(pth).styles] == [470, 256]
    onnx_path = export_onnx(pth, tmp_path / "m.onnx", verify=False)
    assert [r["stroke_scale"] for r in style_records(onnx_path)] == [470, 256]
    monkeypatch.setenv("FASTSTYLE_MODELS", str(tmp_path))
    assert stylize_cmd.main(["--list"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("m\t"))
    assert "strokes at a 470 px, b 256 px" in line


# --- measured: where the similarity to the painting peaks ---------------------------------


def discs(side: int, radius: int, seed: int) -> np.ndarray:
    """uint8 [side, side, 3]: a texture of outlined discs of one radius, about 1.5 deep."""
    rng = np.random.default_rng(seed)
    image = Image.new("RGB", (side, side), (240, 230, 200))
    draw = ImageDraw.Draw(image)
    colours = [(200, 30, 30), (20, 60, 160), (30, 140, 60), (20, 20, 20)]
    for _ in range(int(1.5 * side * side / (np.pi * radius * radius))):
        x, y = rng.uniform(0, side, 2)
        box = [x - radius, y - radius, x + radius, y + radius]
        draw.ellipse(box, fill=colours[rng.integers(4)], outline=(0, 0, 0), width=max(1, radius // 6))
    return np.asarray(image)


@pytest.mark.parametrize("radius, side", [(16, 512), (8, 256)])
def test_the_peak_finder_finds_a_textures_known_scale(vgg_features, radius, side):
    """Discs of radius 32 in a 1024 px painting are radius 16 at 512 px: an image of radius-16
    discs copies the painting's strokes at 512 px."""
    sweep = ScaleSweep(VGGFeatures(vgg_features, ("relu1_2", "relu2_2", "relu3_3", "relu4_3")), discs(1024, 32, 0))
    curve = sweep(array_to_net(discs(384, radius, 1)))
    assert peak_side(curve) == pytest.approx(side, rel=0.1)


def test_peak_side_refines_between_samples_and_keeps_an_edge_peak():
    assert peak_side({256: 0.8, 362: 0.9, 512: 0.8}) == pytest.approx(362, rel=0.01)  # symmetric: the middle
    assert 362 < peak_side({256: 0.8, 362: 0.9, 512: 0.88}) < 512  # leaning towards the larger side
    assert peak_side({256: 0.9, 362: 0.8, 512: 0.7}) == 256  # at an end: that end
    assert sides_for(470) == [256, 362, 470] and sides_for(2000) == [256, 362, 512, 724, 1024]


# --- changed at inference -----------------------------------------------------------------


def edge_photo(w: int = 256, h: int = 96) -> np.ndarray:
    """Dark left half, light right half: one vertical edge at w // 2."""
    photo = np.empty((h, w, 3), np.uint8)
    photo[:, : w // 2] = (40, 30, 90)
    photo[:, w // 2 :] = (230, 210, 150)
    return photo


def recolour(image: np.ndarray) -> np.ndarray:
    """A stand-in for a network on flat regions: each pixel's luminance mapped to red..blue."""
    t = image.astype(np.float32).mean(-1, keepdims=True) / 255.0
    return np.clip(np.concatenate([255 * (1 - t), 60 + 0 * t, 255 * t], -1), 0, 255).astype(np.uint8)


def edge_width(row: np.ndarray) -> int:
    """Pixels a step takes to go from 10% to 90% of the way across, in its largest channel."""
    channel = row[:, np.argmax(np.abs(row[-1].astype(int) - row[0].astype(int)))].astype(float)
    t = (channel - channel[0]) / (channel[-1] - channel[0])
    return int(np.sum((t > 0.1) & (t < 0.9)))


def test_stroke_scale_two_keeps_the_size_and_a_sharp_edge_sharp():
    photo = edge_photo()
    out = at_stroke_scale(recolour, photo, 2)
    assert out.shape == photo.shape
    bicubic = np.asarray(Image.fromarray(recolour(resize_rgb(photo, (48, 128)))).resize((256, 96), Image.BICUBIC))
    row = slice(100, 156)
    assert edge_width(bicubic[48, row]) >= 2  # plain upsampling smears the edge over pixels
    assert edge_width(out[48, row]) <= 1  # the photo's edge, in the painted colours
    assert np.abs(out[48, 100].astype(int) - recolour(photo)[48, 100]).max() <= 2  # flat areas keep their colour


def test_stroke_scale_one_is_the_plain_output_and_two_runs_through_every_api(model_onnx, tmp_path, capsys):
    photo = photo_array(96, 64)
    plain = Stylizer(model_onnx, backend="ort", precision="fp32")(photo)
    assert np.array_equal(Stylizer(model_onnx, backend="ort", precision="fp32", stroke_scale=1)(photo), plain)
    twice = Stylizer(model_onnx, backend="ort", precision="fp32", stroke_scale=2)
    assert twice(photo).shape == photo.shape and twice(np.stack([photo, photo])).shape == (2, *photo.shape)
    src = save_rgb(photo, tmp_path / "p.png")
    for scale, name in (("1", "one.png"), ("2", "two.png"), ("0.5", "half.png")):
        args = [str(src), "-m", str(model_onnx), "--stroke-scale", scale, "-o", str(tmp_path / name), "-q"]
        assert stylize_cmd.main([*args, "--backend", "ort", "--precision", "fp32"]) == 0
        assert load_rgb(tmp_path / name).shape == photo.shape
    assert np.abs(load_rgb(tmp_path / "one.png").astype(int) - plain).max() <= 1


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "big"])
def test_bad_stroke_scales_are_one_line(model_onnx, tmp_path, capsys, value):
    src = save_rgb(photo_array(), tmp_path / "p.png")
    rc = stylize_cmd.main([str(src), "-m", str(model_onnx), "--stroke-scale", value])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and err.startswith("error: --stroke-scale") and len(err.splitlines()) == 1


def test_a_stroke_scale_too_large_for_the_photo_is_one_line(model_onnx, tmp_path, capsys):
    src = save_rgb(photo_array(64, 48), tmp_path / "p.png")
    args = [str(src), "-m", str(model_onnx), "--stroke-scale", "10", "-o", str(tmp_path / "o.png")]
    rc = stylize_cmd.main([*args, "--backend", "ort", "--precision", "fp32"])
    err = capsys.readouterr().err.strip()
    assert rc == 1 and len(err.splitlines()) == 1 and "the largest stroke scale for it is 3" in err
    assert not (tmp_path / "o.png").exists()
    with pytest.raises(Exception, match="largest stroke scale"):
        check_stroke_scale(10, 48, 64)


def test_the_torch_engine_takes_the_stroke_scale_too(model_pth, tmp_path):
    src = save_rgb(photo_array(80, 64), tmp_path / "p.png")
    out = tmp_path / "o.png"
    args = [str(src), "-m", str(model_pth), "--backend", "torch", "--stroke-scale", "2", "-o", str(out), "-q"]
    assert stylize_cmd.main(args) == 0
    assert load_rgb(out).shape == (64, 80, 3)
