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
from faststyle.errors import UserError
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


def test_a_painting_model_brings_its_predictor_as_a_model_of_its_own(tmp_path, painter_onnx):
    folder = write_repository(painter_onnx.with_suffix(".pth"), tmp_path / "repo", backend="python")
    assert sorted(p.name for p in (tmp_path / "repo").iterdir()) == ["painter", "painter_predictor"]
    assert {i.name: list(i.dims) for i in parse_config(folder).input} == {"image": [-1, -1, 3], "style": [6]}
    predictor = parse_config(tmp_path / "repo" / "painter_predictor")
    assert {i.name: list(i.dims) for i in predictor.input} == {"painting": [-1, -1, 3]}
    assert [(o.name, list(o.dims)) for o in predictor.output] == [("embedding", [6])]
    graph = onnx.load(tmp_path / "repo" / "painter_predictor" / "1" / "model.onnx").graph
    assert [i.name for i in graph.input] == ["painting"] and [o.name for o in graph.output] == ["embedding"]
    assert sorted(p.name for p in (folder / "1").iterdir()) == ["model.onnx", "model.py"]


def test_a_model_named_like_anothers_predictor_is_refused_not_mixed_in(tmp_path, painter_onnx, model_pth):
    write_repository(painter_onnx.with_suffix(".pth"), tmp_path / "repo")
    predictor = (tmp_path / "repo" / "painter_predictor" / "1" / "model.onnx").read_bytes()
    with pytest.raises(UserError, match="holds a predictor model, not this export's transform; export it under"):
        write_repository(model_pth, tmp_path / "repo", name="painter_predictor")
    assert (tmp_path / "repo" / "painter_predictor" / "1" / "model.onnx").read_bytes() == predictor
    write_repository(model_pth, tmp_path / "repo", name="painter")  # the same kind: replaced, as with --overwrite


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
def triton_url(tmp_path_factory, multi_pth, model_pth, painter_onnx):
    """A tritonserver serving the multi-style, the single-style and a painting model (Python backend)."""
    if not (SERVER / "bin" / "tritonserver").is_file():
        if IN_CI:
            pytest.fail(f"{SERVER} missing: `make other-runtimes` installs it")
        pytest.skip(f"{SERVER} missing: run `make other-runtimes`")
    repo = tmp_path_factory.mktemp("triton")
    write_repository(multi_pth, repo, backend="python")
    write_repository(model_pth, repo, backend="python")
    write_repository(painter_onnx.with_suffix(".pth"), repo, backend="python")
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
                models = ("multi", "random", "painter", "painter_predictor")
                if client.is_server_ready() and all(client.is_model_ready(m) for m in models):
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


@pytest.mark.slow
def test_triton_paints_a_painting_once_embedded_like_the_runtime(triton_url, painter_onnx, shared):
    import tritonclient.http as httpclient

    from faststyle.inference.painted import read_painting

    painting = read_painting(shared / "styles" / "the_scream.jpg")[None]  # resized as the page and runtime do
    request = httpclient.InferInput("painting", list(painting.shape), "UINT8")
    request.set_data_from_numpy(painting)
    client = httpclient.InferenceServerClient(triton_url)
    result = client.infer("painter_predictor", [request], outputs=[httpclient.InferRequestedOutput("embedding")])
    embedding = result.as_numpy("embedding")
    assert embedding.shape == (1, 6)
    images = np.random.default_rng(4).integers(0, 256, (2, 36, 40, 3), dtype=np.uint8)
    got = infer(triton_url, "painter", images, np.repeat(embedding, 2, axis=0))
    expected = Stylizer(painter_onnx, style_image=shared / "styles" / "the_scream.jpg", backend="ort", precision="fp32")
    assert np.abs(got.astype(int) - expected(images)).max() <= 1
