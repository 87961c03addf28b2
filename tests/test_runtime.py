"""faststyle.inference.onnx_runtime: an exported model run with numpy + ONNX Runtime alone, as an app embeds it."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from faststyle.errors import ModelError
from faststyle.runtime import Stylizer


def pixels(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def test_runtime_runs_a_model_without_importing_torch(model_onnx):
    code = (
        "import sys, numpy as np\n"
        "from faststyle.runtime import Stylizer\n"
        f"s = Stylizer({str(model_onnx)!r})\n"
        "out = s(np.zeros((20, 30, 3), np.uint8))\n"
        "assert out.shape == (20, 30, 3) and out.dtype == np.uint8\n"
        "assert 'torch' not in sys.modules, 'faststyle.inference.onnx_runtime pulled in torch'\n"
        "print(s.style)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "random"


def test_stylizer_on_one_image_and_a_batch(model_onnx):
    s = Stylizer(model_onnx, threads=1, precision="fp32")
    assert s.style == "random" and s.layout == "pixels"
    one = pixels(33, 47, 3)
    out = s(one)
    assert out.shape == one.shape and out.dtype == np.uint8
    assert np.abs(out.astype(int) - one).mean() > 10, "the model must change the image"
    batch = np.stack([one, pixels(33, 47, 3, seed=1), pixels(33, 47, 3, seed=2)])  # [3, 33, 47, 3]
    outs = s(batch)
    assert outs.shape == batch.shape and outs.dtype == np.uint8
    # Instance norm works per image, so a batch gives each image what it gets alone.
    assert np.abs(outs[0].astype(int) - out).max() <= 1
    assert not np.array_equal(outs[0], outs[1])


def test_stylizer_handles_tiny_and_odd_sizes(model_onnx):
    s = Stylizer(model_onnx)
    for h, w in [(1, 1), (5, 7), (17, 3)]:
        assert s(pixels(h, w, 3)).shape == (h, w, 3)


def test_stylizer_rejects_wrong_pixel_arrays(model_onnx):
    s = Stylizer(model_onnx)
    with pytest.raises(ValueError, match="uint8"):
        s(np.zeros((8, 8, 3), np.float32))
    with pytest.raises(ValueError, match="shape"):
        s(np.zeros((8, 8), np.uint8))


def test_stylize_file_writes_an_image(model_onnx, tmp_path):
    from PIL import Image

    Image.fromarray(pixels(24, 40, 3)).save(tmp_path / "in.png")
    out = Stylizer(model_onnx).stylize_file(tmp_path / "in.png", tmp_path / "out.png")
    assert Image.open(out).size == (40, 24)


def test_missing_and_garbage_models_give_one_line_errors(tmp_path):
    with pytest.raises(ModelError, match="no such model file"):
        Stylizer(tmp_path / "nope.onnx")
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(np.random.default_rng(0).bytes(5000))
    with pytest.raises(ModelError, match="not a readable ONNX model") as err:
        Stylizer(junk)
    assert "\n" not in str(err.value)
    empty = tmp_path / "empty.onnx"
    empty.write_bytes(b"")
    with pytest.raises(ModelError):
        Stylizer(empty)


def test_an_onnx_model_that_is_not_faststyle_is_refused(tmp_path):
    import onnx
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.UINT8, [1, 4, 4, 3])
    y = helper.make_tensor_value_info("y", TensorProto.UINT8, [1, 4, 4, 3])
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "identity", [x], [y])
    path = tmp_path / "other.onnx"
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8  # one every ONNX Runtime release loads, so only our metadata check can refuse it
    onnx.save(model, path)
    with pytest.raises(ModelError, match="not a faststyle one"):
        Stylizer(path)
