"""The perceptual loss: its weighting is scale-free, both style statistics optimise, defaults agree."""

from __future__ import annotations

import inspect

import pytest
import torch

from faststyle.image_io import load_rgb
from faststyle.loss import perceptual as losses
from faststyle.loss.perceptual import PerceptualLoss, style_tensor
from faststyle.pixels import array_to_net
from faststyle.quality.gatys import gatys, resize_longer_side


@pytest.fixture(scope="module")
def images(shared) -> dict[str, torch.Tensor]:
    """A real photo and style image, small: [1, 3, 64, h] in [0, 1] each."""
    return {
        "photo": array_to_net(resize_longer_side(load_rgb(shared / "content" / "chicago.jpg"), 64)),
        "style": style_tensor(load_rgb(shared / "styles" / "mosaic.jpg"), 64),
    }


def loss_and_grad(loss_fn: PerceptualLoss, output: torch.Tensor, photo: torch.Tensor):
    output = output.clone().requires_grad_(True)
    terms = loss_fn(output, photo)
    terms["loss"].backward()
    return {k: v.item() for k, v in terms.items()}, output.grad


@pytest.mark.parametrize("style_loss", ["gram", "meanstd"])
def test_loss_is_invariant_to_vgg_activation_scale(vgg_features, images, style_loss):
    # Multiplying every VGG activation by 10 must change nothing: not the terms, not the
    # gradient that trains the net. This is what makes one --style-weight fit every style.
    torch.manual_seed(0)
    output = (images["photo"] + 0.1 * torch.randn_like(images["photo"])).clamp(0, 1)  # [1, 3, 43, 64]
    results = []
    for scale in (1.0, 10.0):
        loss_fn = PerceptualLoss(vgg_features, style_loss=style_loss, vgg_scale=scale)
        loss_fn.set_style(images["style"])
        results.append(loss_and_grad(loss_fn, output, images["photo"]))
    (terms1, grad1), (terms10, grad10) = results
    assert terms1["content"] > 0 and terms1["style"] > 0
    for name in ("content", "style", "tv", "loss"):
        assert terms10[name] == pytest.approx(terms1[name], rel=1e-5), name
    torch.testing.assert_close(grad10, grad1, rtol=1e-5, atol=1e-5 * grad1.abs().max().item())


def test_loss_does_not_depend_on_either_images_memory_layout(vgg_features, images):
    # evaluate scores an ONNX output (a plain array) against a photo that may be channels-last,
    # and the other way round: the content term must pair the same pixels whatever the strides.
    torch.manual_seed(0)
    output = (images["photo"] + 0.1 * torch.randn_like(images["photo"])).clamp(0, 1)  # [1, 3, 43, 64]
    loss_fn = PerceptualLoss(vgg_features)
    loss_fn.set_style(images["style"])
    cl = torch.channels_last
    pairs = [(output, images["photo"]), (output.contiguous(memory_format=cl), images["photo"])]
    pairs += [(output, images["photo"].contiguous(memory_format=cl))]
    with torch.no_grad():
        terms = [loss_fn(out, photo) for out, photo in pairs]
    assert terms[0]["content"] > 0
    for other in terms[1:]:
        for name in ("content", "style", "loss"):
            assert other[name].item() == pytest.approx(terms[0][name].item(), rel=1e-5), name


@pytest.mark.parametrize("style_loss", ["gram", "meanstd"])
def test_gatys_lowers_the_loss(vgg_features, images, style_loss):
    loss_fn = PerceptualLoss(vgg_features, style_loss=style_loss)
    loss_fn.set_style(images["style"])
    photo = images["photo"]
    snaps = gatys(loss_fn, photo, steps=(0, 3))
    with torch.no_grad():
        start, end = (loss_fn(snaps[s], photo)["loss"].item() for s in (0, 3))
    assert snaps[0].equal(photo)
    assert end < 0.5 * start


def test_meanstd_trains_a_transform_net(vgg_features, images):
    # What `train.py --style-loss meanstd` does, in miniature: Adam on the net's weights.
    from faststyle.model.transform_net import TransformNet

    torch.manual_seed(0)
    net = TransformNet("tiny")
    loss_fn = PerceptualLoss(vgg_features, style_loss="meanstd")
    loss_fn.set_style(images["style"])
    photo = images["photo"]
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    history = []
    for _ in range(8):
        opt.zero_grad()
        loss = loss_fn(net(photo), photo)["loss"]
        loss.backward()
        opt.step()
        history.append(loss.item())
    assert all(torch.isfinite(torch.tensor(history)))
    assert history[-1] < 0.6 * history[0]  # about 10.3 -> 3.6 on this machine


def test_training_and_loss_defaults_are_one_set():
    # train.py, the Lightning system and PerceptualLoss must optimise the same objective
    # that `faststyle optimize` and `faststyle evaluate` use by default.
    from faststyle.training.config import TrainConfig
    from faststyle.training.system import StyleTransferSystem

    expected = {
        "content_weight": losses.DEFAULT_CONTENT_WEIGHT,
        "style_weight": losses.DEFAULT_STYLE_WEIGHT,
        "tv_weight": losses.DEFAULT_TV_WEIGHT,
        "style_loss": losses.DEFAULT_STYLE_LOSS,
    }
    loss_params = inspect.signature(PerceptualLoss).parameters
    config = TrainConfig()
    system = StyleTransferSystem.from_config(config)
    for name, value in expected.items():
        assert getattr(config, name) == value, f"train.py --{name.replace('_', '-')}"
        assert loss_params[name].default == value, f"PerceptualLoss({name})"
        assert system.hparams[name] == value, f"StyleTransferSystem({name})"
    assert config.style_size == system.hparams["style_size"] == losses.DEFAULT_STYLE_SIZE
    assert config.style_layer_weights == system.hparams["style_layer_weights"]
    assert tuple(config.style_layer_weights) == loss_params["style_layer_weights"].default


def test_style_layer_weights_scale_each_layer(vgg_features, images):
    # The weights are relative (scaled to mean 1), and a layer weighted 0 no longer counts:
    # its target can change without moving the loss or the gradient that trains the net.
    torch.manual_seed(0)
    output = (images["photo"] + 0.1 * torch.randn_like(images["photo"])).clamp(0, 1)
    other = images["style"].flip(-1).roll(7, dims=-2)  # same colours, another arrangement

    def run(weights, relu4_3_from=None):
        loss_fn = PerceptualLoss(vgg_features, style_layer_weights=weights)
        loss_fn.set_style(images["style"])
        if relu4_3_from is not None:  # only relu4_3's target taken from another image
            donor = PerceptualLoss(vgg_features)
            donor.set_style(relu4_3_from)
            for key in ("target_relu4_3_0", "target_norm_relu4_3_0"):
                loss_fn.register_buffer(key, getattr(donor, key), persistent=False)
        return loss_and_grad(loss_fn, output, images["photo"])

    equal, g_equal = run((1, 1, 1, 1))
    doubled, g_doubled = run((2, 2, 2, 2))
    assert doubled["style"] == pytest.approx(equal["style"], rel=1e-6)
    torch.testing.assert_close(g_doubled, g_equal)
    changed, _ = run((1, 1, 1, 1), relu4_3_from=other)
    assert changed["style"] != pytest.approx(equal["style"], rel=1e-3)
    no4, g_no4 = run((1, 1, 1, 0))
    no4_changed, g_no4_changed = run((1, 1, 1, 0), relu4_3_from=other)
    assert no4_changed["style"] == pytest.approx(no4["style"], rel=1e-6)
    torch.testing.assert_close(g_no4_changed, g_no4)


@pytest.mark.parametrize("weights", [(1, 1, 1), (0, 0, 0, 0), (1, -1, 1, 1)])
def test_bad_style_layer_weights_are_refused(vgg_features, weights):
    with pytest.raises(ValueError, match="style layer weights"):
        PerceptualLoss(vgg_features, style_layer_weights=weights)


def test_unknown_style_loss_is_refused(vgg_features):
    with pytest.raises(ValueError, match="meanstd"):
        PerceptualLoss(vgg_features, style_loss="gatys")
