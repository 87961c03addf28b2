"""Style statistics against values worked out by hand, and the Gram/MMD identity."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from faststyle.loss.statistics import gatys_style_loss, gram_matrix, mean_std, mmd2_poly2, style_similarity

# F1 holds 1..12 as 3 channels of 2x2; each Gram entry is a dot product of two channels / 4.
F1 = np.arange(1, 13, dtype=np.float64).reshape(3, 2, 2)
F2 = np.array([[[2, 4], [6, 8]], [[1, 3], [5, 7]], [[0, 2], [4, 6]]], dtype=np.float64)
G1 = np.array([[7.5, 17.5, 27.5], [17.5, 43.5, 69.5], [27.5, 69.5, 111.5]])


@pytest.mark.parametrize("to", [np.asarray, torch.from_numpy], ids=["numpy", "torch"])
def test_gram_known_value(to):
    g = gram_matrix(to(F1))
    assert type(g) is type(to(F1))  # a function returns the kind of array it was given
    np.testing.assert_allclose(np.asarray(g), G1)


def test_gram_normalisations():
    # "chw" also divides by the 3 channels (Johnson et al.), None is the raw F F^T.
    np.testing.assert_allclose(gram_matrix(F1, "chw"), G1 / 3)
    np.testing.assert_allclose(gram_matrix(F1, None), G1 * 4)
    with pytest.raises(ValueError, match="normalize"):
        gram_matrix(F1, "cw")
    with pytest.raises(ValueError, match="feature map"):
        gram_matrix(F1[0])


@pytest.mark.parametrize("to", [np.asarray, torch.from_numpy], ids=["numpy", "torch"])
def test_style_similarity_known_value(to):
    sim = style_similarity(gram_matrix(to(F1)), gram_matrix(to(F2)))
    assert round(float(sim), 3) == 0.674
    assert float(style_similarity(gram_matrix(to(F1)), gram_matrix(to(F1)))) == pytest.approx(1.0)


def test_style_similarity_ignores_overall_scale():
    # A cosine: brighter or louder features of the same style must score the same.
    assert float(style_similarity(gram_matrix(F1), 7.0 * gram_matrix(F2))) == pytest.approx(0.6741245785, abs=1e-9)


def test_numpy_and_torch_agree():
    np.random.seed(42)
    x = np.random.rand(3, 4, 4)
    y = np.random.rand(3, 4, 4)
    for norm in ("hw", "chw", None):
        np.testing.assert_allclose(gram_matrix(torch.from_numpy(x), norm).numpy(), gram_matrix(x, norm), rtol=1e-12)
    gx, gy = gram_matrix(x), gram_matrix(y)
    assert float(style_similarity(torch.from_numpy(gx), torch.from_numpy(gy))) == pytest.approx(
        float(style_similarity(gx, gy)), rel=1e-12
    )
    for a, b in zip(mean_std(torch.from_numpy(x)), mean_std(x), strict=False):
        np.testing.assert_allclose(a.numpy(), b, rtol=1e-12)


@pytest.mark.parametrize("to", [np.asarray, torch.from_numpy], ids=["numpy", "torch"])
def test_batched_inputs_are_per_item(to):
    batch = to(np.stack([F1, F2]))  # [2, 3, 2, 2]
    g = gram_matrix(batch)
    assert tuple(g.shape) == (2, 3, 3)
    np.testing.assert_allclose(np.asarray(g[0]), G1)
    np.testing.assert_allclose(np.asarray(g[1]), gram_matrix(F2))
    sims = style_similarity(g, to(np.stack([G1, G1])))
    np.testing.assert_allclose(np.asarray(sims), [1.0, 0.6741245785], atol=1e-9)


def test_gatys_loss_equals_scaled_mmd():
    # Li et al. 2017: 1/(4 C^2 M^2) sum (G - A)^2 == 1/(4 C^2) MMD^2 with k(x, y) = (x^T y)^2.
    rng = np.random.default_rng(0)
    c, h, w = 8, 5, 6
    f, a = rng.normal(size=(c, h, w)), rng.normal(size=(c, h, w)) * 2 + 1
    mmd = mmd2_poly2(f.reshape(c, h * w), a.reshape(c, h * w))
    loss = gatys_style_loss(f, a)
    assert loss > 0
    assert loss == pytest.approx(mmd / (4 * c**2), rel=1e-10)
    loss_t = gatys_style_loss(torch.from_numpy(f), torch.from_numpy(a))
    assert float(loss_t) == pytest.approx(loss, rel=1e-10)
    assert float(gatys_style_loss(f, f)) == 0.0


def test_mean_std_known_value():
    mean, std = mean_std(F1, eps=0.0)
    np.testing.assert_allclose(mean, [2.5, 6.5, 10.5])
    np.testing.assert_allclose(std, [np.sqrt(1.25)] * 3)  # population std of (1, 2, 3, 4)
    mean_t, std_t = mean_std(torch.from_numpy(np.stack([F1, F2])), eps=0.0)  # [2, 3] each
    np.testing.assert_allclose(mean_t.numpy(), [[2.5, 6.5, 10.5], [5.0, 4.0, 3.0]])
    np.testing.assert_allclose(std_t.numpy(), np.full((2, 3), np.sqrt(5.0)) * [[0.5], [1.0]])


def test_mean_std_of_constant_map_has_finite_gradient():
    # A dead ReLU channel (all zeros) is common deep in VGG; eps keeps sqrt's gradient finite.
    x = torch.zeros(1, 2, 4, 4, requires_grad=True)
    mean, std = mean_std(x)
    (mean.sum() + std.sum()).backward()
    assert torch.isfinite(x.grad).all()
    assert std[0, 0].item() == pytest.approx(np.sqrt(1e-5))


@pytest.mark.parametrize("channels_last", [False, True])
def test_training_gram_matches_the_definition_in_value_and_gradient(channels_last):
    """faststyle.loss.gram (the training loss's Gram, with its own backward) is gram_matrix(x, "chw")."""
    from faststyle.loss.gram import gram

    torch.manual_seed(0)
    x = torch.randn(2, 8, 5, 6, dtype=torch.float64)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    a, b = x.clone().requires_grad_(), x.clone().requires_grad_()
    weights = torch.randn(2, 8, 8, dtype=torch.float64)  # an asymmetric upstream gradient
    (gram(a) * weights).sum().backward()
    (gram_matrix(b, "chw") * weights).sum().backward()
    assert torch.allclose(gram(x), gram_matrix(x, "chw"), rtol=1e-12, atol=0)
    assert torch.allclose(a.grad, b.grad, rtol=1e-10, atol=1e-14)
    assert a.grad.is_contiguous(memory_format=torch.channels_last) == channels_last


def test_training_gram_of_bf16_features_is_float32_with_a_bf16_gradient():
    """bf16-mixed training: VGG taps arrive in bf16; the Gram is taken in float32 (a bf16 Gram
    loses most of its digits) and the gradient goes back in bf16, close to the float32 one."""
    from faststyle.loss.gram import gram

    torch.manual_seed(0)
    x = torch.rand(2, 16, 12, 12).to(torch.bfloat16).contiguous(memory_format=torch.channels_last)
    a = x.clone().requires_grad_()
    b = x.float().requires_grad_()
    weights = torch.randn(2, 16, 16)
    g = gram(a)
    assert g.dtype == torch.float32
    assert torch.allclose(g, gram_matrix(x.float(), "chw"), rtol=1e-5, atol=1e-7)
    (g * weights).sum().backward()
    (gram_matrix(b, "chw") * weights).sum().backward()
    assert a.grad.dtype == torch.bfloat16
    assert a.grad.is_contiguous(memory_format=torch.channels_last)
    assert torch.allclose(a.grad.float(), b.grad, rtol=2e-2, atol=1e-2 * b.grad.abs().max().item())
