"""The style each training sample is trained towards, when one net learns several styles."""

from __future__ import annotations

import torch


class StyleOrder:
    """Which of T trained styles sample p of the run is trained towards: a pure function of
    (seed, p), so resumed and multi-worker runs see the same styles. Every round of sum(shares)
    consecutive samples ("image" mixing) or steps ("batch" mixing: the whole global batch shares
    a style) visits style i shares[i] times (default once each), in a seeded random order."""

    def __init__(
        self, num_styles: int, seed: int, mixing: str = "image", per_step: int = 1, shares: list[int] | None = None
    ):
        shares = shares or [1] * num_styles
        assert len(shares) == num_styles and min(shares) >= 1
        # draw d of a round is style draws[d]; with one share each that is d itself
        self.draws = [style for style, share in enumerate(shares) for _ in range(share)]
        self.t, self.seed, self.per_step = num_styles, seed, per_step if mixing == "batch" else 1
        self._cycle, self._perm = -1, [0]

    def __call__(self, p: int) -> int:
        if self.t == 1:
            return 0
        unit = p // self.per_step
        cycle = unit // len(self.draws)
        if cycle != self._cycle:
            g = torch.Generator().manual_seed(self.seed * 7_919 + cycle + 1)
            self._cycle, self._perm = cycle, torch.randperm(len(self.draws), generator=g).tolist()
        return self.draws[self._perm[unit % len(self.draws)]]
