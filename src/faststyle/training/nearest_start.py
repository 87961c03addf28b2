"""Where a fine-tune's new styles start (--new-style-start nearest, the default): each new style's
norm rows begin as a copy of the base style that already scores best on it, its total loss on
the held-out preview photos, not the mean of the base's rows: a painting near one the base knows
starts near its answer (README: time to quality)."""

from __future__ import annotations

import time
from contextlib import AbstractContextManager

import torch

from faststyle.loss.perceptual import PerceptualLoss
from faststyle.model.transform_net import TransformNet
from faststyle.training.styles import StylePlan, norm_row_keys


@torch.no_grad()
def start_from_nearest(
    net: TransformNet,
    loss_fn: PerceptualLoss,
    plan: StylePlan,
    photos: torch.Tensor,
    precision: AbstractContextManager[object],
    verbose: bool = True,
) -> None:
    """Copy into each trained row of `net` the base row (one of plan.frozen_rows) with the lowest
    loss for that style on `photos` [P, 3, H, W], scored under the run's `precision` context;
    `loss_fn`'s trained-style ids follow plan.trained. Nothing happens without photos."""
    if len(photos) == 0:
        return
    base, t0 = range(plan.frozen_rows), time.perf_counter()
    rows = norm_row_keys(net)
    params = {k: p for k, p in net.named_parameters() if k in rows}
    with precision:
        for t, new in enumerate(plan.trained):
            ids = torch.full((len(photos),), t, dtype=torch.long, device=photos.device)
            scores = [float(loss_fn(net(photos, r), photos, ids)["loss"]) for r in base]
            best = min(base, key=scores.__getitem__)
            for p in params.values():
                p[new] = p[best]
            if verbose:
                name, near = plan.styles[new]["name"], plan.styles[best]["name"]
                took = time.perf_counter() - t0
                print(
                    f"{name} starts from the base's {near} (loss {scores[best]:.3f} on the preview photos; "
                    f"chosen in {took:.0f} s)"
                )
