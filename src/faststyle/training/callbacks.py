"""The side jobs of a training run, as Lightning callbacks: they watch the run and never change it.

Throughput   images/s (all ranks together) and the learning rate, every step
Previews     a grid of held-out photos and their stylizations in TensorBoard, every N steps
ResumeHint   on Ctrl-C, what survives on disk and how to go on
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import lightning.pytorch as L
import torch
import torchvision
from lightning.pytorch.callbacks import ModelCheckpoint

from faststyle.errors import UserError
from faststyle.training.checkpoint_io import read_checkpoint
from faststyle.training.system import StyleTransferSystem


class Throughput(L.Callback):
    """Logs perf/images_per_s (the time between two steps' ends) and lr after every step."""

    def __init__(self) -> None:
        self._tick: float | None = None

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: dict[str, Any], batch_idx: int
    ) -> None:
        now = time.perf_counter()
        if self._tick is not None:
            rate = batch["image"].shape[0] * trainer.world_size / (now - self._tick)
            pl_module.log("perf/images_per_s", rate, prog_bar=True)
        self._tick = now
        pl_module.log("lr", trainer.optimizers[0].param_groups[0]["lr"])


class Previews(L.Callback):
    """After every `every` steps, rank 0 adds the datamodule's preview photos and the net's
    stylization of each, one trained style per photo in turn, to TensorBoard as "previews"."""

    def __init__(self, every: int) -> None:
        self.every = every

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: dict[str, Any], batch_idx: int
    ) -> None:
        if self.every and trainer.global_step % self.every == 0 and isinstance(pl_module, StyleTransferSystem):
            self.log_previews(trainer, pl_module)

    @torch.no_grad()
    def log_previews(self, trainer: L.Trainer, system: StyleTransferSystem) -> None:
        dm = getattr(trainer, "datamodule", None)
        logger = system.logger
        if dm is None or logger is None or not hasattr(logger, "experiment") or trainer.global_rank != 0:
            return
        photos = dm.preview_batch().to(system.device)  # [P, 3, H, W]
        if len(photos) == 0:
            return
        net, trained = system.net, system.plan.trained
        was_training = net.training
        net.eval()
        rows = system.trained_rows[torch.arange(len(photos), device=system.device) % len(trained)]
        styled = net(photos, rows if len(trained) > 1 else int(rows[0])).float()
        net.train(was_training)
        grid = torchvision.utils.make_grid(torch.cat([photos, styled]), nrow=len(photos))  # photos over results
        if hasattr(logger.experiment, "add_image"):
            logger.experiment.add_image("previews", grid.clamp(0, 1), trainer.global_step)


class ResumeHint(L.Callback):
    """On Ctrl-C, say what survives and how to go on: Lightning itself only says it is shutting down."""

    def __init__(self, checkpointing: ModelCheckpoint) -> None:
        self.checkpointing = checkpointing

    def on_exception(self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException) -> None:
        if not isinstance(exception, KeyboardInterrupt) or trainer.global_rank != 0:
            return
        where = Path(self.checkpointing.dirpath or ".") / "last.ckpt"
        try:  # what is on disk, which is this run's: a folder holding another's is refused at start
            saved = read_checkpoint(where)["global_step"] if where.is_file() else 0
        except (UserError, KeyError):
            saved = 0
        if saved:
            advice = f"{where} holds step {saved}; run the same command with --resume to go on from it"
        else:  # nothing to resume from: --resume would only be refused
            advice = "no checkpoint was written yet; run the same command again (without --resume) to start over"
        print(f"interrupted at step {trainer.global_step}: {advice}", file=sys.stderr, flush=True)
