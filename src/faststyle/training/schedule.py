"""The learning-rate schedule both training systems share: a cosine over the run, by steps or minutes."""

from __future__ import annotations

import math
from typing import Any

import lightning.pytorch as L
import torch
from lightning.pytorch.callbacks import Timer
from lightning.pytorch.utilities.types import OptimizerLRScheduler

FLOOR = 0.05  # the cosine ends at 5% of --lr: short CPU runs end on a settled model


def with_schedule(
    opt: torch.optim.Optimizer, schedule: str, module: L.LightningModule, max_steps: int
) -> OptimizerLRScheduler:
    """`opt` as configure_optimizers returns it: alone (constant), or with a per-step cosine decay."""
    if schedule == "constant":
        return opt
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda step: FLOOR + (1 - FLOOR) * 0.5 * (1 + math.cos(math.pi * run_progress(module, step, max_steps)))
    )
    return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}


def run_progress(module: L.LightningModule, step: int, max_steps: int) -> float:
    """How much of the run is done, 0..1: of --max-steps, or of --max-minutes if that ends it first.

    A timed fine-tune (--max-minutes 5 with thousands of steps allowed) thus still decays its
    learning rate to the end. The elapsed time comes from Lightning's Timer, which a resumed run
    restores; rank 0's figure is broadcast so every DDP rank steps with the same learning rate.
    """
    done = min(step, max_steps) / max(1, max_steps)
    trainer: Any = module._trainer
    timer = next((c for c in getattr(trainer, "callbacks", []) if isinstance(c, Timer)), None)
    remaining = timer.time_remaining() if timer is not None else None
    if trainer is None or timer is None or remaining is None:  # no --max-minutes
        return done
    elapsed = timer.time_elapsed()
    timed = elapsed / max(1e-9, elapsed + remaining)
    if trainer.world_size > 1:
        timed = trainer.strategy.broadcast(timed, src=0)
    return min(1.0, max(done, timed))
