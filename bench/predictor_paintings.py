"""The paintings a style predictor trains on: ../shared/art and the base's own, less those held out.

    python train.py --style $(python bench/predictor_paintings.py) --base multistyle --config configs/predictor.yaml ...

Held out (never trained on; bench/predictor.py scores them): every 200th artwork of ../shared/art
in sorted order from the 100th (27 of 5,379), and the three paintings of ../shared/styles_extra
that the multistyle base never saw (bench/predictor.py's UNSEEN).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(ROOT / "bench"))

from predictor import UNSEEN  # noqa: E402


def artworks() -> tuple[list[Path], list[Path]]:
    """(training artworks, held-out artworks) of ../shared/art."""
    every = sorted((SHARED / "art").rglob("*.jpg"))
    held = set(every[99::200])
    return [p for p in every if p not in held], sorted(held)


def training_paintings() -> list[Path]:
    base = sorted((SHARED / "styles").glob("*.jpg")) + [
        p for p in sorted((SHARED / "styles_extra").glob("*.jpg")) if p.stem not in UNSEEN
    ]
    return artworks()[0] + base


if __name__ == "__main__":
    print("\n".join(str(p) for p in training_paintings()))
