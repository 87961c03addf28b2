"""The training system: transform net + frozen VGG loss network + Adam, as a LightningModule.

Only the transform net is saved in checkpoints (the VGG is rebuilt from its weights file
and the style targets from the style image, in `setup`), so a checkpoint stays ~2-7 MB and
its hyperparameters alone rebuild the net (see `faststyle.model.checkpoint`).
"""

from __future__ import annotations

import math
import time
from typing import Any

import lightning.pytorch as L
import torch
import torchvision
from lightning.pytorch.utilities import rank_zero_warn
from lightning.pytorch.utilities.types import STEP_OUTPUT, OptimizerLRScheduler

from faststyle.errors import UserError
from faststyle.image_io import load_rgb
from faststyle.loss.perceptual import CONTENT_LAYER, STYLE_LAYERS, PerceptualLoss, style_tensor
from faststyle.loss.vgg import load_vgg16_features
from faststyle.model.transform_net import TransformNet
from faststyle.training.config import TrainConfig, style_name

NAN_CHECK_EVERY = 50


class StyleTransferSystem(L.LightningModule):
    def __init__(self, config: TrainConfig, channels_last: bool = True):
        super().__init__()
        self.config = config
        self.channels_last = channels_last
        # What a checkpoint must hold to rebuild the net and its objective without this code's
        # defaults: every setting, the model's name, and the loss layers.
        self.save_hyperparameters(
            {
                **config.hparams(),
                "style_name": style_name(config.style or "style"),
                "content_layer": CONTENT_LAYER,
                "style_layers": list(STYLE_LAYERS),
            }
        )
        self.net = TransformNet(config.arch)
        self.loss_fn: PerceptualLoss | None = None  # needs file I/O: built in setup()
        self.bad_images: set[int] = set()
        self.strict_loading = False  # checkpoints hold the net only, not the VGG
        self._tick: float | None = None

    # --- construction that reads files --------------------------------------------------
    def setup(self, stage: str) -> None:
        if self.loss_fn is not None:
            return
        c = self.config
        self.loss_fn = PerceptualLoss(
            load_vgg16_features(c.vgg_weights),
            CONTENT_LAYER,
            STYLE_LAYERS,
            c.content_weight,
            c.style_weight,
            c.tv_weight,
            c.style_loss,
        ).to(self.device)
        assert c.style is not None
        self.loss_fn.set_style(style_tensor(load_rgb(c.style), c.style_size).to(self.device))
        if self.channels_last:
            self.net.to(memory_format=torch.channels_last)
            self.loss_fn.to(memory_format=torch.channels_last)

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["state_dict"] = {k: v for k, v in checkpoint["state_dict"].items() if k.startswith("net.")}
        if not all(torch.isfinite(v).all() for v in checkpoint["state_dict"].values()):
            raise self._diverged("the weights hold NaN or infinite values")  # before anything is written

    def _diverged(self, what: str) -> UserError:
        return UserError(
            f"{what} at step {self.global_step}; stopping. The last checkpoint is intact: "
            "continue with --resume and a lower --lr or --style-weight."
        )

    # --- training ------------------------------------------------------------------------
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y: torch.Tensor = self.net(x)
        return y

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
        content = batch["image"]  # [B, 3, S, S] in [0, 1]
        if self.channels_last:
            content = content.contiguous(memory_format=torch.channels_last)
        assert self.loss_fn is not None  # built in setup()
        terms: dict[str, torch.Tensor] = self.loss_fn(self.net(content), content)
        self._count_bad(batch["bad"])
        loss = terms["loss"]
        # Checking costs a host sync: free on CPU, so every step there; on accelerators every
        # NAN_CHECK_EVERY steps, and on_save_checkpoint guards what reaches the disk anyway.
        check_now = self.device.type == "cpu" or self.global_step % NAN_CHECK_EVERY == 0
        if check_now and not torch.isfinite(loss.detach()):
            raise self._diverged(f"loss became {loss.item()}")
        self.log_dict({f"loss/{k}": v for k, v in terms.items() if k != "loss"}, prog_bar=True)
        self.log("loss/total", loss, prog_bar=False)
        return loss

    def _count_bad(self, bad: list[tuple[int, str]]) -> None:
        for index, reason in bad:
            if index not in self.bad_images:
                self.bad_images.add(index)
                rank_zero_warn(f"skipped unreadable image {reason}")
        self.log("data/skipped_images", float(len(self.bad_images)), reduce_fx="max")

    def on_train_batch_end(self, outputs: STEP_OUTPUT, batch: dict[str, Any], batch_idx: int) -> None:
        now = time.perf_counter()
        if self._tick is not None:
            rate = batch["image"].shape[0] * self.trainer.world_size / (now - self._tick)
            self.log("perf/images_per_s", rate, prog_bar=True)
        self._tick = now
        self.log("lr", self.trainer.optimizers[0].param_groups[0]["lr"])
        every = self.config.preview_every
        if every and self.global_step % every == 0:
            self.log_previews()

    @torch.no_grad()
    def log_previews(self) -> None:
        dm = getattr(self.trainer, "datamodule", None)
        logger = self.logger
        if dm is None or logger is None or not hasattr(logger, "experiment") or self.global_rank != 0:
            return
        photos = dm.preview_batch().to(self.device)
        if len(photos) == 0:
            return
        was_training = self.net.training
        self.net.eval()
        grid = torchvision.utils.make_grid(torch.cat([photos, self.net(photos).float()]), nrow=len(photos))
        self.net.train(was_training)
        if hasattr(logger.experiment, "add_image"):
            logger.experiment.add_image("previews", grid.clamp(0, 1), self.global_step)

    def configure_optimizers(self) -> OptimizerLRScheduler:
        opt = torch.optim.Adam(self.net.parameters(), lr=self.config.lr)
        if self.config.lr_schedule == "constant":
            return opt
        total = max(1, self.config.max_steps)
        # Cosine decay to 5% over the run: short CPU runs end on a settled model.
        sched = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda s: 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(s, total) / total))
        )
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}
