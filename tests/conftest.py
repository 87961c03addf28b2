"""Shared fixtures. Everything runs offline on CPU from ../shared (see ../shared/README.md)."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import lightning.pytorch  # noqa: F401  (see below)
import numpy as np
import pytest

# Lightning gives its logger a StreamHandler bound to the sys.stderr of the moment it is first
# imported; imported here, that is pytest's session stream, not a test's capsys stream that is
# closed when the test ends (then every later Lightning message prints "--- Logging error ---").

if TYPE_CHECKING:
    import torch

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("FASTSTYLE_SHARED", ROOT.parent / "shared"))
VGG_WEIGHTS = SHARED / "weights" / "vgg16_imagenet_features.pth"
os.environ.setdefault("FASTSTYLE_VGG_WEIGHTS", str(VGG_WEIGHTS))
# Absolute, so training subprocesses started from a temp folder find it too.
os.environ["FASTSTYLE_VGG_WEIGHTS"] = str(Path(os.environ["FASTSTYLE_VGG_WEIGHTS"]).resolve())


@pytest.fixture(scope="session")
def shared() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} not found (the shared data folder beside the project)")
    return SHARED


# Training flags that make a run take seconds: the smallest net on tiny crops, no export.
FAST = [
    "--arch",
    "tiny",
    "--image-size",
    "48",
    "--batch-size",
    "2",
    "--num-workers",
    "0",
    "--style-size",
    "64",
    "--preview-every",
    "2",
    "--no-export",
]


@pytest.fixture()
def photos(shared, tmp_path) -> Path:
    """A small nested photo folder (8 COCO images in two sub-folders)."""
    src = sorted((shared / "data" / "coco128" / "train2017").glob("*.jpg"))[:8]
    for i, f in enumerate(src):
        dst = tmp_path / "photos" / f"part{i % 2}" / f.name
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(f, dst)
    return tmp_path / "photos"


def ckpt_step(path: Path) -> int:
    import torch

    return torch.load(path, map_location="cpu", weights_only=False)["global_step"]


def net_params(path: Path) -> torch.Tensor:
    """All weights of the model in a checkpoint or model file, as one flat tensor."""
    import torch

    from faststyle.model.checkpoint import load_model

    return torch.cat([p.flatten() for p in load_model(path).net.state_dict().values()])


@pytest.fixture(scope="session")
def vgg_features(shared):
    """The real ImageNet VGG-16 conv stack, loaded once per test session."""
    from faststyle.loss.vgg import load_vgg16_features

    return load_vgg16_features(VGG_WEIGHTS)


@pytest.fixture(scope="session")
def model_pth(tmp_path_factory) -> Path:
    """A randomly initialised 'slim' net saved as a final model file (fast to run)."""
    import torch

    from faststyle.model.checkpoint import save_model
    from faststyle.model.transform_net import TransformNet

    torch.manual_seed(0)
    net = TransformNet("slim")
    return save_model(net, tmp_path_factory.mktemp("model") / "random.pth", "random", {"arch": "slim"})


@pytest.fixture(scope="session")
def model_onnx(model_pth, tmp_path_factory) -> Path:
    """model_pth exported (and verified) to ONNX with the default uint8 NHWC signature."""
    from faststyle.export.onnx_export import export_onnx

    return export_onnx(model_pth, tmp_path_factory.mktemp("onnx") / "random.onnx")


def train_args(shared: Path, photos: Path, ck: Path, *extra: str) -> list[str]:
    """train.py flags for a FAST mosaic run checkpointing to `ck`, logging beside it."""
    return [
        "--style",
        str(shared / "styles" / "mosaic.jpg"),
        "--data",
        str(photos),
        "--checkpoint-dir",
        str(ck),
        "--log-dir",
        str(ck.parent / "runs"),
        *FAST,
        *extra,
    ]


# The engine choices the runtime remembers go to a folder of the test session's own, not ~/.cache.
os.environ.setdefault("FASTSTYLE_CACHE", tempfile.mkdtemp(prefix="faststyle-test-cache-"))
# Nothing may reach the network during tests.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")


@pytest.fixture(scope="session")
def multi_pth(tmp_path_factory) -> Path:
    """A randomised 3-style 'tiny' net (styles a, b, c) saved as a final model file; c carries
    convolution adapters, as a style added over a base does, so every engine and the page run them."""
    import torch

    from faststyle.model.checkpoint import save_model
    from faststyle.model.transform_net import TransformNet

    torch.manual_seed(0)
    net = TransformNet("tiny", num_styles=3, adapter_rank=2, adapted_styles=1)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.2 * torch.randn_like(p))  # every style row different
    styles = [{"name": n, "image": None, "style_size": 256} for n in "abc"]
    return save_model(net, tmp_path_factory.mktemp("multi") / "multi.pth", "multi", {"arch": "tiny"}, styles)


@pytest.fixture(scope="session")
def multi_onnx(multi_pth) -> Path:
    """multi_pth exported (and verified) with its style input."""
    from faststyle.export.onnx_export import export_onnx

    return export_onnx(multi_pth, multi_pth.with_suffix(".onnx"))


@pytest.fixture(scope="session")
def painter_onnx(vgg_features, shared, tmp_path_factory) -> Path:
    """A randomised 'tiny' net of 6 rows (styles a and b first) with a predictor whose trunk is the
    real VGG (so different paintings give different embeddings), saved and exported."""
    import torch

    from faststyle.export.onnx_export import export_onnx
    from faststyle.inference.painted import read_painting
    from faststyle.model.checkpoint import save_model
    from faststyle.model.style_predictor import StylePredictor
    from faststyle.model.transform_net import TransformNet
    from faststyle.pixels import array_to_net

    torch.manual_seed(0)
    net = TransformNet("tiny", num_styles=6)
    predictor = StylePredictor(rows=6, known=2)
    predictor.trunk.load_state_dict(vgg_features[:16].state_dict())
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.2 * torch.randn_like(p))
        for p, spread in zip(predictor.mlp.parameters(), (0.05, 0.05, 0.01, 0.1), strict=True):
            p.add_(spread * torch.randn_like(p))  # embeddings of order 1, as a trained head gives
        paintings = [array_to_net(read_painting(p)) for p in sorted((shared / "styles").glob("*.jpg"))[:4]]
        predictor.set_standardisation(torch.cat([predictor.statistics(p) for p in paintings]))
    styles = [{"name": n, "image": None, "style_size": 256} for n in "ab"]
    folder = tmp_path_factory.mktemp("painter")
    pth = save_model(net, folder / "painter.pth", "painter", {"arch": "tiny"}, styles, predictor=predictor)
    return export_onnx(pth, folder / "painter.onnx")


# --- pictures and clips made on the spot ----------------------------------------------------


def photo_array(w: int = 64, h: int = 48, seed: int = 0) -> np.ndarray:
    """uint8 [h, w, 3]: smooth gradients plus noise, like a small photo."""
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([xx * 255 / w, yy * 255 / h, (xx + yy) * 127 / (w + h) + 64], -1)
    noise = np.random.default_rng(seed).normal(0, 12, base.shape)
    return np.clip(base + noise, 0, 255).astype(np.uint8)


def make_clip(path: Path, frames: int = 8, w: int = 64, h: int = 48, fps: int = 8, rotation: int = 0) -> Path:
    """A tiny H.264 clip with a mono AAC sine track of the same length (and a display rotation)."""
    import av

    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = w, h, "yuv420p"
        if rotation:
            video.set_display_rotation(rotation)  # counter-clockwise degrees, as phones record portrait
        audio = out.add_stream("aac", rate=48000)
        audio.codec_context.layout = "mono"
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(photo_array(w, h, seed=i), format="rgb24")
            frame.pts = i
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
        samples = (0.3 * np.sin(np.arange(48000 * frames // fps) * 2 * np.pi * 440 / 48000)).astype(np.float32)
        for start in range(0, samples.size, 1024):
            chunk = av.AudioFrame.from_ndarray(samples[None, start : start + 1024], format="fltp", layout="mono")
            chunk.sample_rate, chunk.pts = 48000, start
            out.mux(audio.encode(chunk))
        out.mux(audio.encode(None))
    return path


def probe(path: Path) -> tuple[int, tuple[int, int], list[str], str]:
    """-> (frames, (width, height), audio codecs, video codec)."""
    import av

    with av.open(str(path)) as c:
        frames = list(c.decode(video=0))
        return (
            len(frames),
            (frames[0].width, frames[0].height),
            [s.codec_context.name for s in c.streams.audio],
            c.streams.video[0].codec_context.name,
        )
