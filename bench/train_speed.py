"""Training-step throughput (images/s) at 128 and 256 px, batch 4, on this machine.

Compares faststyle's step (content features only up to relu2_2 and without autograd,
channels-last, no per-step host syncs beyond the NaN guard) with a plain PyTorch loop of the
same recipe written the straightforward way (pytorch/examples' fast_neural_style pattern:
full relu4_3 pass over both output and input, contiguous NCHW). Median of timed steps after warm-up.

    python bench/train_speed.py [--arch johnson] [--sizes 128,256] [--steps 5]
"""

from __future__ import annotations

import argparse

import torch
import torch.nn.functional as F

from faststyle.loss.defaults import STYLE_LAYERS
from faststyle.loss.perceptual import PerceptualLoss
from faststyle.loss.statistics import gram_matrix
from faststyle.loss.vgg import LAYERS, load_vgg16_features
from faststyle.model.transform_net import TransformNet
from faststyle.pixels import vgg_normalize
from faststyle.quality.timing import median_ms


def faststyle_step(net, loss_fn, opt, x):
    terms = loss_fn(net(x), x)
    opt.zero_grad(set_to_none=True)
    terms["loss"].backward()
    opt.step()
    if not torch.isfinite(terms["loss"].detach()):
        raise RuntimeError("non-finite loss")


def plain_step(net, vgg, targets, opt, x):
    """What a straightforward loop does: every tap for both images, autograd everywhere."""
    y = net(x)
    taps = {LAYERS[n]: n for n in STYLE_LAYERS}

    def feats(img):
        out, h = {}, vgg_normalize(img)
        for i, mod in enumerate(vgg):
            h = mod(h)
            if i in taps:
                out[taps[i]] = h
            if i == max(taps):
                break
        return out

    fy, fx = feats(y), feats(x)
    loss = F.mse_loss(fy["relu2_2"], fx["relu2_2"])
    for name in STYLE_LAYERS:
        loss = loss + 10 * F.mse_loss(gram_matrix(fy[name], "chw"), targets[name].expand(len(x), -1, -1))
    opt.zero_grad()
    loss.backward()
    opt.step()
    loss.item()  # the usual per-step print/log sync


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--arch", default="johnson")
    p.add_argument("--sizes", default="128,256")
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--vgg-weights", default=None)
    args = p.parse_args(argv)
    features = load_vgg16_features(args.vgg_weights)
    print(f"arch={args.arch} batch={args.batch} threads={torch.get_num_threads()}")
    print(f"{'size':>6} {'faststyle img/s':>16} {'plain loop img/s':>17} {'speed-up':>9}")
    for size in [int(s) for s in args.sizes.split(",")]:
        torch.manual_seed(0)
        x = torch.rand(args.batch, 3, size, size)
        style = torch.rand(1, 3, 256, 256)

        net = TransformNet(args.arch).to(memory_format=torch.channels_last)
        loss_fn = PerceptualLoss(features).to(memory_format=torch.channels_last)
        loss_fn.set_style(style)
        opt = torch.optim.Adam(net.parameters(), 1e-3)
        xc = x.contiguous(memory_format=torch.channels_last)
        ours = median_ms(lambda: faststyle_step(net, loss_fn, opt, xc), args.steps) / 1000

        net2 = TransformNet(args.arch)
        vgg = load_vgg16_features(args.vgg_weights)
        with torch.no_grad():
            targets = {k: v for k, v in PerceptualLoss(vgg).vgg(style).items()}
            targets = {k: gram_matrix(v, "chw") for k, v in targets.items()}
        opt2 = torch.optim.Adam(net2.parameters(), 1e-3)
        plain = median_ms(lambda: plain_step(net2, vgg, targets, opt2, x), args.steps) / 1000
        print(f"{size:>6} {args.batch / ours:>16.2f} {args.batch / plain:>17.2f} {plain / ours:>8.2f}x")


if __name__ == "__main__":
    main()
