"""The training system: transform net + frozen VGG loss network + Adam, as a LightningModule.

Only the transform net is saved in checkpoints (the VGG is rebuilt from its weights file
and the style targets from the style images, in `setup`), so a checkpoint stays ~2-7 MB and
its hyperparameters alone rebuild the net (see `faststyle.model.checkpoint`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning.pytorch as L
import torch
from lightning.pytorch.utilities.types import OptimizerLRScheduler
from torch.optim.swa_utils import AveragedModel

from faststyle.errors import UserError
from faststyle.hardware import transform_net_format
from faststyle.image_io import load_rgb
from faststyle.loss.defaults import CONTENT_LAYER, STYLE_LAYERS
from faststyle.loss.perceptual import PerceptualLoss, style_tensor
from faststyle.loss.stability import stability_loss
from faststyle.loss.vgg import load_vgg16_features
from faststyle.model.adapters import ADAPTER_PARAMS
from faststyle.model.checkpoint_format import KEY, VERSION, upgrade_in_place
from faststyle.model.transform_net import TransformNet
from faststyle.training.averaging import ema_update
from faststyle.training.config import TrainConfig
from faststyle.training.model_settings import ModelSettings
from faststyle.training.nearest_start import start_from_nearest
from faststyle.training.schedule import with_schedule
from faststyle.training.styles import StylePlan, painting_file, per_style_keys, style_entries

NAN_CHECK_EVERY = 50


@dataclass(frozen=True)
class Optimiser:
    """What Adam and its schedule take: a run's --lr, --lr-schedule, --max-steps, --adapter-down-lr
    and --ema-decay (declared in TrainConfig, read with `of`)."""

    lr: float
    schedule: str
    max_steps: int
    adapter_down_lr: float
    ema_decay: float

    @classmethod
    def of(cls, config: TrainConfig) -> Optimiser:
        return cls(config.lr, config.lr_schedule, config.max_steps, config.adapter_down_lr, config.ema_decay)


class StyleTransferSystem(L.LightningModule):
    """Transform net + frozen VGG loss network + Adam.

    net: the transform net to train, its rows as `plan.styles` (see build_net); objective: the
    loss's weights and statistic; plan: which styles the net holds and which of them this run
    trains (faststyle.training.styles) -- with a --base plan the base's rows are frozen, and so
    is every shared weight when only the new styles' scales and shifts are fine-tuned; hparams:
    what checkpoints save to rebuild the run (from_config gives every setting). vgg_weights: the
    loss network's file (None: torchvision's); new_style_start: how a --base run's new rows
    begin; seed: the stability term's draws; style_mixing: "image" or "batch".
    `fast_layouts`: the VGG channels-last and the net in faststyle.hardware.transform_net_format
    (False: both as built, NCHW).
    """

    trained_rows: torch.Tensor  # [T] buffer: trained-style id -> the net's style row

    def __init__(
        self,
        net: TransformNet,
        objective: ModelSettings,
        optimiser: Optimiser,
        plan: StylePlan,
        hparams: dict[str, Any],
        *,
        vgg_weights: str | None = None,
        new_style_start: str = "nearest",
        seed: int = 0,
        style_mixing: str = "image",
        fast_layouts: bool = True,
    ):
        super().__init__()
        self.objective, self.optimiser, self.plan = objective, optimiser, plan
        self.vgg_weights, self.new_style_start = vgg_weights, new_style_start
        self.seed, self.style_mixing, self.fast_layouts = seed, style_mixing, fast_layouts
        self.save_hyperparameters(hparams)
        self.net = net
        self.register_buffer("trained_rows", torch.tensor(plan.trained), persistent=False)  # style t -> net row
        # --ema-decay: a running average of the net, updated after every optimizer step and saved as
        # the model; in checkpoints beside the live net ("averaged.*"), so a resume continues it exactly.
        self.averaged: AveragedModel | None = None
        if optimiser.ema_decay > 0:
            self.averaged = AveragedModel(self.net, multi_avg_fn=ema_update(optimiser.ema_decay)).requires_grad_(False)
        if plan.frozen_rows:
            self._freeze_all_but_new_rows()
        self.loss_fn: PerceptualLoss | None = None  # needs file I/O: built in setup()
        self.strict_loading = False  # checkpoints hold the net only, not the VGG

    def _freeze_all_but_new_rows(self) -> None:
        """Only the new styles' rows learn (norm scales and shifts, adapters); a gradient hook zeroes
        the base's rows' gradients (Adam then leaves them bit-identical), every other weight is frozen."""
        counts = self.frozen_counts
        for key, param in self.net.named_parameters():
            param.requires_grad_(key in counts)
            k = counts.get(key, 0)
            if k:
                param.register_hook(lambda g, k=k: torch.cat([torch.zeros_like(g[:k]), g[k:]]))

    @property
    def frozen_counts(self) -> dict[str, int]:
        """Per-style parameter -> how many of its leading rows belong to the base (its first row is
        style `first`, so the base's frozen_rows styles fill frozen_rows - first of them)."""
        first = per_style_keys(self.net)
        return {key: max(0, self.plan.frozen_rows - f) for key, f in first.items()}

    # --- construction that reads files --------------------------------------------------
    def setup(self, stage: str) -> None:
        if self.loss_fn is not None:
            return
        c = self.objective
        self.loss_fn = training_loss(c, load_vgg16_features(self.vgg_weights)).to(self.device)
        trained = [self.plan.styles[i] for i in self.plan.trained]
        self.loss_fn.set_styles(
            [
                style_tensor(load_rgb(painting_file(s)), s["style_size"] or c.style_size).to(self.device)
                for s in trained
            ],
            c.style_weight_of(self.plan.trained_names),
            c.style_layer_weights_of(self.plan.trained_names),
        )
        if self.fast_layouts:
            self.net.to(memory_format=transform_net_format(self.device))
            self.loss_fn.to(memory_format=torch.channels_last)
        resuming = self._trainer is not None and self.trainer.ckpt_path is not None
        dm = getattr(self._trainer, "datamodule", None)
        if self.plan.frozen_rows and self.new_style_start == "nearest" and not resuming and dm is not None:
            photos = dm.preview_batch().to(self.device)
            forward = self.trainer.precision_plugin.forward_context()
            start_from_nearest(self.net, self.loss_fn, self.plan, photos, forward, self.global_rank == 0)

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        kept = ("net.", "averaged.")
        checkpoint["state_dict"] = {k: v for k, v in checkpoint["state_dict"].items() if k.startswith(kept)}
        checkpoint[KEY] = VERSION
        if not all(torch.isfinite(v).all() for v in checkpoint["state_dict"].values()):
            raise self._diverged("the weights hold NaN or infinite values")  # before anything is written

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        # Lightning reads the file itself for --resume: an older run's file is made the current format here
        upgrade_in_place(checkpoint, str(getattr(self._trainer, "ckpt_path", None) or ""))

    def _diverged(self, what: str) -> UserError:
        return UserError(
            f"{what} at step {self.global_step}; stopping. The last checkpoint is intact, but --resume keeps "
            "the run's --lr and --style-weight: start a new run with lower ones (another --checkpoint-dir), "
            "from scratch or from it (--base CHECKPOINT_DIR/last.ckpt --finetune all)."
        )

    @property
    def saved_net(self) -> TransformNet:
        """The net a run saves and exports as its model: the running average with --ema-decay."""
        net = self.averaged.module if self.averaged is not None else self.net
        assert isinstance(net, TransformNet)
        return net

    # --- training ------------------------------------------------------------------------
    def forward(self, x: torch.Tensor, style: int | torch.Tensor | None = None) -> torch.Tensor:
        y: torch.Tensor = self.net(x, style)
        return y

    def net_style(self, ids: torch.Tensor) -> int | torch.Tensor:
        """Trained-style ids [B] -> the net's style argument: one row index when the whole batch
        shares a style (the fused instance norm), else the row of each image."""
        if len(self.plan.trained) == 1 or self.style_mixing == "batch":
            return int(self.plan.trained[int(ids[0])])
        return self.trained_rows[ids]

    def optimizer_step(self, *args: Any, **kwargs: Any) -> None:
        super().optimizer_step(*args, **kwargs)
        if self.averaged is not None:  # here, not in on_train_batch_end: checkpoint callbacks run before that
            self.averaged.update_parameters(self.net)

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
        assert self.loss_fn is not None  # built in setup()
        content, ids = batch["image"], batch["style"]  # [B, 3, S, S] in [0, 1]; [B] trained-style ids
        if self.fast_layouts:
            content = content.contiguous(memory_format=transform_net_format(self.device))
        many = len(self.plan.trained) > 1
        styled = self.net(content, self.net_style(ids))  # under bf16-mixed: bf16 convolutions, fp32 norms
        terms = self.loss_fn(styled, content, ids, per_image=many)
        if self.objective.stability_weight > 0:
            terms["stability"] = self.objective.stability_weight * self._stability(content, styled, ids)
            terms["loss"] = terms["loss"] + terms["stability"]
        if many:
            self._log_per_style(terms.pop("style_each"), ids)
        loss: torch.Tensor = terms["loss"]
        # Checking costs a host sync: free on CPU, so every step there; on accelerators every
        # NAN_CHECK_EVERY steps, and on_save_checkpoint guards what reaches the disk anyway.
        check_now = self.device.type == "cpu" or self.global_step % NAN_CHECK_EVERY == 0
        if check_now and not torch.isfinite(loss.detach()):
            raise self._diverged(f"loss became {loss.item()}")
        self.log_dict({f"loss/{k}": v for k, v in terms.items() if k != "loss"}, prog_bar=True)
        self.log("loss/total", loss, prog_bar=False)
        return loss

    def _stability(self, content: torch.Tensor, styled: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        # Warps and noise drawn from (seed, step, rank), not the global RNG: a resumed run draws the same.
        seed = (self.seed * 1_000_003 + self.global_step) * 1_009 + self.global_rank
        generator = torch.Generator().manual_seed(seed % 2**63)  # any --seed, however large
        weights = self.net_style(ids)
        return stability_loss(lambda x: self.net(x, weights), content, styled, generator=generator)

    def _log_per_style(self, each: torch.Tensor, ids: torch.Tensor) -> None:
        for t in ids.unique().tolist():
            name = self.plan.styles[self.plan.trained[t]]["name"]
            self.log(f"style/{name}", each[ids == t].mean(), batch_size=int((ids == t).sum()))

    def configure_optimizers(self) -> OptimizerLRScheduler:
        # Adapters' down factors in a group of their own at a fraction of the rate (as in LoRA+): with
        # both factors at --lr, Monet fine-tunes' loss jumped for good after 400-600 steps (README).
        trained = [(name, p) for name, p in self.net.named_parameters() if p.requires_grad]
        down = [p for name, p in trained if name.endswith(ADAPTER_PARAMS[1])]
        groups: list[dict[str, Any]] = [{"params": [p for name, p in trained if not name.endswith(ADAPTER_PARAMS[1])]}]
        if down:
            groups.append({"params": down, "lr": self.optimiser.lr * self.optimiser.adapter_down_lr})
        opt = torch.optim.Adam(groups, lr=self.optimiser.lr)
        return with_schedule(opt, self.optimiser.schedule, self, self.optimiser.max_steps)

    @classmethod
    def from_config(
        cls, config: TrainConfig, plan: StylePlan | None = None, name: str | None = None, fast_layouts: bool = True
    ) -> StyleTransferSystem:
        """The system a run's settings describe: by default the config's style images, all trained."""
        plan = plan or StylePlan(
            style_entries([Path(p) for p in config.style or ["style"]], config.style_size),
            list(range(len(config.style or ["style"]))),
        )
        # What a checkpoint must hold to rebuild the net and its objective without this code's
        # defaults: every setting, the model's name, its styles, and the loss layers.
        hparams = {
            **config.hparams(),
            "name": name or config.name or plan.styles[0]["name"],
            "styles": plan.styles,
            "trained_styles": plan.trained,
            "frozen_rows": plan.frozen_rows,
            "adapted_styles": plan.adapted,
            "content_layer": CONTENT_LAYER,
            "style_layers": list(STYLE_LAYERS),
        }
        return cls(
            build_net(config.arch, config.adapter_rank, plan),
            config,
            Optimiser.of(config),
            plan,
            hparams,
            vgg_weights=config.vgg_weights,
            new_style_start=config.new_style_start,
            seed=config.seed,
            style_mixing=config.style_mixing,
            fast_layouts=fast_layouts,
        )


def build_net(arch: str, adapter_rank: int, plan: StylePlan) -> TransformNet:
    """A transform net of width `arch` with a row per style of `plan`, in its starting weights
    (a --base plan's), the plan's last adapted styles carrying `adapter_rank` adapters."""
    rank = adapter_rank if plan.adapted else 0
    net = TransformNet(arch, num_styles=len(plan.styles), adapter_rank=rank, adapted_styles=plan.adapted)
    if plan.init_state is not None:
        net.load_state_dict(plan.init_state)
    return net


def training_loss(config: ModelSettings, features: torch.nn.Sequential) -> PerceptualLoss:
    """The run's objective on the VGG `features`, its targets not yet set (both systems train it)."""
    return PerceptualLoss(
        features,
        CONTENT_LAYER,
        STYLE_LAYERS,
        config.content_weight,
        config.style_weight,
        config.tv_weight,
        config.style_loss,
        style_layer_weights=config.style_layer_weights,
    )
