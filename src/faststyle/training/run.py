"""Assemble datamodule, system and Lightning Trainer from parsed arguments, and run."""

from __future__ import annotations

import argparse
import logging
import tempfile
import warnings
from pathlib import Path

import lightning.pytorch as L
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import TensorBoardLogger

from faststyle.model.checkpoint import save_model
from faststyle.training.checkpoint_io import AtomicCheckpointIO
from faststyle.training.data import PhotoDataModule, style_name
from faststyle.image_io import load_rgb
from faststyle.training.system import StyleTransferSystem
from faststyle.training.config import UsageError
from faststyle.loss.vgg import resolve_weights

# Hyperparameters a resumed run takes from its checkpoint, not the command line,
# so that it continues exactly; --max-steps alone may be raised to extend a run.
RESUMED_FROM_CHECKPOINT = ("style", "data", "data_split", "image_column", "streaming", "arch", "image_size",
                           "batch_size", "lr", "lr_schedule", "content_weight", "style_weight", "tv_weight", "style_size",
                           "style_loss", "seed")


def quiet_lightning() -> None:
    """Drop Lightning messages that say nothing true about the user's run: an advert for its
    cloud logger, a deprecation inside Lightning itself, the eval-mode warning our frozen VGG
    (eval on purpose) always triggers, and two resume warnings: our data order is a function
    of the step (StreamSampler), so a mid-epoch resume is exact although Lightning cannot see
    it, and our checkpoint callback has no state worth restoring (save_top_k=0)."""
    for message in (r".*module\(s\) in eval mode at the start of training", r".*isinstance\(treespec, LeafSpec\)",
                    r".*your dataloader is not resumable", r".*callbacks used to create the checkpoint need to be provided"):
        warnings.filterwarnings("ignore", message=message)
    for handler in logging.getLogger("lightning.pytorch").handlers:
        if _no_advert not in handler.filters:  # train() may run many times in one process
            handler.addFilter(_no_advert)


def _no_advert(record: logging.LogRecord) -> bool:
    return "litlogger" not in record.getMessage()


def check_writable(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-test"):
            pass
    except OSError as e:
        raise UsageError(f"cannot write checkpoints to '{folder}' ({e.strerror}); pass a writable --checkpoint-dir") from None


def prepare(args: argparse.Namespace) -> tuple[argparse.Namespace, Path | None]:
    """Validate everything that can fail before a long run starts; returns (args, ckpt to resume)."""
    if args.checkpoint_dir is None and args.style is None:
        raise UsageError("pass --style PATH (the style image to learn), or --checkpoint-dir DIR --resume")
    ckpt_dir = Path(args.checkpoint_dir or Path("checkpoints") / style_name(args.style))
    args.checkpoint_dir = str(ckpt_dir)
    last = ckpt_dir / "last.ckpt"
    resume_from = None
    if args.resume:
        if not last.is_file():
            raise UsageError(f"--resume: no {last} to continue from")
        saved = torch.load(last, map_location="cpu", weights_only=False)
        hp = {**saved.get("datamodule_hyper_parameters", {}), **saved["hyper_parameters"]}
        for key in RESUMED_FROM_CHECKPOINT:
            if key in hp:
                setattr(args, key, hp[key])
        if "max_steps" not in args.explicit:
            args.max_steps = hp.get("max_steps", args.max_steps)
        resume_from = last
    elif last.exists():
        raise UsageError(f"{ckpt_dir} already holds a run (last.ckpt); pass --resume to continue it, "
                         "or a new --checkpoint-dir")
    if args.style is None:
        raise UsageError("pass --style PATH (the style image to learn)")
    if args.data is None:
        raise UsageError("pass --data DIR (a folder of photos) or a Hugging Face Hub dataset id")
    load_rgb(args.style)  # a missing or broken style image fails now, not after setup
    args.vgg_weights = resolve_weights(args.vgg_weights)
    check_writable(ckpt_dir)
    if args.max_steps <= 0:
        raise UsageError("--max-steps must be positive")
    return args, resume_from


def build(args: argparse.Namespace) -> tuple[StyleTransferSystem, PhotoDataModule]:
    name = style_name(args.style)
    system = StyleTransferSystem(
        style=str(args.style), style_name=name, arch=args.arch, style_size=args.style_size,
        image_size=args.image_size, lr=args.lr, lr_schedule=args.lr_schedule, max_steps=args.max_steps,
        content_weight=args.content_weight, style_weight=args.style_weight, tv_weight=args.tv_weight,
        style_loss=args.style_loss, vgg_weights=args.vgg_weights, preview_every=args.preview_every,
    )
    data = PhotoDataModule(
        data=str(args.data), image_size=args.image_size, batch_size=args.batch_size,
        num_workers=args.num_workers, data_split=args.data_split, image_column=args.image_column,
        seed=args.seed, max_steps=args.max_steps, streaming=args.streaming,
    )
    return system, data


def train(args: argparse.Namespace) -> int:
    args, resume_from = prepare(args)
    name = style_name(args.style)
    ckpt_dir = Path(args.checkpoint_dir)
    L.seed_everything(args.seed, workers=True, verbose=False)
    quiet_lightning()
    torch.set_float32_matmul_precision("high")
    system, data = build(args)
    data.save_hyperparameters({k: getattr(data, k) for k in (
        "data", "image_size", "batch_size", "data_split", "image_column", "seed", "streaming")})
    every = max(1, min(args.checkpoint_every, args.max_steps))
    checkpointing = ModelCheckpoint(dirpath=ckpt_dir, save_last=True, save_top_k=0, every_n_train_steps=every)
    devices = args.devices if str(args.devices) in ("auto", "-1") or "," in str(args.devices) else int(args.devices)
    trainer = L.Trainer(
        accelerator=args.accelerator, devices=devices, num_nodes=args.num_nodes, strategy=args.strategy,
        precision=args.precision, max_steps=args.max_steps, max_epochs=-1,
        callbacks=[checkpointing], use_distributed_sampler=False,  # our sampler shards by rank itself
        plugins=[AtomicCheckpointIO()],
        logger=TensorBoardLogger(args.log_dir, name=name, version=f"{ckpt_dir.name}-seed{args.seed}"),
        log_every_n_steps=min(10, args.max_steps), enable_model_summary=False,
        num_sanity_val_steps=0, limit_val_batches=0,
    )
    trainer.fit(system, datamodule=data, ckpt_path=str(resume_from) if resume_from else None)
    trainer.save_checkpoint(ckpt_dir / "last.ckpt", weights_only=False)  # the final step, whatever the cadence (all ranks call it)
    if trainer.global_rank != 0:
        return 0
    final = save_model(system.net, ckpt_dir / f"{name}.pth", name, dict(system.hparams))
    print(f"final model: {final}  ({trainer.global_step} steps, {len(system.bad_images)} images skipped)")
    if args.export:
        from faststyle.export.onnx_export import export_onnx

        onnx_path = export_onnx(final, Path(args.export_dir) / f"{name}.onnx")
        print(f"ONNX model: {onnx_path}")
    return 0
