"""A grid of images with a label over each column, as one uint8 RGB array (Pillow only)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw

BACKGROUND = (255, 255, 255)
INK = (0, 0, 0)
LABEL_HEIGHT = 16  # Pillow's built-in bitmap font is about 11 px tall


def contact_sheet(
    rows: list[list[NDArray[np.uint8]]], labels: list[str] | None = None, gap: int = 4
) -> NDArray[np.uint8]:
    """rows of uint8 [H, W, 3] images -> one uint8 [H', W', 3] sheet.

    Images may differ in size; each sits top-left in a cell as wide as the widest image in its
    column and as tall as the tallest in its row, so columns line up. A label wider than its
    column wraps at underscores and spaces (a long style name takes lines, not width).
    """
    if not rows or not rows[0]:
        raise ValueError("a contact sheet needs at least one image")
    columns = max(len(r) for r in rows)
    labels = (labels or [])[:columns]
    widths = [max((r[c].shape[1] for r in rows if c < len(r)), default=0) for c in range(columns)]
    measure = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    wrapped = [_wrap(label, widths[c], measure) for c, label in enumerate(labels)]
    for c, lines in enumerate(wrapped):  # a label never runs into the next column
        widths[c] = max([widths[c], *(int(measure.textlength(line)) + gap for line in lines)])
    heights = [max(img.shape[0] for img in r) for r in rows]
    top = LABEL_HEIGHT * max((len(lines) for lines in wrapped), default=1) + gap if labels else 0
    sheet = Image.new(
        "RGB", (sum(widths) + gap * (columns + 1), top + sum(heights) + gap * (len(rows) + 1)), BACKGROUND
    )
    draw = ImageDraw.Draw(sheet)
    lefts = [gap + sum(widths[:c]) + gap * c for c in range(columns)]
    for c, lines in enumerate(wrapped):
        for i, line in enumerate(lines):
            draw.text((lefts[c], gap + i * LABEL_HEIGHT), line, fill=INK)
    y = top + gap
    for row, height in zip(rows, heights, strict=True):
        for c, img in enumerate(row):
            sheet.paste(Image.fromarray(img, "RGB"), (lefts[c], y))
        y += height + gap
    return np.asarray(sheet)


def _wrap(label: str, width: int, measure: ImageDraw.ImageDraw) -> list[str]:
    """`label` in lines no wider than `width` px where it can break (after "_" or " ")."""
    words = [w for w in label.replace("_", "_\0").replace(" ", " \0").split("\0") if w]
    lines = [""]
    for word in words:
        if lines[-1] and measure.textlength(lines[-1] + word) > width:
            lines.append("")
        lines[-1] += word
    return [line.rstrip() for line in lines]
