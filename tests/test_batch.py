"""`faststyle batch`: a folder tree (or a dataset) into a mirrored tree, with the pixels `stylize`
gives, resumable, one line per broken image; the Ray engine writes the same files."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from faststyle.commands.cli import main as cli_main
from faststyle.image_io import load_rgb
from faststyle.inference.batch import style_of
from faststyle.runtime import Stylizer

IN_CI = os.environ.get("CI", "").lower() not in ("", "0", "false")


@pytest.fixture()
def tree(tmp_path) -> Path:
    """photos/ with a nested folder, a PNG, JPEGs and a TIFF (written back as .tif)."""
    root = tmp_path / "photos"
    (root / "trips" / "2024").mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i, rel in enumerate(["a.jpg", "b.png", "trips/c.jpg", "trips/2024/d.jpg", "trips/2024/e.tif"]):
        pixels = rng.integers(0, 256, (30 + i, 44, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(root / rel)
    return root


def outputs(folder: Path) -> dict[str, Path]:
    return {str(p.relative_to(folder)): p for p in sorted(folder.rglob("*")) if p.is_file()}


def run_batch(*args: str) -> int:
    return cli_main(["batch", *args, "-q", "--backend", "ort", "--precision", "fp32"])


def test_batch_mirrors_the_tree_with_the_pixels_stylize_gives(tree, tmp_path, model_onnx, capsys):
    out = tmp_path / "out"
    assert run_batch(str(tree), str(out), "-m", str(model_onnx), "--workers", "2") == 0
    assert "5 written, 0 already there, 0 failed" in capsys.readouterr().out
    written = outputs(out)
    assert list(written) == ["a.jpg", "b.png", "trips/2024/d.jpg", "trips/2024/e.tif", "trips/c.jpg"]
    stylizer = Stylizer(model_onnx, backend="ort", precision="fp32")
    expected = stylizer(load_rgb(tree / "b.png"))  # PNG out: lossless, so exactly what stylize gives
    assert np.array_equal(load_rgb(written["b.png"]), expected)
    for rel in ("a.jpg", "trips/2024/e.tif"):
        assert load_rgb(written[rel]).shape == load_rgb(tree / rel).shape


def test_batch_run_again_writes_nothing_and_finishes_what_is_missing(tree, tmp_path, model_onnx, capsys):
    out = tmp_path / "out"
    assert run_batch(str(tree), str(out), "-m", str(model_onnx), "--workers", "1") == 0
    (out / "trips" / "c.jpg").unlink()  # as if the first run had been interrupted before it
    stamps = {rel: p.stat().st_mtime_ns for rel, p in outputs(out).items()}
    capsys.readouterr()
    assert run_batch(str(tree), str(out), "-m", str(model_onnx), "--workers", "1") == 0
    assert "1 written, 4 already there" in capsys.readouterr().out
    assert {rel: p.stat().st_mtime_ns for rel, p in outputs(out).items() if rel in stamps} == stamps
    assert (out / "trips" / "c.jpg").is_file()


def test_a_broken_image_is_one_line_and_the_rest_is_written(tree, tmp_path, model_onnx, capsys):
    (tree / "trips" / "broken.jpg").write_bytes(b"not a jpeg at all")
    out = tmp_path / "out"
    assert run_batch(str(tree), str(out), "-m", str(model_onnx), "--workers", "2") == 1
    captured = capsys.readouterr()
    errors = [line for line in captured.err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors[0].count("broken.jpg") == 1 and "Traceback" not in captured.err
    assert "5 written, 0 already there, 1 failed" in captured.out
    assert len(outputs(out)) == 5 and not list(out.rglob("*.tmp*"))


def test_random_styles_are_a_function_of_seed_and_image(tree, tmp_path, multi_onnx):
    names = ["a", "b", "c"]
    assert np.array_equal(style_of("random", "x.jpg", names, 1), style_of("random", "x.jpg", names, 1))
    picks = {tuple(style_of("random", f"{i}.jpg", names, 1)) for i in range(40)}
    assert picks == {(1, 0, 0), (0, 1, 0), (0, 0, 1)}  # one-hot, every style used
    blend = style_of("random-blend", "x.jpg", names, 1)
    assert blend is not None and abs(blend.sum() - 1) < 1e-6
    first, second = tmp_path / "one", tmp_path / "two"
    for out in (first, second):
        assert run_batch(str(tree), str(out), "-m", str(multi_onnx), "--style", "random", "--workers", "2") == 0
    for rel, path in outputs(first).items():
        assert np.array_equal(load_rgb(path), load_rgb(second / rel)), rel
    weights = style_of("random", "b.png", names, 1)
    expected = Stylizer(multi_onnx, backend="ort", precision="fp32")(load_rgb(tree / "b.png"), weights=weights)
    assert np.array_equal(load_rgb(first / "b.png"), expected)


def test_random_styles_need_a_multi_style_model(tree, tmp_path, model_onnx, capsys):
    assert run_batch(str(tree), str(tmp_path / "out"), "-m", str(model_onnx), "--style", "random") == 2
    assert "holds one style" in capsys.readouterr().err
    assert not (tmp_path / "out").exists() or not outputs(tmp_path / "out")


def test_batch_of_a_dataset_writes_one_file_per_row(tree, tmp_path, model_onnx, capsys):
    # a local image folder read through `datasets` (what a Hub id would give), rows in order
    out = tmp_path / "out"
    assert run_batch(str(tree), str(out), "--dataset", "-m", str(model_onnx), "--workers", "2") == 0
    assert sorted(outputs(out)) == [f"train/{i:06d}.jpg" for i in range(5)]


def test_batch_refuses_a_missing_folder_in_one_line(tmp_path, model_onnx, capsys):
    assert run_batch(str(tmp_path / "nowhere"), str(tmp_path / "out"), "-m", str(model_onnx)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a folder" in err and not (tmp_path / "out").exists()


def test_batch_refuses_output_as_input_and_skips_an_output_inside_it(tree, model_onnx, capsys):
    before = outputs(tree)
    assert run_batch(str(tree), str(tree), "-m", str(model_onnx)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "OUTPUT is INPUT" in err and outputs(tree) == before
    inside = tree / "styled"
    for _ in range(2):  # the second run must not take the first run's results for photos
        assert run_batch(str(tree), str(inside), "-m", str(model_onnx), "--workers", "1") == 0
    assert "0 written, 5 already there, 0 failed" in capsys.readouterr().out.splitlines()[-1]
    assert len(outputs(inside)) == 5


def test_inputs_that_would_share_an_output_each_get_their_own(tmp_path, model_onnx, capsys):
    """x.png, x.gif and x.ppm all became x.png: '3 written' and one file, then '3 already there'."""
    root = tmp_path / "photos"
    root.mkdir()
    rng = np.random.default_rng(1)
    for suffix in ("png", "gif", "ppm"):
        Image.fromarray(rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)).save(root / f"x.{suffix}")
    out = tmp_path / "out"
    assert run_batch(str(root), str(out), "-m", str(model_onnx), "--workers", "1") == 0
    assert "3 written" in capsys.readouterr().out
    assert sorted(outputs(out)) == ["x.png", "x_gif.png", "x_ppm.png"]
    assert run_batch(str(root), str(out), "-m", str(model_onnx), "--workers", "1") == 0
    assert "0 written, 3 already there" in capsys.readouterr().out


def test_an_output_folder_above_the_input_finds_its_photos(tree, model_onnx, capsys):
    """batch par/in par said 'no images anywhere below it'."""
    assert run_batch(str(tree), str(tree.parent), "-m", str(model_onnx), "--workers", "1") == 0
    assert "5 written" in capsys.readouterr().out
    assert (tree.parent / "trips" / "c.jpg").is_file() and len(outputs(tree)) == 5


@pytest.mark.slow
def test_ray_engine_writes_what_the_local_engine_writes(tree, tmp_path, multi_onnx):
    if importlib.util.find_spec("ray") is None:
        if IN_CI:
            pytest.fail("ray is missing: it is in the test extra (pip install -e '.[test]')")
        pytest.skip("ray not installed (pip install 'faststyle-transfer[ray]')")
    local, ray = tmp_path / "local", tmp_path / "ray"
    (tree / "trips" / "empty.png").write_bytes(b"")  # one broken file: a line of its own in both, not a failed job
    common = ["-m", str(multi_onnx), "--style", "random-blend", "--workers", "2"]
    assert run_batch(str(tree), str(local), *common) == 1

    def run_ray() -> subprocess.CompletedProcess:
        # In a process of its own, as a user runs it: Ray leaves gRPC threads in its driver, and a
        # later fork in the test process (DataLoader workers) could crash on them.
        command = [sys.executable, "-m", "faststyle.commands.cli", "batch", str(tree), str(ray), *common]
        command += ["--engine", "ray", "-q", "--backend", "ort", "--precision", "fp32"]
        return subprocess.run(command, capture_output=True, text=True, timeout=600)

    first = run_ray()
    assert first.returncode == 1 and "5 written, 0 already there, 1 failed" in first.stdout, first.stderr[-2000:]
    errors = [line for line in first.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "empty.png" in errors[0] and "Traceback" not in first.stderr
    assert list(outputs(ray)) == list(outputs(local))
    for rel, path in outputs(local).items():
        assert np.array_equal(load_rgb(path), load_rgb(ray / rel)), rel
    again = run_ray()
    assert again.returncode == 1 and "0 written, 5 already there, 1 failed" in again.stdout
