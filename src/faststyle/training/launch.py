"""How Lightning is set up for a run: the devices it is asked for, checked first, and its
messages kept to what is true about the user's run."""

from __future__ import annotations

import logging
import os
import warnings

import lightning.pytorch as L

from faststyle.errors import UserError
from faststyle.training.config import TrainConfig


def quiet_lightning() -> None:
    """Drop Lightning messages that say nothing true about the user's run: adverts and its
    accelerator inventory (NOISE), a deprecation inside Lightning itself, the eval-mode warning our frozen VGG
    (eval on purpose) always triggers, and two resume warnings: our data order is a function
    of the step (StreamSampler), so a mid-epoch resume is exact although Lightning cannot see
    it, and our checkpoint callback has no state worth restoring (save_top_k=0)."""
    for message in (
        r".*module\(s\) in eval mode at the start of training",
        r".*isinstance\(treespec, LeafSpec\)",
        r".*your dataloader is not resumable",
        r".*callbacks used to create the checkpoint need to be provided",
        r".*is smaller than the logging interval",
    ):
        warnings.filterwarnings("ignore", message=message)
    # On every Lightning logger (not only on its handler), so no handler ever sees them.
    names = [n for n in logging.root.manager.loggerDict if n.startswith("lightning")]
    for logger in map(logging.getLogger, names):
        if _no_advert not in logger.filters:  # train() may run many times in one process
            logger.addFilter(_no_advert)


# Lightning's INFO lines that are noise for a user: adverts, and the accelerator inventory
# ("GPU available: False, used: False") and AMP notice that train.py's own "precision:" line replaces.
NOISE = ("litlogger", "GPU available:", "TPU available:", "HPU available:", "💡 Tip", "Automatic Mixed Precision")


def _no_advert(record: logging.LogRecord) -> bool:
    message = record.getMessage()
    return not any(n in message for n in NOISE)


def check_hardware(config: TrainConfig) -> None:
    """--accelerator, --strategy and --devices that Lightning would refuse (with a traceback) or
    that would start more training processes than this machine can run, as one line each."""
    from lightning.pytorch.accelerators import AcceleratorRegistry, CUDAAccelerator, MPSAccelerator
    from lightning.pytorch.strategies import StrategyRegistry

    accelerator = config.accelerator
    known = sorted({*AcceleratorRegistry.available_accelerators(), "gpu", "auto"})
    if accelerator not in known:
        raise UserError(f"--accelerator {accelerator}: not one of {', '.join(known)}")
    if accelerator in ("gpu", "cuda") and not (CUDAAccelerator.is_available() or MPSAccelerator.is_available()):
        raise UserError(f"--accelerator {accelerator}: no GPU that PyTorch can use here; use --accelerator auto or cpu")
    if accelerator == "mps" and not MPSAccelerator.is_available():
        raise UserError("--accelerator mps: no Apple GPU here; use --accelerator auto or cpu")
    strategies = ["auto", *StrategyRegistry.available_strategies()]
    if config.strategy not in strategies:
        raise UserError(f"--strategy {config.strategy}: not a Lightning strategy (e.g. auto, ddp, ddp_spawn, fsdp)")
    on_cpu = accelerator == "cpu" or (
        accelerator == "auto" and not (CUDAAccelerator.is_available() or MPSAccelerator.is_available())
    )
    cores = os.cpu_count() or 1
    if on_cpu and str(config.devices).isdigit() and int(config.devices) > cores:
        raise UserError(
            f"--devices {config.devices}: this machine has {cores} CPU cores, and each CPU device is a training "
            "process of its own; use --devices 1 (one process uses every core)"
        )


def device_spec(value: str) -> int | str:
    """--devices: auto, a count (-1: every one), or a comma list of device ids, as Lightning takes them."""
    if value == "auto" or ("," in value and all(part.strip().isdigit() for part in value.split(",") if part.strip())):
        return value
    try:
        return int(value)
    except ValueError:
        raise UserError(f"--devices {value!r}: use auto, a count (-1 for all) or device ids such as 0,1") from None


def make_trainer(**kwargs: object) -> L.Trainer:
    """Lightning's Trainer, its refusals of --accelerator/--devices/--strategy as one line."""
    from lightning.fabric.utilities.exceptions import MisconfigurationException

    try:
        return L.Trainer(**kwargs)  # type: ignore[arg-type]
    except (MisconfigurationException, ModuleNotFoundError, ValueError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise UserError(
            f"--accelerator {kwargs['accelerator']} --devices {kwargs['devices']} "
            f"--strategy {kwargs['strategy']}: {first}"
        ) from None
