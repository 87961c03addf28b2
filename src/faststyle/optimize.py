"""Gatys et al.'s optimisation-based style transfer: the quality reference and a preview.

It optimises the pixels of one image with the very PerceptualLoss that trains the
feed-forward network, so its loss values are directly comparable to a model's.
"""

from __future__ import annotations

from typing import Callable, Iterable

import torch

from faststyle.losses import PerceptualLoss


def gatys(
    loss_fn: PerceptualLoss,
    content: torch.Tensor,
    steps: int | Iterable[int] = 100,
    method: str = "lbfgs",
    lr: float | None = None,
    progress: Callable[[int, dict[str, float]], None] | None = None,
) -> dict[int, torch.Tensor]:
    """Optimise an image starting from `content` [1, 3, H, W] in [0, 1].

    `steps` is one count or several (e.g. (50, 100)); one run produces a snapshot at each.
    One step is one L-BFGS iteration (the unit papers count), a few loss evaluations each.
    Returns {steps: image [1, 3, H, W] clamped to [0, 1]}.
    """
    wanted = sorted({steps} if isinstance(steps, int) else set(steps))
    if method not in ("lbfgs", "adam"):
        raise ValueError(f"method must be 'lbfgs' or 'adam', not {method!r}")
    image = content.detach().clone(memory_format=torch.contiguous_format).requires_grad_(True)
    if method == "lbfgs":
        opt = torch.optim.LBFGS([image], lr=lr or 1.0, max_iter=1, history_size=50,
                                line_search_fn="strong_wolfe")
    else:
        opt = torch.optim.Adam([image], lr=lr or 0.02)
    last: dict[str, torch.Tensor] = {}

    def closure() -> torch.Tensor:
        opt.zero_grad()
        terms = loss_fn(image, content)
        terms["loss"].backward()
        last.update({k: v.detach() for k, v in terms.items()})
        return terms["loss"]

    snapshots: dict[int, torch.Tensor] = {}
    if wanted and wanted[0] == 0:
        snapshots[0] = content.detach().clone()
    for step in range(1, (wanted[-1] if wanted else 0) + 1):
        opt.step(closure)
        if method == "adam":
            with torch.no_grad():
                image.clamp_(0, 1)
        if progress is not None:
            progress(step, {k: float(v) for k, v in last.items()})
        if step in wanted:
            snapshots[step] = image.detach().clamp(0, 1).clone()
    return snapshots
