"""Every failure is one line, and nothing a user owns is overwritten: one regression test per
defect found by trying the project as a new user and as an attacker would (issue 16)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from conftest import FAST, make_clip, train_args
from PIL import Image

from faststyle.commands.cli import main as faststyle_main
from faststyle.commands.stylize import main as stylize_main
from faststyle.commands.train import main as train_main

ROOT = Path(__file__).resolve().parents[1]


def photo(path: Path, w: int = 48, h: int = 32) -> Path:
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(path)
    return path


def one_line(err: str) -> bool:
    return err.count("\n") == 1 and err.startswith("error: ") and "Traceback" not in err


# 1. An unreadable folder or file is an error line; the readable input is still written.
def test_unreadable_inputs_are_lines_and_the_rest_is_processed(tmp_path, monkeypatch, capsys):
    good = photo(tmp_path / "a.jpg")
    locked = tmp_path / "locked"
    locked.mkdir()
    real_iterdir, real_is_dir = Path.iterdir, Path.is_dir

    def iterdir(self: Path):  # what a folder without read permission does for a non-root user
        if self == locked:
            raise PermissionError(13, "Permission denied", str(self))
        return real_iterdir(self)

    def is_dir(self: Path) -> bool:
        if self.parent == locked:
            raise PermissionError(13, "Permission denied", str(self))
        return real_is_dir(self)

    monkeypatch.setattr(Path, "iterdir", iterdir)
    monkeypatch.setattr(Path, "is_dir", is_dir)
    out = tmp_path / "out"
    rc = stylize_main([str(locked), str(good), str(locked / "b.jpg"), "-o", str(out), "-q"])
    err = capsys.readouterr().err
    assert rc == 1 and "Traceback" not in err
    assert err.count("error:") == 2 and "cannot read" in err
    assert (out / "a_starry_night.jpg").is_file()


# 2. The run's outputs and export's output never replace a user's file without --overwrite.
def test_training_and_export_refuse_to_replace_files(tmp_path, shared, photos, model_pth, capsys):
    export_dir = tmp_path / "export"
    export_dir.mkdir()
    mine = export_dir / "mosaic.onnx"
    mine.write_bytes(b"the user's own model")
    args = [
        "--style",
        str(shared / "styles" / "mosaic.jpg"),
        "--data",
        str(photos),
        "--export-dir",
        str(export_dir),
        "--checkpoint-dir",
        str(tmp_path / "ck"),
        *[a for a in FAST if a != "--no-export"],
        "--max-steps",
        "1",
    ]
    assert train_main(args) == 2
    err = capsys.readouterr().err
    assert one_line(err) and "--overwrite" in err and str(mine) in err
    assert mine.read_bytes() == b"the user's own model" and not (tmp_path / "ck" / "last.ckpt").exists()
    target = tmp_path / "x.onnx"
    target.write_bytes(b"keep")
    assert faststyle_main(["export", str(model_pth), "-o", str(target)]) == 2
    assert one_line(capsys.readouterr().err) and target.read_bytes() == b"keep"
    assert faststyle_main(["export", str(model_pth), "-o", str(target), "--overwrite", "--no-verify"]) == 0
    assert target.read_bytes() != b"keep"


# 3. Bad training arguments are refused before any work, with exit status 2 and one line.
@pytest.mark.parametrize(
    "bad",
    [
        ["--image-size", "0"],
        ["--image-size", "-5"],
        ["--batch-size", "0"],
        ["--lr", "-1"],
        ["--style-size", "0"],
        ["--precision", "foo"],
        ["--style-weight", "-1"],
        ["--tv-weight", "-0.5"],
        ["--content-weight", "-2"],
        ["--checkpoint-every", "0"],
        ["--max-minutes", "0"],
        ["--lr", "nan"],
        ["--content-weight", "0", "--style-weight", "0"],
        ["--precision", "16-mixed"],  # no CUDA GPU in the test run
        ["--adapter-rank", "4"],  # a fine-tune's setting, without --base
        # absurd sizes overflowed deep inside a library (OverflowError, MemoryError, TypeError)
        ["--max-minutes", "1e30"],
        ["--image-size", "99999999999"],
        ["--batch-size", "99999999999"],
        ["--seed", "99999999999"],
        ["--num-nodes", "99999999999"],
        ["--max-steps", "99999999999"],
        ["--devices", "-5"],
        ["--devices", "two"],
    ],
)
def test_bad_training_arguments_are_one_line(bad, tmp_path, shared, capsys):
    rc = train_main(
        [
            "--style",
            str(shared / "styles" / "mosaic.jpg"),
            "--data",
            str(tmp_path),
            "--checkpoint-dir",
            str(tmp_path / "ck"),
            *bad,
        ]
    )
    err = capsys.readouterr().err
    assert rc == 2 and one_line(err) and bad[0] in err
    assert not (tmp_path / "ck").exists()


def test_data_without_images_is_refused_before_training(tmp_path, shared, capsys):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "a.txt").write_text("x")
    (tmp_path / "notes" / "b.md").write_text("y")
    rc = train_main(
        [
            "--style",
            str(shared / "styles" / "mosaic.jpg"),
            "--data",
            str(tmp_path / "notes"),
            "--checkpoint-dir",
            str(tmp_path / "ck"),
            *FAST,
        ]
    )
    err = capsys.readouterr().err
    assert rc == 2 and one_line(err) and "holds no images" in err


# 4. --resume with another --style is refused instead of silently continuing the other run.
def test_resume_with_another_style_is_refused(tmp_path, shared, photos, capsys):
    base = ["--data", str(photos), "--checkpoint-dir", str(tmp_path / "ck"), "--log-dir", str(tmp_path / "r"), *FAST]
    assert train_main(["--style", str(shared / "styles" / "mosaic.jpg"), *base, "--max-steps", "2"]) == 0
    capsys.readouterr()
    rc = train_main(["--style", str(shared / "styles" / "wave.jpg"), *base, "--max-steps", "4", "--resume"])
    err = capsys.readouterr().err
    assert rc == 2 and one_line(err) and "mosaic.jpg" in err and "wave.jpg" in err


# 5. -q never shows a progress bar, even into a file.
def test_quiet_shows_no_progress_bar(tmp_path, model_onnx):
    inputs = [str(photo(tmp_path / f"{i}.png")) for i in range(3)]
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "faststyle.commands.stylize",
            *inputs,
            "-m",
            str(model_onnx),
            "-q",
            "-o",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0 and proc.stderr == "" and proc.stdout == ""
    assert len(list((tmp_path / "out").iterdir())) == 3


# 6. Unwritable outputs are one line naming the user's path: no traceback, temp name or errno.
@pytest.mark.parametrize("command", ["export", "gallery", "evaluate"])
def test_unwritable_outputs_are_one_line(command, tmp_path, model_pth, shared, capsys):
    (tmp_path / "a_file").write_text("x")
    target = tmp_path / "a_file" / "sub" / ("out.onnx" if command == "export" else "out")
    argv = {
        "export": ["export", str(model_pth), "-o", str(target), "--no-verify"],
        "gallery": [
            "gallery",
            "--content",
            str(shared / "content" / "chicago.jpg"),
            "-m",
            str(model_pth),
            "--size",
            "32",
            "-o",
            str(target) + ".jpg",
        ],
        "evaluate": [
            "evaluate",
            "-m",
            str(model_pth),
            "--content",
            str(shared / "content" / "chicago.jpg"),
            "--style",
            str(shared / "styles" / "wave.jpg"),
            "--gatys-steps",
            "0",
            "--size",
            "32",
            "--timing-runs",
            "1",
            "-o",
            str(target),
        ],
    }[command]
    assert faststyle_main(argv) == 2
    err = capsys.readouterr().err
    assert one_line(err) and "a_file is a file, not a folder" in err
    assert ".tmp" not in err and "Errno" not in err


# 7. Resuming leaves one last.ckpt, not another last-vN.ckpt each time.
def test_resume_keeps_a_single_last_checkpoint(tmp_path, shared, photos):
    base = train_args(shared, photos, tmp_path / "ck")
    assert train_main([*base, "--max-steps", "1"]) == 0
    assert train_main([*base, "--max-steps", "2", "--resume"]) == 0
    assert train_main([*base, "--max-steps", "3", "--resume"]) == 0
    assert sorted(p.name for p in (tmp_path / "ck").glob("*.ckpt")) == ["last.ckpt"]


# 8. Photos up to our own limit load; a --scale that would exceed it is refused before resizing.
def test_a_102_megapixel_photo_loads(tmp_path):
    from faststyle.image_io import load_rgb

    path = tmp_path / "big.png"
    Image.new("1", (11648, 8736)).save(path)  # 102 Mpx, above Pillow's own ~89 Mpx guard
    assert load_rgb(path).shape == (8736, 11648, 3)


def test_huge_scale_is_refused_before_any_resize(tmp_path, model_onnx, capsys):
    src = photo(tmp_path / "p.png", 400, 300)
    # --backend ort: run alone, an automatic engine choice would add its own note to stderr
    argv = [str(src), "-m", str(model_onnx), "--backend", "ort", "--scale", "60", "-o", str(tmp_path / "o.jpg")]
    assert stylize_main(argv) == 1
    err = capsys.readouterr().err
    assert one_line(err) and "24000x18000" in err and "--scale" in err
    assert not (tmp_path / "o.jpg").exists()


# 9. serve: a NUL in the path is a 400; models are served as checked at start-up; idle sockets close.
def test_serve_refuses_nul_paths_serves_what_it_checked_and_drops_idle_sockets(tmp_path, model_onnx, monkeypatch):
    import threading

    from faststyle.inference.registry import collect
    from faststyle.web import server as serving

    try:
        serving.check_web_files()
    except Exception as e:
        pytest.skip(str(e))
    model = tmp_path / "m.onnx"
    model.write_bytes(model_onnx.read_bytes())
    site = tmp_path / "site"
    serving.build_site(site, collect([model]))
    model.unlink()
    model.symlink_to("/etc/passwd")  # swapped after start-up
    monkeypatch.setattr(serving.StaticHandler, "timeout", 1)
    server = serving.make_server(site, port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        with pytest.raises(urllib.error.HTTPError) as bad:
            urllib.request.urlopen(url + "index.html%00.png", timeout=10)
        assert bad.value.code == 400
        with urllib.request.urlopen(url + "models/m.onnx", timeout=10) as r:
            assert r.read() == model_onnx.read_bytes()
        idle = socket.create_connection(server.server_address[:2], timeout=10)
        idle.settimeout(10)
        assert idle.recv(1) == b""  # the server closed the silent connection on its own
    finally:
        server.shutdown()
        server.server_close()


# 10. SIGTERM cleans up like Ctrl-C: no temp site folder, no hidden half-written video.
def test_sigterm_leaves_no_temp_site_folder(tmp_path, model_onnx):
    models = tmp_path / "models"
    models.mkdir()
    (models / "m.onnx").write_bytes(model_onnx.read_bytes())
    env = {**os.environ, "TMPDIR": str(tmp_path / "tmp")}
    (tmp_path / "tmp").mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-m", "faststyle.commands.cli", "serve", "--port", "0", "--models", str(models)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert "http://" in (proc.stdout.readline() if proc.stdout else "")
        assert list((tmp_path / "tmp").glob("faststyle-site-*"))
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
    assert not list((tmp_path / "tmp").glob("faststyle-site-*"))


def test_sigterm_during_a_video_leaves_no_temp_file(tmp_path, model_onnx):
    clip = make_clip(tmp_path / "clip.mp4", frames=400, w=320, h=240, fps=25)
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-m", "faststyle.commands.stylize", str(clip), "-m", str(model_onnx), "-o", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    while not list(out.glob(".*.tmp")) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert list(out.glob(".*.tmp")), "the encoder never started"
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=60)
    assert proc.returncode == 143
    assert list(out.iterdir()) == []


# 11. A truncated .mkv or .webm is refused: one line, nothing written.
def test_truncated_video_is_refused(tmp_path, model_onnx, capsys):
    clip = make_clip(tmp_path / "clip.mkv", frames=80, fps=8)
    data = clip.read_bytes()
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(data[: len(data) * 3 // 10])
    assert stylize_main([str(cut), "-m", str(model_onnx), "-o", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert one_line(err) and "truncated" in err
    assert not (tmp_path / "out" / "cut_random.mkv").exists()


# 12. No internal words in messages; no noise around training; help that is the command's own.
def test_bad_numbers_are_worded_for_people(model_onnx, tmp_path, capsys):
    assert stylize_main([str(photo(tmp_path / "p.png")), "--strength", "abc"]) == 2
    err = capsys.readouterr().err
    assert one_line(err) and "--strength 'abc'" in err and "_unit_float" not in err


def test_training_output_has_no_noise(tmp_path, shared, photos, capsys):
    (photos / "part0" / "broken.jpg").write_bytes(b"not a jpeg at all")
    base = [
        "--style",
        str(shared / "styles" / "mosaic.jpg"),
        "--data",
        str(photos),
        "--checkpoint-dir",
        str(tmp_path / "ck"),
        "--log-dir",
        str(tmp_path / "r"),
        *FAST,
    ]
    with _no_user_warning():
        assert train_main([*base, "--max-steps", "5"]) == 0
    out = capsys.readouterr()
    text = out.out + out.err
    assert "warning: skipped unreadable image" in out.err and "UserWarning" not in text
    assert "(5 steps, 1 images skipped)" in out.out  # named once, counted once
    assert "Downloading data" not in text  # Lightning's own log lines: checked in a fresh process below
    assert train_main([*base, "--max-steps", "5", "--resume"]) == 2  # a finished run: one line, no warnings
    err = capsys.readouterr().err
    assert one_line(err) and "--max-steps" in err and "DataLoader" not in err


def test_train_py_prints_our_lines_not_lightnings(tmp_path, shared, photos):
    """As a user runs it: a fresh process, whose stderr Lightning's log handler really writes to."""
    root = Path(__file__).resolve().parents[1]
    args = ["--style", str(shared / "styles" / "mosaic.jpg"), "--data", str(photos), "--max-steps", "2"]
    args += ["--checkpoint-dir", str(tmp_path / "ck"), "--log-dir", str(tmp_path / "r"), *FAST]
    proc = subprocess.run(
        [sys.executable, str(root / "train.py"), *args], capture_output=True, text=True, timeout=300, cwd=tmp_path
    )
    text = proc.stdout + proc.stderr
    assert proc.returncode == 0, text[-2000:]
    assert "precision:" in text and "final model" in text
    for noise in ("GPU available", "TPU available", "litlogger", "Automatic Mixed Precision", "Logging error"):
        assert noise not in text, noise


class _no_user_warning:
    """Fail if a Python UserWarning escapes (skipped images must be our own lines)."""

    def __enter__(self) -> None:
        import warnings

        self._catch = warnings.catch_warnings(record=True)
        self.caught = self._catch.__enter__()
        warnings.simplefilter("always")

    def __exit__(self, *exc: object) -> None:
        self._catch.__exit__(*exc)
        bad = [w for w in self.caught if issubclass(w.category, UserWarning) and "skipped" in str(w.message)]
        assert not bad, bad


def test_train_help_is_quick_and_names_the_command():
    code = (
        "import sys; from faststyle.commands.train import build_parser; "
        "h = build_parser('faststyle train').format_help(); print('torch' in sys.modules, h.split()[1])"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.split() == ["False", "faststyle"]  # torch not even imported for --help
    help_text = subprocess.run(
        [sys.executable, "-m", "faststyle.commands.cli", "train", "--help"], capture_output=True, text=True
    ).stdout
    assert help_text.startswith("usage: faststyle train")


# 13. Same-named inputs get distinct outputs; evaluate goes on past a bad photo; gallery checks --size.
def test_same_stem_inputs_get_distinct_outputs(tmp_path, model_onnx, capsys):
    for ext in ("bmp", "jpg", "webp"):
        photo(tmp_path / f"good.{ext}")
    out = tmp_path / "out"
    assert (
        stylize_main(
            [
                str(tmp_path / "good.bmp"),
                str(tmp_path / "good.jpg"),
                str(tmp_path / "good.webp"),
                "-m",
                str(model_onnx),
                "-o",
                str(out),
                "-q",
            ]
        )
        == 0
    )
    assert sorted(p.name for p in out.iterdir()) == ["good_jpg_random.jpg", "good_random.jpg", "good_webp_random.jpg"]


def test_evaluate_goes_on_past_a_bad_photo(tmp_path, model_pth, shared, capsys):
    photos = tmp_path / "photos"
    photos.mkdir()
    photo(photos / "a.png", 64, 48)
    (photos / "b.jpg").write_bytes(b"broken")
    photo(photos / "c.png", 64, 48)
    rc = faststyle_main(
        [
            "evaluate",
            "-m",
            str(model_pth),
            "--content",
            str(photos),
            "--style",
            str(shared / "styles" / "wave.jpg"),
            "--gatys-steps",
            "0",
            "--size",
            "32",
            "--timing-runs",
            "1",
            "-o",
            str(tmp_path / "r"),
        ]
    )
    out = capsys.readouterr()
    assert rc == 1 and out.err.count("error:") == 1 and "b.jpg" in out.err
    import json

    report = json.loads((tmp_path / "r" / "report.json").read_text())
    assert [i["name"] for i in report["images"]] == ["a.png", "c.png"]


def test_gallery_size_must_be_sensible(tmp_path, capsys):
    assert faststyle_main(["gallery", "--content", str(tmp_path), "--size", "0"]) == 2
    assert one_line(capsys.readouterr().err)


# 14. evaluate names a model whose output size differs from its input, in one line.
def test_evaluate_names_a_model_that_changes_the_size(tmp_path, shared, capsys):
    import onnx
    from onnx import TensorProto, helper

    # uint8 [N, H, W, 3] -> the same without its last row: a "model" that rounds H down
    starts, ends, axes = (
        helper.make_tensor(n, TensorProto.INT64, [1], v) for n, v in (("starts", [0]), ("ends", [-1]), ("axes", [1]))
    )
    graph = helper.make_graph(
        [helper.make_node("Slice", ["image", "starts", "ends", "axes"], ["stylized"])],
        "crop",
        [helper.make_tensor_value_info("image", TensorProto.UINT8, ["N", "H", "W", 3])],
        [helper.make_tensor_value_info("stylized", TensorProto.UINT8, ["N", "H2", "W", 3])],
        [starts, ends, axes],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    helper.set_model_props(model, {"style": "crop", "faststyle_version": "0"})
    path = tmp_path / "crop.onnx"
    onnx.save(model, path)
    rc = faststyle_main(
        [
            "evaluate",
            "-m",
            str(path),
            "--content",
            str(shared / "content" / "chicago.jpg"),
            "--style",
            str(shared / "styles" / "wave.jpg"),
            "--gatys-steps",
            "0",
            "--size",
            "32",
            "-o",
            str(tmp_path / "r"),
        ]
    )
    err = capsys.readouterr().err
    assert rc == 2 and "Traceback" not in err and err.count("error:") == 1
    assert err.splitlines()[-1].endswith(
        "crop.onnx returns 32x20 pixels for a 32x21 photo; evaluate scores an "
        "output against its photo and needs both the same size"
    )


# 15. Found by a later smoke test: Pillow's bomb guard (raised past ~179 Mpx) hit stylize's
# planning, which opens each input to see whether it is animated, so no input was done.
# A lowered guard stands in for a 196 Mpx photo here: the same exception, in milliseconds.
def test_stylize_plans_past_pillows_own_bomb_guard(tmp_path, model_onnx, monkeypatch, capsys):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 500)  # 2x is under the photos' 48x32
    a, b = photo(tmp_path / "a.png"), photo(tmp_path / "b.png")
    out = tmp_path / "out"
    assert stylize_main([str(a), str(b), "-m", str(model_onnx), "-o", str(out), "-q"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["a_random.jpg", "b_random.jpg"]
    assert Image.MAX_IMAGE_PIXELS == 500  # the guard is put back as it was


# 16. --overwrite replaces an earlier output, never the picture the command reads.
@pytest.mark.parametrize("command", ["optimize-content", "optimize-style", "gallery"])
def test_output_may_not_be_an_input_even_with_overwrite(command, tmp_path, shared, model_onnx, capsys):
    content = photo(tmp_path / "c.png")
    style = photo(tmp_path / "s.png", 40, 40)
    target = style if command == "optimize-style" else content
    before = target.read_bytes()
    if command == "gallery":
        argv = ["gallery", "--content", str(content), "-m", str(model_onnx), "-o", str(target), "--overwrite"]
    else:
        argv = ["optimize", "--content", str(content), "--style", str(style), "-o", str(target), "--overwrite"]
    assert faststyle_main(argv) != 0
    err = capsys.readouterr().err
    assert one_line(err) and "choose another -o" in err
    assert target.read_bytes() == before


# 17. An -o whose suffix is no format stylize writes is refused, not made a folder of .jpg files.
def test_stylize_refuses_an_unknown_output_format(tmp_path, model_onnx, capsys):
    src = photo(tmp_path / "p.jpg")
    assert stylize_main([str(src), "-m", str(model_onnx), "-o", str(tmp_path / "p.avif")]) == 2
    err = capsys.readouterr().err
    assert one_line(err) and "'.avif'" in err and not (tmp_path / "p.avif").exists()


# 18. Lightning's refusals of --devices / --accelerator are one line, before any step.
@pytest.mark.parametrize("bad", [["--devices", "foo"], ["--accelerator", "tpu"]])
def test_bad_device_flags_are_one_line(bad, tmp_path, shared, photos, capsys):
    argv = ["--style", str(shared / "styles" / "mosaic.jpg"), "--data", str(photos), *FAST, *bad]
    rc = train_main([*argv, "--checkpoint-dir", str(tmp_path / "ck"), "--export-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert rc != 0 and one_line(err) and bad[1] in err
    assert not (tmp_path / "ck" / "last.ckpt").exists()


# 19. A folder or an ONNX file where a model checkpoint is wanted is named as such.
def test_a_folder_or_onnx_file_given_as_a_model_is_named_for_what_it_is(tmp_path, model_onnx, monkeypatch, capsys):
    folder = tmp_path / "looks_like.jpg"
    folder.mkdir()
    monkeypatch.chdir(tmp_path)
    assert stylize_main([str(photo(tmp_path / "p.jpg")), "-m", "looks_like.jpg"]) != 0
    assert "a folder, not a model file" in capsys.readouterr().err
    assert faststyle_main(["export", str(folder)]) != 0
    assert "a folder, not a model file" in capsys.readouterr().err
    assert faststyle_main(["export", str(model_onnx)]) != 0
    err = capsys.readouterr().err
    assert one_line(err) and "ONNX file" in err and ".ckpt or .pth" in err


# 20. A flag that only shapes a measurement or a column it was not asked for is refused, not ignored.
@pytest.mark.parametrize(
    "extra, named",
    [
        (["evaluate", "--frames", "3"], "--frames"),
        (["evaluate", "--temporal-blend", "0.3"], "--temporal-blend"),
        (["evaluate", "--video-frames", "4"], "--video-frames"),
        (["gallery", "--styles", "candy", "wave"], "--styles"),
    ],
)
def test_flags_without_what_they_shape_are_refused(extra, named, tmp_path, shared, model_onnx, capsys):
    content = photo(tmp_path / "c.png")
    command, *flags = extra
    if command == "evaluate":
        argv = ["evaluate", "-m", str(model_onnx), "--content", str(content), "--style", str(content)]
    else:
        argv = ["gallery", "--content", str(content), "-m", str(model_onnx)]
    argv += [*flags, "-o", str(tmp_path / ("out" if command == "evaluate" else "g.jpg"))]
    assert faststyle_main(argv) == 2
    err = capsys.readouterr().err
    assert one_line(err) and named in err
    assert not (tmp_path / "out").exists() and not (tmp_path / "g.jpg").exists()


# 21. A disk that fills up while checkpointing: one line, and the last good checkpoint survives.
def test_a_full_disk_mid_run_is_one_line_and_keeps_the_last_checkpoint(tmp_path, shared, photos, monkeypatch, capsys):
    import errno

    from faststyle.training.checkpoint_io import read_checkpoint

    syncs = []
    real_fsync = os.fsync

    def fsync_that_fills_up(fd: int) -> None:  # NFS and some others report ENOSPC only here
        syncs.append(fd)
        if len(syncs) > 1:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync_that_fills_up)
    ck = tmp_path / "ck"
    rc = train_main(train_args(shared, photos, ck, "--max-steps", "3", "--checkpoint-every", "1"))
    err = capsys.readouterr().err
    assert rc == 2 and one_line(err), err
    assert "no space left on device" in err and "--resume" in err and "intact" in err
    assert read_checkpoint(ck / "last.ckpt")["global_step"] == 1
    assert not list(ck.glob("*.tmp")) and not list(ck.glob(".*.tmp"))


def test_torch_files_on_a_really_full_disk_are_one_line(tmp_path):
    """torch's writer says "unexpected pos" about a full disk; we say what happened."""
    import subprocess as sp

    import torch

    from faststyle.errors import UserError
    from faststyle.model.checkpoint import write_torch

    disk = tmp_path / "disk"
    disk.mkdir()
    if sp.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(disk)], capture_output=True).returncode:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    try:
        with pytest.raises(UserError, match=r"could not be written \(no space left on device\)"):
            write_torch({"w": torch.zeros(512, 512)}, disk / "last.ckpt", durable=True)
        assert list(disk.iterdir()) == []
    finally:
        sp.run(["umount", str(disk)], check=False)


# 22. Two runs never share a checkpoint folder: the second is refused while the first is alive.
def test_a_second_run_into_a_busy_checkpoint_folder_is_refused(tmp_path, shared, photos, capsys):
    ck = tmp_path / "ck"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; "
            "from faststyle.training.checkpoint_io import hold_run_folder\n"
            "with hold_run_folder(Path(sys.argv[1])):\n    print('held', flush=True); time.sleep(120)",
            str(ck),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        rc = train_main(train_args(shared, photos, ck, "--max-steps", "1"))
        err = capsys.readouterr().err
        assert rc == 2 and one_line(err) and "in use by another training run" in err
        assert not (ck / "last.ckpt").exists()
    finally:
        holder.kill()
        holder.wait()
    assert train_main(train_args(shared, photos, ck, "--max-steps", "1")) == 0  # the OS let go of a killed run's lock
