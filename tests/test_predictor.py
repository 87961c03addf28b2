"""Any painting in one pass: the style predictor, its training over many paintings on a frozen
--base, and what that training must leave untouched."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import FAST

from faststyle.commands.train import main as train_main
from faststyle.image_io import load_rgb
from faststyle.loss.perceptual import PerceptualLoss, style_tensor
from faststyle.loss.vgg import VGGFeatures
from faststyle.model.checkpoint import load_model
from faststyle.model.style_predictor import StylePredictor, bake
from faststyle.model.transform_net import TransformNet
from faststyle.painting import PREDICTOR_SIDE, predictor_pixels
from faststyle.pixels import array_to_net
from faststyle.training.predictor_system import predictor_start
from faststyle.training.styles import norm_row_keys


@pytest.fixture(scope="module")
def painting(shared) -> torch.Tensor:
    """A real painting, small: [1, 3, h, 64] in [0, 1]."""
    return style_tensor(load_rgb(shared / "styles" / "mosaic.jpg"), 64)


def test_the_predictor_reads_the_loss_networks_statistics(vgg_features, painting):
    predictor = StylePredictor(rows=5, known=3)
    predictor.trunk.load_state_dict(vgg_features[:16].state_dict())
    stats = predictor.statistics(painting)
    taps = VGGFeatures(vgg_features, ["relu1_2", "relu2_2", "relu3_3"])(painting)
    expected = []
    for name in ("relu1_2", "relu2_2", "relu3_3"):
        f = taps[name].flatten(2)
        expected += [f.mean(-1), (f.var(-1, unbiased=False) + 1e-5).sqrt()]
    torch.testing.assert_close(stats, torch.cat(expected, 1))
    # before training, every painting gets the mean of the known styles
    weights = predictor(torch.rand(2, 3, 90, 300))
    assert torch.equal(weights, torch.tensor([[1 / 3] * 3 + [0.0] * 2] * 2))


def test_paintings_are_read_at_the_predictor_side_whatever_their_size():
    big, small = np.zeros((1000, 500, 3), np.uint8), np.zeros((100, 224, 3), np.uint8)
    assert predictor_pixels(big).shape == (PREDICTOR_SIDE, PREDICTOR_SIDE // 2, 3)
    assert predictor_pixels(small).shape == (114, PREDICTOR_SIDE, 3)  # enlarged too: the same amount of painting


def test_style_targets_from_a_generator_equal_those_from_a_list(vgg_features, painting):
    paintings = [painting, painting.flip(-1)[..., :40, :]]
    a, b = PerceptualLoss(vgg_features), PerceptualLoss(vgg_features, style_layer_weights=(1, 1, 1, 0))
    a.set_styles(paintings)
    b.set_styles(p for p in paintings)
    assert b.counted_layers == ["relu1_2", "relu2_2", "relu3_3"]
    assert not hasattr(b, "target_relu4_3_0")  # a layer nobody counts keeps no target
    for name in b.counted_layers:
        torch.testing.assert_close(getattr(a, f"target_{name}_0"), getattr(b, f"target_{name}_0"))


def test_the_start_keeps_the_base_rows_and_adds_rows_that_differ(tmp_path):
    from faststyle.model.checkpoint import LoadedModel

    torch.manual_seed(0)
    base = TransformNet("tiny", num_styles=3)
    with torch.no_grad():
        for p in base.parameters():
            p.add_(torch.randn_like(p))
    state = predictor_start(LoadedModel(base, "base"), rows=8, seed=0)
    net = TransformNet("tiny", num_styles=8)
    net.load_state_dict(state)
    for key, value in base.state_dict().items():
        if key in norm_row_keys(base):
            assert torch.equal(state[key][:3], value)
            assert state[key][3:].abs().sum() > 0  # the extra rows are not zeros: they get gradients
        else:
            assert torch.equal(state[key], value)
    x = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(net(x, 1), base(x, 1))  # one-hot weights: the base's style exactly


@pytest.fixture()
def tiny_base(tmp_path, shared, photos) -> Path:
    ck = tmp_path / "base"
    styles = [str(shared / "styles" / f"{s}.jpg") for s in ("mosaic", "candy")]
    args = ["--style", *styles, "--data", str(photos), "--checkpoint-dir", str(ck), "--log-dir", str(tmp_path)]
    assert train_main([*args, *FAST, "--max-steps", "2"]) == 0
    return ck / "multistyle.pth"


def test_predictor_training_leaves_the_base_untouched_and_resumes_exactly(tiny_base, tmp_path, shared, photos, capsys):
    paintings = shutil.copytree(shared / "styles_extra", tmp_path / "paintings")
    ck = tmp_path / "pred"
    args = [
        "--style", str(paintings), "--data", str(photos), "--base", str(tiny_base), "--finetune", "predictor",
        "--style-embedding", "6", "--checkpoint-dir", str(ck), "--log-dir", str(tmp_path), *FAST,
    ]  # fmt: skip
    assert train_main([*args, "--max-steps", "2"]) == 0
    for painting in paintings.iterdir():  # as a fresh copy of the same paintings has: new times
        os.utime(painting, (1e9, 1e9))
    capsys.readouterr()
    assert train_main([*args, "--max-steps", "4", "--resume"]) == 0
    assert "paintings from paintings.pt" in capsys.readouterr().out  # not read again
    straight = tmp_path / "straight"
    assert train_main([*[a if a != str(ck) else str(straight) for a in args], "--max-steps", "4"]) == 0
    resumed = torch.load(ck / "multistyle_predictor.pth", weights_only=True)
    unbroken = torch.load(straight / "multistyle_predictor.pth", weights_only=True)
    for part in ("state_dict", "predictor"):
        for key, value in unbroken[part].items():
            assert torch.equal(resumed[part][key], value), key
    base = load_model(tiny_base).net.state_dict()
    for key, value in base.items():
        kept = (
            resumed["state_dict"][key][:2]
            if key in norm_row_keys(load_model(tiny_base).net)
            else resumed["state_dict"][key]
        )
        assert torch.equal(kept, value), key
    assert resumed["rows"] == 6 and [s["name"] for s in resumed["styles"]] == ["mosaic", "candy"]
    start = predictor_start(load_model(tiny_base), 6, 0)
    moved = [k for k in norm_row_keys(load_model(tiny_base).net) if not torch.equal(resumed["state_dict"][k], start[k])]
    assert moved  # the extra rows learned
    # the model file rebuilds net and predictor; a predicted style baked into a one-style model
    # paints what the net does with the predicted weights
    loaded = load_model(ck / "multistyle_predictor.pth")
    net, predictor, hp = loaded.net, loaded.predictor, loaded.hparams
    assert predictor is not None and net.num_styles == 6 and loaded.style_names == ["mosaic", "candy"]
    assert hp["name"] == "multistyle_predictor" and "style" not in hp  # no list of the machine's paintings
    painting = array_to_net(
        predictor_pixels(load_rgb(shared / "styles_extra" / "felix_vallotton_woodcut_portrait.jpg"))
    )
    x = torch.rand(1, 3, 40, 52)
    with torch.no_grad():
        weights = predictor(painting)[0]
        torch.testing.assert_close(bake(net, weights)(x), net(x, weights), atol=2e-6, rtol=0)


def test_a_predictor_run_needs_a_base(tmp_path, shared, photos, capsys):
    args = ["--style", str(shared / "styles"), "--data", str(photos), "--finetune", "predictor", *FAST]
    assert train_main([*args, "--checkpoint-dir", str(tmp_path / "x")]) != 0
    assert "needs --base" in capsys.readouterr().err


def test_the_bases_own_paintings_are_pulled_to_their_rows(tiny_base, tmp_path, shared, photos):
    paintings = shutil.copytree(shared / "styles_extra", tmp_path / "paintings")
    shutil.copy(shared / "styles" / "candy.jpg", paintings / "candy.jpg")  # the tiny base's second style
    ck = tmp_path / "pred"
    args = [
        "--style", str(paintings), "--data", str(photos), "--base", str(tiny_base), "--finetune", "predictor",
        "--style-embedding", "6", "--checkpoint-dir", str(ck), "--log-dir", str(tmp_path), *FAST, "--lr", "3e-3",
    ]  # fmt: skip

    candy = array_to_net(predictor_pixels(load_rgb(paintings / "candy.jpg")))

    def distances_from_candys_row(steps: int, weight: float) -> tuple[float, float]:
        """(as trained, in last.ckpt; in the model file, its head fitted to the known paintings)"""
        assert train_main([*args, "--max-steps", str(steps), "--known-style-weight", str(weight)]) == 0
        found = []
        for file in (ck / "last.ckpt", ck / "multistyle_predictor.pth"):
            predictor = load_model(file).predictor
            assert predictor is not None
            with torch.no_grad():
                found.append(float((predictor(candy)[0] - torch.eye(6)[1]).norm()))
        shutil.rmtree(ck)
        return found[0], found[1]

    pulled, fitted = distances_from_candys_row(8, 30.0)
    free, fitted_free = distances_from_candys_row(8, 0.0)
    assert pulled < 0.5 * free
    # the model file paints the base's own painting as the base (fitted on float32 statistics, as
    # inference reads them, though training read them in bf16)
    assert fitted < 1e-4 and fitted_free < 1e-4


def test_a_predictor_base_goes_on_learning_from_where_it_was(tiny_base, tmp_path, shared, photos, capsys):
    paintings = shutil.copytree(shared / "styles_extra", tmp_path / "paintings")
    common = ["--style", str(paintings), "--data", str(photos), "--finetune", "predictor", "--log-dir", str(tmp_path)]
    first = ["--base", str(tiny_base), "--style-embedding", "6", "--checkpoint-dir", str(tmp_path / "a")]
    assert train_main([*common, *first, *FAST, "--max-steps", "3", "--lr", "1e-2"]) == 0
    base = load_model(tmp_path / "a" / "multistyle_predictor.pth")
    assert base.predictor is not None
    shutil.copy(shared / "styles" / "udnie.jpg", paintings)  # other paintings: other statistics
    more = ["--base", str(tmp_path / "a" / "multistyle_predictor.pth"), "--checkpoint-dir", str(tmp_path / "b")]
    exported = [*(a for a in FAST if a != "--no-export"), "--export-dir", str(tmp_path / "onnx")]
    assert train_main([*common, *more, *exported, "--max-steps", "1", "--lr", "1e-9"]) == 0  # its 6 rows, not 100
    assert "and " + str(tmp_path / "onnx" / "multistyle_predictor.predictor.onnx") in capsys.readouterr().out
    assert sorted(p.name for p in (tmp_path / "onnx").iterdir()) == [
        "multistyle_predictor.onnx",
        "multistyle_predictor.predictor.onnx",
    ]
    went_on = load_model(tmp_path / "b" / "multistyle_predictor.pth")  # the base's name kept
    assert went_on.predictor is not None and went_on.style_names == ["mosaic", "candy"]
    for key, value in base.predictor.state_dict().items():  # its standardisation kept, its head barely moved
        torch.testing.assert_close(went_on.predictor.state_dict()[key], value, atol=1e-6, rtol=0)
    for key, value in base.net.state_dict().items():
        torch.testing.assert_close(went_on.net.state_dict()[key], value, atol=1e-6, rtol=0)
    bad = ["--base", str(tmp_path / "a" / "multistyle_predictor.pth"), "--checkpoint-dir", str(tmp_path / "c")]
    assert train_main([*common, *bad, *FAST, "--max-steps", "1", "--style-embedding", "8"]) != 0
    assert "--style-embedding 8: the --base model predicts 6 rows; drop it" in capsys.readouterr().err


def test_fitting_known_paintings_makes_their_prediction_exact_with_a_small_change(vgg_features, shared):
    torch.manual_seed(0)
    predictor = StylePredictor(rows=8, known=3)
    predictor.trunk.load_state_dict(vgg_features[:16].state_dict())
    paintings = [shared / "styles" / f"{name}.jpg" for name in ("candy", "mosaic", "wave", "udnie")]
    with torch.no_grad():
        stats = torch.cat([predictor.statistics(array_to_net(predictor_pixels(load_rgb(p)))) for p in paintings])
        predictor.set_standardisation(stats)
        for p in predictor.mlp.parameters():
            p.add_(0.05 * torch.randn_like(p))
        before = predictor.from_statistics(stats)
        predictor.fit_known(stats[:3], torch.tensor([0, 1, 2]))
        after = predictor.from_statistics(stats)
    torch.testing.assert_close(after[:3], torch.eye(8)[:3], atol=1e-5, rtol=0)
    assert not torch.equal(after[3], before[3])  # the other painting moves, but as little as it must
    assert (after[3] - before[3]).norm() < (after[:3] - before[:3]).norm()
