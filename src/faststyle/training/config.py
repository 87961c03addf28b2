"""`python train.py --style IMG --data DIR`: argument parsing and the run itself.

Values come from, in increasing priority: the defaults below, `--config FILE.yaml`
(keys are the flag names with '_' for '-'), and the command line.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

from faststyle.errors import UserError
from faststyle.loss.perceptual import (DEFAULT_CONTENT_WEIGHT, DEFAULT_STYLE_LOSS, DEFAULT_STYLE_SIZE, DEFAULT_STYLE_WEIGHT,
                              DEFAULT_TV_WEIGHT)

DEFAULTS = dict(
    style=None, data=None, data_split="train", image_column="image", streaming="auto", config=None,
    arch="johnson", max_steps=40_000, image_size=256, batch_size=4, lr=1e-3, lr_schedule="constant",
    content_weight=DEFAULT_CONTENT_WEIGHT, style_weight=DEFAULT_STYLE_WEIGHT, tv_weight=DEFAULT_TV_WEIGHT,
    style_size=DEFAULT_STYLE_SIZE, style_loss=DEFAULT_STYLE_LOSS,
    accelerator="auto", devices="auto", num_nodes=1, strategy="auto", precision="32-true",
    checkpoint_dir=None, checkpoint_every=500, resume=False, vgg_weights=None, seed=0,
    num_workers=2, preview_every=200, log_dir="runs", export=True, export_dir="export",
)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="train.py",
        description="Train a fast style-transfer network (Johnson et al. 2016) for one style image.",
        epilog="Defaults shown are the built-in ones; --config FILE overrides them, the command line overrides both.",
    )
    a = p.add_argument
    a("--style", metavar="PATH", help="style image (jpg/png); its file name names the model")
    a("--data", help="folder of training photos (any nesting) or a Hugging Face Hub dataset id")
    a("--data-split", help="split of a Hub dataset")
    a("--image-column", help="column holding the images in a Hub dataset")
    a("--streaming", choices=["auto", "on", "off"], help="stream the data instead of downloading/indexing it "
      "first; auto: Hub datasets over 2 GB or of unknown size")
    a("--config", metavar="FILE", help="YAML file of defaults for these flags, e.g. configs/cpu.yaml")
    a("--arch", choices=["johnson", "slim", "tiny"], help="transform-net width: 32-64-128, 16-32-64 or 8-16-32 channels")
    a("--max-steps", type=int, help="optimizer steps to train for")
    a("--image-size", type=int, help="side of the square random crops the net trains on (px)")
    a("--batch-size", type=int, help="photos per step on each device")
    a("--lr", type=float, help="Adam learning rate")
    a("--lr-schedule", choices=["constant", "cosine"], help="constant lr, or cosine decay to 5%% over the run")
    a("--content-weight", type=float, help="weight of the relative content error at relu2_2")
    a("--style-weight", type=float, help="how much a relative style (Gram) error counts against the same "
      "relative content error; independent of the style image and of VGG scale; useful range 2-50, more = stronger style")
    a("--tv-weight", type=float, help="weight of total variation (smoothness) of the output; 0 disables it")
    a("--style-size", type=int, help="longer side the style image is resized to before its statistics are taken "
      "(smaller = larger brush strokes)")
    a("--style-loss", choices=["gram", "meanstd"], help="style statistic: Gram matrices, or per-channel mean+std (AdaIN)")
    a("--accelerator", help="cpu, gpu, mps or auto")
    a("--devices", help="number of devices per node, a list like 0,1, or -1/auto for all")
    a("--num-nodes", type=int, help="machines in a multi-node run (launch with torchrun or SLURM)")
    a("--strategy", help="Lightning strategy: auto, ddp, ddp_spawn, ...")
    a("--precision", help="32-true, bf16-mixed, 16-mixed")
    a("--checkpoint-dir", metavar="DIR", help="where checkpoints go [default: checkpoints/STYLE_NAME]")
    a("--checkpoint-every", type=int, help="write DIR/last.ckpt every N steps")
    a("--resume", action="store_true", default=None, help="continue the run in --checkpoint-dir exactly "
      "(step, optimizer, schedule, data order); --max-steps may extend it")
    a("--vgg-weights", metavar="PATH", help="VGG-16 features state dict [default: $FASTSTYLE_VGG_WEIGHTS, "
      "else torchvision's IMAGENET1K_V1 download]")
    a("--seed", type=int, help="seed for weights init and data order")
    a("--num-workers", type=int, help="data-loading worker processes")
    a("--preview-every", type=int, help="log a grid of stylized held-out photos every N steps (0: never)")
    a("--log-dir", help="TensorBoard logs go to LOG_DIR/STYLE_NAME")
    a("--no-export", dest="export", action="store_false", default=None, help="skip ONNX export at the end")
    a("--export-dir", help="where the ONNX model goes at the end of the run")
    # None marks "not given" so --config can fill it; --help shows the real built-in default.
    p.set_defaults(**{k: None for k in DEFAULTS})
    for action in p._actions:
        value = DEFAULTS.get(action.dest)
        if action.help and value is not None and not isinstance(value, bool) and "[default" not in action.help:
            action.help += f" (default: {value})".replace("%", "%%")
    return p


class UsageError(UserError):
    """Bad arguments or inputs found before training starts; str() is the message."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Defaults <- config file <- command line. Also returns which keys the user set explicitly."""
    args = build_parser().parse_args(argv)
    explicit = {k for k, v in vars(args).items() if v is not None}
    merged = dict(DEFAULTS)
    if args.config:
        path = Path(args.config)
        if not path.is_file():
            raise UsageError(f"--config {path}: no such file")
        conf = yaml.safe_load(path.read_text()) or {}
        unknown = {k.replace("-", "_") for k in conf} - set(DEFAULTS)
        if unknown:
            raise UsageError(f"--config {path}: unknown keys {sorted(unknown)}")
        merged.update({k.replace("-", "_"): v for k, v in conf.items()})
    merged.update({k: v for k, v in vars(args).items() if v is not None})
    ns = argparse.Namespace(**merged)
    ns.explicit = explicit
    return ns


def main(argv: list[str] | None = None) -> int:
    from faststyle.errors import run_cli
    from faststyle.training.run import train

    return run_cli(lambda: train(parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
