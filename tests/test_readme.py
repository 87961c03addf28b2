"""The README's embedding examples run as written, with torch unimportable."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
# Makes `import torch` (and the rest of the training stack) fail, as in a venv holding
# only onnxruntime, numpy and pillow.
BLOCK = """
import sys
class _Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('torch', 'torchvision', 'lightning', 'datasets'):
            raise ImportError('blocked: ' + name)
sys.meta_path.insert(0, _Block())
"""


OTHER_RUNTIMES = ("cv2", "openvino")
OPENCV4 = ROOT / ".venv" / "opencv" / "4.14.0.94"


def python_blocks(runtime: str = "onnxruntime") -> list[str]:
    """The README's Python examples that run `runtime` (onnxruntime: the ones that name no other)."""
    text = (ROOT / "README.md").read_text()
    blocks = [b for b in re.findall(r"```python\n(.*?)```", text, re.S) if "starry_night" in b]
    if runtime == "onnxruntime":
        return [b for b in blocks if not any(f"import {r}" in b for r in OTHER_RUNTIMES)]
    return [b for b in blocks if f"import {runtime}" in b]


@pytest.mark.parametrize("index", range(2))
def test_embedding_example_runs_without_torch(index, model_onnx, shared, tmp_path):
    blocks = python_blocks()
    assert len(blocks) == 2, "README should hold two Python embedding examples"
    (tmp_path / "export").mkdir()
    shutil.copy(model_onnx, tmp_path / "export" / "starry_night.onnx")
    shutil.copy(shared / "content" / "chicago.jpg", tmp_path / "photo.jpg")
    script = tmp_path / "example.py"
    script.write_text(BLOCK + blocks[index])
    proc = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    from PIL import Image

    with Image.open(tmp_path / "photo_starry.jpg") as out, Image.open(tmp_path / "photo.jpg") as photo:
        assert out.size == photo.size


@pytest.mark.parametrize("runtime", OTHER_RUNTIMES)
def test_other_runtime_example_gives_the_runtimes_pixels(runtime, model_pth, model_onnx, shared, tmp_path):
    from faststyle.export.onnx_export import export_onnx
    from faststyle.image_io import load_rgb
    from faststyle.runtime import Stylizer

    (block,) = python_blocks(runtime)
    (tmp_path / "export").mkdir()
    shutil.copy(model_onnx, tmp_path / "export" / "starry_night.onnx")
    export_onnx(model_pth, tmp_path / "export" / "starry_night_net.onnx", layout="net")
    photo = load_rgb(shared / "content" / "chicago.jpg")[:203, :301]  # sizes that need padding
    from PIL import Image

    # PNG bytes under the README's name: both readers detect the format from the content, and a
    # lossless file keeps two JPEG decoders' differences out of the comparison
    Image.fromarray(photo).save(tmp_path / "photo.jpg", format="PNG")
    script = tmp_path / "example.py"
    script.write_text(block.replace("photo_starry.jpg", "photo_starry.png"))  # lossless, to compare
    env = dict(os.environ)
    if runtime == "cv2":  # OpenCV 4.x, the one that cannot load the pixels layout
        if not (OPENCV4 / "cv2").is_dir():
            if os.environ.get("CI", "").lower() not in ("", "0", "false"):
                pytest.fail(f"{OPENCV4} missing: `make other-runtimes` installs it")
            pytest.skip(f"{OPENCV4} missing: run `make other-runtimes`")
        env["PYTHONPATH"] = str(OPENCV4)
    proc = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    expected = Stylizer(model_onnx, backend="ort", precision="fp32")(load_rgb(tmp_path / "photo.jpg"))
    assert np.abs(load_rgb(tmp_path / "photo_starry.png").astype(int) - expected).max() <= 1
