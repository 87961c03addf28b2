"""The `stylize` command as a user runs it: files, folders, globs, videos, options and bad input."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import make_clip, photo_array, probe
from PIL import Image

from faststyle.commands.stylize import main
from faststyle.image_io import load_rgb
from faststyle.inference.tiling import stylize_tiled
from faststyle.runtime import Stylizer


def save_photo(path: Path, w: int = 64, h: int = 48, seed: int = 0, **kwargs) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(photo_array(w, h, seed)).save(path, **kwargs)
    return path


def stylize(capsys, *args) -> tuple[int, str, str]:
    """Run the command in-process -> (exit status, stdout, stderr)."""
    rc = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return rc, out, err


def error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("error: ")]


def ycbcr(image: np.ndarray) -> np.ndarray:
    return np.asarray(Image.fromarray(image).convert("YCbCr"), dtype=np.float32)


# --- files, folders, globs, output names -------------------------------------------------


def test_one_file_is_written_beside_it_as_name_style_jpg(model_onnx, tmp_path, capsys):
    src = save_photo(tmp_path / "photo.png")
    rc, out, err = stylize(capsys, src, "-m", model_onnx)
    assert rc == 0, err
    result = tmp_path / "photo_random.jpg"
    assert f"wrote {result}" in out
    styled = load_rgb(result)
    assert styled.shape == (48, 64, 3)
    assert np.abs(styled.astype(int) - photo_array()).mean() > 10, "output must be stylized, not a copy"


def test_folders_and_globs_expand_to_their_images(model_onnx, tmp_path, capsys):
    for name in ["a.jpg", "b.png", "sub/c.jpg", ".hidden.jpg"]:
        save_photo(tmp_path / "in" / name)
    (tmp_path / "in" / "notes.txt").write_text("not an image")
    rc, _, err = stylize(capsys, tmp_path / "in", "-m", model_onnx, "-o", tmp_path / "out")
    assert rc == 0, err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a_random.jpg", "b_random.jpg"]  # not recursive
    # A quoted glob is expanded by us (for shells that do not), and -o folders are created.
    rc, _, err = stylize(capsys, str(tmp_path / "in" / "*.jpg"), "-m", model_onnx, "-o", tmp_path / "globbed")
    assert rc == 0, err
    assert [p.name for p in (tmp_path / "globbed").iterdir()] == ["a_random.jpg"]
    # Stylizing the same folder in place skips our own earlier outputs.
    assert stylize(capsys, tmp_path / "in", "-m", model_onnx)[0] == 0
    assert stylize(capsys, tmp_path / "in", "-m", model_onnx, "--overwrite")[0] == 0
    assert not list((tmp_path / "in").glob("*_random_random.jpg"))


def test_output_file_path_with_one_input_and_existing_outputs_are_kept(model_onnx, tmp_path, capsys):
    src = save_photo(tmp_path / "p.jpg")
    target = tmp_path / "custom" / "result.png"
    assert stylize(capsys, src, "-m", model_onnx, "-o", target)[0] == 0
    assert Image.open(target).format == "PNG"
    before = target.read_bytes()
    rc, _, err = stylize(capsys, src, "-m", model_onnx, "-o", target, "--strength", "0.5")
    assert rc == 1 and "--overwrite" in err and target.read_bytes() == before
    assert stylize(capsys, src, "-m", model_onnx, "-o", target, "--strength", "0.5", "--overwrite")[0] == 0
    assert target.read_bytes() != before
    # Never onto an input, even with --overwrite.
    original = src.read_bytes()
    rc, _, err = stylize(capsys, src, "-m", model_onnx, "-o", src, "--overwrite")
    assert rc == 1 and "would overwrite an input" in err and src.read_bytes() == original
    # Several inputs into one file path is an argument error.
    other = save_photo(tmp_path / "q.jpg")
    rc, _, err = stylize(capsys, src, other, "-m", model_onnx, "-o", tmp_path / "one.jpg")
    assert rc == 2 and "must be a folder" in err


def test_max_size_and_scale_resize_first(model_onnx, tmp_path, capsys):
    src = save_photo(tmp_path / "big.png", w=120, h=80)
    assert stylize(capsys, src, "-m", model_onnx, "--max-size", "60", "-o", tmp_path / "a.png")[0] == 0
    assert Image.open(tmp_path / "a.png").size == (60, 40)
    assert stylize(capsys, src, "-m", model_onnx, "--scale", "0.25", "-o", tmp_path / "b.png")[0] == 0
    assert Image.open(tmp_path / "b.png").size == (30, 20)
    assert main([str(src), "-m", str(model_onnx), "--strength", "1.5"]) == 2
    assert "between 0 and 1" in capsys.readouterr().err
    assert main([str(src), "-m", str(model_onnx), "--max-size", "2"]) == 2  # a video's encoder failed on 2x1 frames
    assert "must be at least 16" in capsys.readouterr().err
    assert main([str(src), "-m", str(model_onnx), "--temporal-blend", "0.3"]) == 2  # silently ignored before
    assert "add --temporal" in capsys.readouterr().err
    rc, _, err = stylize(capsys, src, "-m", model_onnx, "--scale", "1000", "-o", tmp_path / "huge.png")
    assert rc == 1 and f"{src}: the result would be 120000x80000" in err and not (tmp_path / "huge.png").exists()


def test_messages_name_what_is_wrong(model_onnx, tmp_path, capsys):
    src = save_photo(tmp_path / "p.jpg")
    (tmp_path / "p_random.jpg").mkdir()  # where the output would go
    (tmp_path / "models.onnx").mkdir()
    rc, _, err = stylize(capsys, src, "-m", model_onnx, "--overwrite")
    assert rc == 1 and "is a folder; name a file" in err and err.count("error:") == 1
    rc, _, err = stylize(capsys, src, "-m", tmp_path / "models.onnx")
    assert rc == 2 and "a folder, not a model file" in err
    rc, _, err = stylize(capsys, src, "-m", model_onnx, "--device", "bogus", "-o", tmp_path / "o.jpg")
    assert rc == 2 and "--device bogus: not a device" in err and "use --backend torch for bogus" not in err


# --- options that change the result -------------------------------------------------------


def test_strength_zero_gives_the_photo_and_half_is_in_between(model_onnx, tmp_path, capsys):
    src = save_photo(tmp_path / "p.png")
    for s in ["0", "0.5", "1"]:
        assert stylize(capsys, src, "-m", model_onnx, "--strength", s, "-o", tmp_path / f"s{s}.png")[0] == 0
    photo, half, full = (load_rgb(tmp_path / f"s{s}.png").astype(int) for s in ["0", "0.5", "1"])
    assert np.array_equal(photo, photo_array())
    expected = (photo + full) / 2
    assert np.abs(half - expected).max() <= 1


def test_preserve_color_keeps_the_photos_chroma(model_onnx, tmp_path, capsys):
    src = save_photo(tmp_path / "p.png")
    assert stylize(capsys, src, "-m", model_onnx, "-o", tmp_path / "plain.png")[0] == 0
    assert stylize(capsys, src, "-m", model_onnx, "--preserve-color", "-o", tmp_path / "kept.png")[0] == 0
    photo, plain, kept = (ycbcr(load_rgb(p)) for p in [src, tmp_path / "plain.png", tmp_path / "kept.png"])
    chroma_kept = np.abs(kept[..., 1:] - photo[..., 1:]).mean()
    chroma_plain = np.abs(plain[..., 1:] - photo[..., 1:]).mean()
    assert chroma_kept < 2.0 < chroma_plain  # only rounding and gamut clipping remain
    assert np.abs(kept[..., 0] - plain[..., 0]).mean() < 3.0, "luminance comes from the stylized image"


# --- tiling -------------------------------------------------------------------------------


def test_tiles_cover_the_image_exactly_and_stay_bounded():
    image = photo_array(300, 170)
    seen = []

    def record(tile):
        seen.append(tile.shape)
        return tile

    assert np.array_equal(stylize_tiled(image, record, 64), image)  # weights sum to one everywhere
    assert max(max(s[:2]) for s in seen) <= 64 and len(seen) > 10


def test_tiles_blend_without_seams():
    # Each tile comes back as one flat colour (its own mean): hard cuts would jump by the
    # full difference between neighbours; the cross-fade spreads it over the overlap.
    image = np.repeat(np.linspace(0, 255, 400)[None, :, None], 64, 0).repeat(3, 2).astype(np.uint8)
    out = stylize_tiled(image, lambda t: np.full_like(t, t.mean()), 96).astype(int)
    neighbour_step = 255 * (96 - 24) / 400  # how far apart two neighbouring tiles' means are
    assert np.abs(np.diff(out, axis=1)).max() <= neighbour_step / 4


def test_tiled_is_close_to_untiled(model_onnx, shared):
    from faststyle.image_io import fit_size, resize_rgb

    full = load_rgb(shared / "content" / "chicago.jpg")
    image = resize_rgb(full, fit_size(*full.shape[:2], max_size=256))  # [170, 256, 3]
    s = Stylizer(model_onnx)
    whole = s(image).astype(int)
    assert np.array_equal(stylize_tiled(image, s, 256), whole), "an image within one tile is run whole"
    # Instance norm sees each tile's own statistics, so tiles cannot match exactly. Measured
    # with this random net: mean 3.2 levels, 99th percentile 12 (tile 192); 14.6 / 62 at tile 128.
    diff = np.abs(stylize_tiled(image, s, 192).astype(int) - whole)
    assert diff.mean() < 5 and np.percentile(diff, 99) < 20


def test_tile_flag_runs_through_the_command(model_onnx, tmp_path, capsys):
    src = save_photo(tmp_path / "p.png", w=150, h=70)
    assert stylize(capsys, src, "-m", model_onnx, "--tile", "64", "-o", tmp_path / "t.png")[0] == 0
    assert Image.open(tmp_path / "t.png").size == (150, 70)
    assert main([str(src), "--tile", "8"]) == 2


# --- inputs of every kind ------------------------------------------------------------------


@pytest.mark.parametrize(
    "mode,suffix", [("L", ".png"), ("RGBA", ".png"), ("P", ".png"), ("CMYK", ".jpg"), ("I;16", ".png"), ("LA", ".png")]
)
def test_unusual_image_modes_work(model_onnx, tmp_path, capsys, mode, suffix):
    rgb = Image.fromarray(photo_array())
    if mode == "I;16":
        img = Image.fromarray(np.asarray(rgb.convert("L"), np.uint16) * 257)  # 16-bit greyscale PNG
    else:
        img = rgb.convert(mode)
    src = tmp_path / f"in{suffix}"
    img.save(src)
    assert Image.open(src).mode == mode
    rc, _, err = stylize(capsys, src, "-m", model_onnx)
    assert rc == 0, err
    assert load_rgb(tmp_path / "in_random.jpg").shape == (48, 64, 3)


@pytest.mark.parametrize("scale", [1 / 255, 1.0, 16.0])  # float TIFFs in 0-1, 0-255 and 0-4080
def test_a_float_greyscale_tiff_keeps_its_picture_whatever_its_range(tmp_path, scale):
    grey = np.asarray(Image.fromarray(photo_array()).convert("L"), np.float32)
    src = tmp_path / "float.tif"
    Image.fromarray(grey * np.float32(scale), mode="F").save(src)
    loaded = load_rgb(src)[..., 0].astype(float)
    assert np.corrcoef(loaded.ravel(), grey.ravel())[0, 1] > 0.99 and loaded.std() > 10  # not one flat grey


def test_exif_rotated_jpeg_is_stylized_upright(model_onnx, tmp_path, capsys):
    stored = photo_array(64, 48)
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation 6: the camera was turned; show the pixels rotated 90 degrees clockwise
    src = tmp_path / "phone.jpg"
    Image.fromarray(stored).save(src, exif=exif, quality=95)
    assert stylize(capsys, src, "-m", model_onnx, "--strength", "0", "-o", tmp_path / "upright.png")[0] == 0
    upright = load_rgb(tmp_path / "upright.png").astype(int)
    assert upright.shape == (64, 48, 3)  # portrait, as a viewer shows it
    clockwise, anticlockwise = np.rot90(stored, -1), np.rot90(stored, 1)
    right, wrong = np.abs(upright - clockwise).mean(), np.abs(upright - anticlockwise).mean()
    assert right < 10 and wrong > 3 * right
    assert stylize(capsys, src, "-m", model_onnx)[0] == 0
    assert load_rgb(tmp_path / "phone_random.jpg").shape == (64, 48, 3)


def test_each_bad_input_is_one_line_and_the_good_ones_still_run(model_onnx, tmp_path, capsys):
    good1, good2 = save_photo(tmp_path / "good1.jpg"), save_photo(tmp_path / "good2.png")
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    text = tmp_path / "text.jpg"
    text.write_text("this is a text file renamed .jpg\n")
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes(good1.read_bytes()[: good1.stat().st_size // 3])
    corrupt = tmp_path / "corrupt.png"
    data = bytearray(good2.read_bytes())
    data[40:400] = bytes(360)
    corrupt.write_bytes(bytes(data))
    missing = tmp_path / "missing.jpg"
    bad_video = tmp_path / "broken.mp4"
    bad_video.write_bytes(np.random.default_rng(0).bytes(3000))
    bad = [empty, text, truncated, corrupt, missing, bad_video]
    rc, _, err = stylize(capsys, good1, *bad, good2, "-m", model_onnx)
    assert rc == 1
    lines = error_lines(err)
    assert len(lines) == len(bad), err
    for path, line in zip(bad, lines, strict=False):
        assert line.startswith(f"error: {path}: ")
    assert "Traceback" not in err
    assert (tmp_path / "good1_random.jpg").is_file() and (tmp_path / "good2_random.jpg").is_file()
    leftovers = {p.name for p in tmp_path.iterdir()} - {p.name for p in [good1, good2, *bad]}
    assert leftovers == {"good1_random.jpg", "good2_random.jpg"}, "no partial or temp output files"


@pytest.mark.parametrize("kind", ["random.onnx", "other.onnx", "random.pth", "missing.onnx", "model.bin"])
def test_files_that_are_not_faststyle_models_are_refused(tmp_path, capsys, kind):
    model = tmp_path / kind
    if kind == "other.onnx":
        import onnx
        from onnx import TensorProto, helper

        x = helper.make_tensor_value_info("x", TensorProto.UINT8, [1, 4, 4, 3])
        graph = helper.make_graph(
            [helper.make_node("Identity", ["x"], ["y"])],
            "g",
            [x],
            [helper.make_tensor_value_info("y", TensorProto.UINT8, [1, 4, 4, 3])],
        )
        m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
        m.ir_version = 8
        onnx.save(m, model)
    elif kind != "missing.onnx":
        model.write_bytes(np.random.default_rng(1).bytes(4096))
    src = save_photo(tmp_path / "p.jpg")
    rc, _out, err = stylize(capsys, src, "-m", model)
    assert rc == 2
    assert len(err.strip().splitlines()) == 1 and err.startswith(f"error: {model}: ")
    assert not (tmp_path / "p_random.jpg").exists()


# --- models by name, .pth models, backends ---------------------------------------------------


def test_bundled_models_by_name_and_list(model_onnx, tmp_path, capsys, monkeypatch):
    models = tmp_path / "models"
    models.mkdir()
    shutil.copy(model_onnx, models / "starry_night.onnx")
    monkeypatch.setenv("FASTSTYLE_MODELS", str(models))
    rc, out, _ = stylize(capsys, "--list")
    assert rc == 0 and "starry_night (default)" in out and str(models / "starry_night.onnx") in out
    src = save_photo(tmp_path / "p.jpg")
    assert stylize(capsys, src)[0] == 0  # no -m: the default bundled model
    assert (tmp_path / "p_random.jpg").is_file()  # named by the model's style metadata
    rc, _, err = stylize(capsys, src, "-m", "nope")
    # every model found is named, the bundled ones with FASTSTYLE_MODELS' ones (sorted by name)
    assert rc == 2 and "no bundled model 'nope' (available: " in err and err.count("\n") == 1
    assert "starry_night" in err.split("available: ")[1]


def test_pth_model_with_both_backends_matches_onnx(model_pth, model_onnx, tmp_path, capsys):
    src = save_photo(tmp_path / "p.png", w=40, h=30)
    fp32 = ["--precision", "fp32"]  # the same model on every fp32 engine gives the same pixels
    assert stylize(capsys, src, "-m", model_onnx, *fp32, "-o", tmp_path / "onnx.png")[0] == 0
    assert stylize(capsys, src, "-m", model_pth, "--backend", "ort", *fp32, "-o", tmp_path / "ort.png")[0] == 0
    assert (
        stylize(capsys, src, "-m", model_pth, "--backend", "torch", "--threads", "1", "-o", tmp_path / "torch.png")[0]
        == 0
    )
    ref = load_rgb(tmp_path / "onnx.png").astype(int)
    for name in ["ort.png", "torch.png"]:
        assert np.abs(load_rgb(tmp_path / name).astype(int) - ref).max() <= 1
    rc, _, err = stylize(capsys, src, "-m", model_onnx, "--backend", "torch")
    assert rc == 2 and "--backend torch needs a .ckpt or .pth" in err


# --- animated images -------------------------------------------------------------------------


def save_animation(path: Path, durations=(80, 120, 200)) -> Path:
    """A 3-frame 64x48 animated GIF, each frame another photo, each with its own duration."""
    frames = [Image.fromarray(photo_array(64, 48, seed)) for seed in range(len(durations))]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=list(durations), loop=0)
    return path


@pytest.mark.parametrize("suffix", [".gif", ".webp"])
def test_an_animation_comes_out_animated_with_every_frame_and_its_timing(model_onnx, tmp_path, capsys, suffix):
    src = save_animation(tmp_path / f"cat{suffix}")
    rc, out, err = stylize(capsys, src, "-m", model_onnx)
    assert rc == 0, err
    result = tmp_path / f"cat_random{suffix}"  # an animation keeps its format by default
    assert f"wrote {result}" in out
    with Image.open(result) as anim:
        assert anim.n_frames == 3 and anim.size == (64, 48) and anim.info["loop"] == 0
        durations = []
        for i in range(3):
            anim.seek(i)
            anim.load()  # a WebP frame's duration is known once it is decoded
            durations.append(anim.info["duration"])
        assert durations == [80, 120, 200]
    # Lossless APNG out: each frame is exactly what the model makes of that frame alone.
    assert stylize(capsys, src, "-m", model_onnx, "-o", tmp_path / "cat.png")[0] == 0
    model = Stylizer(model_onnx)
    with Image.open(src) as gif, Image.open(tmp_path / "cat.png") as png:
        assert png.n_frames == 3
        for i in range(3):
            gif.seek(i)
            png.seek(i)
            expected = model(np.asarray(gif.convert("RGB")))
            assert np.array_equal(np.asarray(png.convert("RGB")), expected), f"frame {i}"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == [], "no temp files left"


def test_an_animation_written_as_a_still_is_its_first_frame_and_says_so(model_onnx, tmp_path, capsys):
    src = save_animation(tmp_path / "cat.gif")
    rc, _, err = stylize(capsys, src, "-m", model_onnx, "-o", tmp_path / "still.bmp")  # one frame, lossless
    assert rc == 0, err
    assert "note:" in err and "3 frames" in err and ".gif" in err
    with Image.open(tmp_path / "still.bmp") as still, Image.open(src) as gif:
        assert not getattr(still, "is_animated", False)
        assert np.array_equal(np.asarray(still.convert("RGB")), Stylizer(model_onnx)(np.asarray(gif.convert("RGB"))))


def test_an_animations_transparent_pixels_are_white_as_in_a_still(model_onnx, tmp_path, capsys):
    frames = []
    for seed in range(2):
        rgba = np.dstack([photo_array(64, 48, seed), np.full((48, 64), 255, np.uint8)])
        rgba[:, :32, 3] = 0  # the left half transparent
        frames.append(Image.fromarray(rgba, "RGBA"))
    frames[0].save(tmp_path / "clear.png", save_all=True, append_images=frames[1:], duration=100)
    frames[0].save(tmp_path / "still.png")  # the first frame alone, as a still
    assert stylize(capsys, tmp_path / "clear.png", "-m", model_onnx, "-o", tmp_path / "out.png")[0] == 0
    model = Stylizer(model_onnx)
    with Image.open(tmp_path / "out.png") as out:
        assert out.n_frames == 2
        first = np.asarray(out.convert("RGB"))
    assert np.array_equal(first, model(load_rgb(tmp_path / "still.png")))


# --- video -----------------------------------------------------------------------------------


@pytest.mark.parametrize("out_name", ["clip_random.mp4", "clip.webm"])
def test_video_round_trip_keeps_frames_and_audio(model_onnx, tmp_path, capsys, out_name):
    src = make_clip(tmp_path / "clip.mp4")
    args = [src, "-m", model_onnx] + ([] if out_name.endswith(".mp4") else ["-o", tmp_path / out_name])
    rc, _, err = stylize(capsys, *args)
    assert rc == 0, err
    frames, size, audio, codec = probe(tmp_path / out_name)
    assert (frames, size) == (8, (64, 48))
    assert audio == (["aac"] if out_name.endswith(".mp4") else ["opus"])  # copied, or re-encoded for WebM
    assert codec == ("h264" if out_name.endswith(".mp4") else "vp9")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == [], "no temp files left"


def test_rotated_phone_video_comes_out_upright(model_onnx, tmp_path, capsys):
    src = make_clip(tmp_path / "phone.mov", frames=3, rotation=-90)
    assert stylize(capsys, src, "-m", model_onnx, "--strength", "0", "-q")[0] == 0
    frames, size, audio, _ = probe(tmp_path / "phone_random.mov")
    assert (frames, size, audio) == (3, (48, 64), ["aac"])  # portrait pixels, no rotation flag needed
    import av

    with av.open(str(tmp_path / "phone_random.mov")) as c:
        first = next(c.decode(video=0))
        assert first.rotation == 0
        shown = first.to_ndarray(format="rgb24").astype(int)
    stored = photo_array(64, 48, seed=0)
    right, wrong = np.abs(shown - np.rot90(stored, -1)).mean(), np.abs(shown - np.rot90(stored, 1)).mean()
    assert right < 15 and wrong > 3 * right  # -90 degrees counter-clockwise = turned clockwise


def test_a_broken_video_is_one_line(model_onnx, tmp_path, capsys):
    good = make_clip(tmp_path / "good.mp4", frames=2)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(good.read_bytes()[:2000])
    rc, _, err = stylize(capsys, cut, "-m", model_onnx)
    assert rc == 1 and error_lines(err) == [
        f"error: {cut}: not a video file FFmpeg can read (Invalid data found when processing input)"
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cut.mp4", "good.mp4"]


# --- the installed console script ------------------------------------------------------------


def test_console_script_runs(model_onnx, tmp_path):
    script = Path(sys.executable).with_name("stylize")
    if not script.exists():
        pytest.skip("the stylize console script is not installed (pip install -e .)")
    src = save_photo(tmp_path / "p.jpg")
    done = subprocess.run(
        [str(script), str(src), "-m", str(model_onnx), str(tmp_path / "missing.jpg")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert done.stderr.strip() == f"error: {tmp_path / 'missing.jpg'}: no such file"
    assert (tmp_path / "p_random.jpg").is_file()
    helped = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=60)
    for flag in [
        "--model",
        "--output",
        "--max-size",
        "--scale",
        "--preserve-color",
        "--strength",
        "--tile",
        "--backend",
        "--device",
        "--threads",
        "--list",
        "--overwrite",
    ]:
        assert flag in helped.stdout
