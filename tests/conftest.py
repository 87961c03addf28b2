"""Shared fixtures. Everything runs offline on CPU from ../shared (see ../shared/README.md)."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import lightning.pytorch  # noqa: F401  (see below)
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


# The engine choices the runtime remembers go to a folder of the test session's own, not ~/.cache.
os.environ.setdefault("FASTSTYLE_CACHE", tempfile.mkdtemp(prefix="faststyle-test-cache-"))
# Nothing may reach the network during tests.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")


@pytest.fixture(scope="session")
def multi_pth(tmp_path_factory) -> Path:
    """A randomised 3-style 'tiny' net (styles a, b, c) saved as a final model file."""
    import torch

    from faststyle.model.checkpoint import save_model
    from faststyle.model.transform_net import TransformNet

    torch.manual_seed(0)
    net = TransformNet("tiny", num_styles=3)
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
