"""ONNX export: the file an app ships must give what torch gives, say what it is, and take raw pixels."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch

import faststyle
from faststyle.export.layouts import PixelStylizer
from faststyle.model.checkpoint import load_model
from faststyle.runtime import Stylizer


@pytest.fixture(scope="module")
def zoo_onnx(model_pth, tmp_path_factory):
    """model_pth exported through the `faststyle export` command, in the Model Zoo layout."""
    from faststyle.commands.cli import main

    out = tmp_path_factory.mktemp("zoo") / "random_zoo.onnx"
    assert main(["export", str(model_pth), "-o", str(out), "--layout", "zoo", "--no-verify"]) == 0
    return out


@pytest.mark.parametrize("shape", [(1, 33, 47), (3, 64, 64), (2, 17, 100)])
def test_onnx_runtime_matches_torch_on_odd_sizes_and_batches(model_pth, model_onnx, shape):
    n, h, w = shape
    x = np.random.default_rng(n * h * w).integers(0, 256, (n, h, w, 3), dtype=np.uint8)
    with torch.no_grad():
        ref = PixelStylizer(load_model(model_pth).net)(torch.from_numpy(x)).numpy()
    got = Stylizer(model_onnx, backend="ort", precision="fp32")(x)
    assert got.dtype == np.uint8 and got.shape == (n, h, w, 3)
    assert np.abs(got.astype(int) - ref.astype(int)).max() <= 1


def test_graph_signature_is_uint8_nhwc_with_dynamic_sizes(model_onnx):
    graph = onnx.load(model_onnx).graph
    (inp,), (out,) = graph.input, graph.output
    assert (inp.name, out.name) == ("image", "stylized")
    for t in (inp, out):
        assert t.type.tensor_type.elem_type == onnx.TensorProto.UINT8
        dims = t.type.tensor_type.shape.dim
        assert len(dims) == 4 and dims[3].dim_value == 3
        assert all(d.dim_param for d in dims[:3]), "N, H and W must be dynamic"


def test_metadata_says_what_the_model_is(model_onnx):
    model = onnx.load(model_onnx)
    meta = {p.key: p.value for p in model.metadata_props}
    assert meta["style"] == "random"
    assert meta["faststyle_version"] == faststyle.__version__
    assert meta["source_checkpoint"] == "random.pth"
    assert meta["layout"] == "pixels" and meta["arch"] == "slim"
    assert "uint8" in meta["description"] and "random" in meta["description"]
    assert model.producer_name == "faststyle"


def test_export_command_writes_a_zoo_layout_model(zoo_onnx, model_onnx, capsys):
    graph = onnx.load(zoo_onnx).graph
    assert graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert graph.input[0].type.tensor_type.shape.dim[1].dim_value == 3  # [N, 3, H, W]
    zoo = Stylizer(zoo_onnx, backend="ort", precision="fp32")
    assert zoo.layout == "zoo" and zoo.style == "random"
    x = np.random.default_rng(5).integers(0, 256, (2, 30, 41, 3), dtype=np.uint8)
    # Same net, other layout: the runtime converts, so both give the same pixels.
    assert np.abs(zoo(x).astype(int) - Stylizer(model_onnx, backend="ort", precision="fp32")(x)).max() <= 1


def test_export_command_refuses_a_file_that_is_not_a_model(tmp_path, capsys):
    from faststyle.commands.cli import main

    bad = tmp_path / "weights.pth"
    bad.write_bytes(b"not a checkpoint at all")
    assert main(["export", str(bad), "-o", str(tmp_path / "x.onnx")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "not a faststyle model" in err and "\n" not in err
    assert not (tmp_path / "x.onnx").exists()


def test_export_flags_that_cannot_work_are_refused_before_anything_is_written(model_pth, tmp_path, capsys):
    from faststyle.commands.cli import main

    (tmp_path / "empty").mkdir()
    out = tmp_path / "m.onnx"
    cases = [
        (["-o", str(out), "--int8", "--calibration", str(tmp_path / "empty")], "no photos to calibrate"),
        (["-o", str(out), "--int8", "--calibration", str(tmp_path / "nowhere")], "no such file or folder"),
        (["-o", str(out), "--calibration", str(tmp_path / "empty")], "add --int8 or drop it"),
        (["-o", str(out), "--int8", "--layout", "zoo"], "pixels layout only"),
        (["-o", str(tmp_path / "m.txt")], "is written to a .onnx file"),
    ]
    for extra, message in cases:
        assert main(["export", str(model_pth), *extra]) == 2, extra
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, (extra, err)
    assert list(tmp_path.iterdir()) == [tmp_path / "empty"]


@pytest.mark.parametrize("arch", ["johnson", "slim", "tiny"])
def test_inference_form_in_the_graph_computes_what_the_trained_net_does(arch):
    from faststyle.model.phase_conv import PhaseConv, inference_net
    from faststyle.model.transform_net import TransformNet

    torch.manual_seed(0)
    net = TransformNet(arch).eval()
    for p in net.parameters():  # trained-looking weights: not the init's near-zero biases
        p.data.normal_(0, 0.2)
    fast = inference_net(net)
    assert isinstance(fast.decoder[-1], PhaseConv)
    assert not isinstance(net.decoder[-1], PhaseConv)  # the trained net is left as it was
    for shape in [(1, 3, 16, 16), (2, 3, 57, 83), (1, 3, 9, 130)]:
        x = torch.rand(shape)
        with torch.no_grad():
            torch.testing.assert_close(fast(x), net(x), atol=1e-5, rtol=0)


def test_inference_form_keeps_an_added_styles_output_conv_correction():
    from faststyle.model.archs import FULL
    from faststyle.model.phase_conv import inference_net
    from faststyle.model.transform_net import TransformNet

    torch.manual_seed(0)
    net = TransformNet("tiny", num_styles=3, adapter_rank=FULL, adapted_styles=1).eval()
    for p in net.parameters():
        p.data.normal_(0, 0.2)
    fast = inference_net(net)
    x = torch.rand(2, 3, 24, 36)
    with torch.no_grad():
        for style in (torch.tensor([0.0, 0.0, 1.0]), torch.tensor([0.3, 0.2, 0.5]), torch.tensor([2, 0])):
            torch.testing.assert_close(fast(x, style), net(x, style), atol=1e-5, rtol=0)
        before = fast(x, 2)
        net.decoder[2][1].adapter_delta.zero_()  # the correction the phased kernel must have carried
        assert (before - net(x, 2)).abs().max() > 0.01
