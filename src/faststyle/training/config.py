"""Every training setting, declared once.

`TrainConfig` is the only place a training setting is written down (its first part, the network
and its objective, in faststyle.training.model_settings). From its fields come:
train.py's flags (name, type check, help and the real default), the keys a `--config FILE.yaml`
may set, what the LightningModule and DataModule are built from (they take the config), the
hyperparameters saved in every checkpoint, `--print-config`, and what `--resume` does with
each setting (its `resume` rule: RUN, EXTEND or LOCAL, faststyle.training.settings).

Values come from, in increasing priority: the defaults below, the YAML file, the command line
(`config_sources` reads the last two, and a resumed run's checkpoint).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import yaml

from faststyle.model.archs import FULL
from faststyle.net_geometry import MIN_SIZE
from faststyle.training.model_settings import ModelSettings, per_style
from faststyle.training.settings import EXTEND, GROUPS, RUN, setting
from faststyle.values import (
    between,
    device_list,
    in_range,
    name_and_count,
    non_negative_float,
    non_negative_int,
    positive_float,
    positive_int,
)


def rank_or_full(text: str | float) -> int:
    """An --adapter-rank value: a whole number >= 0, or "full". Checkpoints and --print-config
    store full as FULL (-1), so that number reads back as full too."""
    if str(text).strip().lower() in ("full", str(FULL)):
        return FULL
    try:
        return int(non_negative_int(text))
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a whole number >= 0 or 'full'") from None


rank_or_full.__name__ = "rank"


@dataclass
class TrainConfig(ModelSettings):
    # --- what to learn from
    style: list[str] | None = setting(
        None,
        "style image(s): files, folders or globs; one network learns them all, each named by its file name",
        resume=RUN,
        metavar="IMG",
        group="data",
        many=True,
    )
    data: str | None = setting(
        None, "folder of training photos (any nesting) or a Hugging Face Hub dataset id", resume=RUN, group="data"
    )
    data_split: str = setting("train", "split of a Hub dataset", resume=RUN, group="data")
    image_column: str = setting("image", "column holding the images in a Hub dataset", resume=RUN, group="data")
    streaming: str = setting(
        "auto",
        "stream the data instead of downloading/indexing it first; auto: Hub datasets over 2 GB or of unknown size",
        resume=RUN,
        choices=("auto", "on", "off"),
        group="data",
    )
    name: str | None = setting(
        None,
        "model name: names the checkpoint folder, the .pth and .onnx files [default: the style's file name; "
        "'multistyle' for several; BASE_STYLE with --base]",
        resume=RUN,
        group="data",
    )
    style_share_for: list[str] | None = setting(
        None,
        "with several styles: how many of each round of draws some of the styles get, the others 1 (NAME=N): "
        "a style that stays fainter than its painting gets more of the steps, e.g. mosaic=4 [default: 1 each]",
        resume=RUN,
        check=name_and_count,
        metavar="NAME=N",
        group="model and loss",
        many=True,
    )
    style_mixing: str = setting(
        "image",
        "with several styles: each image of a batch gets its own style, or the whole batch shares one",
        resume=RUN,
        choices=("image", "batch"),
        group="model and loss",
    )
    base: str | None = setting(
        None,
        "a trained model (name or .pth/.ckpt) to add the --style image(s) to: its own styles come out "
        "bit-identical and the result holds them all",
        resume=RUN,
        metavar="NAME_OR_PATH",
        group="model and loss",
    )
    finetune: str = setting(
        "styles",
        "with --base: train only the new styles' instance-norm scales and shifts (styles), every weight "
        "(all; the result then holds only the --style images, and one named like a base style starts from its "
        "rows), or a style-prediction network (predictor: --style gives many paintings, a folder of thousands; "
        "the model then paints any painting in one pass, with the base's convolutions and styles kept)",
        resume=RUN,
        choices=("styles", "all", "predictor"),
        group="model and loss",
    )
    style_embedding: int = setting(
        100,
        "with --finetune predictor: rows of instance-norm scales and shifts a painting's predicted style mixes, "
        "the base's styles the first of them (Ghiasi et al. predicted a 100-number embedding) [default: 100; "
        "a --base that paints any painting: its own]",
        resume=RUN,
        check=positive_int,
        group="model and loss",
    )
    known_style_weight: float = setting(
        0.0,
        "with --finetune predictor: weight of a loss pulling the prediction for each of the base's own paintings "
        "(those among --style, by file name) to that style's own row, so the base's styles stay as the base "
        "paints them when given as paintings (0: off, as in runs from before it; configs/predictor.yaml: 1)",
        resume=RUN,
        check=non_negative_float,
        group="model and loss",
    )
    new_style_start: str = setting(
        "nearest",
        "with --base (--finetune styles): each new style's scales and shifts start as a copy of the base "
        "style whose own rows already score best on it (nearest, seconds at setup), where the base's style "
        "predictor puts the painting (predicted: needs a base that paints any painting, such as anystyle), "
        "or as the mean of the base's rows",
        resume=RUN,
        choices=("nearest", "predicted", "mean"),
        group="model and loss",
    )
    adapter_rank: int = setting(
        FULL,
        "with --base (--finetune styles): each new style also learns corrections of the convolutions of its "
        "own beside its scales and shifts, the base's styles staying bit-identical: full (a whole kernel for "
        "every convolution, output one included, as many numbers as the base's convolutions: 6.7 MB per style "
        "on the multistyle base; it learns as --finetune all does) or a rank R for each one that feeds a norm "
        "(R x (C_in k k + C_out) numbers a conv: about 1 MB per style at 16; 0: scales and shifts only) "
        "[default: full]",
        resume=RUN,
        check=rank_or_full,
        metavar="{full,R}",
        group="model and loss",
    )
    adapter_down_lr: float = setting(
        1 / 16,
        "rank-R adapters: learning rate of their input-side factor as a fraction of --lr (the output-side factor, "
        "which starts at zero, takes --lr): both at --lr made fine-tunes blow up after a few hundred steps",
        resume=RUN,
        check=non_negative_float,
        group="model and loss",
    )
    # --- the schedule
    max_steps: int = setting(40_000, "optimizer steps to train for", resume=EXTEND, check=in_range(1, 10**9))
    max_minutes: float | None = setting(
        None,
        "also stop after this many minutes of training, saving and exporting as at --max-steps "
        "(a cosine lr schedule then decays over whichever of the two ends the run first)",
        resume=EXTEND,
        check=in_range(0.001, 525_600, float),  # a year: Lightning's timer overflows far above it
        metavar="M",
    )
    image_size: int = setting(
        256, "side of the square random crops the net trains on (px)", resume=RUN, check=in_range(MIN_SIZE, 8192)
    )
    batch_size: int = setting(4, "photos per step on each device", resume=RUN, check=in_range(1, 4096))
    lr: float = setting(1e-3, "Adam learning rate", resume=RUN, check=positive_float)
    lr_schedule: str = setting(
        "constant",
        "constant lr, or cosine decay to 5%% over the run (its steps, or its minutes with --max-minutes)",
        resume=RUN,
        choices=("constant", "cosine"),
    )
    ema_decay: float = setting(
        0.0,
        "save as the model an exponential moving average of the net's weights (0: off; 0.99 averages about "
        "the last 100 steps, ramping up from the start so short runs average fewer): smooths the step-to-step "
        "jitter of a high constant lr",
        resume=RUN,
        check=between(0.0, 0.9999),
    )
    seed: int = setting(0, "seed for weights init and data order", resume=RUN, check=in_range(0, 2**32 - 1))
    # --- hardware
    accelerator: str = setting("auto", "cpu, gpu, mps or auto", group="hardware")
    devices: str = setting(
        "auto", "number of devices per node, a list like 0,1, or -1/auto for all", check=device_list, group="hardware"
    )
    num_nodes: int = setting(
        1, "machines in a multi-node run (launch with torchrun or SLURM)", check=in_range(1, 65_536), group="hardware"
    )
    strategy: str = setting("auto", "Lightning strategy: auto, ddp, ddp_spawn, ...", group="hardware")
    precision: str = setting(
        "auto",
        "numeric precision; auto: bf16-mixed on CPUs with AMX or AVX512-BF16 and on GPUs with bf16, 32-true elsewhere",
        choices=("auto", "32-true", "bf16-mixed", "16-mixed"),
        group="hardware",
    )
    num_workers: int = setting(2, "data-loading worker processes", check=non_negative_int, group="hardware")
    # --- files
    config: str | None = setting(
        None,
        "YAML file of defaults for these flags, e.g. configs/cpu.yaml",
        metavar="FILE",
        group="files",
        in_yaml=False,
    )
    checkpoint_dir: str | None = setting(
        None, "where checkpoints go [default: checkpoints/NAME]", metavar="DIR", group="files"
    )
    checkpoint_every: int = setting(500, "write DIR/last.ckpt every N steps", check=positive_int, group="files")
    resume: bool = setting(
        False,
        "continue the run in --checkpoint-dir exactly (step, optimizer, schedule, data order); "
        "--max-steps and --max-minutes may extend it",
        group="files",
        in_yaml=False,
    )
    vgg_weights: str | None = setting(
        None,
        "VGG-16 features state dict [default: $FASTSTYLE_VGG_WEIGHTS, else torchvision's IMAGENET1K_V1 download]",
        metavar="PATH",
        group="files",
    )
    preview_every: int = setting(
        200,
        "log a grid of stylized held-out photos every N steps (0: never)",
        check=non_negative_int,
        group="files",
    )
    log_dir: str = setting("runs", "TensorBoard logs go to LOG_DIR/NAME", group="files")
    export: bool = setting(True, "skip ONNX export at the end", flag="--no-export", group="files")
    overwrite: bool = setting(
        False,
        "let the run's final .pth and .onnx replace files of the same name (a --resume may always replace its own)",
        group="files",
        in_yaml=False,
    )
    export_dir: str = setting("export", "where the ONNX model goes at the end of the run", group="files")
    print_config: bool = setting(
        False,
        "print the merged settings as YAML (a --config file that reproduces this run) and exit",
        group="files",
        in_yaml=False,
    )

    # --- derived views --------------------------------------------------------------------
    def hparams(self) -> dict[str, Any]:
        """The settings saved in checkpoints: everything but the per-invocation switches."""
        return {f.name: getattr(self, f.name) for f in declared() if f.metadata["in_yaml"]}

    def style_share_of(self, names: list[str]) -> list[int]:
        """Each named style's draws per round: its own from --style-share-for, else 1."""
        own = per_style("--style-share-for", self.style_share_for, names)
        return [int(own[n]) if n in own else 1 for n in names]

    def to_yaml(self) -> str:
        text: str = yaml.safe_dump(self.hparams(), sort_keys=False)
        return text


def declared() -> tuple[dataclasses.Field[Any], ...]:
    """Every setting, in the order --help, --print-config and checkpoints list them: by group, as
    declared within each (ModelSettings' before TrainConfig's own in "model and loss")."""
    return tuple(sorted(fields(TrainConfig), key=lambda f: GROUPS.index(f.metadata["group"])))


def style_name(path: str | os.PathLike[str]) -> str:
    """starry_night.jpg -> starry_night (names checkpoints, exports and output files)."""
    return Path(path).stem
