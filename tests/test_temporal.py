"""The steadiness metric (faststyle.quality.temporal) on cases with known answers, and
`faststyle evaluate --temporal` end to end."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import make_clip, probe

from faststyle.commands import evaluate as evaluate_cmd
from faststyle.image_io import load_rgb
from faststyle.quality import temporal


@pytest.fixture(scope="module")
def photo(shared) -> np.ndarray:
    return temporal.fit_photo(load_rgb(shared / "content" / "chicago.jpg"), 96, 8)


def identity(x: np.ndarray) -> np.ndarray:
    return x


def test_frames_move_as_declared(photo):
    pans = temporal.pan_frames(photo, 96, 8)
    assert pans.shape == (8, 96, 96, 3)
    assert np.array_equal(pans[1][:, :-1], pans[0][:, 1:])  # content moves 1 px left per frame
    zooms = temporal.zoom_frames(photo, 96, 8)
    assert zooms.shape == (8, 96, 96, 3) and not np.array_equal(zooms[0], zooms[1])


def test_an_identity_model_has_zero_warping_error_on_a_pure_pan(photo):
    assert temporal.warping_error(temporal.pan_frames(photo, 96, 8), temporal.unpan) == 0.0


def test_undoing_the_zoom_leaves_only_resampling_error(photo):
    zooms = temporal.zoom_frames(photo, 96, 8)
    floor = temporal.warping_error(zooms, temporal.unzoom)
    assert 0 < floor < 4
    # the motion undone with the wrong zoom (or none) is visibly worse: the metric sees motion
    assert temporal.warping_error(zooms, lambda f: temporal.unzoom(f, 1.0)) > 1.5 * floor
    assert temporal.warping_error(zooms, lambda f: temporal.unzoom(f, 1.02)) > 1.5 * floor


def test_a_pointwise_model_is_as_steady_as_the_photo_and_a_jittery_one_is_not(photo):
    invert = lambda x: 255 - x  # shift-equivariant: commutes with any motion
    steady = temporal.temporal_scores(invert, photo, 96, 8)
    floor = temporal.temporal_scores(identity, photo, 96, 8)
    assert steady["pan"] == 0.0 and abs(steady["zoom"] - floor["zoom"]) < 0.05  # PIL rounds resampled uint8
    assert abs(steady["noise"] - floor["noise"]) < 1e-9 and 1.2 < floor["noise"] < 2.0  # E|N(0, 2)| = 1.6

    def jitter(x: np.ndarray) -> np.ndarray:  # strokes that depend on the absolute pixel grid
        rng = np.random.default_rng(x.sum(axis=(1, 2, 3)).astype(np.uint64)[:, None, None, None] % 1000)
        return np.clip(x.astype(int) + rng.integers(-20, 21, x.shape), 0, 255).astype(np.uint8)

    shaky = temporal.temporal_scores(lambda x: np.stack([jitter(f[None])[0] for f in x]), photo, 96, 8)
    assert shaky["pan"] > 5 and shaky["noise"] > 5
    assert shaky["pan_rel"] == pytest.approx(shaky["pan"] / shaky["contrast"])


def test_evaluate_temporal_reports_model_and_photo(model_onnx, shared, tmp_path, capsys):
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "chicago.jpg").write_bytes((shared / "content" / "chicago.jpg").read_bytes())
    args = ["-m", str(model_onnx), "--content", str(folder), "--style", str(shared / "styles" / "mosaic.jpg")]
    args += ["--size", "64", "--gatys-steps", "0", "--timing-runs", "1", "--temporal", "--frames", "3"]
    assert evaluate_cmd.main([*args, "-o", str(tmp_path / "out")]) == 0
    printed = capsys.readouterr().out
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    means = report["mean"]["temporal"]
    assert means["photo"]["pan"] == 0.0 and means["model"]["pan"] > 0
    assert set(means["model"]) >= {"pan", "zoom", "noise", "contrast", "pan_rel", "zoom_rel", "noise_rel"}
    assert "steadiness" in printed and "MEAN" in printed


def jittery(frame: np.ndarray) -> np.ndarray:
    """A 'stylizer' whose strokes flicker: the frame plus noise that is new in every call."""
    noise = np.random.default_rng(int(frame.sum()) % 2**32).integers(-25, 26, frame.shape)
    return np.clip(frame.astype(int) + noise, 0, 255).astype(np.uint8)


def test_temporal_blend_steadies_a_flickering_stylizer_along_the_motion(photo):
    from faststyle.inference.temporal_blend import TemporalBlend

    frames = temporal.pan_frames(photo, 96, 8)
    alone = np.stack([jittery(f) for f in frames])
    blend = TemporalBlend(jittery, 0.5)
    steadied = np.stack([blend(f) for f in frames])
    assert np.array_equal(steadied[0], alone[0])  # nothing to follow yet
    before, after = temporal.warping_error(alone, temporal.unpan), temporal.warping_error(steadied, temporal.unpan)
    assert after < 0.75 * before, (before, after)
    # a cut to another picture shows the new frame alone: no ghost of the old, even over flat areas
    # where both flows are near zero and agree
    cut = TemporalBlend(identity, 0.5)
    cut(frames[0])
    other = np.ascontiguousarray(255 - frames[0][::-1])
    assert np.abs(cut(other).astype(int) - other).mean() < 3
    flat = TemporalBlend(identity, 0.5)
    flat(np.full((64, 64, 3), 40, np.uint8))
    assert np.abs(flat(np.full((64, 64, 3), 200, np.uint8)).astype(int) - 200).max() <= 1


def test_stylize_temporal_writes_the_video_with_its_audio(model_onnx, tmp_path, capsys):
    from faststyle.commands.stylize import main as stylize_main

    src = make_clip(tmp_path / "clip.mp4", frames=6)
    assert stylize_main([str(src), "-m", str(model_onnx), "--temporal", "-q", "-o", str(tmp_path / "out.mp4")]) == 0
    frames, size, audio, _ = probe(tmp_path / "out.mp4")
    assert (frames, size, audio) == (6, (64, 48), ["aac"])
    args = [str(src), "-m", str(model_onnx), "--temporal", "--temporal-blend", "1", "-o", str(tmp_path / "x.mp4")]
    assert stylize_main(args) == 2
    assert "below 1" in capsys.readouterr().err


def pan_clip(path, photo: np.ndarray, frames: int = 8, step: int = 2):
    """An H.264 clip (64x48) of a window sliding `step` px right per frame over `photo`."""
    import av

    h = 48
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=8)
        video.width, video.height, video.pix_fmt = 64, h, "yuv420p"
        video.options = {"crf": "12"}
        for t in range(frames):
            window = np.ascontiguousarray(photo[:h, t * step : t * step + 64])
            out.mux(video.encode(av.VideoFrame.from_ndarray(window, format="rgb24")))
        out.mux(video.encode(None))
    return path


def test_video_warping_error_follows_the_estimated_flow(photo):
    from faststyle.quality.temporal_video import video_scores

    frames = list(temporal.pan_frames(photo, 64, 6, step=2))
    scores = video_scores(frames, {"invert": lambda f: 255 - f, "jittery": jittery})
    # the flow is found: an identity or a pointwise model leaves almost nothing; flicker is caught
    assert scores["photo"]["warping"] < 1.5 and scores["photo"]["tracked"] > 0.8
    assert abs(scores["invert"]["warping"] - scores["photo"]["warping"]) < 0.01
    assert scores["jittery"]["warping"] > 8
    shaky = scores["jittery"]
    assert shaky["warping_rel"] == pytest.approx(shaky["warping"] / shaky["contrast"])
    # a cut to another scene is masked out rather than counted as flicker
    cut = video_scores([frames[0], np.ascontiguousarray(255 - frames[0][::-1])], {})
    assert cut["photo"]["tracked"] < 0.5


def test_evaluate_video_scores_the_model_per_frame_and_with_the_blend(model_onnx, shared, photo, tmp_path, capsys):
    clip = pan_clip(tmp_path / "pan.mp4", photo)
    base = ["-m", str(model_onnx), "--content", str(shared / "content" / "chicago.jpg")]
    base += ["--style", str(shared / "styles" / "mosaic.jpg"), "--size", "64", "--gatys-steps", "0"]
    base += ["--timing-runs", "1"]
    assert evaluate_cmd.main([*base, "--video", str(clip), "--video-frames", "6", "-o", str(tmp_path / "out")]) == 0
    video = json.loads((tmp_path / "out" / "report.json").read_text())["video"]
    assert video["frames"] == 6 and (video["width"], video["height"]) == (64, 48)
    assert video["photo"]["warping"] < video["model"]["warping"]
    assert video["model --temporal"]["warping"] < video["model"]["warping"]
    assert "warping error along DIS flow" in capsys.readouterr().out
    # a file that is not a video: one line, before any scoring, nothing written
    (tmp_path / "notes.mp4").write_text("not a video")
    assert evaluate_cmd.main([*base, "--video", str(tmp_path / "notes.mp4"), "-o", str(tmp_path / "bad")]) == 2
    err = capsys.readouterr().err
    assert "notes.mp4: not a video file" in err and "Traceback" not in err
    assert not (tmp_path / "bad" / "report.json").exists()
