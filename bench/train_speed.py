"""Training-step throughput (images/s) at 128 and 256 px, batch 4, fp32 and bf16, on this machine.

Compares faststyle's step (content features only up to relu2_2 and without autograd,
the layouts train.py uses, no per-step host syncs beyond the NaN guard) with a plain PyTorch loop of the
same recipe written the straightforward way (pytorch/examples' fast_neural_style pattern:
full relu4_3 pass over both output and input, contiguous NCHW). Median of timed steps after warm-up.

    python bench/train_speed.py [--arch slim] [--sizes 128,256] [--steps 5] [--precisions fp32,bf16,bf16-vgg]
    python bench/train_speed.py --device cuda --arch johnson --sizes 256 --batch 16 --precisions bf16

Ratios in parentheses are to the plain loop in fp32, measured in the same run. A second table gives
the utilisation of our step as train.py runs it: model FLOPs per image (torch's FlopCounterMode on
one real step), TFLOP/s, and the share of this device's matmul peak in that precision, measured here. On a CPU the plain
loop and our step in each precision run first with glibc malloc's defaults ("malloc default"),
then our step again with freed memory kept for reuse, as train.py runs it (faststyle.allocator).
Writes what it printed, with the command, machine and date, to bench/results/train_speed.json
(--record; bench/speed_record.py).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from faststyle.allocator import keep_freed_memory
from faststyle.hardware import matmul_peak_tflops, pick_device, transform_net_format
from faststyle.loss.defaults import STYLE_LAYERS
from faststyle.loss.perceptual import PerceptualLoss
from faststyle.loss.statistics import gram_matrix
from faststyle.loss.vgg import LAYERS, load_vgg16_features
from faststyle.model.transform_net import TransformNet
from faststyle.pixels import vgg_normalize
from faststyle.timing import median_ms

sys.path.insert(0, str(Path(__file__).resolve().parent))
from speed_record import Printed, add_record_option, command_line, this_machine, write_record  # bench/ is not a package

# the dtype each measured precision's products run in ("bf16-vgg": the VGG's, where most FLOPs are)
PEAK_DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "bf16-vgg": torch.bfloat16}


def faststyle_step(net, loss_fn, opt, x, precision: str = "fp32"):
    """What StyleTransferSystem.training_step does; precision "bf16": bf16-mixed as train.py runs
    it (autocast over the transform net and the frozen VGG); "bf16-vgg": the net float32, only
    the VGG in bf16 (a variant we measured and dropped: slower)."""
    with torch.autocast(x.device.type, torch.bfloat16, enabled=precision == "bf16"):
        y = net(x)
    with torch.autocast(x.device.type, torch.bfloat16, enabled=precision != "fp32"):
        terms = loss_fn(y, x)
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
    p.add_argument("--arch", default="slim")
    p.add_argument("--sizes", default="128,256")
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--precisions", default="fp32,bf16")
    p.add_argument("--vgg-weights", default=None)
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, ...")
    add_record_option(p, "train_speed")
    args = p.parse_args(argv)
    from faststyle.cpu import cpu_summary

    device = pick_device(args.device)
    sync = torch.cuda.synchronize if device.type == "cuda" else None
    features = load_vgg16_features(args.vgg_weights).to(device)
    precisions = args.precisions.split(",")
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else cpu_summary()
    show = Printed()
    show(
        f"{where}; torch {torch.__version__}, {torch.get_num_threads()} threads; arch={args.arch} "
        f"batch={args.batch}; images/s (median of {args.steps} steps after a warm-up)"
    )
    sizes = [int(s) for s in args.sizes.split(",")]
    on_cpu = device.type == "cpu"

    def ours(size: int, precision: str, count: bool = False) -> float:
        """Seconds per step, or with `count` the model FLOPs of one step."""
        net = TransformNet(args.arch).to(device, memory_format=transform_net_format(device))
        loss_fn = PerceptualLoss(features).to(memory_format=torch.channels_last)
        loss_fn.set_style(style)
        opt = torch.optim.Adam(net.parameters(), 1e-3)
        xc = inputs[size].contiguous(memory_format=transform_net_format(device))
        if count:
            with FlopCounterMode(display=False) as counter:
                faststyle_step(net, loss_fn, opt, xc, precision)
            return float(counter.get_total_flops())
        return median_ms(lambda: faststyle_step(net, loss_fn, opt, xc, precision), args.steps, sync) / 1000

    torch.manual_seed(0)
    inputs = {size: torch.rand(args.batch, 3, size, size, device=device) for size in sizes}
    style = torch.rand(1, 3, 256, 256, device=device)
    # First everything that runs with glibc malloc's defaults, as a plain script gets them;
    # train.py then keeps freed memory for reuse (faststyle.allocator), which cannot be undone.
    plain, default_malloc = {}, {}
    for size in sizes:
        net2 = TransformNet(args.arch).to(device)
        vgg = load_vgg16_features(args.vgg_weights).to(device)
        with torch.no_grad():
            targets = {k: v for k, v in PerceptualLoss(vgg).vgg(style).items()}
            targets = {k: gram_matrix(v, "chw") for k, v in targets.items()}
        opt2 = torch.optim.Adam(net2.parameters(), 1e-3)
        plain[size] = median_ms(lambda: plain_step(net2, vgg, targets, opt2, inputs[size]), args.steps, sync) / 1000
        for precision in precisions if on_cpu else []:
            default_malloc[size, precision] = ours(size, precision)
    allocator = keep_freed_memory() if on_cpu else "GPU"
    show(f"(malloc: {allocator})")
    columns = [f"faststyle {p}" + (", malloc default | faststyle " + p if on_cpu else "") for p in precisions]
    show("| size | plain loop fp32 | " + " | ".join(columns) + " |")
    show("|---" * (2 + len(precisions) * (2 if on_cpu else 1)) + "|")
    kept = {}
    for size in sizes:
        cells = []
        for precision in precisions:
            times = ([default_malloc[size, precision]] if on_cpu else []) + [ours(size, precision)]
            kept[size, precision] = times[-1]
            cells += [f"{args.batch / t:.2f} ({plain[size] / t:.2f}x)" for t in times]
        show(f"| {size} | {args.batch / plain[size]:.2f} | " + " | ".join(cells) + " |")
    peaks = {p: matmul_peak_tflops(device, PEAK_DTYPES[p]) for p in precisions}
    show("\nutilisation of our step (the last column of its precision above):")
    show("| size | precision | images/s | GFLOP per image | TFLOP/s | matmul peak TFLOP/s | % of peak |")
    show("|---" * 7 + "|")
    for size in sizes:
        flops = ours(size, "fp32", count=True) / args.batch  # the same products in every precision
        for precision in precisions:
            rate = args.batch / kept[size, precision]
            tflops = rate * flops / 1e12
            show(
                f"| {size} | {precision} | {rate:.2f} | {flops / 1e9:.1f} | {tflops:.3g} | {peaks[precision]:.3g} "
                f"| {100 * tflops / peaks[precision]:.0f}% |"
            )
    write_record(
        args.record,
        show.text(),
        ("images-per-second", "utilisation"),
        command_line("train_speed", argv),
        this_machine(),
    )


if __name__ == "__main__":
    main()
