"""Run a training job: check everything that can fail first, then datamodule + system + Trainer,
up to the final .pth. The ONNX export after it is the command's (faststyle.commands.train); its
folder is checked here, with everything else, before the run starts."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import lightning.pytorch as L
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import TensorBoardLogger
from lightning.pytorch.utilities import rank_zero_only

from faststyle.allocator import keep_freed_memory
from faststyle.errors import UserError
from faststyle.hardware import PRECISION_DTYPES, choose_precision
from faststyle.image_io import ensure_writable
from faststyle.loss.vgg import resolve_weights
from faststyle.model.archs import FULL
from faststyle.model.checkpoint import save_model
from faststyle.style_record import with_stroke_scale
from faststyle.training.callbacks import FrozenRows, Previews, ResumeHint, SkippedImages, Throughput
from faststyle.training.checkpoint_io import AtomicCheckpointIO, hold_run_folder, read_checkpoint
from faststyle.training.config import TrainConfig
from faststyle.training.config_sources import apply_resume
from faststyle.training.data import PhotoDataModule
from faststyle.training.launch import check_hardware, device_spec, make_trainer, quiet_lightning
from faststyle.training.objective import check_layer_weights, check_objective
from faststyle.training.predictor_system import PredictorSystem, plan_predictor, predictor_paintings
from faststyle.training.records import check_local_data
from faststyle.training.styles import (
    StylePlan,
    check_style_sizes,
    expand_styles,
    load_base,
    plan_styles,
    run_name,
    style_entries,
)
from faststyle.training.system import StyleTransferSystem


def check_writable(folder: Path) -> None:
    ensure_writable(folder, "pass a writable --checkpoint-dir")


@dataclass
class Prepared:
    """A run checked and ready: its settings, its styles, its name, and the checkpoint to resume."""

    config: TrainConfig
    plan: StylePlan
    name: str
    resume_from: Path | None
    paintings: list[str] | None = None  # --finetune predictor: the paintings its predictor learns from
    predictor_state: dict[str, torch.Tensor] | None = None  # ... and the predictor it starts from, if any


def prepare(config: TrainConfig, explicit: set[str]) -> Prepared:
    """Validate everything that can fail before a long run starts."""
    if config.checkpoint_dir is None and config.style is None:
        raise UserError("pass --style IMG (the style image(s) to learn), or --checkpoint-dir DIR --resume")
    if config.resume:
        return _prepare_resume(config, explicit)
    if config.style is None:
        raise UserError("pass --style IMG (the style image(s) to learn)")
    choose_precision(config.precision, config.accelerator)  # refuses what this machine cannot train in, now
    check_objective(config.content_weight, config.style_weight, config.style_layer_weights)
    for flag in ("finetune", "adapter_rank", "adapter_down_lr", "new_style_start"):  # else silently unused
        if config.base is None and flag in explicit:
            raise UserError(f"--{flag.replace('_', '-')} needs --base (the model to start from)")
    if config.name is not None and (Path(config.name).name != config.name or config.name in ("", ".", "..")):
        raise UserError(f"--name {config.name!r}: a model name, not a path (it names files; use --checkpoint-dir)")
    if config.finetune == "predictor":
        return _prepare_predictor(config, explicit)
    paths = expand_styles(config.style)
    check_style_sizes(paths, config.style_size)
    base = load_base(config.base) if config.base else None
    if base is not None:
        if "arch" in explicit and config.arch != base.net.arch:
            raise UserError(f"--arch {config.arch}: the --base model is a '{base.net.arch}' net; drop --arch")
        config = dataclasses.replace(config, arch=base.net.arch)
        rank = base.net.adapter_rank  # styles added before carry adapters: new ones get the same rank
        if rank and config.finetune == "styles" and config.adapter_rank != rank:
            if "adapter_rank" in explicit:
                given, had = (("full" if r == FULL else str(r)) for r in (config.adapter_rank, rank))
                raise UserError(
                    f"--adapter-rank {given}: the --base model's added styles have rank {had} "
                    "adapters and new ones must match; drop --adapter-rank"
                )
            config = dataclasses.replace(config, adapter_rank=rank)
    new_styles = style_entries(paths, config.style_size)
    plan = plan_styles(new_styles, base, config.finetune, config.adapter_rank, config.seed, config.new_style_start)
    trained = plan.trained_names
    config.style_weight_of(trained), config.style_share_of(trained)  # names it trains, refused before the run
    for style, weights in zip(trained, config.style_layer_weights_of(trained), strict=True):
        check_layer_weights(f"--style-layer-weights-for {style}={','.join(f'{w:g}' for w in weights)}", weights)
    name = run_name(config, new_styles, base)
    return Prepared(_check_common(config, _fresh_run_folder(config, name)), plan, name, None)


def _prepare_predictor(config: TrainConfig, explicit: set[str]) -> Prepared:
    """A new --finetune predictor run: the net's width and, from a base that paints any painting
    already, its number of rows come from the base."""
    if config.base is None:
        raise UserError("--finetune predictor needs --base (the model whose styles it predicts)")
    predicted = load_base(config.base)
    if "arch" in explicit and config.arch != predicted.net.arch:
        raise UserError(f"--arch {config.arch}: the --base model is a '{predicted.net.arch}' net; drop --arch")
    config = dataclasses.replace(config, arch=predicted.net.arch)
    if predicted.predictor is not None and "style_embedding" not in explicit:  # it goes on with its own rows
        config = dataclasses.replace(config, style_embedding=predicted.net.num_styles)
    plan, paintings, warm = plan_predictor(config, predicted)
    name = config.name or (predicted.name if warm else f"{predicted.name}_predictor")
    return Prepared(_check_common(config, _fresh_run_folder(config, name)), plan, name, None, paintings, warm)


def _fresh_run_folder(config: TrainConfig, name: str) -> Path:
    """The new run's checkpoint folder, refused if it holds a run or its outputs would replace files."""
    ckpt_dir = Path(config.checkpoint_dir or Path("checkpoints") / name)
    if (ckpt_dir / "last.ckpt").exists():
        raise UserError(
            f"{ckpt_dir} already holds a run (last.ckpt); pass --resume to continue it, or a new --checkpoint-dir"
        )
    outputs = [ckpt_dir / f"{name}.pth"] + ([Path(config.export_dir) / f"{name}.onnx"] if config.export else [])
    taken = [p for p in outputs if p.exists()]
    if taken and not config.overwrite:
        raise UserError(f"{taken[0]} exists and this run would replace it; pass --overwrite, --name or --export-dir")
    return ckpt_dir


def _prepare_resume(config: TrainConfig, explicit: set[str]) -> Prepared:
    ckpt_dir = Path(
        config.checkpoint_dir
        or Path("checkpoints")
        / run_name(config, style_entries(expand_styles(config.style or []), config.style_size), None)
    )
    last = ckpt_dir / "last.ckpt"
    if not last.is_file():
        raise UserError(f"--resume: no {last} to continue from")
    saved = read_checkpoint(last)  # in the current format, whichever faststyle wrote it
    hp = saved["hyper_parameters"]
    config = apply_resume(config, hp, explicit)
    if saved.get("global_step", 0) >= config.max_steps:
        raise UserError(
            f"{last}: this run already reached step {saved['global_step']} (--max-steps {config.max_steps}); "
            "pass a larger --max-steps to train it further"
        )
    name = hp.get("name") or ckpt_dir.name
    styles = with_stroke_scale(hp.get("styles") or [])
    if config.finetune == "predictor":
        return Prepared(_check_common(config, ckpt_dir), StylePlan(styles, []), name, last, predictor_paintings(config))
    trained, frozen = list(hp.get("trained_styles", range(len(styles)))), int(hp.get("frozen_rows", 0))
    plan = StylePlan(styles, trained, frozen, adapted=int(hp.get("adapted_styles", 0)))
    return Prepared(_check_common(config, ckpt_dir), plan, name, last)


def _check_common(config: TrainConfig, ckpt_dir: Path) -> TrainConfig:
    if config.data is None:
        raise UserError("pass --data DIR (a folder of photos) or a Hugging Face Hub dataset id")
    check_hardware(config)
    check_local_data(config.data)
    config = dataclasses.replace(config, checkpoint_dir=str(ckpt_dir), vgg_weights=resolve_weights(config.vgg_weights))
    check_writable(ckpt_dir)
    ensure_writable(config.log_dir, "pass a writable --log-dir")
    if config.export:  # found out before the run, not after it
        ensure_writable(config.export_dir, "pass a writable --export-dir, or --no-export")
    return config


@dataclass
class Trained:
    """A finished run: its final model file, its name, and the settings it ran with (a --resume
    runs with the checkpoint's)."""

    model: Path
    name: str
    config: TrainConfig


def train(
    config: TrainConfig, explicit: set[str] | frozenset[str] = frozenset(), callbacks: list[L.Callback] | None = None
) -> Trained | None:
    """The whole run, up to the final .pth; None on the ranks other than 0, which save nothing.
    `explicit`: settings the user gave (for --resume); `callbacks`: extra Lightning callbacks
    (benchmarks use them to snapshot a run)."""
    run = prepare(config, set(explicit))
    assert run.config.checkpoint_dir is not None
    with hold_run_folder(Path(run.config.checkpoint_dir)):
        return _fit(run, callbacks)


def _fit(run: Prepared, callbacks: list[L.Callback] | None) -> Trained | None:
    keep_freed_memory()  # each step reuses the last one's pages: 1.08-1.21x steps/s (README, Speed)
    config, name = run.config, run.name
    assert config.checkpoint_dir is not None
    ckpt_dir = Path(config.checkpoint_dir)
    L.seed_everything(config.seed, workers=True, verbose=False)
    quiet_lightning()
    torch.set_float32_matmul_precision("high")
    precision, why = choose_precision(config.precision, config.accelerator)
    rank_zero_print(f"precision: {precision} ({why})")
    system: L.LightningModule
    if run.paintings is not None:
        system = PredictorSystem(config, run.plan.styles, run.paintings, name, run.plan.init_state, run.predictor_state)
        data = PhotoDataModule(config, len(run.paintings))
    else:
        system = StyleTransferSystem.from_config(config, run.plan, name)
        trained = run.plan.trained_names
        data = PhotoDataModule(config, len(trained), config.style_share_of(trained))
    every = min(config.checkpoint_every, config.max_steps)
    # no version counter: a resumed run writes last.ckpt again, not a new last-vN.ckpt beside it
    checkpointing = ModelCheckpoint(
        dirpath=ckpt_dir, save_last=True, save_top_k=0, every_n_train_steps=every, enable_version_counter=False
    )
    devices = device_spec(str(config.devices))
    skipped = SkippedImages()
    trainer = make_trainer(
        accelerator=config.accelerator,
        devices=devices,
        num_nodes=config.num_nodes,
        strategy=config.strategy,
        precision=precision,
        max_steps=config.max_steps,
        max_epochs=-1,
        max_time={"seconds": round(60 * config.max_minutes)} if config.max_minutes else None,
        callbacks=[
            checkpointing,
            ResumeHint(checkpointing),
            Throughput(PRECISION_DTYPES.get(precision)),
            Previews(config.preview_every),
            skipped,
            FrozenRows(),
            *(callbacks or []),
        ],
        use_distributed_sampler=False,  # our sampler shards by rank itself
        plugins=[AtomicCheckpointIO()],
        logger=TensorBoardLogger(config.log_dir, name=name, version=f"{ckpt_dir.name}-seed{config.seed}"),
        log_every_n_steps=min(10, config.max_steps),
        enable_model_summary=False,
        num_sanity_val_steps=0,
        limit_val_batches=0,
    )
    resume = str(run.resume_from) if run.resume_from else None
    trainer.fit(system, datamodule=data, ckpt_path=resume, weights_only=True)  # read_checkpoint vetted it
    # the final step, whatever the cadence (all ranks call it)
    trainer.save_checkpoint(ckpt_dir / "last.ckpt", weights_only=False)
    if trainer.global_rank != 0:
        return None
    final = ckpt_dir / f"{name}.pth"
    if isinstance(system, PredictorSystem):  # the recipe without its thousands of painting paths
        recipe = {k: v for k, v in system.hparams.items() if k != "style"}
        save_model(system.net, final, name, recipe, run.plan.styles, predictor=system.shipped_predictor())
    else:
        save_model(system.saved_net, final, name, dict(system.hparams), run.plan.styles)
    print(f"final model: {final}  ({trainer.global_step} steps, {len(skipped.seen)} images skipped)")
    return Trained(final, name, config)


@rank_zero_only
def rank_zero_print(message: str) -> None:
    print(message, flush=True)
