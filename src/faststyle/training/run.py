"""Run a training job: check everything that can fail first, then datamodule + system + Trainer."""

from __future__ import annotations

import dataclasses
import logging
import tempfile
import warnings
from pathlib import Path

import lightning.pytorch as L
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import TensorBoardLogger

from faststyle.errors import UserError
from faststyle.image_io import load_rgb
from faststyle.loss.vgg import resolve_weights
from faststyle.model.checkpoint import save_model
from faststyle.training.checkpoint_io import AtomicCheckpointIO
from faststyle.training.config import TrainConfig, apply_resume, style_name
from faststyle.training.data import PhotoDataModule
from faststyle.training.system import StyleTransferSystem


def quiet_lightning() -> None:
    """Drop Lightning messages that say nothing true about the user's run: an advert for its
    cloud logger, a deprecation inside Lightning itself, the eval-mode warning our frozen VGG
    (eval on purpose) always triggers, and two resume warnings: our data order is a function
    of the step (StreamSampler), so a mid-epoch resume is exact although Lightning cannot see
    it, and our checkpoint callback has no state worth restoring (save_top_k=0)."""
    for message in (
        r".*module\(s\) in eval mode at the start of training",
        r".*isinstance\(treespec, LeafSpec\)",
        r".*your dataloader is not resumable",
        r".*callbacks used to create the checkpoint need to be provided",
    ):
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
        raise UserError(
            f"cannot write checkpoints to '{folder}' ({e.strerror}); pass a writable --checkpoint-dir"
        ) from None


def prepare(config: TrainConfig, explicit: set[str]) -> tuple[TrainConfig, Path | None]:
    """Validate everything that can fail before a long run starts; returns (config, ckpt to resume)."""
    if config.checkpoint_dir is None and config.style is None:
        raise UserError("pass --style PATH (the style image to learn), or --checkpoint-dir DIR --resume")
    ckpt_dir = Path(config.checkpoint_dir or Path("checkpoints") / style_name(config.style or ""))
    last = ckpt_dir / "last.ckpt"
    resume_from = None
    if config.resume:
        if not last.is_file():
            raise UserError(f"--resume: no {last} to continue from")
        saved = torch.load(last, map_location="cpu", weights_only=False)
        # Checkpoints written before the settings had one declaration kept the data ones apart.
        hp = {**saved.get("datamodule_hyper_parameters", {}), **saved["hyper_parameters"]}
        config = apply_resume(config, hp, explicit)
        resume_from = last
    elif last.exists():
        raise UserError(
            f"{ckpt_dir} already holds a run (last.ckpt); pass --resume to continue it, or a new --checkpoint-dir"
        )
    if config.style is None:
        raise UserError("pass --style PATH (the style image to learn)")
    if config.data is None:
        raise UserError("pass --data DIR (a folder of photos) or a Hugging Face Hub dataset id")
    load_rgb(config.style)  # a missing or broken style image fails now, not after setup
    config = dataclasses.replace(config, checkpoint_dir=str(ckpt_dir), vgg_weights=resolve_weights(config.vgg_weights))
    check_writable(ckpt_dir)
    return config, resume_from


def train(config: TrainConfig, explicit: set[str] | frozenset[str] = frozenset()) -> int:
    """The whole run; returns the exit status. `explicit`: settings the user gave (for --resume)."""
    config, resume_from = prepare(config, set(explicit))
    assert config.style is not None and config.checkpoint_dir is not None
    name = style_name(config.style)
    ckpt_dir = Path(config.checkpoint_dir)
    L.seed_everything(config.seed, workers=True, verbose=False)
    quiet_lightning()
    torch.set_float32_matmul_precision("high")
    system, data = StyleTransferSystem(config), PhotoDataModule(config)
    every = min(config.checkpoint_every, config.max_steps)
    checkpointing = ModelCheckpoint(dirpath=ckpt_dir, save_last=True, save_top_k=0, every_n_train_steps=every)
    devices = (
        config.devices if str(config.devices) in ("auto", "-1") or "," in str(config.devices) else int(config.devices)
    )
    trainer = L.Trainer(
        accelerator=config.accelerator,
        devices=devices,
        num_nodes=config.num_nodes,
        strategy=config.strategy,
        precision=config.precision,
        max_steps=config.max_steps,
        max_epochs=-1,
        callbacks=[checkpointing],
        use_distributed_sampler=False,  # our sampler shards by rank itself
        plugins=[AtomicCheckpointIO()],
        logger=TensorBoardLogger(config.log_dir, name=name, version=f"{ckpt_dir.name}-seed{config.seed}"),
        log_every_n_steps=min(10, config.max_steps),
        enable_model_summary=False,
        num_sanity_val_steps=0,
        limit_val_batches=0,
    )
    trainer.fit(system, datamodule=data, ckpt_path=str(resume_from) if resume_from else None)
    trainer.save_checkpoint(
        ckpt_dir / "last.ckpt", weights_only=False
    )  # the final step, whatever the cadence (all ranks call it)
    if trainer.global_rank != 0:
        return 0
    final = save_model(system.net, ckpt_dir / f"{name}.pth", name, dict(system.hparams))
    print(f"final model: {final}  ({trainer.global_step} steps, {len(system.bad_images)} images skipped)")
    if config.export:
        from faststyle.export.onnx_export import export_onnx

        onnx_path = export_onnx(final, Path(config.export_dir) / f"{name}.onnx")
        print(f"ONNX model: {onnx_path}")
    return 0
