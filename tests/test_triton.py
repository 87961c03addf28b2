"""Triton Inference Server repositories from `faststyle export --triton`: the config is a valid
ModelConfig that says what the ONNX file takes, and a real tritonserver (from the nvidia-pytriton
wheel, installed by `make other-runtimes`) serves the Python-backend twin with the pixels
ONNX Runtime gives."""

from __future__ import annotations

import os
import socket
import subprocess
import sysconfig
import time
from pathlib import Path

import numpy as np
import onnx
import pytest

from faststyle.commands.cli import main as cli_main
from faststyle.export.triton import write_repository
from faststyle.runtime import Stylizer

ROOT = Path(__file__).resolve().parents[1]
TRITON = ROOT / ".venv" / "triton"
SERVER = TRITON / "pytriton" / "tritonserver"
IN_CI = os.environ.get("CI", "").lower() not in ("", "0", "false")


def parse_config(folder: Path):
    from google.protobuf import text_format
    from tritonclient.grpc import model_config_pb2

    return text_format.Parse((folder / "config.pbtxt").read_text(), model_config_pb2.ModelConfig())


@pytest.mark.parametrize("backend", ["onnxruntime", "python"])
def test_repository_config_matches_the_onnx_it_holds(tmp_path, multi_pth, backend):
    folder = write_repository(multi_pth, tmp_path / "repo", backend=backend)
    config = parse_config(folder)
    assert config.name == "multi" == folder.name and config.backend == backend
    assert config.max_batch_size == 8 and config.HasField("dynamic_batching")
    graph = onnx.load(folder / "1" / "model.onnx").graph
    # Triton prepends the batch dimension to config dims; the ONNX file must agree input by input.
    onnx_inputs = {i.name: [d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim] for i in graph.input}
    assert onnx_inputs == {"image": ["batch", "height", "width", 3], "style": ["batch", 3]}
    assert {i.name: list(i.dims) for i in config.input} == {"image": [-1, -1, 3], "style": [3]}
    assert [(o.name, list(o.dims)) for o in config.output] == [("stylized", [-1, -1, 3])]
    assert (folder / "1" / "model.py").is_file() == (backend == "python")


def test_single_style_repository_has_only_the_image_input(tmp_path, model_pth):
    folder = write_repository(model_pth, tmp_path / "repo")
    assert [i.name for i in parse_config(folder).input] == ["image"]
    assert [i.name for i in onnx.load(folder / "1" / "model.onnx").graph.input] == ["image"]


def test_export_triton_refuses_to_replace_a_model_without_overwrite(tmp_path, model_pth, capsys):
    args = ["export", str(model_pth), "--triton", str(tmp_path / "repo")]
    assert cli_main(args) == 0
    before = (tmp_path / "repo" / "random" / "1" / "model.onnx").read_bytes()
    assert cli_main(args) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert (tmp_path / "repo" / "random" / "1" / "model.onnx").read_bytes() == before
    assert cli_main([*args, "--overwrite"]) == 0
    assert not [p for p in (tmp_path / "repo").iterdir() if p.name.startswith(".")]  # no build folder left
    assert cli_main([*args, "--overwrite", "--layout", "net"]) == 2
    assert "--layout does not apply to --triton" in capsys.readouterr().err


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def triton_url(tmp_path_factory, multi_pth, model_pth):
    """A tritonserver serving the multi-style and the single-style model (Python backend)."""
    if not (SERVER / "bin" / "tritonserver").is_file():
        if IN_CI:
            pytest.fail(f"{SERVER} missing: `make other-runtimes` installs it")
        pytest.skip(f"{SERVER} missing: run `make other-runtimes`")
    repo = tmp_path_factory.mktemp("triton")
    write_repository(multi_pth, repo, backend="python")
    write_repository(model_pth, repo, backend="python")
    http, grpc, metrics = free_port(), free_port(), free_port()
    env = {
        **os.environ,
        # the server's own libraries, and the libpython its Python-backend stub links against
        "LD_LIBRARY_PATH": os.pathsep.join([str(TRITON / "nvidia_pytriton.libs"), sysconfig.get_config_var("LIBDIR")]),
        # numpy and onnxruntime for model.py, from this environment
        "PYTHONPATH": sysconfig.get_paths()["purelib"],
    }
    import tritonclient.http as httpclient

    log = (repo / "server.log").open("w")
    proc = subprocess.Popen(
        [
            str(SERVER / "bin" / "tritonserver"),
            f"--model-repository={repo}",
            f"--backend-directory={SERVER / 'backends'}",
            f"--http-port={http}",
            f"--grpc-port={grpc}",
            f"--metrics-port={metrics}",
            "--allow-metrics=false",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        client = httpclient.InferenceServerClient(f"127.0.0.1:{http}")
        deadline = time.monotonic() + 120
        while True:
            try:
                if client.is_server_ready() and client.is_model_ready("multi") and client.is_model_ready("random"):
                    break
            except Exception:  # not listening yet
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("tritonserver did not get ready:\n" + (repo / "server.log").read_text()[-3000:])
            time.sleep(0.5)
        yield f"127.0.0.1:{http}"
    finally:  # the server never outlives the tests, whatever failed
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def infer(url: str, model: str, images: np.ndarray, styles: np.ndarray | None = None) -> np.ndarray:
    import tritonclient.http as httpclient

    inputs = [httpclient.InferInput("image", list(images.shape), "UINT8")]
    inputs[0].set_data_from_numpy(images)
    if styles is not None:
        inputs.append(httpclient.InferInput("style", list(styles.shape), "FP32"))
        inputs[1].set_data_from_numpy(styles)
    outputs = [httpclient.InferRequestedOutput("stylized", binary_data=True)]
    result = httpclient.InferenceServerClient(url).infer(model, inputs, outputs=outputs)
    return result.as_numpy("stylized")


@pytest.mark.slow
def test_triton_serves_styles_per_image_like_the_runtime(triton_url, multi_pth, tmp_path):
    from faststyle.export.onnx_export import export_onnx

    onnx_path = export_onnx(multi_pth, tmp_path / "multi.onnx")
    images = np.random.default_rng(2).integers(0, 256, (2, 40, 52, 3), dtype=np.uint8)
    styles = np.array([[0, 1, 0], [0.5, 0, 0.5]], dtype=np.float32)  # one image "b", one a/c blend
    got = infer(triton_url, "multi", images, styles)
    assert got.shape == images.shape and got.dtype == np.uint8
    for image, out, spec in zip(images, got, ["b", "a=0.5,c=0.5"], strict=True):
        expected = Stylizer(onnx_path, style=spec, backend="ort", precision="fp32")(image)
        assert np.abs(out.astype(int) - expected).max() <= 1, spec  # another export of the same net
    assert not np.array_equal(got[0], got[1])


@pytest.mark.slow
def test_triton_serves_a_single_style_model(triton_url, model_onnx):
    image = np.random.default_rng(3).integers(0, 256, (1, 33, 47, 3), dtype=np.uint8)
    expected = Stylizer(model_onnx, backend="ort", precision="fp32")(image)
    assert np.abs(infer(triton_url, "random", image).astype(int) - expected).max() <= 1
