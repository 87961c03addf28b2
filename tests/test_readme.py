"""The README's embedding examples run as written, with torch unimportable."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

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


def python_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text()
    return [b for b in re.findall(r"```python\n(.*?)```", text, re.S) if "starry_night.onnx" in b]


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
