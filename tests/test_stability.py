"""The stability term (faststyle.loss.stability) and --stability-weight training."""

from __future__ import annotations

import torch
from conftest import FAST, ckpt_step, net_params

from faststyle.commands.train import main as train_main
from faststyle.loss.stability import Perturbation, random_affine, stability_loss, valid_region
from faststyle.model.transform_net import TransformNet

STILL = Perturbation(noise_levels=0.0)


def shift(n: int, dx: int, dy: int, h: int, w: int) -> torch.Tensor:
    """theta for an exact integer shift of dx, dy pixels."""
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = theta[:, 1, 1] = 1
    theta[:, 0, 2], theta[:, 1, 2] = 2 * dx / w, 2 * dy / h
    return theta


def test_a_translation_equivariant_net_scores_zero_on_an_integer_shift():
    torch.manual_seed(0)
    pointwise = torch.nn.Sequential(torch.nn.Conv2d(3, 3, 1), torch.nn.Sigmoid())
    x = torch.rand(2, 3, 40, 48)
    with torch.no_grad():
        loss = stability_loss(pointwise, x, pointwise(x), STILL, theta=shift(2, 3, -2, 40, 48))
    assert loss < 1e-6


def test_a_strided_net_is_not_equivariant_and_noise_is_seen():
    torch.manual_seed(0)
    net = TransformNet("tiny").eval()
    x = torch.rand(2, 3, 48, 48)
    with torch.no_grad():
        y = net(x)
        moved = stability_loss(net, x, y, STILL, theta=shift(2, 1, 0, 48, 48))
        noisy = stability_loss(net, x, y, Perturbation(noise_levels=8.0), theta=shift(2, 0, 0, 48, 48))
        same = stability_loss(net, x, y, STILL, theta=shift(2, 0, 0, 48, 48))
    assert moved > 0.01 and noisy > 0.01 and same < 1e-6


def test_the_compared_region_leaves_out_what_the_warp_brings_in_and_the_border():
    theta = shift(1, 5, 0, 32, 32)  # samples 5 px to the right: the right 5 columns come from outside
    region = valid_region(theta, 32, 32, margin=2)[0, 0]
    # the margin on both sides of the warp: the output's border, and what its source border feeds
    assert region[:, 25:].sum() == 0 and region[:2].sum() == 0 and region[:, :2].sum() == 0
    assert region[2:30, 2:25].all()
    g = torch.Generator().manual_seed(1)
    thetas = random_affine(64, 48, 64, Perturbation(), g)
    assert thetas.shape == (64, 2, 3) and (thetas[:, 0, 2].abs() <= 2 * 2 / 64 + 1e-6).all()


def test_training_with_stability_resumes_exactly_and_records_the_weight(tmp_path, shared, photos):
    def train(folder, *extra: str) -> int:
        style = str(shared / "styles" / "mosaic.jpg")
        where = ["--checkpoint-dir", str(folder), "--log-dir", str(tmp_path / "tb")]
        return train_main(["--style", style, "--data", str(photos), *where, *FAST, "--stability-weight", "1", *extra])

    straight, split = tmp_path / "straight", tmp_path / "split"
    assert train(straight, "--max-steps", "4") == 0
    assert train(split, "--max-steps", "2") == 0
    assert train(split, "--max-steps", "4", "--resume") == 0
    assert ckpt_step(split / "last.ckpt") == 4
    assert torch.equal(net_params(straight / "last.ckpt"), net_params(split / "last.ckpt"))  # same warps drawn
    assert train(tmp_path / "plain", "--max-steps", "4", "--stability-weight", "0") == 0
    assert not torch.equal(net_params(tmp_path / "plain" / "last.ckpt"), net_params(straight / "last.ckpt"))
    hparams = torch.load(split / "last.ckpt", map_location="cpu", weights_only=False)["hyper_parameters"]
    assert hparams["stability_weight"] == 1.0
