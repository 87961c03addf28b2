"""Exported models in runtimes nobody here wrote: OpenCV's DNN module (4.x and 5.x, each in its
own folder made by `make other-runtimes`) and OpenVINO, each compared with ONNX Runtime.

OpenCV 4.x cannot load a graph with Shape ops (the pixels and zoo layouts pad inside the graph
with them), so the `net` layout exists for it; OpenCV 5.x loads all three.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from faststyle.export.onnx_export import export_onnx

ROOT = Path(__file__).resolve().parents[1]
OPENCV = {"4": ROOT / ".venv" / "opencv" / "4.14.0.94", "5": ROOT / ".venv" / "opencv" / "5.0.0.93"}
IN_CI = os.environ.get("CI", "").lower() not in ("", "0", "false")

# Runs inside a subprocess whose PYTHONPATH holds one OpenCV: every layout, its output and its error.
OPENCV_SCRIPT = """
import json, sys, numpy as np, cv2, onnxruntime as ort
results = {"version": cv2.__version__}
rng = np.random.default_rng(0)
pixels = rng.integers(0, 256, (1, 96, 128, 3), dtype=np.uint8)
for layout, path in json.loads(sys.argv[1]).items():
    x = {"pixels": pixels, "zoo": pixels.transpose(0, 3, 1, 2).astype(np.float32),
         "net": pixels.transpose(0, 3, 1, 2).astype(np.float32) / 255}[layout]
    try:
        net = cv2.dnn.readNetFromONNX(path)
        net.setInput(x)
        out = net.forward().astype(np.float64)
    except Exception as e:
        results[layout] = {"error": str(e).splitlines()[0][:200]}
        continue
    ref = ort.InferenceSession(path).run(None, {"image": x})[0].astype(np.float64)
    scale = 255.0 if layout == "net" else 1.0
    results[layout] = {"shape": list(out.shape), "max_levels": float(np.abs(out - ref).max() * scale)}
print(json.dumps(results))
"""


@pytest.fixture(scope="module")
def exported(tmp_path_factory, model_pth) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("layouts")
    return {
        layout: export_onnx(model_pth, folder / f"{layout}.onnx", layout=layout) for layout in ("pixels", "zoo", "net")
    }


@pytest.mark.parametrize("major", ["4", "5"])
def test_opencv_runs_the_exports_like_onnx_runtime(major, exported):
    folder = OPENCV[major]
    if not (folder / "cv2").is_dir():
        if IN_CI:
            pytest.fail(f"{folder} missing: `make other-runtimes` installs it")
        pytest.skip(f"{folder} missing (make other-runtimes)")
    env = {**os.environ, "PYTHONPATH": str(folder)}
    paths = json.dumps({k: str(v) for k, v in exported.items()})
    proc = subprocess.run(
        [sys.executable, "-c", OPENCV_SCRIPT, paths], capture_output=True, text=True, env=env, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    results = json.loads(proc.stdout.strip().splitlines()[-1])
    assert results["version"].startswith(f"{major}.")
    loads = ["net"] if major == "4" else ["pixels", "zoo", "net"]
    for layout in loads:
        assert "error" not in results[layout], (layout, results[layout])
        assert results[layout]["shape"] == ([1, 96, 128, 3] if layout == "pixels" else [1, 3, 96, 128])
        assert results[layout]["max_levels"] <= 1, (layout, results[layout])
    if major == "4":  # what the net layout is for: 4.x refuses the in-graph padding
        assert "error" in results["pixels"]


def test_openvino_runs_the_exports_like_onnx_runtime(exported):
    ov = pytest.importorskip("openvino")
    import onnxruntime as ort

    rng = np.random.default_rng(1)
    pixels = rng.integers(0, 256, (2, 64, 80, 3), dtype=np.uint8)
    core = ov.Core()
    for layout, path in exported.items():
        x = {
            "pixels": pixels,
            "zoo": pixels.transpose(0, 3, 1, 2).astype(np.float32),
            "net": pixels.transpose(0, 3, 1, 2).astype(np.float32) / 255,
        }[layout]
        compiled = core.compile_model(core.read_model(str(path)), "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
        out = compiled({"image": x})[0].astype(np.float64)
        ref = ort.InferenceSession(str(path)).run(None, {"image": x})[0].astype(np.float64)
        scale = 255.0 if layout == "net" else 1.0
        assert out.shape == ref.shape and np.abs(out - ref).max() * scale <= 1, layout


def test_exports_name_their_dimensions(exported):
    import onnx

    for layout, path in exported.items():
        model = onnx.load(str(path))
        for value in [model.graph.input[0], model.graph.output[0]]:
            names = [d.dim_param for d in value.type.tensor_type.shape.dim if d.dim_param]
            assert names == ["batch", "height", "width"], (layout, names)
        if layout == "net":
            assert not [n for n in model.graph.node if n.op_type == "Shape"]
