"""The side jobs of a training run, as Lightning callbacks: they watch the run and never change it.

Throughput   images/s (all ranks together), TFLOP/s, % of the device's peak and the lr, every step
Previews     a grid of held-out photos and their stylizations in TensorBoard, every N steps
ResumeHint   on Ctrl-C, what survives on disk and how to go on
SkippedImages  names each unreadable photo once and counts them (data/skipped_images)
FrozenRows   a --base run's frozen style rows: checked unchanged at the end, to the bit
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import lightning.pytorch as L
import torch
import torchvision
from lightning.pytorch.callbacks import ModelCheckpoint, TQDMProgressBar
from lightning.pytorch.utilities import rank_zero_only
from torch.utils.flop_counter import FlopCounterMode
from tqdm import tqdm

from faststyle.errors import UserError
from faststyle.hardware import matmul_peak_tflops
from faststyle.training.checkpoint_io import read_checkpoint
from faststyle.training.system import StyleTransferSystem


class Throughput(L.Callback):
    """Logs perf/images_per_s (the time between two steps' ends, all ranks together) and lr after
    every step; with `peak_dtype`, also the utilisation: the model FLOPs of a step, counted by
    torch's FlopCounterMode on the run's first real step, times images/s, as perf/tflops and
    perf/peak_pct, the share of the devices' matmul peak in that dtype measured at the start. The
    run's mean is printed at its end.

    The count is kept in checkpoints and never taken again on a resumed run: a counted step's
    numbers can differ in the last bits from an uncounted one (seen with --stability-weight), and
    an exact --resume needs the steps after a restart to be the ones an unbroken run took."""

    def __init__(self, peak_dtype: torch.dtype | None = None) -> None:
        self.peak_dtype = peak_dtype
        self._tick: float | None = None
        self._counter: FlopCounterMode | None = None
        self.flops_per_image = 0.0  # model FLOPs of one image's share of a step
        self.peak_tflops = 0.0  # all devices together
        self._images = 0
        self._seconds = 0.0

    def state_dict(self) -> dict[str, Any]:
        return {"flops_per_image": self.flops_per_image}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.flops_per_image = float(state_dict.get("flops_per_image", 0.0))

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        # measured here, before the loader's workers start: on 2 cores a worker decoding photos
        # during the measurement halved it (0.50 against 0.92 TFLOP/s) and put steps at 117%
        if self.peak_dtype is not None and stage == "fit":
            self.peak_tflops = matmul_peak_tflops(trainer.strategy.root_device, self.peak_dtype) * trainer.world_size

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.peak_dtype is not None and self.flops_per_image:  # counted before the run was resumed
            self._announce(trainer)

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch: dict[str, Any], batch_idx: int
    ) -> None:
        if self.peak_dtype is not None and not self.flops_per_image and trainer.global_step == 0:
            self._counter = FlopCounterMode(display=False)
            self._counter.__enter__()

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: dict[str, Any], batch_idx: int
    ) -> None:
        now = time.perf_counter()
        images = batch["image"].shape[0]
        if self._counter is not None:  # the counted step ran slowly: its rate is not logged
            self._counter.__exit__(None, None, None)
            self.flops_per_image = self._counter.get_total_flops() / images
            self._counter, self._tick = None, None
            self._announce(trainer)
        if self._tick is not None:
            seconds = now - self._tick
            rate = images * trainer.world_size / seconds
            self._images += images * trainer.world_size
            self._seconds += seconds
            pl_module.log("perf/images_per_s", rate, prog_bar=True)
            if self.peak_tflops and self.flops_per_image:
                tflops, share = self._rates(rate)
                pl_module.log("perf/tflops", tflops)
                pl_module.log("perf/peak_pct", share, prog_bar=True)
        self._tick = now
        pl_module.log("lr", trainer.optimizers[0].param_groups[0]["lr"])

    def _rates(self, rate: float) -> tuple[float, float]:
        """`rate` images/s -> (TFLOP/s, % of the peak)."""
        tflops = rate * self.flops_per_image / 1e12
        return tflops, 100 * tflops / self.peak_tflops

    def utilisation(self, rate: float) -> str:
        """'X images/s, Y TFLOP/s, Z% of the peak' at `rate` images/s."""
        line = f"{rate:.2f} images/s"
        if self.peak_tflops and self.flops_per_image:
            tflops, share = self._rates(rate)
            line += f", {tflops:.3g} TFLOP/s, {share:.0f}% of the peak"
        return line

    @rank_zero_only
    def _announce(self, trainer: L.Trainer) -> None:
        bar = trainer.progress_bar_callback  # prints above its bar, not into it
        (bar.print if isinstance(bar, TQDMProgressBar) else print)(
            f"utilisation: {self.flops_per_image / 1e9:.1f} GFLOP per image (forward and backward); "
            f"matmul peak {self.peak_tflops:.3g} TFLOP/s in {str(self.peak_dtype).removeprefix('torch.')} "
            "(measured)"
        )

    @rank_zero_only
    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self._seconds:
            print(f"throughput: {self.utilisation(self._images / self._seconds)} (mean of the run)", flush=True)


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


class SkippedImages(L.Callback):
    """Photos the loader could not read (it replaces each with another and reports it in the batch's
    "bad" list of (index, reason)): named once on rank 0, above the progress bar, and counted."""

    def __init__(self) -> None:
        self.seen: set[int] = set()

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: dict[str, Any], batch_idx: int
    ) -> None:
        for index, reason in batch.get("bad", ()):
            if index not in self.seen:
                self.seen.add(index)
                if trainer.global_rank == 0:  # a line of its own, not a Python warning
                    tqdm.write(f"warning: skipped unreadable image {reason}", file=sys.stderr)
        pl_module.log("data/skipped_images", float(len(self.seen)), reduce_fx="max")


class FrozenRows(L.Callback):
    """A --base run must leave the base's style rows exactly as they were: copied once the weights
    are in place (on_train_start: after a --resume restores them, whatever the strategy), compared
    to the bit in the live and the saved net at the end; a difference is a bug, raised rather
    than shipped."""

    def __init__(self) -> None:
        self.before: dict[str, torch.Tensor] = {}

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if isinstance(pl_module, StyleTransferSystem) and pl_module.plan.frozen_rows:
            counts = pl_module.frozen_counts
            params = pl_module.net.named_parameters()
            self.before = {n: p[: counts[n]].detach().clone() for n, p in params if counts.get(n)}

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not isinstance(pl_module, StyleTransferSystem):
            return
        for name, before in self.before.items():
            for net in {pl_module.net, pl_module.saved_net}:
                if not torch.equal(dict(net.named_parameters())[name][: len(before)].detach(), before):
                    raise RuntimeError(f"the base model's style rows changed in {name}; this is a bug")
