"""The style-prediction system (--finetune predictor): a --base transform net, frozen, whose
instance-norm style input is predicted from the painting by faststyle.model.style_predictor,
trained with the perceptual loss over thousands of paintings, one painting per photo.

What trains: the predictor's MLP, and the norm rows past the base's own styles (the base's
rows and every convolution stay bit-identical, so one-hot style weights still give the base's
styles). Each painting is read once in `setup`: its Gram targets for the loss and the
statistics the predictor reads, both kept in memory ([T, 896] and about 0.35 MB a painting).
"""

from __future__ import annotations

import copy
import hashlib
import json
import time
from collections.abc import Iterator
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import lightning.pytorch as L
import torch
from lightning.pytorch.utilities.types import OptimizerLRScheduler
from tqdm import tqdm

from faststyle.errors import UserError
from faststyle.hardware import transform_net_format
from faststyle.image_io import IMAGE_SUFFIXES, atomic_path, load_rgb
from faststyle.loss.defaults import CONTENT_LAYER, STYLE_LAYERS
from faststyle.loss.perceptual import PerceptualLoss, style_tensor
from faststyle.loss.vgg import LAYERS, load_vgg16_features
from faststyle.model.checkpoint import LoadedModel, predictor_weights
from faststyle.model.checkpoint_format import KEY, VERSION, upgrade_in_place
from faststyle.model.style_predictor import StylePredictor
from faststyle.model.transform_net import TransformNet
from faststyle.painting import PREDICTOR_SIDE, predictor_pixels
from faststyle.pixels import array_to_net
from faststyle.scan import expand_inputs
from faststyle.style_record import StyleRecord
from faststyle.training.config import TrainConfig
from faststyle.training.schedule import with_schedule
from faststyle.training.styles import StylePlan, check_style_sizes, norm_row_keys
from faststyle.training.system import training_loss

PAINTINGS_CACHE = "paintings.pt"  # in the run's folder: what setup read, for --resume


def predictor_start(base: LoadedModel, rows: int, seed: int) -> dict[str, torch.Tensor]:
    """The net's starting weights: the base's convolutions and style rows, then `rows` - S more rows,
    each half the difference of two of the base's styles (a direction styles really differ in;
    rows of zeros would get no gradient while the predictor gives them no weight, and vice versa).
    A base that already paints any painting (anystyle) starts from its own rows: training goes on."""
    known = base.net.num_styles if base.predictor is None else base.predictor.known
    if base.net.adapted_styles:
        raise UserError("--finetune predictor: the --base model's added styles carry adapters; use a base without")
    if base.predictor is not None and rows != base.net.num_styles:
        raise UserError(f"--style-embedding {rows}: the --base model predicts {base.net.num_styles} rows; drop it")
    if rows < known:
        raise UserError(f"--style-embedding {rows}: fewer rows than the --base model's {known} styles")
    state, keys = base.net.state_dict(), norm_row_keys(base.net)
    if base.predictor is not None:
        return state
    g = torch.Generator().manual_seed(seed)
    a, b = torch.randint(known, (2, rows - known), generator=g)
    return {k: torch.cat([v, 0.5 * (v[a] - v[b])]) if k in keys else v for k, v in state.items()}


class PredictorSystem(L.LightningModule):
    """Frozen transform net + style predictor + frozen VGG loss network + Adam."""

    def __init__(
        self,
        config: TrainConfig,
        styles: list[StyleRecord],
        paintings: list[str],
        name: str,
        init_state: dict[str, torch.Tensor] | None = None,
        init_predictor: dict[str, torch.Tensor] | None = None,
    ):
        super().__init__()
        self.config, self.paintings = config, paintings
        self.save_hyperparameters(
            {
                **config.hparams(),
                "name": name,
                "styles": styles,  # the base's: the net's first rows
                "content_layer": CONTENT_LAYER,
                "style_layers": list(STYLE_LAYERS),
            }
        )
        self.net = TransformNet(config.arch, num_styles=config.style_embedding)
        if init_state is not None:
            self.net.load_state_dict(init_state)
        self.known = len(styles)
        self.predictor = StylePredictor(config.style_embedding, self.known)
        # a --base that paints any painting: its predictor goes on learning, its standardisation kept
        # (the head was trained on features scaled by it; --resume restores the run's own anyway)
        self.warm = init_predictor is not None
        if init_predictor is not None:
            missing, unexpected = self.predictor.load_state_dict(init_predictor, strict=False)
            assert not unexpected and all(k.startswith("trunk.") for k in missing), (missing, unexpected)
        rows = norm_row_keys(self.net)
        for key, param in self.net.named_parameters():
            param.requires_grad_(key in rows)
            if key in rows:  # the base's rows get no gradient: Adam leaves them bit-identical
                param.register_hook(lambda g: torch.cat([torch.zeros_like(g[: self.known]), g[self.known :]]))
        self.loss_fn: PerceptualLoss | None = None  # needs file I/O: built in setup()
        self.painting_stats: torch.Tensor  # [T, STATISTICS] buffer, set in setup()
        # the base's own paintings among the training ones: (painting index, the style's row) pairs,
        # whose right prediction is known exactly (--known-style-weight)
        names = {Path(p).name: i for i, p in enumerate(paintings)}
        found = [(names.get(Path(s["image"] or "").name), k) for k, s in enumerate(styles) if s["image"]]
        pairs = [(i, k) for i, k in found if i is not None]
        self.known_pairs = torch.tensor(pairs, dtype=torch.long).reshape(-1, 2)  # [K, 2]
        self.strict_loading = False  # checkpoints hold the net and predictor only, not the VGG

    def setup(self, stage: str) -> None:
        if self.loss_fn is not None:
            return
        c, t0 = self.config, time.perf_counter()
        features = load_vgg16_features(c.vgg_weights)
        # the predictor's trunk is the loss network's start: loaded here, saved with the model
        self.predictor.trunk.load_state_dict(features[: LAYERS["relu3_3"] + 1].state_dict())
        self.loss_fn = training_loss(c, features).to(self.device)
        self.predictor.to(self.device)
        cache = Path(c.checkpoint_dir or ".") / PAINTINGS_CACHE
        key = self._cache_key()
        saved = torch.load(cache, map_location="cpu", weights_only=True) if cache.is_file() else None
        cached = saved is not None and saved["key"] == key  # a resumed run: minutes of reading saved
        if saved is not None and cached:
            self.loss_fn.set_targets({k: v.to(self.device) for k, v in saved["targets"].items()})
            stats = [saved["statistics"].to(self.device)]
        else:
            stats = []
            # in the run's precision: bf16 VGG passes read paintings 2-3x faster on CPUs with bf16, and
            # the Grams are summed in float32 either way (faststyle.loss.gram), as in training steps
            precision = self._trainer.precision_plugin.forward_context() if self._trainer else nullcontext()
            with precision:
                self.loss_fn.set_styles(self._read_paintings(stats))
            if self.global_rank == 0:
                with atomic_path(cache) as tmp:
                    targets = {k: v.cpu() for k, v in self.loss_fn.style_targets().items()}
                    torch.save({"key": key, "targets": targets, "statistics": torch.cat(stats).cpu()}, tmp)
        self.register_buffer("painting_stats", torch.cat(stats), persistent=False)
        if not self.warm:
            self.predictor.set_standardisation(self.painting_stats)
        self.net.to(memory_format=transform_net_format(self.device))
        self.loss_fn.to(memory_format=torch.channels_last)
        if self.global_rank == 0:
            how = f"from {cache.name}" if cached else "read"
            print(f"{len(self.paintings)} paintings {how} in {time.perf_counter() - t0:.0f} s", flush=True)
            if self.config.known_style_weight:
                print(f"{len(self.known_pairs)} of the base's {self.known} styles have their painting among them")

    def _cache_key(self) -> str:
        """What the paintings' targets and statistics depend on: the files and the objective's layers."""
        c = self.config
        # contents, not modification times: a copy or a fresh checkout of the same paintings (new times)
        # resumes without minutes of reading; hashing 5,400 paintings (79 MB) takes under a second
        stamps = [hashlib.sha256(Path(p).read_bytes()).hexdigest() for p in self.paintings]
        precision = str(self._trainer.precision) if self._trainer else ""  # bf16 targets differ in the last bits
        what = (
            stamps,
            c.style_size,
            c.style_loss,
            list(c.style_layer_weights),
            PREDICTOR_SIDE,
            c.vgg_weights,
            precision,
        )
        return hashlib.sha256(json.dumps(what).encode()).hexdigest()

    @torch.no_grad()
    def _read_paintings(self, stats: list[torch.Tensor]) -> Iterator[torch.Tensor]:
        """Each painting once: its predictor statistics appended to `stats`, its loss image yielded."""
        quiet = self.global_rank != 0
        for path in tqdm(self.paintings, desc="reading paintings", unit="painting", disable=quiet):
            rgb = load_rgb(path)
            stats.append(self.predictor.statistics(array_to_net(predictor_pixels(rgb)).to(self.device)))
            yield style_tensor(rgb, self.config.style_size).to(self.device)

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        kept = ("net.", "predictor.")
        checkpoint["state_dict"] = {k: v for k, v in checkpoint["state_dict"].items() if k.startswith(kept)}
        checkpoint[KEY] = VERSION
        if not all(torch.isfinite(v).all() for v in checkpoint["state_dict"].values()):
            raise UserError(f"the weights hold NaN or infinite values at step {self.global_step}; stopping")

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        # Lightning reads the file itself for --resume: an older run's file is made the current format here
        upgrade_in_place(checkpoint, str(getattr(self._trainer, "ckpt_path", None) or ""))

    def forward(self, photos: torch.Tensor, paintings: torch.Tensor) -> torch.Tensor:
        """[N, 3, H, W] photos, [N, 3, h, w] paintings (any size), both in [0, 1] -> stylized photos."""
        return self.net(photos, self.predictor(paintings))  # type: ignore[no-any-return]

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
        assert self.loss_fn is not None  # built in setup()
        content, ids = batch["image"], batch["style"]  # [B, 3, S, S] in [0, 1]; [B] painting ids
        content = content.contiguous(memory_format=transform_net_format(self.device))
        weights = self.predictor.from_statistics(self.painting_stats[ids])  # [B, R]
        styled = self.net(content, weights.float())
        terms = self.loss_fn(styled, content, ids)
        loss: torch.Tensor = terms["loss"]
        if self.config.known_style_weight and len(self.known_pairs):
            painting, row = self.known_pairs.to(self.device).unbind(1)
            predicted = self.predictor.from_statistics(self.painting_stats[painting])  # [K, R]
            target = torch.nn.functional.one_hot(row, predicted.shape[1]).float()
            terms["known"] = ((predicted - target) ** 2).sum(1).mean()
            loss = loss + self.config.known_style_weight * terms["known"]
        if not torch.isfinite(loss.detach()):
            raise UserError(f"loss became {loss.item()} at step {self.global_step}; start again with a lower --lr")
        self.log_dict({f"loss/{k}": v for k, v in terms.items() if k != "loss"}, prog_bar=True)
        self.log("loss/total", loss, prog_bar=False)
        return loss

    def configure_optimizers(self) -> OptimizerLRScheduler:
        trained = [p for p in self.parameters() if p.requires_grad]
        opt = torch.optim.Adam(trained, lr=self.config.lr)
        return with_schedule(opt, self.config.lr_schedule, self, self.config.max_steps)

    def shipped_predictor(self) -> StylePredictor:
        """The predictor the final model file holds: a copy on the CPU, its head fitted so the base's
        own paintings among the training ones give exactly their rows (StylePredictor.fit_known) as
        inference reads them: in float32 (training read them in its own precision, maybe bf16)."""
        predictor = copy.deepcopy(self.predictor).cpu().float()
        if len(self.known_pairs):
            painting, row = self.known_pairs.unbind(1)
            with torch.no_grad(), torch.autocast("cpu", enabled=False):
                pixels = [array_to_net(predictor_pixels(load_rgb(self.paintings[i]))) for i in painting.tolist()]
                stats = torch.cat([predictor.statistics(p) for p in pixels])
            predictor.fit_known(stats, row)
        return predictor


def predictor_paintings(config: TrainConfig) -> list[str]:
    """--style (files, folders, globs) -> the paintings' absolute paths, each checked to be a
    painting VGG can read. They need no unique names: they are not the model's styles."""
    files, errors = expand_inputs(config.style or [], suffixes=IMAGE_SUFFIXES)
    if errors:
        raise UserError(f"--style {errors[0]}")
    if not files:
        raise UserError("--style names no paintings to learn from")
    check_style_sizes(files, config.style_size)
    return [str(p.resolve()) for p in files]


def plan_predictor(
    config: TrainConfig, base: LoadedModel
) -> tuple[StylePlan, list[str], dict[str, torch.Tensor] | None]:
    """A new predictor run: the base's styles as the net's first rows and its starting weights, the
    paintings to learn from, and the predictor to start from (a base that has one; else None)."""
    state = predictor_start(base, config.style_embedding, config.seed)
    warm = predictor_weights(base.predictor) if base.predictor is not None else None
    return StylePlan(base.styles, [], init_state=state), predictor_paintings(config), warm
