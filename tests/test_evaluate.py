"""`faststyle evaluate` and `faststyle optimize` end to end, on tiny images."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from faststyle.commands import evaluate as evaluate_cmd
from faststyle.commands import optimize as optimize_cmd
from faststyle.image_io import load_rgb
from faststyle.loss import perceptual as losses
from faststyle.loss.perceptual import style_loss_for
from faststyle.model.checkpoint import load_model, save_model
from faststyle.pixels import array_to_net
from faststyle.quality.evaluate import METRICS
from faststyle.quality.gatys import load_image

SIZE = 64


@pytest.fixture(scope="module")
def photos(shared, tmp_path_factory) -> Path:
    """A folder of two photos (one landscape, one square) and a file that is not an image."""
    folder = tmp_path_factory.mktemp("photos")
    for name in ("chicago.jpg", "amber.jpg"):
        shutil.copy(shared / "content" / name, folder / name)
    (folder / "notes.txt").write_text("not a photo\n")
    return folder


@pytest.fixture(scope="module")
def style(shared) -> Path:
    return shared / "styles" / "mosaic.jpg"


def run_evaluate(
    model: Path, photos: Path, style: Path, out: Path, steps: str, capsys, *extra: str
) -> tuple[dict, str]:
    rc = evaluate_cmd.main(
        [
            *extra,
            "-m",
            str(model),
            "--content",
            str(photos),
            "--style",
            str(style),
            "--size",
            str(SIZE),
            "--gatys-steps",
            steps,
            "--timing-runs",
            "2",
            "-o",
            str(out),
        ]
    )
    printed = capsys.readouterr().out
    assert rc == 0
    return json.loads((out / "report.json").read_text()), printed


@pytest.mark.slow
def test_evaluate_writes_report_and_contact_sheet(model_pth, photos, style, tmp_path, capsys):
    report, printed = run_evaluate(model_pth, photos, style, tmp_path / "report", "0,2", capsys)
    assert report["backend"] == "torch" and report["gatys_steps"] == [2]
    assert report["objective_from_checkpoint"] == []  # the fixture saved no loss weights: defaults
    assert report["objective"]["style_weight"] == losses.DEFAULT_STYLE_WEIGHT
    assert [e["name"] for e in report["images"]] == ["amber.jpg", "chicago.jpg"]  # notes.txt skipped
    for entry in report["images"]:
        assert max(entry["height"], entry["width"]) == SIZE
        assert set(entry["model"]) == {*METRICS, "similarity_by_side"} and set(entry["gatys"]) == {"2"}
        assert entry["model"]["ms"] > 0 and entry["gatys"]["2"]["ms"] > 0
        for scores in (entry["photo"], entry["model"], entry["gatys"]["2"]):
            assert 0 < scores["style_similarity"] <= 1
            assert scores["loss"] == pytest.approx(scores["content"] + scores["style"] + scores["tv"], rel=1e-5)
        assert entry["photo"]["content"] == 0
        assert entry["gatys"]["2"]["loss"] < entry["photo"]["loss"]  # the baseline does optimise
    mean_style = np.mean([e["model"]["style"] for e in report["images"]])
    assert report["mean"]["model"]["style"] == pytest.approx(mean_style)
    assert set(report["mean"]["gatys"]) == {"2"}

    sheet = load_rgb(report["contact_sheet"])  # rows: photo | model | Gatys 2, under a label row
    assert sheet.shape[0] > 2 * SIZE and sheet.shape[1] > 3 * SIZE
    assert "MEAN" in printed and "Gatys 2" in printed and "model (torch)" in printed
    # the stroke scale: similarity against the painting at each side it can be taken at, and the peak
    curve = report["mean"]["model"]["similarity_by_side"]
    assert list(curve) == ["256", "362", "470"]  # mosaic.jpg is 470 px long: never enlarged
    assert 256 <= report["mean"]["model"]["stroke_scale"] <= 470 and "stroke scale" in printed


@pytest.mark.slow
def test_evaluate_scores_with_the_models_own_weights(model_pth, photos, style, tmp_path, capsys):
    loaded = load_model(model_pth)
    weighted = save_model(
        loaded.net,
        tmp_path / "weighted.pth",
        "random",
        {"arch": "slim", "style_weight": 0.5 * losses.DEFAULT_STYLE_WEIGHT, "style_size": 128},
    )
    base, _ = run_evaluate(model_pth, photos / "amber.jpg", style, tmp_path / "a", "0", capsys, "--style-size", "128")
    own, _ = run_evaluate(weighted, photos / "amber.jpg", style, tmp_path / "b", "0", capsys)
    assert own["objective_from_checkpoint"] == ["style_weight", "style_size"] and "gatys" not in own["images"][0]
    assert own["objective"]["style_size"] == base["objective"]["style_size"] == 128
    assert own["images"][0]["model"]["style"] == pytest.approx(0.5 * base["images"][0]["model"]["style"], rel=1e-5)
    assert own["images"][0]["model"]["content"] == pytest.approx(base["images"][0]["model"]["content"], rel=1e-5)
    # --style-size scores under another scale than the checkpoint's: its style loss is another
    rescaled, _ = run_evaluate(weighted, photos / "amber.jpg", style, tmp_path / "c", "0", capsys, "--style-size", "64")
    assert rescaled["objective"]["style_size"] == 64 and rescaled["objective_from_checkpoint"] == ["style_weight"]
    assert rescaled["images"][0]["model"]["style"] != pytest.approx(own["images"][0]["model"]["style"], rel=1e-3)


@pytest.mark.slow
def test_evaluate_onnx_agrees_with_torch(model_pth, model_onnx, photos, style, tmp_path, capsys):
    torch_report, _ = run_evaluate(model_pth, photos, style, tmp_path / "pth", "0", capsys)
    onnx_report, _ = run_evaluate(model_onnx, photos, style, tmp_path / "onnx", "0", capsys)
    assert onnx_report["backend"] == "ort"
    for a, b in zip(torch_report["images"], onnx_report["images"], strict=False):
        # Both outputs are 8-bit images; they may differ by one level in a few pixels.
        assert b["model"]["style_similarity"] == pytest.approx(a["model"]["style_similarity"], abs=1e-3)
        assert b["model"]["content"] == pytest.approx(a["model"]["content"], rel=1e-2)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--content", "missing-folder"], "missing-folder: no such file or folder"),
        (["--gatys-steps", "50,lots"], "--gatys-steps '50,lots'"),
        (["--size", "8"], "--size 8"),
        (["--style-size", "8"], "--style-size"),
    ],
)
def test_evaluate_bad_input_is_one_line(model_pth, photos, style, tmp_path, capsys, argv, message):
    base = {"-m": str(model_pth), "--content": str(photos), "--style": str(style), "-o": str(tmp_path / "r")}
    base.update(dict(zip(argv[::2], argv[1::2], strict=False)))
    rc = evaluate_cmd.main([x for kv in base.items() for x in kv])
    err = capsys.readouterr().err
    assert rc == 2 and message in err and err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "r").exists()


@pytest.mark.slow
def test_optimize_writes_an_image_with_lower_loss(vgg_features, photos, style, tmp_path, capsys):
    out = tmp_path / "out" / "preview.png"
    rc = optimize_cmd.main(
        [
            "--content",
            str(photos / "chicago.jpg"),
            "--style",
            str(style),
            "-o",
            str(out),
            "--size",
            str(SIZE),
            "--steps",
            "3",
            "--quiet",
        ]
    )
    assert rc == 0 and "wrote" in capsys.readouterr().out
    result = load_rgb(out)
    assert result.shape == (43, 64, 3)  # 712x474 photo, longer side 64
    # Re-score the written file under the same default objective: it beats the photo (step 0).
    loss_fn = style_loss_for(vgg_features, load_rgb(style))
    photo = load_image(photos / "chicago.jpg", SIZE)  # [1, 3, 43, 64], resized as the command does
    with torch.no_grad():
        start = loss_fn(photo, photo)["loss"].item()
        end = loss_fn(array_to_net(result), photo)["loss"].item()
    assert end < 0.5 * start


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--content", "missing.jpg"], "missing.jpg: no such file"),
        (["-o", "out.xyz"], "unknown image format '.xyz'"),
        (["--steps", "0"], "--steps 0: must be at least 1"),
        (["--lr", "nan"], "--lr nan: expected a finite number"),
        (["--lr", "-1"], "--lr -1: must be greater than 0"),
        (["--lr", "0"], "--lr 0: must be greater than 0"),
        (["--tv-weight", "nan"], "expected a finite number"),  # NaN or inf weights gave a black picture
        (["--content-weight", "inf"], "expected a finite number"),
        (["--style-weight", "-1"], "--style-weight -1: must be at least 0"),
        (["--content-weight", "0", "--style-weight", "0"], "nothing to optimise"),
    ],
)
def test_optimize_bad_input_is_one_line(photos, style, tmp_path, capsys, argv, message):
    base = {"--content": str(photos / "chicago.jpg"), "--style": str(style), "-o": str(tmp_path / "x.png")}
    base.update(dict(zip(argv[::2], argv[1::2], strict=False)))
    rc = optimize_cmd.main([x for kv in base.items() for x in kv])
    err = capsys.readouterr().err
    assert rc == 2 and message in err and err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "x.png").exists()


def test_optimize_leaves_an_existing_output_unless_told(photos, style, tmp_path, capsys):
    out = tmp_path / "x.png"
    out.write_bytes(b"the user's earlier result")
    argv = ["--content", str(photos / "chicago.jpg"), "--style", str(style), "-o", str(out), "--steps", "1"]
    assert optimize_cmd.main([*argv, "--quiet"]) == 2
    assert "exists; pass --overwrite" in capsys.readouterr().err and out.read_bytes() == b"the user's earlier result"


def test_gallery_is_photos_by_models(model_onnx, shared, tmp_path, capsys):
    from faststyle.commands import gallery as gallery_cmd

    out = tmp_path / "grid.png"
    assert (
        gallery_cmd.main(
            [
                "--content",
                str(shared / "content" / "chicago.jpg"),
                str(shared / "content" / "amber.jpg"),
                "-m",
                str(model_onnx),
                str(model_onnx),
                "--size",
                "64",
                "-o",
                str(out),
            ]
        )
        == 0
    )
    grid = load_rgb(out)
    assert grid.shape[0] > 2 * 43 and grid.shape[1] > 3 * 64  # 2 rows (64x43 and 64x64), 3 columns
    assert gallery_cmd.main(["--content", str(tmp_path / "nothing.jpg"), "-o", str(tmp_path / "x.png")]) == 2
    assert "nothing.jpg" in capsys.readouterr().err and not (tmp_path / "x.png").exists()
    before = out.read_bytes()
    again = ["--content", str(shared / "content" / "amber.jpg"), "-m", str(model_onnx), "--size", "32", "-o", str(out)]
    assert gallery_cmd.main(again) == 2  # a second grid must not silently replace the first
    assert "exists; pass --overwrite" in capsys.readouterr().err and out.read_bytes() == before
    assert gallery_cmd.main([*again, "--overwrite"]) == 0 and load_rgb(out).shape[1] < grid.shape[1]
    (tmp_path / "broken.jpg").write_bytes(b"not a photo")
    mixed = [str(tmp_path / "broken.jpg"), str(tmp_path / "gone.jpg"), str(shared / "content" / "amber.jpg")]
    argv = ["--content", *mixed, "-m", str(model_onnx), "--size", "32", "-o", str(tmp_path / "m.png")]
    assert gallery_cmd.main(argv) == 1  # the readable photo still gets its row
    err = capsys.readouterr().err
    assert err.count("error:") == 2 and "broken.jpg" in err and "gone.jpg" in err
    assert load_rgb(tmp_path / "m.png").shape[1] == load_rgb(out).shape[1]


def test_evaluate_keeps_an_earlier_report_unless_told(model_onnx, photos, style, tmp_path, capsys):
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "report.json").write_text("{}")
    argv = ["-m", str(model_onnx), "--content", str(photos), "--style", str(style), "--gatys-steps", "0"]
    assert evaluate_cmd.main([*argv, "--size", "32", "--timing-runs", "1", "-o", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "already holds a report; pass --overwrite" in err and (tmp_path / "r" / "report.json").read_text() == "{}"


def test_contact_sheet_wraps_long_labels_instead_of_widening_columns():
    from faststyle.quality.contact_sheet import LABEL_HEIGHT, contact_sheet

    tile = np.zeros((20, 40, 3), np.uint8)
    short = contact_sheet([[tile, tile]], ["a", "b"], gap=4)
    long = contact_sheet([[tile, tile]], ["a", "vincent_van_gogh_wheat_field_with_cypresses"], gap=4)
    assert long.shape[1] <= short.shape[1] + 8  # the column stays about as wide as its picture
    assert long.shape[0] >= short.shape[0] + 2 * LABEL_HEIGHT  # the label took lines instead


def test_gallery_columns_of_one_style_from_two_models_name_their_models():
    from faststyle.quality.gallery import column_labels

    runs = [("ttq/scratch/min30.pth", "monet"), ("ttq/styles/min30.pth", "monet"), ("wave.onnx", "wave")]
    assert column_labels(runs) == ["monet (scratch/min30)", "monet (styles/min30)", "wave"]
    assert column_labels([("a.onnx", "wave"), ("a.onnx", "wave")]) == ["wave", "wave"]  # one model, twice
    assert column_labels([("multistyle", "candy"), ("multistyle", "wave")]) == ["candy", "wave"]
